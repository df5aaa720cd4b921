//! Crash recovery: journal entries left by a stopped server become `stale`; cleanup finishes
//! or undoes them on the nodes and in the store, and answers their `/queue` entries.
//! Also the background loops (cleaner, health monitor).

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use crate::model::*;
use crate::store::{self, write, StoreError};

const RESTARTED: &str =
    "The server restarted before this operation finished; check the state of the object and retry";

impl Engine {
    /// At start-up: every journal entry of a previous run is stale, and queue entries
    /// without a journal entry can no longer finish.
    pub async fn recover_on_start(&self) -> Result<usize, StoreError> {
        let mut w = self.store.writer().await;
        let stale = sqlx::query("UPDATE operations SET status = 'stale' WHERE status = ''")
            .execute(&mut w.conn)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE queue SET state = 'failed', message = ?, finished_at = ? \
             WHERE state = 'pending' AND (op_id IS NULL OR op_id NOT IN (SELECT id FROM operations))",
        )
        .bind(RESTARTED)
        .bind(now_secs())
        .execute(&mut w.conn)
        .await?;
        Ok(stale as usize)
    }

    /// Mark new entries older than `age` that are not running here as stale (another
    /// process died holding them).
    async fn mark_abandoned(&self, age: i64) -> Result<(), StoreError> {
        let ops = store::operation_rows(&self.store.read).await?;
        let cutoff = now_secs() - age;
        let mut w = self.store.writer().await;
        for op in ops {
            if op.status.is_empty() && op.created_at < cutoff && !self.is_in_flight(&op.id) {
                write::set_operation_status(&mut w.conn, &op.id, "stale").await?;
            }
        }
        Ok(())
    }

    /// Clean up stale and failed operations (`ids` empty = all). Failures are logged and the
    /// entry is kept as `failed`.
    pub async fn cleanup(&self, ids: &[String]) -> Result<(), StoreError> {
        let ops = store::operation_rows(&self.store.read).await?;
        for op in ops {
            if !ids.is_empty() && !ids.contains(&op.id) {
                continue;
            }
            if !(op.status == "stale" || op.status == "failed") || self.is_in_flight(&op.id) {
                continue;
            }
            if let Ok(mut s) = self.in_flight.lock() {
                s.insert(op.id.clone());
            }
            let result = self.clean_one(&op).await;
            if let Ok(mut s) = self.in_flight.lock() {
                s.remove(&op.id);
            }
            if let Err(e) = result {
                tracing::warn!(op = %op.id, kind = %op.kind, error = %e, "cleanup failed; kept as failed");
                let mut w = self.store.writer().await;
                write::set_operation_status(&mut w.conn, &op.id, "failed").await?;
            } else {
                tracing::info!(op = %op.id, kind = %op.kind, "cleaned up");
            }
        }
        Ok(())
    }

    async fn queue_ids_of(&self, op_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM queue WHERE op_id = ? AND state = 'pending'")
                .bind(op_id)
                .fetch_all(&self.store.read)
                .await?,
        )
    }

    async fn fail_queues(&self, queues: &[String], msg: &str) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        for q in queues {
            write::finish_queue(&mut w.conn, q, &Err(msg.to_string())).await?;
        }
        Ok(())
    }

    async fn clean_one(&self, op: &OperationRow) -> Result<(), String> {
        let queues = self.queue_ids_of(&op.id).await.map_err(|e| e.to_string())?;
        let first_q = queues.first().cloned().unwrap_or_default();
        let interrupted = |what: &str| {
            format!("{what} was interrupted (server stopped) and has been rolled back")
        };
        match &op.payload.0 {
            OpPayload::CreateVolume { volume_id } => {
                self.undo_volume_create(&op.id, volume_id).await?;
                self.rollback_volume_create_stale(
                    &op.id,
                    volume_id,
                    &queues,
                    &interrupted("Volume create"),
                )
                .await
                .map_err(|e| e.to_string())
            }
            OpPayload::DeleteVolume { volume_id } => {
                self.run_volume_delete(&op.id, volume_id, &first_q).await
            }
            OpPayload::ExpandVolume { volume_id, .. } => {
                self.undo_volume_expand(&op.id, volume_id).await?;
                self.rollback_expand(&op.id, volume_id, &first_q, &interrupted("Volume expand"))
                    .await
                    .map_err(|e| e.to_string())
            }
            OpPayload::CloneVolume { clone_id, .. } => {
                if let Ok(Some(clone)) = store::volume_row(&self.store.read, clone_id).await {
                    let nodes = store::nodes_of_cluster(&self.store.read, &clone.cluster_id)
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Some(n) = nodes.first() {
                        let t = n.target();
                        self.on_node(&t, || self.exec.volume_destroy(&t, &clone.name))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                self.rollback_clone(&op.id, clone_id, &first_q, &interrupted("Volume clone"))
                    .await
                    .map_err(|e| e.to_string())
            }
            OpPayload::RemoveDevice { .. } => {
                // Bricks moved so far stay moved; the device stays offline for a new try.
                let mut w = self.store.writer().await;
                write::delete_operation(&mut w.conn, &op.id)
                    .await
                    .map_err(|e| e.to_string())
            }
            OpPayload::AddDevice { device_id, .. } => {
                let dev = store::device_row(&self.store.read, device_id)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(dev) = dev {
                    if let Ok(Some(node)) = store::node_row(&self.store.read, &dev.node_id).await {
                        let t = node.target();
                        let dref = dev.device_ref();
                        // Forced: the device may be anywhere between untouched and a full VG.
                        self.on_node(&t, || self.exec.device_teardown(&t, &dref, true))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                let res: Result<(), StoreError> = async {
                    let mut w = self.store.writer().await;
                    let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
                    sqlx::query("DELETE FROM devices WHERE id = ? AND pending_op IS NOT NULL")
                        .bind(device_id)
                        .execute(&mut *tx)
                        .await?;
                    write::delete_operation(&mut tx, &op.id).await?;
                    tx.commit().await?;
                    w.devices.invalidate();
                    Ok(())
                }
                .await;
                res.map_err(|e| e.to_string())?;
                self.fail_queues(&queues, &interrupted("Device add"))
                    .await
                    .map_err(|e| e.to_string())
            }
            OpPayload::DeleteDevice {
                device_id,
                forceforget,
            } => {
                let dev = store::device_row(&self.store.read, device_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("device {device_id} not found"))?;
                let node = store::node_row(&self.store.read, &dev.node_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("node {} not found", dev.node_id))?;
                self.run_device_delete(&op.id, &dev, &node, *forceforget, &first_q)
                    .await
            }
            OpPayload::AddNode { node_id } => self
                .finish_node_add(&op.id, node_id, &first_q, Err(interrupted("Node add")))
                .await
                .map_err(|e| e.to_string()),
            OpPayload::DeleteNode { node_id } => {
                let node = store::node_row(&self.store.read, node_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("node {node_id} not found"))?;
                self.run_node_delete(&op.id, &node, &first_q).await
            }
        }
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
        let nodes: Vec<NodeRow> = match sqlx::query_as(
            "SELECT id, cluster_id, zone, manage, storage, tags, state, pending_op FROM nodes WHERE pending_op IS NULL",
        )
        .fetch_all(&self.store.read)
        .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "health monitor cannot list nodes");
                return;
            }
        };
        for n in nodes {
            let t = n.target();
            let ok = self.on_node(&t, || self.exec.glusterd_check(&t)).await;
            if let Err(e) = &ok {
                tracing::warn!(node = %n.id, host = %t.manage, error = %e, "node failed its health check");
            }
            self.set_node_health(&n.id, ok.is_ok()).await;
        }
    }
}
