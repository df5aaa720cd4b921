//! Stop the server with operations in flight, start it again on the same database: nothing
//! is lost, the pending operations are reported, cleanup resolves them, and clients polling
//! across the restart get the real outcome.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use heqet_executor::mock::MockExecutor;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_operations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let mock = Arc::new(MockExecutor::default());
    let mut s =
        TestServer::start_with(dir, common::config(db.parent().unwrap()), mock.clone()).await;
    s.topology(3, 3, 1).await;
    let keep = s.create_volume_ok(json!({"size": 2, "name": "keep"})).await;
    let doomed = s
        .create_volume_ok(json!({"size": 2, "name": "doomed"}))
        .await;

    // Hold node work so operations stay in flight.
    mock.set_delay(Duration::from_secs(30));
    let mut creates = vec![];
    for i in 0..3 {
        let r = s
            .post("/volumes", json!({"size": 1, "name": format!("v{i}")}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        creates.push(r.header("location").unwrap().to_string());
    }
    let r = s
        .delete(&format!("/volumes/{}", doomed["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let delete_loc = r.header("location").unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.get("/operations").await.json()["in_flight"], 4);
    s.stop().await;

    // Second life on the same database, nodes answering again.
    mock.set_delay(Duration::ZERO);
    let dir2 = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let mut s2 =
        TestServer::start_with(dir2, common::config(db.parent().unwrap()), mock.clone()).await;
    let info = s2.get("/operations").await.json();
    assert_eq!(info["total"], 4, "{info}");
    assert_eq!(info["stale"], 4, "{info}");
    let list = s2.get("/operations/pending").await.json();
    let kinds: Vec<&str> = list["pendingoperations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type_name"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "create-volume").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "delete-volume").count(), 1);
    // Polls across the restart: still pending, never a false "Id not found".
    for loc in creates.iter().chain([&delete_loc]) {
        let r = s2.get(loc).await;
        assert_eq!(r.status, StatusCode::OK, "{loc}");
        assert_eq!(r.header("X-Pending"), Some("true"));
    }
    // The finished volume is untouched.
    assert_eq!(
        s2.get(&format!("/volumes/{}", keep["id"].as_str().unwrap()))
            .await
            .status,
        StatusCode::OK
    );

    assert_eq!(
        s2.run(Method::POST, "/operations/pending/cleanup", Some(json!({})))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s2.get("/operations").await.json()["total"], 0);
    for loc in &creates {
        let r = s2.get(loc).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.text().contains("rolled back"), "{}", r.body);
    }
    // The interrupted delete was finished.
    assert_eq!(s2.get(&delete_loc).await.status, StatusCode::NO_CONTENT);
    let vols = s2.get("/volumes").await.json();
    assert_eq!(vols["volumes"], json!([keep["id"]]));
    let check = s2.get("/db/check").await.json();
    assert_eq!(check["totalinconsistencies"], 0, "{check}");
    let topo = s2.get("/topology").await.json();
    let used: u64 = topo["clusters"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["devices"].as_array().unwrap().iter())
        .map(|d| d["storage"]["used"].as_u64().unwrap())
        .sum();
    // Only "keep" holds space: one 2 GiB distribute brick (2097152 + 12288 KiB).
    assert_eq!(used, 2097152 + 12288);
    s2.stop().await;
}
