//! Read side: queries that build the API's response objects. Objects whose creation is still
//! pending (and volumes being deleted) are invisible, as in heketi.

use heqet_api::{
    BrickInfo, ClusterInfoResponse, DeviceInfoResponse, GlusterFsMount, NodeInfoResponse,
    StorageSize, VolumeInfoResponse, VolumeMount, VolumeSnapshot,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;
use sqlx::{Sqlite, SqlitePool};

use super::StoreResult;
use crate::model::*;

const NODE_COLS: &str = "id, cluster_id, zone, manage, storage, tags, state, pending_op";
const DEVICE_COLS: &str =
    "id, node_id, name, state, total, free, used, extent_size, pv_uuid, paths, tags, pending_op";
const VOLUME_COLS: &str = "id, cluster_id, name, size, durability, layout, gid, options, block, \
     blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op";
const BRICK_COLS: &str = "id, volume_id, device_id, node_id, path, size, tp_size, \
     pool_metadata_size, thin_pool, lv, arbiter, position, pending_op";

pub async fn cluster_ids(pool: &SqlitePool) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM clusters ORDER BY id")
        .fetch_all(pool)
        .await?)
}

pub async fn cluster_row<'e, E>(db: E, id: &str) -> StoreResult<Option<ClusterRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(
        sqlx::query_as("SELECT id, block, file FROM clusters WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn cluster_info(pool: &SqlitePool, id: &str) -> StoreResult<Option<ClusterInfoResponse>> {
    let Some(c) = cluster_row(pool, id).await? else {
        return Ok(None);
    };
    let nodes = sqlx::query_scalar(
        "SELECT id FROM nodes WHERE cluster_id = ? AND pending_op IS NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let volumes = sqlx::query_scalar(
        "SELECT id FROM volumes WHERE cluster_id = ? AND hidden = 0 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
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

pub async fn node_row<'e, E>(db: E, id: &str) -> StoreResult<Option<NodeRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(
        sqlx::query_as(&format!("SELECT {NODE_COLS} FROM nodes WHERE id = ?"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn nodes_of_cluster<'e, E>(db: E, cluster_id: &str) -> StoreResult<Vec<NodeRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {NODE_COLS} FROM nodes WHERE cluster_id = ? AND pending_op IS NULL ORDER BY id"
    ))
    .bind(cluster_id)
    .fetch_all(db)
    .await?)
}

pub async fn device_row<'e, E>(db: E, id: &str) -> StoreResult<Option<DeviceRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(
        sqlx::query_as(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn devices_of_node<'e, E>(db: E, node_id: &str) -> StoreResult<Vec<DeviceRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {DEVICE_COLS} FROM devices WHERE node_id = ? AND pending_op IS NULL ORDER BY id"
    ))
    .bind(node_id)
    .fetch_all(db)
    .await?)
}

pub async fn volume_row<'e, E>(db: E, id: &str) -> StoreResult<Option<VolumeRow>>
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

pub async fn bricks_of_volume<'e, E>(db: E, volume_id: &str) -> StoreResult<Vec<BrickRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {BRICK_COLS} FROM bricks WHERE volume_id = ? ORDER BY position"
    ))
    .bind(volume_id)
    .fetch_all(db)
    .await?)
}

pub async fn bricks_of_device<'e, E>(db: E, device_id: &str) -> StoreResult<Vec<BrickRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {BRICK_COLS} FROM bricks WHERE device_id = ? ORDER BY id"
    ))
    .bind(device_id)
    .fetch_all(db)
    .await?)
}

pub async fn brick_rows_by_op(
    conn: &mut SqliteConnection,
    op_id: &str,
) -> StoreResult<Vec<BrickRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {BRICK_COLS} FROM bricks WHERE pending_op = ? ORDER BY position"
    ))
    .bind(op_id)
    .fetch_all(conn)
    .await?)
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
        state: d.state,
        bricks,
    }
}

pub async fn device_info_by_id(
    pool: &SqlitePool,
    id: &str,
) -> StoreResult<Option<DeviceInfoResponse>> {
    let Some(d) = device_row(pool, id).await? else {
        return Ok(None);
    };
    if d.pending_op.is_some() && d.total == 0 {
        return Ok(None);
    }
    let bricks = bricks_of_device(pool, id).await?;
    Ok(Some(device_info(d, &bricks)))
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
        state: n.state,
        devices,
    }
}

pub async fn node_info_by_id(pool: &SqlitePool, id: &str) -> StoreResult<Option<NodeInfoResponse>> {
    let Some(n) = node_row(pool, id).await? else {
        return Ok(None);
    };
    if n.pending_op.is_some() {
        return Ok(None);
    }
    let mut devices = Vec::new();
    for d in devices_of_node(pool, id).await? {
        let bricks = bricks_of_device(pool, &d.id).await?;
        devices.push(device_info(d, &bricks));
    }
    Ok(Some(node_info(n, devices)))
}

/// Storage hostnames of all nodes of a cluster, in node id order: what clients mount.
/// One aggregated row: sqlx hands rows over between threads one at a time.
pub async fn mount_hosts(pool: &SqlitePool, cluster_id: &str) -> StoreResult<Vec<String>> {
    let hosts: Json<Vec<String>> = sqlx::query_scalar(
        "SELECT json_group_array(json_extract(storage, '$[0]')) FROM \
         (SELECT storage FROM nodes WHERE cluster_id = ? AND pending_op IS NULL \
         AND json_array_length(storage) > 0 ORDER BY id)",
    )
    .bind(cluster_id)
    .fetch_one(pool)
    .await?;
    Ok(hosts.0)
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

/// A visible volume; `None` for unknown ids and volumes being created or deleted.
/// One query, one row: the volume with its bricks and its cluster's mount hosts aggregated
/// as JSON (this is the provisioner's hot path).
pub async fn volume_info_by_id(
    pool: &SqlitePool,
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
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let owner = r.v.owner.clone();
        let mut info = volume_info(r.v, &[], &r.hosts.0);
        info.bricks = r.bricks.0;
        (info, owner)
    }))
}

pub async fn volume_ids(pool: &SqlitePool) -> StoreResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM volumes WHERE hidden = 0 ORDER BY id")
            .fetch_all(pool)
            .await?,
    )
}

pub async fn queue_row(pool: &SqlitePool, id: &str) -> StoreResult<Option<QueueRow>> {
    Ok(
        sqlx::query_as("SELECT id, op_id, state, location, message, owner FROM queue WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn operation_rows<'e, E>(db: E) -> StoreResult<Vec<OperationRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(
        "SELECT id, kind, status, created_at, payload, changes FROM operations ORDER BY created_at, id",
    )
    .fetch_all(db)
    .await?)
}

pub async fn operation_row<'e, E>(db: E, id: &str) -> StoreResult<Option<OperationRow>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_as(
        "SELECT id, kind, status, created_at, payload, changes FROM operations WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await?)
}
