//! The audit log in the store: every event that touches PHI or security is appended here
//! through [`record`], inside the same transaction as the action it describes, so the
//! two commit together or not at all. Each organisation has its own Merkle tree; signed
//! tree heads are made at least every minute while entries arrive, and on request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ed25519_dalek::SigningKey;
use haven_audit_log::{Hash, NodeId, SignedTreeHead, Tree, TreeHead, hex, leaf_hash, node_hash};
use haven_protocol::ErrorCode;
use haven_protocol::audit::{
    AuditActor, AuditEntry, AuditOutcome, AuditPage, AuditProof, ExportLine,
};
use haven_protocol::identity::Id;
use serde::Deserialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::clock::now;
use crate::error::{Error, Result};
use crate::session::Authed;
use crate::state::AppState;

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
    pub action: &'static str,
    pub target: Option<String>,
    pub patient: Option<String>,
    pub detail: Option<String>,
    pub outcome: AuditOutcome,
    pub source: Option<IpAddr>,
}

impl Event {
    pub fn new(org: &Id, action: &'static str) -> Self {
        // `action` names come from this crate only: lower-case words and underscores.
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
    pub fn by(authed: &Authed, action: &'static str) -> Self {
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

/// An `audit_entries` row: org, index, time, actor, action, patient, payload.
type EntryRow = (
    String,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// Rows per multi-row insert: well inside SQLite's limit on bound values.
const ROWS_PER_INSERT: usize = 400;

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
            action: event.action.to_owned(),
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
            entry.action,
            entry.patient,
            payload,
        ));
        indexes.push(index);
    }
    for chunk in entry_rows.chunks(ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_entries (org_id, idx, at, actor_user, action, patient, payload) VALUES {rows}"
        )));
        for (org, idx, at, actor, action, patient, payload) in chunk {
            insert = insert
                .bind(org)
                .bind(idx)
                .bind(at)
                .bind(actor)
                .bind(action)
                .bind(patient)
                .bind(payload);
        }
        insert.execute(&mut *conn).await.map_err(Error::internal)?;
    }
    for chunk in node_rows.chunks(ROWS_PER_INSERT) {
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

/// Loads the server's audit signing key, creating it (owner-only) on first start.
pub fn load_or_create_key(data_dir: &Path) -> std::io::Result<SigningKey> {
    let path = data_dir.join(KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| std::io::Error::other("the audit signing key file is corrupt"))?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    let seed = crate::secrets::random_bytes::<32>().map_err(std::io::Error::other)?;
    std::fs::create_dir_all(data_dir)?;
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(&seed)?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

fn head_from_row(
    org: &str,
    (size, timestamp, root, signature): (i64, i64, Vec<u8>, Vec<u8>),
    public_key: &str,
) -> Result<(String, SignedTreeHead)> {
    Ok((
        org.to_owned(),
        SignedTreeHead {
            tree_size: u64::try_from(size).map_err(Error::internal)?,
            timestamp,
            root_hash: hex(&root),
            signature: hex(&signature),
            public_key: public_key.to_owned(),
        },
    ))
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
        return head_from_row(org, row, &public).map(|(_, h)| h);
    }
    drop(tx);
    let root = root(state.db(), org, size).await?;
    let head = TreeHead {
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

/// Break-glass grants that have run out get their end written to the log, once.
pub async fn record_ended_break_glass(state: &AppState) -> Result<()> {
    let ended: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, org_id, clinician_id, patient_id FROM break_glass WHERE expires_at <= ? AND end_audited = 0",
    )
    .bind(now())
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    for (id, org, clinician, patient) in ended {
        let org = Id::parse(&org).map_err(Error::internal)?;
        let mut tx = crate::store::begin_write(state.db()).await?;
        let claimed =
            sqlx::query("UPDATE break_glass SET end_audited = 1 WHERE id = ? AND end_audited = 0")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(Error::internal)?;
        if claimed.rows_affected() == 1 {
            let event = Event::new(&org, "break_glass_ended")
                .target(id)
                .patient(patient)
                .detail(format!("clinician {clinician}"));
            record(&mut tx, event).await?;
        }
        tx.commit().await.map_err(Error::internal)?;
    }
    Ok(())
}

/// The background duty: heads at least every `period`, and break-glass ends.
pub async fn run_duties(state: AppState, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(e) = record_ended_break_glass(&state).await {
            tracing::error!(error = %e, "recording ended emergency access failed");
        }
        if let Err(e) = sign_pending_heads(&state).await {
            tracing::error!(error = %e, "signing audit tree heads failed");
        }
    }
}

fn invalid_query() -> Error {
    Error::bad(
        ErrorCode::InvalidQuery,
        StatusCode::BAD_REQUEST,
        "The search has an unknown filter or a value out of range.",
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    actor: Option<String>,
    patient: Option<String>,
    action: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    after: Option<u64>,
    limit: Option<u32>,
}

fn parse_entries(rows: Vec<(i64, String)>) -> Result<Vec<AuditEntry>> {
    rows.into_iter()
        .map(|(_, payload)| serde_json::from_str(&payload).map_err(Error::internal))
        .collect()
}

/// `GET /api/audit/entries`
pub async fn entries(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    query: std::result::Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<AuditPage>> {
    let Query(q) = query.map_err(|_| invalid_query())?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(invalid_query());
    }
    for id in [&q.actor, &q.patient].into_iter().flatten() {
        Id::parse(id).map_err(|_| invalid_query())?;
    }
    if q.action
        .as_ref()
        .is_some_and(|a| a.len() > 64 || !a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    {
        return Err(invalid_query());
    }
    let after = q
        .after
        .map_or(Ok(-1), i64::try_from)
        .map_err(|_| invalid_query())?;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT idx, payload FROM audit_entries
         WHERE org_id = ?1 AND (?2 IS NULL OR actor_user = ?2) AND (?3 IS NULL OR patient = ?3)
           AND (?4 IS NULL OR action = ?4) AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6) AND idx > ?7
         ORDER BY idx LIMIT ?8",
    )
    .bind(authed.org.id.as_str())
    .bind(q.actor)
    .bind(q.patient)
    .bind(q.action)
    .bind(q.from)
    .bind(q.to)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    let more = rows.len() > limit as usize;
    let mut entries = parse_entries(rows)?;
    entries.truncate(limit as usize);
    let next = if more {
        entries.last().map(|e| e.index)
    } else {
        None
    };
    Ok(Json(AuditPage { entries, next }))
}

/// `GET /api/audit/head`
pub async fn head(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Json<SignedTreeHead>> {
    Ok(Json(current_head(&state, authed.org.id.as_str()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

async fn check_size(state: &AppState, org: &str, wanted: u64) -> Result<()> {
    let mut conn = state.db().acquire().await.map_err(Error::internal)?;
    if wanted > size(&mut conn, org).await? {
        return Err(invalid_query());
    }
    Ok(())
}

/// `GET /api/audit/proof/inclusion?index=&size=`
pub async fn inclusion(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    query: std::result::Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<AuditProof>> {
    let Query(q) = query.map_err(|_| invalid_query())?;
    let org = authed.org.id.as_str();
    check_size(&state, org, q.size).await?;
    let proof = with_nodes(state.db(), org, |tree| {
        tree.inclusion_proof(q.index, q.size)
    })
    .await?;
    Ok(Json(AuditProof {
        from: q.index,
        to: q.size,
        hashes: proof.iter().map(|h| hex(h)).collect(),
    }))
}

/// `GET /api/audit/proof/consistency?from=&to=`
pub async fn consistency(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    query: std::result::Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<AuditProof>> {
    let Query(q) = query.map_err(|_| invalid_query())?;
    let org = authed.org.id.as_str();
    check_size(&state, org, q.to).await?;
    let proof = consistency_proof(state.db(), org, q.from, q.to).await?;
    Ok(Json(AuditProof {
        from: q.from,
        to: q.to,
        hashes: proof.iter().map(|h| hex(h)).collect(),
    }))
}

/// The export as JSON Lines: the signed head, then each entry with the leaf hash the
/// store holds for it. Used by the HTTP export and by tests and tools.
pub async fn export_lines(state: &AppState, org: &str) -> Result<Vec<u8>> {
    let head = current_head(state, org).await?;
    let mut out = Vec::new();
    let first = ExportLine::Head {
        organisation: org.to_owned(),
        tree_size: head.tree_size,
        timestamp: head.timestamp,
        root_hash: head.root_hash,
        signature: head.signature,
        public_key: head.public_key,
    };
    let push = |out: &mut Vec<u8>, line: &ExportLine| -> Result<()> {
        serde_json::to_writer(&mut *out, line).map_err(Error::internal)?;
        out.push(b'\n');
        Ok(())
    };
    push(&mut out, &first)?;
    let rows: Vec<(i64, String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT e.idx, e.payload, n.hash FROM audit_entries e
         LEFT JOIN audit_nodes n ON n.org_id = e.org_id AND n.level = 0 AND n.idx = e.idx
         WHERE e.org_id = ? ORDER BY e.idx",
    )
    .bind(org)
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    for (_, payload, leaf) in rows {
        // A row that no longer parses is exported as it is found: the verifier names it.
        let entry: AuditEntry = match serde_json::from_str(&payload) {
            Ok(entry) => entry,
            Err(_) => continue,
        };
        let line = ExportLine::Entry {
            entry,
            leaf_hash: leaf.map(|l| hex(&l)).unwrap_or_default(),
        };
        push(&mut out, &line)?;
    }
    Ok(out)
}

/// `GET /api/audit/export`: recorded as an event itself.
pub async fn export(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
) -> Result<Response> {
    record_alone(
        state.db(),
        Event::by(&authed, "audit_exported").from(Some(peer.ip())),
    )
    .await?;
    let body = export_lines(&state, authed.org.id.as_str()).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"haven-audit.jsonl\""),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches and single appends build the same tree as the in-memory reference.
    #[tokio::test]
    async fn batched_and_single_appends_build_the_reference_tree() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open(dir.path()).await.unwrap();
        let org = crate::org::ensure_default(&db, "Test", 900).await.unwrap();
        let event = |n: u64| Event::new(&org, "record_opened").target(format!("patient:{n}"));
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
