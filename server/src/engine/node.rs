//! Node operations: add (glusterd check, peer probe), delete (peer detach), state changes.

use std::sync::Arc;

use heqet_api::NodeAddRequest;
use sqlx::types::Json;

use super::{exec_msg, Engine};
use crate::error::ApiError;
use crate::model::*;
use crate::store::{self, write, StoreError};

impl Engine {
    /// `POST /nodes`: checks, then the peer probe in the background.
    pub async fn node_add(self: &Arc<Self>, req: NodeAddRequest) -> Result<String, ApiError> {
        let pool = &self.store.read;
        if store::cluster_row(pool, &req.cluster).await?.is_none() {
            return Err(ApiError::NotFound("Cluster id does not exist".into()));
        }
        for h in req.hostnames.manage.iter().chain(&req.hostnames.storage) {
            let owner: Option<String> =
                sqlx::query_scalar("SELECT node_id FROM node_hostnames WHERE hostname = ?")
                    .bind(h)
                    .fetch_optional(pool)
                    .await
                    .map_err(StoreError::from)?;
            if let Some(id) = owner {
                return Err(ApiError::Conflict(format!(
                    "Hostname {h} already used by node with id {id}"
                )));
            }
        }
        let new_target = heqet_executor::NodeTarget {
            manage: req.hostnames.manage.first().cloned().unwrap_or_default(),
            storage: req.hostnames.storage.first().cloned().unwrap_or_default(),
        };
        let peers = store::nodes_of_cluster(pool, &req.cluster).await?;
        // heketi probes from a verified node of the cluster; the first node is checked itself.
        let probe_from = if peers.is_empty() {
            self.on_node(&new_target, || self.exec.glusterd_check(&new_target))
                .await
                .map_err(|e| {
                    ApiError::BadRequest(format!(
                        "New Node doesn't have glusterd running: {}",
                        exec_msg(&e)
                    ))
                })?;
            None
        } else {
            let mut found = None;
            let mut last = String::new();
            for p in peers.iter().filter(|p| p.state == "online") {
                let t = p.target();
                match self.on_node(&t, || self.exec.glusterd_check(&t)).await {
                    Ok(()) => {
                        found = Some(t);
                        break;
                    }
                    Err(e) => last = exec_msg(&e),
                }
            }
            match found {
                Some(t) => Some(t),
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "None of the nodes in cluster has glusterd running{}",
                        if last.is_empty() {
                            String::new()
                        } else {
                            format!(": {last}")
                        }
                    )))
                }
            }
        };
        let admission = self.admit()?;
        let node_id = heqet_api::id::new_id();
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            sqlx::query(
                "INSERT INTO nodes (id, cluster_id, zone, manage, storage, tags, state, pending_op) \
                 VALUES (?, ?, ?, ?, ?, ?, 'online', ?)",
            )
            .bind(&node_id)
            .bind(&req.cluster)
            .bind(req.zone)
            .bind(Json(&req.hostnames.manage))
            .bind(Json(&req.hostnames.storage))
            .bind(Json(&req.tags))
            .bind(&op_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            let mut hosts: Vec<&String> = req
                .hostnames
                .manage
                .iter()
                .chain(&req.hostnames.storage)
                .collect();
            hosts.sort();
            hosts.dedup();
            for h in hosts {
                let r = sqlx::query(
                    "INSERT INTO node_hostnames (hostname, node_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(h)
                .bind(&node_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                if r.rows_affected() == 0 {
                    // A concurrent add took it between our check and now.
                    return Err(ApiError::Conflict(format!(
                        "Hostname {h} already used by another node"
                    )));
                }
            }
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::AddNode {
                    node_id: node_id.clone(),
                },
                &[Change {
                    id: node_id.clone(),
                    description: "Add node".into(),
                }],
            )
            .await?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let engine = self.clone();
        let (op, qid, nid) = (op_id.clone(), queue_id.clone(), node_id);
        let storage = new_target.storage.clone();
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            let probe = match &probe_from {
                Some(from) => engine
                    .on_node(from, || engine.exec.peer_probe(from, &storage))
                    .await
                    .map_err(|e| exec_msg(&e)),
                None => Ok(()),
            };
            engine
                .finish_node_add(&op, &nid, &qid, probe)
                .await
                .map_err(|e| e.to_string())
        });
        Ok(queue_id)
    }

    pub(super) async fn finish_node_add(
        &self,
        op_id: &str,
        node_id: &str,
        queue_id: &str,
        probe: Result<(), String>,
    ) -> Result<(), StoreError> {
        match probe {
            Ok(()) => {
                self.end_op(
                    op_id,
                    queue_id,
                    &Ok(format!("/nodes/{node_id}")),
                    &[("UPDATE nodes SET pending_op = NULL WHERE id = ?", node_id)],
                    true,
                )
                .await
            }
            Err(msg) => {
                self.end_op(op_id, queue_id, &Err(msg), &delete_node(node_id), true)
                    .await
            }
        }
    }

    /// `DELETE /nodes/{id}`.
    pub async fn node_delete(self: &Arc<Self>, node_id: &str) -> Result<String, ApiError> {
        let pool = &self.store.read;
        let Some(node) = store::node_row(pool, node_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if node.pending_op.is_some() {
            return Err(ApiError::IdNotFound);
        }
        let devices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE node_id = ?")
            .bind(node_id)
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)?;
        if devices > 0 {
            return Err(ApiError::Conflict(format!(
                "Unable to delete node [{node_id}] because it contains devices"
            )));
        }
        let admission = self.admit()?;
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            let claimed =
                sqlx::query("UPDATE nodes SET pending_op = ? WHERE id = ? AND pending_op IS NULL")
                    .bind(&op_id)
                    .bind(node_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            if claimed.rows_affected() != 1 {
                return Err(ApiError::IdNotFound);
            }
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::DeleteNode {
                    node_id: node_id.to_string(),
                },
                &[Change {
                    id: node_id.to_string(),
                    description: "Delete node".into(),
                }],
            )
            .await?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
            w.devices.invalidate();
        }
        let engine = self.clone();
        let (op, qid) = (op_id.clone(), queue_id.clone());
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine.run_node_delete(&op, &node, &qid).await
        });
        Ok(queue_id)
    }

    pub(super) async fn run_node_delete(
        &self,
        op_id: &str,
        node: &NodeRow,
        queue_id: &str,
    ) -> Result<(), String> {
        let peers = store::nodes_of_cluster(&self.store.read, &node.cluster_id)
            .await
            .map_err(|e| e.to_string())?;
        // heketi ignores detach failures: the node may be gone for good.
        if let Some(other) = peers.iter().find(|p| p.id != node.id) {
            let t = other.target();
            if let Err(e) = self
                .on_node(&t, || self.exec.peer_detach(&t, node.storage_host()))
                .await
            {
                tracing::warn!(node = %node.id, error = %e, "peer detach failed (ignored)");
            }
        }
        self.end_op(
            op_id,
            queue_id,
            &Ok(String::new()),
            &delete_node(&node.id),
            true,
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// `POST /nodes/{id}/state`.
    pub async fn node_state(
        self: &Arc<Self>,
        node_id: &str,
        state: &str,
        heal_check: bool,
    ) -> Result<String, ApiError> {
        let Some(node) = store::node_row(&self.store.read, node_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if node.pending_op.is_some() {
            return Err(ApiError::IdNotFound);
        }
        let admission = self.admit()?;
        let engine = self.clone();
        let (state, nid) = (state.to_string(), node_id.to_string());
        self.spawn_unjournaled(admission, async move {
            let outcome = engine.change_node_state(&nid, &state, heal_check).await;
            engine.store.writer().await.devices.invalidate();
            outcome
        })
        .await
    }

    async fn change_node_state(
        &self,
        node_id: &str,
        to: &str,
        heal_check: bool,
    ) -> Result<(), String> {
        let node = store::node_row(&self.store.read, node_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "Id not found".to_string())?;
        match (node.state.as_str(), to) {
            (from, to) if from == to => Ok(()),
            ("failed", "online") => Err("Cannot move a failed/removed node to online state".into()),
            ("failed", "offline") => {
                Err("Cannot move a failed/removed node to offline state".into())
            }
            ("online", "failed") => Err(format!(
                "Node must be offline before remove operation is performed, node:{node_id}"
            )),
            ("offline", "failed") => {
                let devices = store::devices_of_node(&self.store.read, node_id)
                    .await
                    .map_err(|e| e.to_string())?;
                for d in devices {
                    if d.state == "online" {
                        self.set_device_state_row(&d.id, "offline").await?;
                    }
                    if d.state != "failed" {
                        self.remove_device(&d.id, heal_check).await.map_err(|e| {
                            format!(
                                "Unable to remove node [{node_id}] as no device was found to replace device [{}]: {e}",
                                d.id
                            )
                        })?;
                    }
                }
                self.set_node_state_row(node_id, "failed").await
            }
            (_, to) => self.set_node_state_row(node_id, to).await,
        }
    }

    async fn set_node_state_row(&self, node_id: &str, state: &str) -> Result<(), String> {
        let mut w = self.store.writer().await;
        sqlx::query("UPDATE nodes SET state = ? WHERE id = ?")
            .bind(state)
            .bind(node_id)
            .execute(&mut w.conn)
            .await
            .map_err(|e| e.to_string())?;
        w.devices.invalidate();
        Ok(())
    }
}

/// The statements that remove a node and release its hostnames.
fn delete_node(node_id: &str) -> [(&'static str, &str); 2] {
    [
        ("DELETE FROM node_hostnames WHERE node_id = ?", node_id),
        ("DELETE FROM nodes WHERE id = ?", node_id),
    ]
}
