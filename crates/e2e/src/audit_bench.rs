//! The audit log's figures for `cargo xtask bench`: appends per second on one core with a
//! durable commit per batch, proof time and size for a log of 1,000,000 entries, beside
//! the machine's raw SHA-256 throughput measured in the same run; and the export of the
//! whole log streamed by the server's own stream function, with the process's peak
//! memory while it runs, beside a plain SELECT of the same rows.

use std::time::{Duration, Instant};

use crate::Result;
use haven_server::audit::{Event, record_many};

pub const ENTRIES: u64 = 1_000_000;

/// `HAVEN_BENCH_ENTRIES` shortens a run while tuning; recorded figures use [`ENTRIES`].
pub fn entries() -> u64 {
    std::env::var("HAVEN_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &u64| *n >= 200_000 && n.is_multiple_of(BATCH))
        .unwrap_or(ENTRIES)
}
pub const BATCH: u64 = 1_000;

pub struct Figures {
    pub entries: u64,
    /// One event per durable transaction, as a single action appends it.
    pub single_per_sec: f64,
    pub sha256_per_sec: f64,
    pub appends_per_sec: f64,
    pub first_100k_per_sec: f64,
    pub inclusion_us: f64,
    pub inclusion_hashes: usize,
    pub verify_us: f64,
    pub consistency_us: f64,
    pub consistency_hashes: usize,
    pub db_bytes: u64,
    pub export: Export,
    /// The 1-minute load average when the run began and when it ended
    /// (`/proc/loadavg`): on a shared machine, what else was running.
    pub load_before: String,
    pub load_after: String,
}

/// The streamed export of the whole log.
pub struct Export {
    pub lines: u64,
    pub bytes: u64,
    pub secs: f64,
    /// Resident memory before the export started, and its highest value while the
    /// export ran (sampled at every chunk, and the kernel's high-water mark).
    pub rss_before: u64,
    pub rss_peak: u64,
    /// Reference: the same rows (index, payload, leaf) read with a plain streaming SELECT.
    pub select_secs: f64,
    pub select_bytes: u64,
    /// Reference: the same export collected in memory, as the server built it before.
    pub collected_peak: u64,
}

/// Small-input SHA-256 throughput: the size of a typical audit entry.
fn sha256_rate() -> f64 {
    let payload = [0x5au8; 220];
    let start = Instant::now();
    let mut n = 0u64;
    let mut acc = 0u8;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            acc ^= haven_audit_log::leaf_hash(&payload)[0];
        }
        n += 1000;
    }
    std::hint::black_box(acc);
    n as f64 / start.elapsed().as_secs_f64()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The 1-minute load average.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// A `/proc/self/status` field in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(field)?.strip_prefix(':')?;
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resets the kernel's high-water mark of resident memory to the current resident size
/// (Linux `clear_refs` 5); where that is refused, the samples alone count.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Streams the whole export through the server's own stream function, as
/// `GET /api/audit/export` sends it, and measures time and peak memory; then the two
/// references on the same log.
async fn export(db: &haven_server::store::Pool, org: &str, size: u64) -> Result<Export> {
    use futures_util::StreamExt;

    let key = haven_server::audit::load_or_create_key(tempfile::tempdir().map_err(err)?.path())
        .map_err(err)?;
    let head = haven_audit_log::TreeHead {
        organisation: org.to_owned(),
        size,
        timestamp: 0,
        root: haven_server::audit::root(db, org, size)
            .await
            .map_err(err)?,
    }
    .sign(&key);

    // Alternately, twice each (the first of each pays for a cold page cache; the better
    // of two is reported): the reference, the same rows with a plain streaming SELECT,
    // and the export, streamed.
    let (mut select_secs, mut secs) = (f64::INFINITY, f64::INFINITY);
    let (mut select_bytes, mut lines, mut bytes) = (0u64, 0u64, 0u64);
    let rss_before = status_bytes("VmRSS");
    let mut rss_peak = rss_before;
    for _ in 0..2 {
        let start = Instant::now();
        let mut rows = sqlx::query_as::<_, (i64, String, Option<Vec<u8>>)>(
            "SELECT e.idx, e.payload, n.hash FROM audit_entries e
             LEFT JOIN audit_nodes n ON n.org_id = e.org_id AND n.level = 0 AND n.idx = e.idx
             WHERE e.org_id = ? AND e.idx < ? ORDER BY e.idx",
        )
        .bind(org)
        .bind(i64::try_from(size).map_err(err)?)
        .fetch(db);
        select_bytes = 0;
        while let Some(row) = rows.next().await {
            let (_, payload, leaf) = row.map_err(err)?;
            select_bytes += (payload.len() + leaf.map_or(0, |l| l.len())) as u64;
        }
        drop(rows);
        select_secs = select_secs.min(start.elapsed().as_secs_f64());

        reset_peak();
        let start = Instant::now();
        let mut stream = Box::pin(haven_server::audit::api::export_stream(
            db.clone(),
            org.to_owned(),
            head.clone(),
        ));
        (lines, bytes) = (0, 0);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(err)?;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            bytes += chunk.len() as u64;
            rss_peak = rss_peak.max(status_bytes("VmRSS"));
        }
        drop(stream);
        secs = secs.min(start.elapsed().as_secs_f64());
        rss_peak = rss_peak.max(status_bytes("VmHWM"));
        if lines != size + 1 {
            return Err(format!("the export has {lines} lines for {size} entries"));
        }
    }

    // Reference: the same export held in memory whole.
    reset_peak();
    let collected_before = status_bytes("VmRSS");
    let mut stream = Box::pin(haven_server::audit::api::export_stream(
        db.clone(),
        org.to_owned(),
        head,
    ));
    let mut whole: Vec<u8> = Vec::new();
    let mut collected_peak = collected_before;
    while let Some(chunk) = stream.next().await {
        whole.extend_from_slice(&chunk.map_err(err)?);
        collected_peak = collected_peak.max(status_bytes("VmRSS"));
    }
    collected_peak = collected_peak.max(status_bytes("VmHWM"));
    std::hint::black_box(&whole);
    drop(whole);
    Ok(Export {
        lines,
        bytes,
        secs,
        rss_before,
        rss_peak,
        select_secs,
        select_bytes,
        collected_peak: collected_peak.saturating_sub(collected_before),
    })
}

pub async fn run() -> Result<Figures> {
    let load_before = load();
    let total_entries = entries();
    let sha256_per_sec = sha256_rate();
    let dir = tempfile::tempdir().map_err(err)?;
    let db = haven_server::store::open(dir.path()).await.map_err(err)?;
    let org = haven_server::tenancy::ensure_default(&db, "Bench", 900)
        .await
        .map_err(err)?;
    let start = Instant::now();
    let mut first_100k = Duration::ZERO;
    for batch in 0..total_entries / BATCH {
        let mut tx = haven_server::store::begin_write(&db).await.map_err(err)?;
        let events = (0..BATCH)
            .map(|i| {
                let n = batch * BATCH + i;
                Event::new(&org, haven_protocol::audit::AuditAction::RecordOpened)
                    .target(format!("patient:{n:032x}"))
                    .patient(format!("{n:032x}"))
                    .detail("care team")
            })
            .collect();
        record_many(&mut tx, events).await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        if (batch + 1) * BATCH == 100_000 {
            first_100k = start.elapsed();
        }
    }
    let total = start.elapsed();
    // The path of one action: one event, one durable commit.
    const SINGLES: u64 = 2_000;
    let singles_start = Instant::now();
    for n in 0..SINGLES {
        let mut tx = haven_server::store::begin_write(&db).await.map_err(err)?;
        let event = Event::new(&org, haven_protocol::audit::AuditAction::SignIn)
            .target(format!("user:{n:032x}"));
        haven_server::audit::record(&mut tx, event)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
    }
    let single_per_sec = SINGLES as f64 / singles_start.elapsed().as_secs_f64();
    let org = org.to_string();
    let mut inclusion = Duration::ZERO;
    let mut verify = Duration::ZERO;
    let mut inclusion_hashes = 0;
    let root = haven_server::audit::root(&db, &org, total_entries)
        .await
        .map_err(err)?;
    let samples = 1000u64;
    for k in 0..samples {
        let index = (k * 7919 * 104_729) % total_entries;
        let t = Instant::now();
        let proof = haven_server::audit::inclusion_proof(&db, &org, index, total_entries)
            .await
            .map_err(err)?;
        inclusion += t.elapsed();
        inclusion_hashes = proof.len();
        let leaf = haven_server::audit::leaf(&db, &org, index)
            .await
            .map_err(err)?;
        let t = Instant::now();
        haven_audit_log::verify_inclusion(&leaf, index, total_entries, &proof, &root)
            .map_err(err)?;
        verify += t.elapsed();
    }
    let t = Instant::now();
    let consistency =
        haven_server::audit::consistency_proof(&db, &org, total_entries / 2 + 3, total_entries)
            .await
            .map_err(err)?;
    let consistency_us = t.elapsed().as_secs_f64() * 1e6;
    // The head of the first `total_entries` (the single appends came after it).
    let export = export(&db, &org, total_entries).await?;
    let db_bytes = std::fs::read_dir(dir.path())
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    Ok(Figures {
        entries: total_entries,
        single_per_sec,
        sha256_per_sec,
        appends_per_sec: total_entries as f64 / total.as_secs_f64(),
        first_100k_per_sec: 100_000.0 / first_100k.as_secs_f64(),
        inclusion_us: inclusion.as_secs_f64() * 1e6 / samples as f64,
        inclusion_hashes,
        verify_us: verify.as_secs_f64() * 1e6 / samples as f64,
        consistency_us,
        consistency_hashes: consistency.len(),
        db_bytes,
        export,
        load_before,
        load_after: load(),
    })
}
