//! One-time invitations: admins invite staff, clinicians invite patients. The token
//! travels only in the link's fragment and is stored as its hash. An invitation carries
//! its sender's authority: it is refused once the sender is deactivated or no longer
//! holds a role that may invite that role, deactivating or re-roling a user withdraws
//! their open invitations, and admins list and withdraw open invitations. All of it is
//! recorded.

use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::{AuditAction, AuditActor};
use haven_protocol::identity::{
    AcceptInvitation, DisplayName, Email, Id, InvitationSummary, InviteRequest, InviteResponse,
    PersonSummary, SignInResponse,
};
use sqlx::SqliteConnection;

use super::signin::{Accepted, after_password, email_taken_error};
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::secrets;
use crate::state::AppState;
use crate::store::begin_write;

/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME_SECS: i64 = 72 * 60 * 60;

/// May someone of role `sender` invite someone of role `invited`?
pub fn may_invite(sender: Role, invited: Role) -> bool {
    match sender {
        Role::Admin => invited != Role::Patient,
        Role::Clinician => invited == Role::Patient,
        _ => false,
    }
}

/// An invitation's public id: the first half of its token's hash (the token itself is a
/// secret; the hash of a 256-bit token reveals nothing of it).
fn invitation_id(hash: &[u8]) -> String {
    haven_audit_log::hex(&hash[..16.min(hash.len())])
}

fn invitation_ref(id: &str) -> String {
    format!("invitation:{id}")
}

fn invalid_invitation() -> Error {
    Error::bad(
        ErrorCode::InvitationInvalid,
        StatusCode::NOT_FOUND,
        "This invitation link is not valid.",
    )
}

fn revoked_invitation() -> Error {
    Error::bad(
        ErrorCode::InvitationRevoked,
        StatusCode::GONE,
        "This invitation has been withdrawn. Ask for a new one.",
    )
}

/// `POST /api/invitations`: admins invite staff, clinicians invite patients.
pub async fn invite(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    headers: HeaderMap,
    Body(request): Body<InviteRequest>,
) -> Result<Json<InviteResponse>> {
    if !may_invite(authed.role, request.role) {
        return Err(Error::forbidden());
    }
    let origin = crate::tenancy::resolve(&state, &headers, ip).await?.origin;
    let token = secrets::new_token()?;
    let hash = secrets::token_hash(&token);
    let id = invitation_id(&hash);
    let now = now();
    let expires_at = now + INVITATION_LIFETIME_SECS;
    let mut tx = begin_write(state.db()).await?;
    if email_taken(&mut tx, &authed.org.id, &request.email).await? {
        return Err(email_taken_error());
    }
    sqlx::query(
        "INSERT INTO invitations (token_hash, id, org_id, role, email, display_name, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&hash)
    .bind(&id)
    .bind(authed.org.id.as_str())
    .bind(request.role.as_str())
    .bind(request.email.as_str())
    .bind(request.display_name.as_str())
    .bind(authed.user_id.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let event = Event::by(&authed, AuditAction::InvitationCreated)
        .target(invitation_ref(&id))
        .detail(request.role.as_str());
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(Json(InviteResponse {
        link: format!("{}/join#{token}", origin.origin()),
        expires_at,
    }))
}

async fn email_taken(conn: &mut SqliteConnection, org: &Id, email: &Email) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE org_id = ? AND email = ?")
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

fn invitation_used() -> Error {
    Error::bad(
        ErrorCode::InvitationUsed,
        StatusCode::GONE,
        "This invitation has already been used. Sign in instead.",
    )
}

#[derive(sqlx::FromRow)]
struct Invitation {
    id: String,
    role: String,
    email: String,
    display_name: String,
    invited_by: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// `POST /api/invitations/accept`: a one-time link sets up the account, if its sender
/// still may send it.
pub async fn accept(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Body(request): Body<AcceptInvitation>,
) -> Result<Json<SignInResponse>> {
    let token = secrets::parse_token(&request.token).ok_or_else(invalid_invitation)?;
    let org = crate::tenancy::for_request(&state, &headers, ip).await?;
    let hash = secrets::token_hash(token);
    let invitation: Invitation = sqlx::query_as(
        "SELECT id, role, email, display_name, invited_by, expires_at, used_at, revoked_at
         FROM invitations WHERE token_hash = ? AND org_id = ?",
    )
    .bind(&hash)
    .bind(org.id.as_str())
    .fetch_optional(state.db())
    .await?
    .ok_or_else(invalid_invitation)?;
    if invitation.used_at.is_some() {
        return Err(invitation_used());
    }
    if invitation.revoked_at.is_some() {
        return Err(revoked_invitation());
    }
    let now = now();
    if now >= invitation.expires_at {
        return Err(Error::bad(
            ErrorCode::InvitationExpired,
            StatusCode::GONE,
            "This invitation has expired. Ask for a new one.",
        ));
    }
    let role = Role::from_str(&invitation.role)?;
    let email = Email::parse(&invitation.email)?;
    let display_name = DisplayName::parse(&invitation.display_name)?;
    let password_hash = secrets::hash_password(&request.password).await?;
    let user_id = secrets::new_id()?;

    let mut tx = begin_write(state.db()).await?;
    // The sender's authority, read again under the write lock: a deactivation or role
    // change that committed meanwhile is seen here.
    let (sender_role, sender_active): (String, i64) =
        sqlx::query_as("SELECT role, active FROM users WHERE id = ?")
            .bind(&invitation.invited_by)
            .fetch_one(&mut *tx)
            .await?;
    let sender_may = sender_active == 1
        && Role::from_str(&sender_role).is_ok_and(|sender| may_invite(sender, role));
    if !sender_may {
        let withdrawn = sqlx::query(
            "UPDATE invitations SET revoked_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        if withdrawn.rows_affected() == 1 {
            let event = Event::new(&org.id, AuditAction::InvitationRefused)
                .failed()
                .target(invitation_ref(&invitation.id))
                .detail("its sender may no longer invite this role")
                .from(Some(ip));
            audit::record(&mut tx, event).await?;
        }
        tx.commit().await?;
        return Err(revoked_invitation());
    }
    let claimed = sqlx::query(
        "UPDATE invitations SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(invitation_used());
    }
    if email_taken(&mut tx, &org.id, &email).await? {
        return Err(email_taken_error());
    }
    sqlx::query(
        "INSERT INTO users (id, org_id, email, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user_id.as_str())
    .bind(org.id.as_str())
    .bind(email.as_str())
    .bind(display_name.as_str())
    .bind(role.as_str())
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if role == Role::Patient {
        // A clinician's invitation puts the patient in their care team.
        sqlx::query(
            "INSERT INTO care_team (org_id, clinician_id, patient_id)
             SELECT ?, id, ? FROM users WHERE id = ? AND role = 'clinician'",
        )
        .bind(org.id.as_str())
        .bind(user_id.as_str())
        .bind(&invitation.invited_by)
        .execute(&mut *tx)
        .await?;
    }
    let mut event = Event::new(&org.id, AuditAction::InvitationAccepted)
        .target(invitation_ref(&invitation.id))
        .detail(role.as_str())
        .from(Some(ip));
    event.actor = Some(AuditActor {
        user: user_id.to_string(),
        role,
        device: None,
    });
    if role == Role::Patient {
        event = event.patient(user_id.to_string());
    }
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    let step = after_password(
        &state,
        Accepted {
            org: &org,
            user_id: &user_id,
            role,
            has_totp: false,
            email: email.as_str(),
            source: Some(ip),
            device: None,
        },
    )
    .await?;
    Ok(Json(step))
}

#[derive(sqlx::FromRow)]
struct OpenInvitation {
    id: String,
    email: String,
    display_name: String,
    role: String,
    invited_by: String,
    sender_name: String,
    created_at: i64,
    expires_at: i64,
}

/// The most open invitations one list returns.
const MAX_LISTED: i64 = 1000;

/// `GET /api/invitations`: every open invitation of the organisation (admins). It names
/// people who may become patients, so reading it is recorded.
pub async fn list(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<InvitationSummary>>> {
    let rows: Vec<OpenInvitation> = sqlx::query_as(
        "SELECT i.id, i.email, i.display_name, i.role, i.invited_by, u.display_name AS sender_name,
                i.created_at, i.expires_at
         FROM invitations i JOIN users u ON u.id = i.invited_by
         WHERE i.org_id = ? AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?
         ORDER BY i.created_at DESC LIMIT ?",
    )
    .bind(authed.org.id.as_str())
    .bind(now())
    .bind(MAX_LISTED)
    .fetch_all(state.db())
    .await?;
    let list = rows
        .into_iter()
        .map(|r| {
            Ok(InvitationSummary {
                id: Id::parse(&r.id)?,
                email: Email::parse(&r.email)?,
                display_name: DisplayName::parse(&r.display_name)?,
                role: Role::from_str(&r.role)?,
                invited_by: PersonSummary {
                    id: Id::parse(&r.invited_by)?,
                    display_name: DisplayName::parse(&r.sender_name)?,
                },
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::audit::record_list_read(&state, &authed, ip, "open invitations", list.len()).await?;
    Ok(Json(list))
}

/// `POST /api/invitations/{id}/revoke`: an admin withdraws an open invitation.
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = Id::parse(&id).map_err(|_| Error::NotFound)?;
    let mut tx = begin_write(state.db()).await?;
    let state_of: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT used_at, revoked_at FROM invitations WHERE id = ? AND org_id = ?")
            .bind(id.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    match state_of {
        None => return Err(Error::NotFound),
        Some((Some(_), _)) => return Err(invitation_used()),
        Some((None, Some(_))) => {
            return Err(Error::no_change("This invitation was already withdrawn."));
        }
        Some((None, None)) => {}
    }
    sqlx::query("UPDATE invitations SET revoked_at = ? WHERE id = ? AND org_id = ?")
        .bind(now())
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await?;
    let event = Event::by(&authed, AuditAction::InvitationRevoked)
        .target(invitation_ref(id.as_str()))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Withdraws every open invitation `sender` sent, inside the caller's transaction (the
/// sender is being deactivated or changing role), recording each.
pub async fn revoke_sent_by(
    conn: &mut SqliteConnection,
    authed: &Authed,
    sender: &Id,
    why: &'static str,
) -> Result<usize> {
    let withdrawn: Vec<(String,)> = sqlx::query_as(
        "UPDATE invitations SET revoked_at = ? WHERE invited_by = ? AND used_at IS NULL AND revoked_at IS NULL
         RETURNING id",
    )
    .bind(now())
    .bind(sender.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let events: Vec<Event> = withdrawn
        .iter()
        .map(|(id,)| {
            Event::by(authed, AuditAction::InvitationRevoked)
                .target(invitation_ref(id))
                .detail(why)
        })
        .collect();
    let count = events.len();
    if count > 0 {
        audit::record_many(conn, events).await?;
    }
    Ok(count)
}
