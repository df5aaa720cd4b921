//! `POST /volumes`: choose a cluster and place the bricks (in the journaling transaction),
//! make bricks and the gluster volume, retry on a fresh placement when the nodes refused.

use std::sync::Arc;

use async_trait::async_trait;
use heqet_api::VolumeCreateRequest;
use heqet_topology::placement::VolumeRequest;
use sqlx::types::Json;

use super::error::OpError;
use super::nodework::{target_of, volume_spec, VolumeWork};
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::placement::{brick_changes, brick_rows, f32_as_f64, place, GIB_KIB, NO_DEVICES};
use super::{Engine, EngineError};
use crate::auth::Role;
use crate::config::Config;
use crate::model::*;
use crate::store::{StoreError, StoreResult, Tx};
use crate::validate::VolumePlan;

/// A validated volume create request.
pub struct NewVolume {
    pub req: VolumeCreateRequest,
    pub plan: VolumePlan,
    pub owner: Role,
}

pub(super) struct VolumeCreate {
    /// Clusters to try, in order.
    clusters: Vec<String>,
    preq: Option<VolumeRequest>,
    /// The volume's record (hidden until the create finishes), then its bricks and nodes.
    work: VolumeWork,
}

impl Engine {
    /// `POST /volumes`: checks, placement and journal; returns the queue id.
    pub async fn volume_create(self: &Arc<Self>, nv: NewVolume) -> Result<String, EngineError> {
        let read = self.store.read();
        let clusters = if nv.req.clusters.is_empty() {
            let all = read.cluster_ids().await?;
            if all.is_empty() {
                return Err(EngineError::Invalid("No clusters configured".into()));
            }
            all
        } else {
            for c in &nv.req.clusters {
                if read.cluster_row(c).await?.is_none() {
                    return Err(EngineError::Invalid(format!("Cluster id {c} not found")));
                }
            }
            nv.req.clusters.clone()
        };
        let data = nv.plan.layout.data_bricks();
        let min_kib = self.config.brick_min_size_gb * GIB_KIB * data;
        if (nv.req.size as u64) * GIB_KIB < min_kib {
            return Err(EngineError::Invalid(format!(
                "Requested volume size ({} GB) is smaller than the minimum supported volume size ({min_kib})",
                nv.req.size
            )));
        }
        let preq = self
            .placement_request(
                nv.req.size as u64,
                nv.plan.layout,
                nv.plan.snapshot_factor,
                0,
                &nv.plan.options,
            )
            .map_err(EngineError::Invalid)?;
        let volume_id = heqet_api::id::new_id();
        let name = if nv.req.name.is_empty() {
            format!("vol_{volume_id}")
        } else {
            nv.req.name.clone()
        };
        let vol = VolumeRow {
            id: volume_id,
            cluster_id: String::new(),
            name,
            size: nv.req.size,
            durability: Json(nv.req.durability.clone()),
            layout: Json(nv.plan.layout),
            gid: nv.req.gid,
            options: Json(self.stored_options(&nv.req)),
            block: nv.req.block,
            blockinfo: Json(block_info(&nv.req)),
            snapshot_enable: nv.req.snapshot.enable,
            snapshot_factor: f32_as_f64(nv.plan.snapshot_factor),
            owner: nv.owner.as_str().to_string(),
            hidden: true,
            pending_op: None,
        };
        self.start(VolumeCreate {
            clusters,
            preq: Some(preq),
            work: VolumeWork {
                vol,
                bricks: Vec::new(),
                nodes: Default::default(),
            },
        })
        .await
    }

    /// Cluster-level reasons a volume cannot go to `cluster_id` (heketi's texts).
    async fn cluster_refuses(
        &self,
        tx: &mut Tx<'_>,
        cluster_id: &str,
        name: &str,
        block: bool,
    ) -> Result<Option<String>, StoreError> {
        let Some(c) = tx.cluster_admission(cluster_id, name).await? else {
            return Ok(Some("Cluster not found".into()));
        };
        if !c.block && !c.file {
            return Ok(Some("Cluster has disabled all volume types".into()));
        }
        if (block && !c.block) || (!block && !c.file) {
            return Ok(Some(
                "Cluster does not support requested volume type".into(),
            ));
        }
        let limit = self.config.max_volumes_per_cluster;
        if limit >= 0 && c.volumes >= limit {
            return Ok(Some(format!(
                "Cluster has {} volumes and limit is {limit}",
                c.volumes
            )));
        }
        if c.name_taken {
            return Ok(Some(format!("Volume name '{name}' already in use")));
        }
        if c.nodes == 0 {
            return Ok(Some("No nodes in cluster".into()));
        }
        Ok(None)
    }

    /// Undo a create's node side: the gluster volume (if it got that far), then the bricks.
    async fn unmake_volume(&self, work: &VolumeWork) -> Result<(), OpError> {
        let VolumeWork { vol, bricks, nodes } = work;
        if let Some(b) = bricks.first() {
            let t = target_of(nodes, &b.node_id)?;
            self.exec.volume_destroy(&t, &vol.name).await?;
        }
        self.destroy_bricks(bricks, nodes, vol.gid)
            .await
            .map(|_| ())
    }
}

impl VolumeCreate {
    /// After a crash: the volume and the bricks its journal entry holds.
    pub(super) async fn load(engine: &Engine, op: &OpId, volume_id: &str) -> Result<Self, OpError> {
        let work = engine.load_work(op.as_str(), volume_id).await?;
        // Only a retry places again, and a rebuilt create is not retried.
        let preq = engine.request_for(&work.vol, work.vol.size as u64, 0).ok();
        Ok(VolumeCreate {
            clusters: vec![work.vol.cluster_id.clone()],
            preq,
            work,
        })
    }
}

#[async_trait]
impl Operation for VolumeCreate {
    fn payload(&self) -> OpPayload {
        OpPayload::CreateVolume {
            volume_id: self.work.vol.id.clone(),
        }
    }

    fn changes(&self) -> Vec<Change> {
        brick_changes(&self.work.bricks, &self.work.vol.id, "Add volume")
    }

    fn owner(&self) -> Role {
        if self.work.vol.owner == Role::User.as_str() {
            Role::User
        } else {
            Role::Admin
        }
    }

    async fn prepare(
        &mut self,
        engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let down = engine.down_nodes();
        let vol = &mut self.work.vol;
        let Some(preq) = &self.preq else {
            return Err(EngineError::Failed(
                "Failed to allocate new volume: nothing to place".into(),
            ));
        };
        let mut reasons = Vec::new();
        let mut chosen = None;
        for cid in &self.clusters {
            if let Some(reason) = engine
                .cluster_refuses(tx, cid, &vol.name, vol.block)
                .await?
            {
                reasons.push((cid.clone(), reason));
                continue;
            }
            let cd = tx.placement(cid, &down).await?;
            match place(&cd.devices, preq, &engine.limits()) {
                Ok(p) => {
                    let nodes = p
                        .bricks
                        .iter()
                        .filter_map(|b| cd.nodes.get(&b.node_id).map(|n| (n.id.clone(), n.clone())))
                        .collect();
                    chosen = Some((cid.clone(), p, nodes));
                    break;
                }
                // heketi reports every "does not fit" on create as No space.
                Err(reason) if !reason.starts_with("No space") && reason != NO_DEVICES => {
                    reasons.push((cid.clone(), format!("No space: {reason}")))
                }
                Err(reason) => reasons.push((cid.clone(), reason)),
            }
        }
        let Some((cluster_id, placement, nodes)) = chosen else {
            let reason = if reasons.len() == 1 {
                reasons.remove(0).1
            } else {
                let mut s = String::from("Unable to create volume on any cluster:");
                for (c, r) in &reasons {
                    s.push_str(&format!("\nCluster {c}: {r}"));
                }
                s
            };
            return Err(EngineError::Failed(format!(
                "Failed to allocate new volume: {reason}"
            )));
        };
        vol.cluster_id = cluster_id;
        vol.pending_op = Some(op.0.clone());
        self.work.bricks = brick_rows(&placement, &vol.id, op.as_str(), 0);
        self.work.nodes = nodes;
        tx.insert_volume(vol).await?;
        tx.add_bricks(&self.work.bricks, true).await?;
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let VolumeWork { vol, bricks, nodes } = &self.work;
        engine.create_bricks(bricks, nodes, vol.gid).await?;
        let spec = volume_spec(vol, bricks, nodes, true).map_err(ExecFailure::dirty)?;
        let first_brick = bricks
            .first()
            .ok_or_else(|| ExecFailure::Dirty(format!("volume {} has no bricks", vol.id)))?;
        let first = target_of(nodes, &first_brick.node_id).map_err(ExecFailure::dirty)?;
        if let Err(e) = engine.exec.volume_create(&first, &spec).await {
            let msg = e.to_string();
            let undo_vol = engine.exec.volume_destroy(&first, &vol.name).await;
            let undo_bricks = engine.destroy_bricks(bricks, nodes, vol.gid).await;
            return match (undo_vol, undo_bricks) {
                (Ok(()), Ok(_)) => Err(ExecFailure::Undone(msg)),
                (Err(u), _) => Err(ExecFailure::Dirty(format!("{msg}; undo: {u}"))),
                (_, Err(u)) => Err(ExecFailure::Dirty(format!("{msg}; undo: {u}"))),
            };
        }
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<String> {
        tx.settle_volume(&self.work.vol.id).await?;
        tx.settle_bricks_of_op(op.as_str()).await?;
        Ok(format!("/volumes/{}", self.work.vol.id))
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<()> {
        let bricks = tx.bricks_of_op(op.as_str()).await?;
        tx.remove_bricks(&bricks).await?;
        tx.delete_volume(&self.work.vol.id).await
    }

    fn retries(&self, config: &Config) -> u32 {
        config.volume_create_retries
    }

    /// Swap the bricks of the failed attempt for a fresh placement, in one transaction,
    /// placing as if the old bricks' space were free again.
    async fn retry(&mut self, engine: &Engine, op: &OpId) -> Result<(), OpError> {
        let down = engine.down_nodes();
        let vol = &self.work.vol;
        let mut w = engine.store.writer().await;
        let mut tx = w.begin().await?;
        let old = tx.bricks_of_op(op.as_str()).await?;
        let (placement, nodes) = {
            let cd = tx.placement(&vol.cluster_id, &down).await?;
            let mut devices = cd.devices.clone();
            for d in devices.iter_mut() {
                let back: i64 = old
                    .iter()
                    .filter(|b| b.device_id == d.id)
                    .map(BrickRow::reserved)
                    .sum();
                d.free_kib = (d.free_kib as i64 + back).max(0) as u64;
            }
            let preq = self
                .preq
                .as_ref()
                .ok_or_else(|| OpError::Refused("nothing to place".into()))?;
            let placed = place(&devices, preq, &engine.limits()).map_err(OpError::Refused)?;
            (placed, cd.nodes.clone())
        };
        let new = brick_rows(&placement, &vol.id, op.as_str(), 0);
        let res: StoreResult<()> = async {
            tx.remove_bricks(&old).await?;
            tx.add_bricks(&new, true).await?;
            tx.set_operation_changes(op.as_str(), &brick_changes(&new, &vol.id, "Add volume"))
                .await?;
            tx.commit().await
        }
        .await;
        res?;
        self.work.nodes = new
            .iter()
            .filter_map(|b| nodes.get(&b.node_id).map(|n| (n.id.clone(), n.clone())))
            .collect();
        self.work.bricks = new;
        Ok(())
    }

    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        engine.unmake_volume(&self.work).await?;
        Ok(Cleaned::Undone)
    }
}

fn block_info(req: &VolumeCreateRequest) -> heqet_api::BlockInfo {
    if !req.block {
        return heqet_api::BlockInfo::default();
    }
    let free = req.size * 98 / 100;
    heqet_api::BlockInfo {
        freesize: free,
        reservedsize: req.size - free,
        ..Default::default()
    }
}
