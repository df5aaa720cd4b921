//! Brick eviction (docs/node-commands.md §10): a new brick on another device, `replace-brick` onto
//! it, the old brick destroyed. Journaled as `evict-brick`, on its own (`POST
//! /bricks/to-evict/{id}`) or as one step of a device remove.

use std::sync::Arc;

use async_trait::async_trait;
use heqet_executor::{BrickAddr, NodeTarget};
use heqet_topology::ReplacementRequest;

use super::error::OpError;
use super::nodework::{target_of, Nodes};
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::placement::change;
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{StoreResult, Tx};

pub(super) struct BrickEvict {
    old: BrickRow,
    vol: VolumeRow,
    nodes: Nodes,
    /// Where gluster commands run: the old brick's node if it answers, else another.
    worker: Option<NodeTarget>,
    request: Option<ReplacementRequest>,
    /// The new brick, once placed.
    new: Option<BrickRow>,
    /// Whether the old brick's space came back.
    reclaimed: bool,
}

impl Engine {
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

    /// Checks (layout, a working node, heal state), then the journaled move.
    pub(super) async fn evict_brick(
        &self,
        old: &BrickRow,
        heal_check: bool,
    ) -> Result<(), OpError> {
        let read = self.store.read();
        let vol = read.volume_row(&old.volume_id).await?.ok_or_else(|| {
            OpError::Missing(format!(
                "volume {} of brick {} not found",
                old.volume_id, old.id
            ))
        })?;
        let layout = vol.layout.0;
        if matches!(layout, heqet_api::layout::Layout::None) {
            return Err(OpError::Refused(
                "replace brick is not supported for volume durability type none".into(),
            ));
        }
        let all = read.bricks_of_volume(&vol.id).await?;
        let nodes = self.cluster_nodes(&vol.cluster_id).await?;
        let set_size = layout.set_size() as i64;
        let set: Vec<&BrickRow> = all
            .iter()
            .filter(|b| b.position / set_size == old.position / set_size && b.id != old.id)
            .collect();
        let old_node = nodes
            .get(&old.node_id)
            .ok_or_else(|| OpError::Missing(format!("node {} not found", old.node_id)))?;
        let worker = self.working_node(&nodes, Some(&old.node_id)).await?;
        if heal_check {
            let heal = self.exec.heal_info(&worker, &vol.name).await?;
            let old_addr = format!("{}:{}", old_node.storage_host(), old.path);
            if let Some(h) = heal.bricks.iter().find(|h| h.brick.to_string() == old_addr) {
                if h.pending_entries.unwrap_or(0) > 0 {
                    return Err(OpError::Refused(format!(
                        "Cannot replace brick {} as it is source brick for data to be healed",
                        old.id
                    )));
                }
            }
        }
        // The volume's own placement rules; options that do not parse mean the defaults.
        let rules = self.request_for(&vol, 1, 0).ok();
        let request = ReplacementRequest {
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
        self.run_nested(BrickEvict {
            old: old.clone(),
            vol,
            nodes,
            worker: Some(worker),
            request: Some(request),
            new: None,
            reclaimed: false,
        })
        .await
    }
}

impl BrickEvict {
    /// After a crash: the old brick, its volume and the replacement the entry holds.
    /// `None` when the old brick is gone from the store.
    pub(super) async fn load(
        engine: &Engine,
        op: &OpId,
        brick_id: &str,
        volume_id: &str,
    ) -> Result<Option<Self>, OpError> {
        let read = engine.store.read();
        let Some(old) = read.brick_row(brick_id).await? else {
            return Ok(None);
        };
        let vol = engine.load_volume(volume_id).await?;
        let nodes = engine.cluster_nodes(&vol.cluster_id).await?;
        let new = read.bricks_of_op(op.as_str()).await?.pop();
        Ok(Some(BrickEvict {
            old,
            vol,
            nodes,
            worker: None,
            request: None,
            new,
            reclaimed: false,
        }))
    }

    fn addr(&self, b: &BrickRow) -> Result<BrickAddr, OpError> {
        let n = self
            .nodes
            .get(&b.node_id)
            .ok_or_else(|| OpError::Missing(format!("node {} not found", b.node_id)))?;
        Ok(BrickAddr {
            host: n.storage_host().to_string(),
            path: b.path.clone(),
        })
    }

    /// Destroy the old brick, which is out of the volume now. A dead node may not let us:
    /// its remains are left (and its space counted as free), as heketi does.
    async fn destroy_old(&mut self, engine: &Engine) -> Result<(), OpError> {
        let t = target_of(&self.nodes, &self.old.node_id)?;
        self.reclaimed = match engine
            .exec
            .brick_destroy(&t, &self.old.spec(self.vol.gid))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if engine.exec.glusterd_check(&t).await.is_ok() {
                    return Err(OpError::Refused(format!(
                        "replaced brick {} but cannot destroy it: {e}",
                        self.old.id
                    )));
                }
                tracing::warn!(brick = %self.old.id, error = %e, "old brick's node is down; leaving its remains");
                true
            }
        };
        Ok(())
    }

    /// Destroy the new brick (the undo of everything before `replace-brick`).
    async fn destroy_new(&self, engine: &Engine) -> Result<(), OpError> {
        let Some(new) = &self.new else {
            return Ok(());
        };
        let t = target_of(&self.nodes, &new.node_id)?;
        engine
            .exec
            .brick_destroy(&t, &new.spec(self.vol.gid))
            .await
            .map(drop)
            .map_err(OpError::from)
    }

    async fn undone(&self, engine: &Engine, msg: impl std::fmt::Display) -> ExecFailure {
        match self.destroy_new(engine).await {
            Ok(()) => ExecFailure::undone(msg),
            Err(u) => ExecFailure::Dirty(format!("{msg}; undo: {u}")),
        }
    }
}

#[async_trait]
impl Operation for BrickEvict {
    fn payload(&self) -> OpPayload {
        OpPayload::EvictBrick {
            brick_id: self.old.id.clone(),
            volume_id: self.vol.id.clone(),
        }
    }

    fn changes(&self) -> Vec<Change> {
        let mut changes: Vec<Change> = self
            .new
            .iter()
            .map(|b| change(&b.id, "Add brick"))
            .collect();
        changes.push(change(&self.old.id, "Evict brick"));
        changes
    }

    /// Place the new brick away from the rest of its set and reserve its space.
    async fn prepare(
        &mut self,
        engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let request = self
            .request
            .as_ref()
            .ok_or_else(|| EngineError::Failed("nothing to place".into()))?;
        let down = engine.down_nodes();
        let placed = {
            let cd = tx.placement(&self.vol.cluster_id, &down).await?;
            let candidates: Vec<heqet_topology::DeviceCandidate> = cd
                .devices
                .iter()
                .filter(|d| d.id != self.old.device_id)
                .cloned()
                .collect();
            let mut rng = rand::thread_rng();
            heqet_topology::place_replacement(&candidates, request, &mut rng)
                .map_err(|e| EngineError::Failed(e.to_string()))?
        };
        let row = BrickRow {
            id: placed.id.clone(),
            volume_id: self.vol.id.clone(),
            device_id: placed.device_id.clone(),
            node_id: placed.node_id.clone(),
            path: heqet_executor::brick_path(&placed.device_id, &placed.id),
            size: placed.size_kib as i64,
            tp_size: placed.tp_kib as i64,
            pool_metadata_size: placed.metadata_kib as i64,
            thin_pool: placed.thin_pool.clone(),
            lv: format!("brick_{}", placed.id),
            arbiter: self.old.arbiter,
            position: self.old.position,
            pending_op: Some(op.0.clone()),
        };
        tx.add_bricks(std::slice::from_ref(&row), true).await?;
        self.new = Some(row);
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let (Some(new), Some(worker)) = (self.new.clone(), self.worker.clone()) else {
            return Err(ExecFailure::Undone("nothing was placed".into()));
        };
        let new_node = target_of(&self.nodes, &new.node_id).map_err(ExecFailure::undone)?;
        if let Err(e) = engine
            .exec
            .brick_create(&new_node, &new.spec(self.vol.gid))
            .await
        {
            return Err(self.undone(engine, e.to_string()).await);
        }
        let (old_addr, new_addr) = match (self.addr(&self.old), self.addr(&new)) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return Err(self.undone(engine, e).await),
        };
        if let Err(e) = engine
            .exec
            .replace_brick(&worker, &self.vol.name, &old_addr, &new_addr)
            .await
        {
            return Err(self.undone(engine, e.to_string()).await);
        }
        // From here the volume uses the new brick: failures are kept for cleanup, which
        // carries the move on.
        self.destroy_old(engine).await.map_err(ExecFailure::dirty)
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<String> {
        tx.remove_brick(&self.old, self.reclaimed).await?;
        tx.settle_bricks_of_op(op.as_str()).await?;
        Ok(String::new())
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<()> {
        let bricks = tx.bricks_of_op(op.as_str()).await?;
        tx.remove_bricks(&bricks).await
    }

    /// Where gluster says the volume has the new brick, the move is carried on; otherwise
    /// the new brick is destroyed and the move rolled back.
    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        let Some(new) = self.new.clone() else {
            return Ok(Cleaned::Undone);
        };
        let worker = engine.working_node(&self.nodes, Some(&new.node_id)).await?;
        let status = engine.exec.volume_info(&worker, &self.vol.name).await?;
        if status.bricks.contains(&self.addr(&new)?) {
            self.destroy_old(engine).await?;
            return Ok(Cleaned::Done);
        }
        self.destroy_new(engine).await?;
        Ok(Cleaned::Undone)
    }
}
