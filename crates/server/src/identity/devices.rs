//! Known devices: a browser that completed a sign-in to an account gets a credential for
//! that account (256 random bits; the store keeps its hash), which the app keeps in
//! IndexedDB and sends with later sign-ins. An attempt carrying a valid one is limited by
//! that device's own budget, so someone guessing passwords cannot lock the account's
//! owner out. The credential proves only "this browser signed in here before": the
//! password and the second factor are still checked every time.

use haven_protocol::identity::{DeviceCredential, Id};
use sqlx::SqliteConnection;

use crate::clock::now;
use crate::error::Result;
use crate::secrets::{new_token, token_hash};
use crate::state::AppState;

/// How long a device is remembered without being used.
pub const REMEMBER_SECS: i64 = 90 * 24 * 60 * 60;

/// The limiter's key for a credential that belongs to `user`, or `None`.
pub async fn check(
    state: &AppState,
    credential: &DeviceCredential,
    user: &Id,
) -> Result<Option<Vec<u8>>> {
    let hash = token_hash(credential.expose());
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT last_used_at FROM known_devices WHERE credential_hash = ? AND user_id = ?",
    )
    .bind(&hash)
    .bind(user.as_str())
    .fetch_optional(state.db())
    .await?;
    Ok(found
        .filter(|(last,)| now() - last < REMEMBER_SECS)
        .map(|_| hash[..16].to_vec()))
}

/// After a completed sign-in: refreshes the credential the browser sent (if it is this
/// account's) or issues a new one.
pub async fn remember(
    conn: &mut SqliteConnection,
    user: &Id,
    org: &Id,
    presented: Option<&DeviceCredential>,
) -> Result<DeviceCredential> {
    let now = now();
    if let Some(credential) = presented {
        let refreshed = sqlx::query(
            "UPDATE known_devices SET last_used_at = ? WHERE credential_hash = ? AND user_id = ?",
        )
        .bind(now)
        .bind(token_hash(credential.expose()))
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
        if refreshed.rows_affected() == 1 {
            return Ok(credential.clone());
        }
    }
    let token = new_token()?;
    sqlx::query(
        "INSERT INTO known_devices (credential_hash, user_id, org_id, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash(&token))
    .bind(user.as_str())
    .bind(org.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(DeviceCredential::parse(&token)?)
}
