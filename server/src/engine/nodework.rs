//! Node work shared by the operation families: bricks made and unmade concurrently, the
//! gluster volume description, finding a node that answers.

use std::collections::HashMap;

use futures::future::join_all;
use heqet_executor::{BrickAddr, NodeTarget, VolumeSpec};

use super::error::OpError;
use super::op::ExecFailure;
use super::placement::parsed_options;
use super::Engine;
use crate::model::{BrickRow, EntryState, NodeRow, VolumeRow};
use crate::store::StoreError;

/// Nodes by id.
pub(super) type Nodes = HashMap<String, NodeRow>;

/// A volume, the bricks an operation works on and the nodes that hold them.
pub(super) struct VolumeWork {
    pub vol: VolumeRow,
    pub bricks: Vec<BrickRow>,
    pub nodes: Nodes,
}

pub(super) fn target_of(nodes: &Nodes, node_id: &str) -> Result<NodeTarget, OpError> {
    nodes
        .get(node_id)
        .map(NodeRow::target)
        .ok_or_else(|| OpError::Missing(format!("node {node_id} is not in the store")))
}

pub(super) fn by_id(nodes: Vec<NodeRow>) -> Nodes {
    nodes.into_iter().map(|n| (n.id.clone(), n)).collect()
}

/// The gluster volume description for `bricks` (all of a new volume, or the new bricks of
/// an expansion). `with_options` adds the stored options and `user.heketi.id`.
pub(super) fn volume_spec(
    vol: &VolumeRow,
    bricks: &[BrickRow],
    nodes: &Nodes,
    with_options: bool,
) -> Result<VolumeSpec, OpError> {
    let mut ordered: Vec<&BrickRow> = bricks.iter().collect();
    ordered.sort_by_key(|b| b.position);
    let mut addrs = Vec::with_capacity(bricks.len());
    for b in ordered {
        let n = nodes
            .get(&b.node_id)
            .ok_or_else(|| OpError::Missing(format!("node {} is not in the store", b.node_id)))?;
        addrs.push(BrickAddr {
            host: n.storage_host().to_string(),
            path: b.path.clone(),
        });
    }
    let mut options = Vec::new();
    if with_options {
        options = parsed_options(&vol.options);
        options.push(("user.heketi.id".to_string(), vol.id.clone()));
    }
    Ok(VolumeSpec {
        name: vol.name.clone(),
        id: vol.id.clone(),
        layout: vol.layout.0,
        bricks: addrs,
        options,
    })
}

impl Engine {
    /// The volume, the bricks journaled under `op_id` and their nodes, read back.
    pub(super) async fn load_work(
        &self,
        op_id: &str,
        volume_id: &str,
    ) -> Result<VolumeWork, OpError> {
        let vol = self.load_volume(volume_id).await?;
        let bricks = self.store.read().bricks_of_op(op_id).await?;
        let nodes = self.nodes_of_bricks(&bricks).await?;
        Ok(VolumeWork { vol, bricks, nodes })
    }

    pub(super) async fn load_volume(&self, volume_id: &str) -> Result<VolumeRow, OpError> {
        self.store
            .read()
            .volume_row(volume_id)
            .await?
            .ok_or_else(|| OpError::Missing(format!("volume {volume_id} vanished from the store")))
    }

    /// The nodes holding `bricks`.
    pub(super) async fn nodes_of_bricks(&self, bricks: &[BrickRow]) -> Result<Nodes, StoreError> {
        let mut ids: Vec<&str> = bricks.iter().map(|b| b.node_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(by_id(self.store.read().nodes_by_ids(&ids).await?))
    }

    pub(super) async fn cluster_nodes(&self, cluster_id: &str) -> Result<Nodes, OpError> {
        self.store
            .read()
            .nodes_of_cluster(cluster_id)
            .await
            .map(by_id)
            .map_err(OpError::from)
    }

    /// Create bricks concurrently; if any fails, destroy those that were made.
    pub(super) async fn create_bricks(
        &self,
        bricks: &[BrickRow],
        nodes: &Nodes,
        gid: i64,
    ) -> Result<(), ExecFailure> {
        let mut targets = Vec::with_capacity(bricks.len());
        for b in bricks {
            targets.push(target_of(nodes, &b.node_id).map_err(ExecFailure::dirty)?);
        }
        let results = join_all(bricks.iter().zip(&targets).map(|(b, t)| {
            let spec = b.spec(gid);
            async move { self.exec.brick_create(t, &spec).await }
        }))
        .await;
        let made: Vec<BrickRow> = bricks
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(b, _)| b.clone())
            .collect();
        let failed: Vec<OpError> = results
            .into_iter()
            .filter_map(|r| r.err().map(OpError::from))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let msg = OpError::all(failed).to_string();
        match self.destroy_bricks(&made, nodes, gid).await {
            Ok(_) => Err(ExecFailure::Undone(msg)),
            Err(u) => Err(ExecFailure::Dirty(format!("{msg}; undo: {u}"))),
        }
    }

    /// Destroy bricks concurrently, started in reverse order (the undo of a create).
    /// Returns, per brick in the given order, whether its space was reclaimed.
    pub(super) async fn destroy_bricks(
        &self,
        bricks: &[BrickRow],
        nodes: &Nodes,
        gid: i64,
    ) -> Result<Vec<bool>, OpError> {
        let mut results = join_all(bricks.iter().rev().map(|b| {
            let spec = b.spec(gid);
            let target = target_of(nodes, &b.node_id);
            async move { Ok::<_, OpError>(self.exec.brick_destroy(&target?, &spec).await?) }
        }))
        .await;
        results.reverse();
        let mut reclaimed = Vec::with_capacity(results.len());
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(r) => reclaimed.push(r),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(reclaimed)
        } else {
            Err(OpError::all(errors))
        }
    }

    /// A node whose glusterd answers: `prefer` first, then the other online ones in id order.
    pub(super) async fn working_node(
        &self,
        nodes: &Nodes,
        prefer: Option<&str>,
    ) -> Result<NodeTarget, OpError> {
        let mut order: Vec<&NodeRow> = nodes.values().collect();
        order.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = prefer {
            order.sort_by_key(|n| n.id != p);
        }
        let mut last = String::from("no node in the cluster");
        for n in order
            .into_iter()
            .filter(|n| n.state == EntryState::Online || Some(n.id.as_str()) == prefer)
        {
            let t = n.target();
            match self.exec.glusterd_check(&t).await {
                Ok(()) => return Ok(t),
                Err(e) => last = e.to_string(),
            }
        }
        Err(OpError::Refused(format!("no working node found: {last}")))
    }
}
