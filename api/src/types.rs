//! Request and response bodies of every heketi route. Key order follows heketi's Go structs;
//! `skip_serializing_if` mirrors Go's `omitempty` (which never drops nested objects).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{go_float, is_false, is_zero_i64, null_default};

pub type Tags = BTreeMap<String, String>;

// ---------------------------------------------------------------- clusters

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterCreateRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub block: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub file: bool,
}

/// Body of `POST /clusters/{id}/flags`: both values are written, an omitted key is `false`.
pub type ClusterSetFlagsRequest = ClusterCreateRequest;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterInfoResponse {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub nodes: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub volumes: Vec<String>,
    #[serde(default)]
    pub block: bool,
    #[serde(default)]
    pub file: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub blockvolumes: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterListResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub clusters: Vec<String>,
}

// ---------------------------------------------------------------- nodes

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAddresses {
    #[serde(default, deserialize_with = "null_default")]
    pub manage: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub storage: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub zone: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub hostnames: HostAddresses,
    #[serde(default, deserialize_with = "null_default")]
    pub cluster: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: Tags,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfoResponse {
    pub zone: i64,
    pub hostnames: HostAddresses,
    pub cluster: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: Tags,
    pub id: String,
    pub state: String,
    #[serde(default, deserialize_with = "null_default")]
    pub devices: Vec<DeviceInfoResponse>,
}

/// Body of `POST /nodes/{id}/state` and `POST /devices/{id}/state`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct StateRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
    #[serde(default, deserialize_with = "null_default")]
    pub healcheck: String,
}

/// Body of `POST /nodes/{id}/tags` and `POST /devices/{id}/tags`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TagsChangeRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub change_type: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Tags,
}

// ---------------------------------------------------------------- devices

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceAddRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub node: String,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub destroydata: bool,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: Tags,
}

/// Body of `DELETE /devices/{id}` (optional).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceDeleteOptions {
    #[serde(default, deserialize_with = "null_default")]
    pub forceforget: bool,
}

/// KiB.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageSize {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub free: u64,
    #[serde(default)]
    pub used: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BrickInfo {
    pub id: String,
    pub path: String,
    pub device: String,
    pub node: String,
    pub volume: String,
    /// Virtual size, KiB.
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfoResponse {
    pub name: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: Tags,
    pub storage: StorageSize,
    pub id: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub pv_uuid: String,
    pub state: String,
    #[serde(default, deserialize_with = "null_default")]
    pub bricks: Vec<BrickInfo>,
}

// ---------------------------------------------------------------- volumes

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaDurability {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub replica: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DisperseDurability {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub data: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub redundancy: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeDurabilityInfo {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    #[serde(default, deserialize_with = "null_default")]
    pub replicate: ReplicaDurability,
    #[serde(default, deserialize_with = "null_default")]
    pub disperse: DisperseDurability,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct VolumeSnapshot {
    #[serde(default, deserialize_with = "null_default")]
    pub enable: bool,
    #[serde(
        default,
        deserialize_with = "null_default",
        serialize_with = "go_float"
    )]
    pub factor: f32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VolumeCreateRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub size: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub clusters: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub durability: VolumeDurabilityInfo,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub gid: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub glustervolumeoptions: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub block: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub snapshot: VolumeSnapshot,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GlusterFsMount {
    #[serde(default, deserialize_with = "null_default")]
    pub hosts: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub device: String,
    #[serde(default, deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeMount {
    #[serde(default, deserialize_with = "null_default")]
    pub glusterfs: GlusterFsMount,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockInfo {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub freesize: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub reservedsize: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub blockvolume: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub restriction: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VolumeInfoResponse {
    pub size: i64,
    pub name: String,
    pub durability: VolumeDurabilityInfo,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub gid: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub glustervolumeoptions: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub block: bool,
    pub snapshot: VolumeSnapshot,
    pub id: String,
    pub cluster: String,
    pub mount: VolumeMount,
    #[serde(default)]
    pub blockinfo: BlockInfo,
    #[serde(default, deserialize_with = "null_default")]
    pub bricks: Vec<BrickInfo>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeListResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub volumes: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeExpandRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub expand_size: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeCloneRequest {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeBlockRestrictionRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub restriction: String,
}

// ---------------------------------------------------------------- admin, logging, operations

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminStatus {
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LogLevelInfo {
    #[serde(default, deserialize_with = "null_default")]
    pub loglevel: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OperationsInfo {
    pub total: u64,
    pub in_flight: u64,
    pub stale: u64,
    pub failed: u64,
    pub new: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingOperationInfo {
    pub id: String,
    pub type_name: String,
    pub status: String,
    pub sub_status: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingOperationListResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub pendingoperations: Vec<PendingOperationInfo>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingChangeInfo {
    pub id: String,
    pub description: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingOperationDetails {
    pub id: String,
    pub type_name: String,
    pub status: String,
    pub sub_status: String,
    #[serde(default, deserialize_with = "null_default")]
    pub changes: Vec<PendingChangeInfo>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingOperationsCleanRequest {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub operations: Vec<String>,
}

// ---------------------------------------------------------------- topology (heqet extension)

/// One cluster of `GET /topology`; the same shape heketi's Go client assembles client-side.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ClusterTopology {
    #[serde(default, deserialize_with = "null_default")]
    pub volumes: Vec<VolumeInfoResponse>,
    #[serde(default, deserialize_with = "null_default")]
    pub nodes: Vec<NodeInfoResponse>,
    pub id: String,
    #[serde(default)]
    pub block: bool,
    #[serde(default)]
    pub file: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TopologyInfoResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub clusters: Vec<ClusterTopology>,
}

/// Node and device states.
pub mod state {
    pub const ONLINE: &str = "online";
    pub const OFFLINE: &str = "offline";
    pub const FAILED: &str = "failed";

    pub fn is_valid(s: &str) -> bool {
        matches!(s, ONLINE | OFFLINE | FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_info_omits_like_go() {
        let v = VolumeInfoResponse {
            size: 10,
            name: "vol_x".into(),
            durability: VolumeDurabilityInfo {
                kind: "replicate".into(),
                replicate: ReplicaDurability { replica: 3 },
                disperse: DisperseDurability::default(),
            },
            snapshot: VolumeSnapshot {
                enable: false,
                factor: 1.0,
            },
            id: "x".into(),
            cluster: "c".into(),
            ..Default::default()
        };
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(
            s,
            r#"{"size":10,"name":"vol_x","durability":{"type":"replicate","replicate":{"replica":3},"disperse":{}},"snapshot":{"enable":false,"factor":1},"id":"x","cluster":"c","mount":{"glusterfs":{"hosts":[],"device":"","options":{}}},"blockinfo":{},"bricks":[]}"#
        );
    }

    #[test]
    fn nulls_and_unknown_keys_are_tolerated_wrong_types_are_not() {
        let r: VolumeCreateRequest =
            serde_json::from_str(r#"{"size":1,"clusters":null,"durability":null,"x":1}"#).unwrap();
        assert_eq!(r.size, 1);
        assert!(serde_json::from_str::<VolumeCreateRequest>(r#"{"size":"1"}"#).is_err());
        assert!(serde_json::from_str::<VolumeCreateRequest>(r#"{"size":1.5}"#).is_err());
    }

    #[test]
    fn fractional_factor_keeps_its_fraction() {
        let s = serde_json::to_string(&VolumeSnapshot {
            enable: true,
            factor: 1.5,
        })
        .unwrap();
        assert_eq!(s, r#"{"enable":true,"factor":1.5}"#);
        let s = serde_json::to_string(&VolumeSnapshot {
            enable: true,
            factor: 1.2,
        })
        .unwrap();
        assert_eq!(s, r#"{"enable":true,"factor":1.2}"#);
    }
}
