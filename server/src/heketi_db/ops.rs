//! Pending operations of the dump as heqet journal entries. Each becomes the payload, the
//! change list and the marks (hidden rows, `pending_op`) heqet's own operation of that kind
//! leaves in the store while it runs, so the cleaner finishes or undoes it like any
//! interrupted heqet operation (docs/operations.md "After a crash"). Nothing is run here.
//!
//! heketi writes numeric type and change codes (its `pendingop.go`, append-only enums);
//! heqet's own dump writes `type_name`s and descriptions. Both are read.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::format::{Code, PendingOpEntry};
use super::{DumpError, Notice};
use crate::model::{Change, OpPayload, OpStatus};

/// The kind of a pending operation, from either spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpType {
    CreateVolume,
    DeleteVolume,
    ExpandVolume,
    CreateBlockVolume,
    DeleteBlockVolume,
    RemoveDevice,
    CloneVolume,
    EvictBrick,
    ExpandBlockVolume,
    AddDevice,
    DeleteDevice,
    AddNode,
    DeleteNode,
}

impl OpType {
    fn parse(code: &Code) -> Option<OpType> {
        Some(match code {
            Code::Number(1) => OpType::CreateVolume,
            Code::Number(2) => OpType::DeleteVolume,
            Code::Number(3) => OpType::ExpandVolume,
            Code::Number(4) => OpType::CreateBlockVolume,
            Code::Number(5) => OpType::DeleteBlockVolume,
            Code::Number(6) => OpType::RemoveDevice,
            Code::Number(7) => OpType::CloneVolume,
            Code::Number(8) => OpType::EvictBrick,
            Code::Number(9) => OpType::ExpandBlockVolume,
            Code::Number(_) => return None,
            Code::Name(n) => match n.as_str() {
                "create-volume" => OpType::CreateVolume,
                "delete-volume" => OpType::DeleteVolume,
                "expand-volume" => OpType::ExpandVolume,
                "create-block-volume" => OpType::CreateBlockVolume,
                "delete-block-volume" => OpType::DeleteBlockVolume,
                "expand-block-volume" => OpType::ExpandBlockVolume,
                "remove-device" => OpType::RemoveDevice,
                "clone-volume" => OpType::CloneVolume,
                "evict-brick" => OpType::EvictBrick,
                "add-device" => OpType::AddDevice,
                "delete-device" => OpType::DeleteDevice,
                "add-node" => OpType::AddNode,
                "delete-node" => OpType::DeleteNode,
                _ => return None,
            },
        })
    }

    fn name(self) -> &'static str {
        match self {
            OpType::CreateVolume => "create-volume",
            OpType::DeleteVolume => "delete-volume",
            OpType::ExpandVolume => "expand-volume",
            OpType::CreateBlockVolume => "create-block-volume",
            OpType::DeleteBlockVolume => "delete-block-volume",
            OpType::ExpandBlockVolume => "expand-block-volume",
            OpType::RemoveDevice => "remove-device",
            OpType::CloneVolume => "clone-volume",
            OpType::EvictBrick => "evict-brick",
            OpType::AddDevice => "add-device",
            OpType::DeleteDevice => "delete-device",
            OpType::AddNode => "add-node",
            OpType::DeleteNode => "delete-node",
        }
    }
}

/// One change of an operation, from either spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    AddBrick,
    AddVolume,
    DeleteBrick,
    DeleteVolume,
    ExpandVolume,
    AddBlockVolume,
    DeleteBlockVolume,
    RemoveDevice,
    CloneFrom,
    SnapshotVolume,
    CloneTo,
    Child,
    Parent,
    ExpandBlockVolume,
    EvictBrick,
    AddDevice,
    DeleteDevice,
    AddNode,
    DeleteNode,
}

fn act(change: Option<i64>, description: Option<&str>) -> Option<Act> {
    if let Some(c) = change.filter(|c| *c != 0) {
        return Some(match c {
            1 => Act::AddBrick,
            2 => Act::AddVolume,
            3 => Act::DeleteBrick,
            4 => Act::DeleteVolume,
            5 => Act::ExpandVolume,
            6 => Act::AddBlockVolume,
            7 => Act::DeleteBlockVolume,
            8 => Act::RemoveDevice,
            9 => Act::CloneFrom,
            10 => Act::SnapshotVolume,
            11 => Act::CloneTo,
            12 => Act::Child,
            13 => Act::Parent,
            14 => Act::ExpandBlockVolume,
            _ => return None,
        });
    }
    Some(match description? {
        "Add brick" => Act::AddBrick,
        "Add volume" => Act::AddVolume,
        "Delete brick" => Act::DeleteBrick,
        "Delete volume" => Act::DeleteVolume,
        "Expand volume" => Act::ExpandVolume,
        "Add block volume" => Act::AddBlockVolume,
        "Delete block volume" => Act::DeleteBlockVolume,
        "Expand block volume" => Act::ExpandBlockVolume,
        "Remove device" => Act::RemoveDevice,
        "Clone volume from" => Act::CloneFrom,
        "Snapshot volume" => Act::SnapshotVolume,
        "Expand volume to" => Act::CloneTo,
        "Performing child operation" => Act::Child,
        "Belongs to parent operation" => Act::Parent,
        "Evict brick" => Act::EvictBrick,
        "Add device" => Act::AddDevice,
        "Delete device" => Act::DeleteDevice,
        "Add node" => Act::AddNode,
        "Delete node" => Act::DeleteNode,
        _ => return None,
    })
}

/// What the operations may refer to, and what each brick and volume is.
pub struct Objects<'a> {
    pub volumes: &'a HashMap<String, VolumeFacts>,
    pub bricks: &'a HashMap<String, String>,
    pub nodes: &'a BTreeSet<String>,
    pub devices: &'a BTreeSet<String>,
}

/// What an operation needs to know of a volume.
pub struct VolumeFacts {
    /// Its bricks, by id.
    pub bricks: Vec<String>,
}

/// An operation as heqet journals it, with the rows it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub id: String,
    pub status: OpStatus,
    pub created_at: i64,
    pub payload: OpPayload,
    pub changes: Vec<Change>,
    /// Volume held by the operation, and whether it is hidden (being created or deleted).
    pub volume: Option<(String, bool)>,
    /// Bricks held by the operation.
    pub bricks: Vec<String>,
    /// Bricks the operation adds to an existing volume (an expansion's, an eviction's).
    pub added: Vec<String>,
    /// An eviction's old and new brick.
    pub evict: Option<(String, Option<String>)>,
    pub node: Option<String>,
    pub device: Option<String>,
}

fn change(id: &str, description: &str) -> Change {
    Change {
        id: id.to_string(),
        description: description.to_string(),
    }
}

/// Map one pending operation.
pub fn journal_entry(
    key: &str,
    op: &PendingOpEntry,
    objects: &Objects<'_>,
    notices: &mut Vec<Notice>,
) -> Result<JournalEntry, DumpError> {
    let id = op.id.as_str();
    let err = |m: String| DumpError::op(id, m);
    if key != id {
        return Err(DumpError::KeyMismatch {
            kind: "pending operation",
            key: key.to_string(),
            id: id.to_string(),
        });
    }
    let kind = OpType::parse(&op.kind)
        .ok_or_else(|| err(format!("unknown operation type {:?}", op.kind)))?;
    let status = match op.status.as_str() {
        "" | "stale" => OpStatus::Stale,
        "failed" => OpStatus::Failed,
        other => return Err(err(format!("unknown status {other:?}"))),
    };
    let mut acts: Vec<(Act, &str, Option<&Value>)> = Vec::new();
    for a in &op.actions {
        let Some(k) = act(a.change, a.description.as_deref()) else {
            return Err(err(format!(
                "unknown change {} on {}",
                a.change
                    .map(|c| c.to_string())
                    .or_else(|| a.description.clone())
                    .unwrap_or_else(|| "(none)".into()),
                a.id
            )));
        };
        acts.push((k, a.id.as_str(), a.delta.as_ref()));
    }
    let ids = |want: Act| -> Vec<&str> {
        acts.iter()
            .filter(|(k, _, _)| *k == want)
            .map(|(_, i, _)| *i)
            .collect()
    };
    let one = |want: Act, what: &str| -> Result<String, DumpError> {
        match ids(want).as_slice() {
            [only] => Ok(only.to_string()),
            [] => Err(err(format!("names no {what}"))),
            _ => Err(err(format!("names more than one {what}"))),
        }
    };
    let volume = |vid: &str| -> Result<&VolumeFacts, DumpError> {
        objects.volumes.get(vid).ok_or_else(|| DumpError::Dangling {
            from: format!("pending operation {id}"),
            kind: "volume",
            id: vid.to_string(),
        })
    };
    let bricks_of = |want: Act, vid: &str| -> Result<Vec<String>, DumpError> {
        let mut out = Vec::new();
        for b in ids(want) {
            match objects.bricks.get(b) {
                None => {
                    return Err(DumpError::Dangling {
                        from: format!("pending operation {id}"),
                        kind: "brick",
                        id: b.to_string(),
                    })
                }
                Some(v) if v != vid => {
                    return Err(err(format!(
                        "brick {b} belongs to volume {v}, not to the operation's volume {vid}"
                    )))
                }
                Some(_) => out.push(b.to_string()),
            }
        }
        Ok(out)
    };
    let block = |what: &str| {
        err(format!(
            "{what} cannot be carried: heqet has no block volumes. Clean it up in heketi first \
             (heketi-cli server operations cleanup {id}) and export again"
        ))
    };
    for (k, other, _) in &acts {
        if matches!(k, Act::Child | Act::Parent) {
            notices.push(Notice::OperationLink {
                op: id.to_string(),
                other: other.to_string(),
            });
        }
    }
    let mut e = JournalEntry {
        id: id.to_string(),
        status,
        created_at: if op.timestamp > 0 {
            op.timestamp
        } else {
            crate::model::now_secs()
        },
        payload: OpPayload::AddNode {
            node_id: String::new(),
        },
        changes: Vec::new(),
        volume: None,
        bricks: Vec::new(),
        added: Vec::new(),
        evict: None,
        node: None,
        device: None,
    };
    match kind {
        OpType::CreateBlockVolume | OpType::DeleteBlockVolume | OpType::ExpandBlockVolume => {
            return Err(block(kind.name()))
        }
        OpType::CreateVolume => {
            let vid = one(Act::AddVolume, "volume")?;
            let facts = volume(&vid)?;
            let bricks = bricks_of(Act::AddBrick, &vid)?;
            if let Some(b) = facts.bricks.iter().find(|b| !bricks.contains(b)) {
                return Err(err(format!(
                    "brick {b} of the volume {vid} it creates is not one of its changes"
                )));
            }
            e.changes = bricks
                .iter()
                .map(|b| change(b, "Add brick"))
                .chain(std::iter::once(change(&vid, "Add volume")))
                .collect();
            e.payload = OpPayload::CreateVolume {
                volume_id: vid.clone(),
            };
            e.bricks = bricks;
            e.volume = Some((vid, true));
        }
        OpType::DeleteVolume => {
            let vid = one(Act::DeleteVolume, "volume")?;
            let facts = volume(&vid)?;
            bricks_of(Act::DeleteBrick, &vid)?;
            let mut bricks = facts.bricks.clone();
            bricks.sort();
            e.changes = bricks
                .iter()
                .map(|b| change(b, "Delete brick"))
                .chain(std::iter::once(change(&vid, "Delete volume")))
                .collect();
            e.payload = OpPayload::DeleteVolume {
                volume_id: vid.clone(),
            };
            e.bricks = bricks;
            e.volume = Some((vid, true));
        }
        OpType::ExpandVolume => {
            let vid = one(Act::ExpandVolume, "volume")?;
            volume(&vid)?;
            let delta = acts
                .iter()
                .find(|(k, _, _)| *k == Act::ExpandVolume)
                .and_then(|(_, _, d)| d.and_then(|d| d.as_i64()))
                .filter(|d| *d >= 1)
                .ok_or_else(|| err("has no expansion size (Delta of its expand change)".into()))?;
            let bricks = bricks_of(Act::AddBrick, &vid)?;
            e.changes = bricks
                .iter()
                .map(|b| change(b, "Add brick"))
                .chain(std::iter::once(change(&vid, "Expand volume")))
                .collect();
            e.payload = OpPayload::ExpandVolume {
                volume_id: vid.clone(),
                expand_size: delta,
            };
            e.added = bricks.clone();
            e.bricks = bricks;
            e.volume = Some((vid, false));
        }
        OpType::CloneVolume => {
            let origin = one(Act::CloneFrom, "origin volume")?;
            volume(&origin)?;
            let clone = match (ids(Act::CloneTo).as_slice(), ids(Act::AddVolume).as_slice()) {
                ([c], []) | ([], [c]) => c.to_string(),
                _ => return Err(err("names no single clone volume".into())),
            };
            let facts = objects.volumes.get(&clone).ok_or_else(|| {
                err(format!(
                    "the clone {clone} is not in the dump (heketi records a clone only when it \
                     finishes). Clean it up in heketi first (heketi-cli server operations \
                     cleanup {id}) and export again"
                ))
            })?;
            if !facts.bricks.is_empty() || !ids(Act::AddBrick).is_empty() {
                return Err(err(format!(
                    "the clone {clone} already has brick records; heqet records a clone's bricks \
                     from gluster when it finishes. Clean it up in heketi first (heketi-cli \
                     server operations cleanup {id}) and export again"
                )));
            }
            e.changes = vec![
                change(&origin, "Clone volume from"),
                change(&clone, "Add volume"),
            ];
            e.payload = OpPayload::CloneVolume {
                origin_id: origin,
                clone_id: clone.clone(),
            };
            e.volume = Some((clone, true));
        }
        OpType::RemoveDevice => {
            let did = one(Act::RemoveDevice, "device")?;
            known(objects.devices, &did, "device", id)?;
            e.changes = vec![change(&did, "Remove device")];
            // heketi does not journal the heal check either; enabled is the safe default.
            e.payload = OpPayload::RemoveDevice {
                device_id: did,
                healcheck: true,
            };
        }
        OpType::EvictBrick => {
            let old = match (
                ids(Act::EvictBrick).as_slice(),
                ids(Act::DeleteBrick).as_slice(),
            ) {
                ([o], []) | ([], [o]) => o.to_string(),
                _ => return Err(err("names no single brick to evict".into())),
            };
            let vid = objects
                .bricks
                .get(&old)
                .ok_or_else(|| DumpError::Dangling {
                    from: format!("pending operation {id}"),
                    kind: "brick",
                    id: old.clone(),
                })?
                .clone();
            let new = bricks_of(Act::AddBrick, &vid)?;
            if new.len() > 1 {
                return Err(err("names more than one new brick".into()));
            }
            let new = new.into_iter().next();
            e.changes = new
                .iter()
                .map(|b| change(b, "Add brick"))
                .chain(std::iter::once(change(&old, "Evict brick")))
                .collect();
            e.payload = OpPayload::EvictBrick {
                brick_id: old.clone(),
                volume_id: vid,
            };
            // heqet's eviction holds only the new brick; the old one stays in use until
            // gluster has replaced it.
            e.bricks = new.iter().cloned().collect();
            e.added = e.bricks.clone();
            e.evict = Some((old, new));
        }
        OpType::AddDevice | OpType::DeleteDevice => {
            let want = if kind == OpType::AddDevice {
                Act::AddDevice
            } else {
                Act::DeleteDevice
            };
            let did = one(want, "device")?;
            known(objects.devices, &did, "device", id)?;
            e.payload = if kind == OpType::AddDevice {
                e.device = Some(did.clone());
                OpPayload::AddDevice {
                    device_id: did,
                    destroydata: false,
                }
            } else {
                notices.push(Notice::Operation {
                    op: id.to_string(),
                    message: "delete-device is carried without force-forget (the dump does not \
                              say); its cleanup continues the delete and keeps the device if the \
                              node refuses"
                        .into(),
                });
                OpPayload::DeleteDevice {
                    device_id: did,
                    forceforget: false,
                }
            };
            e.changes = e.payload.single_change();
        }
        OpType::AddNode | OpType::DeleteNode => {
            let want = if kind == OpType::AddNode {
                Act::AddNode
            } else {
                Act::DeleteNode
            };
            let nid = one(want, "node")?;
            known(objects.nodes, &nid, "node", id)?;
            e.node = Some(nid.clone());
            e.payload = if kind == OpType::AddNode {
                OpPayload::AddNode { node_id: nid }
            } else {
                OpPayload::DeleteNode { node_id: nid }
            };
            e.changes = e.payload.single_change();
        }
    }
    Ok(e)
}

fn known(set: &BTreeSet<String>, id: &str, kind: &'static str, op: &str) -> Result<(), DumpError> {
    if set.contains(id) {
        Ok(())
    } else {
        Err(DumpError::Dangling {
            from: format!("pending operation {op}"),
            kind,
            id: id.to_string(),
        })
    }
}

/// The objects a journal entry names in its actions (to check heketi's `Pending` markers).
pub fn named(op: &PendingOpEntry) -> BTreeSet<&str> {
    op.actions.iter().map(|a| a.id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct World {
        volumes: HashMap<String, VolumeFacts>,
        bricks: HashMap<String, String>,
        nodes: BTreeSet<String>,
        devices: BTreeSet<String>,
    }

    fn world() -> World {
        let mut volumes = HashMap::new();
        volumes.insert(
            "v".to_string(),
            VolumeFacts {
                bricks: vec!["b1".into(), "b2".into()],
            },
        );
        volumes.insert("c".to_string(), VolumeFacts { bricks: vec![] });
        let bricks = [("b1", "v"), ("b2", "v"), ("b3", "v"), ("x", "other")]
            .iter()
            .map(|(b, v)| (b.to_string(), v.to_string()))
            .collect();
        World {
            volumes,
            bricks,
            nodes: ["n".to_string()].into(),
            devices: ["d".to_string()].into(),
        }
    }

    fn map(v: serde_json::Value) -> Result<JournalEntry, DumpError> {
        let w = world();
        let objects = Objects {
            volumes: &w.volumes,
            bricks: &w.bricks,
            nodes: &w.nodes,
            devices: &w.devices,
        };
        let op: PendingOpEntry = serde_json::from_value(v).unwrap();
        journal_entry(&op.id.clone(), &op, &objects, &mut Vec::new())
    }

    #[test]
    fn heketi_create_volume_holds_volume_and_bricks() {
        let e = map(json!({"Id": "o", "Timestamp": 7, "Type": 1, "Status": "",
            "Actions": [{"Change": 2, "Id": "v", "Delta": null}, {"Change": 1, "Id": "b1"},
                        {"Change": 1, "Id": "b2"}]}))
        .unwrap();
        assert_eq!(e.status, OpStatus::Stale);
        assert_eq!(e.created_at, 7);
        assert_eq!(
            e.payload,
            OpPayload::CreateVolume {
                volume_id: "v".into()
            }
        );
        assert_eq!(e.volume, Some(("v".into(), true)));
        assert_eq!(e.bricks, vec!["b1", "b2"]);
        assert_eq!(e.changes.last().unwrap().description, "Add volume");
    }

    #[test]
    fn a_create_must_name_every_brick_of_its_volume() {
        let r = map(json!({"Id": "o", "Type": 1,
            "Actions": [{"Change": 2, "Id": "v"}, {"Change": 1, "Id": "b1"}]}));
        assert!(r.unwrap_err().to_string().contains("brick b2"));
        let r = map(json!({"Id": "o", "Type": 1,
            "Actions": [{"Change": 2, "Id": "v"}, {"Change": 1, "Id": "x"}]}));
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("belongs to volume other"));
    }

    #[test]
    fn expand_needs_its_size_and_eviction_holds_only_the_new_brick() {
        let r = map(json!({"Id": "o", "Type": 3, "Actions": [{"Change": 5, "Id": "v"}]}));
        assert!(r.unwrap_err().to_string().contains("expansion size"));
        let e = map(json!({"Id": "o", "Type": "expand-volume",
            "Actions": [{"Description": "Add brick", "Id": "b3"},
                        {"Description": "Expand volume", "Id": "v", "Delta": 4}]}))
        .unwrap();
        assert_eq!(
            e.payload,
            OpPayload::ExpandVolume {
                volume_id: "v".into(),
                expand_size: 4
            }
        );
        assert_eq!(e.volume, Some(("v".into(), false)));
        let e = map(json!({"Id": "o", "Type": 8, "Status": "failed",
            "Actions": [{"Change": 3, "Id": "b1"}, {"Change": 1, "Id": "b3"},
                        {"Change": 13, "Id": "p"}]}))
        .unwrap();
        assert_eq!(e.status, OpStatus::Failed);
        assert_eq!(e.bricks, vec!["b3"]);
        assert_eq!(e.evict, Some(("b1".into(), Some("b3".into()))));
    }

    #[test]
    fn block_operations_unknown_types_and_heketi_clones_are_refused() {
        for t in [json!(4), json!(5), json!("expand-block-volume")] {
            let r = map(json!({"Id": "o", "Type": t, "Actions": []}));
            assert!(r.unwrap_err().to_string().contains("no block volumes"));
        }
        let r = map(json!({"Id": "o", "Type": 42, "Actions": []}));
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("unknown operation type"));
        let r = map(json!({"Id": "o", "Type": 7,
            "Actions": [{"Change": 9, "Id": "v"}, {"Change": 11, "Id": "gone"}]}));
        assert!(r.unwrap_err().to_string().contains("not in the dump"));
        let e = map(json!({"Id": "o", "Type": "clone-volume",
            "Actions": [{"Description": "Clone volume from", "Id": "v"},
                        {"Description": "Add volume", "Id": "c"}]}))
        .unwrap();
        assert_eq!(e.volume, Some(("c".into(), true)));
    }

    #[test]
    fn references_must_exist_and_statuses_be_known() {
        let r = map(json!({"Id": "o", "Type": 6, "Actions": [{"Change": 8, "Id": "nope"}]}));
        assert!(matches!(r, Err(DumpError::Dangling { kind: "device", .. })));
        let r = map(json!({"Id": "o", "Type": 6, "Status": "weird",
            "Actions": [{"Change": 8, "Id": "d"}]}));
        assert!(r.unwrap_err().to_string().contains("unknown status"));
        let e = map(json!({"Id": "o", "Type": "add-node",
            "Actions": [{"Description": "Add node", "Id": "n"}]}))
        .unwrap();
        assert_eq!(e.node.as_deref(), Some("n"));
    }
}
