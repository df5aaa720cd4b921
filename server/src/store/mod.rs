//! The SQLite store: one file in WAL mode, a pool of readers and one writer. This module is
//! the only part of the server that speaks SQL.
//!
//! - [`Reader`] (`store.read()`): typed queries on the read pool; what they see is committed.
//! - [`Writer`] (`store.writer().await`): the single write connection and the placement view
//!   of the devices, handed out together. Writes happen in a [`Tx`], whose methods record
//!   what they do to the placement view; [`Tx::commit`] applies that after the commit, so the
//!   view is kept true to the database in one place and never by callers.
//!
//! Free space is still guarded by the database itself: reservations are conditional updates
//! (`free > needed`) inside the transaction that records the operation.

mod admin;
mod dump;
mod import;
mod placement;
mod read;
mod topology_json;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;
use tokio::sync::{Mutex, MutexGuard};

pub use admin::{DeviceMetrics, MetricsFigures, NodeLabels, Tagged};
pub use import::{ImportRows, RowCounts};
pub use placement::ClusterDevices;
pub use read::{brick_info, mount_info, volume_info, ClusterAdmission, Reader};
pub use topology_json::{render as render_topology, Snapshot as TopologySnapshot};
pub use write::{DeviceFigures, NewNode, Tx};

use placement::DeviceCache;

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

/// What the writer mutex guards: the connection and the view derived from its data.
struct WriteSide {
    conn: SqliteConnection,
    devices: DeviceCache,
}

pub struct Store {
    read: Reader,
    writer: Mutex<WriteSide>,
    path: std::path::PathBuf,
}

/// The single writer, held for a transaction and the placement decisions made under it.
pub struct Writer<'a> {
    side: MutexGuard<'a, WriteSide>,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts.clone().read_only(true))
            .await?;
        Ok(Store {
            read: Reader::new(pool),
            writer: Mutex::new(WriteSide {
                conn,
                devices: DeviceCache::default(),
            }),
            path: path.to_path_buf(),
        })
    }

    /// Typed reads of committed data.
    pub fn read(&self) -> &Reader {
        &self.read
    }

    /// The single writer. Hold it for the whole transaction and the placement it is based on.
    pub async fn writer(&self) -> Writer<'_> {
        Writer {
            side: self.writer.lock().await,
        }
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
                .execute(&mut w.side.conn)
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

impl Writer<'_> {
    /// Start a write transaction. Dropped without [`Tx::commit`], it rolls back and leaves
    /// the placement view as it was.
    pub async fn begin(&mut self) -> StoreResult<Tx<'_>> {
        let side = &mut *self.side;
        Tx::begin(&mut side.conn, &mut side.devices).await
    }

    /// The placement view of a cluster's devices (loaded on first use). `down` holds node
    /// ids the health monitor found unreachable; their devices are offered as offline.
    pub async fn placement(
        &mut self,
        cluster_id: &str,
        down: &std::collections::HashSet<String>,
    ) -> StoreResult<&ClusterDevices> {
        let side = &mut *self.side;
        side.devices.cluster(&mut side.conn, cluster_id, down).await
    }

    /// Forget the placement view (node health changed; nothing in the database did).
    pub fn forget_placement(&mut self) {
        self.side.devices.invalidate();
    }
}

fn tempfile_dir(db: &Path) -> std::path::PathBuf {
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests;
