//! Statements of the synchronous routes: clusters, tags, and the figures `/metrics` shows.

use heqet_api::Tags;
use sqlx::types::Json;

use super::read::Reader;
use super::write::Tx;
use super::StoreResult;
use crate::model::{now_secs, OperationRow};

/// What carries tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    Node,
    Device,
}

/// A node, as `/metrics` labels it.
#[derive(sqlx::FromRow)]
pub struct NodeLabels {
    pub id: String,
    pub cluster_id: String,
    pub manage: Json<Vec<String>>,
    pub storage: Json<Vec<String>>,
}

/// A device, as `/metrics` counts it.
#[derive(sqlx::FromRow)]
pub struct DeviceMetrics {
    pub id: String,
    pub node_id: String,
    pub name: String,
    pub pv_uuid: String,
    pub total: i64,
    pub free: i64,
    pub used: i64,
    pub bricks: i64,
}

/// Everything `/metrics` renders, from a few aggregate queries.
pub struct MetricsFigures {
    pub clusters: Vec<String>,
    /// Visible volumes per cluster id.
    pub volumes: Vec<(String, i64)>,
    pub nodes: Vec<NodeLabels>,
    pub devices: Vec<DeviceMetrics>,
    pub operations: Vec<OperationRow>,
}

impl Reader {
    pub async fn metrics_figures(&self) -> StoreResult<MetricsFigures> {
        let pool = self.pool();
        Ok(MetricsFigures {
            clusters: self.cluster_ids().await?,
            volumes: sqlx::query_as(
                "SELECT cluster_id, COUNT(*) FROM volumes WHERE hidden = 0 GROUP BY cluster_id",
            )
            .fetch_all(pool)
            .await?,
            nodes: sqlx::query_as(
                "SELECT id, cluster_id, manage, storage FROM nodes WHERE pending_op IS NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await?,
            devices: sqlx::query_as(
                "SELECT d.id, d.node_id, d.name, d.pv_uuid, d.total, d.free, d.used, \
                 (SELECT COUNT(*) FROM bricks b WHERE b.device_id = d.id) AS bricks \
                 FROM devices d WHERE d.pending_op IS NULL ORDER BY d.id",
            )
            .fetch_all(pool)
            .await?,
            operations: self.operation_rows().await?,
        })
    }
}

impl Tx<'_> {
    pub async fn insert_cluster(&mut self, id: &str, block: bool, file: bool) -> StoreResult<()> {
        let q =
            sqlx::query("INSERT INTO clusters (id, block, file, created_at) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(block)
                .bind(file)
                .bind(now_secs());
        self.run(q).await.map(drop)
    }

    /// Nodes plus volumes of a cluster; `None` when there is no such cluster.
    pub async fn cluster_contents(&mut self, id: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM nodes WHERE cluster_id = c.id) + \
                    (SELECT COUNT(*) FROM volumes WHERE cluster_id = c.id) \
             FROM clusters c WHERE c.id = ?",
        )
        .bind(id)
        .fetch_optional(self.conn())
        .await?)
    }

    pub async fn delete_cluster(&mut self, id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM clusters WHERE id = ?").bind(id);
        self.run(q).await.map(drop)
    }

    /// False when there is no such cluster.
    pub async fn set_cluster_flags(
        &mut self,
        id: &str,
        block: bool,
        file: bool,
    ) -> StoreResult<bool> {
        let q = sqlx::query("UPDATE clusters SET block = ?, file = ? WHERE id = ?")
            .bind(block)
            .bind(file)
            .bind(id);
        Ok(self.run(q).await? == 1)
    }

    /// The tags of a node or device whose add has finished.
    pub async fn tags_of(&mut self, what: Tagged, id: &str) -> StoreResult<Option<Tags>> {
        let sql = match what {
            Tagged::Node => "SELECT tags FROM nodes WHERE id = ? AND pending_op IS NULL",
            Tagged::Device => "SELECT tags FROM devices WHERE id = ? AND pending_op IS NULL",
        };
        let tags: Option<Json<Tags>> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        Ok(tags.map(|t| t.0))
    }

    /// Tags steer placement: the view is reloaded.
    pub async fn set_tags(&mut self, what: Tagged, id: &str, tags: &Tags) -> StoreResult<()> {
        let sql = match what {
            Tagged::Node => "UPDATE nodes SET tags = ? WHERE id = ?",
            Tagged::Device => "UPDATE devices SET tags = ? WHERE id = ?",
        };
        let q = sqlx::query(sql).bind(Json(tags)).bind(id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }
}
