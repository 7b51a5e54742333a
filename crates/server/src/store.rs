//! The embedded store: one SQLite database in the data directory, migrated on open.
//!
//! Writes are durable at commit (`synchronous = FULL`): an audit entry or a message that
//! was acknowledged must survive a power cut. Later issues add tables in new migrations.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub const DB_FILE: &str = "haven.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

pub async fn open(data_dir: &Path) -> Result<SqlitePool, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let options = SqliteConnectOptions::new()
        .filename(data_dir.join(DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // `checkpoints` copies the log into the database in the background; a commit
        // does it itself only if the log has grown past this many pages (32 MB).
        .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
        // 16 MB of page cache a connection (SQLite's default is 2 MB): a batch of
        // messages with their audit entries dirties more than 2 MB of pages, which
        // would otherwise spill into the log before the commit.
        .pragma("cache_size", "-16384");
    // One connection is the delivery writer's own.
    let pool = SqlitePoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .map_err(StoreError::Open)?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(StoreError::Migrate)?;
    Ok(pool)
}

pub type Pool = SqlitePool;

/// Past this many pages in the write-ahead log, a commit checkpoints on its own.
const AUTOCHECKPOINT_PAGES: &str = "8192";
/// How often `checkpoints` runs.
pub const CHECKPOINT_PERIOD: Duration = Duration::from_secs(1);

/// Copies committed pages from the write-ahead log into the database file, off the
/// writers' path. Left to SQLite, the commit that crosses its threshold (1,000 pages)
/// does it, and the messages in that commit wait for it: under load that is every few
/// batches. A passive checkpoint takes no lock that writers or readers wait for.
pub async fn checkpoints(pool: SqlitePool) {
    let mut ticks = tokio::time::interval(CHECKPOINT_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
        }
    }
}

/// A transaction that holds the write lock from its first statement (`BEGIN IMMEDIATE`):
/// a read-then-write transaction can then never fail because another writer got in
/// between, and waits for its turn instead.
pub async fn begin_write(
    pool: &SqlitePool,
) -> crate::error::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(crate::error::Error::internal)
}

/// Splits `rows` for multi-row statements (`VALUES (…), (…)`, `IN (?, ?)`) into chunks
/// whose lengths are powers of two no larger than `max`: full chunks of the largest such
/// power, then the rest by its binary digits. A statement's text depends only on its
/// chunk's length, so a handful of shapes stay prepared in the connection's statement
/// cache instead of SQLite compiling a new statement of thousands of placeholders for
/// every batch.
pub fn chunks<T>(rows: &[T], max: usize) -> Vec<&[T]> {
    let largest = if max == 0 { 1 } else { 1usize << max.ilog2() };
    let mut out = Vec::new();
    let mut rest = rows;
    let mut size = largest;
    while !rest.is_empty() {
        while size > rest.len() {
            size /= 2;
        }
        let (chunk, after) = rest.split_at(size);
        out.push(chunk);
        rest = after;
    }
    out
}

/// How many sessions of the account with `email` are still open (for operators and tests).
pub async fn count_open_sessions(pool: &SqlitePool, email: &str) -> Result<(i64,), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.email = ? AND s.ended_at IS NULL",
    )
    .bind(email)
    .fetch_one(pool)
    .await
}

/// Runs one fixed statement: for operators' maintenance and for tests that play the
/// part of someone with access to the database file.
pub async fn execute(pool: &SqlitePool, sql: &'static str) -> Result<u64, sqlx::Error> {
    sqlx::query(sql)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

/// A cheap round trip that fails when the store is unusable.
pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_have_a_few_fixed_lengths_and_keep_every_row_in_order() {
        let rows: Vec<usize> = (0..1000).collect();
        let split = chunks(&rows, 300);
        let lengths: Vec<usize> = split.iter().map(|c| c.len()).collect();
        assert_eq!(lengths, [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(split.concat(), rows);
        assert_eq!(chunks(&rows[..1], 256).concat(), [0]);
        assert!(chunks::<usize>(&[], 256).is_empty());
        assert_eq!(chunks(&rows[..3], 0).len(), 3);
    }
}
