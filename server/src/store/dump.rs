//! `GET /db/dump` in heketi's JSON db format, and the `GET /db/check` consistency report.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::read::{BRICK_COLS, DEVICE_COLS, NODE_COLS, VOLUME_COLS};
use super::{brick_info, volume_info, Reader, StoreResult};
use crate::model::*;

async fn all<T>(pool: &SqlitePool, sql: &str) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql).fetch_all(pool).await?)
}

struct Snapshot {
    clusters: Vec<ClusterRow>,
    nodes: Vec<NodeRow>,
    devices: Vec<DeviceRow>,
    volumes: Vec<VolumeRow>,
    bricks: Vec<BrickRow>,
    ops: Vec<OperationRow>,
}

async fn snapshot(r: &Reader) -> StoreResult<Snapshot> {
    let pool = r.pool();
    Ok(Snapshot {
        clusters: all(pool, "SELECT id, block, file FROM clusters ORDER BY id").await?,
        nodes: all(pool, &format!("SELECT {NODE_COLS} FROM nodes ORDER BY id")).await?,
        devices: all(
            pool,
            &format!("SELECT {DEVICE_COLS} FROM devices ORDER BY id"),
        )
        .await?,
        volumes: all(
            pool,
            &format!("SELECT {VOLUME_COLS} FROM volumes ORDER BY id"),
        )
        .await?,
        bricks: all(
            pool,
            &format!("SELECT {BRICK_COLS} FROM bricks ORDER BY id"),
        )
        .await?,
        ops: r.operation_rows().await?,
    })
}

/// A journal change as an action; an expansion's carries its size as heketi's `Delta`, so
/// the dump holds what a later import needs to finish it.
fn action(op: &OperationRow, c: &Change) -> Value {
    match &op.payload.0 {
        OpPayload::ExpandVolume {
            volume_id,
            expand_size,
        } if *volume_id == c.id => {
            json!({"Id": c.id, "Description": c.description, "Delta": expand_size})
        }
        _ => json!({"Id": c.id, "Description": c.description}),
    }
}

fn pending(p: &Option<String>) -> Value {
    json!({"Id": p.clone().unwrap_or_default()})
}

/// The whole store in heketi's db dump layout (what `heketi db export` writes).
async fn dump(r: &Reader) -> StoreResult<Value> {
    let s = snapshot(r).await?;
    let mut clusters = BTreeMap::new();
    for c in &s.clusters {
        let info = r.cluster_info(&c.id).await?;
        clusters.insert(c.id.clone(), json!({ "Info": info }));
    }
    let mut nodes = BTreeMap::new();
    for n in &s.nodes {
        let devs: Vec<&str> = s
            .devices
            .iter()
            .filter(|d| d.node_id == n.id)
            .map(|d| d.id.as_str())
            .collect();
        let mut info = json!({
            "zone": n.zone,
            "hostnames": {"manage": n.manage.0, "storage": n.storage.0},
            "cluster": n.cluster_id,
            "id": n.id,
        });
        if !n.tags.0.is_empty() {
            info["tags"] = json!(n.tags.0);
        }
        nodes.insert(
            n.id.clone(),
            json!({"State": n.state, "Info": info, "Devices": devs}),
        );
    }
    let mut devices = BTreeMap::new();
    for d in &s.devices {
        let bricks: Vec<&str> = s
            .bricks
            .iter()
            .filter(|b| b.device_id == d.id)
            .map(|b| b.id.as_str())
            .collect();
        let mut info = json!({
            "name": d.name,
            "storage": {"total": d.total, "free": d.free, "used": d.used},
            "id": d.id,
            "paths": d.paths.0,
            "pv_uuid": d.pv_uuid,
        });
        if !d.tags.0.is_empty() {
            info["tags"] = json!(d.tags.0);
        }
        devices.insert(
            d.id.clone(),
            json!({"State": d.state, "Info": info, "Bricks": bricks, "NodeId": d.node_id, "ExtentSize": d.extent_size}),
        );
    }
    let mut bricks = BTreeMap::new();
    for b in &s.bricks {
        bricks.insert(
            b.id.clone(),
            json!({
                "Info": brick_info(b),
                "TpSize": b.tp_size,
                "PoolMetadataSize": b.pool_metadata_size,
                "Pending": pending(&b.pending_op),
                "LvmThinPool": b.thin_pool,
                "LvmLv": if b.lv == format!("brick_{}", b.id) { String::new() } else { b.lv.clone() },
                "SubType": if b.arbiter { 2 } else { 1 },
            }),
        );
    }
    let mut hosts: HashMap<&str, Vec<String>> = HashMap::new();
    for n in &s.nodes {
        if let Some(h) = n.storage.first() {
            hosts.entry(&n.cluster_id).or_default().push(h.clone());
        }
    }
    let mut volumes = BTreeMap::new();
    for v in &s.volumes {
        let vb: Vec<BrickRow> = s
            .bricks
            .iter()
            .filter(|b| b.volume_id == v.id)
            .cloned()
            .collect();
        let h = hosts
            .get(v.cluster_id.as_str())
            .cloned()
            .unwrap_or_default();
        let mut info = serde_json::to_value(volume_info(v.clone(), &[], &h)).unwrap_or(Value::Null);
        if let Some(o) = info.as_object_mut() {
            o.remove("bricks");
        }
        let brick_ids: Vec<&str> = vb.iter().map(|b| b.id.as_str()).collect();
        volumes.insert(
            v.id.clone(),
            json!({"Info": info, "Bricks": brick_ids, "GlusterVolumeOptions": v.options.0, "Pending": pending(&v.pending_op)}),
        );
    }
    let mut ops = BTreeMap::new();
    for op in &s.ops {
        ops.insert(
            op.id.clone(),
            json!({
                "Id": op.id,
                "Timestamp": op.created_at,
                "Type": op.kind,
                "Actions": op.changes.0.iter().map(|c| action(op, c)).collect::<Vec<_>>(),
                "Status": op.status.as_str(),
            }),
        );
    }
    Ok(json!({
        "clusterentries": clusters,
        "volumeentries": volumes,
        "brickentries": bricks,
        "nodeentries": nodes,
        "deviceentries": devices,
        "blockvolumeentries": {},
        "dbattributeentries": {},
        "pendingoperations": ops,
    }))
}

#[derive(Default, serde::Serialize)]
struct Section {
    total: usize,
    pending: usize,
    ok: usize,
    notok: usize,
    inconsistencies: Vec<String>,
}

impl Section {
    fn record(&mut self, pending: bool, problems: Vec<String>) {
        self.total += 1;
        if pending {
            self.pending += 1;
        }
        if problems.is_empty() {
            self.ok += 1;
        } else {
            self.notok += 1;
            self.inconsistencies.extend(problems);
        }
    }
}

/// Cross-checks of the store: references that point nowhere, and device accounting that
/// does not add up.
async fn check(r: &Reader) -> StoreResult<Value> {
    let s = snapshot(r).await?;
    let cluster_ids: std::collections::HashSet<&str> =
        s.clusters.iter().map(|c| c.id.as_str()).collect();
    let node_ids: std::collections::HashSet<&str> = s.nodes.iter().map(|n| n.id.as_str()).collect();
    let device_ids: std::collections::HashSet<&str> =
        s.devices.iter().map(|d| d.id.as_str()).collect();
    let volume_ids: std::collections::HashSet<&str> =
        s.volumes.iter().map(|v| v.id.as_str()).collect();
    let op_ids: std::collections::HashSet<&str> = s.ops.iter().map(|o| o.id.as_str()).collect();
    let mut clusters = Section::default();
    for _ in &s.clusters {
        clusters.record(false, vec![]);
    }
    let mut nodes = Section::default();
    for n in &s.nodes {
        let mut p = vec![];
        if !cluster_ids.contains(n.cluster_id.as_str()) {
            p.push(format!(
                "node {} belongs to missing cluster {}",
                n.id, n.cluster_id
            ));
        }
        nodes.record(n.pending_op.is_some(), p);
    }
    let mut reserved: HashMap<&str, i64> = HashMap::new();
    for b in &s.bricks {
        *reserved.entry(&b.device_id).or_default() += b.reserved();
    }
    let mut devices = Section::default();
    for d in &s.devices {
        let mut p = vec![];
        if !node_ids.contains(d.node_id.as_str()) {
            p.push(format!(
                "device {} belongs to missing node {}",
                d.id, d.node_id
            ));
        }
        if d.free + d.used != d.total {
            p.push(format!(
                "device {}: free {} + used {} != total {}",
                d.id, d.free, d.used, d.total
            ));
        }
        let r = reserved.get(d.id.as_str()).copied().unwrap_or(0);
        if d.used < r {
            p.push(format!(
                "device {}: used {} is less than its bricks hold ({r})",
                d.id, d.used
            ));
        }
        devices.record(d.pending_op.is_some(), p);
    }
    let mut volumes = Section::default();
    for v in &s.volumes {
        let mut p = vec![];
        if !cluster_ids.contains(v.cluster_id.as_str()) {
            p.push(format!(
                "volume {} belongs to missing cluster {}",
                v.id, v.cluster_id
            ));
        }
        if let Some(op) = &v.pending_op {
            if !op_ids.contains(op.as_str()) {
                p.push(format!(
                    "volume {} is pending on missing operation {op}",
                    v.id
                ));
            }
        }
        volumes.record(v.pending_op.is_some(), p);
    }
    let mut bricks = Section::default();
    for b in &s.bricks {
        let mut p = vec![];
        if !volume_ids.contains(b.volume_id.as_str()) {
            p.push(format!(
                "brick {} belongs to missing volume {}",
                b.id, b.volume_id
            ));
        }
        if !device_ids.contains(b.device_id.as_str()) {
            p.push(format!(
                "brick {} is on missing device {}",
                b.id, b.device_id
            ));
        }
        bricks.record(b.pending_op.is_some(), p);
    }
    let mut pendingops = Section::default();
    for _ in &s.ops {
        pendingops.record(true, vec![]);
    }
    let total = clusters.notok + nodes.notok + devices.notok + volumes.notok + bricks.notok;
    Ok(json!({
        "clusters": clusters,
        "volumes": volumes,
        "bricks": bricks,
        "nodes": nodes,
        "devices": devices,
        "blockvolumes": Section::default(),
        "dbattributes": Section::default(),
        "pendingoperations": pendingops,
        "totalinconsistencies": total,
    }))
}

impl Reader {
    /// The whole store in heketi's db dump layout (`GET /db/dump`).
    pub async fn db_dump(&self) -> StoreResult<Value> {
        dump(self).await
    }

    /// The consistency report of `GET /db/check`.
    pub async fn db_check(&self) -> StoreResult<Value> {
        check(self).await
    }
}
