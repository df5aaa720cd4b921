//! Every route through real HTTP against an in-process server with the mock executor:
//! success and each error class, with heketi's status codes and texts.

mod common;

use common::TestServer;
use heqet_executor::mock::MockOp;
use reqwest::{Method, StatusCode};
use serde_json::json;

const GIB: u64 = 1024 * 1024;

#[tokio::test]
async fn hello_and_router_answers() {
    let s = TestServer::start().await;
    let r = s.get("/hello").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "Hello from Heketi");
    let r = s.get("/nothing/here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, "Invalid path or request\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = s.get("/clusters/not-hex").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.text(), "Invalid path or request");
    let r = s.raw(Method::PUT, "/clusters", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body, "");
    let r = s.get("/clusters/").await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.header("location"), Some("/clusters"));
}

#[tokio::test]
async fn clusters() {
    let s = TestServer::start().await;
    let r = s
        .post("/clusters", json!({"block": true, "file": true}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(r.body.ends_with('\n'));
    let c = r.json();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(c["nodes"], json!([]));
    assert_eq!(c["blockvolumes"], json!([]));
    // heketi's code defaults omitted flags to false.
    let c2 = s.post("/clusters", json!({})).await.json();
    assert_eq!(c2["file"], false);
    for bad in ["", "{", "[1]", r#"{"block":"yes"}"#] {
        let r = s.raw(Method::POST, "/clusters", Some(bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.text(), "request unable to be parsed");
    }
    let list = s.get("/clusters").await.json();
    let mut want = vec![id.clone(), c2["id"].as_str().unwrap().to_string()];
    want.sort();
    assert_eq!(list["clusters"], json!(want));
    assert_eq!(s.get(&format!("/clusters/{id}")).await.json()["id"], id);
    let r = s.get(&format!("/clusters/{}", "a".repeat(32))).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::NOT_FOUND, "Id not found")
    );
    // Upper-case spelling of a known id is a different id.
    let r = s.get(&format!("/clusters/{}", id.to_uppercase())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = s
        .post(
            &format!("/clusters/{id}/flags"),
            json!({"block": false, "file": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        s.get(&format!("/clusters/{id}")).await.json()["block"],
        false
    );
    let r = s
        .post(&format!("/clusters/{}/flags", "b".repeat(32)), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    s.add_node(&id, "10.0.0.1", 1).await;
    let r = s.delete(&format!("/clusters/{id}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.text(),
        format!("Unable to delete cluster [{id}] because it contains volumes and/or nodes")
    );
    let c2id = c2["id"].as_str().unwrap();
    assert_eq!(
        s.delete(&format!("/clusters/{c2id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.delete(&format!("/clusters/{c2id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn nodes() {
    let s = TestServer::start().await;
    let c = s.create_cluster().await;
    let r = s
        .raw(
            Method::POST,
            "/nodes",
            Some(&json!({"zone": 1, "cluster": c, "hostnames": {"manage": ["n1"], "storage": ["10.0.0.1"]}, "tags": {"rack": "7"}}).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body, "");
    let loc = r.header("location").unwrap().to_string();
    let done = s.wait(&loc).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let node_loc = done.header("location").unwrap().to_string();
    let n = s.get(&node_loc).await.json();
    assert_eq!(n["state"], "online");
    assert_eq!(n["zone"], 1);
    assert_eq!(n["tags"], json!({"rack": "7"}));
    assert_eq!(n["devices"], json!([]));
    let nid = n["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.get(&format!("/clusters/{c}")).await.json()["nodes"],
        json!([nid])
    );

    // Validation, unknown cluster, duplicate hostname.
    let r = s
        .post(
            "/nodes",
            json!({"zone": 0, "cluster": "12ab", "hostnames": {"manage": [], "storage": ["x y"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .starts_with("validation failed: cluster: 12ab is not a valid UUID;"),
        "{}",
        r.body
    );
    let r = s.post("/nodes", json!({"zone": 1, "cluster": "c".repeat(32), "hostnames": {"manage": ["n9"], "storage": ["10.0.0.9"]}})).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::NOT_FOUND, "Cluster id does not exist")
    );
    let r = s.post("/nodes", json!({"zone": 1, "cluster": c, "hostnames": {"manage": ["n2"], "storage": ["10.0.0.1"]}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.text(),
        format!("Hostname 10.0.0.1 already used by node with id {nid}")
    );
    let r = s.raw(Method::POST, "/nodes", Some("nope")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // glusterd down on the only existing node: a second node cannot be probed.
    s.mock.fail(MockOp::GlusterdCheck, Some("n1"), Some(1));
    let r = s.post("/nodes", json!({"zone": 1, "cluster": c, "hostnames": {"manage": ["n2"], "storage": ["10.0.0.2"]}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .starts_with("None of the nodes in cluster has glusterd running"),
        "{}",
        r.body
    );
    // First node of a new cluster must have glusterd itself.
    let c2 = s.create_cluster().await;
    s.mock.fail(MockOp::GlusterdCheck, Some("lonely"), Some(1));
    let r = s.post("/nodes", json!({"zone": 1, "cluster": c2, "hostnames": {"manage": ["lonely"], "storage": ["10.0.1.1"]}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .starts_with("New Node doesn't have glusterd running"));
    // A failing peer probe fails the add and releases the hostnames.
    s.mock.fail(MockOp::PeerProbe, None, Some(1));
    let r = s
        .run(Method::POST, "/nodes", Some(json!({"zone": 2, "cluster": c, "hostnames": {"manage": ["n3"], "storage": ["10.0.0.3"]}})))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().contains("injected failure"), "{}", r.body);
    let n3 = s.add_node(&c, "n3", 2).await;
    assert_eq!(n3.len(), 32);

    // State machine.
    let st = |state: &str| json!({"state": state});
    let r = s
        .run(
            Method::POST,
            &format!("/nodes/{nid}/state"),
            Some(st("failed")),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.text(),
        format!("Node must be offline before remove operation is performed, node:{nid}")
    );
    let r = s
        .run(
            Method::POST,
            &format!("/nodes/{nid}/state"),
            Some(st("offline")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&node_loc).await.json()["state"], "offline");
    let r = s.post(&format!("/nodes/{nid}/state"), st("sideways")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text(),
        "validation failed: state: sideways is not valid state."
    );
    let r = s
        .run(
            Method::POST,
            &format!("/nodes/{nid}/state"),
            Some(st("online")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Tags.
    let r = s
        .post(
            &format!("/nodes/{nid}/tags"),
            json!({"change_type": "update", "tags": {"a": "1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"a": "1", "rack": "7"}));
    let r = s
        .post(
            &format!("/nodes/{nid}/tags"),
            json!({"change_type": "delete", "tags": {"rack": ""}}),
        )
        .await;
    assert_eq!(r.json(), json!({"a": "1"}));
    let r = s
        .post(
            &format!("/nodes/{nid}/tags"),
            json!({"change_type": "set", "tags": {}}),
        )
        .await;
    assert_eq!(r.json(), json!({}));
    let r = s
        .post(
            &format!("/nodes/{nid}/tags"),
            json!({"change_type": "merge", "tags": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .post(
            &format!("/nodes/{nid}/tags"),
            json!({"change_type": "set", "tags": {"bad key!": "x"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Delete: refused with devices, fine without.
    s.add_device(&nid, "/dev/sdb").await;
    let r = s.delete(&format!("/nodes/{nid}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.text(),
        format!("Unable to delete node [{nid}] because it contains devices")
    );
    let r = s.run(Method::DELETE, &format!("/nodes/{n3}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/nodes/{n3}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Its hostname is free again.
    s.add_node(&c, "n3", 2).await;
}

#[tokio::test]
async fn devices() {
    let s = TestServer::start().await;
    let c = s.create_cluster().await;
    let n = s.add_node(&c, "10.0.0.1", 1).await;
    let d = s.add_device(&n, "/dev/sdb").await;
    let info = s.get(&format!("/devices/{d}")).await.json();
    assert_eq!(info["storage"]["total"], 500 * GIB);
    assert_eq!(info["storage"]["free"], 500 * GIB);
    assert_eq!(info["state"], "online");
    assert_eq!(info["bricks"], json!([]));
    assert_eq!(info["paths"], json!(["/dev/sdb"]));

    let r = s.post("/devices", json!({"node": n, "name": "sdb"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text(),
        "validation failed: name: must be in a valid format."
    );
    let r = s
        .post(
            "/devices",
            json!({"node": "d".repeat(32), "name": "/dev/sdc"}),
        )
        .await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::NOT_FOUND, "Node id does not exist")
    );
    let r = s
        .post("/devices", json!({"node": n, "name": "/dev/sdb"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("already added"), "{}", r.body);

    // A failing device setup leaves nothing behind.
    s.mock.fail(MockOp::DeviceSetup, None, Some(1));
    let r = s
        .run(
            Method::POST,
            "/devices",
            Some(json!({"node": n, "name": "/dev/sdc"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let node = s.get(&format!("/nodes/{n}")).await.json();
    assert_eq!(node["devices"].as_array().unwrap().len(), 1);
    // The same name can then be added.
    s.add_device(&n, "/dev/sdc").await;

    // Delete needs state failed.
    let r = s.delete(&format!("/devices/{d}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.text(), format!("device: {d} is not in failed state"));
    let st = |state: &str| Some(json!({"state": state}));
    let r = s
        .run(Method::POST, &format!("/devices/{d}/state"), st("failed"))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.text(),
        format!("Device must be offline before remove operation is performed, device:{d}")
    );
    assert_eq!(
        s.run(Method::POST, &format!("/devices/{d}/state"), st("offline"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.run(Method::POST, &format!("/devices/{d}/state"), st("failed"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = s
        .run(Method::POST, &format!("/devices/{d}/state"), st("online"))
        .await;
    assert_eq!(
        r.text(),
        "Cannot move a failed/removed device to online state"
    );
    let r = s
        .run(Method::GET, &format!("/devices/{d}/resync"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .post(
            &format!("/devices/{d}/tags"),
            json!({"change_type": "set", "tags": {"disk": "ssd"}}),
        )
        .await;
    assert_eq!(r.json(), json!({"disk": "ssd"}));
    let r = s.run(Method::DELETE, &format!("/devices/{d}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/devices/{d}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = s
        .raw(Method::DELETE, &format!("/devices/{d}"), Some("{bad"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn volume_lifecycle() {
    let s = TestServer::start().await;
    let c = s.topology(3, 3, 1).await;
    let v = s
        .create_volume_ok(json!({"size": 10, "durability": {"type": "replicate", "replicate": {"replica": 3}}, "gid": 2001, "glustervolumeoptions": ["performance.quick-read off"]}))
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["name"], format!("vol_{id}"));
    assert_eq!(v["size"], 10);
    assert_eq!(v["cluster"], c);
    assert_eq!(v["gid"], 2001);
    assert_eq!(
        v["durability"],
        json!({"type": "replicate", "replicate": {"replica": 3}, "disperse": {}})
    );
    assert_eq!(
        v["glustervolumeoptions"],
        json!(["", "performance.quick-read off", ""])
    );
    assert_eq!(v["snapshot"], json!({"enable": false, "factor": 1}));
    assert_eq!(v["blockinfo"], json!({}));
    let hosts = v["mount"]["glusterfs"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(
        v["mount"]["glusterfs"]["device"],
        format!("{}:vol_{id}", hosts[0].as_str().unwrap())
    );
    assert_eq!(
        v["mount"]["glusterfs"]["options"]["backup-volfile-servers"],
        format!(
            "{},{}",
            hosts[1].as_str().unwrap(),
            hosts[2].as_str().unwrap()
        )
    );
    let bricks = v["bricks"].as_array().unwrap();
    assert_eq!(bricks.len(), 3);
    let ids: Vec<&str> = bricks.iter().map(|b| b["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "bricks sorted by id");
    let nodes: std::collections::HashSet<&str> =
        bricks.iter().map(|b| b["node"].as_str().unwrap()).collect();
    assert_eq!(nodes.len(), 3, "replica set on distinct nodes");
    for b in bricks {
        assert_eq!(b["size"], 10 * GIB);
        let dev = s
            .get(&format!("/devices/{}", b["device"].as_str().unwrap()))
            .await
            .json();
        // 10 GiB brick: thin pool 10485760 + metadata 53248 KiB (heketi's worked example).
        assert_eq!(dev["storage"]["used"], 10485760 + 53248);
        assert_eq!(
            b["path"],
            format!(
                "/var/lib/heketi/mounts/vg_{}/brick_{}/brick",
                b["device"].as_str().unwrap(),
                b["id"].as_str().unwrap()
            )
        );
    }
    assert_eq!(s.get("/volumes").await.json(), json!({"volumes": [id]}));
    assert_eq!(
        s.get(&format!("/clusters/{c}")).await.json()["volumes"],
        json!([id])
    );

    // Expand.
    let r = s
        .run(
            Method::POST,
            &format!("/volumes/{id}/expand"),
            Some(json!({"expand_size": 5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        Some(format!("/volumes/{id}").as_str())
    );
    let v2 = s.get(&format!("/volumes/{id}")).await.json();
    assert_eq!(v2["size"], 15);
    assert_eq!(v2["bricks"].as_array().unwrap().len(), 6);
    let r = s
        .post(&format!("/volumes/{id}/expand"), json!({"expand_size": 0}))
        .await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::BAD_REQUEST,
            "validation failed: expand_size: cannot be blank."
        )
    );
    let r = s
        .post(
            &format!("/volumes/{}/expand", "e".repeat(32)),
            json!({"expand_size": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Clone.
    let r = s
        .run(
            Method::POST,
            &format!("/volumes/{id}/clone"),
            Some(json!({"name": "myclone"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let clone = s.get(r.header("location").unwrap()).await.json();
    assert_eq!(clone["name"], "myclone");
    assert_eq!(clone["size"], 15);
    let r = s
        .post(&format!("/volumes/{id}/clone"), json!({"name": "bad name"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .post(
            &format!("/volumes/{id}/block-restriction"),
            json!({"restriction": "locked"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().starts_with("Failed to set block restriction"));

    // Delete; a second delete is 404 "Id not found" (what newer provisioners expect).
    let r = s.run(Method::DELETE, &format!("/volumes/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s.delete(&format!("/volumes/{id}")).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::NOT_FOUND, "Id not found")
    );
    assert_eq!(
        s.get(&format!("/volumes/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let clone_id = clone["id"].as_str().unwrap();
    assert_eq!(
        s.run(Method::DELETE, &format!("/volumes/{clone_id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // All space is back.
    for d in all_devices(&s).await {
        assert_eq!(d["storage"]["used"], 0, "{d}");
        assert_eq!(d["storage"]["free"], d["storage"]["total"]);
    }
}

async fn all_devices(s: &TestServer) -> Vec<serde_json::Value> {
    let t = s.get("/topology").await.json();
    let mut out = vec![];
    for c in t["clusters"].as_array().unwrap() {
        for n in c["nodes"].as_array().unwrap() {
            out.extend(n["devices"].as_array().unwrap().iter().cloned());
        }
    }
    out
}

#[tokio::test]
async fn volume_create_errors_change_nothing() {
    let s = TestServer::start().await;
    let r = s.post("/volumes", json!({"size": 1})).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::BAD_REQUEST, "No clusters configured")
    );
    let c = s.topology(3, 1, 1).await;
    let cases = [
        (
            json!({"size": 0}),
            StatusCode::BAD_REQUEST,
            "validation failed: size: cannot be blank.",
        ),
        (
            json!({"size": 1, "name": "a b"}),
            StatusCode::BAD_REQUEST,
            "validation failed: name: must be in a valid format.",
        ),
        (
            json!({"size": 1, "gid": -1}),
            StatusCode::BAD_REQUEST,
            "Bad group id less than zero",
        ),
        (
            json!({"size": 1, "durability": {"type": "raid"}}),
            StatusCode::BAD_REQUEST,
            "Unknown durability type",
        ),
        (
            json!({"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 5}}}),
            StatusCode::BAD_REQUEST,
            "Invalid replica value",
        ),
        (
            json!({"size": 1, "durability": {"type": "disperse", "disperse": {"data": 3, "redundancy": 1}}}),
            StatusCode::BAD_REQUEST,
            "Invalid dispersion combination: 3+1",
        ),
        (
            json!({"size": 1, "snapshot": {"enable": true, "factor": 0}}),
            StatusCode::BAD_REQUEST,
            "Invalid snapshot factor",
        ),
        (
            json!({"size": 1, "clusters": ["f".repeat(32)]}),
            StatusCode::BAD_REQUEST,
            &*format!("Cluster id {} not found", "f".repeat(32)),
        ),
        (
            json!({"size": 1, "glustervolumeoptions": ["x;reboot y"]}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            json!({"size": "1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "request unable to be parsed",
        ),
    ];
    for (body, status, text) in cases {
        let r = s.post("/volumes", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        if !text.is_empty() {
            assert_eq!(r.text(), text, "{body}");
        }
    }
    // No space: 3 devices of 500 GiB cannot hold 600 GiB replica 3 bricks.
    let r = s
        .post(
            "/volumes",
            json!({"size": 600, "durability": {"type": "replicate", "replicate": {"replica": 3}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.text()
            .starts_with("Failed to allocate new volume: No space"),
        "{}",
        r.body
    );
    // Name taken.
    s.create_volume_ok(json!({"size": 1, "name": "dup"})).await;
    let r = s.post("/volumes", json!({"size": 1, "name": "dup"})).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.text(),
        "Failed to allocate new volume: Volume name 'dup' already in use"
    );
    // Cluster that takes no file volumes.
    s.post(
        &format!("/clusters/{c}/flags"),
        json!({"block": true, "file": false}),
    )
    .await;
    let r = s.post("/volumes", json!({"size": 1})).await;
    assert_eq!(
        r.text(),
        "Failed to allocate new volume: Cluster does not support requested volume type"
    );
    assert_eq!(
        s.get("/volumes").await.json()["volumes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.get("/operations").await.json()["total"], 0);
}

#[tokio::test]
async fn failing_node_commands_roll_back_and_release_space() {
    let s = TestServer::start().await;
    s.topology(3, 3, 2).await;
    // Every brick create fails: 1 try + 4 retries, then the create fails and frees all.
    s.mock.fail(MockOp::BrickCreate, None, None);
    let r = s
        .create_volume(
            json!({"size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().contains("injected failure"), "{}", r.body);
    s.mock.clear_failures();
    // The gluster volume create fails twice; retries on fresh placements succeed.
    s.mock.fail(MockOp::VolumeCreate, None, Some(2));
    let v = s
        .create_volume_ok(
            json!({"size": 5, "durability": {"type": "replicate", "replicate": {"replica": 3}}}),
        )
        .await;
    let used: u64 = all_devices(&s)
        .await
        .iter()
        .map(|d| d["storage"]["used"].as_u64().unwrap())
        .sum();
    assert_eq!(
        used,
        3 * (5 * GIB + 28672),
        "only the final bricks hold space"
    );
    // A delete whose node is down: clear error, the volume stays and can be deleted later.
    let id = v["id"].as_str().unwrap();
    let host = s
        .get(&format!(
            "/nodes/{}",
            v["bricks"][0]["node"].as_str().unwrap()
        ))
        .await
        .json()["hostnames"]["manage"][0]
        .as_str()
        .unwrap()
        .to_string();
    s.mock.fail(MockOp::GlusterdCheck, Some(&host), Some(1));
    let r = s.run(Method::DELETE, &format!("/volumes/{id}"), None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.text()
            .starts_with(&format!("Unable to delete volume vol_{id}")),
        "{}",
        r.body
    );
    assert!(r.text().contains(&host), "names the node: {}", r.body);
    assert_eq!(
        s.get(&format!("/volumes/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.run(Method::DELETE, &format!("/volumes/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let used: u64 = all_devices(&s)
        .await
        .iter()
        .map(|d| d["storage"]["used"].as_u64().unwrap())
        .sum();
    assert_eq!(used, 0);
    assert_eq!(s.get("/operations").await.json()["total"], 0);
}

#[tokio::test]
async fn device_remove_moves_bricks() {
    let s = TestServer::start().await;
    s.topology(4, 4, 1).await;
    let v = s
        .create_volume_ok(
            json!({"size": 2, "durability": {"type": "replicate", "replicate": {"replica": 3}}}),
        )
        .await;
    let b0 = &v["bricks"][0];
    let dev = b0["device"].as_str().unwrap();
    let st = |x: &str| Some(json!({"state": x}));
    assert_eq!(
        s.run(
            Method::POST,
            &format!("/devices/{dev}/state"),
            st("offline")
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let r = s
        .run(Method::POST, &format!("/devices/{dev}/state"), st("failed"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let d = s.get(&format!("/devices/{dev}")).await.json();
    assert_eq!(d["state"], "failed");
    assert_eq!(d["bricks"], json!([]));
    assert_eq!(d["storage"]["used"], 0);
    let v2 = s
        .get(&format!("/volumes/{}", v["id"].as_str().unwrap()))
        .await
        .json();
    let bricks = v2["bricks"].as_array().unwrap();
    assert_eq!(bricks.len(), 3);
    let nodes: std::collections::HashSet<&str> =
        bricks.iter().map(|b| b["node"].as_str().unwrap()).collect();
    assert_eq!(nodes.len(), 3);
    assert!(bricks.iter().all(|b| b["device"] != dev));
}

#[tokio::test]
async fn queue_protocol() {
    let s = TestServer::start().await;
    let r = s.get(&format!("/queue/{}", "a".repeat(32))).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::NOT_FOUND, "Id not found")
    );
    let c = s.create_cluster().await;
    s.add_node(&c, "n1", 1).await;
    // The second node's peer probe runs in the background and is held.
    s.mock.set_delay(std::time::Duration::from_millis(1500));
    let r = s.post("/nodes", json!({"zone": 1, "cluster": c, "hostnames": {"manage": ["n2"], "storage": ["10.0.0.2"]}})).await;
    let loc = r.header("location").unwrap().to_string();
    let p = s.get(&loc).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.header("X-Pending"), Some("true"));
    assert_eq!(p.body, "");
    s.mock.set_delay(std::time::Duration::ZERO);
    let done = s.wait(&loc).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // The outcome stays answerable (heqet keeps it; see README compatibility notes).
    assert_eq!(s.get(&loc).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn admin_mode_logging_operations_db() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/admin").await.json(), json!({"state": "normal"}));
    let r = s.post("/admin", json!({"state": "read-only"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s.post("/clusters", json!({})).await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service disabled for maintenance"
        )
    );
    assert_eq!(s.get("/clusters").await.status, StatusCode::OK);
    assert_eq!(s.get("/hello").await.status, StatusCode::OK);
    // heketi: read-only also blocks POST /admin.
    assert_eq!(
        s.post("/admin", json!({"state": "normal"})).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let s = TestServer::start().await;
    assert_eq!(
        s.post("/admin", json!({"state": "local-client"}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // The test client is on loopback, so it may still write.
    assert_eq!(
        s.post("/clusters", json!({})).await.status,
        StatusCode::CREATED
    );
    let r = s.raw(Method::POST, "/admin", Some("{")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().starts_with("request unable to be parsed: "));
    let r = s.post("/admin", json!({"state": "off"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        s.get("/internal/logging").await.json(),
        json!({"loglevel": {"glusterfs": "info"}})
    );
    let r = s
        .post(
            "/internal/logging",
            json!({"loglevel": {"glusterfs": "debug"}}),
        )
        .await;
    assert_eq!(r.json(), json!({"loglevel": {"glusterfs": "debug"}}));
    let r = s
        .post("/internal/logging", json!({"loglevel": {"other": "debug"}}))
        .await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only \"glusterfs\" logger may be modified"
        )
    );
    let r = s
        .post(
            "/internal/logging",
            json!({"loglevel": {"glusterfs": "loud"}}),
        )
        .await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid log level: loud")
    );

    assert_eq!(
        s.get("/operations").await.json(),
        json!({"total":0,"in_flight":0,"stale":0,"failed":0,"new":0})
    );
    assert_eq!(
        s.get("/operations/pending").await.json(),
        json!({"pendingoperations": []})
    );
    let r = s
        .get(&format!("/operations/pending/{}", "a".repeat(32)))
        .await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::NOT_FOUND,
            format!("Id not found: {}", "a".repeat(32)).as_str()
        )
    );
    let r = s
        .run(Method::POST, "/operations/pending/cleanup", Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .post(
            "/operations/pending/cleanup",
            json!({"operations": ["nope"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    s.topology(3, 1, 1).await;
    s.create_volume_ok(json!({"size": 1})).await;
    let dump = s.get("/db/dump").await;
    assert_eq!(dump.status, StatusCode::OK);
    assert!(
        dump.body.contains("\n    \"brickentries\""),
        "4-space indent"
    );
    let d = dump.json();
    for k in [
        "clusterentries",
        "volumeentries",
        "brickentries",
        "nodeentries",
        "deviceentries",
        "blockvolumeentries",
        "dbattributeentries",
        "pendingoperations",
    ] {
        assert!(d[k].is_object(), "{k}");
    }
    assert_eq!(
        d["brickentries"].as_object().unwrap().len(),
        1,
        "a 1 GiB distribute volume has one brick"
    );
    let check = s.get("/db/check").await.json();
    assert_eq!(check["totalinconsistencies"], 0, "{check}");
    let backup = s.get("/backup/db").await;
    assert_eq!(
        backup.header("content-type"),
        Some("application/octet-stream")
    );
    let m = s.get("/metrics").await;
    assert!(m.body.contains("heketi_up 1"));
    assert!(m.body.contains("heketi_volumes_count{cluster="));
    assert!(m.body.contains("heketi_device_brick_count{"));
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let s = TestServer::start().await;
    let big = format!(
        "{{\"block\":true,\"pad\":\"{}\"}}",
        "x".repeat(5 * 1024 * 1024)
    );
    let r = s.raw(Method::POST, "/clusters", Some(&big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(s.get("/clusters").await.json()["clusters"], json!([]));
}

/// `GET /topology` is rendered by SQLite; it must equal what the per-object routes say,
/// including every omit-when-empty rule.
#[tokio::test]
async fn topology_matches_the_object_routes() {
    let s = TestServer::start().await;
    let c = s.topology(3, 2, 2).await;
    let empty = s.create_cluster().await;
    let n0 = s.get(&format!("/clusters/{c}")).await.json()["nodes"][0]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        &format!("/nodes/{n0}/tags"),
        json!({"change_type": "set", "tags": {"rack": "r\"1"}}),
    )
    .await;
    let d0 = s.get(&format!("/nodes/{n0}")).await.json()["devices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        &format!("/devices/{d0}/tags"),
        json!({"change_type": "set", "tags": {"disk": "ssd"}}),
    )
    .await;
    s.create_volume_ok(json!({"size": 3, "durability": {"type": "replicate", "replicate": {"replica": 3}}, "gid": 4000,
        "snapshot": {"enable": true, "factor": 1.2}, "glustervolumeoptions": ["performance.quick-read off"]})).await;
    s.create_volume_ok(json!({"size": 2, "durability": {"type": "disperse", "disperse": {"data": 2, "redundancy": 1}}, "block": true})).await;
    s.create_volume_ok(json!({"size": 1, "name": "plain"}))
        .await;
    let topo = s.get("/topology").await.json();
    let mut want_clusters = vec![];
    for cid in s.get("/clusters").await.json()["clusters"]
        .as_array()
        .unwrap()
    {
        let ci = s
            .get(&format!("/clusters/{}", cid.as_str().unwrap()))
            .await
            .json();
        let mut vols = vec![];
        for v in ci["volumes"].as_array().unwrap() {
            vols.push(
                s.get(&format!("/volumes/{}", v.as_str().unwrap()))
                    .await
                    .json(),
            );
        }
        let mut nodes = vec![];
        for n in ci["nodes"].as_array().unwrap() {
            nodes.push(
                s.get(&format!("/nodes/{}", n.as_str().unwrap()))
                    .await
                    .json(),
            );
        }
        want_clusters.push(json!({"volumes": vols, "nodes": nodes, "id": ci["id"], "block": ci["block"], "file": ci["file"]}));
    }
    assert_eq!(topo, json!({"clusters": want_clusters}));
    assert_eq!(topo["clusters"].as_array().unwrap().len(), 2);
    assert!(topo.to_string().contains(&empty));
    assert!(topo.to_string().contains("\"factor\":1.2"), "{topo}");
    // Byte for byte what the serde types (heketi's key order and omit rules) would write.
    let raw = s.get("/topology").await.body;
    let typed: heqet_api::TopologyInfoResponse = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw, format!("{}\n", serde_json::to_string(&typed).unwrap()));
}
