//! `haven-server audit verify FILE` and `haven-server audit check-head OLD_HEAD`: an
//! auditor's checks that need no trust in the running server. `verify` checks an export
//! against the server's public key; `check-head` checks the stored log against a signed
//! head kept elsewhere (saved from `GET /api/audit/head`, an export's first line, or the
//! head a witness browser keeps), so a rewritten history is caught even if every row
//! still looks consistent with itself. Both know which organisation's log they expect:
//! one key signs every organisation's heads, so a head of another is refused.

use std::path::Path;

use haven_audit_log::{
    SignedTreeHead, TreeHead, Verdict, from_hex, hex, leaf_hash, verify_consistency, verify_export,
    verify_head,
};
use haven_protocol::audit::{AuditEntry, ExportLine};
use sqlx::SqlitePool;

use crate::audit::{KEY_FILE, load_or_create_key};

/// Rows read per query while checking the stored log.
const CHECK_BATCH: i64 = 1_000;

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

async fn open_store(data_dir: &Path) -> Result<SqlitePool, String> {
    if !data_dir.join(crate::store::DB_FILE).exists() {
        return Err(format!("{} holds no Haven database", data_dir.display()));
    }
    crate::store::open(data_dir)
        .await
        .map_err(|e| e.to_string())
}

/// The organisation to expect: the one named, or else the only one `data_dir` hosts.
pub async fn expected_organisation(data_dir: &Path, named: Option<&str>) -> Result<String, String> {
    if let Some(named) = named {
        return Ok(named.to_owned());
    }
    let db = open_store(data_dir).await?;
    let orgs: Vec<(String,)> = sqlx::query_as("SELECT id FROM organisations")
        .fetch_all(&db)
        .await
        .map_err(|e| e.to_string())?;
    match orgs.as_slice() {
        [(only,)] => Ok(only.clone()),
        _ => Err("this server hosts several organisations: name one with --organisation".into()),
    }
}

/// Checks an export file as the export of `organisation`.
pub fn verify_file(file: &Path, trusted: &str, organisation: &str) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(verify_export(&text, trusted, organisation))
}

/// A head as saved from `GET /api/audit/head` (or kept by a witness browser, the same
/// JSON), or the first line of an export.
pub fn parse_head(text: &str) -> Result<SignedTreeHead, String> {
    let line = text.lines().next().unwrap_or_default();
    if let Some(head) = serde_json::from_str::<ExportLine>(line)
        .ok()
        .and_then(SignedTreeHead::from_export_line)
    {
        return Ok(head);
    }
    serde_json::from_str::<SignedTreeHead>(text.trim())
        .map_err(|_| "the file holds no signed tree head".to_owned())
}

/// An `audit_entries` row with its stored leaf: index, payload, leaf hash.
type Row = (i64, String, Option<Vec<u8>>);

/// Checks the stored log in `data_dir` against an older signed head of `organisation`
/// (by default, the organisation the head names). Reads the log in batches, and the tree
/// only where a root or proof needs it, so it runs in constant memory.
pub async fn check_head(
    data_dir: &Path,
    head_text: &str,
    organisation: Option<&str>,
) -> Result<Verdict, String> {
    let trusted = trusted_key(data_dir)?;
    let old = parse_head(head_text)?;
    let org = organisation.unwrap_or(&old.organisation).to_owned();
    let old = match verify_head(&old, &trusted, &org) {
        Ok(old) => old,
        Err(e) => return Ok(broken(None, format!("the old head cannot be trusted: {e}"))),
    };
    let db = open_store(data_dir).await?;
    // Every row against its leaf in the tree: names the first changed, missing or
    // reordered entry.
    let mut size = 0u64;
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.idx, e.payload, n.hash FROM audit_entries e
             LEFT JOIN audit_nodes n ON n.org_id = e.org_id AND n.level = 0 AND n.idx = e.idx
             WHERE e.org_id = ? AND e.idx >= ? ORDER BY e.idx LIMIT ?",
        )
        .bind(&org)
        .bind(i64::try_from(size).map_err(|e| e.to_string())?)
        .bind(CHECK_BATCH)
        .fetch_all(&db)
        .await
        .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            break;
        }
        for (idx, payload, stored) in rows {
            let expected = size;
            if u64::try_from(idx).ok() != Some(expected) {
                return Ok(broken(Some(expected), "it is missing"));
            }
            let entry: Option<AuditEntry> = serde_json::from_str(&payload).ok();
            if entry.as_ref().map(|e| e.index) != Some(expected) {
                return Ok(broken(
                    Some(expected),
                    "it is not the entry recorded at this position",
                ));
            }
            if entry.is_some_and(|e| e.organisation != org) {
                return Ok(broken(Some(expected), "it belongs to another organisation"));
            }
            if stored.as_deref() != Some(&leaf_hash(payload.as_bytes())[..]) {
                return Ok(broken(
                    Some(expected),
                    "its content does not match its hash in the tree (changed)",
                ));
            }
            size += 1;
        }
    }
    if size < old.size {
        return Ok(broken(
            Some(size),
            "the log is shorter than the old head: entries were removed",
        ));
    }
    let rewritten = || {
        broken(
            None,
            format!(
                "the log does not extend the head of {} entries (root {}): history was rewritten",
                old.size,
                hex(&old.root)
            ),
        )
    };
    let Ok(root) = super::root(&db, &org, size).await else {
        return Ok(broken(None, "the tree is missing nodes"));
    };
    if old.size > 0 {
        let Ok(proof) = super::consistency_proof(&db, &org, old.size, size).await else {
            return Ok(rewritten());
        };
        if verify_consistency(old.size, size, &proof, &old.root, &root).is_err() {
            return Ok(rewritten());
        }
    }
    Ok(Verdict::Intact {
        entries: size,
        head: TreeHead {
            organisation: org,
            size,
            timestamp: old.timestamp,
            root,
        },
    })
}

/// A key given on the command line, checked for shape.
pub fn parse_key(text: &str) -> Result<String, String> {
    from_hex::<32>(text.trim())
        .map(|k| hex(&k))
        .ok_or_else(|| "a public key is 64 hex characters".to_owned())
}
