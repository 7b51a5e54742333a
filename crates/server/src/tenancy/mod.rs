//! Organisations are tenants. A request belongs to the organisation whose host it was
//! made on, or to the default organisation; every query below this point is scoped to
//! that one organisation, so no call can cross into another.

use axum::http::header::HeaderMap;
use haven_protocol::identity::Id;
use sqlx::SqlitePool;

use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::headers::request_origin;
use crate::secrets::new_id;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Id,
    pub name: String,
    pub idle_timeout_secs: u32,
}

fn row_to_org(row: (String, String, i64)) -> Result<Org> {
    Ok(Org {
        id: Id::parse(&row.0)?,
        name: row.1,
        idle_timeout_secs: u32::try_from(row.2)?,
    })
}

/// The organisation a request was made to.
pub async fn for_request(state: &AppState, headers: &HeaderMap) -> Result<Org> {
    let origin = request_origin(state, headers)?;
    let host = origin.authority().to_owned();
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT id, name, idle_timeout_secs FROM organisations
         WHERE host = ?1 OR (is_default = 1 AND NOT EXISTS (SELECT 1 FROM organisations WHERE host = ?1))
         ORDER BY is_default ASC LIMIT 1",
    )
    .bind(host)
    .fetch_optional(state.db())
    .await?;
    row_to_org(row.ok_or_else(|| Error::internal("no default organisation"))?)
}

/// Makes sure the default organisation exists and carries the configured name.
pub async fn ensure_default(db: &SqlitePool, name: &str, idle_timeout_secs: u32) -> Result<Id> {
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
            .fetch_optional(db)
            .await?;
    if let Some((id,)) = existing {
        sqlx::query("UPDATE organisations SET name = ? WHERE id = ?")
            .bind(name)
            .bind(&id)
            .execute(db)
            .await?;
        return Id::parse(&id).map_err(Error::internal);
    }
    let id = new_id()?;
    sqlx::query(
        "INSERT INTO organisations (id, name, host, is_default, idle_timeout_secs, created_at)
         VALUES (?, ?, NULL, 1, ?, ?)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(i64::from(idle_timeout_secs))
    .bind(now())
    .execute(db)
    .await?;
    Ok(id)
}

/// Adds an organisation served on `host` (white label: one server, many brands).
pub async fn create(db: &SqlitePool, name: &str, host: &str, idle_timeout_secs: u32) -> Result<Id> {
    let id = new_id()?;
    sqlx::query(
        "INSERT INTO organisations (id, name, host, is_default, idle_timeout_secs, created_at)
         VALUES (?, ?, ?, 0, ?, ?)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(host.to_ascii_lowercase())
    .bind(i64::from(idle_timeout_secs))
    .bind(now())
    .execute(db)
    .await?;
    Ok(id)
}
