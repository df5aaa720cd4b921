//! 200 volume creates in parallel on a topology with room for exactly a known number:
//! the count created matches, free space adds up, nothing is allocated twice.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::TestServer;
use heqet_executor::mock::MockExecutor;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_never_overcommit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config(dir.path());
    // 3 nodes x 1 device of 10 GiB. A 1 GiB replica-3 volume reserves 1056768 KiB per
    // device (heketi's worked example), so each device holds exactly 9 bricks.
    let s = Arc::new(TestServer::start_with(dir, cfg, Arc::new(MockExecutor::new(10))).await);
    s.topology(3, 3, 1).await;
    let body = json!({"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}});
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let s = s.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let r = s
                .raw(reqwest::Method::POST, "/volumes", Some(&body.to_string()))
                .await;
            match r.status {
                StatusCode::ACCEPTED => {
                    let done = s.wait(r.header("location").unwrap()).await;
                    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
                    true
                }
                StatusCode::INTERNAL_SERVER_ERROR => {
                    assert!(
                        r.text()
                            .starts_with("Failed to allocate new volume: No space"),
                        "{}",
                        r.body
                    );
                    false
                }
                other => panic!("unexpected {other}: {}", r.body),
            }
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 9);
    let vols = s.get("/volumes").await.json();
    assert_eq!(vols["volumes"].as_array().unwrap().len(), 9);
    let topo = s.get("/topology").await.json();
    let mut brick_ids = HashSet::new();
    for n in topo["clusters"][0]["nodes"].as_array().unwrap() {
        for d in n["devices"].as_array().unwrap() {
            let used = d["storage"]["used"].as_u64().unwrap();
            let free = d["storage"]["free"].as_u64().unwrap();
            assert_eq!(used + free, d["storage"]["total"].as_u64().unwrap());
            let bricks = d["bricks"].as_array().unwrap();
            assert_eq!(used, bricks.len() as u64 * 1056768);
            for b in bricks {
                assert!(
                    brick_ids.insert(b["id"].as_str().unwrap().to_string()),
                    "brick twice"
                );
            }
        }
    }
    assert_eq!(brick_ids.len(), 27);
    let check = s.get("/db/check").await.json();
    assert_eq!(check["totalinconsistencies"], 0, "{check}");
}
