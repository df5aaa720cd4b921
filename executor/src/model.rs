//! Plain descriptions of the things the server asks the executor to make or remove.
//! Names and paths follow heketi (docs/node-commands.md §2) so heqet can adopt nodes that
//! heketi prepared.

use heqet_api::layout::Layout;
use serde::{Deserialize, Serialize};

/// Where bricks are mounted on every node.
pub const MOUNT_ROOT: &str = "/var/lib/heketi/mounts";

/// A storage node: commands go to `manage`, gluster addresses use `storage`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeTarget {
    pub manage: String,
    pub storage: String,
}

/// A device to prepare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSetup {
    /// heqet device id; the VG is `vg_<id>`.
    pub id: String,
    /// Device path as given by the user, e.g. `/dev/sdb`.
    pub name: String,
    /// Wipe whatever is on the device first.
    pub destroydata: bool,
}

/// A device heqet already prepared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRef {
    pub id: String,
    pub name: String,
    pub pv_uuid: String,
    pub paths: Vec<String>,
}

impl DeviceRef {
    /// The most stable path to the PV: by PV UUID when known, else a recorded path, else the
    /// name the user gave.
    pub fn pv_path(&self) -> String {
        if !self.pv_uuid.is_empty() {
            format!("/dev/disk/by-id/lvm-pv-uuid-{}", self.pv_uuid)
        } else {
            self.paths
                .first()
                .cloned()
                .unwrap_or_else(|| self.name.clone())
        }
    }
}

/// What a node reports about a prepared device (sizes in KiB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub total_kib: u64,
    pub free_kib: u64,
    pub used_kib: u64,
    pub extent_size_kib: u64,
    pub pv_uuid: String,
    pub paths: Vec<String>,
}

pub fn vg_name(device_id: &str) -> String {
    format!("vg_{device_id}")
}

/// One brick to create or destroy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickSpec {
    pub id: String,
    pub device_id: String,
    /// Thin pool LV name, `tp_<x>` (not always `tp_<brick id>`, see docs/node-commands.md §2).
    pub thin_pool: String,
    /// LV name; `brick_<id>` for ordinary bricks.
    pub lv: String,
    /// Virtual size, KiB.
    pub size_kib: u64,
    /// Thin pool size, KiB.
    pub tp_size_kib: u64,
    /// Pool metadata size, KiB.
    pub pool_metadata_kib: u64,
    pub arbiter: bool,
    /// Group owner of the brick dir; 0 = none.
    pub gid: i64,
    /// Brick directory gluster uses (`<mount point>/brick`), or a clone's gluster path.
    pub path: String,
}

impl BrickSpec {
    pub fn vg(&self) -> String {
        vg_name(&self.device_id)
    }

    /// Mount point of the brick's filesystem (the path without its final `/brick`).
    pub fn mount_point(&self) -> String {
        self.path
            .strip_suffix("/brick")
            .unwrap_or(&self.path)
            .to_string()
    }

    pub fn dm_device(&self) -> String {
        format!("/dev/mapper/{}-{}", self.vg(), self.lv)
    }
}

/// heketi's brick directory for a brick on a device.
pub fn brick_path(device_id: &str, brick_id: &str) -> String {
    format!("{MOUNT_ROOT}/vg_{device_id}/brick_{brick_id}/brick")
}

/// `host:path` of a brick as gluster names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickAddr {
    /// Storage hostname.
    pub host: String,
    pub path: String,
}

impl std::fmt::Display for BrickAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.path)
    }
}

/// A gluster volume to create or expand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    pub name: String,
    pub id: String,
    pub layout: Layout,
    /// Bricks in gluster order: set 1, set 2, …; within a set, the arbiter last.
    pub bricks: Vec<BrickAddr>,
    /// `(key, value)` options in the order they are set; validated by the server, passed to
    /// the node as separate arguments.
    pub options: Vec<(String, String)>,
}

/// What gluster reports about a volume.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeStatus {
    pub name: String,
    /// Gluster's volume UUID.
    pub id: String,
    /// Bricks in gluster order.
    pub bricks: Vec<BrickAddr>,
}

/// Heal state of one brick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickHeal {
    pub brick: BrickAddr,
    pub connected: bool,
    /// Entries waiting to be healed; `None` when gluster could not say.
    pub pending_entries: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealInfo {
    pub bricks: Vec<BrickHeal>,
}
