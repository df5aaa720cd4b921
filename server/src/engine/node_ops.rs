//! Node operations: add (glusterd check, peer probe), delete (peer detach), state changes.

use std::sync::Arc;

use async_trait::async_trait;
use heqet_api::NodeAddRequest;
use heqet_executor::NodeTarget;

use super::error::OpError;
use super::op::{carry_on, Cleaned, ExecFailure, OpId, Operation};
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{NewNode, StoreResult, Tx};

pub(super) struct NodeAdd {
    req: NodeAddRequest,
    node_id: String,
    /// The verified peer that probes the new node; `None` for a cluster's first node.
    probe_from: Option<NodeTarget>,
}

pub(super) struct NodeDelete {
    node: NodeRow,
}

impl Engine {
    /// `POST /nodes`: checks, then the peer probe in the background.
    pub async fn node_add(self: &Arc<Self>, req: NodeAddRequest) -> Result<String, EngineError> {
        let read = self.store.read();
        if read.cluster_row(&req.cluster).await?.is_none() {
            return Err(EngineError::Missing("Cluster id does not exist".into()));
        }
        for h in req.hostnames.manage.iter().chain(&req.hostnames.storage) {
            if let Some(id) = read.hostname_owner(h).await? {
                return Err(EngineError::Conflict(format!(
                    "Hostname {h} already used by node with id {id}"
                )));
            }
        }
        let new_target = NodeTarget {
            manage: req.hostnames.manage.first().cloned().unwrap_or_default(),
            storage: req.hostnames.storage.first().cloned().unwrap_or_default(),
        };
        let peers = read.nodes_of_cluster(&req.cluster).await?;
        // heketi probes from a verified node of the cluster; the first node is checked itself.
        let probe_from = if peers.is_empty() {
            self.exec.glusterd_check(&new_target).await.map_err(|e| {
                EngineError::Invalid(format!("New Node doesn't have glusterd running: {e}"))
            })?;
            None
        } else {
            let mut last = String::new();
            let mut found = None;
            for p in peers.iter().filter(|p| p.state == EntryState::Online) {
                let t = p.target();
                match self.exec.glusterd_check(&t).await {
                    Ok(()) => {
                        found = Some(t);
                        break;
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            let Some(t) = found else {
                return Err(EngineError::Invalid(format!(
                    "None of the nodes in cluster has glusterd running{}",
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                )));
            };
            Some(t)
        };
        self.start(NodeAdd {
            req,
            node_id: heqet_api::id::new_id(),
            probe_from,
        })
        .await
    }

    /// `DELETE /nodes/{id}`.
    pub async fn node_delete(self: &Arc<Self>, node_id: &str) -> Result<String, EngineError> {
        let read = self.store.read();
        let node = read.node_row(node_id).await?;
        let Some(node) = node.filter(|n| n.pending_op.is_none()) else {
            return Err(EngineError::IdNotFound);
        };
        if read.device_count_of_node(node_id).await? > 0 {
            return Err(EngineError::Conflict(format!(
                "Unable to delete node [{node_id}] because it contains devices"
            )));
        }
        self.start(NodeDelete { node }).await
    }

    /// `POST /nodes/{id}/state`.
    pub async fn node_state(
        self: &Arc<Self>,
        node_id: &str,
        state: EntryState,
        heal_check: bool,
    ) -> Result<String, EngineError> {
        let node = self.store.read().node_row(node_id).await?;
        if node.is_none_or(|n| n.pending_op.is_some()) {
            return Err(EngineError::IdNotFound);
        }
        let admission = self.admit()?;
        let engine = self.clone();
        let nid = node_id.to_string();
        self.start_task(admission, async move {
            engine.change_node_state(&nid, state, heal_check).await
        })
        .await
    }

    async fn change_node_state(
        &self,
        node_id: &str,
        to: EntryState,
        heal_check: bool,
    ) -> Result<(), OpError> {
        use EntryState::*;
        let read = self.store.read();
        let node = read
            .node_row(node_id)
            .await?
            .ok_or_else(|| OpError::Missing("Id not found".into()))?;
        match (node.state, to) {
            (from, to) if from == to => Ok(()),
            (Failed, Online) => Err(OpError::Refused(
                "Cannot move a failed/removed node to online state".into(),
            )),
            (Failed, Offline) => Err(OpError::Refused(
                "Cannot move a failed/removed node to offline state".into(),
            )),
            (Online, Failed) => Err(OpError::Refused(format!(
                "Node must be offline before remove operation is performed, node:{node_id}"
            ))),
            (Offline, Failed) => {
                let devices = read.devices_of_node(node_id).await?;
                for d in devices {
                    if d.state == Online {
                        self.set_device_state(&d.id, Offline).await?;
                    }
                    if d.state != Failed {
                        self.remove_device(&d.id, heal_check).await.map_err(|e| {
                            OpError::Refused(format!(
                                "Unable to remove node [{node_id}] as no device was found to replace device [{}]: {e}",
                                d.id
                            ))
                        })?;
                    }
                }
                self.set_node_state(node_id, Failed).await
            }
            (_, to) => self.set_node_state(node_id, to).await,
        }
    }

    async fn set_node_state(&self, node_id: &str, state: EntryState) -> Result<(), OpError> {
        let mut w = self.store.writer().await;
        let r: StoreResult<()> = async {
            let mut tx = w.begin().await?;
            tx.set_node_state(node_id, state).await?;
            tx.commit().await
        }
        .await;
        Ok(r?)
    }
}

impl NodeAdd {
    /// After a crash: the node as it was being added (`None` when its row is gone).
    pub(super) async fn load(engine: &Engine, node_id: &str) -> Result<Option<Self>, OpError> {
        let Some(n) = engine.store.read().node_row(node_id).await? else {
            return Ok(None);
        };
        Ok(Some(NodeAdd {
            req: NodeAddRequest {
                zone: n.zone,
                hostnames: heqet_api::HostAddresses {
                    manage: n.manage.0.clone(),
                    storage: n.storage.0.clone(),
                },
                cluster: n.cluster_id.clone(),
                tags: n.tags.0.clone(),
            },
            node_id: node_id.to_string(),
            probe_from: None,
        }))
    }
}

#[async_trait]
impl Operation for NodeAdd {
    fn payload(&self) -> OpPayload {
        OpPayload::AddNode {
            node_id: self.node_id.clone(),
        }
    }

    async fn prepare(
        &mut self,
        _engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let r = &self.req;
        let new = NewNode {
            id: &self.node_id,
            cluster_id: &r.cluster,
            zone: r.zone,
            manage: &r.hostnames.manage,
            storage: &r.hostnames.storage,
            tags: &r.tags,
            op_id: op.as_str(),
        };
        if let Err(h) = tx.insert_node(&new).await? {
            // A concurrent add took it between our check and now.
            return Err(EngineError::Conflict(format!(
                "Hostname {h} already used by another node"
            )));
        }
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let Some(from) = &self.probe_from else {
            return Ok(());
        };
        let storage = self
            .req
            .hostnames
            .storage
            .first()
            .cloned()
            .unwrap_or_default();
        engine
            .exec
            .peer_probe(from, &storage)
            .await
            .map_err(ExecFailure::undone)
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.settle_node(&self.node_id).await?;
        Ok(format!("/nodes/{}", self.node_id))
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<()> {
        tx.delete_node(&self.node_id).await
    }

    /// The probe may have happened: the node leaves the pool again (a failed detach is
    /// logged, as a node delete does), then the add is rolled back.
    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        let peers = engine
            .store
            .read()
            .nodes_of_cluster(&self.req.cluster)
            .await?;
        let storage = self.req.hostnames.storage.first();
        if let (Some(other), Some(storage)) = (peers.iter().find(|p| p.id != self.node_id), storage)
        {
            if let Err(e) = engine.exec.peer_detach(&other.target(), storage).await {
                tracing::warn!(node = %self.node_id, error = %e, "peer detach after an interrupted add failed (ignored)");
            }
        }
        Ok(Cleaned::Undone)
    }
}

impl NodeDelete {
    pub(super) async fn load(engine: &Engine, node_id: &str) -> Result<Self, OpError> {
        let node = engine
            .store
            .read()
            .node_row(node_id)
            .await?
            .ok_or_else(|| OpError::Missing(format!("node {node_id} not found")))?;
        Ok(NodeDelete { node })
    }
}

#[async_trait]
impl Operation for NodeDelete {
    fn payload(&self) -> OpPayload {
        OpPayload::DeleteNode {
            node_id: self.node.id.clone(),
        }
    }

    async fn prepare(
        &mut self,
        _engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        if !tx.claim_node(&self.node.id, op.as_str()).await? {
            return Err(EngineError::IdNotFound);
        }
        Ok(())
    }

    /// heketi ignores detach failures: the node may be gone for good.
    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let peers = engine
            .store
            .read()
            .nodes_of_cluster(&self.node.cluster_id)
            .await
            .map_err(ExecFailure::undone)?;
        if let Some(other) = peers.iter().find(|p| p.id != self.node.id) {
            if let Err(e) = engine
                .exec
                .peer_detach(&other.target(), self.node.storage_host())
                .await
            {
                tracing::warn!(node = %self.node.id, error = %e, "peer detach failed (ignored)");
            }
        }
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.delete_node(&self.node.id).await?;
        Ok(String::new())
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<()> {
        tx.settle_node(&self.node.id).await
    }

    async fn clean(&mut self, engine: &Engine, op: &OpId) -> Result<Cleaned, OpError> {
        carry_on(self, engine, op).await
    }
}
