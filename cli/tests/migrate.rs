//! `heqet migrate pvs`: the real binary against an in-process heqet (mock executor) holding
//! the volumes and a fake Kubernetes API server (tests/kube_fake) holding the PVs.

mod common;
mod kube_fake;

use std::process::Command;

use common::*;
use kube_fake::{FakeKube, Req};
use serde_json::{json, Value};

const DRIVER: &str = "glusterfs.heqet.io";

/// A heketi volume as the server describes it.
struct Vol {
    id: String,
    name: String,
    info: Value,
}

fn volumes(s: &Server, n: usize) -> Vec<Vol> {
    let file = s.write("topo.json", &topology_json(3));
    s.ok(&["topology", "load", &format!("--json={file}")]);
    // With a gid each, as the in-tree provisioner made them.
    (0..n)
        .map(|i| {
            let gid = format!("--gid={}", 2001 + i);
            let info = s.json(&["volume", "create", "--size=1", &gid]);
            Vol {
                id: info["id"].as_str().unwrap().to_string(),
                name: info["name"].as_str().unwrap().to_string(),
                info,
            }
        })
        .collect()
}

/// An in-tree PV as the in-tree provisioner left it, as the API server returns it.
fn in_tree(name: &str, volume: &str, policy: &str, claim: Option<(&str, &str)>) -> Value {
    let mut pv = json!({
        "metadata": {
            "name": name,
            "uid": format!("uid-{name}"),
            "resourceVersion": "500",
            "creationTimestamp": "2021-03-04T05:06:07Z",
            "finalizers": ["kubernetes.io/pv-protection"],
        },
        "spec": {
            "capacity": {"storage": "1Gi"},
            "glusterfs": {"endpoints": format!("glusterfs-dynamic-{name}"), "path": volume},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": policy,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Available"},
    });
    if let Some((ns, c)) = claim {
        pv["spec"]["claimRef"] = json!({
            "kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": ns, "name": c, "uid": format!("claim-uid-{c}"),
            "resourceVersion": "480",
        });
        pv["status"]["phase"] = json!("Bound");
    }
    pv
}

fn pod(ns: &str, name: &str, phase: &str, claim: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "uid": format!("pod-{name}")},
        "spec": {
            "containers": [{"name": "app", "image": "busybox"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
        },
        "status": {"phase": phase},
    })
}

/// The cluster of most tests: two in-tree PVs to migrate (a dynamic one with everything a
/// provisioner sets, a static read-only one), one on a volume heketi does not know, one
/// whose claim a running pod uses, one heqet-csi PV already, and an NFS PV.
struct Fixture {
    s: Server,
    k: FakeKube,
    a: Vol,
    b: Vol,
    busy: Vol,
    done: Vol,
}

fn fixture() -> Fixture {
    let s = Server::start();
    let mut v = volumes(&s, 4);
    let (a, b, busy, done) = {
        let mut it = v.drain(..);
        (
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
        )
    };
    let mut pv_a = in_tree("pvc-a", &a.name, "Delete", Some(("shop", "data-a")));
    pv_a["metadata"]["labels"] = json!({"app": "shop", "tier": "db"});
    pv_a["metadata"]["annotations"] = json!({
        "pv.kubernetes.io/provisioned-by": "kubernetes.io/glusterfs",
        "pv.beta.kubernetes.io/gid": a.info["gid"].to_string(),
        "pv.kubernetes.io/bound-by-controller": "yes",
        "gluster.kubernetes.io/heketi-volume-id": a.id,
        "gluster.org/type": "file",
        "Description": "Gluster-Internal: Dynamically provisioned PV",
        "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"PersistentVolume\"}",
    });
    pv_a["spec"]["glusterfs"]["endpointsNamespace"] = json!("shop");
    pv_a["spec"]["storageClassName"] = json!("glusterfs");
    pv_a["spec"]["mountOptions"] = json!(["log-level=WARNING", "acl"]);
    pv_a["metadata"]["managedFields"] = json!([{"manager": "kube-controller-manager"}]);

    let mut pv_b = in_tree(
        "static-b",
        &format!("/{}", b.name),
        "Retain",
        Some(("reports", "data-b")),
    );
    pv_b["spec"]["glusterfs"]["readOnly"] = json!(true);
    pv_b["spec"]["accessModes"] = json!(["ReadOnlyMany"]);

    let unknown = in_tree(
        "pv-unknown",
        "vol_doesnotexist",
        "Delete",
        Some(("shop", "lost")),
    );
    let pv_busy = in_tree("pvc-busy", &busy.name, "Delete", Some(("shop", "busy")));
    let csi = json!({
        "metadata": {"name": "pvc-done", "uid": "uid-done", "resourceVersion": "600",
                     "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "csi": {"driver": DRIVER, "volumeHandle": done.id,
                    "volumeAttributes": {"glustervolume": done.name}},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Delete",
        },
        "status": {"phase": "Available"},
    });
    let nfs = json!({
        "metadata": {"name": "pv-nfs", "uid": "uid-nfs", "resourceVersion": "601"},
        "spec": {"capacity": {"storage": "1Gi"}, "nfs": {"server": "nfs", "path": "/x"},
                 "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain"},
        "status": {"phase": "Available"},
    });
    let pods = vec![
        pod("shop", "web-0", "Running", "busy"),
        // Finished pods do not hold their claims.
        pod("shop", "migrate-job", "Succeeded", "data-a"),
    ];
    let k = FakeKube::start(vec![pv_a, pv_b, unknown, pv_busy, csi, nfs], pods);
    Fixture {
        s,
        k,
        a,
        b,
        busy,
        done,
    }
}

fn migrate(s: &Server, k: &FakeKube, args: &[&str]) -> Run {
    let mut c: Command = s.cmd();
    c.env_remove("KUBECONFIG")
        .args(["migrate", "pvs", "--kubeconfig"])
        .arg(&k.kubeconfig)
        .args(args);
    run_cmd(&mut c)
}

/// The plan line of one PV.
fn line<'a>(out: &'a str, pv: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(pv))
        .unwrap_or_else(|| panic!("no line for {pv} in\n{out}"))
}

/// The CSI attributes of a volume, derived here from the server's description (not with
/// heqet-csi's code) so the test checks the mapping rather than repeating it.
fn attributes(v: &Vol) -> Value {
    let g = &v.info["mount"]["glusterfs"];
    let device = g["device"].as_str().unwrap();
    let server = device.split(':').next().unwrap();
    let backups = g["options"]["backup-volfile-servers"].as_str().unwrap();
    assert!(!backups.is_empty() && !backups.contains(server));
    json!({
        "glustervolume": v.name,
        "glusterserver": server,
        "backupvolfileservers": backups,
        "gid": v.info["gid"].to_string(),
        "volumetype": "replicate:3",
        "heketivolumeid": v.id,
    })
}

/// What pvc-a must become: every field the command carries over, changes or drops.
fn expected_a(f: &Fixture) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": "pvc-a",
            "labels": {"app": "shop", "tier": "db"},
            "annotations": {
                "pv.kubernetes.io/provisioned-by": DRIVER,
                "pv.beta.kubernetes.io/gid": f.a.info["gid"].to_string(),
                "pv.kubernetes.io/bound-by-controller": "yes",
                "gluster.kubernetes.io/heketi-volume-id": f.a.id,
                "gluster.org/type": "file",
                "Description": "Gluster-Internal: Dynamically provisioned PV",
            },
            "finalizers": ["kubernetes.io/pv-protection"],
        },
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                         "namespace": "shop", "name": "data-a", "uid": "claim-uid-data-a"},
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": "glusterfs",
            "mountOptions": ["log-level=WARNING", "acl"],
            "volumeMode": "Filesystem",
            "csi": {"driver": DRIVER, "volumeHandle": f.a.id, "volumeAttributes": attributes(&f.a)},
        },
    })
}

fn expected_b(f: &Fixture) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "static-b", "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadOnlyMany"],
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                         "namespace": "reports", "name": "data-b", "uid": "claim-uid-data-b"},
            "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem",
            "csi": {"driver": DRIVER, "volumeHandle": f.b.id, "readOnly": true,
                    "volumeAttributes": attributes(&f.b)},
        },
    })
}

/// A stored object minus what the API server itself adds on create.
fn as_created(mut pv: Value) -> Value {
    let m = pv["metadata"].as_object_mut().unwrap();
    for k in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(m.remove(k).is_some(), "the server sets {k}");
    }
    let status = pv.as_object_mut().unwrap().remove("status");
    assert_eq!(status, Some(json!({"phase": "Pending"})));
    pv
}

fn summary(r: &Req) -> String {
    let path = r
        .path
        .trim_start_matches("/api/v1/")
        .trim_start_matches("persistentvolumes/");
    format!("{} {path}", r.method)
}

#[test]
fn dry_run_prints_one_line_per_pv_and_changes_nothing() {
    let f = fixture();
    let before = f.k.pvs();
    let r = migrate(&f.s, &f.k, &[]).ok();
    let out = &r.stdout;
    assert!(
        out.starts_with(&format!(
            "Kubernetes http://{}/ (kubeconfig {}), heketi {}, driver {DRIVER} (dry run, nothing is changed)\n",
            f.k.addr,
            f.k.kubeconfig.display(),
            f.s.url
        )),
        "{out}"
    );
    let a = line(out, "pvc-a");
    assert!(a.contains(&f.a.name) && a.contains(&f.a.id), "{a}");
    assert!(a.ends_with(&format!(
        "migrate to {DRIVER}: Retain, delete, create (reclaim policy Delete, claim shop/data-a)"
    )));
    let b = line(out, "static-b");
    assert!(b.contains(&f.b.name) && b.contains(&f.b.id), "{b}");
    assert!(
        b.ends_with("(reclaim policy Retain, claim reports/data-b)"),
        "{b}"
    );
    let u = line(out, "pv-unknown");
    let cols: Vec<&str> = u.split_whitespace().take(3).collect();
    assert_eq!(cols, ["pv-unknown", "vol_doesnotexist", "-"], "{u}");
    assert!(
        u.ends_with(&format!(
            "leave alone: no volume named vol_doesnotexist on {}: if it lives on another \
             heketi server, run again with that server's --resturl",
            f.s.url
        )),
        "{u}"
    );
    let busy = line(out, "pvc-busy");
    assert!(busy.contains(&f.busy.id), "{busy}");
    assert!(
        busy.ends_with(
            "blocked: claim shop/busy is in use by pod(s) shop/web-0: stop them (scale their \
             workload to 0), run again, then start them"
        ),
        "{busy}"
    );
    let done = line(out, "pvc-done");
    assert!(done.contains(&f.done.id), "{done}");
    assert!(done.ends_with(&format!("skip: already a {DRIVER} PV")));
    assert!(!out.contains("pv-nfs"), "{out}");
    assert!(out.contains(&format!(
        "\n2 to migrate, 1 already {DRIVER}, 1 left alone, 1 blocked\nRun again with --apply to migrate.\n"
    )));

    assert_eq!(f.k.pvs(), before, "a dry run changed the PVs");
    let reqs = f.k.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "{reqs:?}");
    // It looked at the pods of both claim namespaces.
    for ns in ["shop", "reports"] {
        let path = format!("/api/v1/namespaces/{ns}/pods");
        assert!(reqs.iter().any(|r| r.path == path), "{ns}: {reqs:?}");
    }
}

#[test]
fn apply_migrates_in_the_safe_order_and_a_second_run_does_nothing() {
    let f = fixture();
    let before = f.k.pvs();
    f.k.clear_requests();
    let r = migrate(&f.s, &f.k, &["--apply"]);
    // Two in-tree PVs are left in-tree: the run says so and fails.
    assert_eq!(r.code, 255, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr,
        "Error: 2 in-tree glusterfs PV(s) were not migrated (pv-unknown, pvc-busy): see the \
         lines above for why and what to do\n"
    );
    assert!(r.stdout.contains(&format!(
        "pvc-a: migrated: reclaim policy Retain, in-tree PV deleted, {DRIVER} PV created \
         (volumeHandle {}, reclaim policy Delete)\n",
        f.a.id
    )));
    assert!(r.stdout.contains("static-b: migrated: "), "{}", r.stdout);

    // The new objects, field by field.
    assert_eq!(as_created(f.k.pv("pvc-a").unwrap()), expected_a(&f));
    assert_eq!(as_created(f.k.pv("static-b").unwrap()), expected_b(&f));
    // The others are untouched.
    for name in ["pv-unknown", "pvc-busy", "pvc-done", "pv-nfs"] {
        assert_eq!(f.k.pv(name), before.get(name).cloned(), "{name}");
    }

    // The order of the changes: Retain, delete, release pv-protection, create; static-b is
    // Retain already, so it has no Retain patch.
    let changes = f.k.changes();
    let order: Vec<String> = changes.iter().map(summary).collect();
    assert_eq!(
        order,
        [
            "PATCH pvc-a",
            "DELETE pvc-a",
            "PATCH pvc-a",
            "POST persistentvolumes",
            "DELETE static-b",
            "PATCH static-b",
            "POST persistentvolumes",
        ]
    );
    assert_eq!(changes[0].content_type, "application/merge-patch+json");
    assert_eq!(
        changes[0].body,
        json!({
            "metadata": {"resourceVersion": "500",
                         "annotations": {"migrate.heqet.io/reclaim-policy": "Delete"}},
            "spec": {"persistentVolumeReclaimPolicy": "Retain"},
        })
    );
    let pre = &changes[1].body["preconditions"];
    assert_eq!(pre["uid"], "uid-pvc-a");
    // The delete is of the object as the Retain patch left it.
    assert_ne!(pre["resourceVersion"], "500");
    assert!(pre["resourceVersion"].is_string());
    assert_eq!(changes[2].body["metadata"]["finalizers"], Value::Null);
    assert!(changes[2].body["metadata"]["resourceVersion"].is_string());
    assert_eq!(changes[3].body["metadata"]["name"], "pvc-a");
    assert_eq!(
        changes[3].body["spec"]["persistentVolumeReclaimPolicy"],
        "Delete"
    );
    assert_eq!(changes[4].body["preconditions"]["uid"], "uid-static-b");
    assert_eq!(changes[4].body["preconditions"]["resourceVersion"], "500");

    // Before each delete: a dry-run create of the replacement, then the claim's pods.
    let all: Vec<String> =
        f.k.requests()
            .iter()
            .filter(|r| r.method != "GET" || r.path.contains("/pods"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
    let at = |s: &str| {
        all.iter()
            .position(|r| r == s)
            .unwrap_or_else(|| panic!("{s}: {all:?}"))
    };
    let dry = all
        .iter()
        .position(|r| r.starts_with("POST ") && r.contains("dryRun=All"))
        .unwrap_or_else(|| panic!("no dry-run create: {all:?}"));
    assert!(dry < at("PATCH /api/v1/persistentvolumes/pvc-a"), "{all:?}");
    let first_delete = at("DELETE /api/v1/persistentvolumes/pvc-a");
    let pods_shop: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| *r == "GET /api/v1/namespaces/shop/pods")
        .map(|(i, _)| i)
        .collect();
    assert!(
        pods_shop
            .iter()
            .any(|&i| i > at("PATCH /api/v1/persistentvolumes/pvc-a") && i < first_delete),
        "{all:?}"
    );

    // A second run changes nothing and reports the migrated PVs as done.
    f.k.clear_requests();
    let after = f.k.pvs();
    let r2 = migrate(&f.s, &f.k, &["--apply"]);
    assert_eq!(r2.code, 255);
    assert_eq!(f.k.pvs(), after);
    assert!(f.k.changes().is_empty(), "{:?}", f.k.changes());
    assert!(!f.k.requests().iter().any(|r| r.path.contains("dryRun")));
    for pv in ["pvc-a", "static-b", "pvc-done"] {
        assert!(
            line(&r2.stdout, pv).ends_with(&format!("skip: already a {DRIVER} PV")),
            "{}",
            r2.stdout
        );
    }
    assert!(!r2.stdout.contains("migrated:"), "{}", r2.stdout);

    // Once the pod is gone, the busy PV goes too.
    f.k.with(|s| s.pods.retain(|p| p["metadata"]["name"] != "web-0"));
    let r3 = migrate(&f.s, &f.k, &["--apply"]);
    assert!(r3.stdout.contains("pvc-busy: migrated: "), "{}", r3.stdout);
    assert!(r3
        .stderr
        .contains("1 in-tree glusterfs PV(s) were not migrated (pv-unknown)"));
    let busy = f.k.pv("pvc-busy").unwrap();
    assert_eq!(busy["spec"]["csi"]["volumeHandle"], f.busy.id);
    assert_eq!(busy["spec"]["claimRef"]["name"], "busy");
    assert_eq!(f.k.pv("pv-unknown"), before.get("pv-unknown").cloned());
}

#[test]
fn a_refused_replacement_changes_nothing() {
    let f = fixture();
    let before = f.k.pvs();
    f.k.with(|s| {
        s.forbid.insert("create");
    });
    let r = migrate(&f.s, &f.k, &["--apply"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with(
            "Error: PV pvc-a: the API server refuses its heqet-csi replacement (a dry-run \
             create, made before anything else): persistentvolumes is forbidden: User \
             \"migrator\" cannot create resource"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(403 Forbidden) (the command needs get, list, patch, delete and create on persistentvolumes"));
    assert!(
        r.stderr.trim_end().ends_with("; nothing was changed"),
        "{}",
        r.stderr
    );
    assert_eq!(f.k.pvs(), before);
    assert!(f.k.changes().is_empty());
}

#[test]
fn a_failed_create_after_the_delete_hands_over_the_manifest() {
    let f = fixture();
    f.k.with(|s| s.refuse_real_create = true);
    let r = migrate(&f.s, &f.k, &["--apply"]);
    assert_eq!(r.code, 255);
    let (msg, manifest) = r
        .stderr
        .split_once("from this manifest:\n")
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(
        msg,
        "Error: PV pvc-a: creating the heqet-csi PV failed: admission webhook \
         \"pv-policy.example.com\" denied the request: not now (400 BadRequest); the old PV \
         object is deleted or being deleted; the gluster volume and its data are untouched \
         (reclaim policy Retain). Create it yourself with `kubectl create -f -` "
    );
    let manifest: Value = serde_json::from_str(manifest).unwrap();
    assert_eq!(manifest, expected_a(&f));
    // It stopped there: static-b was not touched.
    assert!(f.k.pv("pvc-a").is_none());
    assert_eq!(
        f.k.pv("static-b").unwrap()["spec"]["glusterfs"]["readOnly"],
        true
    );
    assert!(!f.k.changes().iter().any(|r| r.path.ends_with("static-b")));
}

#[test]
fn a_pv_left_being_deleted_is_finished_with_its_original_policy() {
    let s = Server::start();
    let v = volumes(&s, 1).remove(0);
    // A run that stopped after its delete: Retain, the policy saved, deletion pending.
    let mut pv = in_tree("pvc-r", &v.name, "Retain", Some(("shop", "r")));
    pv["metadata"]["annotations"] = json!({"migrate.heqet.io/reclaim-policy": "Delete"});
    pv["metadata"]["deletionTimestamp"] = json!("2026-02-01T00:00:00Z");
    let k = FakeKube::start(vec![pv], vec![]);
    let plan = migrate(&s, &k, &[]).ok();
    assert!(line(&plan.stdout, "pvc-r").ends_with(
        "being deleted already: Retain, wait until gone, create (reclaim policy Delete, claim shop/r)"
    ));
    let r = migrate(&s, &k, &["--apply"]).ok();
    assert!(
        r.stdout
            .ends_with(&format!("done: 1 migrated, 0 already {DRIVER}\n")),
        "{}",
        r.stdout
    );
    let order: Vec<String> = k.changes().iter().map(summary).collect();
    assert_eq!(order, ["PATCH pvc-r", "POST persistentvolumes"]);
    let new = k.pv("pvc-r").unwrap();
    assert_eq!(new["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(new["metadata"].get("annotations"), None);
    assert_eq!(new["spec"]["csi"]["volumeHandle"], v.id);
}

#[test]
fn a_pv_held_by_someone_elses_finalizer_is_reported_not_forced() {
    let s = Server::start();
    let v = volumes(&s, 1).remove(0);
    let k = FakeKube::start(
        vec![in_tree("pvc-h", &v.name, "Delete", Some(("shop", "h")))],
        vec![],
    );
    k.with(|st| st.hold_on_delete = Some("backup.example.com/hold"));
    let r = migrate(&s, &k, &["--apply", "--timeout", "1"]);
    assert_eq!(r.code, 255);
    let (msg, manifest) = r
        .stderr
        .split_once("from this manifest (or run again before it is gone):\n")
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(
        msg,
        "Error: PV pvc-h: still there 1 s after it was deleted, held by the finalizers \
         [backup.example.com/hold] that heqet does not remove; the old PV object is deleted or \
         being deleted; the gluster volume and its data are untouched (reclaim policy \
         Retain). Once it is gone, create its replacement with `kubectl create -f -` "
    );
    let manifest: Value = serde_json::from_str(manifest).unwrap();
    assert_eq!(manifest["spec"]["csi"]["volumeHandle"], v.id);
    assert_eq!(manifest["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    // Only pv-protection was removed; the other finalizer holds the PV, nothing was created.
    let held = k.pv("pvc-h").unwrap();
    assert_eq!(
        held["metadata"]["finalizers"],
        json!(["backup.example.com/hold"])
    );
    assert_eq!(held["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert!(held["spec"]["glusterfs"].is_object());
    let order: Vec<String> = k.changes().iter().map(summary).collect();
    assert_eq!(order, ["PATCH pvc-h", "DELETE pvc-h", "PATCH pvc-h"]);

    // Its owner lets go; the next run finishes the job with the saved policy.
    k.with(|st| {
        st.hold_on_delete = None;
        let pv = st.pvs.get_mut("pvc-h").unwrap();
        pv["metadata"]["finalizers"] = json!(["kubernetes.io/pv-protection"]);
    });
    let r = migrate(&s, &k, &["--apply"]).ok();
    assert!(r.stdout.contains("pvc-h: migrated: "), "{}", r.stdout);
    let new = k.pv("pvc-h").unwrap();
    assert_eq!(new["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(new["spec"]["csi"]["volumeHandle"], v.id);
}

#[test]
fn a_pod_that_starts_after_the_plan_stops_the_migration_before_the_delete() {
    let s = Server::start();
    let v = volumes(&s, 1).remove(0);
    let k = FakeKube::start(
        vec![in_tree("pvc-l", &v.name, "Delete", Some(("shop", "l")))],
        vec![],
    );
    k.with(|st| st.late_pods = vec![pod("shop", "late-0", "Pending", "l")]);
    let r = migrate(&s, &k, &["--apply"]);
    assert_eq!(r.code, 255);
    assert!(
        line(&r.stdout, "pvc-l").contains("migrate to"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        "Error: PV pvc-l: claim shop/l is in use by pod(s) shop/late-0: stop them (scale their \
         workload to 0), run again, then start them; its reclaim policy is Retain now (the \
         next run still gives the new PV the original policy, kept in the annotation \
         migrate.heqet.io/reclaim-policy); nothing else was changed\n"
    );
    let order: Vec<String> = k.changes().iter().map(summary).collect();
    assert_eq!(order, ["PATCH pvc-l"]);
    let pv = k.pv("pvc-l").unwrap();
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(
        pv["metadata"]["annotations"]["migrate.heqet.io/reclaim-policy"],
        "Delete"
    );
    assert!(pv["metadata"].get("deletionTimestamp").is_none());
    // The plan of the next run blocks it and still knows the original policy.
    k.with(|st| st.pods.clear());
    let plan = migrate(&s, &k, &[]).ok();
    assert!(line(&plan.stdout, "pvc-l").ends_with("(reclaim policy Delete, claim shop/l)"));
}

#[test]
fn a_foreign_finalizer_blocks_before_any_change() {
    let s = Server::start();
    let v = volumes(&s, 1).remove(0);
    let mut pv = in_tree("pvc-f", &v.name, "Delete", None);
    pv["metadata"]["finalizers"] =
        json!(["kubernetes.io/pv-protection", "backup.example.com/hold"]);
    let k = FakeKube::start(vec![pv.clone()], vec![]);
    let r = migrate(&s, &k, &["--apply"]);
    assert_eq!(r.code, 255);
    assert!(line(&r.stdout, "pvc-f").contains(
        "blocked: it has the finalizers [backup.example.com/hold], which heqet does not remove"
    ));
    assert_eq!(k.pv("pvc-f"), Some(pv));
    assert!(k.changes().is_empty());
}

#[test]
fn json_plan_manifest_passes_the_kubernetes_schemas() {
    let f = fixture();
    let r = migrate(&f.s, &f.k, &["--json"]).ok();
    let plan = r.json();
    assert_eq!(plan["dry_run"], true);
    let pvs = plan["pvs"].as_array().unwrap();
    let a = pvs.iter().find(|p| p["pv"] == "pvc-a").unwrap();
    assert_eq!(a["action"], "migrate");
    assert_eq!(a["volume_id"], f.a.id.as_str());
    assert_eq!(a["manifest"], expected_a(&f));
    let u = pvs.iter().find(|p| p["pv"] == "pv-unknown").unwrap();
    assert_eq!(u["action"], "leave-alone");
    assert!(u["reason"].as_str().unwrap().starts_with("no volume named"));

    // Offline validation, as deploy/csi/validate.sh does it (which installs the tool).
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("pvc-a.json");
    std::fs::write(&good, a["manifest"].to_string()).unwrap();
    let b = pvs.iter().find(|p| p["pv"] == "static-b").unwrap();
    let good_b = dir.path().join("static-b.json");
    std::fs::write(&good_b, b["manifest"].to_string()).unwrap();
    let mut broken = a["manifest"].clone();
    broken["spec"]["csi"]["volumeHandel"] = json!("x");
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, broken.to_string()).unwrap();
    for version in ["1.26.0", "1.37.0"] {
        for file in [&good, &good_b] {
            let (ok, text) = kubernetes_validate(version, file);
            assert!(ok, "{version} {}: {text}", file.display());
            assert!(text.contains("passed for resource"), "{text}");
        }
        let (ok, text) = kubernetes_validate(version, &bad);
        assert!(!ok, "the validator accepted a misspelled field: {text}");
    }
}

fn kubernetes_validate(version: &str, file: &std::path::Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", version])
        .arg(file)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named kubernetes_validate"),
        "kubernetes-validate is missing: deploy/csi/validate.sh installs it (pip install \
         kubernetes-validate==1.37.0)"
    );
    (out.status.success(), text)
}

#[test]
fn csi_resturl_puts_the_server_into_the_handle() {
    let f = fixture();
    let r = migrate(
        &f.s,
        &f.k,
        &["--json", "--csi-resturl", "HTTP://Heqet.Heqet.svc:8080/"],
    )
    .ok();
    let plan = r.json();
    let a = plan["pvs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pv"] == "pvc-a")
        .unwrap();
    assert_eq!(
        a["manifest"]["spec"]["csi"]["volumeHandle"],
        format!("{}@http://heqet.heqet.svc:8080", f.a.id)
    );
    let bad = migrate(&f.s, &f.k, &["--csi-resturl", "ftp://x"]);
    assert_eq!(bad.code, 255);
    assert!(
        bad.stderr.starts_with("Error: --csi-resturl \"ftp://x\": "),
        "{}",
        bad.stderr
    );
    assert!(f.k.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn access_errors_say_what_to_do() {
    let f = fixture();
    let r = run_cmd(f.s.cmd().env_remove("KUBECONFIG").args([
        "migrate",
        "pvs",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]));
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with(
            "Error: Kubernetes API access: cannot read kubeconfig /nonexistent/kubeconfig"
        ),
        "{}",
        r.stderr
    );
    f.k.with(|s| {
        s.forbid.insert("list");
    });
    let r = migrate(&f.s, &f.k, &[]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr
            .starts_with("Error: listing PersistentVolumes: persistentvolumes is forbidden"),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("the command needs get, list, patch, delete and create on persistentvolumes"));
    // A heketi server that cannot be reached stops the run before any change.
    f.k.with(|s| s.forbid.clear());
    let r = run_cmd(
        bare_cmd()
            .args(["-s", "http://127.0.0.1:9", "migrate", "pvs", "--kubeconfig"])
            .arg(&f.k.kubeconfig),
    );
    assert_eq!(r.code, 255);
    assert!(
        r.stderr
            .starts_with("Error: reading the volumes of http://127.0.0.1:9: "),
        "{}",
        r.stderr
    );
    assert!(f.k.changes().is_empty());
}
