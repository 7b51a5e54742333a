//! The auditor's API: search, heads, proofs and the export.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use haven_audit_log::{SignedTreeHead, WitnessAlarmReport, hex, parse_head, verify_head};
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::audit::{AuditEntry, AuditPage, AuditProof, ExportLine};
use haven_protocol::identity::Id;
use serde::Deserialize;
use sqlx::SqlitePool;
use utoipa::openapi::Required;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::heads::current_head;
use super::*;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::http::openapi::{integer, query_parameter};
use crate::identity::session::Authed;
use crate::routes::{Schemas, one};
use crate::state::AppState;

/// Entries per page when the search does not say.
const DEFAULT_PAGE: u32 = 100;
/// The longest `action` filter: longer than any action's name.
const MAX_ACTION_FILTER: usize = 64;

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
    conversation: Option<String>,
    action: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    after: Option<u64>,
    limit: Option<u32>,
}

/// [`EntriesQuery`] in the OpenAPI document, with the limits [`entries`] enforces.
pub fn entries_parameters(schemas: &mut Schemas) -> Vec<Parameter> {
    let action = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_ACTION_FILTER))
        .pattern(Some("^[a-z_]*$"))
        .examples([AuditAction::BreakGlassGranted.as_str()]);
    let limit = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_PAGE))
        .default(Some(DEFAULT_PAGE.into()));
    vec![
        query_parameter(
            "actor",
            Required::False,
            one::<Id>(schemas),
            "Only entries by this person.",
        ),
        query_parameter(
            "patient",
            Required::False,
            one::<Id>(schemas),
            "Only entries about this patient.",
        ),
        query_parameter(
            "conversation",
            Required::False,
            one::<Id>(schemas),
            "Only entries about this conversation (messages, members, attachments).",
        ),
        query_parameter(
            "action",
            Required::False,
            action.build(),
            "Only entries of this action (one of the audit actions' names).",
        ),
        query_parameter(
            "from",
            Required::False,
            integer(i64::MIN, i64::MAX),
            "Only entries at or after this time (Unix seconds).",
        ),
        query_parameter(
            "to",
            Required::False,
            integer(i64::MIN, i64::MAX),
            "Only entries before this time (Unix seconds).",
        ),
        query_parameter(
            "after",
            Required::False,
            integer(0, i64::MAX),
            "The `next` of the previous page: entries after this index.",
        ),
        query_parameter(
            "limit",
            Required::False,
            limit.build(),
            "Entries on this page.",
        ),
    ]
}

fn parse_entries(rows: Vec<(i64, String)>) -> Result<Vec<AuditEntry>> {
    rows.into_iter()
        .map(|(_, payload)| serde_json::from_str(&payload).map_err(Error::internal))
        .collect()
}

/// `GET /api/audit/entries`
pub async fn entries(
    State(state): State<AppState>,
    authed: Authed,
    query: std::result::Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<AuditPage>> {
    let Query(q) = query.map_err(|_| invalid_query())?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(invalid_query());
    }
    for id in [&q.actor, &q.patient, &q.conversation]
        .into_iter()
        .flatten()
    {
        Id::parse(id).map_err(|_| invalid_query())?;
    }
    if q.action.as_ref().is_some_and(|a| {
        a.len() > MAX_ACTION_FILTER || !a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    }) {
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
           AND (?9 IS NULL OR target = ?9)
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
    .bind(q.conversation.map(|c| format!("conversation:{c}")))
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
pub async fn head(State(state): State<AppState>, authed: Authed) -> Result<Json<SignedTreeHead>> {
    Ok(Json(current_head(&state, authed.org.id.as_str()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

/// [`InclusionQuery`] in the OpenAPI document.
pub fn inclusion_parameters(_: &mut Schemas) -> Vec<Parameter> {
    vec![
        query_parameter(
            "index",
            Required::True,
            integer(0, u64::MAX),
            "The entry, counted from 0; below `size`.",
        ),
        query_parameter(
            "size",
            Required::True,
            integer(0, u64::MAX),
            "The tree's size: at most the number of entries in the log.",
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// [`ConsistencyQuery`] in the OpenAPI document.
pub fn consistency_parameters(_: &mut Schemas) -> Vec<Parameter> {
    vec![
        query_parameter(
            "from",
            Required::True,
            integer(0, u64::MAX),
            "The older tree's size; at most `to`.",
        ),
        query_parameter(
            "to",
            Required::True,
            integer(0, u64::MAX),
            "The newer tree's size: at most the number of entries in the log.",
        ),
    ]
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
    authed: Authed,
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
    authed: Authed,
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

/// Rows read per query while an export streams: its memory stays the same however long
/// the log grows.
pub const EXPORT_BATCH: u32 = 1_000;

/// Where an export stream is.
enum Cursor {
    Head(SignedTreeHead),
    /// The next index to read, and the signed head's size (the first index not exported).
    Entries {
        next: u64,
        end: u64,
    },
    Done,
}

/// An `audit_entries` row with its stored leaf: index, payload, leaf hash.
type ExportRow = (i64, String, Option<Vec<u8>>);

fn push_line(out: &mut Vec<u8>, line: &ExportLine) -> Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(Error::internal)?;
    out.push(b'\n');
    Ok(())
}

/// An [`ExportLine::Entry`] line around `entry_json`, an entry's JSON on one line.
fn entry_line(out: &mut Vec<u8>, entry_json: &str, leaf_hash: &str) {
    out.extend_from_slice(br#"{"type":"entry","entry":"#);
    out.extend_from_slice(entry_json.as_bytes());
    out.extend_from_slice(br#","leaf_hash":""#);
    out.extend_from_slice(leaf_hash.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// One batch of the export: the entries `next..` (at most [`EXPORT_BATCH`], none at or
/// beyond `end`) as JSON Lines, and the index after the last one read.
async fn export_batch(db: &SqlitePool, org: &str, next: u64, end: u64) -> Result<(Vec<u8>, u64)> {
    let rows: Vec<ExportRow> = sqlx::query_as(
        "SELECT e.idx, e.payload, n.hash FROM audit_entries e
         LEFT JOIN audit_nodes n ON n.org_id = e.org_id AND n.level = 0 AND n.idx = e.idx
         WHERE e.org_id = ? AND e.idx >= ? AND e.idx < ? ORDER BY e.idx LIMIT ?",
    )
    .bind(org)
    .bind(i64::try_from(next).map_err(Error::internal)?)
    .bind(i64::try_from(end).map_err(Error::internal)?)
    .bind(i64::from(EXPORT_BATCH))
    .fetch_all(db)
    .await
    .map_err(Error::internal)?;
    let mut out = Vec::with_capacity(rows.len() * 400);
    let mut after = end;
    for (idx, payload, leaf) in rows {
        let index = u64::try_from(idx).map_err(Error::internal)?;
        let leaf_hash = leaf.map(|l| hex(&l)).unwrap_or_default();
        match serde_json::from_str::<AuditEntry>(&payload) {
            // The stored text of an entry is its JSON on one line: written as it is
            // rather than written again from the parsed entry (the same line, half the
            // work).
            Ok(_) if !payload.contains(['\n', '\r']) => {
                entry_line(&mut out, &payload, &leaf_hash);
            }
            Ok(entry) => push_line(&mut out, &ExportLine::Entry { entry, leaf_hash })?,
            // A row that no longer parses is exported as it is found: the verifier
            // names it.
            Err(_) => push_line(
                &mut out,
                &ExportLine::Unreadable {
                    index,
                    payload,
                    leaf_hash,
                },
            )?,
        }
        after = index + 1;
    }
    Ok((out, after))
}

/// The export of `org`'s log as JSON Lines: `head`, then exactly the entries it covers
/// (`idx < tree_size`), each with the leaf hash the store holds for it, read in batches
/// of [`EXPORT_BATCH`] rows as the reader takes them. Entries appended meanwhile are
/// not in it (they are not in the head), so an honest export always verifies.
pub fn export_stream(
    db: SqlitePool,
    org: String,
    head: SignedTreeHead,
) -> impl futures_util::Stream<Item = Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Cursor::Head(head), move |cursor| {
        let (db, org) = (db.clone(), org.clone());
        async move {
            match cursor {
                Cursor::Done => None,
                Cursor::Head(head) => {
                    let mut out = Vec::new();
                    let end = head.tree_size;
                    let next = match push_line(&mut out, &head.export_line()) {
                        Ok(()) if end > 0 => Cursor::Entries { next: 0, end },
                        Ok(()) => Cursor::Done,
                        Err(e) => return Some((Err(e), Cursor::Done)),
                    };
                    Some((Ok(Bytes::from(out)), next))
                }
                Cursor::Entries { next, end } => match export_batch(&db, &org, next, end).await {
                    Ok((out, after)) => {
                        let more = if after < end && !out.is_empty() {
                            Cursor::Entries { next: after, end }
                        } else {
                            Cursor::Done
                        };
                        Some((Ok(Bytes::from(out)), more))
                    }
                    Err(e) => {
                        // The answer has begun: the reader sees it cut short (the
                        // verifier names the first missing entry); the cause is logged.
                        tracing::error!(error = %e, "streaming an audit export failed");
                        Some((Err(e), Cursor::Done))
                    }
                },
            }
        }
    })
}

/// `GET /api/audit/export`: recorded as an event itself (before the head is signed, so
/// the export covers its own entry), then streamed.
pub async fn export(
    State(state): State<AppState>,
    authed: Authed,
    ClientAddr(ip): ClientAddr,
) -> Result<Response> {
    record_alone(
        state.db(),
        Event::by(&authed, AuditAction::AuditExported).from(Some(ip)),
    )
    .await?;
    let org = authed.org.id.as_str().to_owned();
    let head = current_head(&state, &org).await?;
    let body = axum::body::Body::from_stream(export_stream(state.db().clone(), org, head));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"haven-audit.jsonl\""),
    );
    Ok(response)
}

/// The largest witness alarm body: two heads of a few hundred bytes each.
pub const MAX_WITNESS_ALARM_BYTES: usize = 4 * 1024;

fn invalid_report() -> Error {
    Error::bad(
        ErrorCode::InvalidBody,
        StatusCode::UNPROCESSABLE_ENTITY,
        "The report does not hold two well-formed tree heads of this organisation's log.",
    )
}

/// `POST /api/audit/witness-alarm`: a browser that had verified an older head found that
/// the log does not extend it. Both heads must be well-formed and the kept one of the
/// caller's organisation; the alarm is recorded with both sizes and whether this
/// server's key signed each (nothing else from the body is written or echoed).
pub async fn witness_alarm(
    State(state): State<AppState>,
    authed: Authed,
    ClientAddr(ip): ClientAddr,
    Body(report): Body<WitnessAlarmReport>,
) -> Result<StatusCode> {
    let org = authed.org.id.as_str();
    let (kept, newer) = (&report.kept, &report.newer);
    for head in [kept, newer] {
        parse_head(head).map_err(|_| invalid_report())?;
        Id::parse(&head.organisation).map_err(|_| invalid_report())?;
    }
    if kept.organisation != org {
        return Err(invalid_report());
    }
    let public = hex(state.audit_key().verifying_key().as_bytes());
    let describe = |head: &SignedTreeHead| {
        let whose = if head.organisation != org {
            "of another organisation"
        } else if verify_head(head, &public, org).is_ok() {
            "signed by this server"
        } else {
            "not signed by this server's key"
        };
        format!("{} entries, {whose}", head.tree_size)
    };
    let detail = format!(
        "kept head: {}; newer head: {}",
        describe(kept),
        describe(newer)
    );
    tracing::warn!(
        kept = kept.tree_size,
        newer = newer.tree_size,
        "a witness found that the audit log does not extend a head it had verified"
    );
    record_alone(
        state.db(),
        Event::by(&authed, AuditAction::WitnessAlarm)
            .detail(detail)
            .from(Some(ip)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_protocol::audit::AuditOutcome;

    /// The line written around a stored entry's text is the line serde writes.
    #[test]
    fn an_entry_line_is_the_serialised_export_line() {
        let entry = AuditEntry {
            index: 7,
            time: 1_700_000_000,
            organisation: "0123456789abcdef0123456789abcdef".into(),
            actor: None,
            action: AuditAction::RecordOpened,
            target: Some("patient:\"quoted\" \u{e9}".into()),
            patient: None,
            detail: Some("care team".into()),
            outcome: AuditOutcome::Success,
            source: Some("127.0.0.1".into()),
        };
        let payload = String::from_utf8(entry.canonical_bytes()).unwrap();
        let leaf = hex(&haven_audit_log::leaf_hash(payload.as_bytes()));
        let mut raw = Vec::new();
        entry_line(&mut raw, &payload, &leaf);
        let mut serde = Vec::new();
        push_line(
            &mut serde,
            &ExportLine::Entry {
                entry,
                leaf_hash: leaf,
            },
        )
        .unwrap();
        assert_eq!(String::from_utf8(raw), String::from_utf8(serde));
    }
}
