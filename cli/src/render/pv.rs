//! The Kubernetes PersistentVolume of `volume create --persistent-volume`, serialized as
//! heketi-cli does (Kubernetes' Go types, 2-space indent, their key order).

use heqet_api::VolumeInfoResponse;
use serde::Serialize;

/// Endpoints name used when none was given (`--persistent-volume-file` without an endpoint).
pub const ENDPOINT_PLACEHOLDER: &str = "TYPE ENDPOINT HERE";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PersistentVolume<'a> {
    kind: &'a str,
    api_version: &'a str,
    metadata: Metadata<'a>,
    spec: Spec<'a>,
    status: Empty,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    name: String,
    // Go's metav1.Time marshals a zero time as null.
    creation_timestamp: Option<()>,
    annotations: std::collections::BTreeMap<&'a str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    capacity: Capacity,
    glusterfs: Glusterfs<'a>,
    access_modes: [&'a str; 1],
    persistent_volume_reclaim_policy: &'a str,
}

#[derive(Serialize)]
struct Capacity {
    storage: String,
}

#[derive(Serialize)]
struct Glusterfs<'a> {
    endpoints: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct Empty {}

/// The PV JSON (no trailing newline).
pub fn persistent_volume(v: &VolumeInfoResponse, endpoint: &str) -> String {
    let short: String = v.id.chars().take(8).collect();
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert("pv.beta.kubernetes.io/gid", v.gid.to_string());
    let pv = PersistentVolume {
        kind: "PersistentVolume",
        api_version: "v1",
        metadata: Metadata {
            name: format!("glusterfs-{short}"),
            creation_timestamp: None,
            annotations,
        },
        spec: Spec {
            capacity: Capacity {
                storage: format!("{}Gi", v.size),
            },
            glusterfs: Glusterfs {
                endpoints: if endpoint.is_empty() {
                    ENDPOINT_PLACEHOLDER
                } else {
                    endpoint
                },
                path: &v.name,
            },
            access_modes: ["ReadWriteMany"],
            persistent_volume_reclaim_policy: "Retain",
        },
        status: Empty {},
    };
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing plain structs of strings cannot fail.
    let _ = pv.serialize(&mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_layout() {
        let v = VolumeInfoResponse {
            size: 10,
            name: "vol_4c1d2e3f".into(),
            id: "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into(),
            gid: 2001,
            ..Default::default()
        };
        let want = r#"{
  "kind": "PersistentVolume",
  "apiVersion": "v1",
  "metadata": {
    "name": "glusterfs-4c1d2e3f",
    "creationTimestamp": null,
    "annotations": {
      "pv.beta.kubernetes.io/gid": "2001"
    }
  },
  "spec": {
    "capacity": {
      "storage": "10Gi"
    },
    "glusterfs": {
      "endpoints": "heketi-storage-endpoints",
      "path": "vol_4c1d2e3f"
    },
    "accessModes": [
      "ReadWriteMany"
    ],
    "persistentVolumeReclaimPolicy": "Retain"
  },
  "status": {}
}"#;
        assert_eq!(persistent_volume(&v, "heketi-storage-endpoints"), want);
        assert!(persistent_volume(&v, "").contains("\"endpoints\": \"TYPE ENDPOINT HERE\""));
    }
}
