//! Volume operations: create (with retries on fresh placements), delete, expand, clone.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use heqet_api::layout::Layout;
use heqet_api::VolumeCreateRequest;
use heqet_executor::{brick_path, BrickAddr, NodeTarget, VolumeSpec};
use heqet_topology::placement::{self, Limits, Placement, VolumeRequest};
use heqet_topology::TagMatch;
use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;

use super::{exec_msg, Engine};
use crate::auth::Role;
use crate::config::ZoneChecking;
use crate::error::ApiError;
use crate::model::*;
use crate::store::{self, write, StoreError};
use crate::validate::{self, VolumePlan};

const GIB_KIB: u64 = 1024 * 1024;
const IN_USE: &str = "The target exists, contains other items, or is in use.";

/// What a volume operation works on: loaded once, passed along.
struct VolumeWork {
    vol: VolumeRow,
    bricks: Vec<BrickRow>,
    nodes: HashMap<String, NodeRow>,
}

/// A validated volume create request.
pub struct NewVolume {
    pub req: VolumeCreateRequest,
    pub plan: VolumePlan,
    pub owner: Role,
}

/// Why a node step failed, and whether its undo worked.
enum StepError {
    /// Failed; everything it did on the nodes was undone.
    Undone(String),
    /// Failed and the undo failed too: the nodes may hold leftovers.
    Dirty(String),
}

impl StepError {
    fn message(&self) -> &str {
        match self {
            StepError::Undone(m) | StepError::Dirty(m) => m,
        }
    }
}

impl Engine {
    fn limits(&self) -> Limits {
        Limits {
            min_brick_kib: self.config.brick_min_size_gb * GIB_KIB,
            max_brick_kib: self.config.brick_max_size_gb * GIB_KIB,
            max_bricks_per_volume: self.config.max_bricks_per_volume,
        }
    }

    fn placement_request(
        &self,
        size_gib: u64,
        layout: Layout,
        factor: f32,
        existing_bricks: usize,
        options: &[(String, String)],
    ) -> Result<VolumeRequest, String> {
        let opt = |k: &str| {
            options
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let zone_checking = match opt("user.heketi.zone-checking") {
            Some("strict") => placement::ZoneChecking::Strict,
            Some("none") => placement::ZoneChecking::None,
            Some(other) => return Err(format!("Invalid zone checking value: {other}")),
            None => match self.config.zone_checking {
                ZoneChecking::Strict => placement::ZoneChecking::Strict,
                ZoneChecking::None => placement::ZoneChecking::None,
            },
        };
        let tag_match = match opt("user.heketi.device-tag-match") {
            Some(v) => Some(TagMatch::parse(v).map_err(|e| e.to_string())?),
            None => None,
        };
        let average_file_kib = match opt("user.heketi.average-file-size") {
            Some(v) => v
                .parse()
                .map_err(|_| format!("Invalid average file size: {v}"))?,
            None => self.config.average_file_size_kb,
        };
        Ok(VolumeRequest {
            size_gib,
            layout,
            snapshot_factor: factor,
            existing_bricks,
            zone_checking,
            tag_match,
            average_file_kib,
        })
    }

    /// The zone checking rule of an existing volume (its option, else the server's).
    pub(super) fn zone_checking_of(&self, vol: &VolumeRow) -> placement::ZoneChecking {
        self.placement_request(1, vol.layout.0, 1.0, 0, &parsed_options(&vol.options))
            .map(|r| r.zone_checking)
            .unwrap_or_default()
    }

    /// The device tag rule of an existing volume, if it has one.
    pub(super) fn tag_match_of(&self, vol: &VolumeRow) -> Option<TagMatch> {
        self.placement_request(1, vol.layout.0, 1.0, 0, &parsed_options(&vol.options))
            .ok()
            .and_then(|r| r.tag_match)
    }

    /// Options stored with a volume, as heketi stores them: server pre-request options,
    /// block-hosting options, the request's options, server post-request options.
    fn stored_options(&self, req: &VolumeCreateRequest) -> Vec<String> {
        let mut opts = self.config.pre_request_volume_options.clone();
        if req.block {
            opts.push("group gluster-block".to_string());
        }
        opts.extend(req.glustervolumeoptions.iter().cloned());
        opts.extend(self.config.post_request_volume_options.iter().cloned());
        opts
    }

    /// `POST /volumes`: checks, placement and journal; returns the queue id.
    pub async fn volume_create(self: &Arc<Self>, nv: NewVolume) -> Result<String, ApiError> {
        let pool = &self.store.read;
        let clusters = if nv.req.clusters.is_empty() {
            let all = store::cluster_ids(pool).await?;
            if all.is_empty() {
                return Err(ApiError::BadRequest("No clusters configured".into()));
            }
            all
        } else {
            for c in &nv.req.clusters {
                if store::cluster_row(pool, c).await?.is_none() {
                    return Err(ApiError::BadRequest(format!("Cluster id {c} not found")));
                }
            }
            nv.req.clusters.clone()
        };
        let data = nv.plan.layout.data_bricks();
        let min_kib = self.config.brick_min_size_gb * GIB_KIB * data;
        if (nv.req.size as u64) * GIB_KIB < min_kib {
            return Err(ApiError::BadRequest(format!(
                "Requested volume size ({} GB) is smaller than the minimum supported volume size ({min_kib})",
                nv.req.size
            )));
        }
        let admission = self.admit()?;
        let preq = self
            .placement_request(
                nv.req.size as u64,
                nv.plan.layout,
                nv.plan.snapshot_factor,
                0,
                &nv.plan.options,
            )
            .map_err(ApiError::BadRequest)?;
        let volume_id = heqet_api::id::new_id();
        let name = if nv.req.name.is_empty() {
            format!("vol_{volume_id}")
        } else {
            nv.req.name.clone()
        };
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        let down = self.down_nodes();

        let mut w = self.store.writer().await;
        let w = &mut *w;
        let mut reasons = Vec::new();
        let mut chosen = None;
        for cid in &clusters {
            match self
                .cluster_allows(&mut w.conn, cid, &name, nv.req.block)
                .await?
            {
                Err(reason) => reasons.push((cid.clone(), reason)),
                Ok(()) => {
                    let cd = w.devices.cluster(&mut w.conn, cid, &down).await?;
                    match place(&cd.devices, &preq, &self.limits()) {
                        Ok(p) => {
                            chosen = Some((cid.clone(), p));
                            break;
                        }
                        // heketi reports every "does not fit" on create as No space.
                        Err(reason) if !reason.starts_with("No space") && reason != NO_DEVICES => {
                            reasons.push((cid.clone(), format!("No space: {reason}")))
                        }
                        Err(reason) => reasons.push((cid.clone(), reason)),
                    }
                }
            }
        }
        let Some((cluster_id, placement)) = chosen else {
            let reason = if reasons.len() == 1 {
                reasons.remove(0).1
            } else {
                let mut s = String::from("Unable to create volume on any cluster:");
                for (c, r) in &reasons {
                    s.push_str(&format!("\nCluster {c}: {r}"));
                }
                s
            };
            return Err(ApiError::Internal(format!(
                "Failed to allocate new volume: {reason}"
            )));
        };

        let bricks = brick_rows(&placement, &volume_id, &op_id, 0);
        let changes: Vec<Change> = bricks
            .iter()
            .map(|b| change(&b.id, "Add brick"))
            .chain(std::iter::once(change(&volume_id, "Add volume")))
            .collect();
        let mut tx = sqlx::Connection::begin(&mut w.conn)
            .await
            .map_err(StoreError::from)?;
        write::insert_operation(
            &mut tx,
            &op_id,
            &OpPayload::CreateVolume {
                volume_id: volume_id.clone(),
            },
            &changes,
        )
        .await?;
        sqlx::query(
            "INSERT INTO volumes (id, cluster_id, name, size, durability, layout, gid, options, \
             block, blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        )
        .bind(&volume_id)
        .bind(&cluster_id)
        .bind(&name)
        .bind(nv.req.size)
        .bind(Json(&nv.req.durability))
        .bind(Json(&nv.plan.layout))
        .bind(nv.req.gid)
        .bind(Json(self.stored_options(&nv.req)))
        .bind(nv.req.block)
        .bind(Json(block_info(&nv.req)))
        .bind(nv.req.snapshot.enable)
        .bind(f32_as_f64(nv.plan.snapshot_factor))
        .bind(nv.owner.as_str())
        .bind(&op_id)
        .bind(now_secs())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        write::insert_bricks(&mut tx, &bricks).await?;
        write::reserve_for(&mut tx, &bricks).await?;
        write::insert_queue(&mut tx, &queue_id, Some(&op_id), nv.owner.as_str()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        for b in &bricks {
            w.devices.adjust_free(&b.device_id, -b.reserved());
        }
        // Everything the first attempt needs is at hand: no need to read it back.
        let nodes = {
            let cd = w.devices.cluster(&mut w.conn, &cluster_id, &down).await?;
            bricks
                .iter()
                .filter_map(|b| cd.nodes.get(&b.node_id).map(|n| (n.id.clone(), n.clone())))
                .collect()
        };
        let work = VolumeWork {
            vol: VolumeRow {
                id: volume_id.clone(),
                cluster_id,
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
                pending_op: Some(op_id.clone()),
            },
            bricks,
            nodes,
        };

        let engine = self.clone();
        let qid = queue_id.clone();
        let op = op_id.clone();
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine
                .run_volume_create(&op, &volume_id, &qid, Some(work))
                .await
        });
        Ok(queue_id)
    }

    /// Cluster-level reasons a volume cannot go to `cluster_id` (heketi's texts), in one
    /// query.
    async fn cluster_allows(
        &self,
        conn: &mut SqliteConnection,
        cluster_id: &str,
        name: &str,
        block: bool,
    ) -> Result<Result<(), String>, StoreError> {
        let row: Option<(bool, bool, i64, bool, i64)> = sqlx::query_as(
            "SELECT c.block, c.file, \
               (SELECT COUNT(*) FROM volumes WHERE cluster_id = c.id), \
               EXISTS (SELECT 1 FROM volumes WHERE cluster_id = c.id AND name = ?2), \
               (SELECT COUNT(*) FROM nodes WHERE cluster_id = c.id AND pending_op IS NULL) \
             FROM clusters c WHERE c.id = ?1",
        )
        .bind(cluster_id)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((c_block, c_file, count, taken, nodes)) = row else {
            return Ok(Err("Cluster not found".into()));
        };
        if !c_block && !c_file {
            return Ok(Err("Cluster has disabled all volume types".into()));
        }
        if (block && !c_block) || (!block && !c_file) {
            return Ok(Err("Cluster does not support requested volume type".into()));
        }
        let limit = self.config.max_volumes_per_cluster;
        if limit >= 0 && count >= limit {
            return Ok(Err(format!(
                "Cluster has {count} volumes and limit is {limit}"
            )));
        }
        if taken {
            return Ok(Err(format!("Volume name '{name}' already in use")));
        }
        if nodes == 0 {
            return Ok(Err("No nodes in cluster".into()));
        }
        Ok(Ok(()))
    }

    async fn run_volume_create(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        mut first: Option<VolumeWork>,
    ) -> Result<(), String> {
        let mut attempt = 0u32;
        loop {
            let work = match first.take() {
                Some(w) => w,
                None => match self.load_work(op_id, volume_id).await {
                    Ok(w) => w,
                    Err(msg) => return self.mark_failed(op_id, queue_id, &msg).await,
                },
            };
            match self.build_volume(&work).await {
                Ok(()) => {
                    return self
                        .finish_volume_create(op_id, volume_id, queue_id)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(StepError::Dirty(msg)) => {
                    return self.mark_failed(op_id, queue_id, &msg).await;
                }
                Err(StepError::Undone(msg)) => {
                    if attempt >= self.config.volume_create_retries {
                        return self
                            .rollback_volume_create(op_id, volume_id, queue_id, &msg)
                            .await
                            .map_err(|e| e.to_string());
                    }
                    attempt += 1;
                    tracing::info!(volume = volume_id, attempt, error = %msg, "retrying volume create on a fresh placement");
                    if let Err(e) = self.replace_placement(op_id, volume_id).await {
                        let msg = format!("{msg}; retry placement failed: {e}");
                        return self
                            .rollback_volume_create(op_id, volume_id, queue_id, &msg)
                            .await
                            .map_err(|e| e.to_string());
                    }
                }
            }
        }
    }

    /// Journaled op failed and could not be undone: leave the records (they describe what
    /// may exist on nodes) for cleanup, and say so.
    async fn mark_failed(&self, op_id: &str, queue_id: &str, msg: &str) -> Result<(), String> {
        let mut w = self.store.writer().await;
        let res: Result<(), StoreError> = async {
            let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
            write::set_operation_status(&mut tx, op_id, "failed").await?;
            write::finish_queue(
                &mut tx,
                queue_id,
                &Err(format!(
                    "{msg} (the undo failed too; the operation {op_id} is kept for `heketi-cli server operations cleanup`)"
                )),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        res.map_err(|e| e.to_string())
    }

    /// Bricks journaled under `op_id` (committed, so the read pool sees them).
    async fn bricks_of_op(&self, op_id: &str) -> Result<Vec<BrickRow>, StoreError> {
        let mut conn = self.store.read.acquire().await?;
        store::brick_rows_by_op(&mut conn, op_id).await
    }

    async fn nodes_by_id(&self, cluster_id: &str) -> Result<HashMap<String, NodeRow>, StoreError> {
        let mut conn = self.store.read.acquire().await?;
        let nodes = store::nodes_of_cluster(&mut *conn, cluster_id).await?;
        Ok(nodes.into_iter().map(|n| (n.id.clone(), n)).collect())
    }

    /// The nodes holding `bricks` (one query, whatever the cluster's size).
    async fn nodes_of_bricks(
        &self,
        bricks: &[BrickRow],
    ) -> Result<HashMap<String, NodeRow>, StoreError> {
        let mut ids: Vec<&str> = bricks.iter().map(|b| b.node_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let nodes: Vec<NodeRow> = sqlx::query_as(
            "SELECT id, cluster_id, zone, manage, storage, tags, state, pending_op FROM nodes \
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(Json(&ids))
        .fetch_all(&self.store.read)
        .await?;
        Ok(nodes.into_iter().map(|n| (n.id.clone(), n)).collect())
    }

    async fn load_volume(&self, volume_id: &str) -> Result<VolumeRow, String> {
        store::volume_row(&self.store.read, volume_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume {volume_id} vanished from the store"))
    }

    /// The volume, its journaled bricks and their nodes, read back from the store.
    async fn load_work(&self, op_id: &str, volume_id: &str) -> Result<VolumeWork, String> {
        let vol = self.load_volume(volume_id).await?;
        let bricks = self.bricks_of_op(op_id).await.map_err(|e| e.to_string())?;
        let nodes = self
            .nodes_of_bricks(&bricks)
            .await
            .map_err(|e| e.to_string())?;
        Ok(VolumeWork { vol, bricks, nodes })
    }

    /// Create bricks and the gluster volume; on failure undo what was made.
    async fn build_volume(&self, work: &VolumeWork) -> Result<(), StepError> {
        let VolumeWork { vol, bricks, nodes } = work;
        let volume_id = &vol.id;
        self.create_bricks(bricks, nodes, vol.gid).await?;
        let spec = volume_spec(vol, bricks, nodes, true).map_err(StepError::Dirty)?;
        let first_brick = bricks
            .first()
            .ok_or_else(|| StepError::Dirty(format!("volume {volume_id} has no bricks")))?;
        let first = target_of(nodes, &first_brick.node_id).map_err(StepError::Dirty)?;
        if let Err(e) = self
            .on_node(&first, || self.exec.volume_create(&first, &spec))
            .await
        {
            let msg = exec_msg(&e);
            let undo_vol = self
                .on_node(&first, || self.exec.volume_destroy(&first, &vol.name))
                .await;
            let undo_bricks = self.destroy_bricks(bricks, nodes, vol.gid).await;
            return match (undo_vol, undo_bricks) {
                (Ok(()), Ok(_)) => Err(StepError::Undone(msg)),
                (Err(u), _) => Err(StepError::Dirty(format!("{msg}; undo: {u}"))),
                (_, Err(u)) => Err(StepError::Dirty(format!("{msg}; undo: {u}"))),
            };
        }
        Ok(())
    }

    /// Create bricks concurrently; if any fails, destroy those that were made.
    async fn create_bricks(
        &self,
        bricks: &[BrickRow],
        nodes: &HashMap<String, NodeRow>,
        gid: i64,
    ) -> Result<(), StepError> {
        let mut targets = Vec::with_capacity(bricks.len());
        for b in bricks {
            targets.push(target_of(nodes, &b.node_id).map_err(StepError::Dirty)?);
        }
        let results = join_all(bricks.iter().zip(&targets).map(|(b, t)| {
            let spec = b.spec(gid);
            async move { self.on_node(t, || self.exec.brick_create(t, &spec)).await }
        }))
        .await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(exec_msg))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let made: Vec<BrickRow> = bricks
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(b, _)| b.clone())
            .collect();
        let msg = failed.join("; ");
        match self.destroy_bricks(&made, nodes, gid).await {
            Ok(_) => Err(StepError::Undone(msg)),
            Err(u) => Err(StepError::Dirty(format!("{msg}; undo: {u}"))),
        }
    }

    /// Destroy bricks concurrently. Returns, per brick, whether its space was reclaimed.
    async fn destroy_bricks(
        &self,
        bricks: &[BrickRow],
        nodes: &HashMap<String, NodeRow>,
        gid: i64,
    ) -> Result<Vec<bool>, String> {
        let results = join_all(bricks.iter().map(|b| {
            let spec = b.spec(gid);
            let target = target_of(nodes, &b.node_id);
            async move {
                let t = target?;
                self.on_node(&t, || self.exec.brick_destroy(&t, &spec))
                    .await
                    .map_err(|e| exec_msg(&e))
            }
        }))
        .await;
        let errors: Vec<String> = results.iter().filter_map(|r| r.clone().err()).collect();
        if errors.is_empty() {
            Ok(results.into_iter().map(|r| r.unwrap_or(false)).collect())
        } else {
            Err(errors.join("; "))
        }
    }

    async fn finish_volume_create(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
    ) -> Result<(), StoreError> {
        self.end_op(
            op_id,
            queue_id,
            &Ok(format!("/volumes/{volume_id}")),
            &[
                (
                    "UPDATE volumes SET hidden = 0, pending_op = NULL WHERE id = ?",
                    volume_id,
                ),
                (
                    "UPDATE bricks SET pending_op = NULL WHERE pending_op = ?",
                    op_id,
                ),
            ],
            false,
        )
        .await
    }

    /// Remove a failed create from the store (its node side was undone) and free its space.
    async fn rollback_volume_create(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        msg: &str,
    ) -> Result<(), StoreError> {
        self.drop_op_bricks(
            op_id,
            volume_id,
            queue_id,
            msg,
            "DELETE FROM volumes WHERE id = ?",
        )
        .await
    }

    /// In one transaction: remove the bricks journaled under `op_id` and free their space,
    /// apply `volume_sql` to the volume, end the journal entry and fail its queue entry.
    async fn drop_op_bricks(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        msg: &str,
        volume_sql: &'static str,
    ) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let w = &mut *w;
        let bricks = store::brick_rows_by_op(&mut w.conn, op_id).await?;
        let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
        write::remove_bricks(&mut tx, &bricks, true).await?;
        sqlx::query(volume_sql)
            .bind(volume_id)
            .execute(&mut *tx)
            .await?;
        write::delete_operation(&mut tx, op_id).await?;
        write::finish_queue(&mut tx, queue_id, &Err(msg.to_string())).await?;
        tx.commit().await?;
        for b in &bricks {
            w.devices.adjust_free(&b.device_id, b.reserved());
        }
        Ok(())
    }

    /// Swap the bricks of a failed attempt for a fresh placement, in one transaction.
    async fn replace_placement(&self, op_id: &str, volume_id: &str) -> Result<(), String> {
        let vol = self.load_volume(volume_id).await?;
        let preq = self.placement_request(
            vol.size as u64,
            vol.layout.0,
            vol.snapshot_factor as f32,
            0,
            &parsed_options(&vol.options),
        )?;
        let down = self.down_nodes();
        let mut w = self.store.writer().await;
        let w = &mut *w;
        let old = store::brick_rows_by_op(&mut w.conn, op_id)
            .await
            .map_err(|e| e.to_string())?;
        // Place as if the old bricks' space were free again.
        for b in &old {
            w.devices.adjust_free(&b.device_id, b.reserved());
        }
        let placed = {
            let cd = w
                .devices
                .cluster(&mut w.conn, &vol.cluster_id, &down)
                .await
                .map_err(|e| e.to_string())?;
            place(&cd.devices, &preq, &self.limits())
        };
        let placement = match placed {
            Ok(p) => p,
            Err(e) => {
                for b in &old {
                    w.devices.adjust_free(&b.device_id, -b.reserved());
                }
                return Err(e);
            }
        };
        let new = brick_rows(&placement, volume_id, op_id, 0);
        let res: Result<(), StoreError> = async {
            let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
            write::remove_bricks(&mut tx, &old, true).await?;
            for b in &new {
                write::insert_brick(&mut tx, b).await?;
                write::reserve(&mut tx, &b.device_id, b.reserved()).await?;
            }
            let changes: Vec<Change> = new
                .iter()
                .map(|b| change(&b.id, "Add brick"))
                .chain(std::iter::once(change(volume_id, "Add volume")))
                .collect();
            sqlx::query("UPDATE operations SET changes = ? WHERE id = ?")
                .bind(Json(&changes))
                .bind(op_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match res {
            Ok(()) => {
                for b in &new {
                    w.devices.adjust_free(&b.device_id, -b.reserved());
                }
                Ok(())
            }
            Err(e) => {
                // Nothing changed in the store; the cache must say so too.
                w.devices.invalidate();
                Err(e.to_string())
            }
        }
    }

    // ------------------------------------------------------------------ delete

    /// `DELETE /volumes/{id}`.
    pub async fn volume_delete(self: &Arc<Self>, volume_id: &str) -> Result<String, ApiError> {
        let Some(vol) = store::volume_row(&self.store.read, volume_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        // Volumes being created or deleted are invisible, as in heketi.
        if vol.hidden {
            return Err(ApiError::IdNotFound);
        }
        if vol.name == "heketidbstorage" {
            return Err(ApiError::Conflict(
                "Cannot delete volume containing the Heketi database".into(),
            ));
        }
        if !vol.blockinfo.blockvolume.is_empty() {
            return Err(ApiError::Conflict(
                "Cannot delete a block hosting volume containing block volumes".into(),
            ));
        }
        let admission = self.admit()?;
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            // Conditional: another operation may have claimed the volume since we read it.
            let claimed = sqlx::query(
                "UPDATE volumes SET hidden = 1, pending_op = ? WHERE id = ? AND pending_op IS NULL AND hidden = 0",
            )
            .bind(&op_id)
            .bind(volume_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            if claimed.rows_affected() != 1 {
                return Err(ApiError::Internal(format!(
                    "Failed to set up volume delete: {IN_USE}"
                )));
            }
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM bricks WHERE volume_id = ? AND pending_op IS NOT NULL",
            )
            .bind(volume_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            if busy > 0 {
                return Err(ApiError::Internal(format!(
                    "Failed to set up volume delete: {IN_USE}"
                )));
            }
            let bricks = store::bricks_of_volume(&mut *tx, volume_id).await?;
            sqlx::query("UPDATE bricks SET pending_op = ? WHERE volume_id = ?")
                .bind(&op_id)
                .bind(volume_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            let changes: Vec<Change> = bricks
                .iter()
                .map(|b| change(&b.id, "Delete brick"))
                .chain(std::iter::once(change(volume_id, "Delete volume")))
                .collect();
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::DeleteVolume {
                    volume_id: volume_id.to_string(),
                },
                &changes,
            )
            .await?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let engine = self.clone();
        let (op, qid, vid) = (op_id.clone(), queue_id.clone(), volume_id.to_string());
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine.run_volume_delete(&op, &vid, &qid).await
        });
        Ok(queue_id)
    }

    /// Node side of a delete, then the store. Used by cleanup to finish stale deletes too.
    pub(super) async fn run_volume_delete(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
    ) -> Result<(), String> {
        let vol = self.load_volume(volume_id).await?;
        let bricks = store::bricks_of_volume(&self.store.read, volume_id)
            .await
            .map_err(|e| e.to_string())?;
        let nodes = self
            .nodes_by_id(&vol.cluster_id)
            .await
            .map_err(|e| e.to_string())?;
        match self.delete_on_nodes(&vol, &bricks, &nodes).await {
            Ok(reclaimed) => self
                .finish_volume_delete(op_id, volume_id, queue_id, &bricks, &reclaimed)
                .await
                .map_err(|e| e.to_string()),
            Err(msg) => {
                let msg = format!("Unable to delete volume {}: {msg}", vol.name);
                self.abort_volume_delete(op_id, volume_id, queue_id, &msg)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    async fn delete_on_nodes(
        &self,
        vol: &VolumeRow,
        bricks: &[BrickRow],
        nodes: &HashMap<String, NodeRow>,
    ) -> Result<Vec<bool>, String> {
        // Refuse before touching anything if a brick's node cannot take the work: a half
        // deleted volume helps nobody, an intact one keeps serving.
        let mut brick_nodes: Vec<&str> = bricks.iter().map(|b| b.node_id.as_str()).collect();
        brick_nodes.sort_unstable();
        brick_nodes.dedup();
        let targets = brick_nodes
            .into_iter()
            .map(|nid| target_of(nodes, nid))
            .collect::<Result<Vec<_>, _>>()?;
        // All nodes checked at once; the first failure (in node id order) is reported.
        let checks = join_all(targets.iter().map(|t| async move {
            self.on_node(t, || self.exec.glusterd_check(t))
                .await
                .map_err(|e| format!("node {} cannot take part: {}", t.manage, exec_msg(&e)))
        }))
        .await;
        checks.into_iter().collect::<Result<Vec<()>, String>>()?;
        let mut last_err = String::from("no node of the cluster is available");
        let mut done = false;
        for n in nodes.values().filter(|n| !self.is_down(&n.id)) {
            let t = n.target();
            match self
                .on_node(&t, || self.exec.volume_destroy(&t, &vol.name))
                .await
            {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(e) => last_err = exec_msg(&e),
            }
        }
        if !done {
            return Err(last_err);
        }
        self.destroy_bricks(bricks, nodes, vol.gid).await
    }

    async fn finish_volume_delete(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        bricks: &[BrickRow],
        reclaimed: &[bool],
    ) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let w = &mut *w;
        let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
        for (b, r) in bricks.iter().zip(reclaimed) {
            write::remove_bricks(&mut tx, std::slice::from_ref(b), *r).await?;
        }
        sqlx::query("DELETE FROM volumes WHERE id = ?")
            .bind(volume_id)
            .execute(&mut *tx)
            .await?;
        write::delete_operation(&mut tx, op_id).await?;
        write::finish_queue(&mut tx, queue_id, &Ok(String::new())).await?;
        tx.commit().await?;
        for (b, r) in bricks.iter().zip(reclaimed) {
            if *r {
                w.devices.adjust_free(&b.device_id, b.reserved());
            }
        }
        Ok(())
    }

    /// A delete that failed: the volume becomes visible again and can be deleted later.
    async fn abort_volume_delete(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        msg: &str,
    ) -> Result<(), StoreError> {
        self.end_op(
            op_id,
            queue_id,
            &Err(msg.to_string()),
            &[
                (
                    "UPDATE volumes SET hidden = 0, pending_op = NULL WHERE id = ?",
                    volume_id,
                ),
                (
                    "UPDATE bricks SET pending_op = NULL WHERE pending_op = ?",
                    op_id,
                ),
            ],
            false,
        )
        .await
    }

    // ------------------------------------------------------------------ expand

    /// `POST /volumes/{id}/expand`.
    pub async fn volume_expand(
        self: &Arc<Self>,
        volume_id: &str,
        expand_size: i64,
    ) -> Result<String, ApiError> {
        let Some(vol) = store::volume_row(&self.store.read, volume_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if vol.hidden {
            return Err(ApiError::IdNotFound);
        }
        if vol.pending_op.is_some() {
            return Err(ApiError::Internal(format!(
                "Failed to allocate volume expansion: {IN_USE}"
            )));
        }
        let admission = self.admit()?;
        let alloc_err =
            |r: String| ApiError::Internal(format!("Failed to allocate volume expansion: {r}"));
        let existing = store::bricks_of_volume(&self.store.read, volume_id).await?;
        let preq = self
            .placement_request(
                expand_size as u64,
                vol.layout.0,
                vol.snapshot_factor as f32,
                existing.len(),
                &parsed_options(&vol.options),
            )
            .map_err(alloc_err)?;
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        let down = self.down_nodes();
        {
            let mut w = self.store.writer().await;
            let w = &mut *w;
            let placement = {
                let cd = w
                    .devices
                    .cluster(&mut w.conn, &vol.cluster_id, &down)
                    .await?;
                place(&cd.devices, &preq, &self.limits()).map_err(alloc_err)?
            };
            let next_pos = existing.iter().map(|b| b.position + 1).max().unwrap_or(0);
            let bricks = brick_rows(&placement, volume_id, &op_id, next_pos);
            let changes: Vec<Change> = bricks
                .iter()
                .map(|b| change(&b.id, "Add brick"))
                .chain(std::iter::once(change(volume_id, "Expand volume")))
                .collect();
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            let claimed = sqlx::query(
                "UPDATE volumes SET pending_op = ? WHERE id = ? AND pending_op IS NULL AND hidden = 0",
            )
            .bind(&op_id)
            .bind(volume_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            if claimed.rows_affected() != 1 {
                return Err(alloc_err(IN_USE.into()));
            }
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::ExpandVolume {
                    volume_id: volume_id.to_string(),
                    expand_size,
                },
                &changes,
            )
            .await?;
            for b in &bricks {
                write::insert_brick(&mut tx, b).await?;
                write::reserve(&mut tx, &b.device_id, b.reserved()).await?;
            }
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
            for b in &bricks {
                w.devices.adjust_free(&b.device_id, -b.reserved());
            }
        }
        let engine = self.clone();
        let (op, qid, vid) = (op_id.clone(), queue_id.clone(), volume_id.to_string());
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine.run_volume_expand(&op, &vid, expand_size, &qid).await
        });
        Ok(queue_id)
    }

    async fn run_volume_expand(
        &self,
        op_id: &str,
        volume_id: &str,
        expand_size: i64,
        queue_id: &str,
    ) -> Result<(), String> {
        let VolumeWork {
            vol,
            bricks: new,
            nodes,
        } = self.load_work(op_id, volume_id).await?;
        let result = async {
            self.create_bricks(&new, &nodes, vol.gid).await?;
            let spec = volume_spec(&vol, &new, &nodes, false).map_err(StepError::Dirty)?;
            let first_brick = new.first().ok_or_else(|| {
                StepError::Dirty(format!("expansion of {volume_id} has no bricks"))
            })?;
            let first = target_of(&nodes, &first_brick.node_id).map_err(StepError::Dirty)?;
            let rebalance = self.config.rebalance_on_expansion;
            if let Err(e) = self
                .on_node(&first, || self.exec.volume_expand(&first, &spec, rebalance))
                .await
            {
                let msg = exec_msg(&e);
                return match self.destroy_bricks(&new, &nodes, vol.gid).await {
                    Ok(_) => Err(StepError::Undone(msg)),
                    Err(u) => Err(StepError::Dirty(format!("{msg}; undo: {u}"))),
                };
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => self
                .finish_expand(op_id, volume_id, expand_size, queue_id)
                .await
                .map_err(|e| e.to_string()),
            Err(StepError::Dirty(msg)) => self.mark_failed(op_id, queue_id, &msg).await,
            Err(e @ StepError::Undone(_)) => self
                .rollback_expand(
                    op_id,
                    volume_id,
                    queue_id,
                    &format!("Failed to expand volume: {}", e.message()),
                )
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn finish_expand(
        &self,
        op_id: &str,
        volume_id: &str,
        expand_size: i64,
        queue_id: &str,
    ) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
        sqlx::query("UPDATE volumes SET size = size + ?, pending_op = NULL WHERE id = ?")
            .bind(expand_size)
            .bind(volume_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE bricks SET pending_op = NULL WHERE pending_op = ?")
            .bind(op_id)
            .execute(&mut *tx)
            .await?;
        write::delete_operation(&mut tx, op_id).await?;
        write::finish_queue(&mut tx, queue_id, &Ok(format!("/volumes/{volume_id}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn rollback_expand(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_id: &str,
        msg: &str,
    ) -> Result<(), StoreError> {
        self.drop_op_bricks(
            op_id,
            volume_id,
            queue_id,
            msg,
            "UPDATE volumes SET pending_op = NULL WHERE id = ?",
        )
        .await
    }

    // ------------------------------------------------------------------ clone

    /// `POST /volumes/{id}/clone`.
    pub async fn volume_clone(
        self: &Arc<Self>,
        origin_id: &str,
        name: &str,
    ) -> Result<String, ApiError> {
        let Some(origin) = store::volume_row(&self.store.read, origin_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        if origin.hidden {
            return Err(ApiError::IdNotFound);
        }
        if origin.block {
            return Err(ApiError::Internal(format!(
                "Failed clone volume {origin_id}: Cloning of block hosting volumes is not supported"
            )));
        }
        let admission = self.admit()?;
        let clone_id = heqet_api::id::new_id();
        let name = if name.is_empty() {
            format!("vol_{clone_id}")
        } else {
            name.to_string()
        };
        let op_id = heqet_api::id::new_id();
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let taken: Option<String> =
                sqlx::query_scalar("SELECT id FROM volumes WHERE cluster_id = ? AND name = ?")
                    .bind(&origin.cluster_id)
                    .bind(&name)
                    .fetch_optional(&mut w.conn)
                    .await
                    .map_err(StoreError::from)?;
            if taken.is_some() {
                return Err(ApiError::Internal(format!(
                    "Failed clone volume {origin_id}: Volume name '{name}' already in use"
                )));
            }
            let mut tx = sqlx::Connection::begin(&mut w.conn)
                .await
                .map_err(StoreError::from)?;
            write::insert_operation(
                &mut tx,
                &op_id,
                &OpPayload::CloneVolume {
                    origin_id: origin_id.to_string(),
                    clone_id: clone_id.clone(),
                },
                &[
                    change(origin_id, "Clone volume from"),
                    change(&clone_id, "Add volume"),
                ],
            )
            .await?;
            sqlx::query(
                "INSERT INTO volumes (id, cluster_id, name, size, durability, layout, gid, options, \
                 block, blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op, created_at) \
                 SELECT ?, cluster_id, ?, size, durability, layout, gid, options, block, '{}', \
                 snapshot_enable, snapshot_factor, owner, 1, ?, ? FROM volumes WHERE id = ?",
            )
            .bind(&clone_id)
            .bind(&name)
            .bind(&op_id)
            .bind(now_secs())
            .bind(origin_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            write::insert_queue(&mut tx, &queue_id, Some(&op_id), "admin").await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let engine = self.clone();
        let (op, qid, oid) = (op_id.clone(), queue_id.clone(), origin_id.to_string());
        self.spawn(admission, Some(op_id), queue_id.clone(), async move {
            engine.run_volume_clone(&op, &oid, &clone_id, &qid).await
        });
        Ok(queue_id)
    }

    async fn run_volume_clone(
        &self,
        op_id: &str,
        origin_id: &str,
        clone_id: &str,
        queue_id: &str,
    ) -> Result<(), String> {
        let origin = self.load_volume(origin_id).await?;
        let clone = self.load_volume(clone_id).await?;
        let origin_bricks = store::bricks_of_volume(&self.store.read, origin_id)
            .await
            .map_err(|e| e.to_string())?;
        let nodes = self
            .nodes_by_id(&origin.cluster_id)
            .await
            .map_err(|e| e.to_string())?;
        let mut ids: Vec<&String> = nodes.keys().collect();
        ids.sort();
        let Some(first) = ids.first().and_then(|id| nodes.get(*id)) else {
            return self
                .rollback_clone(op_id, clone_id, queue_id, "no node in the cluster")
                .await
                .map_err(|e| e.to_string());
        };
        let t = first.target();
        let status = match self
            .on_node(&t, || self.exec.volume_clone(&t, &origin.name, &clone.name))
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("Failed clone volume {origin_id}: {}", exec_msg(&e));
                return self
                    .rollback_clone(op_id, clone_id, queue_id, &msg)
                    .await
                    .map_err(|e| e.to_string());
            }
        };
        // Clone bricks match the origin's by position in gluster's brick order; they live in
        // the origin's thin pools and take no new space.
        let gluster_uuid = status.id.replace('-', "");
        let bricks: Vec<BrickRow> = origin_bricks
            .iter()
            .enumerate()
            .map(|(i, ob)| {
                let id = heqet_api::id::new_id();
                let path = status
                    .bricks
                    .get(i)
                    .map(|a| a.path.clone())
                    .unwrap_or_else(|| {
                        format!("/run/gluster/snaps/{clone_id}/brick{}/brick", i + 1)
                    });
                BrickRow {
                    id,
                    volume_id: clone_id.to_string(),
                    device_id: ob.device_id.clone(),
                    node_id: ob.node_id.clone(),
                    path,
                    size: ob.size,
                    tp_size: 0,
                    pool_metadata_size: 0,
                    thin_pool: ob.thin_pool.clone(),
                    lv: format!(
                        "{}_{}",
                        if gluster_uuid.is_empty() {
                            clone_id
                        } else {
                            &gluster_uuid
                        },
                        i
                    ),
                    arbiter: ob.arbiter,
                    position: ob.position,
                    pending_op: None,
                }
            })
            .collect();
        let res: Result<(), StoreError> = async {
            let mut w = self.store.writer().await;
            let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
            for b in &bricks {
                write::insert_brick(&mut tx, b).await?;
            }
            sqlx::query("UPDATE volumes SET hidden = 0, pending_op = NULL WHERE id = ?")
                .bind(clone_id)
                .execute(&mut *tx)
                .await?;
            write::delete_operation(&mut tx, op_id).await?;
            write::finish_queue(&mut tx, queue_id, &Ok(format!("/volumes/{clone_id}"))).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        res.map_err(|e| e.to_string())
    }

    pub(super) async fn rollback_clone(
        &self,
        op_id: &str,
        clone_id: &str,
        queue_id: &str,
        msg: &str,
    ) -> Result<(), StoreError> {
        self.end_op(
            op_id,
            queue_id,
            &Err(msg.to_string()),
            &[
                ("DELETE FROM bricks WHERE volume_id = ?", clone_id),
                ("DELETE FROM volumes WHERE id = ?", clone_id),
            ],
            false,
        )
        .await
    }

    /// Undo the node side of a create whose journal entry went stale (server crash).
    pub(super) async fn undo_volume_create(
        &self,
        op_id: &str,
        volume_id: &str,
    ) -> Result<(), String> {
        let VolumeWork { vol, bricks, nodes } = self.load_work(op_id, volume_id).await?;
        if let Some(b) = bricks.first() {
            let t = target_of(&nodes, &b.node_id)?;
            self.on_node(&t, || self.exec.volume_destroy(&t, &vol.name))
                .await
                .map_err(|e| exec_msg(&e))?;
        }
        self.destroy_bricks(&bricks, &nodes, vol.gid)
            .await
            .map(|_| ())
    }

    /// Undo the node side of a stale expand: destroy the bricks it added.
    pub(super) async fn undo_volume_expand(
        &self,
        op_id: &str,
        volume_id: &str,
    ) -> Result<(), String> {
        let VolumeWork { vol, bricks, nodes } = self.load_work(op_id, volume_id).await?;
        self.destroy_bricks(&bricks, &nodes, vol.gid)
            .await
            .map(|_| ())
    }

    pub(super) async fn rollback_volume_create_stale(
        &self,
        op_id: &str,
        volume_id: &str,
        queue_ids: &[String],
        msg: &str,
    ) -> Result<(), StoreError> {
        // Same as a failed create; every queue entry of the op gets the outcome.
        let first = queue_ids.first().cloned().unwrap_or_default();
        self.rollback_volume_create(op_id, volume_id, &first, msg)
            .await?;
        let mut w = self.store.writer().await;
        for q in queue_ids.iter().skip(1) {
            write::finish_queue(&mut w.conn, q, &Err(msg.to_string())).await?;
        }
        Ok(())
    }
}

/// An f32 as the f64 with the same shortest decimal (1.2f32 -> 1.2, not 1.2000000476…).
fn f32_as_f64(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}

fn change(id: &str, description: &str) -> Change {
    Change {
        id: id.to_string(),
        description: description.to_string(),
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

/// The stored option strings as `(key, value)` pairs; entries that do not parse (empty ones)
/// are skipped.
fn parsed_options(opts: &[String]) -> Vec<(String, String)> {
    opts.iter()
        .filter_map(|o| validate::parse_option(o).ok())
        .collect()
}

const NO_DEVICES: &str = "No online storage devices in cluster";

fn place(
    devices: &[placement::DeviceCandidate],
    req: &VolumeRequest,
    limits: &Limits,
) -> Result<Placement, String> {
    if !devices.iter().any(|d| d.online) {
        return Err(NO_DEVICES.into());
    }
    let mut rng = rand::thread_rng();
    placement::place_volume(devices, req, limits, &mut rng).map_err(|e| e.to_string())
}

fn brick_rows(p: &Placement, volume_id: &str, op_id: &str, first_position: i64) -> Vec<BrickRow> {
    p.bricks
        .iter()
        .enumerate()
        .map(|(i, b)| BrickRow {
            id: b.id.clone(),
            volume_id: volume_id.to_string(),
            device_id: b.device_id.clone(),
            node_id: b.node_id.clone(),
            path: brick_path(&b.device_id, &b.id),
            size: b.size_kib as i64,
            tp_size: b.tp_kib as i64,
            pool_metadata_size: b.metadata_kib as i64,
            thin_pool: b.thin_pool.clone(),
            lv: format!("brick_{}", b.id),
            arbiter: b.arbiter,
            position: first_position + i as i64,
            pending_op: Some(op_id.to_string()),
        })
        .collect()
}

fn target_of(nodes: &HashMap<String, NodeRow>, node_id: &str) -> Result<NodeTarget, String> {
    nodes
        .get(node_id)
        .map(NodeRow::target)
        .ok_or_else(|| format!("node {node_id} is not in the store"))
}

/// The gluster volume description for `bricks` (all of a new volume, or the new bricks of
/// an expansion). `with_options` adds the stored options and `user.heketi.id`.
fn volume_spec(
    vol: &VolumeRow,
    bricks: &[BrickRow],
    nodes: &HashMap<String, NodeRow>,
    with_options: bool,
) -> Result<VolumeSpec, String> {
    let mut addrs = Vec::with_capacity(bricks.len());
    let mut ordered: Vec<&BrickRow> = bricks.iter().collect();
    ordered.sort_by_key(|b| b.position);
    for b in ordered {
        let n = nodes
            .get(&b.node_id)
            .ok_or_else(|| format!("node {} is not in the store", b.node_id))?;
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
    /// `POST /volumes/{id}/block-restriction` (block-hosting volumes only; checked by the
    /// handler).
    pub async fn volume_block_restriction(
        self: &Arc<Self>,
        volume_id: &str,
        restriction: &str,
    ) -> Result<String, ApiError> {
        let admission = self.admit()?;
        let queue_id = heqet_api::id::new_id();
        let mut w = self.store.writer().await;
        let Some(vol) = store::volume_row(&mut w.conn, volume_id).await? else {
            return Err(ApiError::IdNotFound);
        };
        let mut info = vol.blockinfo.0.clone();
        info.restriction = restriction.to_string();
        let mut tx = sqlx::Connection::begin(&mut w.conn)
            .await
            .map_err(StoreError::from)?;
        sqlx::query("UPDATE volumes SET blockinfo = ? WHERE id = ?")
            .bind(Json(&info))
            .bind(volume_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        write::insert_queue(&mut tx, &queue_id, None, "admin").await?;
        write::finish_queue(&mut tx, &queue_id, &Ok(format!("/volumes/{volume_id}"))).await?;
        tx.commit().await.map_err(StoreError::from)?;
        drop(admission);
        Ok(queue_id)
    }
}
