//! One heketi record as one store row: states, sizes, names and the layout, each checked.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use heqet_api::layout::Layout;
use heqet_api::VolumeDurabilityInfo;
use sqlx::types::Json;

use super::format;
use super::DumpError;
use crate::model::*;

/// heketi's default LVM extent (4 MiB), for dumps that do not record it.
const DEFAULT_EXTENT_KIB: i64 = 4096;

pub(super) fn entry_state(what: &str, s: &str) -> Result<EntryState, DumpError> {
    EntryState::from_str(s).map_err(|_| {
        DumpError::invalid(
            what,
            format!("state {s:?} is not online, offline or failed"),
        )
    })
}

pub(super) fn kib(what: &str, field: &str, v: u64) -> Result<i64, DumpError> {
    i64::try_from(v).map_err(|_| DumpError::invalid(what, format!("{field} {v} is too large")))
}

pub(super) fn device(
    d: &format::DeviceEntry,
    nodes: &BTreeSet<String>,
) -> Result<DeviceRow, DumpError> {
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

pub(super) fn brick(
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
pub(super) fn layout(
    what: &str,
    d: &VolumeDurabilityInfo,
    options: &[String],
) -> Result<Layout, DumpError> {
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
