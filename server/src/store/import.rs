//! Filling a store from another system's database (`heqet db import`): the statements that
//! write whole rows as they are (ids, states, figures and journal entries kept), the check
//! that the store is empty, and the wipe that `--force` does inside the same transaction.

use std::path::Path;

use sqlx::Connection;

use super::{Store, StoreError, StoreResult, Tx};
use crate::model::*;

/// Everything a store holds, as rows.
#[derive(Debug, Default, Clone)]
pub struct ImportRows {
    pub clusters: Vec<ClusterRow>,
    pub nodes: Vec<NodeRow>,
    pub devices: Vec<DeviceRow>,
    pub volumes: Vec<VolumeRow>,
    pub bricks: Vec<BrickRow>,
    pub operations: Vec<OperationRow>,
}

/// Rows per table, for the emptiness check and the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    pub clusters: i64,
    pub nodes: i64,
    pub devices: i64,
    pub volumes: i64,
    pub bricks: i64,
    pub operations: i64,
    pub queue: i64,
}

impl RowCounts {
    pub fn is_empty(&self) -> bool {
        *self == RowCounts::default()
    }
}

/// Tables in an order that deletes children before parents.
const TABLES: [&str; 9] = [
    "queue",
    "operations",
    "bricks",
    "volumes",
    "devices",
    "node_hostnames",
    "nodes",
    "clusters",
    "attributes",
];

/// SQLite allows 32766 bound values per statement; bricks have 13 columns.
const BRICKS_PER_STATEMENT: usize = 1000;

impl Tx<'_> {
    pub async fn row_counts(&mut self) -> StoreResult<RowCounts> {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM clusters), (SELECT COUNT(*) FROM nodes), \
             (SELECT COUNT(*) FROM devices), (SELECT COUNT(*) FROM volumes), \
             (SELECT COUNT(*) FROM bricks), (SELECT COUNT(*) FROM operations), \
             (SELECT COUNT(*) FROM queue)",
        )
        .fetch_one(self.conn())
        .await?;
        Ok(RowCounts {
            clusters: row.0,
            nodes: row.1,
            devices: row.2,
            volumes: row.3,
            bricks: row.4,
            operations: row.5,
            queue: row.6,
        })
    }

    /// Delete every row of every table (the schema stays).
    pub async fn wipe(&mut self) -> StoreResult<()> {
        for t in TABLES {
            self.run(sqlx::query(&format!("DELETE FROM {t}"))).await?;
        }
        self.topology_changed();
        Ok(())
    }

    /// Insert all rows as they are: nothing is reserved (the devices' figures already count
    /// every brick) and journal entries keep their status and time.
    pub async fn import_rows(&mut self, rows: &ImportRows) -> StoreResult<()> {
        let now = now_secs();
        for c in &rows.clusters {
            let q = sqlx::query(
                "INSERT INTO clusters (id, block, file, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(&c.id)
            .bind(c.block)
            .bind(c.file)
            .bind(now);
            self.run(q).await?;
        }
        for n in &rows.nodes {
            self.import_node(n).await?;
        }
        for d in &rows.devices {
            let q = sqlx::query(
                "INSERT INTO devices (id, node_id, name, state, total, free, used, extent_size, \
                 pv_uuid, paths, tags, pending_op) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&d.id)
            .bind(&d.node_id)
            .bind(&d.name)
            .bind(d.state)
            .bind(d.total)
            .bind(d.free)
            .bind(d.used)
            .bind(d.extent_size)
            .bind(&d.pv_uuid)
            .bind(&d.paths)
            .bind(&d.tags)
            .bind(&d.pending_op);
            self.run(q).await?;
        }
        for v in &rows.volumes {
            self.insert_volume(v).await?;
        }
        for chunk in rows.bricks.chunks(BRICKS_PER_STATEMENT) {
            self.add_bricks(chunk, false).await?;
        }
        for o in &rows.operations {
            let q = sqlx::query(
                "INSERT INTO operations (id, kind, status, created_at, payload, changes) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&o.id)
            .bind(&o.kind)
            .bind(o.status)
            .bind(o.created_at)
            .bind(&o.payload)
            .bind(&o.changes);
            self.run(q).await?;
        }
        self.topology_changed();
        Ok(())
    }

    async fn import_node(&mut self, n: &NodeRow) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO nodes (id, cluster_id, zone, manage, storage, tags, state, pending_op) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&n.id)
        .bind(&n.cluster_id)
        .bind(n.zone)
        .bind(&n.manage)
        .bind(&n.storage)
        .bind(&n.tags)
        .bind(n.state)
        .bind(&n.pending_op);
        self.run(q).await?;
        let mut hosts: Vec<&String> = n.manage.iter().chain(n.storage.iter()).collect();
        hosts.sort();
        hosts.dedup();
        for h in hosts {
            let q = sqlx::query("INSERT INTO node_hostnames (hostname, node_id) VALUES (?, ?)")
                .bind(h)
                .bind(&n.id);
            self.run(q).await.map_err(|e| match e {
                StoreError::Db(e) => {
                    StoreError::Conflict(format!("hostname {h} of node {} is taken: {e}", n.id))
                }
                other => other,
            })?;
        }
        Ok(())
    }
}

impl Store {
    /// Close every connection and wait for it, so the files are settled when this returns
    /// (a command that is about to exit or to remove them).
    pub async fn shut(self) -> StoreResult<()> {
        self.read.close().await;
        self.writer.into_inner().conn.close().await?;
        Ok(())
    }

    /// A consistent copy of the whole database at `dest` (which must not exist).
    pub async fn copy_to(&self, dest: &Path) -> StoreResult<()> {
        let mut w = self.writer().await;
        sqlx::query("VACUUM INTO ?")
            .bind(dest.to_string_lossy().to_string())
            .execute(&mut w.side.conn)
            .await?;
        Ok(())
    }
}
