//! The placement view of each cluster's devices, kept beside the single writer (and changed
//! only by the writer's transactions, see `write.rs`) so placement
//! does not re-read a thousand device rows for every volume create. It is only a hint: the
//! reservation itself is a conditional update in the database.

use std::collections::{HashMap, HashSet};

use heqet_api::Tags;
use heqet_topology::placement::DeviceCandidate;
use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;

use super::read::NODE_COLS;
use super::StoreResult;
use crate::model::{EntryState, NodeRow};

#[derive(Default)]
pub struct ClusterDevices {
    pub devices: Vec<DeviceCandidate>,
    /// The cluster's nodes, so an operation can address them without another query.
    pub nodes: HashMap<String, NodeRow>,
    index: HashMap<String, usize>,
}

#[derive(Default)]
pub(super) struct DeviceCache {
    clusters: HashMap<String, ClusterDevices>,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: String,
    node_id: String,
    zone: i64,
    free: i64,
    extent_size: i64,
    device_state: EntryState,
    node_state: EntryState,
    device_tags: Json<Tags>,
    node_tags: Json<Tags>,
}

impl DeviceCache {
    /// The devices of a cluster, loading them on first use. `down` holds node ids the
    /// health monitor found unreachable; their devices are offered as offline.
    pub(super) async fn cluster(
        &mut self,
        conn: &mut SqliteConnection,
        cluster_id: &str,
        down: &HashSet<String>,
    ) -> StoreResult<&ClusterDevices> {
        if !self.clusters.contains_key(cluster_id) {
            let rows: Vec<CandidateRow> = sqlx::query_as(
                "SELECT d.id, d.node_id, n.zone, d.free, d.extent_size, d.state AS device_state, \
                 n.state AS node_state, d.tags AS device_tags, n.tags AS node_tags \
                 FROM devices d JOIN nodes n ON d.node_id = n.id \
                 WHERE n.cluster_id = ? AND d.pending_op IS NULL AND n.pending_op IS NULL \
                 ORDER BY d.id",
            )
            .bind(cluster_id)
            .fetch_all(&mut *conn)
            .await?;
            let mut cd = ClusterDevices {
                nodes: sqlx::query_as::<_, NodeRow>(&format!(
                    "SELECT {NODE_COLS} FROM nodes WHERE cluster_id = ? AND pending_op IS NULL"
                ))
                .bind(cluster_id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|n| (n.id.clone(), n))
                .collect(),
                ..ClusterDevices::default()
            };
            for r in rows {
                let mut tags = r.node_tags.0;
                tags.extend(r.device_tags.0);
                cd.index.insert(r.id.clone(), cd.devices.len());
                cd.devices.push(DeviceCandidate {
                    online: r.device_state == EntryState::Online
                        && r.node_state == EntryState::Online
                        && !down.contains(&r.node_id),
                    id: r.id,
                    node_id: r.node_id,
                    zone: r.zone,
                    free_kib: r.free.max(0) as u64,
                    extent_kib: r.extent_size.max(1) as u64,
                    tags,
                });
            }
            self.clusters.insert(cluster_id.to_string(), cd);
        }
        Ok(&self.clusters[cluster_id])
    }

    /// Forget everything; the next placement reloads from the database. Called whenever
    /// nodes, devices, states, tags or node health change.
    pub(super) fn invalidate(&mut self) {
        self.clusters.clear();
    }

    /// Apply a committed change of a device's free space.
    pub(super) fn adjust_free(&mut self, device_id: &str, delta: i64) {
        for cd in self.clusters.values_mut() {
            if let Some(&i) = cd.index.get(device_id) {
                let d = &mut cd.devices[i];
                d.free_kib = (d.free_kib as i64 + delta).max(0) as u64;
                return;
            }
        }
    }
}
