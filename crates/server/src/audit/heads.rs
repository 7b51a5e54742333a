//! Signed tree heads: the server's key, a new head whenever entries arrived since the
//! last, and the duty that signs them at least every minute.

use std::path::Path;

use ed25519_dalek::SigningKey;
use haven_audit_log::{SignedTreeHead, TreeHead, hex};

use super::*;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Loads the server's audit signing key, creating it (owner-only) on first start.
pub fn load_or_create_key(data_dir: &Path) -> std::io::Result<SigningKey> {
    crate::secrets::load_or_create_key(&data_dir.join(KEY_FILE))
}

fn head_from_row(
    org: &str,
    (size, timestamp, root, signature): (i64, i64, Vec<u8>, Vec<u8>),
    public_key: &str,
) -> Result<SignedTreeHead> {
    Ok(SignedTreeHead {
        organisation: org.to_owned(),
        tree_size: u64::try_from(size).map_err(Error::internal)?,
        timestamp,
        root_hash: hex(&root),
        signature: hex(&signature),
        public_key: public_key.to_owned(),
    })
}

/// The newest signed head of `org`, signing a new one first if entries arrived since.
pub async fn current_head(state: &AppState, org: &str) -> Result<SignedTreeHead> {
    let key = state.audit_key();
    let public = hex(key.verifying_key().as_bytes());
    let mut tx = crate::store::begin_write(state.db()).await?;
    // The tree's size is its number of leaves; an entry row without one is not in it.
    let (size,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_nodes WHERE org_id = ? AND level = 0",
    )
    .bind(org)
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::internal)?;
    let size = u64::try_from(size).map_err(Error::internal)?;
    let last: Option<(i64, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT tree_size, timestamp, root, signature FROM audit_heads WHERE org_id = ? ORDER BY tree_size DESC LIMIT 1",
    )
    .bind(org)
    .fetch_optional(&mut *tx)
    .await
    .map_err(Error::internal)?;
    if let Some(row) = last.filter(|r| u64::try_from(r.0).ok() == Some(size)) {
        return head_from_row(org, row, &public);
    }
    drop(tx);
    let root = root(state.db(), org, size).await?;
    let head = TreeHead {
        organisation: org.to_owned(),
        size,
        timestamp: now(),
        root,
    }
    .sign(key);
    sqlx::query("INSERT OR IGNORE INTO audit_heads (org_id, tree_size, timestamp, root, signature) VALUES (?, ?, ?, ?, ?)")
        .bind(org)
        .bind(i64::try_from(size).map_err(Error::internal)?)
        .bind(head.timestamp)
        .bind(root.to_vec())
        .bind(haven_audit_log::from_hex::<64>(&head.signature).map(|s| s.to_vec()).unwrap_or_default())
        .execute(state.db())
        .await
        .map_err(Error::internal)?;
    Ok(head)
}

/// Every organisation with entries newer than its last signed head gets a new head.
pub async fn sign_pending_heads(state: &AppState) -> Result<()> {
    let orgs: Vec<(String,)> = sqlx::query_as(
        "SELECT o.id FROM organisations o WHERE (SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries e WHERE e.org_id = o.id)
           > (SELECT COALESCE(MAX(tree_size), 0) FROM audit_heads h WHERE h.org_id = o.id)",
    )
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    for (org,) in orgs {
        current_head(state, &org).await?;
    }
    Ok(())
}
