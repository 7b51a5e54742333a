//! The administration of users (roles, deactivation) and of the organisation's
//! settings. Every change and its audit entry commit in one transaction.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::{
    ChangeRoleRequest, DisplayName, Email, Id, OrgSettings, UserSummary,
};

use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::http::api::parse_json;
use crate::identity::session::{self, Authed};
use crate::state::AppState;
use crate::store::begin_write;

/// `GET /api/users`
pub async fn list_users(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Json<Vec<UserSummary>>> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, display_name, email, role, active, totp_secret IS NOT NULL FROM users WHERE org_id = ? ORDER BY display_name",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    rows.into_iter()
        .map(|(id, name, email, role, active, totp)| {
            Ok(UserSummary {
                id: Id::parse(&id).map_err(Error::internal)?,
                display_name: DisplayName::parse(&name).map_err(Error::internal)?,
                email: Email::parse(&email).map_err(Error::internal)?,
                role: Role::from_str(&role).map_err(Error::internal)?,
                active: active == 1,
                totp_enrolled: totp == 1,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Json)
}

/// A user of the caller's organisation other than the caller, or 404.
async fn other_user(state: &AppState, authed: &Authed, id: &str) -> Result<Id> {
    let id = Id::parse(id).map_err(|_| Error::NotFound)?;
    if id == authed.user_id {
        return Err(Error::conflict(
            ErrorCode::CannotChangeSelf,
            "You cannot change your own account this way; ask another administrator.",
        ));
    }
    let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = ? AND org_id = ?")
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .fetch_optional(state.db())
        .await
        .map_err(Error::internal)?;
    found.map(|_| id).ok_or(Error::NotFound)
}

/// `POST /api/users/{id}/role`: takes effect at once; the user signs in again.
pub async fn change_role(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let request: ChangeRoleRequest = parse_json(body)?;
    let id = other_user(&state, &authed, &id).await?;
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE users SET role = ? WHERE id = ? AND org_id = ?")
        .bind(request.role.as_str())
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    session::end_all(&mut tx, &id, SessionEndReason::RoleChanged).await?;
    let event = Event::by(&authed, AuditAction::RoleChanged)
        .target(format!("user:{id}"))
        .detail(request.role.as_str());
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    state.live().end_user(&id, SessionEndReason::RoleChanged);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/users/{id}/deactivate`: every session ends and every socket closes now.
pub async fn deactivate(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = other_user(&state, &authed, &id).await?;
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE users SET active = 0 WHERE id = ? AND org_id = ?")
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    session::end_all(&mut tx, &id, SessionEndReason::Deactivated).await?;
    audit::record(
        &mut tx,
        Event::by(&authed, AuditAction::AccountDeactivated).target(format!("user:{id}")),
    )
    .await?;
    tx.commit().await.map_err(Error::internal)?;
    state.live().end_user(&id, SessionEndReason::Deactivated);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/org/settings`
pub async fn settings(Extension(authed): Extension<Authed>) -> Json<OrgSettings> {
    Json(OrgSettings {
        idle_timeout_secs: authed.org.idle_timeout_secs,
    })
}

/// `PUT /api/org/settings`
pub async fn update_settings(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<OrgSettings>> {
    let request: OrgSettings = parse_json(body)?;
    if !haven_protocol::config::IDLE_TIMEOUT_RANGE_SECS.contains(&request.idle_timeout_secs) {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The idle timeout must be between 10 seconds and 24 hours.",
        ));
    }
    let mut tx = begin_write(state.db()).await?;
    sqlx::query("UPDATE organisations SET idle_timeout_secs = ? WHERE id = ?")
        .bind(i64::from(request.idle_timeout_secs))
        .bind(authed.org.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::internal)?;
    let event = Event::by(&authed, AuditAction::SettingsChanged)
        .detail(format!("idle_timeout_secs={}", request.idle_timeout_secs));
    audit::record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(Json(request))
}
