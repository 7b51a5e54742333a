//! Embedding: which partner origins may show the organisation's Haven in an iframe. The
//! list is the organisation's `frame-ancestors`; an empty list keeps `'none'`. Changes
//! are audited with the new list (origins are addresses of partner sites, not PHI).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::brand::{Embedding, MAX_EMBED_ORIGINS, parse_embed_origin};

use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

/// `GET /api/org/embedding`
pub async fn get(State(state): State<AppState>, authed: Authed) -> Result<Json<Embedding>> {
    let origins = crate::tenancy::embed_origins(state.db(), &authed.org.id).await?;
    Ok(Json(Embedding { origins }))
}

/// `PUT /api/org/embedding`: the whole list, replaced. Saving the list already saved
/// changes and records nothing.
pub async fn put(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<Embedding>,
) -> Result<Json<Embedding>> {
    if request.origins.len() > MAX_EMBED_ORIGINS {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "At most 20 partner origins may embed the app.",
        ));
    }
    let mut origins = Vec::with_capacity(request.origins.len());
    for text in &request.origins {
        let origin = parse_embed_origin(text).ok_or_else(|| {
            Error::bad(
                ErrorCode::InvalidField,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Each partner origin must be https://host or https://host:port, with no path.",
            )
        })?;
        origins.push(origin);
    }
    origins.sort();
    origins.dedup();
    let org = authed.org.id.as_str();
    let mut tx = begin_write(state.db()).await?;
    let before = crate::tenancy::embed_origins(&mut *tx, &authed.org.id).await?;
    if before != origins {
        sqlx::query("DELETE FROM organisation_embed_origins WHERE org_id = ?")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        let at = now();
        for origin in &origins {
            sqlx::query(
                "INSERT INTO organisation_embed_origins (org_id, origin, created_at) VALUES (?, ?, ?)",
            )
            .bind(org)
            .bind(origin)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        let listed = if origins.is_empty() {
            "none".to_owned()
        } else {
            origins.join(" ")
        };
        let event = Event::by(&authed, AuditAction::EmbeddingChanged)
            .detail(format!("allowed: {listed}"))
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
    }
    Ok(Json(Embedding { origins }))
}
