//! The administration of users (roles, deactivation) and of the organisation's
//! settings. Every change and its audit entry commit in one transaction; a change that
//! is already the state of things is refused (`no_change`) and records nothing, so the
//! log says what really happened.

pub mod brand;
pub mod embedding;

use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::{AuditAction, SessionEndReason};
use haven_protocol::identity::{
    ChangeRoleRequest, DisplayName, Email, Id, OrgSettings, UserSummary,
};

use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::invitations::{may_invite, revoke_sent_by};
use crate::identity::session::{self, Authed};
use crate::state::AppState;
use crate::store::begin_write;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    display_name: String,
    email: String,
    role: String,
    active: i64,
    totp: i64,
}

/// `GET /api/users`: names and addresses of everyone, patients included, so the read is
/// recorded.
pub async fn list_users(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<UserSummary>>> {
    let rows: Vec<UserRow> = sqlx::query_as(
        "SELECT id, display_name, email, role, active, totp_secret IS NOT NULL AS totp
         FROM users WHERE org_id = ? ORDER BY display_name",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    let users = rows
        .into_iter()
        .map(|r| {
            Ok(UserSummary {
                id: Id::parse(&r.id)?,
                display_name: DisplayName::parse(&r.display_name)?,
                email: Email::parse(&r.email)?,
                role: Role::from_str(&r.role)?,
                active: r.active == 1,
                totp_enrolled: r.totp == 1,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::audit::record_list_read(&state, &authed, ip, "users", users.len()).await?;
    Ok(Json(users))
}

/// A user of the caller's organisation other than the caller, or 404.
fn other_user(authed: &Authed, id: &str) -> Result<Id> {
    let id = Id::parse(id).map_err(|_| Error::NotFound)?;
    if id == authed.user_id {
        return Err(Error::conflict(
            ErrorCode::CannotChangeSelf,
            "You cannot change your own account this way; ask another administrator.",
        ));
    }
    Ok(id)
}

/// `POST /api/users/{id}/role`: takes effect at once; the user signs in again. Their
/// open invitations of roles the new role may not invite are withdrawn.
pub async fn change_role(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
    Body(request): Body<ChangeRoleRequest>,
) -> Result<Response> {
    let id = other_user(&authed, &id)?;
    let mut tx = begin_write(state.db()).await?;
    let current: Option<(String,)> =
        sqlx::query_as("SELECT role FROM users WHERE id = ? AND org_id = ?")
            .bind(id.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let (current,) = current.ok_or(Error::NotFound)?;
    if current == request.role.as_str() {
        return Err(Error::no_change("This person already has that role."));
    }
    sqlx::query("UPDATE users SET role = ? WHERE id = ? AND org_id = ?")
        .bind(request.role.as_str())
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await?;
    session::end_all(&mut tx, &id, SessionEndReason::RoleChanged).await?;
    // A certificate names the role: the devices of the old role are retired.
    let revoked =
        crate::delivery::directory::revoke_all_of(&mut tx, &authed, &id, "role changed").await?;
    let event = Event::by(&authed, AuditAction::RoleChanged)
        .target(format!("user:{id}"))
        .detail(request.role.as_str())
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    // Whatever they sent under the old role is withdrawn unless the new role may send
    // every kind of it too.
    let keeps_authority = Role::ALL
        .iter()
        .filter(|r| Role::from_str(&current).is_ok_and(|old| may_invite(old, **r)))
        .all(|r| may_invite(request.role, *r));
    if !keeps_authority {
        revoke_sent_by(&mut tx, &authed, &id, "its sender's role changed").await?;
    }
    tx.commit().await?;
    crate::delivery::directory::announce_revoked(&state, &authed.org.id, &revoked).await?;
    state.live().end_user(&id, SessionEndReason::RoleChanged);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/users/{id}/deactivate`: every session ends and every socket closes now;
/// the user's open invitations are withdrawn.
pub async fn deactivate(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = other_user(&authed, &id)?;
    let mut tx = begin_write(state.db()).await?;
    let active: Option<(i64,)> =
        sqlx::query_as("SELECT active FROM users WHERE id = ? AND org_id = ?")
            .bind(id.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let (active,) = active.ok_or(Error::NotFound)?;
    if active == 0 {
        return Err(Error::no_change("This account is already deactivated."));
    }
    sqlx::query("UPDATE users SET active = 0 WHERE id = ? AND org_id = ? AND active = 1")
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await?;
    session::end_all(&mut tx, &id, SessionEndReason::Deactivated).await?;
    audit::record(
        &mut tx,
        Event::by(&authed, AuditAction::AccountDeactivated)
            .target(format!("user:{id}"))
            .from(Some(ip)),
    )
    .await?;
    revoke_sent_by(&mut tx, &authed, &id, "its sender was deactivated").await?;
    let revoked =
        crate::delivery::directory::revoke_all_of(&mut tx, &authed, &id, "account deactivated")
            .await?;
    tx.commit().await?;
    crate::delivery::directory::announce_revoked(&state, &authed.org.id, &revoked).await?;
    state.live().end_user(&id, SessionEndReason::Deactivated);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/org/settings`
pub async fn settings(authed: Authed) -> Json<OrgSettings> {
    Json(OrgSettings {
        idle_timeout_secs: authed.org.idle_timeout_secs,
    })
}

/// `PUT /api/org/settings`: setting what is already set changes and records nothing.
pub async fn update_settings(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<OrgSettings>,
) -> Result<Json<OrgSettings>> {
    if !haven_protocol::config::IDLE_TIMEOUT_RANGE_SECS.contains(&request.idle_timeout_secs) {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The idle timeout must be between 10 seconds and 24 hours.",
        ));
    }
    let mut tx = begin_write(state.db()).await?;
    let changed = sqlx::query(
        "UPDATE organisations SET idle_timeout_secs = ? WHERE id = ? AND idle_timeout_secs <> ?",
    )
    .bind(i64::from(request.idle_timeout_secs))
    .bind(authed.org.id.as_str())
    .bind(i64::from(request.idle_timeout_secs))
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() == 1 {
        let event = Event::by(&authed, AuditAction::SettingsChanged)
            .detail(format!("idle_timeout_secs={}", request.idle_timeout_secs))
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
    }
    Ok(Json(request))
}
