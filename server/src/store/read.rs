//! Read side: typed queries on the read pool, and the response objects built from them.
//! Objects whose creation is still pending (and volumes being deleted) are invisible, as in
//! heketi.

use heqet_api::{
    BrickInfo, ClusterInfoResponse, DeviceInfoResponse, GlusterFsMount, NodeInfoResponse,
    StorageSize, VolumeInfoResponse, VolumeMount, VolumeSnapshot,
};
use sqlx::types::Json;
use sqlx::{Sqlite, SqlitePool};

use super::StoreResult;
use crate::model::*;

pub(super) const NODE_COLS: &str = "id, cluster_id, zone, manage, storage, tags, state, pending_op";
pub(super) const DEVICE_COLS: &str =
    "id, node_id, name, state, total, free, used, extent_size, pv_uuid, paths, tags, pending_op";
pub(super) const VOLUME_COLS: &str =
    "id, cluster_id, name, size, durability, layout, gid, options, block, \
     blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op";
pub(super) const BRICK_COLS: &str = "id, volume_id, device_id, node_id, path, size, tp_size, \
     pool_metadata_size, thin_pool, lv, arbiter, position, pending_op";
const OPERATION_COLS: &str = "id, kind, status, created_at, payload, changes";

/// Reads of committed data, on the pool of read-only connections.
pub struct Reader {
    pool: SqlitePool,
}

/// What decides whether a new volume may go to a cluster, read in one query.
pub struct ClusterAdmission {
    pub block: bool,
    pub file: bool,
    pub volumes: i64,
    pub name_taken: bool,
    /// Nodes whose add has finished.
    pub nodes: i64,
}

pub(super) async fn volume_row<'e, E>(db: E, id: &str) -> StoreResult<Option<VolumeRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(
        sqlx::query_as(&format!("SELECT {VOLUME_COLS} FROM volumes WHERE id = ?"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Bricks whose column `col` (one of the code's own column names) equals `value`.
pub(super) async fn bricks_where<'e, E>(
    db: E,
    col: &'static str,
    value: &str,
    order: &'static str,
) -> StoreResult<Vec<BrickRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {BRICK_COLS} FROM bricks WHERE {col} = ? ORDER BY {order}"
    ))
    .bind(value)
    .fetch_all(db)
    .await?)
}

impl Reader {
    pub(super) fn new(pool: SqlitePool) -> Reader {
        Reader { pool }
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn cluster_ids(&self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM clusters ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn cluster_row(&self, id: &str) -> StoreResult<Option<ClusterRow>> {
        Ok(
            sqlx::query_as("SELECT id, block, file FROM clusters WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn cluster_info(&self, id: &str) -> StoreResult<Option<ClusterInfoResponse>> {
        let Some(c) = self.cluster_row(id).await? else {
            return Ok(None);
        };
        let nodes = sqlx::query_scalar(
            "SELECT id FROM nodes WHERE cluster_id = ? AND pending_op IS NULL ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let volumes = sqlx::query_scalar(
            "SELECT id FROM volumes WHERE cluster_id = ? AND hidden = 0 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(ClusterInfoResponse {
            id: c.id,
            nodes,
            volumes,
            block: c.block,
            file: c.file,
            blockvolumes: Vec::new(),
        }))
    }

    pub async fn node_row(&self, id: &str) -> StoreResult<Option<NodeRow>> {
        Ok(
            sqlx::query_as(&format!("SELECT {NODE_COLS} FROM nodes WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Nodes whose add has finished, of one cluster (`Some`) or of all (`None`), by id.
    pub async fn nodes(&self, cluster_id: Option<&str>) -> StoreResult<Vec<NodeRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {NODE_COLS} FROM nodes WHERE (?1 IS NULL OR cluster_id = ?1) \
             AND pending_op IS NULL ORDER BY id"
        ))
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn nodes_of_cluster(&self, cluster_id: &str) -> StoreResult<Vec<NodeRow>> {
        self.nodes(Some(cluster_id)).await
    }

    /// The nodes with these ids (one query, whatever the cluster's size).
    pub async fn nodes_by_ids(&self, ids: &[&str]) -> StoreResult<Vec<NodeRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {NODE_COLS} FROM nodes WHERE id IN (SELECT value FROM json_each(?))"
        ))
        .bind(Json(ids))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The node holding `hostname` as a manage or storage name, if any.
    pub async fn hostname_owner(&self, hostname: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT node_id FROM node_hostnames WHERE hostname = ?")
                .bind(hostname)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn device_row(&self, id: &str) -> StoreResult<Option<DeviceRow>> {
        Ok(
            sqlx::query_as(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn devices_of_node(&self, node_id: &str) -> StoreResult<Vec<DeviceRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DEVICE_COLS} FROM devices WHERE node_id = ? AND pending_op IS NULL ORDER BY id"
        ))
        .bind(node_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Devices of a node, those being added included.
    pub async fn device_count_of_node(&self, node_id: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE node_id = ?")
                .bind(node_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn volume_row(&self, id: &str) -> StoreResult<Option<VolumeRow>> {
        volume_row(&self.pool, id).await
    }

    pub async fn brick_row(&self, id: &str) -> StoreResult<Option<BrickRow>> {
        Ok(bricks_where(&self.pool, "id", id, "id").await?.pop())
    }

    pub async fn bricks_of_volume(&self, volume_id: &str) -> StoreResult<Vec<BrickRow>> {
        bricks_where(&self.pool, "volume_id", volume_id, "position").await
    }

    pub async fn bricks_of_device(&self, device_id: &str) -> StoreResult<Vec<BrickRow>> {
        bricks_where(&self.pool, "device_id", device_id, "id").await
    }

    pub async fn bricks_of_op(&self, op_id: &str) -> StoreResult<Vec<BrickRow>> {
        bricks_where(&self.pool, "pending_op", op_id, "position").await
    }

    pub async fn brick_count_of_device(&self, device_id: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM bricks WHERE device_id = ?")
                .bind(device_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn device_info_by_id(&self, id: &str) -> StoreResult<Option<DeviceInfoResponse>> {
        let Some(d) = self.device_row(id).await? else {
            return Ok(None);
        };
        if d.pending_op.is_some() && d.total == 0 {
            return Ok(None);
        }
        let bricks = self.bricks_of_device(id).await?;
        Ok(Some(device_info(d, &bricks)))
    }

    pub async fn node_info_by_id(&self, id: &str) -> StoreResult<Option<NodeInfoResponse>> {
        let Some(n) = self.node_row(id).await? else {
            return Ok(None);
        };
        if n.pending_op.is_some() {
            return Ok(None);
        }
        let mut devices = Vec::new();
        for d in self.devices_of_node(id).await? {
            let bricks = self.bricks_of_device(&d.id).await?;
            devices.push(device_info(d, &bricks));
        }
        Ok(Some(node_info(n, devices)))
    }

    /// Storage hostnames of all nodes of a cluster, in node id order: what clients mount.
    /// One aggregated row: sqlx hands rows over between threads one at a time.
    pub async fn mount_hosts(&self, cluster_id: &str) -> StoreResult<Vec<String>> {
        let hosts: Json<Vec<String>> = sqlx::query_scalar(
            "SELECT json_group_array(json_extract(storage, '$[0]')) FROM \
             (SELECT storage FROM nodes WHERE cluster_id = ? AND pending_op IS NULL \
             AND json_array_length(storage) > 0 ORDER BY id)",
        )
        .bind(cluster_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(hosts.0)
    }

    /// A visible volume; `None` for unknown ids and volumes being created or deleted.
    /// One query, one row: the volume with its bricks and its cluster's mount hosts aggregated
    /// as JSON (this is the provisioner's hot path).
    pub async fn volume_info_by_id(
        &self,
        id: &str,
    ) -> StoreResult<Option<(VolumeInfoResponse, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            v: VolumeRow,
            bricks: Json<Vec<BrickInfo>>,
            hosts: Json<Vec<String>>,
        }
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {VOLUME_COLS}, \
               (SELECT json_group_array(json_object('id', id, 'path', path, 'device', device_id, \
                  'node', node_id, 'volume', volume_id, 'size', size)) \
                FROM (SELECT * FROM bricks WHERE volume_id = v.id ORDER BY id)) AS bricks, \
               (SELECT json_group_array(json_extract(storage, '$[0]')) FROM \
                  (SELECT storage FROM nodes WHERE cluster_id = v.cluster_id AND pending_op IS NULL \
                   AND json_array_length(storage) > 0 ORDER BY id)) AS hosts \
             FROM volumes v WHERE v.id = ? AND v.hidden = 0"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            let owner = r.v.owner.clone();
            let mut info = volume_info(r.v, &[], &r.hosts.0);
            info.bricks = r.bricks.0;
            (info, owner)
        }))
    }

    pub async fn volume_ids(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM volumes WHERE hidden = 0 ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn queue_row(&self, id: &str) -> StoreResult<Option<QueueRow>> {
        Ok(sqlx::query_as(
            "SELECT id, op_id, state, location, message, owner FROM queue WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn operation_rows(&self) -> StoreResult<Vec<OperationRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OPERATION_COLS} FROM operations ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn operation_row(&self, id: &str) -> StoreResult<Option<OperationRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OPERATION_COLS} FROM operations WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

pub fn brick_info(b: &BrickRow) -> BrickInfo {
    BrickInfo {
        id: b.id.clone(),
        path: b.path.clone(),
        device: b.device_id.clone(),
        node: b.node_id.clone(),
        volume: b.volume_id.clone(),
        size: b.size as u64,
    }
}

fn device_info(d: DeviceRow, bricks: &[BrickRow]) -> DeviceInfoResponse {
    let mut bricks: Vec<BrickInfo> = bricks.iter().map(brick_info).collect();
    bricks.sort_by(|a, b| a.id.cmp(&b.id));
    DeviceInfoResponse {
        name: d.name,
        tags: d.tags.0,
        storage: StorageSize {
            total: d.total as u64,
            free: d.free as u64,
            used: d.used as u64,
        },
        id: d.id,
        paths: d.paths.0,
        pv_uuid: d.pv_uuid,
        state: d.state.as_str().to_string(),
        bricks,
    }
}

fn node_info(n: NodeRow, devices: Vec<DeviceInfoResponse>) -> NodeInfoResponse {
    NodeInfoResponse {
        zone: n.zone,
        hostnames: heqet_api::HostAddresses {
            manage: n.manage.0,
            storage: n.storage.0,
        },
        cluster: n.cluster_id,
        tags: n.tags.0,
        id: n.id,
        state: n.state.as_str().to_string(),
        devices,
    }
}

pub fn mount_info(hosts: &[String], name: &str) -> VolumeMount {
    let mut options = std::collections::BTreeMap::new();
    options.insert(
        "backup-volfile-servers".to_string(),
        hosts.get(1..).unwrap_or_default().join(","),
    );
    VolumeMount {
        glusterfs: GlusterFsMount {
            hosts: hosts.to_vec(),
            device: format!(
                "{}:{}",
                hosts.first().map(String::as_str).unwrap_or(""),
                name
            ),
            options,
        },
    }
}

pub fn volume_info(v: VolumeRow, bricks: &[BrickRow], hosts: &[String]) -> VolumeInfoResponse {
    let mut bricks: Vec<BrickInfo> = bricks.iter().map(brick_info).collect();
    bricks.sort_by(|a, b| a.id.cmp(&b.id));
    let mount = mount_info(hosts, &v.name);
    VolumeInfoResponse {
        size: v.size,
        name: v.name,
        durability: v.durability.0,
        gid: v.gid,
        glustervolumeoptions: v.options.0,
        block: v.block,
        snapshot: VolumeSnapshot {
            enable: v.snapshot_enable,
            factor: v.snapshot_factor as f32,
        },
        id: v.id,
        cluster: v.cluster_id,
        mount,
        blockinfo: v.blockinfo.0,
        bricks,
    }
}
