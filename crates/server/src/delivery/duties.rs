//! Delivery's background duty: a message is kept until every member device has
//! acknowledged it, or until it expires (`MESSAGE_RETENTION_SECS` after it was sent),
//! whichever comes first (a commit never expires: it goes only once every member device
//! has it); then its ciphertext is deleted (its digest stays until it
//! expires, so a replay of it is refused). Revoked devices and devices
//! that have acknowledged everything up to their removal hold nothing back.

use std::time::Duration;

use haven_protocol::messaging::MESSAGE_RETENTION_SECS;

use crate::clock::now;
use crate::error::Result;
use crate::state::AppState;
use crate::store::Pool;

/// How long a commit some member device still lacks is kept: three retention periods
/// (a device away longer must be added again).
pub const COMMIT_KEPT_SECS: i64 = 3 * MESSAGE_RETENTION_SECS;

/// How often the duty runs.
pub const PERIOD: Duration = Duration::from_secs(60);
/// Rows deleted per statement, so one run never holds the write lock for long.
const BATCH: i64 = 5000;

pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(PERIOD);
    loop {
        ticks.tick().await;
        if let Err(e) = collect(state.db(), now()).await {
            tracing::error!(error = %e, "deleting delivered messages failed");
        }
        if let Err(e) = crate::delivery::attachments::collect(&state, now()).await {
            tracing::error!(error = %e, "deleting expired attachments failed");
        }
        if let Err(e) = crate::delivery::quota::collect(state.db(), now()).await {
            tracing::error!(error = %e, "forgetting old storage counts failed");
        }
        if let Err(e) = forget_ended_holders(state.db(), now()).await {
            tracing::error!(error = %e, "forgetting ended device sessions failed");
        }
    }
}

/// As of `now`: empties the messages every member device acknowledged (their
/// ciphertext goes; what identifies them, the digest with its place and sender, stays
/// until they expire, so a replay is still recognised) and deletes expired ones whole.
/// Returns how many messages were emptied or deleted.
pub async fn collect(db: &Pool, now: i64) -> Result<u64> {
    let emptied = in_batches(
        db,
        "UPDATE mls_messages SET body = substr(body, 1, 0), welcome = NULL
         WHERE (conversation_id, seq) IN (
             SELECT m.conversation_id, m.seq FROM mls_messages m
             WHERE length(m.body) > 0
               AND m.seq <= (
                    SELECT COALESCE(MIN(cd.acked_seq), m.seq)
                    FROM conversation_devices cd JOIN mls_devices d ON d.id = cd.device_id
                    WHERE cd.conversation_id = m.conversation_id
                      AND d.revoked_at IS NULL
                      AND (cd.left_seq IS NULL OR cd.acked_seq < cd.left_seq))
             LIMIT ?)",
        None,
    )
    .await?;
    // A commit some member device still lacks outlives the retention period, up to
    // [`COMMIT_KEPT_SECS`]: a device that was away longer still needs every change of
    // members and keys to read what comes after (the application messages between them
    // are gone, and it is told so). Once every member device has it, it is emptied as
    // above, and goes whole at its expiry like any message. The bound keeps a device
    // that never comes back from pinning commits for good.
    let expired = in_batches(
        db,
        "DELETE FROM mls_messages WHERE (conversation_id, seq) IN (
             SELECT conversation_id, seq FROM mls_messages
             WHERE expires_at <= ? AND (kind <> 'commit' OR length(body) = 0) LIMIT ?)",
        Some(now),
    )
    .await?;
    let commits = in_batches(
        db,
        "DELETE FROM mls_messages WHERE (conversation_id, seq) IN (
             SELECT conversation_id, seq FROM mls_messages
             WHERE kind = 'commit' AND expires_at <= ? LIMIT ?)",
        Some(now - (COMMIT_KEPT_SECS - MESSAGE_RETENTION_SECS)),
    )
    .await?;
    Ok(emptied + expired + commits)
}

/// Forgets which ended or expired sessions held a device: only open sessions are ended
/// when it is revoked.
async fn forget_ended_holders(db: &Pool, now: i64) -> Result<u64> {
    in_batches(
        db,
        "DELETE FROM device_sessions WHERE (device_id, token_hash) IN (
             SELECT ds.device_id, ds.token_hash FROM device_sessions ds
             LEFT JOIN sessions s ON s.token_hash = ds.token_hash
             WHERE s.token_hash IS NULL OR s.ended_at IS NOT NULL OR s.expires_at <= ? LIMIT ?)",
        Some(now),
    )
    .await
}

/// Runs `sql` (binding `now` if given, then the batch size) until a run changes fewer
/// rows than a batch; how many it changed in all.
async fn in_batches(db: &Pool, sql: &'static str, now: Option<i64>) -> Result<u64> {
    let mut total = 0;
    loop {
        let mut query = sqlx::query(sql);
        if let Some(now) = now {
            query = query.bind(now);
        }
        let n = query.bind(BATCH).execute(db).await?.rows_affected();
        total += n;
        if n < u64::try_from(BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}
