//! The fixture dump read whole, and each kind of malformed dump refused with its error.

use heqet_api::layout::Layout;
use serde_json::{json, Value};

use super::*;
use crate::model::{OpPayload, OpStatus};

const FIXTURE: &str = include_str!("../../tests/fixtures/heketi-db.json");
const GLUSTER_A: &str = include_str!("../../tests/fixtures/gluster-volume-info-a.xml");

const CLUSTER_A: &str = "2a732fc76ec4fe2c4ffe8fb68f24cda0";
const REP: &str = "675aa573859f825d1792e5e6c8b23336";
const ARB: &str = "921b44a83331d05f7acc7c40858ca5ae";
const DIST: &str = "5e1a86c3f30bf42b6655b165f603af66";
const BLK: &str = "3f5aec61d32b3f76e9f290be206cb438";
const PEND: &str = "84139e9d2d105b04504297aee25db3b2";
const EC: &str = "4028ade4dd2c26a7809108e565419ec7";
const OP: &str = "b6abd164bc35cc55295246b05063e443";

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn read_value(v: &Value) -> Result<Import, DumpError> {
    read(v.to_string().as_bytes(), &[])
}

fn broken(edit: impl FnOnce(&mut Value)) -> DumpError {
    let mut v = fixture();
    edit(&mut v);
    read_value(&v).expect_err("the edited dump must be refused")
}

/// The first entry of a section, as (id, record).
fn first(v: &mut Value, section: &str) -> (String, Value) {
    let (k, r) = v[section].as_object().unwrap().iter().next().unwrap();
    (k.clone(), r.clone())
}

#[test]
fn the_fixture_is_carried_whole() {
    let i = read(FIXTURE.as_bytes(), &[]).unwrap();
    let r = &i.rows;
    assert_eq!(
        (
            r.clusters.len(),
            r.nodes.len(),
            r.devices.len(),
            r.volumes.len(),
            r.bricks.len(),
            r.operations.len()
        ),
        (2, 9, 13, 6, 22, 1)
    );
    assert_eq!((i.block_volumes, i.db_attributes), (1, 4));
    let vol = |id: &str| r.volumes.iter().find(|v| v.id == id).unwrap();
    assert_eq!(vol(REP).layout.0, Layout::Replicate { replica: 3 });
    assert_eq!(vol(ARB).layout.0, Layout::Arbiter);
    assert_eq!(vol(DIST).layout.0, Layout::None);
    assert_eq!(
        vol(EC).layout.0,
        Layout::Disperse {
            data: 4,
            redundancy: 2
        }
    );
    assert!(vol(BLK).block);
    assert_eq!(vol(BLK).blockinfo.0.blockvolume.len(), 1);
    assert_eq!(vol(REP).gid, 2001);
    assert_eq!(vol(EC).snapshot_factor, 1.5);
    // The pending create: hidden volume, its bricks held, a stale journal entry.
    let p = vol(PEND);
    assert!(p.hidden);
    assert_eq!(p.pending_op.as_deref(), Some(OP));
    let held = r
        .bricks
        .iter()
        .filter(|b| b.pending_op.as_deref() == Some(OP))
        .count();
    assert_eq!(held, 3);
    let op = &r.operations[0];
    assert_eq!(op.status, OpStatus::Stale);
    assert_eq!(op.kind, "create-volume");
    assert_eq!(op.created_at, 1718003100);
    assert_eq!(
        op.payload.0,
        OpPayload::CreateVolume {
            volume_id: PEND.into()
        }
    );
    assert_eq!(op.changes.0.len(), 4);
    // The failed device and the offline node keep their states.
    assert!(r
        .devices
        .iter()
        .any(|d| d.state == crate::model::EntryState::Failed && d.name == "/dev/sdd"));
    assert_eq!(
        r.nodes
            .iter()
            .filter(|n| n.state == crate::model::EntryState::Offline)
            .count(),
        1
    );
    // Arbiter bricks sit at the end of their set, every brick has its own thin pool name.
    for b in r.bricks.iter().filter(|b| b.volume_id == ARB) {
        assert_eq!(b.arbiter, b.position == 2, "{b:?}");
    }
    assert!(r.bricks.iter().all(|b| b.thin_pool.starts_with("tp_")));
    assert!(r.bricks.iter().all(|b| b.lv == format!("brick_{}", b.id)));
}

#[test]
fn what_is_not_carried_is_said() {
    let i = read(FIXTURE.as_bytes(), &[]).unwrap();
    let text: Vec<String> = i.notices.iter().map(|n| n.to_string()).collect();
    assert!(
        i.notices
            .iter()
            .any(|n| matches!(n, Notice::BlockVolume { hosting, .. } if hosting == BLK)),
        "{text:?}"
    );
    assert_eq!(
        i.notices
            .iter()
            .filter(|n| matches!(n, Notice::DbAttribute { .. }))
            .count(),
        4
    );
    let guessed = i.notices.iter().find_map(|n| match n {
        Notice::BrickOrderGuessed { volumes } => Some(volumes.len()),
        _ => None,
    });
    // All but the one-brick distribute volume.
    assert_eq!(guessed, Some(5), "{text:?}");
    // The fixture's stored mounts are heqet's, so nothing is said about them.
    assert!(!i
        .notices
        .iter()
        .any(|n| matches!(n, Notice::MountDiffers { .. })));
}

#[test]
fn unknown_keys_and_stored_mounts_that_differ_are_reported() {
    let mut v = fixture();
    v["volumeentries"][REP]["Info"]["mount"]["glusterfs"]["hosts"] = json!(["10.9.9.9"]);
    v["volumeentries"][REP]["Future"] = json!(1);
    v["volumeentries"][DIST]["Future"] = json!(2);
    v["brickentries"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .for_each(|b| b["Info"]["colour"] = json!("red"));
    v["newbucket"] = json!({});
    let i = read_value(&v).unwrap();
    let find = |kind: &str, key: &str| {
        i.notices.iter().find_map(|n| match n {
            Notice::UnknownKey {
                kind: k,
                key: kk,
                count,
                ..
            } if *k == kind && kk == key => Some(*count),
            _ => None,
        })
    };
    assert_eq!(find("volume", "Future"), Some(2));
    assert_eq!(find("brick", "Info.colour"), Some(22));
    assert_eq!(find("top-level", "newbucket"), Some(1));
    assert!(i
        .notices
        .iter()
        .any(|n| matches!(n, Notice::MountDiffers { volume, .. } if volume == REP)));
}

#[test]
fn gluster_gives_the_brick_order() {
    let i = read(FIXTURE.as_bytes(), &[GLUSTER_A.to_string()]).unwrap();
    // The order of the XML: creation order, set by set.
    let (_, vols) = heqet_executor::commands::parse::volume_info_xml(GLUSTER_A).unwrap();
    for g in &vols {
        let v = i.rows.volumes.iter().find(|v| v.name == g.name).unwrap();
        let mut bricks: Vec<_> = i
            .rows
            .bricks
            .iter()
            .filter(|b| b.volume_id == v.id)
            .collect();
        bricks.sort_by_key(|b| b.position);
        let paths: Vec<&str> = bricks.iter().map(|b| b.path.as_str()).collect();
        let want: Vec<&str> = g.bricks.iter().map(|b| b.path.as_str()).collect();
        assert_eq!(paths, want, "{}", g.name);
    }
    // Only cluster B's volume and the pending one (not in gluster yet) were inferred.
    let guessed = i.notices.iter().find_map(|n| match n {
        Notice::BrickOrderGuessed { volumes } => Some(volumes.clone()),
        _ => None,
    });
    let mut g = guessed.unwrap();
    g.sort();
    assert_eq!(g, vec![EC.to_string(), PEND.to_string()]);
}

#[test]
fn gluster_that_disagrees_is_refused() {
    let moved = GLUSTER_A.replacen("10.10.1.11:/var", "10.10.1.99:/var", 2);
    let e = read(FIXTURE.as_bytes(), &[moved]).unwrap_err();
    assert!(matches!(e, DumpError::Gluster(_)), "{e}");
    let e = read(FIXTURE.as_bytes(), &["<nope".to_string()]).unwrap_err();
    assert!(matches!(e, DumpError::Gluster(_)), "{e}");
}

#[test]
fn not_json_or_not_a_dump() {
    assert!(matches!(
        read(b"this is not json", &[]),
        Err(DumpError::NotJson(_))
    ));
    assert!(matches!(read(b"[]", &[]), Err(DumpError::NotADump(_))));
    let e = broken(|v| {
        v.as_object_mut().unwrap().remove("clusterentries");
    });
    assert!(matches!(e, DumpError::NotADump(_)), "{e}");
}

#[test]
fn wrong_shapes() {
    let e = broken(|v| {
        let (k, _) = first(v, "brickentries");
        v["brickentries"][&k]["Info"]["size"] = json!("ten");
    });
    assert!(matches!(e, DumpError::Shape { kind: "brick", .. }), "{e}");
    let e = broken(|v| {
        let (k, _) = first(v, "nodeentries");
        v["nodeentries"][&k]["Info"]
            .as_object_mut()
            .unwrap()
            .remove("hostnames");
    });
    assert!(matches!(e, DumpError::Shape { kind: "node", .. }), "{e}");
    let e = broken(|v| v["volumeentries"] = json!([1, 2]));
    assert!(matches!(e, DumpError::NotADump(_)), "{e}");
}

#[test]
fn a_brick_on_a_missing_device() {
    let e = broken(|v| {
        let (k, _) = first(v, "brickentries");
        v["brickentries"][&k]["Info"]["device"] = json!("0".repeat(32));
    });
    assert!(
        matches!(e, DumpError::Dangling { kind: "device", ref id, .. } if *id == "0".repeat(32)),
        "{e}"
    );
}

#[test]
fn duplicate_ids() {
    // The same key twice in one map: JSON allows it, a map would keep only the last.
    let (k, rec) = first(&mut fixture(), "clusterentries");
    let twice = FIXTURE.replacen(
        "\"clusterentries\": {",
        &format!("\"clusterentries\": {{\"{k}\": {rec},"),
        1,
    );
    let e = read(twice.as_bytes(), &[]).unwrap_err();
    assert!(
        matches!(
            e,
            DumpError::DuplicateId {
                kind: "cluster",
                ..
            }
        ),
        "{e}"
    );
    // A node id that is also a device id.
    let e = broken(|v| {
        let (nid, node) = first(v, "nodeentries");
        let (did, _) = first(v, "deviceentries");
        let mut copy = node;
        copy["Info"]["id"] = json!(did);
        v["nodeentries"][&did] = copy;
        let _ = nid;
    });
    assert!(matches!(e, DumpError::IdReused { .. }), "{e}");
    let e = broken(|v| {
        let (k, rec) = first(v, "clusterentries");
        v["clusterentries"].as_object_mut().unwrap().remove(&k);
        v["clusterentries"]["nothex"] = rec;
    });
    assert!(matches!(e, DumpError::BadId { .. }), "{e}");
    let e = broken(|v| {
        let (k, _) = first(v, "volumeentries");
        v["volumeentries"][&k]["Info"]["id"] = json!("f".repeat(32));
    });
    assert!(matches!(e, DumpError::KeyMismatch { .. }), "{e}");
}

#[test]
fn duplicate_hostnames_and_names() {
    let e = broken(|v| {
        let ids: Vec<String> = v["nodeentries"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let storage = v["nodeentries"][&ids[0]]["Info"]["hostnames"]["storage"].clone();
        v["nodeentries"][&ids[1]]["Info"]["hostnames"]["storage"] = storage;
    });
    assert!(matches!(e, DumpError::DuplicateHostname { .. }), "{e}");
    let e = broken(|v| {
        let devs: Vec<String> = v["nodeentries"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n["Devices"].as_array().unwrap().clone())
            .find(|d| d.len() >= 2)
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let name = v["deviceentries"][&devs[0]]["Info"]["name"].clone();
        v["deviceentries"][&devs[1]]["Info"]["name"] = name;
    });
    assert!(matches!(e, DumpError::DuplicateDeviceName { .. }), "{e}");
    let e = broken(|v| v["volumeentries"][DIST]["Info"]["name"] = json!(format!("vol_{REP}")));
    assert!(matches!(e, DumpError::DuplicateVolumeName { .. }), "{e}");
}

#[test]
fn lists_and_records_must_agree() {
    let e = broken(|v| {
        let b = v["volumeentries"][REP]["Bricks"].as_array_mut().unwrap();
        b.pop();
    });
    assert!(
        matches!(e, DumpError::Inconsistent(ref m) if m.contains("not in the brick list")),
        "{e}"
    );
    let e = broken(|v| {
        v["clusterentries"][CLUSTER_A]["Info"]["nodes"]
            .as_array_mut()
            .unwrap()
            .push(json!("a".repeat(32)));
    });
    assert!(matches!(e, DumpError::Dangling { kind: "node", .. }), "{e}");
    let e = broken(|v| {
        let (k, b) = first(v, "brickentries");
        let other = v["deviceentries"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, d)| d["NodeId"] != b["Info"]["node"])
            .map(|(id, _)| id.clone())
            .unwrap();
        v["brickentries"][&k]["Info"]["node"] = v["deviceentries"][&other]["NodeId"].clone();
    });
    assert!(
        matches!(e, DumpError::Inconsistent(ref m) if m.contains("is on node")),
        "{e}"
    );
}

#[test]
fn values_heqet_cannot_take() {
    let e = broken(|v| {
        let (k, _) = first(v, "nodeentries");
        v["nodeentries"][&k]["State"] = json!("maybe");
    });
    assert!(matches!(e, DumpError::Invalid { .. }), "{e}");
    let e = broken(|v| v["volumeentries"][REP]["Info"]["durability"]["type"] = json!("mirror"));
    assert!(e.to_string().contains("mirror"), "{e}");
    let e = broken(|v| {
        v["volumeentries"][DIST]["GlusterVolumeOptions"] = json!(["user.heketi.arbiter true"])
    });
    assert!(e.to_string().contains("arbiter"), "{e}");
    let e = broken(|v| {
        let (k, _) = first(v, "brickentries");
        v["brickentries"][&k]["Info"]["path"] = json!("");
    });
    assert!(e.to_string().contains("no path"), "{e}");
}

#[test]
fn pending_operations_that_cannot_be_carried() {
    let e = broken(|v| v["pendingoperations"][OP]["Type"] = json!(4));
    assert!(matches!(e, DumpError::Operation { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("heketi-cli server operations cleanup"),
        "{e}"
    );
    let e = broken(|v| v["volumeentries"][REP]["Pending"]["Id"] = json!("c".repeat(32)));
    assert!(
        matches!(
            e,
            DumpError::Dangling {
                kind: "pending operation",
                ..
            }
        ),
        "{e}"
    );
    let e = broken(|v| v["volumeentries"][REP]["Pending"]["Id"] = json!(OP));
    assert!(
        matches!(e, DumpError::Inconsistent(ref m) if m.contains("does not name it")),
        "{e}"
    );
}
