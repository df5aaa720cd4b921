//! `POST /volumes/{id}/expand`: place new bricks (in the journaling transaction), make them,
//! add them to the gluster volume (and rebalance, if configured).

use std::sync::Arc;

use async_trait::async_trait;
use heqet_topology::placement::VolumeRequest;

use super::error::OpError;
use super::nodework::{target_of, volume_spec, VolumeWork};
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::placement::{brick_changes, brick_rows, place};
use super::volume_delete::IN_USE;
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{StoreResult, Tx};

pub(super) struct VolumeExpand {
    expand_size: i64,
    /// `None` when rebuilt after a crash (nothing is placed then).
    preq: Option<VolumeRequest>,
    /// The next brick's position in gluster's brick order.
    next_position: i64,
    /// The volume and the bricks this expansion adds.
    work: VolumeWork,
}

fn alloc_err(reason: impl std::fmt::Display) -> EngineError {
    EngineError::Failed(format!("Failed to allocate volume expansion: {reason}"))
}

impl Engine {
    /// `POST /volumes/{id}/expand`.
    pub async fn volume_expand(
        self: &Arc<Self>,
        volume_id: &str,
        expand_size: i64,
    ) -> Result<String, EngineError> {
        let read = self.store.read();
        let Some(vol) = read.volume_row(volume_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        if vol.hidden {
            return Err(EngineError::IdNotFound);
        }
        if vol.pending_op.is_some() {
            return Err(alloc_err(IN_USE));
        }
        let existing = read.bricks_of_volume(volume_id).await?;
        let preq = self
            .request_for(&vol, expand_size as u64, existing.len())
            .map_err(alloc_err)?;
        let next_position = existing.iter().map(|b| b.position + 1).max().unwrap_or(0);
        self.start(VolumeExpand {
            expand_size,
            preq: Some(preq),
            next_position,
            work: VolumeWork {
                vol,
                bricks: Vec::new(),
                nodes: Default::default(),
            },
        })
        .await
    }
}

impl VolumeExpand {
    pub(super) async fn load(
        engine: &Engine,
        op: &OpId,
        volume_id: &str,
        expand_size: i64,
    ) -> Result<Self, OpError> {
        let work = engine.load_work(op.as_str(), volume_id).await?;
        Ok(VolumeExpand {
            expand_size,
            preq: None,
            next_position: 0,
            work,
        })
    }
}

#[async_trait]
impl Operation for VolumeExpand {
    fn payload(&self) -> OpPayload {
        OpPayload::ExpandVolume {
            volume_id: self.work.vol.id.clone(),
            expand_size: self.expand_size,
        }
    }

    fn changes(&self) -> Vec<Change> {
        brick_changes(&self.work.bricks, &self.work.vol.id, "Expand volume")
    }

    async fn prepare(
        &mut self,
        engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let down = engine.down_nodes();
        let vol = &self.work.vol;
        let (placement, nodes) = {
            let cd = tx.placement(&vol.cluster_id, &down).await?;
            let preq = self
                .preq
                .as_ref()
                .ok_or_else(|| alloc_err("nothing to place"))?;
            let p = place(&cd.devices, preq, &engine.limits()).map_err(alloc_err)?;
            let nodes = p
                .bricks
                .iter()
                .filter_map(|b| cd.nodes.get(&b.node_id).map(|n| (n.id.clone(), n.clone())))
                .collect();
            (p, nodes)
        };
        if !tx.claim_volume(&vol.id, op.as_str(), false).await? {
            return Err(alloc_err(IN_USE));
        }
        self.work.bricks = brick_rows(&placement, &vol.id, op.as_str(), self.next_position);
        self.work.nodes = nodes;
        tx.add_bricks(&self.work.bricks, true).await?;
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let VolumeWork { vol, bricks, nodes } = &self.work;
        let failed = |msg: &str| format!("Failed to expand volume: {msg}");
        engine
            .create_bricks(bricks, nodes, vol.gid)
            .await
            .map_err(|e| match e {
                ExecFailure::Undone(m) => ExecFailure::Undone(failed(&m)),
                dirty => dirty,
            })?;
        let spec = volume_spec(vol, bricks, nodes, false).map_err(ExecFailure::dirty)?;
        let first_brick = bricks
            .first()
            .ok_or_else(|| ExecFailure::Dirty(format!("expansion of {} has no bricks", vol.id)))?;
        let first = target_of(nodes, &first_brick.node_id).map_err(ExecFailure::dirty)?;
        let rebalance = engine.config.rebalance_on_expansion;
        if let Err(e) = engine.exec.volume_expand(&first, &spec, rebalance).await {
            let msg = e.to_string();
            return match engine.destroy_bricks(bricks, nodes, vol.gid).await {
                Ok(_) => Err(ExecFailure::Undone(failed(&msg))),
                Err(u) => Err(ExecFailure::Dirty(format!("{msg}; undo: {u}"))),
            };
        }
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<String> {
        tx.grow_volume(&self.work.vol.id, self.expand_size).await?;
        tx.settle_bricks_of_op(op.as_str()).await?;
        Ok(format!("/volumes/{}", self.work.vol.id))
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<()> {
        let bricks = tx.bricks_of_op(op.as_str()).await?;
        tx.remove_bricks(&bricks).await?;
        tx.settle_volume(&self.work.vol.id).await
    }

    /// If gluster already took the new bricks, the expansion is complete on the nodes and
    /// is finished (destroying bricks a volume uses would break it); otherwise the bricks
    /// are destroyed and the expansion rolled back.
    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        let VolumeWork { vol, bricks, nodes } = &self.work;
        let Some(first) = bricks.first() else {
            return Ok(Cleaned::Undone);
        };
        let on = target_of(nodes, &first.node_id)?;
        let added = volume_spec(vol, bricks, nodes, false)?.bricks;
        let status = engine.exec.volume_info(&on, &vol.name).await?;
        if added.iter().all(|b| status.bricks.contains(b)) {
            return Ok(Cleaned::Done);
        }
        engine.destroy_bricks(bricks, nodes, vol.gid).await?;
        Ok(Cleaned::Undone)
    }
}
