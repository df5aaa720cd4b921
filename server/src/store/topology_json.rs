//! `GET /topology` without building the response as Rust structs: a handful of flat queries
//! in one read transaction, then the JSON is written by hand (strings escaped by serde_json)
//! and streamed out in chunks, so 10,000 volumes cost neither seconds nor a 40 MiB buffer.
//! Key order and omit-when-empty rules match the serde types in `heqet-api`; the API tests
//! compare this document with the per-object routes.

use std::collections::HashMap;

use heqet_api::VolumeSnapshot;
use sqlx::{Executor as _, SqlitePool};
use tokio::sync::mpsc;

use super::StoreResult;

/// Bytes handed to the HTTP body at a time.
const CHUNK: usize = 256 * 1024;

// Rows arrive as JSON arrays (see `rows`); field order = the SELECT's column order.
#[derive(serde::Deserialize)]
struct Cluster {
    id: String,
    block: i64,
    file: i64,
}

#[derive(serde::Deserialize)]
struct Node {
    id: String,
    cluster_id: String,
    zone: i64,
    manage: String,
    storage: String,
    tags: String,
    state: String,
}

#[derive(serde::Deserialize)]
struct Device {
    id: String,
    node_id: String,
    name: String,
    state: String,
    total: i64,
    free: i64,
    used: i64,
    pv_uuid: String,
    paths: String,
    tags: String,
}

#[derive(serde::Deserialize)]
struct Volume {
    id: String,
    cluster_id: String,
    name: String,
    size: i64,
    durability: String,
    gid: i64,
    options: String,
    block: i64,
    blockinfo: String,
    snapshot_enable: i64,
    snapshot_factor: f64,
}

#[derive(serde::Deserialize)]
struct Brick {
    id: String,
    volume_id: String,
    device_id: String,
    node_id: String,
    path: String,
    size: i64,
}

/// Everything the document is made of, read in one transaction.
pub struct Snapshot {
    clusters: Vec<Cluster>,
    nodes: Vec<Node>,
    devices: Vec<Device>,
    volumes: Vec<Volume>,
    bricks: Vec<Brick>,
}

/// All rows of `select` (`cols` from `from`) as ONE JSON array of arrays: sqlx hands SQLite
/// rows over one by one between threads, which for 30,000 bricks costs more than the work.
async fn rows<T: serde::de::DeserializeOwned>(
    conn: &mut sqlx::SqliteConnection,
    cols: &str,
    from: &str,
) -> StoreResult<Vec<T>> {
    let sql = format!("SELECT json_group_array(json_array({cols})) FROM (SELECT {cols} {from})");
    let text: String = sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?;
    serde_json::from_str(&text)
        .map_err(|e| super::StoreError::Corrupt(format!("topology rows: {e}")))
}

/// Read the topology (one consistent read transaction).
async fn snapshot(pool: &SqlitePool) -> StoreResult<Snapshot> {
    let mut conn = pool.acquire().await?;
    conn.execute("BEGIN").await?;
    let result = async {
        Ok(Snapshot {
            clusters: rows(&mut conn, "id, block, file", "FROM clusters ORDER BY id").await?,
            nodes: rows(
                &mut conn,
                "id, cluster_id, zone, manage, storage, tags, state",
                "FROM nodes WHERE pending_op IS NULL",
            )
            .await?,
            devices: rows(
                &mut conn,
                "id, node_id, name, state, total, free, used, pv_uuid, paths, tags",
                "FROM devices WHERE pending_op IS NULL",
            )
            .await?,
            volumes: rows(
                &mut conn,
                "id, cluster_id, name, size, durability, gid, options, block, blockinfo, \
                 snapshot_enable, snapshot_factor",
                "FROM volumes WHERE hidden = 0",
            )
            .await?,
            bricks: rows(
                &mut conn,
                "id, volume_id, device_id, node_id, path, size",
                "FROM bricks",
            )
            .await?,
        })
    }
    .await;
    let _ = conn.execute("COMMIT").await;
    // Sorted here rather than by SQLite: ordering by a TEXT primary key costs a b-tree lookup
    // per row, sorting 30,000 ids costs a few milliseconds.
    result.map(|mut s: Snapshot| {
        s.nodes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        s.devices.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        s.volumes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        s.bricks.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        s
    })
}

/// Appends JSON pieces to a buffer and hands full chunks to the body.
struct Out {
    buf: Vec<u8>,
    tx: mpsc::Sender<Vec<u8>>,
}

impl Out {
    fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn string(&mut self, s: &str) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, s);
    }

    fn num(&mut self, n: i64) {
        self.raw(&n.to_string());
    }

    fn key(&mut self, first: bool, k: &str) {
        if !first {
            self.buf.push(b',');
        }
        self.buf.push(b'"');
        self.raw(k);
        self.raw("\":");
    }

    /// Send the buffer if it is full; `false` when the client went away.
    async fn flush_if_full(&mut self) -> bool {
        if self.buf.len() < CHUNK {
            return true;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 64 * 1024));
        self.tx.send(chunk).await.is_ok()
    }
}

/// A brick object; written twice per brick (volume and device), rendered each time rather
/// than kept: 30,000 cached copies would cost more memory than the escaping costs time.
fn brick_json(v: &mut Vec<u8>, b: &Brick) {
    v.extend_from_slice(b"{\"id\":");
    let _ = serde_json::to_writer(&mut *v, &b.id);
    v.extend_from_slice(b",\"path\":");
    let _ = serde_json::to_writer(&mut *v, &b.path);
    v.extend_from_slice(b",\"device\":");
    let _ = serde_json::to_writer(&mut *v, &b.device_id);
    v.extend_from_slice(b",\"node\":");
    let _ = serde_json::to_writer(&mut *v, &b.node_id);
    v.extend_from_slice(b",\"volume\":");
    let _ = serde_json::to_writer(&mut *v, &b.volume_id);
    v.extend_from_slice(format!(",\"size\":{}}}", b.size).as_bytes());
}

fn first_of(list_json: &str) -> String {
    serde_json::from_str::<Vec<String>>(list_json)
        .ok()
        .and_then(|v| v.into_iter().next())
        .unwrap_or_default()
}

fn empty_json(s: &str) -> bool {
    matches!(s, "" | "{}" | "[]" | "null")
}

/// Write the document for `snap` into `tx`, chunk by chunk.
pub async fn render(snap: Snapshot, tx: mpsc::Sender<Vec<u8>>) {
    let mut out = Out {
        buf: Vec::with_capacity(CHUNK + 64 * 1024),
        tx,
    };
    let mut by_volume: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_device: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, b) in snap.bricks.iter().enumerate() {
        by_volume.entry(&b.volume_id).or_default().push(i);
        by_device.entry(&b.device_id).or_default().push(i);
    }
    let mut devices_of: HashMap<&str, Vec<&Device>> = HashMap::new();
    for d in &snap.devices {
        devices_of.entry(&d.node_id).or_default().push(d);
    }
    let none = Vec::new();
    let write_bricks = |out: &mut Out, idx: &[usize]| {
        out.raw("[");
        for (n, i) in idx.iter().enumerate() {
            if n > 0 {
                out.raw(",");
            }
            brick_json(&mut out.buf, &snap.bricks[*i]);
        }
        out.raw("]");
    };

    out.raw("{\"clusters\":[");
    for (ci, c) in snap.clusters.iter().enumerate() {
        if ci > 0 {
            out.raw(",");
        }
        let nodes: Vec<&Node> = snap.nodes.iter().filter(|n| n.cluster_id == c.id).collect();
        let hosts: Vec<String> = nodes.iter().map(|n| first_of(&n.storage)).collect();
        // The mount object is the same for every volume of the cluster but for the name.
        let hosts_json = serde_json::to_string(&hosts).unwrap_or_else(|_| "[]".into());
        let backup = serde_json::to_string(&hosts.get(1..).unwrap_or_default().join(","))
            .unwrap_or_default();
        let host0 = hosts.first().cloned().unwrap_or_default();

        out.raw("{\"volumes\":[");
        let mut first_volume = true;
        for v in snap.volumes.iter().filter(|v| v.cluster_id == c.id) {
            if !first_volume {
                out.raw(",");
            }
            first_volume = false;
            out.raw("{\"size\":");
            out.num(v.size);
            out.key(false, "name");
            out.string(&v.name);
            out.key(false, "durability");
            out.raw(&v.durability);
            if v.gid != 0 {
                out.key(false, "gid");
                out.num(v.gid);
            }
            if !empty_json(&v.options) {
                out.key(false, "glustervolumeoptions");
                out.raw(&v.options);
            }
            if v.block != 0 {
                out.raw(",\"block\":true");
            }
            out.key(false, "snapshot");
            let snap_obj = VolumeSnapshot {
                enable: v.snapshot_enable != 0,
                factor: v.snapshot_factor as f32,
            };
            let _ = serde_json::to_writer(&mut out.buf, &snap_obj);
            out.key(false, "id");
            out.string(&v.id);
            out.key(false, "cluster");
            out.string(&v.cluster_id);
            out.raw(",\"mount\":{\"glusterfs\":{\"hosts\":");
            out.raw(&hosts_json);
            out.raw(",\"device\":");
            out.string(&format!("{host0}:{}", v.name));
            out.raw(",\"options\":{\"backup-volfile-servers\":");
            out.raw(&backup);
            out.raw("}}}");
            out.key(false, "blockinfo");
            out.raw(if v.blockinfo.is_empty() {
                "{}"
            } else {
                &v.blockinfo
            });
            out.key(false, "bricks");
            write_bricks(&mut out, by_volume.get(v.id.as_str()).unwrap_or(&none));
            out.raw("}");
            if !out.flush_if_full().await {
                return;
            }
        }
        out.raw("],\"nodes\":[");
        for (ni, n) in nodes.iter().enumerate() {
            if ni > 0 {
                out.raw(",");
            }
            out.raw("{\"zone\":");
            out.num(n.zone);
            out.raw(",\"hostnames\":{\"manage\":");
            out.raw(&n.manage);
            out.raw(",\"storage\":");
            out.raw(&n.storage);
            out.raw("}");
            out.key(false, "cluster");
            out.string(&n.cluster_id);
            if !empty_json(&n.tags) {
                out.key(false, "tags");
                out.raw(&n.tags);
            }
            out.key(false, "id");
            out.string(&n.id);
            out.key(false, "state");
            out.string(&n.state);
            out.raw(",\"devices\":[");
            let devs = devices_of
                .get(n.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for (di, d) in devs.iter().enumerate() {
                if di > 0 {
                    out.raw(",");
                }
                out.raw("{\"name\":");
                out.string(&d.name);
                if !empty_json(&d.tags) {
                    out.key(false, "tags");
                    out.raw(&d.tags);
                }
                out.raw(&format!(
                    ",\"storage\":{{\"total\":{},\"free\":{},\"used\":{}}}",
                    d.total, d.free, d.used
                ));
                out.key(false, "id");
                out.string(&d.id);
                if !empty_json(&d.paths) {
                    out.key(false, "paths");
                    out.raw(&d.paths);
                }
                if !d.pv_uuid.is_empty() {
                    out.key(false, "pv_uuid");
                    out.string(&d.pv_uuid);
                }
                out.key(false, "state");
                out.string(&d.state);
                out.key(false, "bricks");
                write_bricks(&mut out, by_device.get(d.id.as_str()).unwrap_or(&none));
                out.raw("}");
                if !out.flush_if_full().await {
                    return;
                }
            }
            out.raw("]}");
        }
        out.raw("],\"id\":");
        out.string(&c.id);
        out.raw(&format!(
            ",\"block\":{},\"file\":{}}}",
            c.block != 0,
            c.file != 0
        ));
    }
    out.raw("]}\n");
    let rest = std::mem::take(&mut out.buf);
    let _ = out.tx.send(rest).await;
}

impl super::Reader {
    /// The topology, read in one consistent read transaction (`GET /topology`).
    pub async fn topology(&self) -> StoreResult<Snapshot> {
        snapshot(self.pool()).await
    }
}
