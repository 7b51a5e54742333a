//! `haven-server audit verify FILE` and `haven-server audit check-head OLD_HEAD`: an
//! auditor's checks that need no trust in the running server. `verify` checks an export
//! against the server's public key; `check-head` checks the stored log against a signed
//! head kept elsewhere, so a rewritten history is caught even if every row still looks
//! consistent with itself.

use std::path::Path;

use haven_audit_log::{
    SignedTreeHead, Tree, Verdict, from_hex, hex, leaf_hash, verify_consistency, verify_export,
    verify_head,
};
use haven_protocol::audit::{AuditEntry, ExportLine};

use crate::audit::{KEY_FILE, load_or_create_key};

fn broken(first_bad: Option<u64>, reason: impl Into<String>) -> Verdict {
    Verdict::Broken {
        first_bad,
        reason: reason.into(),
    }
}

/// The public key (hex) of the server whose data directory is `data_dir`.
pub fn trusted_key(data_dir: &Path) -> Result<String, String> {
    if !data_dir.join(KEY_FILE).exists() {
        return Err(format!("{} has no audit signing key", data_dir.display()));
    }
    let key = load_or_create_key(data_dir).map_err(|e| e.to_string())?;
    Ok(hex(key.verifying_key().as_bytes()))
}

/// Checks an export file.
pub fn verify_file(file: &Path, trusted: &str) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(verify_export(&text, trusted))
}

/// A head as saved from `GET /api/audit/head` or the first line of an export.
pub fn parse_head(text: &str) -> Result<(Option<String>, SignedTreeHead), String> {
    let line = text.lines().next().unwrap_or_default();
    if let Ok(ExportLine::Head {
        organisation,
        tree_size,
        timestamp,
        root_hash,
        signature,
        public_key,
    }) = serde_json::from_str::<ExportLine>(line)
    {
        return Ok((
            Some(organisation),
            SignedTreeHead {
                tree_size,
                timestamp,
                root_hash,
                signature,
                public_key,
            },
        ));
    }
    serde_json::from_str::<SignedTreeHead>(text.trim())
        .map(|h| (None, h))
        .map_err(|_| "the file holds no signed tree head".to_owned())
}

struct Nodes(std::collections::HashMap<haven_audit_log::NodeId, haven_audit_log::Hash>);

impl Tree for Nodes {
    fn node(&self, id: haven_audit_log::NodeId) -> Option<haven_audit_log::Hash> {
        self.0.get(&id).copied()
    }
}

/// Checks the stored log of `organisation` in `data_dir` against an older signed head.
pub async fn check_head(
    data_dir: &Path,
    head_text: &str,
    organisation: Option<&str>,
) -> Result<Verdict, String> {
    let trusted = trusted_key(data_dir)?;
    let (from_file, old) = parse_head(head_text)?;
    let old = match verify_head(&old, &trusted) {
        Ok(old) => old,
        Err(e) => return Ok(broken(None, format!("the old head cannot be trusted: {e}"))),
    };
    let db = crate::store::open(data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let org = match organisation.map(str::to_owned).or(from_file) {
        Some(org) => org,
        None => {
            let orgs: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT org_id FROM audit_entries")
                .fetch_all(&db)
                .await
                .map_err(|e| e.to_string())?;
            match orgs.as_slice() {
                [(only,)] => only.clone(),
                _ => {
                    return Err(
                        "several organisations have logs: name one with --organisation".into(),
                    );
                }
            }
        }
    };
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT idx, payload FROM audit_entries WHERE org_id = ? ORDER BY idx")
            .bind(&org)
            .fetch_all(&db)
            .await
            .map_err(|e| e.to_string())?;
    let node_rows: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT level, idx, hash FROM audit_nodes WHERE org_id = ?")
            .bind(&org)
            .fetch_all(&db)
            .await
            .map_err(|e| e.to_string())?;
    let mut nodes = std::collections::HashMap::new();
    for (level, idx, hash) in node_rows {
        if let (Ok(level), Ok(index), Ok(hash)) = (
            u32::try_from(level),
            u64::try_from(idx),
            <[u8; 32]>::try_from(hash),
        ) {
            nodes.insert(haven_audit_log::NodeId { level, index }, hash);
        }
    }
    // Every row against its leaf in the tree: names the first changed, missing or
    // reordered entry.
    for (expected, (idx, payload)) in rows.iter().enumerate() {
        let expected = expected as u64;
        if u64::try_from(*idx).ok() != Some(expected) {
            return Ok(broken(Some(expected), "it is missing"));
        }
        let entry: Option<AuditEntry> = serde_json::from_str(payload).ok();
        if entry.as_ref().map(|e| e.index) != Some(expected) {
            return Ok(broken(
                Some(expected),
                "it is not the entry recorded at this position",
            ));
        }
        let stored = nodes.get(&haven_audit_log::NodeId {
            level: 0,
            index: expected,
        });
        if stored != Some(&leaf_hash(payload.as_bytes())) {
            return Ok(broken(
                Some(expected),
                "its content does not match its hash in the tree (changed)",
            ));
        }
    }
    let size = rows.len() as u64;
    if size < old.size {
        return Ok(broken(
            Some(size),
            "the log is shorter than the old head: entries were removed",
        ));
    }
    let tree = Nodes(nodes);
    let outcome = tree
        .root(size)
        .and_then(|root| Ok((root, tree.consistency_proof(old.size, size)?)))
        .and_then(|(root, proof)| {
            verify_consistency(old.size, size, &proof, &old.root, &root).map(|()| root)
        });
    Ok(match outcome {
        Ok(root) => Verdict::Intact {
            entries: size,
            head: haven_audit_log::TreeHead {
                size,
                timestamp: old.timestamp,
                root,
            },
        },
        Err(_) => broken(
            None,
            format!(
                "the log does not extend the head of {} entries (root {}): history was rewritten",
                old.size,
                hex(&old.root)
            ),
        ),
    })
}

/// A key given on the command line, checked for shape.
pub fn parse_key(text: &str) -> Result<String, String> {
    from_hex::<32>(text.trim())
        .map(|k| hex(&k))
        .ok_or_else(|| "a public key is 64 hex characters".to_owned())
}
