//! The dump checked and mapped to heqet's rows. Every reference must resolve and every list
//! must agree with the records it names, ids are kept exactly, and what heqet cannot carry
//! becomes a [`Notice`]. Pure: nothing here touches a file or a database.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use heqet_api::layout::Layout;
use heqet_api::VolumeDurabilityInfo;
use heqet_executor::{BrickAddr, VolumeStatus};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::types::Json;

use super::format::{self, Entries, Extra};
use super::ops::{self, JournalEntry, Objects, VolumeFacts};
use super::order::{self, Role};
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

/// heketi's default LVM extent (4 MiB), for dumps that do not record it.
const DEFAULT_EXTENT_KIB: i64 = 4096;

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
    let required = |e: Option<Entries>, key: &str| {
        e.ok_or_else(|| DumpError::NotADump(format!("it has no {key:?}")))
    };
    // In the order heketi writes them.
    let clusters = required(doc.clusterentries, "clusterentries")?;
    let volumes = required(doc.volumeentries, "volumeentries")?;
    let bricks = required(doc.brickentries, "brickentries")?;
    let nodes = required(doc.nodeentries, "nodeentries")?;
    let devices = required(doc.deviceentries, "deviceentries")?;
    let clusters = p.records::<format::ClusterEntry>("cluster", clusters)?;
    let nodes = p.records::<format::NodeEntry>("node", nodes)?;
    let devices = p.records::<format::DeviceEntry>("device", devices)?;
    let volumes = p.records::<format::VolumeEntry>("volume", volumes)?;
    let bricks = p.records::<format::BrickEntry>("brick", bricks)?;
    let ops = p.records::<format::PendingOpEntry>("pending operation", doc.pendingoperations)?;

    for (key, c) in &clusters {
        p.claim("cluster", key, &c.info.id)?;
        p.unknown("cluster", key, &c.extra, "");
        p.unknown("cluster", key, &c.info.extra, "Info.");
    }
    for (key, n) in &nodes {
        p.claim("node", key, &n.info.id)?;
        p.unknown("node", key, &n.extra, "");
        p.unknown("node", key, &n.info.extra, "Info.");
    }
    for (key, d) in &devices {
        p.claim("device", key, &d.info.id)?;
        p.unknown("device", key, &d.extra, "");
        p.unknown("device", key, &d.info.extra, "Info.");
    }
    for (key, v) in &volumes {
        p.claim("volume", key, &v.info.id)?;
        p.unknown("volume", key, &v.extra, "");
        p.unknown("volume", key, &v.info.extra, "Info.");
    }
    for (key, b) in &bricks {
        p.claim("brick", key, &b.info.id)?;
        p.unknown("brick", key, &b.extra, "");
        p.unknown("brick", key, &b.info.extra, "Info.");
    }
    for (key, o) in &ops {
        p.claim("pending operation", key, &o.id)?;
        p.unknown("pending operation", key, &o.extra, "");
        for a in &o.actions {
            p.unknown("pending operation", key, &a.extra, "Actions[].");
        }
    }
    p.flush_unknown();

    let mut rows = ImportRows::default();
    for (_, c) in &clusters {
        rows.clusters.push(p.cluster(c));
    }
    let cluster_ids: BTreeSet<String> = rows.clusters.iter().map(|c| c.id.clone()).collect();
    for (_, n) in &nodes {
        rows.nodes.push(p.node(n, &cluster_ids)?);
    }
    let node_ids: BTreeSet<String> = rows.nodes.iter().map(|n| n.id.clone()).collect();
    // Every name gluster may use for a brick's host: storage names first.
    let node_hosts: HashMap<String, Vec<String>> = rows
        .nodes
        .iter()
        .map(|n| {
            let hosts = n.storage.iter().chain(n.manage.iter()).cloned().collect();
            (n.id.clone(), hosts)
        })
        .collect();
    let mut device_names: HashMap<(String, String), String> = HashMap::new();
    for (_, d) in &devices {
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
        nodes.iter().map(|(_, n)| (&n.info.id, &n.devices)),
        rows.devices.iter().map(|d| (&d.id, &d.node_id)),
        &BTreeSet::new(),
    )?;
    let mut volume_names: HashMap<(String, String), String> = HashMap::new();
    for (_, v) in &volumes {
        let row = p.volume(v, &cluster_ids)?;
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
    let mut brick_rows = Vec::new();
    for (_, b) in &bricks {
        brick_rows.push(brick(b, &device_of, &volume_ids)?);
    }
    lists_agree(
        "volume",
        "brick",
        volumes.iter().map(|(_, v)| (&v.info.id, &v.bricks)),
        brick_rows.iter().map(|b| (&b.id, &b.volume_id)),
        &BTreeSet::new(),
    )?;
    lists_agree(
        "device",
        "brick",
        devices.iter().map(|(_, d)| (&d.info.id, &d.bricks)),
        brick_rows.iter().map(|b| (&b.id, &b.device_id)),
        &BTreeSet::new(),
    )?;

    // Pending operations and the rows they hold.
    let facts: HashMap<String, VolumeFacts> = rows
        .volumes
        .iter()
        .map(|v| {
            let bricks = brick_rows
                .iter()
                .filter(|b| b.volume_id == v.id)
                .map(|b| b.id.clone())
                .collect();
            (v.id.clone(), VolumeFacts { bricks })
        })
        .collect();
    let brick_volume: HashMap<String, String> = brick_rows
        .iter()
        .map(|b| (b.id.clone(), b.volume_id.clone()))
        .collect();
    let device_ids: BTreeSet<String> = rows.devices.iter().map(|d| d.id.clone()).collect();
    let objects = Objects {
        volumes: &facts,
        bricks: &brick_volume,
        nodes: &node_ids,
        devices: &device_ids,
    };
    let mut entries = Vec::new();
    for (key, o) in &ops {
        entries.push(ops::journal_entry(key, o, &objects, &mut p.notices)?);
    }
    markers_agree(&volumes, &bricks, &ops)?;
    apply_marks(&entries, &mut rows, &mut brick_rows)?;
    // Objects an operation is adding or removing may be missing from their cluster's list
    // (heketi adds a volume to it while creating, heqet's dump lists only settled objects).
    let held_nodes: BTreeSet<String> = rows
        .nodes
        .iter()
        .filter(|n| n.pending_op.is_some())
        .map(|n| n.id.clone())
        .collect();
    lists_agree(
        "cluster",
        "node",
        clusters.iter().map(|(_, c)| (&c.info.id, &c.info.nodes)),
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
        clusters.iter().map(|(_, c)| (&c.info.id, &c.info.volumes)),
        rows.volumes.iter().map(|v| (&v.id, &v.cluster_id)),
        &hidden,
    )?;

    // Brick order, then the remaining notices.
    let mut inferred = Vec::new();
    for v in &rows.volumes {
        let members = order_bricks(v, &brick_rows, &entries, &node_hosts);
        let g = gluster_list(&v.name, &members, gluster)?;
        let o = order::order(&v.id, &v.layout.0, &members, g)?;
        if o.inferred {
            inferred.push(v.id.clone());
        }
        for b in brick_rows.iter_mut().filter(|b| b.volume_id == v.id) {
            b.position = o.positions.get(&b.id).copied().unwrap_or(0);
        }
    }
    if !inferred.is_empty() {
        p.notices
            .push(Notice::BrickOrderGuessed { volumes: inferred });
    }
    for d in &rows.devices {
        accounting(d, &brick_rows, &mut p.notices);
    }
    for (_, v) in &volumes {
        mount_notice(v, &rows.nodes, &mut p.notices);
    }
    rows.bricks = brick_rows;
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

    let block_volumes = doc.blockvolumeentries.0.len();
    for (key, b) in &doc.blockvolumeentries.0 {
        let info = b.get("Info");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        p.notices.push(Notice::BlockVolume {
            id: key.clone(),
            name: text("name"),
            hosting: text("blockhostingvolume"),
        });
    }
    let db_attributes = doc.dbattributeentries.0.len();
    for (key, a) in &doc.dbattributeentries.0 {
        let value = a.get("Value").and_then(Value::as_str).unwrap_or("");
        p.notices.push(Notice::DbAttribute {
            key: key.clone(),
            value: value.to_string(),
        });
    }
    Ok(Import {
        rows,
        notices: p.notices,
        block_volumes,
        db_attributes,
    })
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
    fn records<T: DeserializeOwned>(
        &mut self,
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

fn entry_state(what: &str, s: &str) -> Result<EntryState, DumpError> {
    EntryState::from_str(s).map_err(|_| {
        DumpError::invalid(
            what,
            format!("state {s:?} is not online, offline or failed"),
        )
    })
}

fn kib(what: &str, field: &str, v: u64) -> Result<i64, DumpError> {
    i64::try_from(v).map_err(|_| DumpError::invalid(what, format!("{field} {v} is too large")))
}

fn device(d: &format::DeviceEntry, nodes: &BTreeSet<String>) -> Result<DeviceRow, DumpError> {
    let i = &d.info;
    let what = format!("device {}", i.id);
    if !nodes.contains(&d.node_id) {
        return Err(DumpError::Dangling {
            from: what,
            kind: "node",
            id: d.node_id.clone(),
        });
    }
    if i.name.is_empty() {
        return Err(DumpError::invalid(what, "it has no name"));
    }
    let extent = match d.extent_size {
        None | Some(0) => DEFAULT_EXTENT_KIB,
        Some(e) => kib(&what, "ExtentSize", e)?,
    };
    Ok(DeviceRow {
        id: i.id.clone(),
        node_id: d.node_id.clone(),
        name: i.name.clone(),
        state: entry_state(&what, &d.state)?,
        total: kib(&what, "storage.total", i.storage.total)?,
        free: kib(&what, "storage.free", i.storage.free)?,
        used: kib(&what, "storage.used", i.storage.used)?,
        extent_size: extent,
        pv_uuid: i.pv_uuid.clone(),
        paths: Json(i.paths.clone()),
        tags: Json(i.tags.clone()),
        pending_op: None,
    })
}

fn brick(
    b: &format::BrickEntry,
    devices: &HashMap<String, &DeviceRow>,
    volumes: &BTreeSet<String>,
) -> Result<BrickRow, DumpError> {
    let i = &b.info;
    let what = format!("brick {}", i.id);
    let Some(dev) = devices.get(&i.device) else {
        return Err(DumpError::Dangling {
            from: what,
            kind: "device",
            id: i.device.clone(),
        });
    };
    if !volumes.contains(&i.volume) {
        return Err(DumpError::Dangling {
            from: what,
            kind: "volume",
            id: i.volume.clone(),
        });
    }
    if dev.node_id != i.node {
        return Err(DumpError::Inconsistent(format!(
            "brick {} names node {}, but its device {} is on node {}",
            i.id, i.node, i.device, dev.node_id
        )));
    }
    if i.path.is_empty() {
        return Err(DumpError::invalid(
            what,
            "it has no path (heketi's `db delete-bricks-with-empty-path` removes such records)",
        ));
    }
    let arbiter = match b.sub_type {
        0 | 1 => false,
        2 => true,
        other => {
            return Err(DumpError::invalid(
                what,
                format!("SubType {other} is not 1 (data) or 2 (arbiter)"),
            ))
        }
    };
    let or = |v: &str, default: String| {
        if v.is_empty() {
            default
        } else {
            v.to_string()
        }
    };
    Ok(BrickRow {
        id: i.id.clone(),
        volume_id: i.volume.clone(),
        device_id: i.device.clone(),
        node_id: i.node.clone(),
        path: i.path.clone(),
        size: kib(&what, "size", i.size)?,
        tp_size: kib(&what, "TpSize", b.tp_size)?,
        pool_metadata_size: kib(&what, "PoolMetadataSize", b.pool_metadata_size)?,
        thin_pool: or(&b.thin_pool, format!("tp_{}", i.id)),
        lv: or(&b.lv, format!("brick_{}", i.id)),
        arbiter,
        position: 0,
        pending_op: None,
    })
}

/// heketi's durability and options as heqet's layout, by the rules of a volume create.
fn layout(what: &str, d: &VolumeDurabilityInfo, options: &[String]) -> Result<Layout, DumpError> {
    let arbiter = options
        .iter()
        .filter_map(|o| o.trim().split_once(char::is_whitespace))
        .rfind(|(k, _)| *k == "user.heketi.arbiter")
        .is_some_and(|(_, v)| v.trim() == "true");
    let layout = match d.kind.as_str() {
        "" | "none" => Layout::None,
        "replicate" => match d.replicate.replica {
            0 => Layout::Replicate { replica: 2 },
            3 if arbiter => Layout::Arbiter,
            r @ 1..=3 => Layout::Replicate { replica: r as u32 },
            r => {
                return Err(DumpError::invalid(
                    what,
                    format!("replica {r} is not 1 to 3"),
                ))
            }
        },
        "disperse" => {
            let (data, red) = (d.disperse.data, d.disperse.redundancy);
            if data < 1 || red < 1 || data > 64 || red > 64 {
                return Err(DumpError::invalid(
                    what,
                    format!("disperse {data}+{red} is not a dispersion"),
                ));
            }
            Layout::Disperse {
                data: data as u32,
                redundancy: red as u32,
            }
        }
        other => {
            return Err(DumpError::invalid(
                what,
                format!("durability type {other:?} is not none, replicate or disperse"),
            ))
        }
    };
    if arbiter && !matches!(layout, Layout::Arbiter) {
        return Err(DumpError::invalid(
            what,
            "it has user.heketi.arbiter true but is not replica 3",
        ));
    }
    Ok(layout)
}

/// A parent's list of children and the children's pointers to their parent agree: every
/// listed id exists and points back, and every child is listed (but `unlisted_ok`, volumes
/// being created, which heketi may or may not have added to their cluster yet).
fn lists_agree<'a>(
    parent: &'static str,
    child: &'static str,
    lists: impl Iterator<Item = (&'a String, &'a Vec<String>)>,
    children: impl Iterator<Item = (&'a String, &'a String)>,
    unlisted_ok: &BTreeSet<String>,
) -> Result<(), DumpError> {
    let owner: HashMap<&String, &String> = children.collect();
    let mut listed: BTreeSet<&String> = BTreeSet::new();
    for (pid, list) in lists {
        for c in list {
            match owner.get(c) {
                None => {
                    return Err(DumpError::Dangling {
                        from: format!("the {child} list of {parent} {pid}"),
                        kind: child,
                        id: c.clone(),
                    })
                }
                Some(p) if *p != pid => {
                    return Err(DumpError::Inconsistent(format!(
                        "{parent} {pid} lists {child} {c}, which belongs to {parent} {p}"
                    )))
                }
                Some(_) => {
                    listed.insert(c);
                }
            }
        }
    }
    let mut missing: Vec<(&String, &String)> = owner
        .iter()
        .filter(|(c, _)| !listed.contains(*c) && !unlisted_ok.contains(**c))
        .map(|(c, p)| (*c, *p))
        .collect();
    missing.sort();
    if let Some((c, p)) = missing.first() {
        return Err(DumpError::Inconsistent(format!(
            "{child} {c} is not in the {child} list of its {parent} {p}"
        )));
    }
    Ok(())
}

/// heketi's `Pending` markers name operations that exist and that name the record.
fn markers_agree(
    volumes: &[(String, format::VolumeEntry)],
    bricks: &[(String, format::BrickEntry)],
    ops: &[(String, format::PendingOpEntry)],
) -> Result<(), DumpError> {
    let named: HashMap<&str, BTreeSet<&str>> = ops
        .iter()
        .map(|(_, o)| (o.id.as_str(), ops::named(o)))
        .collect();
    let marked = volumes
        .iter()
        .map(|(_, v)| ("volume", v.info.id.as_str(), v.pending.id.as_str()))
        .chain(
            bricks
                .iter()
                .map(|(_, b)| ("brick", b.info.id.as_str(), b.pending.id.as_str())),
        );
    for (kind, id, op) in marked.filter(|(_, _, op)| !op.is_empty()) {
        match named.get(op) {
            None => {
                return Err(DumpError::Dangling {
                    from: format!("the Pending marker of {kind} {id}"),
                    kind: "pending operation",
                    id: op.to_string(),
                })
            }
            Some(ids) if !ids.contains(id) => {
                return Err(DumpError::Inconsistent(format!(
                    "{kind} {id} is pending on operation {op}, which does not name it"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Give each journal entry its rows, as heqet's own operation would have.
fn apply_marks(
    entries: &[JournalEntry],
    rows: &mut ImportRows,
    bricks: &mut [BrickRow],
) -> Result<(), DumpError> {
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
            if let Some(b) = bricks.iter_mut().find(|b| b.id == *bid) {
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

fn accounting(d: &DeviceRow, bricks: &[BrickRow], notices: &mut Vec<Notice>) {
    if d.free + d.used != d.total {
        notices.push(Notice::Accounting {
            device: d.id.clone(),
            message: format!(
                "free {} + used {} is not total {} KiB",
                d.free, d.used, d.total
            ),
        });
    }
    let held: i64 = bricks
        .iter()
        .filter(|b| b.device_id == d.id)
        .map(BrickRow::reserved)
        .sum();
    if d.used < held {
        notices.push(Notice::Accounting {
            device: d.id.clone(),
            message: format!(
                "used {} KiB is less than its bricks hold ({held} KiB)",
                d.used
            ),
        });
    }
}

/// heqet answers the storage host of every node of the cluster, in node id order.
fn mount_notice(v: &format::VolumeEntry, nodes: &[NodeRow], notices: &mut Vec<Notice>) {
    let Some(stored) = v
        .info
        .mount
        .pointer("/glusterfs/hosts")
        .and_then(Value::as_array)
    else {
        return;
    };
    let stored: Vec<String> = stored
        .iter()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect();
    let mut cluster: Vec<&NodeRow> = nodes
        .iter()
        .filter(|n| n.cluster_id == v.info.cluster && n.pending_op.is_none())
        .collect();
    cluster.sort_by(|a, b| a.id.cmp(&b.id));
    let computed: Vec<String> = cluster
        .iter()
        .filter_map(|n| n.storage.first().cloned())
        .collect();
    if stored != computed {
        notices.push(Notice::MountDiffers {
            volume: v.info.id.clone(),
            stored,
            computed,
        });
    }
}
