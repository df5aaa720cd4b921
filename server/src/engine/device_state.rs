//! Device and brick state work: state changes, heketi's "remove" (every brick moved off a
//! device, journaled as `remove-device`), single brick eviction (replace-brick onto another
//! device) and resync of a device's figures from LVM.

use std::sync::Arc;

use async_trait::async_trait;
use heqet_executor::BrickAddr;

use super::nodework::Nodes;
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{DeviceFigures, StoreResult, Tx};

/// Move every brick off an offline device, then mark it failed.
pub(super) struct RemoveDevice {
    device_id: String,
    heal_check: bool,
}

impl Engine {
    /// `POST /devices/{id}/state`.
    pub async fn device_state(
        self: &Arc<Self>,
        device_id: &str,
        state: EntryState,
        heal_check: bool,
    ) -> Result<String, EngineError> {
        let dev = self.store.read().device_row(device_id).await?;
        if dev.is_none_or(|d| d.pending_op.is_some()) {
            return Err(EngineError::IdNotFound);
        }
        let admission = self.admit()?;
        let engine = self.clone();
        let did = device_id.to_string();
        self.start_task(admission, async move {
            engine.change_device_state(&did, state, heal_check).await
        })
        .await
    }

    async fn change_device_state(
        &self,
        device_id: &str,
        to: EntryState,
        heal_check: bool,
    ) -> Result<(), String> {
        use EntryState::*;
        let dev = self
            .store
            .read()
            .device_row(device_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "Id not found".to_string())?;
        match (dev.state, to) {
            (from, to) if from == to => Ok(()),
            (Failed, Online) => Err("Cannot move a failed/removed device to online state".into()),
            (Online, Failed) => Err(format!(
                "Device must be offline before remove operation is performed, device:{device_id}"
            )),
            (Offline, Failed) => self.remove_device(device_id, heal_check).await,
            (_, to) => self.set_device_state(device_id, to).await,
        }
    }

    pub(super) async fn set_device_state(
        &self,
        device_id: &str,
        state: EntryState,
    ) -> Result<(), String> {
        let mut w = self.store.writer().await;
        let r: StoreResult<()> = async {
            let mut tx = w.begin().await?;
            tx.set_device_state(device_id, state).await?;
            tx.commit().await
        }
        .await;
        r.map_err(|e| e.to_string())
    }

    /// heketi's "remove": every brick moved off the device, then the device is failed.
    pub(super) async fn remove_device(
        &self,
        device_id: &str,
        heal_check: bool,
    ) -> Result<(), String> {
        self.run_nested(RemoveDevice {
            device_id: device_id.to_string(),
            heal_check,
        })
        .await
    }

    /// Replace one brick by a new one on another device (node-commands §10).
    async fn evict_brick(&self, old: &BrickRow, heal_check: bool) -> Result<(), String> {
        let read = self.store.read();
        let vol = read
            .volume_row(&old.volume_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume {} of brick {} not found", old.volume_id, old.id))?;
        let layout = vol.layout.0;
        if matches!(layout, heqet_api::layout::Layout::None) {
            return Err("replace brick is not supported for volume durability type none".into());
        }
        let all = read
            .bricks_of_volume(&vol.id)
            .await
            .map_err(|e| e.to_string())?;
        let nodes = self.cluster_nodes(&vol.cluster_id).await?;
        let set_size = layout.set_size() as i64;
        let set_no = old.position / set_size;
        let set: Vec<&BrickRow> = all
            .iter()
            .filter(|b| b.position / set_size == set_no && b.id != old.id)
            .collect();
        let node_of = |id: &str| nodes.get(id).ok_or_else(|| format!("node {id} not found"));
        let old_node = node_of(&old.node_id)?;
        // Run gluster commands on the brick's own node if it answers, else on any other.
        let worker = self.working_node(&nodes, Some(&old.node_id)).await?;
        if heal_check {
            let heal = self
                .exec
                .heal_info(&worker, &vol.name)
                .await
                .map_err(|e| e.to_string())?;
            let old_addr = format!("{}:{}", old_node.storage_host(), old.path);
            if let Some(h) = heal.bricks.iter().find(|h| h.brick.to_string() == old_addr) {
                if h.pending_entries.unwrap_or(0) > 0 {
                    return Err(format!(
                        "Cannot replace brick {} as it is source brick for data to be healed",
                        old.id
                    ));
                }
            }
        }
        let replacement = self.place_replacement(&vol, old, &set, &nodes).await?;
        let new_node = node_of(&replacement.node_id)?.target();
        let new_spec = replacement.spec(vol.gid);
        let old_spec = old.spec(vol.gid);
        let undo_new = |msg: String| async {
            let _ = self.exec.brick_destroy(&new_node, &new_spec).await;
            let mut w = self.store.writer().await;
            let r: StoreResult<()> = async {
                let mut tx = w.begin().await?;
                tx.remove_brick(&replacement, true).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = r {
                tracing::warn!(brick = %replacement.id, error = %e, "cannot forget replacement brick");
            }
            msg
        };
        if let Err(e) = self.exec.brick_create(&new_node, &new_spec).await {
            return Err(undo_new(e.to_string()).await);
        }
        let old_addr = BrickAddr {
            host: old_node.storage_host().to_string(),
            path: old.path.clone(),
        };
        let new_addr = BrickAddr {
            host: new_node.storage.clone(),
            path: replacement.path.clone(),
        };
        if let Err(e) = self
            .exec
            .replace_brick(&worker, &vol.name, &old_addr, &new_addr)
            .await
        {
            return Err(undo_new(e.to_string()).await);
        }
        // The old brick is out of the volume now; a dead node may not let us clean it.
        let old_target = old_node.target();
        let reclaimed = match self.exec.brick_destroy(&old_target, &old_spec).await {
            Ok(r) => r,
            Err(e) => {
                if self.exec.glusterd_check(&old_target).await.is_ok() {
                    return Err(format!(
                        "replaced brick {} but cannot destroy it: {e}",
                        old.id
                    ));
                }
                tracing::warn!(brick = %old.id, error = %e, "old brick's node is down; leaving its remains");
                true
            }
        };
        let mut w = self.store.writer().await;
        let r: StoreResult<()> = async {
            let mut tx = w.begin().await?;
            tx.remove_brick(old, reclaimed).await?;
            tx.settle_bricks_of_op(&old.id).await?;
            tx.commit().await
        }
        .await;
        r.map_err(|e| e.to_string())
    }

    /// Place and record (reserved, owned by the old brick's id) the brick that replaces
    /// `old`, away from the other bricks of its set.
    async fn place_replacement(
        &self,
        vol: &VolumeRow,
        old: &BrickRow,
        set: &[&BrickRow],
        nodes: &Nodes,
    ) -> Result<BrickRow, String> {
        let layout = vol.layout.0;
        let set_size = layout.set_size() as i64;
        // The volume's own placement rules; options that do not parse mean the defaults.
        let rules = self.request_for(vol, 1, 0).ok();
        let request = heqet_topology::ReplacementRequest {
            brick_kib: old.size as u64,
            layout,
            set: (old.position / set_size) as usize,
            position: (old.position % set_size) as usize,
            snapshot_factor: vol.snapshot_factor as f32,
            avoid_devices: vec![old.device_id.clone()],
            avoid_nodes: set.iter().map(|b| b.node_id.clone()).collect(),
            avoid_zones: set
                .iter()
                .filter_map(|b| nodes.get(&b.node_id).map(|n| n.zone))
                .collect(),
            zone_checking: rules.as_ref().map(|r| r.zone_checking).unwrap_or_default(),
            tag_match: rules.and_then(|r| r.tag_match),
        };
        let down = self.down_nodes();
        let mut w = self.store.writer().await;
        let r: Result<BrickRow, String> = async {
            let mut tx = w.begin().await.map_err(|e| e.to_string())?;
            let placed = {
                let cd = tx
                    .placement(&vol.cluster_id, &down)
                    .await
                    .map_err(|e| e.to_string())?;
                let candidates: Vec<heqet_topology::DeviceCandidate> = cd
                    .devices
                    .iter()
                    .filter(|d| d.id != old.device_id)
                    .cloned()
                    .collect();
                let mut rng = rand::thread_rng();
                heqet_topology::place_replacement(&candidates, &request, &mut rng)
                    .map_err(|e| e.to_string())?
            };
            let row = BrickRow {
                id: placed.id.clone(),
                volume_id: vol.id.clone(),
                device_id: placed.device_id.clone(),
                node_id: placed.node_id.clone(),
                path: heqet_executor::brick_path(&placed.device_id, &placed.id),
                size: placed.size_kib as i64,
                tp_size: placed.tp_kib as i64,
                pool_metadata_size: placed.metadata_kib as i64,
                thin_pool: placed.thin_pool.clone(),
                lv: format!("brick_{}", placed.id),
                arbiter: old.arbiter,
                position: old.position,
                pending_op: Some(old.id.clone()),
            };
            tx.add_bricks(std::slice::from_ref(&row), true)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            Ok(row)
        }
        .await;
        r
    }

    /// `GET /devices/{id}/resync`.
    pub async fn device_resync(self: &Arc<Self>, device_id: &str) -> Result<String, EngineError> {
        let read = self.store.read();
        let Some(dev) = read.device_row(device_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        let Some(node) = read.node_row(&dev.node_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        let admission = self.admit()?;
        let engine = self.clone();
        self.start_task(admission, async move { engine.resync(&dev, &node).await })
            .await
    }

    async fn resync(&self, dev: &DeviceRow, node: &NodeRow) -> Result<(), String> {
        let r = self
            .exec
            .device_resync(&node.target(), &dev.device_ref())
            .await
            .map_err(|e| e.to_string())?;
        let mut w = self.store.writer().await;
        let res: StoreResult<Result<(), String>> = async {
            let mut tx = w.begin().await?;
            if tx.busy_bricks(&dev.id, true).await? > 0 {
                return Ok(Err(
                    "The target exists, contains other items, or is in use.".to_string(),
                ));
            }
            let figures = DeviceFigures {
                total: r.total_kib as i64,
                free: r.free_kib as i64,
                used: r.used_kib as i64,
                extent_size: r.extent_size_kib as i64,
                pv_uuid: &r.pv_uuid,
                paths: &r.paths,
            };
            tx.resync_device(&dev.id, &figures).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }
        .await;
        res.map_err(|e| e.to_string())?
    }

    /// `POST /bricks/to-evict/{id}`.
    pub async fn brick_evict(
        self: &Arc<Self>,
        brick_id: &str,
        heal_check: bool,
    ) -> Result<String, EngineError> {
        let Some(brick) = self.store.read().brick_row(brick_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        if brick.pending_op.is_some() {
            return Err(EngineError::Failed(format!(
                "Failed to set up brick eviction: Can not evict brick {brick_id}: brick is pending"
            )));
        }
        let admission = self.admit()?;
        let engine = self.clone();
        self.start_task(admission, async move {
            engine.evict_brick(&brick, heal_check).await
        })
        .await
    }
}

#[async_trait]
impl Operation for RemoveDevice {
    fn payload(&self) -> OpPayload {
        OpPayload::RemoveDevice {
            device_id: self.device_id.clone(),
            healcheck: self.heal_check,
        }
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let bricks = engine
            .store
            .read()
            .bricks_of_device(&self.device_id)
            .await
            .map_err(|e| ExecFailure::Undone(e.to_string()))?;
        for b in bricks.iter().filter(|b| !b.path.is_empty()) {
            engine.evict_brick(b, self.heal_check).await.map_err(|e| {
                ExecFailure::Undone(format!(
                    "Unable to delete device [{}] as no device was found to replace it: {e}",
                    self.device_id
                ))
            })?;
        }
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.set_device_state(&self.device_id, EntryState::Failed)
            .await?;
        Ok(String::new())
    }

    async fn clean(&mut self, _engine: &Engine, _op: &OpId) -> Result<Cleaned, String> {
        Ok(Cleaned::Undone)
    }
}

impl RemoveDevice {
    pub(super) fn load(device_id: &str, heal_check: bool) -> Self {
        RemoveDevice {
            device_id: device_id.to_string(),
            heal_check,
        }
    }
}
