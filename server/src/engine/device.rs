//! Device operations: add (inspect, pvcreate, vgcreate), delete, state changes with brick
//! eviction (replace-brick onto another device), resync.

use std::collections::HashMap;
use std::sync::Arc;

use heqet_api::DeviceAddRequest;
use heqet_executor::{BrickAddr, DeviceReport, DeviceSetup};
use sqlx::types::Json;

use super::{exec_msg, Engine};
use crate::error::ApiError;
use crate::model::*;
use crate::store::{self, write, StoreError};

impl Engine {
    /// `POST /devices`.
    pub async fn device_add(self: &Arc<Self>, req: DeviceAddRequest) -> Result<String, ApiError> {
        let Some(node) = store::node_row(&self.store.read, &req.node).await? else {
            return Err(ApiError::NotFound("Node id does not exist".into()));
        };
        if node.pending_op.is_some() {
            return Err(ApiError::NotFound("Node id does not exist".into()));
        }
        let admission = self.admit()?;
        let device_id = heqet_api::id::new_id();
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            let r = sqlx::query(
                "INSERT INTO devices (id, node_id, name, state, tags, pending_op) \
                 VALUES (?, ?, ?, 'online', ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&device_id)
            .bind(&req.node)
            .bind(&req.name)
            .bind(Json(&req.tags))
            .bind(&op_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            if r.rows_affected() == 0 {
                let existing: Option<String> =
                    sqlx::query_scalar("SELECT id FROM devices WHERE node_id = ? AND name = ?")
                        .bind(&req.node)
                        .bind(&req.name)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                return Err(ApiError::Conflict(format!(
                    "Device {} is already added to node {} (id {})",
                    req.name,
                    req.node,
                    existing.unwrap_or_default()
                )));
            }
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::AddDevice {
                    device_id: device_id.clone(),
                    destroydata: req.destroydata,
                },
                &[Change {
                    id: device_id.clone(),
                    description: "Add device".into(),
                }],
            )
            .await?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let engine = self.clone();
        let (op, qid) = (op_id.clone(), queue_id.clone());
        let setup = DeviceSetup {
            id: device_id,
            name: req.name,
            destroydata: req.destroydata,
        };
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            let t = node.target();
            let result = engine
                .on_node(&t, || engine.exec.device_setup(&t, &setup))
                .await
                .map_err(|e| exec_msg(&e));
            engine
                .finish_device_add(&op, &setup.id, &qid, result)
                .await
                .map_err(|e| e.to_string())
        });
        Ok(queue_id)
    }

    async fn finish_device_add(
        &self,
        op_id: &str,
        device_id: &str,
        queue_id: &str,
        result: Result<DeviceReport, String>,
    ) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
        let outcome = match result {
            Ok(r) => {
                sqlx::query(
                    "UPDATE devices SET total = ?, free = ?, used = ?, extent_size = ?, pv_uuid = ?, \
                     paths = ?, pending_op = NULL WHERE id = ?",
                )
                .bind(r.total_kib as i64)
                .bind(r.free_kib as i64)
                .bind(r.used_kib as i64)
                .bind(r.extent_size_kib as i64)
                .bind(&r.pv_uuid)
                .bind(Json(&r.paths))
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
                Ok(String::new())
            }
            Err(msg) => {
                sqlx::query("DELETE FROM devices WHERE id = ?")
                    .bind(device_id)
                    .execute(&mut *tx)
                    .await?;
                Err(msg)
            }
        };
        write::delete_operation(&mut tx, op_id).await?;
        write::finish_queue(&mut tx, queue_id, &outcome).await?;
        tx.commit().await?;
        w.devices.invalidate();
        Ok(())
    }

    /// `DELETE /devices/{id}`.
    pub async fn device_delete(
        self: &Arc<Self>,
        device_id: &str,
        forceforget: bool,
    ) -> Result<String, ApiError> {
        let Some(dev) = store::device_row(&self.store.read, device_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if dev.pending_op.is_some() {
            return Err(ApiError::IdNotFound);
        }
        if dev.state != "failed" {
            return Err(ApiError::BadRequest(format!(
                "device: {device_id} is not in failed state"
            )));
        }
        let bricks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bricks WHERE device_id = ?")
            .bind(device_id)
            .fetch_one(&self.store.read)
            .await
            .map_err(StoreError::from)?;
        if bricks > 0 {
            return Err(ApiError::Conflict(format!(
                "Unable to delete device [{device_id}] because it contains bricks"
            )));
        }
        let Some(node) = store::node_row(&self.store.read, &dev.node_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        let admission = self.admit()?;
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::DeleteDevice {
                    device_id: device_id.to_string(),
                    forceforget,
                },
                &[Change {
                    id: device_id.to_string(),
                    description: "Delete device".into(),
                }],
            )
            .await?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let engine = self.clone();
        let (op, qid) = (op_id.clone(), queue_id.clone());
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine
                .run_device_delete(&op, &dev, &node, forceforget, &qid)
                .await
        });
        Ok(queue_id)
    }

    pub(super) async fn run_device_delete(
        &self,
        op_id: &str,
        dev: &DeviceRow,
        node: &NodeRow,
        forceforget: bool,
        queue_id: &str,
    ) -> Result<(), String> {
        let t = node.target();
        let dref = dev.device_ref();
        let r = self
            .on_node(&t, || self.exec.device_teardown(&t, &dref, forceforget))
            .await;
        let (outcome, statements): (_, &[(&str, &str)]) = match r {
            Ok(()) => (
                Ok(String::new()),
                &[("DELETE FROM devices WHERE id = ?", &dev.id)],
            ),
            Err(e) => (
                Err(format!(
                    "Failed to delete device {} with id {} on host {}: {}",
                    dref.pv_path(),
                    dev.id,
                    node.manage_host(),
                    exec_msg(&e)
                )),
                &[],
            ),
        };
        self.end_op(op_id, queue_id, &outcome, statements, true)
            .await
            .map_err(|e| e.to_string())
    }

    /// `POST /devices/{id}/state`.
    pub async fn device_state(
        self: &Arc<Self>,
        device_id: &str,
        state: &str,
        heal_check: bool,
    ) -> Result<String, ApiError> {
        let Some(dev) = store::device_row(&self.store.read, device_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if dev.pending_op.is_some() {
            return Err(ApiError::IdNotFound);
        }
        let admission = self.admit()?;
        let engine = self.clone();
        let (to, did) = (state.to_string(), device_id.to_string());
        self.spawn_unjournaled(admission, async move {
            engine.change_device_state(&did, &to, heal_check).await
        })
        .await
    }

    async fn change_device_state(
        &self,
        device_id: &str,
        to: &str,
        heal_check: bool,
    ) -> Result<(), String> {
        let dev = store::device_row(&self.store.read, device_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "Id not found".to_string())?;
        match (dev.state.as_str(), to) {
            (from, to) if from == to => Ok(()),
            ("failed", "online") => {
                Err("Cannot move a failed/removed device to online state".into())
            }
            ("online", "failed") => Err(format!(
                "Device must be offline before remove operation is performed, device:{device_id}"
            )),
            ("offline", "failed") => self.remove_device(device_id, heal_check).await,
            (_, to) => self.set_device_state_row(device_id, to).await,
        }
    }

    pub(super) async fn set_device_state_row(
        &self,
        device_id: &str,
        state: &str,
    ) -> Result<(), String> {
        let mut w = self.store.writer().await;
        sqlx::query("UPDATE devices SET state = ? WHERE id = ?")
            .bind(state)
            .bind(device_id)
            .execute(&mut w.conn)
            .await
            .map_err(|e| e.to_string())?;
        w.devices.invalidate();
        Ok(())
    }

    /// Move every brick off an offline device, then mark it failed (heketi's "remove").
    pub(super) async fn remove_device(
        &self,
        device_id: &str,
        heal_check: bool,
    ) -> Result<(), String> {
        let op_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            write::insert_operation(
                &mut w.conn,
                &op_id,
                &OpPayload::RemoveDevice {
                    device_id: device_id.to_string(),
                    healcheck: heal_check,
                },
                &[Change {
                    id: device_id.to_string(),
                    description: "Remove device".into(),
                }],
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        if let Ok(mut s) = self.in_flight.lock() {
            s.insert(op_id.clone());
        }
        let result = self.evict_device_bricks(device_id, heal_check).await;
        if let Ok(mut s) = self.in_flight.lock() {
            s.remove(&op_id);
        }
        let mut w = self.store.writer().await;
        let done: Result<(), StoreError> = async {
            if result.is_ok() {
                sqlx::query("UPDATE devices SET state = 'failed' WHERE id = ?")
                    .bind(device_id)
                    .execute(&mut w.conn)
                    .await?;
            }
            write::delete_operation(&mut w.conn, &op_id).await
        }
        .await;
        w.devices.invalidate();
        done.map_err(|e| e.to_string())?;
        result
    }

    async fn evict_device_bricks(&self, device_id: &str, heal_check: bool) -> Result<(), String> {
        let bricks = store::bricks_of_device(&self.store.read, device_id)
            .await
            .map_err(|e| e.to_string())?;
        for b in bricks.iter().filter(|b| !b.path.is_empty()) {
            self.evict_brick(b, heal_check).await.map_err(|e| {
                format!("Unable to delete device [{device_id}] as no device was found to replace it: {e}")
            })?;
        }
        Ok(())
    }

    /// Replace one brick by a new one on another device (storage-node-commands §10).
    async fn evict_brick(&self, old: &BrickRow, heal_check: bool) -> Result<(), String> {
        let vol = store::volume_row(&self.store.read, &old.volume_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume {} of brick {} not found", old.volume_id, old.id))?;
        let layout = vol.layout.0;
        if matches!(layout, heqet_api::layout::Layout::None) {
            return Err("replace brick is not supported for volume durability type none".into());
        }
        let all = store::bricks_of_volume(&self.store.read, &vol.id)
            .await
            .map_err(|e| e.to_string())?;
        let nodes: HashMap<String, NodeRow> =
            store::nodes_of_cluster(&self.store.read, &vol.cluster_id)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|n| (n.id.clone(), n))
                .collect();
        let set_size = layout.set_size() as i64;
        let set_no = old.position / set_size;
        let set: Vec<&BrickRow> = all
            .iter()
            .filter(|b| b.position / set_size == set_no && b.id != old.id)
            .collect();
        let node_of = |id: &str| nodes.get(id).ok_or_else(|| format!("node {id} not found"));
        let old_node = node_of(&old.node_id)?;
        // Run gluster commands on the brick's own node if it answers, else on any other.
        let worker = self.working_node(&nodes, Some(&old.node_id)).await?;
        if heal_check {
            let heal = self
                .on_node(&worker, || self.exec.heal_info(&worker, &vol.name))
                .await
                .map_err(|e| exec_msg(&e))?;
            let old_addr = format!("{}:{}", old_node.storage_host(), old.path);
            if let Some(h) = heal.bricks.iter().find(|h| h.brick.to_string() == old_addr) {
                if h.pending_entries.unwrap_or(0) > 0 {
                    return Err(format!(
                        "Cannot replace brick {} as it is source brick for data to be healed",
                        old.id
                    ));
                }
            }
        }
        let avoid_nodes: Vec<String> = set.iter().map(|b| b.node_id.clone()).collect();
        let avoid_zones: Vec<i64> = set
            .iter()
            .filter_map(|b| nodes.get(&b.node_id).map(|n| n.zone))
            .collect();
        let down = self.down_nodes();
        let replacement = {
            let mut w = self.store.writer().await;
            let w = &mut *w;
            let placed = {
                let cd = w
                    .devices
                    .cluster(&mut w.conn, &vol.cluster_id, &down)
                    .await
                    .map_err(|e| e.to_string())?;
                let candidates: Vec<heqet_topology::DeviceCandidate> = cd
                    .devices
                    .iter()
                    .filter(|d| d.id != old.device_id)
                    .cloned()
                    .collect();
                let mut rng = rand::thread_rng();
                heqet_topology::place_replacement(
                    &candidates,
                    &heqet_topology::ReplacementRequest {
                        brick_kib: old.size as u64,
                        layout,
                        set: set_no as usize,
                        position: (old.position % set_size) as usize,
                        snapshot_factor: vol.snapshot_factor as f32,
                        avoid_devices: vec![old.device_id.clone()],
                        avoid_nodes: avoid_nodes.clone(),
                        avoid_zones,
                        zone_checking: self.zone_checking_of(&vol),
                        tag_match: self.tag_match_of(&vol),
                    },
                    &mut rng,
                )
                .map_err(|e| e.to_string())?
            };
            let row = BrickRow {
                id: placed.id.clone(),
                volume_id: vol.id.clone(),
                device_id: placed.device_id.clone(),
                node_id: placed.node_id.clone(),
                path: heqet_executor::brick_path(&placed.device_id, &placed.id),
                size: placed.size_kib as i64,
                tp_size: placed.tp_kib as i64,
                pool_metadata_size: placed.metadata_kib as i64,
                thin_pool: placed.thin_pool.clone(),
                lv: format!("brick_{}", placed.id),
                arbiter: old.arbiter,
                position: old.position,
                pending_op: Some(old.id.clone()),
            };
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(|e| e.to_string())?;
            write::insert_brick(&mut tx, &row)
                .await
                .map_err(|e| e.to_string())?;
            write::reserve(&mut tx, &row.device_id, row.reserved())
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            w.devices.adjust_free(&row.device_id, -row.reserved());
            row
        };
        let new_node = node_of(&replacement.node_id)?.target();
        let new_spec = replacement.spec(vol.gid);
        let old_spec = old.spec(vol.gid);
        let undo_new = |msg: String| async {
            let _ = self
                .on_node(&new_node, || self.exec.brick_destroy(&new_node, &new_spec))
                .await;
            let mut w = self.store.writer().await;
            let _ =
                write::remove_bricks(&mut w.conn, std::slice::from_ref(&replacement), true).await;
            w.devices.invalidate();
            msg
        };
        if let Err(e) = self
            .on_node(&new_node, || self.exec.brick_create(&new_node, &new_spec))
            .await
        {
            return Err(undo_new(exec_msg(&e)).await);
        }
        let old_addr = BrickAddr {
            host: old_node.storage_host().to_string(),
            path: old.path.clone(),
        };
        let new_addr = BrickAddr {
            host: new_node.storage.clone(),
            path: replacement.path.clone(),
        };
        if let Err(e) = self
            .on_node(&worker, || {
                self.exec
                    .replace_brick(&worker, &vol.name, &old_addr, &new_addr)
            })
            .await
        {
            return Err(undo_new(exec_msg(&e)).await);
        }
        // The old brick is out of the volume now; a dead node may not let us clean it.
        let old_target = old_node.target();
        let reclaimed = match self
            .on_node(&old_target, || {
                self.exec.brick_destroy(&old_target, &old_spec)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if self
                    .on_node(&old_target, || self.exec.glusterd_check(&old_target))
                    .await
                    .is_ok()
                {
                    return Err(format!(
                        "replaced brick {} but cannot destroy it: {}",
                        old.id,
                        exec_msg(&e)
                    ));
                }
                tracing::warn!(brick = %old.id, error = %e, "old brick's node is down; leaving its remains");
                true
            }
        };
        let mut w = self.store.writer().await;
        let res: Result<(), StoreError> = async {
            let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
            write::remove_bricks(&mut tx, std::slice::from_ref(old), reclaimed).await?;
            sqlx::query("UPDATE bricks SET pending_op = NULL WHERE id = ?")
                .bind(&replacement.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        w.devices.invalidate();
        res.map_err(|e| e.to_string())
    }

    /// A node whose glusterd answers: `prefer` first, then the others in id order.
    async fn working_node(
        &self,
        nodes: &HashMap<String, NodeRow>,
        prefer: Option<&str>,
    ) -> Result<heqet_executor::NodeTarget, String> {
        let mut order: Vec<&NodeRow> = nodes.values().collect();
        order.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = prefer {
            order.sort_by_key(|n| n.id != p);
        }
        let mut last = String::from("no node in the cluster");
        for n in order
            .into_iter()
            .filter(|n| n.state == "online" || Some(n.id.as_str()) == prefer)
        {
            let t = n.target();
            match self.on_node(&t, || self.exec.glusterd_check(&t)).await {
                Ok(()) => return Ok(t),
                Err(e) => last = exec_msg(&e),
            }
        }
        Err(format!("no working node found: {last}"))
    }

    /// `GET /devices/{id}/resync`.
    pub async fn device_resync(self: &Arc<Self>, device_id: &str) -> Result<String, ApiError> {
        let Some(dev) = store::device_row(&self.store.read, device_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        let Some(node) = store::node_row(&self.store.read, &dev.node_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        let admission = self.admit()?;
        let engine = self.clone();
        self.spawn_unjournaled(admission, async move {
            let outcome = engine.resync(&dev, &node).await;
            engine.store.writer().await.devices.invalidate();
            outcome
        })
        .await
    }

    async fn resync(&self, dev: &DeviceRow, node: &NodeRow) -> Result<(), String> {
        let t = node.target();
        let dref = dev.device_ref();
        let r = self
            .on_node(&t, || self.exec.device_resync(&t, &dref))
            .await
            .map_err(|e| exec_msg(&e))?;
        let mut w = self.store.writer().await;
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bricks WHERE device_id = ? AND pending_op IS NOT NULL",
        )
        .bind(&dev.id)
        .fetch_one(&mut w.conn)
        .await
        .map_err(|e| e.to_string())?;
        if busy > 0 {
            return Err("The target exists, contains other items, or is in use.".into());
        }
        // LVM's numbers, but never less used than heqet's own bricks hold: accounting must
        // not hand out space that bricks already own.
        let reserved: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(tp_size + pool_metadata_size), 0) FROM bricks WHERE device_id = ?",
        )
        .bind(&dev.id)
        .fetch_one(&mut w.conn)
        .await
        .map_err(|e| e.to_string())?;
        let total = r.total_kib as i64;
        let used = (r.used_kib as i64).max(reserved).min(total);
        sqlx::query(
            "UPDATE devices SET total = ?, used = ?, free = ?, extent_size = ?, pv_uuid = ?, paths = ? WHERE id = ?",
        )
        .bind(total)
        .bind(used)
        .bind(total - used)
        .bind(r.extent_size_kib as i64)
        .bind(&r.pv_uuid)
        .bind(Json(&r.paths))
        .bind(&dev.id)
        .execute(&mut w.conn)
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Engine {
    /// `POST /bricks/to-evict/{id}`.
    pub async fn brick_evict(
        self: &Arc<Self>,
        brick_id: &str,
        heal_check: bool,
    ) -> Result<String, ApiError> {
        let brick: Option<BrickRow> = sqlx::query_as(
            "SELECT id, volume_id, device_id, node_id, path, size, tp_size, pool_metadata_size, \
             thin_pool, lv, arbiter, position, pending_op FROM bricks WHERE id = ?",
        )
        .bind(brick_id)
        .fetch_optional(&self.store.read)
        .await
        .map_err(StoreError::from)?;
        let Some(brick) = brick else {
            return Err(ApiError::IdNotFound);
        };
        if brick.pending_op.is_some() {
            return Err(ApiError::Internal(format!(
                "Failed to set up brick eviction: Can not evict brick {brick_id}: brick is pending"
            )));
        }
        let admission = self.admit()?;
        let engine = self.clone();
        self.spawn_unjournaled(admission, async move {
            engine.evict_brick(&brick, heal_check).await
        })
        .await
    }
}
