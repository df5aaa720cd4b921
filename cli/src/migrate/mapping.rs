//! The heqet-csi PV that replaces an in-tree glusterfs PV. Pure: every field it carries
//! over, changes or drops is pinned by the tests below (docs/cli.md §13.2).
//!
//! The volume handle and the volume attributes come from heqet-csi's own code
//! ([`volume_id::encode`], [`context::of`]), so a migrated PV is what heqet-csi's
//! CreateVolume would have made for that heketi volume.

use std::collections::BTreeMap;

use heqet_api::types::VolumeInfoResponse;
use heqet_csi::controller::params::normalize_rest_url;
use heqet_csi::controller::{context, volume_id};
use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, GlusterfsPersistentVolumeSource, ObjectReference, PersistentVolume,
    PersistentVolumeSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::migrate::error::MigrateError;

/// Who made a dynamically provisioned PV; external provisioners act on PVs that name them.
pub const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// kubectl's copy of the object as last applied: it describes the in-tree PV, not the new one.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Where `--apply` keeps the reclaim policy it replaced by Retain, so that a run stopped after
/// that patch still gives the new PV the original policy.
pub const ORIGINAL_RECLAIM_POLICY: &str = "migrate.heqet.io/reclaim-policy";
/// The in-tree provisioner's record of the heketi volume id (checked against the name lookup).
pub const HEKETI_VOLUME_ID: &str = "gluster.kubernetes.io/heketi-volume-id";
/// Holds a bound PV until its claim is gone (docs/cli.md §13.3).
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// The `spec` fields the new PV carries over. A PV with any other field is left alone:
/// fields of API versions newer than this code would otherwise be dropped without a word.
pub const KNOWN_SPEC_FIELDS: &[&str] = &[
    "accessModes",
    "capacity",
    "claimRef",
    "glusterfs",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeMode",
];

/// What the new PVs name: the CSI driver, and the server a handle carries (`None`: the
/// heqet-csi controller's default server, plain ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub driver: String,
    pub server: Option<String>,
}

impl Target {
    /// Checks both flags before anything is read, so a bad one never stops a run midway.
    pub fn new(driver: &str, csi_resturl: Option<&str>) -> Result<Target, MigrateError> {
        heqet_csi::identity::validate_driver_name(driver).map_err(|e| MigrateError::Driver {
            name: driver.to_string(),
            reason: e.reason.to_string(),
        })?;
        let server = match csi_resturl.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                let bad = |reason: String| MigrateError::CsiResturl {
                    url: url.to_string(),
                    reason,
                };
                let normalized = normalize_rest_url(url).map_err(|e| bad(e.to_string()))?;
                volume_id::check_server(&normalized).map_err(|e| bad(e.to_string()))?;
                Some(normalized)
            }
        };
        Ok(Target {
            driver: driver.to_string(),
            server,
        })
    }
}

/// Why one PV cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("spec.glusterfs.path is empty")]
    EmptyPath,
    #[error(
        "spec.glusterfs.path {0:?} mounts a subdirectory of a volume; heqet-csi mounts whole \
         volumes"
    )]
    Subdirectory(String),
    #[error("volumeMode {0}: heqet-csi serves file systems only")]
    VolumeMode(String),
    #[error("reclaim policy {0:?}: a heqet-csi PV can only have Retain or Delete")]
    ReclaimPolicy(String),
    #[error(
        "spec.{0} is not carried over by heqet migrate (it would be lost): migrate this PV by \
         hand"
    )]
    UnknownField(String),
    #[error("{0}")]
    VolumeId(#[from] volume_id::VolumeIdError),
}

/// The gluster volume an in-tree source mounts: its `path`, with the optional leading `/`
/// of `host:/volume` spellings.
pub fn volume_name(src: &GlusterfsPersistentVolumeSource) -> Result<String, MapError> {
    let path = src.path.trim();
    let name = path.strip_prefix('/').unwrap_or(path);
    if name.is_empty() {
        return Err(MapError::EmptyPath);
    }
    if name.contains('/') {
        return Err(MapError::Subdirectory(src.path.clone()));
    }
    Ok(name.to_string())
}

/// `spec` fields of the raw PV that [`csi_pv`] would not carry over.
pub fn unknown_spec_fields(raw: &Value) -> Vec<String> {
    let mut unknown: Vec<String> = raw
        .get("spec")
        .and_then(Value::as_object)
        .map(|spec| {
            spec.keys()
                .filter(|k| !KNOWN_SPEC_FIELDS.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    unknown.sort();
    unknown
}

/// The reclaim policy the PV had before any migration run touched it.
pub fn original_reclaim_policy(pv: &PersistentVolume) -> Result<String, MapError> {
    let saved = pv
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ORIGINAL_RECLAIM_POLICY));
    let policy = saved
        .or(pv
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_reclaim_policy.as_ref()))
        .map(String::as_str)
        // The API server defaults a PV without one to Retain.
        .unwrap_or("Retain");
    match policy {
        "Retain" | "Delete" => Ok(policy.to_string()),
        other => Err(MapError::ReclaimPolicy(other.to_string())),
    }
}

/// The CSI volume handle of heketi volume `id`, as heqet-csi's controller makes it.
pub fn handle(id: &str, target: &Target) -> Result<String, MapError> {
    Ok(volume_id::encode(id, target.server.as_deref())?)
}

/// Annotations of the new PV: the old ones, but the provisioner (if any) is heqet-csi now,
/// and the two that describe the old object or this command's bookkeeping go.
fn annotations(
    old: Option<&BTreeMap<String, String>>,
    driver: &str,
) -> Option<BTreeMap<String, String>> {
    let mut a = old.cloned().unwrap_or_default();
    a.remove(LAST_APPLIED);
    a.remove(ORIGINAL_RECLAIM_POLICY);
    if a.contains_key(PROVISIONED_BY) {
        a.insert(PROVISIONED_BY.to_string(), driver.to_string());
    }
    (!a.is_empty()).then_some(a)
}

/// The claim reference, without the parts that describe the claim at one moment
/// (`resourceVersion`, `fieldPath`): the PV controller matches on namespace, name and uid.
fn claim_ref(old: &ObjectReference) -> ObjectReference {
    ObjectReference {
        api_version: old.api_version.clone(),
        kind: old.kind.clone(),
        namespace: old.namespace.clone(),
        name: old.name.clone(),
        uid: old.uid.clone(),
        field_path: None,
        resource_version: None,
    }
}

/// The heqet-csi PV for in-tree PV `old`, whose gluster volume heketi describes as `vol`.
pub fn csi_pv(
    old: &PersistentVolume,
    vol: &VolumeInfoResponse,
    target: &Target,
) -> Result<PersistentVolume, MapError> {
    let spec = old.spec.clone().unwrap_or_default();
    if let Some(mode) = spec.volume_mode.as_deref().filter(|m| *m != "Filesystem") {
        return Err(MapError::VolumeMode(mode.to_string()));
    }
    let read_only = spec
        .glusterfs
        .as_ref()
        .and_then(|g| g.read_only)
        .filter(|r| *r);
    let attributes: BTreeMap<String, String> = context::of(vol).into_iter().collect();
    let meta = &old.metadata;
    let had_protection = meta
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == PV_PROTECTION));
    Ok(PersistentVolume {
        metadata: ObjectMeta {
            name: meta.name.clone(),
            labels: meta.labels.clone().filter(|l| !l.is_empty()),
            annotations: annotations(meta.annotations.as_ref(), &target.driver),
            owner_references: meta.owner_references.clone(),
            finalizers: had_protection.then(|| vec![PV_PROTECTION.to_string()]),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: spec.capacity,
            access_modes: spec.access_modes,
            mount_options: spec.mount_options,
            volume_mode: spec.volume_mode,
            persistent_volume_reclaim_policy: Some(original_reclaim_policy(old)?),
            storage_class_name: spec.storage_class_name,
            claim_ref: spec.claim_ref.as_ref().map(claim_ref),
            node_affinity: spec.node_affinity,
            csi: Some(CSIPersistentVolumeSource {
                driver: target.driver.clone(),
                volume_handle: handle(&vol.id, target)?,
                read_only,
                volume_attributes: Some(attributes),
                ..CSIPersistentVolumeSource::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::types::{GlusterFsMount, VolumeMount};
    use serde_json::json;

    const ID: &str = "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";

    fn target() -> Target {
        Target::new("glusterfs.heqet.io", None).unwrap()
    }

    fn volume() -> VolumeInfoResponse {
        let mut v = VolumeInfoResponse {
            name: format!("vol_{ID}"),
            id: ID.into(),
            size: 1,
            gid: 2001,
            mount: VolumeMount {
                glusterfs: GlusterFsMount {
                    hosts: vec!["10.0.0.1".into(), "10.0.0.2".into(), "10.0.0.3".into()],
                    device: format!("10.0.0.1:vol_{ID}"),
                    options: [(
                        "backup-volfile-servers".to_string(),
                        "10.0.0.2,10.0.0.3".to_string(),
                    )]
                    .into_iter()
                    .collect(),
                },
            },
            ..VolumeInfoResponse::default()
        };
        v.durability.kind = "replicate".into();
        v.durability.replicate.replica = 3;
        v
    }

    /// A PV as the in-tree provisioner made it, as the API server returns it.
    fn in_tree() -> Value {
        json!({
            "metadata": {
                "name": "pvc-0d5b7a52-1111-4c1d-9e2f-3a4b5c6d7e8f",
                "uid": "5b3c1a2d-0000-4000-8000-000000000001",
                "resourceVersion": "4711",
                "creationTimestamp": "2021-03-04T05:06:07Z",
                "labels": {"app": "web"},
                "annotations": {
                    "pv.kubernetes.io/provisioned-by": "kubernetes.io/glusterfs",
                    "pv.beta.kubernetes.io/gid": "2001",
                    "pv.kubernetes.io/bound-by-controller": "yes",
                    "gluster.kubernetes.io/heketi-volume-id": ID,
                    "Description": "Gluster-Internal: Dynamically provisioned PV",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                },
                "finalizers": ["kubernetes.io/pv-protection"],
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}],
            },
            "spec": {
                "capacity": {"storage": "1Gi"},
                "glusterfs": {
                    "endpoints": "glusterfs-dynamic-0d5b7a52",
                    "endpointsNamespace": "shop",
                    "path": format!("vol_{ID}"),
                },
                "accessModes": ["ReadWriteMany", "ReadOnlyMany"],
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "apiVersion": "v1",
                    "namespace": "shop",
                    "name": "data",
                    "uid": "0d5b7a52-1111-4c1d-9e2f-3a4b5c6d7e8f",
                    "resourceVersion": "4700",
                },
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "glusterfs",
                "mountOptions": ["log-level=WARNING"],
                "volumeMode": "Filesystem",
            },
            "status": {"phase": "Bound"},
        })
    }

    fn pv(v: Value) -> PersistentVolume {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_field_of_a_dynamic_in_tree_pv() {
        let new = csi_pv(&pv(in_tree()), &volume(), &target()).unwrap();
        let got = serde_json::to_value(&new).unwrap();
        let want = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": "pvc-0d5b7a52-1111-4c1d-9e2f-3a4b5c6d7e8f",
                "labels": {"app": "web"},
                "annotations": {
                    "pv.kubernetes.io/provisioned-by": "glusterfs.heqet.io",
                    "pv.beta.kubernetes.io/gid": "2001",
                    "pv.kubernetes.io/bound-by-controller": "yes",
                    "gluster.kubernetes.io/heketi-volume-id": ID,
                    "Description": "Gluster-Internal: Dynamically provisioned PV",
                },
                "finalizers": ["kubernetes.io/pv-protection"],
            },
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany", "ReadOnlyMany"],
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "apiVersion": "v1",
                    "namespace": "shop",
                    "name": "data",
                    "uid": "0d5b7a52-1111-4c1d-9e2f-3a4b5c6d7e8f",
                },
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "glusterfs",
                "mountOptions": ["log-level=WARNING"],
                "volumeMode": "Filesystem",
                "csi": {
                    "driver": "glusterfs.heqet.io",
                    "volumeHandle": ID,
                    "volumeAttributes": {
                        "glustervolume": format!("vol_{ID}"),
                        "glusterserver": "10.0.0.1",
                        "backupvolfileservers": "10.0.0.2,10.0.0.3",
                        "gid": "2001",
                        "volumetype": "replicate:3",
                        "heketivolumeid": ID,
                    },
                },
            },
        });
        assert_eq!(got, want);
    }

    #[test]
    fn attributes_and_handle_are_heqet_csis_own() {
        let v = volume();
        let new = csi_pv(&pv(in_tree()), &v, &target()).unwrap();
        let csi = new.spec.unwrap().csi.unwrap();
        let ctx: BTreeMap<_, _> = context::of(&v).into_iter().collect();
        assert_eq!(csi.volume_attributes.unwrap(), ctx);
        assert_eq!(csi.volume_handle, volume_id::encode(ID, None).unwrap());
    }

    #[test]
    fn a_csi_resturl_goes_into_the_handle_normalized() {
        let t = Target::new("glusterfs.heqet.io", Some("HTTP://Heqet.Storage:8080/")).unwrap();
        assert_eq!(t.server.as_deref(), Some("http://heqet.storage:8080"));
        let new = csi_pv(&pv(in_tree()), &volume(), &t).unwrap();
        let handle = new.spec.unwrap().csi.unwrap().volume_handle;
        assert_eq!(handle, format!("{ID}@http://heqet.storage:8080"));
        let r = volume_id::decode(&handle).unwrap();
        assert_eq!(r.server.as_deref(), Some("http://heqet.storage:8080"));

        let long = format!("http://h/{}", "p".repeat(volume_id::MAX_SERVER_LEN));
        let e = Target::new("glusterfs.heqet.io", Some(&long)).unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
        assert!(Target::new("glusterfs.heqet.io", Some("ftp://x")).is_err());
        assert!(Target::new("-bad", None).is_err());
    }

    #[test]
    fn static_pv_read_only_retain_without_claim() {
        let raw = json!({
            "metadata": {"name": "static-1", "uid": "u1", "resourceVersion": "1"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "glusterfs": {"endpoints": "heketi-storage-endpoints", "path": format!("/vol_{ID}"), "readOnly": true},
                "accessModes": ["ReadOnlyMany"],
                "persistentVolumeReclaimPolicy": "Retain",
            },
            "status": {"phase": "Available"},
        });
        let new = csi_pv(&pv(raw), &volume(), &target()).unwrap();
        // No provisioner before, none now; no claim; read-only carried into the CSI source.
        assert_eq!(new.metadata.annotations, None);
        assert_eq!(new.metadata.finalizers, None);
        let spec = new.spec.unwrap();
        assert_eq!(spec.claim_ref, None);
        assert_eq!(
            spec.persistent_volume_reclaim_policy.as_deref(),
            Some("Retain")
        );
        assert_eq!(spec.storage_class_name, None);
        let csi = spec.csi.unwrap();
        assert_eq!(csi.read_only, Some(true));
        assert_eq!(csi.fs_type, None);
        assert!(spec.glusterfs.is_none());
    }

    #[test]
    fn the_saved_reclaim_policy_wins_over_the_retain_patch() {
        let mut raw = in_tree();
        raw["spec"]["persistentVolumeReclaimPolicy"] = json!("Retain");
        raw["metadata"]["annotations"][ORIGINAL_RECLAIM_POLICY] = json!("Delete");
        let old = pv(raw);
        assert_eq!(original_reclaim_policy(&old).unwrap(), "Delete");
        let new = csi_pv(&old, &volume(), &target()).unwrap();
        assert_eq!(
            new.spec
                .unwrap()
                .persistent_volume_reclaim_policy
                .as_deref(),
            Some("Delete")
        );
        assert!(!new
            .metadata
            .annotations
            .unwrap()
            .contains_key(ORIGINAL_RECLAIM_POLICY));

        let mut raw = in_tree();
        raw["spec"]["persistentVolumeReclaimPolicy"] = json!("Recycle");
        assert_eq!(
            original_reclaim_policy(&pv(raw)),
            Err(MapError::ReclaimPolicy("Recycle".into()))
        );
    }

    #[test]
    fn volume_names_from_paths() {
        let src = |p: &str| GlusterfsPersistentVolumeSource {
            path: p.into(),
            ..Default::default()
        };
        assert_eq!(volume_name(&src("vol_1")).unwrap(), "vol_1");
        assert_eq!(volume_name(&src("/vol_1")).unwrap(), "vol_1");
        assert_eq!(volume_name(&src(" ")), Err(MapError::EmptyPath));
        assert_eq!(volume_name(&src("/")), Err(MapError::EmptyPath));
        assert_eq!(
            volume_name(&src("vol_1/sub")),
            Err(MapError::Subdirectory("vol_1/sub".into()))
        );
    }

    #[test]
    fn block_mode_and_unknown_fields_are_refused() {
        let mut raw = in_tree();
        raw["spec"]["volumeMode"] = json!("Block");
        assert_eq!(
            csi_pv(&pv(raw), &volume(), &target()),
            Err(MapError::VolumeMode("Block".into()))
        );
        let mut raw = in_tree();
        assert!(unknown_spec_fields(&raw).is_empty());
        raw["spec"]["volumeAttributesClassName"] = json!("gold");
        raw["spec"]["someFutureField"] = json!({});
        assert_eq!(
            unknown_spec_fields(&raw),
            vec![
                "someFutureField".to_string(),
                "volumeAttributesClassName".to_string()
            ]
        );
    }

    #[test]
    fn default_driver_name_is_heqet_csis() {
        assert_eq!(
            crate::migrate::args::DEFAULT_DRIVER,
            heqet_csi::identity::DEFAULT_DRIVER_NAME
        );
    }
}
