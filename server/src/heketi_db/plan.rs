//! The dump checked and mapped to heqet's rows. Every reference must resolve and every list
//! must agree with the records it names, ids are kept exactly, and what heqet cannot carry
//! becomes a [`Notice`]. Pure: nothing here touches a file or a database.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use heqet_executor::{BrickAddr, VolumeStatus};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::types::Json;

use super::agree::{accounting, lists_agree, markers_agree, mount_notice};
use super::format::{self, Entries, Extra};
use super::ops::{self, JournalEntry, Objects, VolumeFacts};
use super::order::{self, Role};
use super::rows::{brick, device, entry_state, layout};
use super::{DumpError, Notice};
use crate::model::*;
use crate::store::ImportRows;

/// What an import writes, and what it says about it.
#[derive(Debug)]
pub struct Import {
    pub rows: ImportRows,
    pub notices: Vec<Notice>,
    /// Block volumes and db attributes of the dump, none of which is carried.
    pub block_volumes: usize,
    pub db_attributes: usize,
}

/// Check and map a whole dump. `gluster` is what `gluster volume info --xml` said on the
/// clusters' nodes (may be empty): it gives the brick order heketi does not record.
pub fn plan(doc: format::Document, gluster: &[VolumeStatus]) -> Result<Import, DumpError> {
    let mut p = Planner::default();
    for key in doc.extra.keys() {
        p.notices.push(Notice::UnknownKey {
            kind: "top-level",
            key: key.clone(),
            count: 1,
            example: "the dump".into(),
        });
    }
    let block_volumes = not_carried(&doc, &mut p.notices);
    let db_attributes = doc.dbattributeentries.0.len();
    let r = Records::read(doc)?;
    p.survey(&r)?;
    let mut rows = p.topology(&r)?;
    let entries = p.journal(&r, &rows)?;
    apply_marks(&entries, &mut rows)?;
    cluster_lists_agree(&r, &rows)?;
    p.brick_order(&mut rows, &entries, gluster)?;
    for d in &rows.devices {
        accounting(d, &rows.bricks, &mut p.notices);
    }
    for (_, v) in &r.volumes {
        mount_notice(v, &rows.nodes, &mut p.notices);
    }
    rows.operations = entries
        .into_iter()
        .map(|e| OperationRow {
            kind: e.payload.kind().type_name().to_string(),
            id: e.id,
            status: e.status,
            created_at: e.created_at,
            payload: Json(e.payload),
            changes: Json(e.changes),
        })
        .collect();
    Ok(Import {
        rows,
        notices: p.notices,
        block_volumes,
        db_attributes,
    })
}

/// The records of the dump, each read into its shape.
struct Records {
    clusters: Vec<(String, format::ClusterEntry)>,
    volumes: Vec<(String, format::VolumeEntry)>,
    bricks: Vec<(String, format::BrickEntry)>,
    nodes: Vec<(String, format::NodeEntry)>,
    devices: Vec<(String, format::DeviceEntry)>,
    ops: Vec<(String, format::PendingOpEntry)>,
}

impl Records {
    fn read(doc: format::Document) -> Result<Records, DumpError> {
        let required = |e: Option<Entries>, key: &str| {
            e.ok_or_else(|| DumpError::NotADump(format!("it has no {key:?}")))
        };
        // In the order heketi writes them.
        let clusters = required(doc.clusterentries, "clusterentries")?;
        let volumes = required(doc.volumeentries, "volumeentries")?;
        let bricks = required(doc.brickentries, "brickentries")?;
        let nodes = required(doc.nodeentries, "nodeentries")?;
        let devices = required(doc.deviceentries, "deviceentries")?;
        Ok(Records {
            clusters: records("cluster", clusters)?,
            volumes: records("volume", volumes)?,
            bricks: records("brick", bricks)?,
            nodes: records("node", nodes)?,
            devices: records("device", devices)?,
            ops: records("pending operation", doc.pendingoperations)?,
        })
    }
}

fn records<T: DeserializeOwned>(
    kind: &'static str,
    entries: Entries,
) -> Result<Vec<(String, T)>, DumpError> {
    let mut out = Vec::with_capacity(entries.0.len());
    for (key, value) in entries.0 {
        let rec = serde_path_to_error::deserialize(value).map_err(|e| {
            let at = e.path().to_string();
            DumpError::Shape {
                kind,
                key: key.clone(),
                message: if at.is_empty() || at == "." {
                    e.inner().to_string()
                } else {
                    format!("{at}: {}", e.inner())
                },
            }
        })?;
        out.push((key, rec));
    }
    Ok(out)
}

/// Block volumes and db attributes, each reported; returns how many block volumes.
fn not_carried(doc: &format::Document, notices: &mut Vec<Notice>) -> usize {
    for (key, b) in &doc.blockvolumeentries.0 {
        let info = b.get("Info");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        notices.push(Notice::BlockVolume {
            id: key.clone(),
            name: text("name"),
            hosting: text("blockhostingvolume"),
        });
    }
    for (key, a) in &doc.dbattributeentries.0 {
        let value = a.get("Value").and_then(Value::as_str).unwrap_or("");
        notices.push(Notice::DbAttribute {
            key: key.clone(),
            value: value.to_string(),
        });
    }
    doc.blockvolumeentries.0.len()
}

/// Objects an operation is adding or removing may be missing from their cluster's list
/// (heketi adds a volume to it while creating, heqet's dump lists only settled objects).
fn cluster_lists_agree(r: &Records, rows: &ImportRows) -> Result<(), DumpError> {
    let held_nodes: BTreeSet<String> = rows
        .nodes
        .iter()
        .filter(|n| n.pending_op.is_some())
        .map(|n| n.id.clone())
        .collect();
    lists_agree(
        "cluster",
        "node",
        r.clusters.iter().map(|(_, c)| (&c.info.id, &c.info.nodes)),
        rows.nodes.iter().map(|n| (&n.id, &n.cluster_id)),
        &held_nodes,
    )?;
    let hidden: BTreeSet<String> = rows
        .volumes
        .iter()
        .filter(|v| v.hidden)
        .map(|v| v.id.clone())
        .collect();
    lists_agree(
        "cluster",
        "volume",
        r.clusters
            .iter()
            .map(|(_, c)| (&c.info.id, &c.info.volumes)),
        rows.volumes.iter().map(|v| (&v.id, &v.cluster_id)),
        &hidden,
    )
}

#[derive(Default)]
struct Planner {
    /// Every id seen, with its kind.
    ids: HashMap<String, &'static str>,
    /// Hostname -> node.
    hosts: HashMap<String, String>,
    /// (kind, key) -> (count, first record).
    unknown: BTreeMap<(&'static str, String), (usize, String)>,
    notices: Vec<Notice>,
}

impl Planner {
    /// The record's key is its id, a valid one, used once in the whole dump.
    fn claim(&mut self, kind: &'static str, key: &str, id: &str) -> Result<(), DumpError> {
        if !heqet_api::id::is_valid_id(key) {
            return Err(DumpError::BadId {
                kind,
                id: key.to_string(),
            });
        }
        if key != id {
            return Err(DumpError::KeyMismatch {
                kind,
                key: key.to_string(),
                id: id.to_string(),
            });
        }
        match self.ids.insert(key.to_string(), kind) {
            None => Ok(()),
            Some(k) if k == kind => Err(DumpError::DuplicateId {
                kind,
                id: key.to_string(),
            }),
            Some(first) => Err(DumpError::IdReused {
                id: key.to_string(),
                first,
                second: kind,
            }),
        }
    }

    fn unknown(&mut self, kind: &'static str, key: &str, extra: &Extra, prefix: &str) {
        for k in extra.keys() {
            let e = self
                .unknown
                .entry((kind, format!("{prefix}{k}")))
                .or_insert((0, key.to_string()));
            e.0 += 1;
        }
    }

    fn flush_unknown(&mut self) {
        for ((kind, key), (count, example)) in std::mem::take(&mut self.unknown) {
            self.notices.push(Notice::UnknownKey {
                kind,
                key,
                count,
                example,
            });
        }
    }

    /// Every key is a valid id used once in the whole dump; unknown keys are counted.
    fn survey(&mut self, r: &Records) -> Result<(), DumpError> {
        for (key, c) in &r.clusters {
            self.claim("cluster", key, &c.info.id)?;
            self.unknown("cluster", key, &c.extra, "");
            self.unknown("cluster", key, &c.info.extra, "Info.");
        }
        for (key, n) in &r.nodes {
            self.claim("node", key, &n.info.id)?;
            self.unknown("node", key, &n.extra, "");
            self.unknown("node", key, &n.info.extra, "Info.");
        }
        for (key, d) in &r.devices {
            self.claim("device", key, &d.info.id)?;
            self.unknown("device", key, &d.extra, "");
            self.unknown("device", key, &d.info.extra, "Info.");
        }
        for (key, v) in &r.volumes {
            self.claim("volume", key, &v.info.id)?;
            self.unknown("volume", key, &v.extra, "");
            self.unknown("volume", key, &v.info.extra, "Info.");
        }
        for (key, b) in &r.bricks {
            self.claim("brick", key, &b.info.id)?;
            self.unknown("brick", key, &b.extra, "");
            self.unknown("brick", key, &b.info.extra, "Info.");
        }
        for (key, o) in &r.ops {
            self.claim("pending operation", key, &o.id)?;
            self.unknown("pending operation", key, &o.extra, "");
            for a in &o.actions {
                self.unknown("pending operation", key, &a.extra, "Actions[].");
            }
        }
        self.flush_unknown();
        Ok(())
    }

    /// Clusters, nodes, devices, volumes and bricks as rows, with every reference and every
    /// list but the clusters' checked (those wait for the operations, see
    /// [`cluster_lists_agree`]).
    fn topology(&mut self, r: &Records) -> Result<ImportRows, DumpError> {
        let mut rows = ImportRows::default();
        for (_, c) in &r.clusters {
            rows.clusters.push(self.cluster(c));
        }
        let cluster_ids: BTreeSet<String> = rows.clusters.iter().map(|c| c.id.clone()).collect();
        for (_, n) in &r.nodes {
            rows.nodes.push(self.node(n, &cluster_ids)?);
        }
        let node_ids: BTreeSet<String> = rows.nodes.iter().map(|n| n.id.clone()).collect();
        let mut device_names: HashMap<(String, String), String> = HashMap::new();
        for (_, d) in &r.devices {
            let row = device(d, &node_ids)?;
            let k = (row.node_id.clone(), row.name.clone());
            if let Some(first) = device_names.insert(k, row.id.clone()) {
                return Err(DumpError::DuplicateDeviceName {
                    node: row.node_id.clone(),
                    name: row.name.clone(),
                    first,
                    second: row.id.clone(),
                });
            }
            rows.devices.push(row);
        }
        lists_agree(
            "node",
            "device",
            r.nodes.iter().map(|(_, n)| (&n.info.id, &n.devices)),
            rows.devices.iter().map(|d| (&d.id, &d.node_id)),
            &BTreeSet::new(),
        )?;
        let mut volume_names: HashMap<(String, String), String> = HashMap::new();
        for (_, v) in &r.volumes {
            let row = self.volume(v, &cluster_ids)?;
            let k = (row.cluster_id.clone(), row.name.clone());
            if let Some(first) = volume_names.insert(k, row.id.clone()) {
                return Err(DumpError::DuplicateVolumeName {
                    cluster: row.cluster_id.clone(),
                    name: row.name.clone(),
                    first,
                    second: row.id.clone(),
                });
            }
            rows.volumes.push(row);
        }
        let device_of: HashMap<String, &DeviceRow> =
            rows.devices.iter().map(|d| (d.id.clone(), d)).collect();
        let volume_ids: BTreeSet<String> = rows.volumes.iter().map(|v| v.id.clone()).collect();
        let mut bricks = Vec::new();
        for (_, b) in &r.bricks {
            bricks.push(brick(b, &device_of, &volume_ids)?);
        }
        rows.bricks = bricks;
        lists_agree(
            "volume",
            "brick",
            r.volumes.iter().map(|(_, v)| (&v.info.id, &v.bricks)),
            rows.bricks.iter().map(|b| (&b.id, &b.volume_id)),
            &BTreeSet::new(),
        )?;
        lists_agree(
            "device",
            "brick",
            r.devices.iter().map(|(_, d)| (&d.info.id, &d.bricks)),
            rows.bricks.iter().map(|b| (&b.id, &b.device_id)),
            &BTreeSet::new(),
        )?;
        Ok(rows)
    }

    /// The pending operations as journal entries; heketi's `Pending` markers must agree.
    fn journal(&mut self, r: &Records, rows: &ImportRows) -> Result<Vec<JournalEntry>, DumpError> {
        let facts: HashMap<String, VolumeFacts> = rows
            .volumes
            .iter()
            .map(|v| {
                let bricks = rows
                    .bricks
                    .iter()
                    .filter(|b| b.volume_id == v.id)
                    .map(|b| b.id.clone())
                    .collect();
                (v.id.clone(), VolumeFacts { bricks })
            })
            .collect();
        let brick_volume: HashMap<String, String> = rows
            .bricks
            .iter()
            .map(|b| (b.id.clone(), b.volume_id.clone()))
            .collect();
        let node_ids: BTreeSet<String> = rows.nodes.iter().map(|n| n.id.clone()).collect();
        let device_ids: BTreeSet<String> = rows.devices.iter().map(|d| d.id.clone()).collect();
        let objects = Objects {
            volumes: &facts,
            bricks: &brick_volume,
            nodes: &node_ids,
            devices: &device_ids,
        };
        let mut entries = Vec::new();
        for (key, o) in &r.ops {
            entries.push(ops::journal_entry(key, o, &objects, &mut self.notices)?);
        }
        markers_agree(&r.volumes, &r.bricks, &r.ops)?;
        Ok(entries)
    }

    /// Each brick's position, from gluster where given; one notice lists the inferred.
    fn brick_order(
        &mut self,
        rows: &mut ImportRows,
        entries: &[JournalEntry],
        gluster: &[VolumeStatus],
    ) -> Result<(), DumpError> {
        // Every name gluster may use for a brick's host: storage names first.
        let node_hosts: HashMap<String, Vec<String>> = rows
            .nodes
            .iter()
            .map(|n| {
                let hosts = n.storage.iter().chain(n.manage.iter()).cloned().collect();
                (n.id.clone(), hosts)
            })
            .collect();
        let mut inferred = Vec::new();
        for v in &rows.volumes {
            let members = order_bricks(v, &rows.bricks, entries, &node_hosts);
            let g = gluster_list(&v.name, &members, gluster)?;
            let o = order::order(&v.id, &v.layout.0, &members, g)?;
            if o.inferred {
                inferred.push(v.id.clone());
            }
            for b in rows.bricks.iter_mut().filter(|b| b.volume_id == v.id) {
                b.position = o.positions.get(&b.id).copied().unwrap_or(0);
            }
        }
        if !inferred.is_empty() {
            self.notices
                .push(Notice::BrickOrderGuessed { volumes: inferred });
        }
        Ok(())
    }

    fn cluster(&mut self, c: &format::ClusterEntry) -> ClusterRow {
        let (block, file) = match (c.info.block, c.info.file) {
            (None, None) => {
                self.notices.push(Notice::ClusterFlags {
                    cluster: c.info.id.clone(),
                });
                (true, true)
            }
            (b, f) => (b.unwrap_or(false), f.unwrap_or(false)),
        };
        ClusterRow {
            id: c.info.id.clone(),
            block,
            file,
        }
    }

    fn node(
        &mut self,
        n: &format::NodeEntry,
        clusters: &BTreeSet<String>,
    ) -> Result<NodeRow, DumpError> {
        let id = &n.info.id;
        let what = format!("node {id}");
        if !clusters.contains(&n.info.cluster) {
            return Err(DumpError::Dangling {
                from: what,
                kind: "cluster",
                id: n.info.cluster.clone(),
            });
        }
        let state = entry_state(&what, &n.state)?;
        if n.info.zone < 1 {
            return Err(DumpError::invalid(
                what,
                format!("zone {} is not 1 or more", n.info.zone),
            ));
        }
        let h = &n.info.hostnames;
        for (list, kind) in [(&h.manage, "manage"), (&h.storage, "storage")] {
            if list.is_empty() || list.iter().any(|x| x.trim().is_empty()) {
                return Err(DumpError::invalid(
                    what,
                    format!("it needs a non-empty {kind} hostname"),
                ));
            }
        }
        let mut mine: Vec<&String> = h.manage.iter().chain(h.storage.iter()).collect();
        mine.sort();
        mine.dedup();
        for host in mine {
            if let Some(first) = self.hosts.insert(host.clone(), id.clone()) {
                return Err(DumpError::DuplicateHostname {
                    host: host.clone(),
                    first,
                    second: id.clone(),
                });
            }
        }
        Ok(NodeRow {
            id: id.clone(),
            cluster_id: n.info.cluster.clone(),
            zone: n.info.zone,
            manage: Json(h.manage.clone()),
            storage: Json(h.storage.clone()),
            tags: Json(n.info.tags.clone()),
            state,
            pending_op: None,
        })
    }

    fn volume(
        &mut self,
        v: &format::VolumeEntry,
        clusters: &BTreeSet<String>,
    ) -> Result<VolumeRow, DumpError> {
        let i = &v.info;
        let what = format!("volume {}", i.id);
        if !clusters.contains(&i.cluster) {
            return Err(DumpError::Dangling {
                from: what,
                kind: "cluster",
                id: i.cluster.clone(),
            });
        }
        if i.name.is_empty() {
            return Err(DumpError::invalid(what, "it has no name"));
        }
        if i.size < 1 {
            return Err(DumpError::invalid(
                what,
                format!("size {} GiB is not 1 or more", i.size),
            ));
        }
        if !(0..2147483647).contains(&i.gid) {
            return Err(DumpError::invalid(
                what,
                format!("gid {} is out of range", i.gid),
            ));
        }
        let options = match &v.options {
            Some(o) => {
                if *o != i.glustervolumeoptions {
                    self.notices.push(Notice::OptionsDiffer {
                        volume: i.id.clone(),
                    });
                }
                o.clone()
            }
            None => i.glustervolumeoptions.clone(),
        };
        for o in options.iter().filter(|o| !o.trim().is_empty()) {
            if let Err(reason) = crate::validate::parse_option(o) {
                self.notices.push(Notice::OddOption {
                    volume: i.id.clone(),
                    option: o.clone(),
                    reason,
                });
            }
        }
        if !i.clusters.is_empty() {
            self.notices.push(Notice::RequestedClusters {
                volume: i.id.clone(),
            });
        }
        let layout = layout(&what, &i.durability, &options)?;
        let factor = if i.snapshot.factor > 0.0 {
            i.snapshot.factor
        } else {
            1.0
        };
        Ok(VolumeRow {
            id: i.id.clone(),
            cluster_id: i.cluster.clone(),
            name: i.name.clone(),
            size: i.size,
            durability: Json(i.durability.clone()),
            layout: Json(layout),
            gid: i.gid,
            options: Json(options),
            block: i.block,
            blockinfo: Json(i.blockinfo.clone()),
            snapshot_enable: i.snapshot.enable,
            snapshot_factor: format!("{factor}").parse().unwrap_or(factor as f64),
            owner: "admin".into(),
            hidden: false,
            pending_op: None,
        })
    }
}

/// Give each journal entry its rows, as heqet's own operation would have.
fn apply_marks(entries: &[JournalEntry], rows: &mut ImportRows) -> Result<(), DumpError> {
    let twice = |kind: &str, id: &str, a: &str, b: &str| {
        DumpError::Inconsistent(format!(
            "{kind} {id} is held by two pending operations: {a} and {b}"
        ))
    };
    for e in entries {
        let op = Some(e.id.clone());
        if let Some((vid, hidden)) = &e.volume {
            if let Some(v) = rows.volumes.iter_mut().find(|v| v.id == *vid) {
                if let Some(other) = &v.pending_op {
                    return Err(twice("volume", vid, other, &e.id));
                }
                v.pending_op = op.clone();
                v.hidden = *hidden;
            }
        }
        for bid in &e.bricks {
            if let Some(b) = rows.bricks.iter_mut().find(|b| b.id == *bid) {
                if let Some(other) = &b.pending_op {
                    return Err(twice("brick", bid, other, &e.id));
                }
                b.pending_op = op.clone();
            }
        }
        if let Some(nid) = &e.node {
            if let Some(n) = rows.nodes.iter_mut().find(|n| n.id == *nid) {
                if let Some(other) = &n.pending_op {
                    return Err(twice("node", nid, other, &e.id));
                }
                n.pending_op = op.clone();
            }
        }
        if let Some(did) = &e.device {
            if let Some(d) = rows.devices.iter_mut().find(|d| d.id == *did) {
                if let Some(other) = &d.pending_op {
                    return Err(twice("device", did, other, &e.id));
                }
                d.pending_op = op.clone();
            }
        }
    }
    Ok(())
}

/// A volume's bricks with their roles, for ordering.
fn order_bricks(
    v: &VolumeRow,
    bricks: &[BrickRow],
    entries: &[JournalEntry],
    node_hosts: &HashMap<String, Vec<String>>,
) -> Vec<order::Brick> {
    bricks
        .iter()
        .filter(|b| b.volume_id == v.id)
        .map(|b| {
            let role = entries
                .iter()
                .find_map(|e| {
                    if let Some((old, Some(new))) = &e.evict {
                        if *new == b.id {
                            return Some(Role::Replacement(old.clone()));
                        }
                    }
                    (e.evict.is_none() && e.added.contains(&b.id))
                        .then(|| Role::Expansion(e.id.clone()))
                })
                .unwrap_or(Role::Member);
            let hosts = node_hosts.get(&b.node_id).cloned().unwrap_or_default();
            order::Brick {
                id: b.id.clone(),
                node: b.node_id.clone(),
                hosts,
                path: b.path.clone(),
                arbiter: b.arbiter,
                role,
            }
        })
        .collect()
}

/// Gluster's brick list for this volume: a volume of that name sharing a brick path with
/// it (names are unique per cluster only; brick paths hold the brick id).
fn gluster_list<'a>(
    name: &str,
    bricks: &[order::Brick],
    gluster: &'a [VolumeStatus],
) -> Result<Option<&'a [BrickAddr]>, DumpError> {
    let paths: BTreeSet<&str> = bricks.iter().map(|b| b.path.as_str()).collect();
    let mut found: Option<&'a [BrickAddr]> = None;
    for g in gluster.iter().filter(|g| g.name == name) {
        if !g.bricks.iter().any(|a| paths.contains(a.path.as_str())) {
            continue;
        }
        match found {
            Some(f) if f != g.bricks.as_slice() => {
                return Err(DumpError::Gluster(format!(
                    "volume {name} is described twice, with different bricks"
                )))
            }
            _ => found = Some(&g.bricks),
        }
    }
    Ok(found)
}
