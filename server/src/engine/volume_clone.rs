//! `POST /volumes/{id}/clone`: a hidden copy of the volume's record, gluster's snapshot clone
//! on one node, then the clone's bricks as gluster reports them (they live in the origin's
//! thin pools and take no new space). Also the block-hosting restriction flag.

use std::sync::Arc;

use async_trait::async_trait;
use heqet_executor::VolumeStatus;

use super::error::OpError;
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::placement::change;
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{StoreResult, Tx};

pub(super) struct VolumeClone {
    origin: VolumeRow,
    clone_id: String,
    name: String,
    /// What gluster made, once `exec` ran.
    made: Option<VolumeStatus>,
    origin_bricks: Vec<BrickRow>,
}

impl Engine {
    /// `POST /volumes/{id}/clone`.
    pub async fn volume_clone(
        self: &Arc<Self>,
        origin_id: &str,
        name: &str,
    ) -> Result<String, EngineError> {
        let Some(origin) = self.store.read().volume_row(origin_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        if origin.hidden {
            return Err(EngineError::IdNotFound);
        }
        if origin.block {
            return Err(EngineError::Failed(format!(
                "Failed clone volume {origin_id}: Cloning of block hosting volumes is not supported"
            )));
        }
        let clone_id = heqet_api::id::new_id();
        let name = if name.is_empty() {
            format!("vol_{clone_id}")
        } else {
            name.to_string()
        };
        self.start(VolumeClone {
            origin,
            clone_id,
            name,
            made: None,
            origin_bricks: Vec::new(),
        })
        .await
    }

    /// `POST /volumes/{id}/block-restriction` (block-hosting volumes only; checked by the
    /// handler). Immediate: the queue entry is finished in the same transaction.
    pub async fn volume_block_restriction(
        self: &Arc<Self>,
        volume_id: &str,
        restriction: &str,
    ) -> Result<String, EngineError> {
        let admission = self.admit()?;
        let queue_id = heqet_api::id::new_id();
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        let Some(vol) = tx.volume_row(volume_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        let mut info = vol.blockinfo.0.clone();
        info.restriction = restriction.to_string();
        tx.set_block_info(volume_id, &info).await?;
        tx.insert_queue(&queue_id, None, "admin").await?;
        tx.finish_queue(&queue_id, &Ok(format!("/volumes/{volume_id}")))
            .await?;
        tx.commit().await?;
        drop(admission);
        Ok(queue_id)
    }

    /// The node gluster commands of a cluster run on: the first by id.
    async fn first_node_of(&self, cluster_id: &str) -> Result<Option<NodeRow>, OpError> {
        let mut nodes = self.store.read().nodes_of_cluster(cluster_id).await?;
        nodes.truncate(1);
        Ok(nodes.pop())
    }
}

impl VolumeClone {
    pub(super) async fn load(
        engine: &Engine,
        origin_id: &str,
        clone_id: &str,
    ) -> Result<Self, OpError> {
        let origin = engine.load_volume(origin_id).await?;
        let name = engine
            .store
            .read()
            .volume_row(clone_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        Ok(VolumeClone {
            origin,
            clone_id: clone_id.to_string(),
            name,
            made: None,
            origin_bricks: Vec::new(),
        })
    }

    /// Clone bricks match the origin's by position in gluster's brick order.
    fn clone_bricks(&self) -> Vec<BrickRow> {
        let status = self.made.clone().unwrap_or_default();
        let gluster_uuid = status.id.replace('-', "");
        let lv_base = if gluster_uuid.is_empty() {
            self.clone_id.as_str()
        } else {
            gluster_uuid.as_str()
        };
        self.origin_bricks
            .iter()
            .enumerate()
            .map(|(i, ob)| BrickRow {
                id: heqet_api::id::new_id(),
                volume_id: self.clone_id.clone(),
                device_id: ob.device_id.clone(),
                node_id: ob.node_id.clone(),
                path: status
                    .bricks
                    .get(i)
                    .map(|a| a.path.clone())
                    .unwrap_or_else(|| {
                        format!("/run/gluster/snaps/{}/brick{}/brick", self.clone_id, i + 1)
                    }),
                size: ob.size,
                tp_size: 0,
                pool_metadata_size: 0,
                thin_pool: ob.thin_pool.clone(),
                lv: format!("{lv_base}_{i}"),
                arbiter: ob.arbiter,
                position: ob.position,
                pending_op: None,
            })
            .collect()
    }
}

#[async_trait]
impl Operation for VolumeClone {
    fn payload(&self) -> OpPayload {
        OpPayload::CloneVolume {
            origin_id: self.origin.id.clone(),
            clone_id: self.clone_id.clone(),
        }
    }

    fn changes(&self) -> Vec<Change> {
        vec![
            change(&self.origin.id, "Clone volume from"),
            change(&self.clone_id, "Add volume"),
        ]
    }

    async fn prepare(
        &mut self,
        _engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        if tx
            .volume_name_taken(&self.origin.cluster_id, &self.name)
            .await?
        {
            return Err(EngineError::Failed(format!(
                "Failed clone volume {}: Volume name '{}' already in use",
                self.origin.id, self.name
            )));
        }
        tx.insert_volume_copy(&self.origin.id, &self.clone_id, &self.name, op.as_str())
            .await?;
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let origin_bricks = engine
            .store
            .read()
            .bricks_of_volume(&self.origin.id)
            .await
            .map_err(ExecFailure::undone)?;
        let first = engine
            .first_node_of(&self.origin.cluster_id)
            .await
            .map_err(ExecFailure::undone)?
            .ok_or_else(|| ExecFailure::Undone("no node in the cluster".into()))?;
        let t = first.target();
        let status = engine
            .exec
            .volume_clone(&t, &self.origin.name, &self.name)
            .await
            .map_err(|e| {
                ExecFailure::Undone(format!("Failed clone volume {}: {e}", self.origin.id))
            })?;
        self.origin_bricks = origin_bricks;
        self.made = Some(status);
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.add_bricks(&self.clone_bricks(), false).await?;
        tx.settle_volume(&self.clone_id).await?;
        Ok(format!("/volumes/{}", self.clone_id))
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<()> {
        tx.delete_bricks_of_volume(&self.clone_id).await?;
        tx.delete_volume(&self.clone_id).await
    }

    /// If gluster made the clone, it is kept: its bricks are recorded as `finish` would.
    /// Otherwise whatever may be left of it is deleted and the clone rolled back.
    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        if self.name.is_empty() {
            return Ok(Cleaned::Undone);
        }
        let Some(n) = engine.first_node_of(&self.origin.cluster_id).await? else {
            return Ok(Cleaned::Undone);
        };
        let on = n.target();
        if let Ok(status) = engine.exec.volume_info(&on, &self.name).await {
            self.origin_bricks = engine
                .store
                .read()
                .bricks_of_volume(&self.origin.id)
                .await?;
            self.made = Some(status);
            return Ok(Cleaned::Done);
        }
        engine.exec.volume_destroy(&on, &self.name).await?;
        Ok(Cleaned::Undone)
    }
}
