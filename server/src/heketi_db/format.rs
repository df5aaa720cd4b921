//! heketi's JSON database dump (docs/heketi-api.md §10.7) as read: typed records with Go's
//! field names. Go writes nil slices and maps as `null`, so `null` reads as empty; keys that
//! no record here knows are kept in `extra` so they can be reported instead of dropped; and
//! every map is read as a list, so a repeated id is seen rather than silently replaced.

use std::collections::BTreeMap;
use std::fmt;

use heqet_api::serde_util::null_default;
use heqet_api::{BlockInfo, Tags, VolumeDurabilityInfo, VolumeSnapshot};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Keys of a record that heqet does not know.
pub type Extra = BTreeMap<String, Value>;

/// A JSON object read in document order, repeated keys included (`null` = empty).
#[derive(Debug, Default)]
pub struct Entries(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of records keyed by id")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Entries, E> {
                Ok(Entries::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The whole dump. The five object maps are required (any heketi writes them); block
/// volumes, attributes and pending operations came later and may be absent.
#[derive(Debug, Deserialize)]
pub struct Document {
    #[serde(default, deserialize_with = "present")]
    pub clusterentries: Option<Entries>,
    #[serde(default, deserialize_with = "present")]
    pub volumeentries: Option<Entries>,
    #[serde(default, deserialize_with = "present")]
    pub brickentries: Option<Entries>,
    #[serde(default, deserialize_with = "present")]
    pub nodeentries: Option<Entries>,
    #[serde(default, deserialize_with = "present")]
    pub deviceentries: Option<Entries>,
    #[serde(default)]
    pub blockvolumeentries: Entries,
    #[serde(default)]
    pub dbattributeentries: Entries,
    #[serde(default)]
    pub pendingoperations: Entries,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key that is there (`null` included, which Go reads as empty); absent is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Entries>, D::Error> {
    Entries::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
pub struct ClusterEntry {
    #[serde(rename = "Info")]
    pub info: ClusterInfo,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct ClusterInfo {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub nodes: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub volumes: Vec<String>,
    /// Absent in dumps of heketi before the cluster flags (heketi then treats both as on).
    pub block: Option<bool>,
    pub file: Option<bool>,
    /// Known, so not reported as unknown; block volumes are reported one by one instead.
    #[serde(default, rename = "blockvolumes")]
    pub _blockvolumes: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct NodeEntry {
    #[serde(rename = "State", default, deserialize_with = "null_default")]
    pub state: String,
    #[serde(rename = "Info")]
    pub info: NodeInfo,
    #[serde(rename = "Devices", default, deserialize_with = "null_default")]
    pub devices: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct NodeInfo {
    pub zone: i64,
    pub hostnames: Hostnames,
    pub cluster: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Tags,
    pub id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct Hostnames {
    #[serde(default, deserialize_with = "null_default")]
    pub manage: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub storage: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeviceEntry {
    #[serde(rename = "State", default, deserialize_with = "null_default")]
    pub state: String,
    #[serde(rename = "Info")]
    pub info: DeviceInfo,
    #[serde(rename = "Bricks", default, deserialize_with = "null_default")]
    pub bricks: Vec<String>,
    #[serde(rename = "NodeId")]
    pub node_id: String,
    /// KiB; absent in old dumps (LVM's default of 4 MiB applies).
    #[serde(rename = "ExtentSize", default)]
    pub extent_size: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct DeviceInfo {
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Tags,
    pub storage: Storage,
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub paths: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub pv_uuid: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// KiB.
#[derive(Debug, Deserialize)]
pub struct Storage {
    pub total: u64,
    pub free: u64,
    pub used: u64,
}

#[derive(Debug, Deserialize)]
pub struct BrickEntry {
    #[serde(rename = "Info")]
    pub info: BrickInfo,
    #[serde(rename = "TpSize")]
    pub tp_size: u64,
    #[serde(rename = "PoolMetadataSize")]
    pub pool_metadata_size: u64,
    #[serde(rename = "Pending", default, deserialize_with = "null_default")]
    pub pending: PendingItem,
    /// Empty means `tp_<brick id>`.
    #[serde(rename = "LvmThinPool", default, deserialize_with = "null_default")]
    pub thin_pool: String,
    /// Empty means `brick_<brick id>`.
    #[serde(rename = "LvmLv", default, deserialize_with = "null_default")]
    pub lv: String,
    /// 1 data, 2 arbiter; 0 or absent in dumps made before heketi had arbiter bricks.
    #[serde(rename = "SubType", default)]
    pub sub_type: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct BrickInfo {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    pub device: String,
    pub node: String,
    pub volume: String,
    pub size: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// heketi's `Pending` marker: the id of the operation that owns the record, or empty.
#[derive(Debug, Default, Deserialize)]
pub struct PendingItem {
    #[serde(rename = "Id", default, deserialize_with = "null_default")]
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct VolumeEntry {
    #[serde(rename = "Info")]
    pub info: VolumeInfo,
    #[serde(rename = "Bricks", default, deserialize_with = "null_default")]
    pub bricks: Vec<String>,
    /// What heketi sets on the gluster volume; `None` when absent or `null`.
    #[serde(rename = "GlusterVolumeOptions", default)]
    pub options: Option<Vec<String>>,
    #[serde(rename = "Pending", default, deserialize_with = "null_default")]
    pub pending: PendingItem,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Deserialize)]
pub struct VolumeInfo {
    pub size: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub clusters: Vec<String>,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub durability: VolumeDurabilityInfo,
    #[serde(default, deserialize_with = "null_default")]
    pub gid: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub glustervolumeoptions: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub block: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub snapshot: VolumeSnapshot,
    pub id: String,
    pub cluster: String,
    /// As heketi stored it; heqet computes the mount from the cluster's nodes on every read.
    #[serde(default)]
    pub mount: Value,
    #[serde(default, deserialize_with = "null_default")]
    pub blockinfo: BlockInfo,
    #[serde(flatten)]
    pub extra: Extra,
}

/// heketi writes numeric codes; heqet's own dump writes `type_name`s.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Number(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
pub struct PendingOpEntry {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Timestamp", default)]
    pub timestamp: i64,
    #[serde(rename = "Type")]
    pub kind: Code,
    #[serde(rename = "Actions", default, deserialize_with = "null_default")]
    pub actions: Vec<ActionEntry>,
    #[serde(rename = "Status", default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One change of a pending operation: heketi's `Change` code, or heqet's `Description`.
#[derive(Debug, Deserialize)]
pub struct ActionEntry {
    #[serde(rename = "Change", default)]
    pub change: Option<i64>,
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
    #[serde(rename = "Id")]
    pub id: String,
    /// The expansion size (GiB) of an expand action.
    #[serde(rename = "Delta", default)]
    pub delta: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Read the document (the top level only; records are read one by one, so an error can
/// name the record).
pub fn document(bytes: &[u8]) -> Result<Document, super::DumpError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| super::DumpError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(super::DumpError::NotADump(
            "the top level is not a JSON object".into(),
        ));
    }
    // Read again from the bytes (not the Value) so repeated keys are still there.
    serde_json::from_slice(bytes).map_err(|e| super::DumpError::NotADump(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_kept_and_null_is_empty() {
        let d = document(
            br#"{"clusterentries": {"a": 1, "a": 2}, "volumeentries": null,
                 "brickentries": {}, "nodeentries": {}, "deviceentries": {}, "other": 3}"#,
        )
        .unwrap();
        let c = d.clusterentries.unwrap();
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[0].0, "a");
        assert!(d.volumeentries.unwrap().0.is_empty());
        assert!(d.pendingoperations.0.is_empty());
        assert_eq!(d.extra.get("other"), Some(&Value::from(3)));
    }

    #[test]
    fn not_json_and_not_an_object() {
        assert!(matches!(
            document(b"{nope"),
            Err(super::super::DumpError::NotJson(_))
        ));
        assert!(matches!(
            document(b"[1]"),
            Err(super::super::DumpError::NotADump(_))
        ));
    }

    #[test]
    fn records_keep_unknown_keys_and_read_go_nulls() {
        let b: BrickEntry = serde_json::from_value(serde_json::json!({
            "Info": {"id": "x", "path": "/p", "device": "d", "node": "n", "volume": "v",
                     "size": 1, "future": true},
            "TpSize": 2, "PoolMetadataSize": 3, "Pending": null, "LvmThinPool": null,
            "SubType": 2, "Extra": 1
        }))
        .unwrap();
        assert_eq!(b.sub_type, 2);
        assert!(b.pending.id.is_empty());
        assert!(b.info.extra.contains_key("future"));
        assert!(b.extra.contains_key("Extra"));
        let op: PendingOpEntry = serde_json::from_value(serde_json::json!({
            "Id": "o", "Type": "create-volume", "Actions": [{"Id": "v", "Description": "Add volume"}]
        }))
        .unwrap();
        assert!(matches!(op.kind, Code::Name(ref n) if n == "create-volume"));
        assert_eq!(op.actions[0].description.as_deref(), Some("Add volume"));
    }
}
