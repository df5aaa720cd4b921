//! Records that must agree with each other: lists and the records they name, heketi's
//! `Pending` markers and the operations, device figures and stored mounts (the last two
//! only give notices).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::format;
use super::ops;
use super::{DumpError, Notice};
use crate::model::*;

/// A parent's list of children and the children's pointers to their parent agree: every
/// listed id exists and points back, and every child is listed (but `unlisted_ok`, volumes
/// being created, which heketi may or may not have added to their cluster yet).
pub(super) fn lists_agree<'a>(
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
pub(super) fn markers_agree(
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

pub(super) fn accounting(d: &DeviceRow, bricks: &[BrickRow], notices: &mut Vec<Notice>) {
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
pub(super) fn mount_notice(v: &format::VolumeEntry, nodes: &[NodeRow], notices: &mut Vec<Notice>) {
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
