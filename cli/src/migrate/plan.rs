//! What to do with each PV. Pure: the PVs (as the API server returned them), the heketi
//! volumes and the claims in use come from the edge, so every decision is unit-tested.
//!
//! Only in-tree glusterfs PVs and PVs of the heqet-csi driver are listed; other PVs are not
//! this command's business.

use std::collections::{BTreeMap, BTreeSet};

use heqet_csi::controller::{context, volume_id};
use k8s_openapi::api::core::v1::PersistentVolume;
use serde_json::Value;

use crate::migrate::claims::{claim_of, Claim, InUse};
use crate::migrate::mapping::{self, Target, HEKETI_VOLUME_ID, PV_PROTECTION};
use crate::migrate::volumes::{Lookup, VolumeIndex};

/// One in-tree PV to replace.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// As read: `--apply` patches and deletes exactly this object (uid, resourceVersion).
    pub old: PersistentVolume,
    pub new: PersistentVolume,
    pub claim: Option<Claim>,
    pub reclaim_policy: String,
    /// The PV is being deleted already (a run stopped after the delete, or someone else).
    pub terminating: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Migrate(Box<Migration>),
    /// Already a heqet-csi PV.
    Skip,
    /// This command cannot migrate it; the reason says what to do instead.
    LeaveAlone(String),
    /// It can be migrated once someone acts; the reason says who and how.
    Blocked(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub pv: String,
    pub volume: Option<String>,
    pub volume_id: Option<String>,
    pub action: Action,
}

impl Entry {
    /// Whether this is an in-tree PV the run leaves in-tree.
    pub fn left_in_tree(&self) -> bool {
        matches!(self.action, Action::LeaveAlone(_) | Action::Blocked(_))
    }
}

/// The namespaces of the in-tree PVs' claims: where pods must be looked at.
pub fn claim_namespaces(pvs: &[Value]) -> BTreeSet<String> {
    pvs.iter()
        .filter(|raw| raw.pointer("/spec/glusterfs").is_some())
        .filter_map(|raw| {
            raw.pointer("/spec/claimRef/namespace")
                .and_then(Value::as_str)
        })
        .filter(|ns| !ns.is_empty())
        .map(str::to_string)
        .collect()
}

/// The plan for every PV the API server listed, sorted by PV name.
pub fn make(pvs: &[Value], volumes: &VolumeIndex, in_use: &InUse, target: &Target) -> Vec<Entry> {
    let mut entries: Vec<Entry> = pvs
        .iter()
        .filter_map(|raw| entry(raw, volumes, in_use, target))
        .collect();
    leave_duplicates_alone(&mut entries, target);
    entries.sort_by(|a, b| a.pv.cmp(&b.pv));
    entries
}

fn name_of(raw: &Value) -> String {
    raw.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<no name>")
        .to_string()
}

fn entry(raw: &Value, volumes: &VolumeIndex, in_use: &InUse, target: &Target) -> Option<Entry> {
    let is_glusterfs = raw.pointer("/spec/glusterfs").is_some();
    let driver = raw.pointer("/spec/csi/driver").and_then(Value::as_str);
    if !is_glusterfs && driver != Some(target.driver.as_str()) {
        return None;
    }
    let mut e = Entry {
        pv: name_of(raw),
        volume: None,
        volume_id: None,
        action: Action::Skip,
    };
    let pv: PersistentVolume = match serde_json::from_value(raw.clone()) {
        Ok(pv) => pv,
        Err(err) => {
            e.action = Action::LeaveAlone(format!("the PV cannot be read: {err}"));
            return Some(e);
        }
    };
    if !is_glusterfs {
        // Ours already: report what it points at.
        let csi = pv.spec.as_ref().and_then(|s| s.csi.as_ref());
        e.volume = csi
            .and_then(|c| c.volume_attributes.as_ref())
            .and_then(|a| a.get(context::VOLUME).cloned());
        e.volume_id = csi
            .and_then(|c| volume_id::decode(&c.volume_handle).ok())
            .map(|r| r.id);
        return Some(e);
    }
    e.action = in_tree(raw, &pv, volumes, in_use, target, &mut e);
    Some(e)
}

/// The decision for an in-tree PV; fills in the volume name and id as they are found.
fn in_tree(
    raw: &Value,
    pv: &PersistentVolume,
    volumes: &VolumeIndex,
    in_use: &InUse,
    target: &Target,
    e: &mut Entry,
) -> Action {
    let leave = |why: String| Action::LeaveAlone(why);
    let Some(src) = pv.spec.as_ref().and_then(|s| s.glusterfs.as_ref()) else {
        return leave("it has no spec.glusterfs".into());
    };
    let name = match mapping::volume_name(src) {
        Ok(n) => n,
        Err(err) => return leave(err.to_string()),
    };
    e.volume = Some(name.clone());
    let vol = match volumes.lookup(&name) {
        Lookup::One(v) => v,
        Lookup::None => {
            return leave(format!(
                "no volume named {name} on {}: if it lives on another heketi server, run \
                 again with that server's --resturl",
                volumes.server
            ))
        }
        Lookup::Many(ids) => {
            return leave(format!(
                "{} volumes on {} are named {name} ({}): which one this PV mounts cannot be \
                 told",
                ids.len(),
                volumes.server,
                ids.join(", ")
            ))
        }
    };
    e.volume_id = Some(vol.id.clone());
    let annotations = pv.metadata.annotations.as_ref();
    if let Some(recorded) = annotations.and_then(|a| a.get(HEKETI_VOLUME_ID)) {
        if *recorded != vol.id {
            return leave(format!(
                "its annotation {HEKETI_VOLUME_ID} says {recorded}, but the volume named \
                 {name} is {}: check which volume holds this PV's data",
                vol.id
            ));
        }
    }
    let unknown = mapping::unknown_spec_fields(raw);
    if let Some(field) = unknown.first() {
        return leave(mapping::MapError::UnknownField(field.clone()).to_string());
    }
    let foreign: Vec<&str> = pv
        .metadata
        .finalizers
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|f| *f != PV_PROTECTION)
        .collect();
    if !foreign.is_empty() {
        return Action::Blocked(format!(
            "it has the finalizers [{}], which heqet does not remove: let their owner finish \
             (or remove them if you know they are stale), then run again",
            foreign.join(", ")
        ));
    }
    let claim = claim_of(pv);
    if let Some(pods) = claim.as_ref().and_then(|c| in_use.get(c)) {
        return Action::Blocked(format!(
            "claim {} is in use by pod(s) {}: stop them (scale their workload to 0), run \
             again, then start them",
            claim.as_ref().map(Claim::to_string).unwrap_or_default(),
            pods.join(", ")
        ));
    }
    let (new, reclaim_policy) = match mapping::csi_pv(pv, vol, target)
        .and_then(|new| mapping::original_reclaim_policy(pv).map(|policy| (new, policy)))
    {
        Ok(ok) => ok,
        Err(err) => return leave(err.to_string()),
    };
    Action::Migrate(Box::new(Migration {
        old: pv.clone(),
        new,
        claim,
        reclaim_policy,
        terminating: pv.metadata.deletion_timestamp.is_some(),
    }))
}

/// Two PVs with one volume handle cannot be told apart by the kubelet (it keys staging on
/// the handle), so an in-tree PV whose volume another PV already stands for is left alone,
/// and so are in-tree PVs sharing a volume.
fn leave_duplicates_alone(entries: &mut [Entry], target: &Target) {
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries.iter() {
        let counts = matches!(e.action, Action::Migrate(_) | Action::Skip);
        if let (true, Some(id)) = (counts, &e.volume_id) {
            users.entry(id.clone()).or_default().push(e.pv.clone());
        }
    }
    for e in entries.iter_mut() {
        let Action::Migrate(_) = e.action else {
            continue;
        };
        let Some(others) = e.volume_id.as_ref().and_then(|id| users.get(id)) else {
            continue;
        };
        let others: Vec<&str> = others
            .iter()
            .filter(|p| **p != e.pv)
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            e.action = Action::LeaveAlone(format!(
                "its volume is also the volume of PV(s) {}: two {} PVs with one volume handle \
                 cannot be told apart by the kubelet; keep one PV per volume (move the other \
                 claims to it), then run again",
                others.join(", "),
                target.driver
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::types::VolumeInfoResponse;
    use serde_json::json;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn target() -> Target {
        Target::new("glusterfs.heqet.io", None).unwrap()
    }

    fn volumes() -> VolumeIndex {
        let v = |id: &str, name: &str| VolumeInfoResponse {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        };
        VolumeIndex::new("http://heqet:8080", vec![v(A, "vol_a"), v(B, "vol_b")])
    }

    fn in_tree(name: &str, path: &str, claim: Option<&str>) -> Value {
        let mut pv = json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "7",
                         "finalizers": ["kubernetes.io/pv-protection"]},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "glusterfs": {"endpoints": "ep", "path": path},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Delete",
            },
        });
        if let Some(c) = claim {
            pv["spec"]["claimRef"] = json!({"kind": "PersistentVolumeClaim", "namespace": "shop", "name": c, "uid": "u"});
        }
        pv
    }

    fn csi(name: &str, driver: &str, handle: &str) -> Value {
        json!({
            "metadata": {"name": name},
            "spec": {"csi": {"driver": driver, "volumeHandle": handle,
                             "volumeAttributes": {"glustervolume": "vol_b"}}},
        })
    }

    fn plan(pvs: &[Value], in_use: &InUse) -> Vec<Entry> {
        make(pvs, &volumes(), in_use, &target())
    }

    fn reason(e: &Entry) -> &str {
        match &e.action {
            Action::LeaveAlone(r) | Action::Blocked(r) => r,
            other => panic!("{}: {other:?}", e.pv),
        }
    }

    #[test]
    fn migrate_skip_unknown_and_foreign_pvs() {
        let pvs = vec![
            in_tree("pv-a", "vol_a", Some("data")),
            in_tree("pv-gone", "vol_gone", None),
            csi("pv-b", "glusterfs.heqet.io", B),
            csi("pv-other", "ebs.csi.aws.com", "vol-1"),
            json!({"metadata": {"name": "pv-nfs"}, "spec": {"nfs": {"server": "s", "path": "/"}}}),
        ];
        let entries = plan(&pvs, &InUse::new());
        let names: Vec<&str> = entries.iter().map(|e| e.pv.as_str()).collect();
        assert_eq!(names, ["pv-a", "pv-b", "pv-gone"]);

        let Action::Migrate(m) = &entries[0].action else {
            panic!("{:?}", entries[0])
        };
        assert_eq!(entries[0].volume.as_deref(), Some("vol_a"));
        assert_eq!(entries[0].volume_id.as_deref(), Some(A));
        assert_eq!(m.reclaim_policy, "Delete");
        assert_eq!(m.claim.as_ref().unwrap().to_string(), "shop/data");
        assert!(!m.terminating);
        assert_eq!(m.old.metadata.resource_version.as_deref(), Some("7"));

        assert_eq!(entries[1].action, Action::Skip);
        assert_eq!(entries[1].volume.as_deref(), Some("vol_b"));
        assert_eq!(entries[1].volume_id.as_deref(), Some(B));

        assert!(entries[2].left_in_tree());
        assert!(reason(&entries[2]).starts_with("no volume named vol_gone on http://heqet:8080"));
        assert_eq!(entries[2].volume_id, None);
    }

    #[test]
    fn namespaces_of_in_tree_claims_only() {
        let mut other = csi("pv-b", "glusterfs.heqet.io", B);
        other["spec"]["claimRef"] = json!({"namespace": "elsewhere", "name": "c"});
        let pvs = vec![
            in_tree("pv-a", "vol_a", Some("data")),
            other,
            in_tree("pv-c", "vol_a", None),
        ];
        assert_eq!(
            claim_namespaces(&pvs).into_iter().collect::<Vec<_>>(),
            vec!["shop".to_string()]
        );
    }

    #[test]
    fn claims_in_use_block() {
        let mut in_use = InUse::new();
        in_use.insert(
            Claim {
                namespace: "shop".into(),
                name: "data".into(),
            },
            vec!["shop/web-0".into()],
        );
        let entries = plan(&[in_tree("pv-a", "vol_a", Some("data"))], &in_use);
        assert!(matches!(entries[0].action, Action::Blocked(_)));
        assert!(reason(&entries[0]).contains("claim shop/data is in use by pod(s) shop/web-0"));
    }

    #[test]
    fn foreign_finalizers_block() {
        let mut pv = in_tree("pv-a", "vol_a", None);
        pv["metadata"]["finalizers"] = json!(["kubernetes.io/pv-protection", "example.com/backup"]);
        let entries = plan(&[pv], &InUse::new());
        assert!(matches!(entries[0].action, Action::Blocked(_)));
        assert!(reason(&entries[0]).contains("[example.com/backup]"));
    }

    #[test]
    fn one_volume_two_pvs_is_left_alone() {
        // Two in-tree PVs on one volume, and an in-tree PV whose volume has a heqet-csi PV.
        let pvs = vec![
            in_tree("pv-a1", "vol_a", None),
            in_tree("pv-a2", "/vol_a", None),
            in_tree("pv-b-old", "vol_b", None),
            csi("pv-b", "glusterfs.heqet.io", B),
        ];
        let entries = plan(&pvs, &InUse::new());
        assert!(reason(&entries[0]).contains("also the volume of PV(s) pv-a2"));
        assert!(reason(&entries[1]).contains("also the volume of PV(s) pv-a1"));
        assert_eq!(entries[2].pv, "pv-b");
        assert_eq!(entries[2].action, Action::Skip);
        assert!(reason(&entries[3]).contains("also the volume of PV(s) pv-b:"));
    }

    #[test]
    fn recorded_heketi_id_must_match_the_name() {
        let mut pv = in_tree("pv-a", "vol_a", None);
        pv["metadata"]["annotations"] = json!({"gluster.kubernetes.io/heketi-volume-id": B});
        let entries = plan(&[pv], &InUse::new());
        assert!(reason(&entries[0]).contains(&format!("says {B}")));
        let mut pv = in_tree("pv-a", "vol_a", None);
        pv["metadata"]["annotations"] = json!({"gluster.kubernetes.io/heketi-volume-id": A});
        assert!(matches!(
            plan(&[pv], &InUse::new())[0].action,
            Action::Migrate(_)
        ));
    }

    #[test]
    fn unsupported_pvs_are_left_alone_with_the_reason() {
        let mut sub = in_tree("pv-sub", "vol_a/dir", None);
        sub["spec"]["volumeMode"] = json!("Filesystem");
        let mut block = in_tree("pv-block", "vol_a", None);
        block["spec"]["volumeMode"] = json!("Block");
        let mut future = in_tree("pv-future", "vol_b", None);
        future["spec"]["shinyNewField"] = json!(true);
        let mut broken = in_tree("pv-broken", "vol_b", None);
        broken["spec"]["capacity"] = json!("lots");
        let entries = plan(&[sub, block, future, broken], &InUse::new());
        assert!(reason(&entries[0]).contains("volumeMode Block"));
        assert!(reason(&entries[1]).contains("cannot be read"));
        assert!(reason(&entries[2]).contains("spec.shinyNewField"));
        assert!(reason(&entries[3]).contains("subdirectory"));
    }

    #[test]
    fn a_pv_being_deleted_is_resumed() {
        let mut pv = in_tree("pv-a", "vol_a", Some("data"));
        pv["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        pv["spec"]["persistentVolumeReclaimPolicy"] = json!("Retain");
        pv["metadata"]["annotations"] = json!({"migrate.heqet.io/reclaim-policy": "Delete"});
        let Action::Migrate(m) = &plan(&[pv], &InUse::new())[0].action else {
            panic!()
        };
        assert!(m.terminating);
        assert_eq!(m.reclaim_policy, "Delete");
    }
}
