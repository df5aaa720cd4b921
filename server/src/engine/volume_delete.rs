//! `DELETE /volumes/{id}`: claim and hide the volume, stop and delete it on the nodes, destroy
//! its bricks. A delete that fails leaves the volume visible and deletable again.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;

use super::error::OpError;
use super::nodework::{target_of, Nodes};
use super::op::{carry_on, Cleaned, ExecFailure, OpId, Operation};
use super::placement::change;
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{StoreResult, Tx};

pub(super) const IN_USE: &str = "The target exists, contains other items, or is in use.";

pub(super) struct VolumeDelete {
    vol: VolumeRow,
    bricks: Vec<BrickRow>,
    /// Per brick: whether its space was reclaimed on the node.
    reclaimed: Vec<bool>,
}

impl Engine {
    /// `DELETE /volumes/{id}`.
    pub async fn volume_delete(self: &Arc<Self>, volume_id: &str) -> Result<String, EngineError> {
        let Some(vol) = self.store.read().volume_row(volume_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        // Volumes being created or deleted are invisible, as in heketi.
        if vol.hidden {
            return Err(EngineError::IdNotFound);
        }
        if vol.name == "heketidbstorage" {
            return Err(EngineError::Conflict(
                "Cannot delete volume containing the Heketi database".into(),
            ));
        }
        if !vol.blockinfo.blockvolume.is_empty() {
            return Err(EngineError::Conflict(
                "Cannot delete a block hosting volume containing block volumes".into(),
            ));
        }
        self.start(VolumeDelete {
            vol,
            bricks: Vec::new(),
            reclaimed: Vec::new(),
        })
        .await
    }

    /// Stop and delete the gluster volume, then destroy its bricks. Refuses before touching
    /// anything if a brick's node cannot take the work: a half deleted volume helps nobody,
    /// an intact one keeps serving.
    async fn delete_on_nodes(
        &self,
        vol: &VolumeRow,
        bricks: &[BrickRow],
        nodes: &Nodes,
    ) -> Result<Vec<bool>, OpError> {
        let mut brick_nodes: Vec<&str> = bricks.iter().map(|b| b.node_id.as_str()).collect();
        brick_nodes.sort_unstable();
        brick_nodes.dedup();
        let targets = brick_nodes
            .into_iter()
            .map(|nid| target_of(nodes, nid))
            .collect::<Result<Vec<_>, _>>()?;
        // All nodes checked at once; the first failure (in node id order) is reported.
        let checks = join_all(targets.iter().map(|t| async move {
            self.exec
                .glusterd_check(t)
                .await
                .map_err(|e| OpError::Refused(format!("node {} cannot take part: {e}", t.manage)))
        }))
        .await;
        checks.into_iter().collect::<Result<Vec<()>, OpError>>()?;
        let mut last_err = OpError::Refused("no node of the cluster is available".into());
        let mut done = false;
        for n in nodes.values().filter(|n| !self.is_down(&n.id)) {
            match self.exec.volume_destroy(&n.target(), &vol.name).await {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(e) => last_err = e.into(),
            }
        }
        if !done {
            return Err(last_err);
        }
        self.destroy_bricks(bricks, nodes, vol.gid).await
    }
}

impl VolumeDelete {
    pub(super) async fn load(engine: &Engine, volume_id: &str) -> Result<Self, OpError> {
        Ok(VolumeDelete {
            vol: engine.load_volume(volume_id).await?,
            bricks: Vec::new(),
            reclaimed: Vec::new(),
        })
    }
}

#[async_trait]
impl Operation for VolumeDelete {
    fn payload(&self) -> OpPayload {
        OpPayload::DeleteVolume {
            volume_id: self.vol.id.clone(),
        }
    }

    fn changes(&self) -> Vec<Change> {
        self.bricks
            .iter()
            .map(|b| change(&b.id, "Delete brick"))
            .chain(std::iter::once(change(&self.vol.id, "Delete volume")))
            .collect()
    }

    async fn prepare(
        &mut self,
        _engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let in_use = || EngineError::Failed(format!("Failed to set up volume delete: {IN_USE}"));
        // Conditional: another operation may have claimed the volume since we read it.
        if !tx.claim_volume(&self.vol.id, op.as_str(), true).await? {
            return Err(in_use());
        }
        if tx.busy_bricks(&self.vol.id, false).await? > 0 {
            return Err(in_use());
        }
        self.bricks = tx.bricks_of_volume(&self.vol.id).await?;
        tx.claim_bricks_of_volume(&self.vol.id, op.as_str()).await?;
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let bricks = engine
            .store
            .read()
            .bricks_of_volume(&self.vol.id)
            .await
            .map_err(ExecFailure::undone)?;
        let nodes = engine
            .cluster_nodes(&self.vol.cluster_id)
            .await
            .map_err(ExecFailure::undone)?;
        match engine.delete_on_nodes(&self.vol, &bricks, &nodes).await {
            Ok(reclaimed) => {
                self.bricks = bricks;
                self.reclaimed = reclaimed;
                Ok(())
            }
            Err(msg) => Err(ExecFailure::Undone(format!(
                "Unable to delete volume {}: {msg}",
                self.vol.name
            ))),
        }
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        for (b, r) in self.bricks.iter().zip(&self.reclaimed) {
            tx.remove_brick(b, *r).await?;
        }
        tx.delete_volume(&self.vol.id).await?;
        Ok(String::new())
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<()> {
        tx.settle_volume(&self.vol.id).await?;
        tx.settle_bricks_of_op(op.as_str()).await
    }

    /// A stale delete is carried on: deleting twice is harmless, half a delete is not.
    async fn clean(&mut self, engine: &Engine, op: &OpId) -> Result<Cleaned, OpError> {
        carry_on(self, engine, op).await
    }
}
