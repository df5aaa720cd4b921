//! Crash recovery: journal entries left by a stopped server become `stale`; cleanup rebuilds
//! each as its operation and lets the runner end it (`clean`, then `finish` or `rollback`).
//! Also the background loops (cleaner, health monitor).

use std::sync::Arc;
use std::time::Duration;

use super::brick_evict::BrickEvict;
use super::device_add::{DeviceAdd, DeviceDelete};
use super::device_state::RemoveDevice;
use super::error::OpError;
use super::node_ops::{NodeAdd, NodeDelete};
use super::op::{interrupted, OpId};
use super::volume_clone::VolumeClone;
use super::volume_create::VolumeCreate;
use super::volume_delete::VolumeDelete;
use super::volume_expand::VolumeExpand;
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{StoreError, StoreResult};

const RESTARTED: &str =
    "The server restarted before this operation finished; check the state of the object and retry";

impl Engine {
    /// At start-up: every journal entry of a previous run is stale, and queue entries
    /// without a journal entry can no longer finish.
    pub async fn recover_on_start(&self) -> Result<usize, StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        let stale = tx.mark_new_operations_stale().await?;
        tx.fail_orphaned_queues(RESTARTED).await?;
        tx.commit().await?;
        Ok(stale as usize)
    }

    /// Mark new entries older than `age` that are not running here as stale (another
    /// process died holding them).
    async fn mark_abandoned(&self, age: i64) -> Result<(), StoreError> {
        let ops = self.store.read().operation_rows().await?;
        let cutoff = now_secs() - age;
        for op in ops {
            if op.status == OpStatus::New && op.created_at < cutoff && !self.is_in_flight(&op.id) {
                self.set_status(&op.id, OpStatus::Stale).await?;
            }
        }
        Ok(())
    }

    async fn set_status(&self, op_id: &str, status: OpStatus) -> StoreResult<()> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        tx.set_operation_status(op_id, status).await?;
        tx.commit().await
    }

    /// Clean up stale and failed operations (`ids` empty = all). Failures are logged and the
    /// entry is kept as `failed`.
    pub async fn cleanup(&self, ids: &[String]) -> Result<(), StoreError> {
        let ops = self.store.read().operation_rows().await?;
        for op in ops {
            if !ids.is_empty() && !ids.contains(&op.id) {
                continue;
            }
            if !op.status.cleanable() || self.is_in_flight(&op.id) {
                continue;
            }
            self.set_in_flight(&op.id, true);
            let result = self.clean_one(&op).await;
            self.set_in_flight(&op.id, false);
            if let Err(e) = result {
                tracing::warn!(op = %op.id, kind = %op.kind, error = %e, "cleanup failed; kept as failed");
                self.set_status(&op.id, OpStatus::Failed).await?;
            } else {
                tracing::info!(op = %op.id, kind = %op.kind, "cleaned up");
            }
        }
        Ok(())
    }

    /// `POST /operations/pending/cleanup`: clean up in the background, with a queue entry.
    pub async fn start_cleanup(self: &Arc<Self>, ids: Vec<String>) -> Result<String, EngineError> {
        let admission = self.admit()?;
        let engine = self.clone();
        self.start_task(admission, async move {
            engine.cleanup(&ids).await.map_err(OpError::from)
        })
        .await
    }

    /// Rebuild the operation of a journal entry and end it.
    async fn clean_one(&self, op: &OperationRow) -> Result<(), OpError> {
        let id = OpId(op.id.clone());
        match &op.payload.0 {
            OpPayload::CreateVolume { volume_id } => {
                let o = VolumeCreate::load(self, &id, volume_id).await?;
                self.clean_with(o, &id).await
            }
            OpPayload::DeleteVolume { volume_id } => {
                let o = VolumeDelete::load(self, volume_id).await?;
                self.clean_with(o, &id).await
            }
            OpPayload::ExpandVolume {
                volume_id,
                expand_size,
            } => {
                let o = VolumeExpand::load(self, &id, volume_id, *expand_size).await?;
                self.clean_with(o, &id).await
            }
            OpPayload::CloneVolume {
                origin_id,
                clone_id,
            } => {
                let o = VolumeClone::load(self, origin_id, clone_id).await?;
                self.clean_with(o, &id).await
            }
            OpPayload::RemoveDevice {
                device_id,
                healcheck,
            } => {
                self.clean_with(RemoveDevice::load(device_id, *healcheck), &id)
                    .await
            }
            OpPayload::AddDevice {
                device_id,
                destroydata,
            } => match DeviceAdd::load(self, device_id, *destroydata).await? {
                Some(o) => self.clean_with(o, &id).await,
                // Nothing of the device is left in the store: only the entry remains.
                None => self.forget(&id, &interrupted("Device add")).await,
            },
            OpPayload::DeleteDevice {
                device_id,
                forceforget,
            } => {
                let o = DeviceDelete::load(self, device_id, *forceforget).await?;
                self.clean_with(o, &id).await
            }
            OpPayload::AddNode { node_id } => match NodeAdd::load(self, node_id).await? {
                Some(o) => self.clean_with(o, &id).await,
                None => self.forget(&id, &interrupted("Node add")).await,
            },
            OpPayload::EvictBrick {
                brick_id,
                volume_id,
            } => match BrickEvict::load(self, &id, brick_id, volume_id).await? {
                Some(o) => self.clean_with(o, &id).await,
                None => self.forget(&id, &interrupted("Brick evict")).await,
            },
            OpPayload::DeleteNode { node_id } => {
                let o = NodeDelete::load(self, node_id).await?;
                self.clean_with(o, &id).await
            }
        }
    }

    /// Drop a journal entry that describes nothing any more, failing its queue entries.
    async fn forget(&self, id: &OpId, msg: &str) -> Result<(), OpError> {
        let mut w = self.store.writer().await;
        let r: StoreResult<()> = async {
            let mut tx = w.begin().await?;
            tx.delete_operation(id.as_str()).await?;
            tx.finish_queues_of(id.as_str(), &Err(msg.to_string()))
                .await?;
            tx.commit().await
        }
        .await;
        Ok(r?)
    }

    /// The background cleaner and the node health monitor, as configured.
    pub fn start_background(self: &Arc<Self>) {
        if !self.config.disable_background_cleaner {
            let engine = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(
                    engine.config.start_time_background_cleaner,
                ))
                .await;
                loop {
                    if let Err(e) = engine.mark_abandoned(60).await {
                        tracing::warn!(error = %e, "background cleaner");
                    }
                    if let Err(e) = engine.cleanup(&[]).await {
                        tracing::warn!(error = %e, "background cleaner");
                    }
                    if let Err(e) = engine.expire_queue().await {
                        tracing::warn!(error = %e, "expiring queue entries");
                    }
                    tokio::time::sleep(Duration::from_secs(
                        engine.config.refresh_time_background_cleaner.max(1),
                    ))
                    .await;
                }
            });
        }
        if !self.config.disable_health_monitor {
            let engine = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(engine.config.start_time_monitor)).await;
                loop {
                    engine.check_nodes().await;
                    tokio::time::sleep(Duration::from_secs(
                        engine.config.refresh_time_monitor.max(1),
                    ))
                    .await;
                }
            });
        }
    }

    /// One round of the health monitor: glusterd check of every node.
    pub async fn check_nodes(&self) {
        let nodes = match self.store.read().nodes(None).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "health monitor cannot list nodes");
                return;
            }
        };
        for n in nodes {
            let t = n.target();
            let ok = self.exec.glusterd_check(&t).await;
            if let Err(e) = &ok {
                tracing::warn!(node = %n.id, host = %t.manage, error = %e, "node failed its health check");
            }
            self.set_node_health(&n.id, ok.is_ok()).await;
        }
    }
}
