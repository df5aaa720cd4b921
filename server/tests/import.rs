//! `db import` / `db export` on store files: the fixture (heketi's dump format, made by hand)
//! imported and served, field by field against the dump; the round trip; every refusal
//! leaves the store file as it was.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use heqet_executor::mock::MockExecutor;
use heqet_server::db_file::{self, DbFileError, ImportRequest};
use heqet_server::heketi_db::DumpError;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use common::TestServer;

const FIXTURE: &str = include_str!("fixtures/heketi-db.json");
const PENDING_VOLUME: &str = "84139e9d2d105b04504297aee25db3b2";
const PENDING_OP: &str = "b6abd164bc35cc55295246b05063e443";

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

async fn import(dump: &[u8], db: &Path, force: bool) -> Result<db_file::Imported, DbFileError> {
    db_file::import(ImportRequest {
        dump,
        gluster_xml: &[],
        db,
        force,
    })
    .await
}

fn entries<'a>(dump: &'a Value, section: &str) -> &'a serde_json::Map<String, Value> {
    dump[section].as_object().unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The brick objects of the dump for which `pick` holds, sorted by id.
fn brick_infos(dump: &Value, pick: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut v: Vec<Value> = entries(dump, "brickentries")
        .values()
        .map(|b| b["Info"].clone())
        .filter(|i| pick(i))
        .collect();
    v.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    v
}

/// `GET /devices/{id}` as the dump says it must be.
fn device_expected(dump: &Value, id: &str) -> Value {
    let d = &dump["deviceentries"][id];
    let mut e = d["Info"].clone();
    e["state"] = d["State"].clone();
    e["bricks"] = json!(brick_infos(dump, |b| b["device"] == id));
    e
}

async fn server_on(db: &Path) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let cfg = heqet_server::Config::for_test(db);
    TestServer::start_with(dir, cfg, Arc::new(MockExecutor::default())).await
}

#[tokio::test]
async fn the_imported_store_answers_every_info_route_as_the_dump_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let done = import(FIXTURE.as_bytes(), &db, false).await.unwrap();
    assert_eq!(
        (
            done.counts.clusters,
            done.counts.volumes,
            done.counts.operations
        ),
        (2, 6, 1)
    );
    let s = server_on(&db).await;
    let dump = fixture();

    let r = s.get("/clusters").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut want: Vec<String> = entries(&dump, "clusterentries").keys().cloned().collect();
    want.sort();
    assert_eq!(r.json(), json!({ "clusters": want }));

    for (id, c) in entries(&dump, "clusterentries") {
        let info = &c["Info"];
        let volumes: Vec<String> = ids(&info["volumes"])
            .into_iter()
            .filter(|v| v != PENDING_VOLUME)
            .collect();
        let r = s.get(&format!("/clusters/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            r.json(),
            json!({"id": id, "nodes": ids(&info["nodes"]), "volumes": volumes,
                   "block": info["block"], "file": info["file"],
                   // heqet has no block volumes: the list is always empty.
                   "blockvolumes": []}),
            "cluster {id}"
        );
    }

    for (id, n) in entries(&dump, "nodeentries") {
        let mut want = n["Info"].clone();
        want["state"] = n["State"].clone();
        want["devices"] = json!(ids(&n["Devices"])
            .iter()
            .map(|d| device_expected(&dump, d))
            .collect::<Vec<_>>());
        let r = s.get(&format!("/nodes/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json(), want, "node {id}");
    }

    for id in entries(&dump, "deviceentries").keys() {
        let r = s.get(&format!("/devices/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json(), device_expected(&dump, id), "device {id}");
    }

    let mut visible: Vec<String> = entries(&dump, "volumeentries")
        .keys()
        .filter(|v| *v != PENDING_VOLUME)
        .cloned()
        .collect();
    visible.sort();
    assert_eq!(
        s.get("/volumes").await.json(),
        json!({ "volumes": visible })
    );
    for (id, v) in entries(&dump, "volumeentries") {
        let r = s.get(&format!("/volumes/{id}")).await;
        if id == PENDING_VOLUME {
            assert_eq!(
                (r.status, r.text()),
                (StatusCode::NOT_FOUND, "Id not found")
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // Every key of heketi's stored Info, mount included, plus the bricks.
        let mut want = v["Info"].clone();
        want["bricks"] = json!(brick_infos(&dump, |b| b["volume"] == id.as_str()));
        assert_eq!(r.json(), want, "volume {id}");
    }

    let r = s.get("/operations/pending").await.json();
    assert_eq!(
        r,
        json!({"pendingoperations": [{"id": PENDING_OP, "type_name": "create-volume",
                                      "status": "stale", "sub_status": ""}]})
    );
    let r = s
        .get(&format!("/operations/pending/{PENDING_OP}"))
        .await
        .json();
    let changes = r["changes"].as_array().unwrap();
    let bricks = ids(&dump["volumeentries"][PENDING_VOLUME]["Bricks"]);
    let mut named: Vec<String> = changes
        .iter()
        .filter(|c| c["description"] == "Add brick")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    named.sort();
    assert_eq!(named, bricks);
    assert_eq!(
        changes.last().unwrap(),
        &json!({"id": PENDING_VOLUME, "description": "Add volume"})
    );
    assert_eq!(
        s.get("/operations").await.json(),
        json!({"total": 1, "in_flight": 0, "stale": 1, "failed": 0, "new": 0})
    );
    let check = s.get("/db/check").await.json();
    assert_eq!(check["totalinconsistencies"], 0, "{check:#}");
}

#[tokio::test]
async fn the_imported_pending_create_is_undone_by_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    import(FIXTURE.as_bytes(), &db, false).await.unwrap();
    let s = server_on(&db).await;
    let dump = fixture();
    let bricks = ids(&dump["volumeentries"][PENDING_VOLUME]["Bricks"]);
    let device = dump["brickentries"][&bricks[0]]["Info"]["device"]
        .as_str()
        .unwrap()
        .to_string();
    let before = s.get(&format!("/devices/{device}")).await.json();
    let r = s
        .run(
            Method::POST,
            "/operations/pending/cleanup",
            Some(json!({ "operations": [PENDING_OP] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        s.get("/operations/pending").await.json(),
        json!({"pendingoperations": []})
    );
    // The create's bricks were destroyed on the nodes and their space given back.
    let destroyed: Vec<String> = s
        .mock
        .calls()
        .into_iter()
        .filter(|c| c.op == heqet_executor::mock::MockOp::BrickDestroy)
        .map(|c| c.subject)
        .collect();
    let mut d = destroyed.clone();
    d.sort();
    assert_eq!(d, bricks);
    let after = s.get(&format!("/devices/{device}")).await.json();
    let b = &dump["brickentries"][&bricks[0]];
    let held = b["TpSize"].as_i64().unwrap() + b["PoolMetadataSize"].as_i64().unwrap();
    assert_eq!(
        after["storage"]["free"].as_i64().unwrap(),
        before["storage"]["free"].as_i64().unwrap() + held
    );
    assert_eq!(s.get("/db/check").await.json()["totalinconsistencies"], 0);
}

#[tokio::test]
async fn import_export_import_export_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    import(FIXTURE.as_bytes(), &a, false).await.unwrap();
    let first = db_file::export(&a).await.unwrap();
    assert_eq!(first.operations, 1);
    let text = db_file::dump_text(&first.dump);
    // heketi's indentation (keys sorted, as GET /db/dump writes them).
    assert!(
        text.starts_with("{\n    \"blockvolumeentries\": {}"),
        "{}",
        &text[..40]
    );
    assert!(text.ends_with("}\n"));
    import(text.as_bytes(), &b, false).await.unwrap();
    let second = db_file::export(&b).await.unwrap();
    assert_eq!(first.dump, second.dump);
    // And what came back is the fixture, but for what heqet does not carry.
    let dump = fixture();
    for section in [
        "clusterentries",
        "nodeentries",
        "deviceentries",
        "volumeentries",
    ] {
        let mut want: Vec<&String> = entries(&dump, section).keys().collect();
        let mut got: Vec<&String> = entries(&first.dump, section).keys().collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{section}");
    }
    assert_eq!(first.dump["blockvolumeentries"], json!({}));
    assert_eq!(first.dump["dbattributeentries"], json!({}));
    assert_eq!(
        first.dump["volumeentries"][PENDING_VOLUME]["Pending"],
        json!({"Id": PENDING_OP})
    );
    assert_eq!(
        first.dump["pendingoperations"][PENDING_OP]["Status"],
        json!("stale")
    );
}

fn bytes_of(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn edited(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = fixture();
    edit(&mut v);
    v.to_string().into_bytes()
}

/// Every kind of malformed input the brief names.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let first_brick = |v: &Value| {
        v["brickentries"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone()
    };
    let nodes = |v: &Value| -> Vec<String> {
        v["nodeentries"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let (cid, crec) = {
        let v = fixture();
        let (k, r) = v["clusterentries"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        (k.clone(), r.clone())
    };
    vec![
        ("not json", b"{\"clusterentries\": [".to_vec()),
        (
            "wrong shape",
            edited(|v| {
                let b = first_brick(v);
                v["brickentries"][&b]["TpSize"] = json!("big");
            }),
        ),
        (
            "brick on a missing device",
            edited(|v| {
                let b = first_brick(v);
                v["brickentries"][&b]["Info"]["device"] = json!("0".repeat(32));
            }),
        ),
        (
            "duplicate ids",
            FIXTURE
                .replacen(
                    "\"clusterentries\": {",
                    &format!("\"clusterentries\": {{\"{cid}\": {crec},"),
                    1,
                )
                .into_bytes(),
        ),
        (
            "duplicate hostnames",
            edited(|v| {
                let n = nodes(v);
                let h = v["nodeentries"][&n[0]]["Info"]["hostnames"]["manage"].clone();
                v["nodeentries"][&n[1]]["Info"]["hostnames"]["manage"] = h;
            }),
        ),
    ]
}

#[tokio::test]
async fn malformed_input_writes_nothing() {
    for (what, input) in malformed() {
        // Into a store that does not exist yet: it is not created.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new.db");
        let e = import(&input, &db, false).await.unwrap_err();
        assert!(matches!(e, DbFileError::Dump(_)), "{what}: {e}");
        assert!(files_in(dir.path()).is_empty(), "{what}");
        // Into an empty existing store, with --force: untouched.
        let db = dir.path().join("empty.db");
        heqet_server::store::Store::open(&db)
            .await
            .unwrap()
            .shut()
            .await
            .unwrap();
        let before = bytes_of(&db);
        let listing = files_in(dir.path());
        let e = import(&input, &db, true).await.unwrap_err();
        assert!(matches!(e, DbFileError::Dump(_)), "{what}: {e}");
        assert_eq!(bytes_of(&db), before, "{what}");
        assert_eq!(files_in(dir.path()), listing, "{what}");
    }
    // The messages say what is wrong.
    let m: Vec<String> = messages().await;
    assert!(m[0].contains("not JSON"), "{}", m[0]);
    assert!(
        m[1].contains("brick entry") && m[1].contains("TpSize"),
        "{}",
        m[1]
    );
    assert!(
        m[2].contains("refers to device 00000000000000000000000000000000"),
        "{}",
        m[2]
    );
    assert!(m[3].contains("appears more than once"), "{}", m[3]);
    assert!(m[4].contains("belongs to node"), "{}", m[4]);
}

async fn messages() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (_, input) in malformed() {
        let e = import(&input, &dir.path().join("x.db"), false)
            .await
            .unwrap_err();
        out.push(e.to_string());
    }
    out
}

#[tokio::test]
async fn a_store_that_holds_anything_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    // A store with one cluster made through the API.
    {
        let s = server_on(&db).await;
        s.create_cluster().await;
        let mut s = s;
        s.stop().await;
    }
    let before = bytes_of(&db);
    let e = import(FIXTURE.as_bytes(), &db, false).await.unwrap_err();
    assert!(matches!(e, DbFileError::NotEmpty { .. }), "{e}");
    assert!(e.to_string().contains("holds 1 cluster;"), "{e}");
    assert_eq!(bytes_of(&db), before);
    assert!(!dir.path().join("heqet.db.bak").exists());

    // --force: the old store is copied aside, then replaced (never merged).
    let done = import(FIXTURE.as_bytes(), &db, true).await.unwrap();
    let bak = dir.path().join("heqet.db.bak");
    assert_eq!(done.backup.as_deref(), Some(bak.as_path()));
    let old = db_file::export(&bak).await.unwrap().dump;
    assert_eq!(old["clusterentries"].as_object().unwrap().len(), 1);
    let new = db_file::export(&db).await.unwrap().dump;
    let mut got: Vec<&String> = new["clusterentries"].as_object().unwrap().keys().collect();
    let dump = fixture();
    let mut want: Vec<&String> = entries(&dump, "clusterentries").keys().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // A second --force would overwrite that copy: refused, store untouched.
    let before = bytes_of(&db);
    let e = import(FIXTURE.as_bytes(), &db, true).await.unwrap_err();
    assert!(matches!(e, DbFileError::BackupExists { .. }), "{e}");
    assert_eq!(bytes_of(&db), before);
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heketi.db");
    // heketi's own database file has the same default name.
    std::fs::write(&db, b"\x00\x00\x00\x00bolt database page").unwrap();
    for force in [false, true] {
        let e = import(FIXTURE.as_bytes(), &db, force).await.unwrap_err();
        assert!(matches!(e, DbFileError::NotAStore { .. }), "{e}");
    }
    assert_eq!(bytes_of(&db), b"\x00\x00\x00\x00bolt database page");
    assert_eq!(files_in(dir.path()), vec![db.clone()]);
    let e = db_file::export(&db).await.unwrap_err();
    assert!(matches!(e, DbFileError::NotAStore { .. }), "{e}");
    let e = db_file::export(&dir.path().join("none.db"))
        .await
        .unwrap_err();
    assert!(matches!(e, DbFileError::NoStore { .. }), "{e}");
}

#[tokio::test]
async fn pending_operations_heqet_cannot_represent_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let input = edited(|v| v["pendingoperations"][PENDING_OP]["Type"] = json!(4));
    let e = import(&input, &db, false).await.unwrap_err();
    assert!(
        matches!(e, DbFileError::Dump(DumpError::Operation { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("no block volumes"), "{e}");
    assert!(!db.exists());
}

#[tokio::test]
async fn an_imported_store_takes_new_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    import(FIXTURE.as_bytes(), &db, false).await.unwrap();
    let dump = fixture();
    // The mock knows nothing of heketi's nodes: give it their volume groups (as they are on
    // the real nodes), so new bricks can be made there.
    let mock = Arc::new(MockExecutor::default());
    use heqet_executor::Executor;
    for (id, d) in entries(&dump, "deviceentries") {
        let n = &dump["nodeentries"][d["NodeId"].as_str().unwrap()]["Info"]["hostnames"];
        let target = heqet_executor::NodeTarget {
            manage: n["manage"][0].as_str().unwrap().into(),
            storage: n["storage"][0].as_str().unwrap().into(),
        };
        let setup = heqet_executor::DeviceSetup {
            id: id.clone(),
            name: d["Info"]["name"].as_str().unwrap().into(),
            destroydata: false,
        };
        mock.device_setup(&target, &setup).await.unwrap();
    }
    let cfg = heqet_server::Config::for_test(&db);
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), cfg, mock).await;
    let cluster_a = "2a732fc76ec4fe2c4ffe8fb68f24cda0";
    let v = s
        .create_volume_ok(json!({"size": 4, "clusters": [cluster_a],
            "durability": {"type": "replicate", "replicate": {"replica": 3}}}))
        .await;
    assert_eq!(v["cluster"], cluster_a);
    // Spread over the three zones of the imported nodes, never on the failed device.
    let mut nodes: Vec<&str> = v["bricks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["node"].as_str().unwrap())
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3);
    let failed = entries(&dump, "deviceentries")
        .iter()
        .find(|(_, d)| d["State"] == "failed")
        .map(|(id, _)| id.clone())
        .unwrap();
    assert!(v["bricks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["device"] != failed.as_str()));
    // An imported volume's expansion reaches gluster with the imported name (the mock has
    // no such gluster volume, so it fails there) and is rolled back to what was imported.
    let rep = "675aa573859f825d1792e5e6c8b23336";
    let before = s.get(&format!("/volumes/{rep}")).await.json();
    let r = s
        .run(
            Method::POST,
            &format!("/volumes/{rep}/expand"),
            Some(json!({"expand_size": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body.contains(&format!("volume add-brick vol_{rep}")),
        "{}",
        r.body
    );
    assert_eq!(s.get(&format!("/volumes/{rep}")).await.json(), before);
    // Another is deleted.
    let dist = "5e1a86c3f30bf42b6655b165f603af66";
    let r = s
        .run(Method::DELETE, &format!("/volumes/{dist}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        s.get(&format!("/volumes/{dist}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.get("/db/check").await.json()["totalinconsistencies"], 0);
}
