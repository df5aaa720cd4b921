//! The SQLite store: one file in WAL mode, a pool of readers and one writer.
//!
//! All writes go through [`Store::writer`], which hands out the single write connection
//! together with the placement cache, so the cache always matches the committed data. Free
//! space is still guarded by the database itself: reservations are conditional updates
//! (`free > needed`) inside the transaction that records the operation.

mod read;
pub mod resources;
mod topology_json;
pub mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Connection;
use tokio::sync::{Mutex, MutexGuard};

pub use read::*;
pub use topology_json::{render as render_topology, snapshot as topology_snapshot};

use crate::placement_cache::DeviceCache;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database holds invalid data: {0}")]
    Corrupt(String),
    /// A conditional update found the data changed under it.
    #[error("{0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub struct Writer {
    pub conn: SqliteConnection,
    pub devices: DeviceCache,
}

pub struct Store {
    pub read: SqlitePool,
    writer: Mutex<Writer>,
    path: std::path::PathBuf,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub async fn open(path: &Path) -> StoreResult<Store> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a crash of the process (kill -9); only an OS crash
            // or power cut can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-8000");
        let mut conn = SqliteConnection::connect_with(&opts).await?;
        MIGRATOR.run(&mut conn).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts.clone().read_only(true))
            .await?;
        Ok(Store {
            read,
            writer: Mutex::new(Writer {
                conn,
                devices: DeviceCache::default(),
            }),
            path: path.to_path_buf(),
        })
    }

    /// The single writer. Hold it for the whole transaction and the cache update after it.
    pub async fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent copy of the database file (for `GET /backup/db`).
    pub async fn backup_bytes(&self) -> StoreResult<Vec<u8>> {
        let dir = tempfile_dir(&self.path);
        let tmp = dir.join(format!(".heqet-backup-{}.db", heqet_api::id::new_id()));
        let tmp_str = tmp.to_string_lossy().to_string();
        {
            let mut w = self.writer().await;
            sqlx::query("VACUUM INTO ?")
                .bind(&tmp_str)
                .execute(&mut w.conn)
                .await?;
        }
        let bytes = tokio::fs::read(&tmp)
            .await
            .map_err(|e| StoreError::Corrupt(format!("reading backup copy: {e}")));
        let _ = tokio::fs::remove_file(&tmp).await;
        bytes
    }

    pub async fn close(&self) {
        self.read.close().await;
    }
}

fn tempfile_dir(db: &Path) -> std::path::PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}
