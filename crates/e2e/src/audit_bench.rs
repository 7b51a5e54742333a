//! The audit log's figures for `cargo xtask bench`: appends per second on one core with a
//! durable commit per batch, and proof time and size for a log of 1,000,000 entries,
//! beside the machine's raw SHA-256 throughput measured in the same run.

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

pub async fn run() -> Result<Figures> {
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
    })
}
