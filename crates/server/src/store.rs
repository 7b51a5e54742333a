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
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
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
