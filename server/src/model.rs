//! Rows of the store and the journal's operation records.

use heqet_api::layout::Layout;
use heqet_api::{BlockInfo, Tags, VolumeDurabilityInfo};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

/// The administrative state of a node or device (heketi's names on the wire and in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum EntryState {
    Online,
    Offline,
    Failed,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Online => "online",
            EntryState::Offline => "offline",
            EntryState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for EntryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "online" => Ok(EntryState::Online),
            "offline" => Ok(EntryState::Offline),
            "failed" => Ok(EntryState::Failed),
            other => Err(format!("unknown state {other:?}")),
        }
    }
}

/// Where a journal entry stands. `New` is running (or its process died and nobody has
/// noticed yet); `Stale` was left by a stopped server; `Failed` could not be undone or
/// cleaned and waits for `server operations cleanup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
pub enum OpStatus {
    #[sqlx(rename = "")]
    New,
    #[sqlx(rename = "stale")]
    Stale,
    #[sqlx(rename = "failed")]
    Failed,
}

impl OpStatus {
    /// The names the store and the API use (empty for an entry still running).
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::New => "",
            OpStatus::Stale => "stale",
            OpStatus::Failed => "failed",
        }
    }

    /// Cleanup may take it (nothing runs it).
    pub fn cleanable(self) -> bool {
        matches!(self, OpStatus::Stale | OpStatus::Failed)
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClusterRow {
    pub id: String,
    pub block: bool,
    pub file: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NodeRow {
    pub id: String,
    pub cluster_id: String,
    pub zone: i64,
    pub manage: Json<Vec<String>>,
    pub storage: Json<Vec<String>>,
    pub tags: Json<Tags>,
    pub state: EntryState,
    pub pending_op: Option<String>,
}

impl NodeRow {
    pub fn manage_host(&self) -> &str {
        self.manage.first().map(String::as_str).unwrap_or("")
    }
    pub fn storage_host(&self) -> &str {
        self.storage.first().map(String::as_str).unwrap_or("")
    }
    pub fn target(&self) -> heqet_executor::NodeTarget {
        heqet_executor::NodeTarget {
            manage: self.manage_host().to_string(),
            storage: self.storage_host().to_string(),
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub node_id: String,
    pub name: String,
    pub state: EntryState,
    pub total: i64,
    pub free: i64,
    pub used: i64,
    pub extent_size: i64,
    pub pv_uuid: String,
    pub paths: Json<Vec<String>>,
    pub tags: Json<Tags>,
    pub pending_op: Option<String>,
}

impl DeviceRow {
    pub fn device_ref(&self) -> heqet_executor::DeviceRef {
        heqet_executor::DeviceRef {
            id: self.id.clone(),
            name: self.name.clone(),
            pv_uuid: self.pv_uuid.clone(),
            paths: self.paths.0.clone(),
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct VolumeRow {
    pub id: String,
    pub cluster_id: String,
    pub name: String,
    pub size: i64,
    pub durability: Json<VolumeDurabilityInfo>,
    pub layout: Json<Layout>,
    pub gid: i64,
    pub options: Json<Vec<String>>,
    pub block: bool,
    pub blockinfo: Json<BlockInfo>,
    pub snapshot_enable: bool,
    pub snapshot_factor: f64,
    pub owner: String,
    pub hidden: bool,
    pub pending_op: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BrickRow {
    pub id: String,
    pub volume_id: String,
    pub device_id: String,
    pub node_id: String,
    pub path: String,
    pub size: i64,
    pub tp_size: i64,
    pub pool_metadata_size: i64,
    pub thin_pool: String,
    pub lv: String,
    pub arbiter: bool,
    pub position: i64,
    pub pending_op: Option<String>,
}

impl BrickRow {
    /// Space the brick holds on its device (thin pool + metadata), KiB.
    pub fn reserved(&self) -> i64 {
        self.tp_size + self.pool_metadata_size
    }

    pub fn spec(&self, gid: i64) -> heqet_executor::BrickSpec {
        heqet_executor::BrickSpec {
            id: self.id.clone(),
            device_id: self.device_id.clone(),
            thin_pool: self.thin_pool.clone(),
            lv: self.lv.clone(),
            size_kib: self.size as u64,
            tp_size_kib: self.tp_size as u64,
            pool_metadata_kib: self.pool_metadata_size as u64,
            arbiter: self.arbiter,
            gid,
            path: self.path.clone(),
        }
    }
}

/// Kinds of journaled operations; names are heketi's `type_name`s where heketi has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    #[serde(rename = "create-volume")]
    CreateVolume,
    #[serde(rename = "delete-volume")]
    DeleteVolume,
    #[serde(rename = "expand-volume")]
    ExpandVolume,
    #[serde(rename = "clone-volume")]
    CloneVolume,
    #[serde(rename = "remove-device")]
    RemoveDevice,
    #[serde(rename = "add-device")]
    AddDevice,
    #[serde(rename = "delete-device")]
    DeleteDevice,
    #[serde(rename = "add-node")]
    AddNode,
    #[serde(rename = "delete-node")]
    DeleteNode,
    #[serde(rename = "evict-brick")]
    EvictBrick,
}

impl OpKind {
    /// What the operation does, for logs and heketi's "interrupted" messages.
    pub fn what(self) -> &'static str {
        match self {
            OpKind::CreateVolume => "Volume create",
            OpKind::DeleteVolume => "Volume delete",
            OpKind::ExpandVolume => "Volume expand",
            OpKind::CloneVolume => "Volume clone",
            OpKind::RemoveDevice => "Device remove",
            OpKind::AddDevice => "Device add",
            OpKind::DeleteDevice => "Device delete",
            OpKind::AddNode => "Node add",
            OpKind::DeleteNode => "Node delete",
            OpKind::EvictBrick => "Brick evict",
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            OpKind::CreateVolume => "create-volume",
            OpKind::DeleteVolume => "delete-volume",
            OpKind::ExpandVolume => "expand-volume",
            OpKind::CloneVolume => "clone-volume",
            OpKind::RemoveDevice => "remove-device",
            OpKind::AddDevice => "add-device",
            OpKind::DeleteDevice => "delete-device",
            OpKind::AddNode => "add-node",
            OpKind::DeleteNode => "delete-node",
            OpKind::EvictBrick => "evict-brick",
        }
    }
}

/// What a journaled operation is about: enough to finish or undo it after a crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpPayload {
    CreateVolume {
        volume_id: String,
    },
    DeleteVolume {
        volume_id: String,
    },
    ExpandVolume {
        volume_id: String,
        expand_size: i64,
    },
    CloneVolume {
        origin_id: String,
        clone_id: String,
    },
    RemoveDevice {
        device_id: String,
        healcheck: bool,
    },
    AddDevice {
        device_id: String,
        destroydata: bool,
    },
    DeleteDevice {
        device_id: String,
        forceforget: bool,
    },
    AddNode {
        node_id: String,
    },
    DeleteNode {
        node_id: String,
    },
    /// The brick moved away; its replacement is the brick the entry holds.
    EvictBrick {
        brick_id: String,
        volume_id: String,
    },
}

impl OpPayload {
    /// The journal's change list of an operation on one object (volume operations, which
    /// add bricks, list those too).
    pub fn single_change(&self) -> Vec<Change> {
        let (id, description) = match self {
            OpPayload::CreateVolume { volume_id } => (volume_id, "Add volume"),
            OpPayload::DeleteVolume { volume_id } => (volume_id, "Delete volume"),
            OpPayload::ExpandVolume { volume_id, .. } => (volume_id, "Expand volume"),
            OpPayload::CloneVolume { clone_id, .. } => (clone_id, "Add volume"),
            OpPayload::RemoveDevice { device_id, .. } => (device_id, "Remove device"),
            OpPayload::AddDevice { device_id, .. } => (device_id, "Add device"),
            OpPayload::DeleteDevice { device_id, .. } => (device_id, "Delete device"),
            OpPayload::AddNode { node_id } => (node_id, "Add node"),
            OpPayload::DeleteNode { node_id } => (node_id, "Delete node"),
            OpPayload::EvictBrick { brick_id, .. } => (brick_id, "Evict brick"),
        };
        vec![Change {
            id: id.clone(),
            description: description.to_string(),
        }]
    }

    pub fn kind(&self) -> OpKind {
        match self {
            OpPayload::CreateVolume { .. } => OpKind::CreateVolume,
            OpPayload::DeleteVolume { .. } => OpKind::DeleteVolume,
            OpPayload::ExpandVolume { .. } => OpKind::ExpandVolume,
            OpPayload::CloneVolume { .. } => OpKind::CloneVolume,
            OpPayload::RemoveDevice { .. } => OpKind::RemoveDevice,
            OpPayload::AddDevice { .. } => OpKind::AddDevice,
            OpPayload::DeleteDevice { .. } => OpKind::DeleteDevice,
            OpPayload::AddNode { .. } => OpKind::AddNode,
            OpPayload::DeleteNode { .. } => OpKind::DeleteNode,
            OpPayload::EvictBrick { .. } => OpKind::EvictBrick,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub description: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OperationRow {
    pub id: String,
    pub kind: String,
    pub status: OpStatus,
    pub created_at: i64,
    pub payload: Json<OpPayload>,
    pub changes: Json<Vec<Change>>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueueRow {
    pub id: String,
    pub op_id: Option<String>,
    pub state: QueueState,
    pub location: String,
    pub message: String,
    pub owner: String,
}

/// Where a `/queue` entry stands (its names in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum QueueState {
    Pending,
    Done,
    Failed,
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
