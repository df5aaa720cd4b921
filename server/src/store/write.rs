//! The write side: a transaction with typed statements. Each statement that changes what
//! placement sees records its effect; [`Tx::commit`] applies the effects to the placement
//! view after the database committed, so the view never runs ahead of or behind the data.

use heqet_api::{BlockInfo, Tags};
use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};

use super::placement::{ClusterDevices, DeviceCache};
use super::read::{self, ClusterAdmission, BRICK_COLS};
use super::{StoreError, StoreResult};
use crate::model::*;

/// A change to the placement view, applied on commit.
enum Effect {
    /// A device's free space changed by this many KiB.
    Free(String, i64),
    /// Nodes, devices, states or tags changed: reload on next use.
    Topology,
}

pub struct Tx<'a> {
    tx: Transaction<'a, Sqlite>,
    devices: &'a mut DeviceCache,
    effects: Vec<Effect>,
    /// A statement changed rows (see [`Tx::placement`]).
    wrote: bool,
}

/// A node about to be added, with the hostnames it claims.
pub struct NewNode<'a> {
    pub id: &'a str,
    pub cluster_id: &'a str,
    pub zone: i64,
    pub manage: &'a [String],
    pub storage: &'a [String],
    pub tags: &'a Tags,
    pub op_id: &'a str,
}

/// What LVM reported for a device, as stored.
pub struct DeviceFigures<'a> {
    pub total: i64,
    pub free: i64,
    pub used: i64,
    pub extent_size: i64,
    pub pv_uuid: &'a str,
    pub paths: &'a [String],
}

impl<'a> From<&'a heqet_executor::DeviceReport> for DeviceFigures<'a> {
    fn from(r: &'a heqet_executor::DeviceReport) -> Self {
        DeviceFigures {
            total: r.total_kib as i64,
            free: r.free_kib as i64,
            used: r.used_kib as i64,
            extent_size: r.extent_size_kib as i64,
            pv_uuid: &r.pv_uuid,
            paths: &r.paths,
        }
    }
}

impl<'a> Tx<'a> {
    pub(super) async fn begin(
        conn: &'a mut SqliteConnection,
        devices: &'a mut DeviceCache,
    ) -> StoreResult<Tx<'a>> {
        Ok(Tx {
            tx: sqlx::Connection::begin(conn).await?,
            devices,
            effects: Vec::new(),
            wrote: false,
        })
    }

    /// Commit, then bring the placement view up to date.
    pub async fn commit(self) -> StoreResult<()> {
        let Tx {
            tx,
            devices,
            effects,
            ..
        } = self;
        tx.commit().await?;
        for e in effects {
            match e {
                Effect::Free(device, delta) => devices.adjust_free(&device, delta),
                Effect::Topology => devices.invalidate(),
            }
        }
        Ok(())
    }

    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    pub(super) fn topology_changed(&mut self) {
        self.effects.push(Effect::Topology);
    }

    /// The placement view of a cluster's devices. Only before this transaction wrote
    /// anything: a view loaded from uncommitted rows could outlive a rollback.
    pub async fn placement(
        &mut self,
        cluster_id: &str,
        down: &std::collections::HashSet<String>,
    ) -> StoreResult<&ClusterDevices> {
        if self.wrote {
            return Err(StoreError::Conflict(
                "placement must be read before the transaction writes".into(),
            ));
        }
        self.devices.cluster(&mut self.tx, cluster_id, down).await
    }

    pub(super) async fn run<'q>(
        &mut self,
        q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> StoreResult<u64> {
        self.wrote = true;
        Ok(q.execute(self.conn()).await?.rows_affected())
    }

    // ------------------------------------------------------------------ journal and queue

    pub async fn insert_operation(
        &mut self,
        op_id: &str,
        payload: &OpPayload,
        changes: &[Change],
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO operations (id, kind, status, created_at, payload, changes) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(op_id)
        .bind(payload.kind().type_name())
        .bind(OpStatus::New)
        .bind(now_secs())
        .bind(Json(payload))
        .bind(Json(changes));
        self.run(q).await.map(drop)
    }

    pub async fn set_operation_changes(
        &mut self,
        op_id: &str,
        changes: &[Change],
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE operations SET changes = ? WHERE id = ?")
            .bind(Json(changes))
            .bind(op_id);
        self.run(q).await.map(drop)
    }

    pub async fn delete_operation(&mut self, op_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM operations WHERE id = ?").bind(op_id);
        self.run(q).await.map(drop)
    }

    pub async fn set_operation_status(&mut self, op_id: &str, status: OpStatus) -> StoreResult<()> {
        let q = sqlx::query("UPDATE operations SET status = ? WHERE id = ?")
            .bind(status)
            .bind(op_id);
        self.run(q).await.map(drop)
    }

    /// At start-up: every entry a previous run left unfinished is stale. Returns how many.
    pub async fn mark_new_operations_stale(&mut self) -> StoreResult<u64> {
        let q = sqlx::query("UPDATE operations SET status = ? WHERE status = ?")
            .bind(OpStatus::Stale)
            .bind(OpStatus::New);
        self.run(q).await
    }

    pub async fn insert_queue(
        &mut self,
        queue_id: &str,
        op_id: Option<&str>,
        owner: &str,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO queue (id, op_id, state, owner, created_at) VALUES (?, ?, 'pending', ?, ?)",
        )
        .bind(queue_id)
        .bind(op_id)
        .bind(owner)
        .bind(now_secs());
        self.run(q).await.map(drop)
    }

    /// Record the outcome of a queue entry: `location` for 303 (empty = 204), or an error.
    pub async fn finish_queue(
        &mut self,
        queue_id: &str,
        outcome: &Result<String, String>,
    ) -> StoreResult<()> {
        let (state, location, message) = outcome_columns(outcome);
        let q = sqlx::query(
            "UPDATE queue SET state = ?, location = ?, message = ?, finished_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(location)
        .bind(message)
        .bind(now_secs())
        .bind(queue_id);
        self.run(q).await.map(drop)
    }

    /// The same outcome for every pending queue entry of a journal entry.
    pub async fn finish_queues_of(
        &mut self,
        op_id: &str,
        outcome: &Result<String, String>,
    ) -> StoreResult<()> {
        let (state, location, message) = outcome_columns(outcome);
        let q = sqlx::query(
            "UPDATE queue SET state = ?, location = ?, message = ?, finished_at = ? \
             WHERE op_id = ? AND state = 'pending'",
        )
        .bind(state)
        .bind(location)
        .bind(message)
        .bind(now_secs())
        .bind(op_id);
        self.run(q).await.map(drop)
    }

    /// Pending queue entries whose journal entry is gone can no longer finish.
    pub async fn fail_orphaned_queues(&mut self, message: &str) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE queue SET state = 'failed', message = ?, finished_at = ? \
             WHERE state = 'pending' AND (op_id IS NULL OR op_id NOT IN (SELECT id FROM operations))",
        )
        .bind(message)
        .bind(now_secs());
        self.run(q).await.map(drop)
    }

    /// Forget finished queue entries that finished before `cutoff`.
    pub async fn expire_queue(&mut self, cutoff: i64) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM queue WHERE state != 'pending' AND finished_at < ?")
            .bind(cutoff);
        self.run(q).await.map(drop)
    }

    // ------------------------------------------------------------------ volumes

    /// A new volume, hidden and owned by `row.pending_op` until its operation finishes.
    pub async fn insert_volume(&mut self, v: &VolumeRow) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO volumes (id, cluster_id, name, size, durability, layout, gid, options, \
             block, blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&v.id)
        .bind(&v.cluster_id)
        .bind(&v.name)
        .bind(v.size)
        .bind(&v.durability)
        .bind(v.layout)
        .bind(v.gid)
        .bind(&v.options)
        .bind(v.block)
        .bind(&v.blockinfo)
        .bind(v.snapshot_enable)
        .bind(v.snapshot_factor)
        .bind(&v.owner)
        .bind(v.hidden)
        .bind(&v.pending_op)
        .bind(now_secs());
        self.run(q).await.map(drop)
    }

    /// A hidden copy of `origin_id`'s record under a new id and name (a clone being made).
    pub async fn insert_volume_copy(
        &mut self,
        origin_id: &str,
        clone_id: &str,
        name: &str,
        op_id: &str,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO volumes (id, cluster_id, name, size, durability, layout, gid, options, \
             block, blockinfo, snapshot_enable, snapshot_factor, owner, hidden, pending_op, created_at) \
             SELECT ?, cluster_id, ?, size, durability, layout, gid, options, block, '{}', \
             snapshot_enable, snapshot_factor, owner, 1, ?, ? FROM volumes WHERE id = ?",
        )
        .bind(clone_id)
        .bind(name)
        .bind(op_id)
        .bind(now_secs())
        .bind(origin_id);
        self.run(q).await.map(drop)
    }

    /// The cluster-level facts a volume create checks, `None` for an unknown cluster. Read in
    /// the transaction: the writer is held, and waiting for a pool connection here would
    /// hold every other write up behind the readers.
    pub async fn cluster_admission(
        &mut self,
        cluster_id: &str,
        name: &str,
    ) -> StoreResult<Option<ClusterAdmission>> {
        let row: Option<(bool, bool, i64, bool, i64)> = sqlx::query_as(
            "SELECT c.block, c.file, \
               (SELECT COUNT(*) FROM volumes WHERE cluster_id = c.id), \
               EXISTS (SELECT 1 FROM volumes WHERE cluster_id = c.id AND name = ?2), \
               (SELECT COUNT(*) FROM nodes WHERE cluster_id = c.id AND pending_op IS NULL) \
             FROM clusters c WHERE c.id = ?1",
        )
        .bind(cluster_id)
        .bind(name)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(
            |(block, file, volumes, name_taken, nodes)| ClusterAdmission {
                block,
                file,
                volumes,
                name_taken,
                nodes,
            },
        ))
    }

    pub async fn volume_name_taken(&mut self, cluster_id: &str, name: &str) -> StoreResult<bool> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM volumes WHERE cluster_id = ? AND name = ?")
                .bind(cluster_id)
                .bind(name)
                .fetch_optional(self.conn())
                .await?;
        Ok(id.is_some())
    }

    /// Give a visible, idle volume to `op_id` (and hide it, for a delete). False when another
    /// operation holds it or it is gone.
    pub async fn claim_volume(
        &mut self,
        volume_id: &str,
        op_id: &str,
        hide: bool,
    ) -> StoreResult<bool> {
        let q = sqlx::query(
            "UPDATE volumes SET hidden = ?, pending_op = ? WHERE id = ? AND pending_op IS NULL AND hidden = 0",
        )
        .bind(hide)
        .bind(op_id)
        .bind(volume_id);
        Ok(self.run(q).await? == 1)
    }

    /// The volume is visible and belongs to no operation.
    pub async fn settle_volume(&mut self, volume_id: &str) -> StoreResult<()> {
        let q = sqlx::query("UPDATE volumes SET hidden = 0, pending_op = NULL WHERE id = ?")
            .bind(volume_id);
        self.run(q).await.map(drop)
    }

    /// An expansion finished: the volume is `by` GiB larger and idle again.
    pub async fn grow_volume(&mut self, volume_id: &str, by: i64) -> StoreResult<()> {
        let q = sqlx::query("UPDATE volumes SET size = size + ?, pending_op = NULL WHERE id = ?")
            .bind(by)
            .bind(volume_id);
        self.run(q).await.map(drop)
    }

    pub async fn delete_volume(&mut self, volume_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM volumes WHERE id = ?").bind(volume_id);
        self.run(q).await.map(drop)
    }

    pub async fn set_block_info(&mut self, volume_id: &str, info: &BlockInfo) -> StoreResult<()> {
        let q = sqlx::query("UPDATE volumes SET blockinfo = ? WHERE id = ?")
            .bind(Json(info))
            .bind(volume_id);
        self.run(q).await.map(drop)
    }

    pub async fn volume_row(&mut self, volume_id: &str) -> StoreResult<Option<VolumeRow>> {
        read::volume_row(self.conn(), volume_id).await
    }

    // ------------------------------------------------------------------ bricks

    /// Insert bricks (one statement) and, with `reserve`, take their space from their devices
    /// all-or-nothing: every device must still have more free than it gives.
    pub async fn add_bricks(&mut self, bricks: &[BrickRow], reserve: bool) -> StoreResult<()> {
        if bricks.is_empty() {
            return Ok(());
        }
        let mut qb =
            sqlx::QueryBuilder::<Sqlite>::new(format!("INSERT INTO bricks ({BRICK_COLS}) "));
        qb.push_values(bricks, |mut row, b| {
            row.push_bind(&b.id)
                .push_bind(&b.volume_id)
                .push_bind(&b.device_id)
                .push_bind(&b.node_id)
                .push_bind(&b.path)
                .push_bind(b.size)
                .push_bind(b.tp_size)
                .push_bind(b.pool_metadata_size)
                .push_bind(&b.thin_pool)
                .push_bind(&b.lv)
                .push_bind(b.arbiter)
                .push_bind(b.position)
                .push_bind(&b.pending_op);
        });
        self.wrote = true;
        qb.build().execute(self.conn()).await?;
        if reserve {
            self.reserve_for(bricks).await?;
        }
        Ok(())
    }

    async fn reserve_for(&mut self, bricks: &[BrickRow]) -> StoreResult<()> {
        let mut need: Vec<(&str, i64)> = Vec::new();
        for b in bricks {
            match need.iter_mut().find(|(d, _)| *d == b.device_id) {
                Some((_, n)) => *n += b.reserved(),
                None => need.push((&b.device_id, b.reserved())),
            }
        }
        let amounts = serde_json::to_string(
            &need
                .iter()
                .map(|(d, n)| serde_json::json!([d, n]))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // json_each over [[device, amount], …]: one pass, all-or-nothing via the count check.
        let q = sqlx::query(
            "WITH need(id, amount) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
             UPDATE devices SET free = free - (SELECT amount FROM need WHERE need.id = devices.id), \
                                used = used + (SELECT amount FROM need WHERE need.id = devices.id) \
             WHERE id IN (SELECT id FROM need) \
               AND free > (SELECT amount FROM need WHERE need.id = devices.id)",
        )
        .bind(&amounts);
        if self.run(q).await? as usize != need.len() {
            return Err(StoreError::Conflict(
                "a device no longer has the space placement counted on".into(),
            ));
        }
        for (device, amount) in need {
            self.effects.push(Effect::Free(device.to_string(), -amount));
        }
        Ok(())
    }

    /// Delete a brick; with `release`, give its space back to its device (it was reclaimed
    /// on the node).
    ///
    /// Without `release` the brick's thin pool lives on (a clone's LV still uses it): its
    /// space passes to a brick that shares the pool, so it is given back when that brick's
    /// pool goes, instead of being lost to the accounting.
    pub async fn remove_brick(&mut self, b: &BrickRow, release: bool) -> StoreResult<()> {
        if !release && b.reserved() > 0 {
            let heir: Option<String> = sqlx::query_scalar(
                "SELECT id FROM bricks WHERE device_id = ? AND thin_pool = ? AND id != ? ORDER BY id LIMIT 1",
            )
            .bind(&b.device_id)
            .bind(&b.thin_pool)
            .bind(&b.id)
            .fetch_optional(self.conn())
            .await?;
            if let Some(heir) = heir {
                let q = sqlx::query(
                    "UPDATE bricks SET tp_size = tp_size + ?, pool_metadata_size = pool_metadata_size + ? WHERE id = ?",
                )
                .bind(b.tp_size)
                .bind(b.pool_metadata_size)
                .bind(heir);
                self.run(q).await?;
            }
        }
        if release {
            let q = sqlx::query(
                "UPDATE devices SET free = MIN(total, free + ?1), used = MAX(0, used - ?1) WHERE id = ?2",
            )
            .bind(b.reserved())
            .bind(&b.device_id);
            self.run(q).await?;
            self.effects
                .push(Effect::Free(b.device_id.clone(), b.reserved()));
        }
        let q = sqlx::query("DELETE FROM bricks WHERE id = ?").bind(&b.id);
        self.run(q).await.map(drop)
    }

    /// Delete bricks, releasing the space of each.
    pub async fn remove_bricks(&mut self, bricks: &[BrickRow]) -> StoreResult<()> {
        for b in bricks {
            self.remove_brick(b, true).await?;
        }
        Ok(())
    }

    /// Bricks that hold no space of their own (a clone's), by volume.
    pub async fn delete_bricks_of_volume(&mut self, volume_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM bricks WHERE volume_id = ?").bind(volume_id);
        self.run(q).await.map(drop)
    }

    pub async fn bricks_of_op(&mut self, op_id: &str) -> StoreResult<Vec<BrickRow>> {
        read::bricks_where(self.conn(), "pending_op", op_id, "position").await
    }

    pub async fn bricks_of_volume(&mut self, volume_id: &str) -> StoreResult<Vec<BrickRow>> {
        read::bricks_where(self.conn(), "volume_id", volume_id, "position").await
    }

    /// Give every brick of a volume to `op_id`.
    pub async fn claim_bricks_of_volume(
        &mut self,
        volume_id: &str,
        op_id: &str,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE bricks SET pending_op = ? WHERE volume_id = ?")
            .bind(op_id)
            .bind(volume_id);
        self.run(q).await.map(drop)
    }

    /// Bricks of `op_id` belong to no operation any more.
    pub async fn settle_bricks_of_op(&mut self, op_id: &str) -> StoreResult<()> {
        let q = sqlx::query("UPDATE bricks SET pending_op = NULL WHERE pending_op = ?").bind(op_id);
        self.run(q).await.map(drop)
    }

    /// How many bricks of a volume (`by_device` false) or a device (true) an operation holds.
    pub async fn busy_bricks(&mut self, id: &str, by_device: bool) -> StoreResult<i64> {
        let sql = if by_device {
            "SELECT COUNT(*) FROM bricks WHERE device_id = ? AND pending_op IS NOT NULL"
        } else {
            "SELECT COUNT(*) FROM bricks WHERE volume_id = ? AND pending_op IS NOT NULL"
        };
        Ok(sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(self.conn())
            .await?)
    }

    // ------------------------------------------------------------------ devices

    /// A device being added, invisible until its operation finishes. `Err(existing id)` when
    /// the node already has a device of that name.
    pub async fn insert_device(
        &mut self,
        device_id: &str,
        node_id: &str,
        name: &str,
        tags: &Tags,
        op_id: &str,
    ) -> StoreResult<Result<(), String>> {
        let q = sqlx::query(
            "INSERT INTO devices (id, node_id, name, state, tags, pending_op) \
             VALUES (?, ?, ?, 'online', ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(device_id)
        .bind(node_id)
        .bind(name)
        .bind(Json(tags))
        .bind(op_id);
        if self.run(q).await? == 1 {
            return Ok(Ok(()));
        }
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM devices WHERE node_id = ? AND name = ?")
                .bind(node_id)
                .bind(name)
                .fetch_optional(self.conn())
                .await?;
        Ok(Err(existing.unwrap_or_default()))
    }

    /// A device is ready: its LVM figures, and visible to placement.
    pub async fn complete_device(
        &mut self,
        device_id: &str,
        f: &DeviceFigures<'_>,
    ) -> StoreResult<()> {
        self.set_device_figures(device_id, f, true).await
    }

    /// Figures read back from LVM (resync): never less used than heqet's own bricks hold, so
    /// accounting cannot hand out space that bricks already own.
    pub async fn resync_device(
        &mut self,
        device_id: &str,
        f: &DeviceFigures<'_>,
    ) -> StoreResult<()> {
        let reserved: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(tp_size + pool_metadata_size), 0) FROM bricks WHERE device_id = ?",
        )
        .bind(device_id)
        .fetch_one(self.conn())
        .await?;
        let used = f.used.max(reserved).min(f.total);
        let figures = DeviceFigures {
            used,
            free: f.total - used,
            ..*f
        };
        self.set_device_figures(device_id, &figures, false).await
    }

    async fn set_device_figures(
        &mut self,
        device_id: &str,
        f: &DeviceFigures<'_>,
        settle: bool,
    ) -> StoreResult<()> {
        let sql = if settle {
            "UPDATE devices SET total = ?, free = ?, used = ?, extent_size = ?, pv_uuid = ?, \
             paths = ?, pending_op = NULL WHERE id = ?"
        } else {
            "UPDATE devices SET total = ?, free = ?, used = ?, extent_size = ?, pv_uuid = ?, \
             paths = ? WHERE id = ?"
        };
        let q = sqlx::query(sql)
            .bind(f.total)
            .bind(f.free)
            .bind(f.used)
            .bind(f.extent_size)
            .bind(f.pv_uuid)
            .bind(Json(f.paths))
            .bind(device_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }

    pub async fn delete_device(&mut self, device_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM devices WHERE id = ?").bind(device_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }

    pub async fn set_device_state(
        &mut self,
        device_id: &str,
        state: EntryState,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE devices SET state = ? WHERE id = ?")
            .bind(state)
            .bind(device_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }

    // ------------------------------------------------------------------ nodes

    /// A node being added, with its hostnames. `Err(hostname)` when a hostname is taken.
    pub async fn insert_node(&mut self, n: &NewNode<'_>) -> StoreResult<Result<(), String>> {
        let q = sqlx::query(
            "INSERT INTO nodes (id, cluster_id, zone, manage, storage, tags, state, pending_op) \
             VALUES (?, ?, ?, ?, ?, ?, 'online', ?)",
        )
        .bind(n.id)
        .bind(n.cluster_id)
        .bind(n.zone)
        .bind(Json(n.manage))
        .bind(Json(n.storage))
        .bind(Json(n.tags))
        .bind(n.op_id);
        self.run(q).await?;
        let mut hosts: Vec<&String> = n.manage.iter().chain(n.storage).collect();
        hosts.sort();
        hosts.dedup();
        for h in hosts {
            let q = sqlx::query(
                "INSERT INTO node_hostnames (hostname, node_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(h)
            .bind(n.id);
            if self.run(q).await? == 0 {
                return Ok(Err(h.clone()));
            }
        }
        Ok(Ok(()))
    }

    /// Give an idle node to `op_id`. False when another operation holds it.
    pub async fn claim_node(&mut self, node_id: &str, op_id: &str) -> StoreResult<bool> {
        let q = sqlx::query("UPDATE nodes SET pending_op = ? WHERE id = ? AND pending_op IS NULL")
            .bind(op_id)
            .bind(node_id);
        let claimed = self.run(q).await? == 1;
        self.topology_changed();
        Ok(claimed)
    }

    /// The node belongs to no operation (an add finished).
    pub async fn settle_node(&mut self, node_id: &str) -> StoreResult<()> {
        let q = sqlx::query("UPDATE nodes SET pending_op = NULL WHERE id = ?").bind(node_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }

    /// Remove a node and release its hostnames.
    pub async fn delete_node(&mut self, node_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM node_hostnames WHERE node_id = ?").bind(node_id);
        self.run(q).await?;
        let q = sqlx::query("DELETE FROM nodes WHERE id = ?").bind(node_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }

    pub async fn set_node_state(&mut self, node_id: &str, state: EntryState) -> StoreResult<()> {
        let q = sqlx::query("UPDATE nodes SET state = ? WHERE id = ?")
            .bind(state)
            .bind(node_id);
        self.run(q).await?;
        self.topology_changed();
        Ok(())
    }
}

fn outcome_columns(outcome: &Result<String, String>) -> (QueueState, &str, &str) {
    match outcome {
        Ok(loc) => (QueueState::Done, loc.as_str(), ""),
        Err(msg) => (QueueState::Failed, "", msg.as_str()),
    }
}
