//! The audit log in the store: every event that touches PHI or security is appended here
//! through [`record`], inside the same transaction as the action it describes, so the
//! two commit together or not at all. Each organisation has its own Merkle tree; signed
//! tree heads are made at least every minute while entries arrive, and on request.

pub mod api;
pub mod cli;
pub mod duties;
pub mod heads;
pub mod people;
pub mod reads;
pub mod repeats;

pub use heads::{current_head, load_or_create_key};
pub use reads::record_list_read;

use std::collections::HashMap;
use std::net::IpAddr;

use axum::http::StatusCode;
use haven_audit_log::{Hash, NodeId, Tree, leaf_hash, node_hash};
use haven_protocol::ErrorCode;
use haven_protocol::audit::{AuditAction, AuditActor, AuditEntry, AuditOutcome};
use haven_protocol::identity::Id;
use sqlx::{SqliteConnection, SqlitePool};

use crate::clock::now;
use crate::error::{Error, Result};
use crate::identity::session::Authed;

pub const KEY_FILE: &str = "audit-signing.key";
/// Six years of 365 days: the shortest retention the server accepts.
pub const MIN_RETENTION_DAYS: u32 = 6 * 365;
/// The largest page of entries one request may ask for.
pub const MAX_PAGE: u32 = 500;

/// Something that happened, about to be written.
#[derive(Debug, Clone)]
pub struct Event {
    pub org: Id,
    pub actor: Option<AuditActor>,
    pub action: AuditAction,
    pub target: Option<String>,
    pub patient: Option<String>,
    pub detail: Option<String>,
    pub outcome: AuditOutcome,
    pub source: Option<IpAddr>,
}

impl Event {
    pub fn new(org: &Id, action: AuditAction) -> Self {
        Self {
            org: org.clone(),
            actor: None,
            action,
            target: None,
            patient: None,
            detail: None,
            outcome: AuditOutcome::Success,
            source: None,
        }
    }

    /// The signed-in caller as the actor.
    pub fn by(authed: &Authed, action: AuditAction) -> Self {
        let mut event = Self::new(&authed.org.id, action);
        event.actor = Some(actor(authed));
        event
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
    pub fn patient(mut self, patient: impl Into<String>) -> Self {
        self.patient = Some(patient.into());
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn failed(mut self) -> Self {
        self.outcome = AuditOutcome::Failure;
        self
    }
    pub fn from(mut self, source: Option<IpAddr>) -> Self {
        self.source = source;
        self
    }
}

pub fn actor(authed: &Authed) -> AuditActor {
    AuditActor {
        user: authed.user_id.to_string(),
        role: authed.role,
        device: Some(authed.device_id.clone()),
    }
}

fn blob_hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::internal("stored hash has the wrong length"))
}

async fn node(conn: &mut SqliteConnection, org: &str, id: NodeId) -> Result<Hash> {
    let found = nodes(conn, org, &[id]).await?;
    found
        .get(&id)
        .copied()
        .ok_or_else(|| Error::internal(format!("audit node {id:?} is missing")))
}

/// The stored hashes of `ids`, in one query (a proof or an append needs O(log n) of them).
async fn nodes(
    conn: &mut SqliteConnection,
    org: &str,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(64) {
        // Only placeholders are generated here; every value is bound.
        let pairs = vec!["(?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT level, idx, hash FROM audit_nodes WHERE org_id = ? AND (level, idx) IN (VALUES {pairs})"
        );
        let mut query =
            sqlx::query_as::<_, (i64, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql)).bind(org);
        for id in chunk {
            query = query
                .bind(i64::from(id.level))
                .bind(i64::try_from(id.index).map_err(Error::internal)?);
        }
        for (level, idx, hash) in query.fetch_all(&mut *conn).await.map_err(Error::internal)? {
            let id = NodeId {
                level: u32::try_from(level).map_err(Error::internal)?,
                index: u64::try_from(idx).map_err(Error::internal)?,
            };
            found.insert(id, blob_hash(&hash)?);
        }
    }
    Ok(found)
}

pub async fn size(conn: &mut SqliteConnection, org: &str) -> Result<u64> {
    let (size,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries WHERE org_id = ?")
            .bind(org)
            .fetch_one(&mut *conn)
            .await
            .map_err(Error::internal)?;
    u64::try_from(size).map_err(Error::internal)
}

/// Appends `event` to its organisation's log within the caller's transaction. Callers
/// hold a write transaction (`BEGIN IMMEDIATE`), so appends never race.
pub async fn record(conn: &mut SqliteConnection, event: Event) -> Result<u64> {
    let indexes = record_many(conn, vec![event]).await?;
    indexes
        .first()
        .copied()
        .ok_or_else(|| Error::internal("nothing recorded"))
}

/// An `audit_entries` row: org, index, time, actor, action, patient, target, payload.
type EntryRow = (
    String,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// Rows per multi-row insert: well inside SQLite's limit on bound values.
const ROWS_PER_INSERT: usize = 512;

/// Appends `events` in order within the caller's transaction: the entries, their leaves
/// and every perfect subtree they complete, in a handful of statements however many
/// events there are. Returns each event's index in its organisation's log.
pub async fn record_many(conn: &mut SqliteConnection, events: Vec<Event>) -> Result<Vec<u64>> {
    let mut indexes = Vec::with_capacity(events.len());
    // The next index and the tree's right edge, per organisation, read once.
    let mut state: HashMap<String, (u64, HashMap<NodeId, Hash>)> = HashMap::new();
    let mut entry_rows: Vec<EntryRow> = Vec::new();
    let mut node_rows: Vec<(String, NodeId, Hash)> = Vec::new();
    let time = now();
    for event in events {
        let org = event.org.to_string();
        if !state.contains_key(&org) {
            let next = size(conn, &org).await?;
            let edge = nodes(conn, &org, &haven_audit_log::nodes_for_root(next)).await?;
            state.insert(org.clone(), (next, edge));
        }
        let Some((next, known)) = state.get_mut(&org) else {
            return Err(Error::internal("audit state lost"));
        };
        let index = *next;
        *next += 1;
        let entry = AuditEntry {
            index,
            time,
            organisation: org.clone(),
            actor: event.actor,
            action: event.action,
            target: event.target,
            patient: event.patient,
            detail: event.detail,
            outcome: event.outcome,
            source: event.source.map(|ip| ip.to_string()),
        };
        let payload = String::from_utf8(entry.canonical_bytes()).map_err(Error::internal)?;
        let leaf = leaf_hash(payload.as_bytes());
        for id in haven_audit_log::perfect_nodes_after_append(index) {
            let hash = if id.level == 0 {
                leaf
            } else {
                let child = |offset: u64| NodeId {
                    level: id.level - 1,
                    index: 2 * id.index + offset,
                };
                let (left, right) = (known.get(&child(0)), known.get(&child(1)));
                match (left, right) {
                    (Some(l), Some(r)) => node_hash(l, r),
                    _ => {
                        return Err(Error::internal(format!(
                            "audit node below {id:?} is missing"
                        )));
                    }
                }
            };
            known.insert(id, hash);
            node_rows.push((org.clone(), id, hash));
        }
        entry_rows.push((
            org,
            i64::try_from(index).map_err(Error::internal)?,
            entry.time,
            entry.actor.as_ref().map(|a| a.user.clone()),
            entry.action.as_str().to_owned(),
            entry.patient,
            entry.target,
            payload,
        ));
        indexes.push(index);
    }
    for chunk in crate::store::chunks(&entry_rows, ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_entries (org_id, idx, at, actor_user, action, patient, target, payload) VALUES {rows}"
        )));
        for (org, idx, at, actor, action, patient, target, payload) in chunk {
            insert = insert
                .bind(org)
                .bind(idx)
                .bind(at)
                .bind(actor)
                .bind(action)
                .bind(patient)
                .bind(target)
                .bind(payload);
        }
        insert.execute(&mut *conn).await.map_err(Error::internal)?;
    }
    for chunk in crate::store::chunks(&node_rows, ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_nodes (org_id, level, idx, hash) VALUES {rows}"
        )));
        for (org, id, hash) in chunk {
            insert = insert
                .bind(org)
                .bind(i64::from(id.level))
                .bind(i64::try_from(id.index).map_err(Error::internal)?)
                .bind(hash.to_vec());
        }
        insert.execute(&mut *conn).await.map_err(Error::internal)?;
    }
    Ok(indexes)
}

/// Records `event` in a transaction of its own (when nothing else changes, such as a
/// failed sign-in or a record being read).
pub async fn record_alone(db: &SqlitePool, event: Event) -> Result<u64> {
    let mut tx = crate::store::begin_write(db).await?;
    let index = record(&mut tx, event).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(index)
}

/// The perfect-subtree hashes a root or proof needs, read from the store.
struct Loaded(HashMap<NodeId, Hash>);

impl Tree for Loaded {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.0.get(&id).copied()
    }
}

/// Records which nodes a computation asks for.
struct Recorder(std::cell::RefCell<Vec<NodeId>>);

impl Tree for Recorder {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.0.borrow_mut().push(id);
        Some([0; 32])
    }
}

/// Runs `compute` against the store: first to learn which nodes it needs, then with them.
async fn with_nodes<T>(
    db: &SqlitePool,
    org: &str,
    compute: impl Fn(&dyn Tree) -> std::result::Result<T, haven_audit_log::ProofError>,
) -> Result<T> {
    let recorder = Recorder(std::cell::RefCell::new(Vec::new()));
    compute(&recorder).map_err(proof_error)?;
    let mut wanted = recorder.0.into_inner();
    wanted.sort();
    wanted.dedup();
    let mut conn = db.acquire().await.map_err(Error::internal)?;
    let loaded = nodes(&mut conn, org, &wanted).await?;
    compute(&Loaded(loaded)).map_err(proof_error)
}

/// MTH of the first `size` entries of `org`'s log.
pub async fn root(db: &SqlitePool, org: &str, size: u64) -> Result<Hash> {
    with_nodes(db, org, |tree| tree.root(size)).await
}

/// Inclusion proof of entry `index` in the tree of `size` entries: O(log n) reads.
pub async fn inclusion_proof(
    db: &SqlitePool,
    org: &str,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    with_nodes(db, org, |tree| tree.inclusion_proof(index, size)).await
}

/// Consistency proof between the trees of `old` and `new` entries.
pub async fn consistency_proof(
    db: &SqlitePool,
    org: &str,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>> {
    with_nodes(db, org, |tree| tree.consistency_proof(old, new)).await
}

/// The stored leaf hash of entry `index`.
pub async fn leaf(db: &SqlitePool, org: &str, index: u64) -> Result<Hash> {
    let mut conn = db.acquire().await.map_err(Error::internal)?;
    node(&mut conn, org, NodeId { level: 0, index }).await
}

fn proof_error(e: haven_audit_log::ProofError) -> Error {
    match e {
        haven_audit_log::ProofError::MissingNode(_) => Error::internal(e),
        _ => Error::bad(
            ErrorCode::InvalidQuery,
            StatusCode::BAD_REQUEST,
            "Those tree sizes or that index do not fit this log.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches and single appends build the same tree as the in-memory reference.
    #[tokio::test]
    async fn batched_and_single_appends_build_the_reference_tree() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open(dir.path()).await.unwrap();
        let org = crate::tenancy::ensure_default(&db, "Test", 900)
            .await
            .unwrap();
        let event =
            |n: u64| Event::new(&org, AuditAction::RecordOpened).target(format!("patient:{n}"));
        let mut tx = crate::store::begin_write(&db).await.unwrap();
        let first = record_many(&mut tx, (0..37).map(event).collect())
            .await
            .unwrap();
        assert_eq!(first, (0..37).collect::<Vec<_>>());
        tx.commit().await.unwrap();
        for n in 37..58 {
            let mut tx = crate::store::begin_write(&db).await.unwrap();
            assert_eq!(record(&mut tx, event(n)).await.unwrap(), n);
            tx.commit().await.unwrap();
        }
        let mut tx = crate::store::begin_write(&db).await.unwrap();
        record_many(&mut tx, (58..100).map(event).collect())
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let payloads: Vec<(String,)> =
            sqlx::query_as("SELECT payload FROM audit_entries ORDER BY idx")
                .fetch_all(&db)
                .await
                .unwrap();
        let leaves: Vec<Hash> = payloads
            .iter()
            .map(|(p,)| leaf_hash(p.as_bytes()))
            .collect();
        let org = org.to_string();
        for size in [1u64, 2, 37, 38, 58, 64, 99, 100] {
            let expected = haven_audit_log::root_from_leaves(&leaves[..size as usize]);
            assert_eq!(
                root(&db, &org, size).await.unwrap(),
                expected,
                "size {size}"
            );
            for index in [0, size / 2, size - 1] {
                let proof = inclusion_proof(&db, &org, index, size).await.unwrap();
                haven_audit_log::verify_inclusion(
                    &leaves[index as usize],
                    index,
                    size,
                    &proof,
                    &expected,
                )
                .unwrap();
            }
        }
    }
}
