//! One-time invitations: admins invite staff, clinicians invite patients. The token
//! travels only in the link's fragment and is stored as its hash.

use std::net::SocketAddr;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::{Extension, Json};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::audit::AuditActor;
use haven_protocol::identity::{
    AcceptInvitation, DisplayName, Email, Id, InviteRequest, InviteResponse, SignInResponse,
};

use super::signin::{after_password, email_taken_error};
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::api::parse_json;
use crate::http::headers::request_origin;
use crate::identity::session::Authed;
use crate::secrets;
use crate::state::AppState;
use crate::store::begin_write;

/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME_SECS: i64 = 72 * 60 * 60;

/// An invitation's name in the audit log: a prefix of its token's hash (the token itself
/// is a secret).
fn invitation_ref(hash: &[u8]) -> String {
    format!(
        "invitation:{}",
        haven_audit_log::hex(&hash[..8.min(hash.len())])
    )
}

/// `POST /api/invitations`: admins invite staff, clinicians invite patients.
pub async fn invite(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<InviteResponse>> {
    let request: InviteRequest = parse_json(body)?;
    let permitted = match authed.role {
        Role::Admin => request.role != Role::Patient,
        Role::Clinician => request.role == Role::Patient,
        _ => false,
    };
    if !permitted {
        return Err(Error::forbidden());
    }
    let origin = request_origin(&state, &headers)?;
    let token = secrets::new_token().map_err(Error::internal)?;
    let hash = secrets::token_hash(&token);
    let now = now();
    let expires_at = now + INVITATION_LIFETIME_SECS;
    let mut tx = begin_write(state.db()).await?;
    if email_taken(&mut tx, &authed.org.id, &request.email).await? {
        return Err(email_taken_error());
    }
    sqlx::query(
        "INSERT INTO invitations (token_hash, org_id, role, email, display_name, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&hash)
    .bind(authed.org.id.as_str())
    .bind(request.role.as_str())
    .bind(request.email.as_str())
    .bind(request.display_name.as_str())
    .bind(authed.user_id.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await
    .map_err(Error::internal)?;
    let event = Event::by(&authed, AuditAction::InvitationCreated)
        .target(invitation_ref(&hash))
        .detail(request.role.as_str());
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(Json(InviteResponse {
        link: format!("{}/join#{token}", origin.origin()),
        expires_at,
    }))
}

async fn email_taken(conn: &mut sqlx::SqliteConnection, org: &Id, email: &Email) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE org_id = ? AND email = ?")
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::internal)?;
    Ok(row.is_some())
}

fn invitation_used() -> Error {
    Error::bad(
        ErrorCode::InvitationUsed,
        StatusCode::GONE,
        "This invitation has already been used. Sign in instead.",
    )
}

/// `POST /api/invitations/accept`: a one-time link sets up the account.
pub async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<SignInResponse>> {
    let request: AcceptInvitation = parse_json(body)?;
    let invalid = || {
        Error::bad(
            ErrorCode::InvitationInvalid,
            StatusCode::NOT_FOUND,
            "This invitation link is not valid.",
        )
    };
    let token = secrets::parse_token(&request.token).ok_or_else(invalid)?;
    let org = crate::tenancy::for_request(&state, &headers).await?;
    let hash = secrets::token_hash(token);
    let row: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT role, email, display_name, invited_by, expires_at, used_at FROM invitations WHERE token_hash = ? AND org_id = ?",
    )
    .bind(&hash)
    .bind(org.id.as_str())
    .fetch_optional(state.db())
    .await
    .map_err(Error::internal)?;
    let (role, email, display_name, invited_by, expires_at, used_at) = row.ok_or_else(invalid)?;
    if used_at.is_some() {
        return Err(invitation_used());
    }
    let now = now();
    if now >= expires_at {
        return Err(Error::bad(
            ErrorCode::InvitationExpired,
            StatusCode::GONE,
            "This invitation has expired. Ask for a new one.",
        ));
    }
    let role = Role::from_str(&role).map_err(Error::internal)?;
    let email = Email::parse(&email).map_err(Error::internal)?;
    let display_name = DisplayName::parse(&display_name).map_err(Error::internal)?;
    let password_hash = secrets::hash_password(&request.password)
        .await
        .map_err(Error::internal)?;
    let user_id = secrets::new_id().map_err(Error::internal)?;

    let mut tx = begin_write(state.db()).await?;
    let claimed =
        sqlx::query("UPDATE invitations SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .map_err(Error::internal)?;
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
    .await
    .map_err(Error::internal)?;
    if role == Role::Patient {
        // A clinician's invitation puts the patient in their care team.
        sqlx::query(
            "INSERT INTO care_team (org_id, clinician_id, patient_id)
             SELECT ?, id, ? FROM users WHERE id = ? AND role = 'clinician'",
        )
        .bind(org.id.as_str())
        .bind(user_id.as_str())
        .bind(&invited_by)
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    }
    let mut event = Event::new(&org.id, AuditAction::InvitationAccepted)
        .target(invitation_ref(&hash))
        .detail(role.as_str())
        .from(Some(peer.ip()));
    event.actor = Some(AuditActor {
        user: user_id.to_string(),
        role,
        device: None,
    });
    if role == Role::Patient {
        event = event.patient(user_id.to_string());
    }
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    let step = after_password(
        &state,
        &org,
        &user_id,
        role,
        false,
        email.as_str(),
        Some(peer.ip()),
    )
    .await?;
    Ok(Json(step))
}
