//! The store's own promises, on a real SQLite file: reservations are all-or-nothing, the
//! placement view follows commits and only commits, a brick whose pool outlives it passes its
//! space on, and the synchronous routes' statements do what they say.

use std::collections::HashSet;

use sqlx::types::Json;

use super::*;
use crate::model::*;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("t.db")).await.expect("open");
    (dir, store)
}

/// A cluster with one node and one device of `free` KiB.
async fn world(store: &Store, free: i64) {
    let mut w = store.writer().await;
    let mut tx = w.begin().await.unwrap();
    tx.insert_cluster("c1", true, true).await.unwrap();
    let node = NewNode {
        id: "n1",
        cluster_id: "c1",
        zone: 1,
        manage: &["node1".to_string()],
        storage: &["10.0.0.1".to_string()],
        tags: &Default::default(),
        op_id: "op-node",
    };
    tx.insert_node(&node).await.unwrap().unwrap();
    tx.settle_node("n1").await.unwrap();
    tx.insert_device("d1", "n1", "/dev/sdb", &Default::default(), "op-dev")
        .await
        .unwrap()
        .unwrap();
    let figures = DeviceFigures {
        total: free,
        free,
        used: 0,
        extent_size: 4096,
        pv_uuid: "pv",
        paths: &[],
    };
    tx.complete_device("d1", &figures).await.unwrap();
    tx.commit().await.unwrap();
}

fn volume(id: &str) -> VolumeRow {
    VolumeRow {
        id: id.into(),
        cluster_id: "c1".into(),
        name: format!("vol_{id}"),
        size: 1,
        durability: Json(Default::default()),
        layout: Json(heqet_api::layout::Layout::None),
        gid: 0,
        options: Json(vec![]),
        block: false,
        blockinfo: Json(Default::default()),
        snapshot_enable: false,
        snapshot_factor: 1.0,
        owner: "admin".into(),
        hidden: false,
        pending_op: None,
    }
}

fn brick(id: &str, volume: &str, pool: &str, kib: i64) -> BrickRow {
    BrickRow {
        id: id.into(),
        volume_id: volume.into(),
        device_id: "d1".into(),
        node_id: "n1".into(),
        path: format!("/bricks/{id}"),
        size: kib,
        tp_size: kib,
        pool_metadata_size: 0,
        thin_pool: pool.into(),
        lv: format!("brick_{id}"),
        arbiter: false,
        position: 0,
        pending_op: None,
    }
}

async fn free_in_view(store: &Store) -> u64 {
    let mut w = store.writer().await;
    let cd = w.placement("c1", &HashSet::new()).await.unwrap();
    cd.devices[0].free_kib
}

async fn free_in_db(store: &Store) -> i64 {
    store.read().device_row("d1").await.unwrap().unwrap().free
}

#[tokio::test]
async fn reservations_are_all_or_nothing() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    let mut w = store.writer().await;
    let mut tx = w.begin().await.unwrap();
    tx.insert_volume(&volume("v1")).await.unwrap();
    // 600 + 600 on one device: more than it has, so neither is taken.
    let bricks = [brick("b1", "v1", "tp1", 600), brick("b2", "v1", "tp2", 600)];
    let err = tx.add_bricks(&bricks, true).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    drop(tx);
    drop(w);
    assert_eq!(free_in_db(&store).await, 1000);
    assert!(store
        .read()
        .bricks_of_volume("v1")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_placement_view_follows_commits_only() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    assert_eq!(free_in_view(&store).await, 1000);
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.insert_volume(&volume("v1")).await.unwrap();
        tx.add_bricks(&[brick("b1", "v1", "tp1", 300)], true)
            .await
            .unwrap();
        // Dropped: rolled back.
    }
    assert_eq!(free_in_view(&store).await, 1000);
    assert_eq!(free_in_db(&store).await, 1000);
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.insert_volume(&volume("v1")).await.unwrap();
        tx.add_bricks(&[brick("b1", "v1", "tp1", 300)], true)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(free_in_view(&store).await, 700);
    assert_eq!(free_in_db(&store).await, 700);
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.remove_brick(&brick("b1", "v1", "tp1", 300), true)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(free_in_view(&store).await, 1000);
    assert_eq!(free_in_db(&store).await, 1000);
}

#[tokio::test]
async fn placement_is_read_before_a_transaction_writes() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    let mut w = store.writer().await;
    let mut tx = w.begin().await.unwrap();
    assert!(tx.placement("c1", &HashSet::new()).await.is_ok());
    tx.insert_volume(&volume("v1")).await.unwrap();
    let err = tx.placement("c1", &HashSet::new()).await.err();
    assert!(matches!(err, Some(StoreError::Conflict(_))), "{err:?}");
}

#[tokio::test]
async fn a_brick_whose_pool_outlives_it_passes_its_space_on() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.insert_volume(&volume("origin")).await.unwrap();
        tx.insert_volume(&volume("clone")).await.unwrap();
        tx.add_bricks(&[brick("b1", "origin", "tp1", 400)], true)
            .await
            .unwrap();
        let mut snap = brick("s1", "clone", "tp1", 400);
        snap.tp_size = 0;
        tx.add_bricks(&[snap], false).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(free_in_db(&store).await, 600);
    // The origin goes first; the node keeps the pool for the clone's LV.
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.remove_brick(&brick("b1", "origin", "tp1", 400), false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(free_in_db(&store).await, 600);
    let heir = store.read().brick_row("s1").await.unwrap().unwrap();
    assert_eq!(heir.reserved(), 400);
    // The clone goes; its pool goes with it and the space comes back.
    {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.unwrap();
        tx.remove_brick(&heir, true).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(free_in_db(&store).await, 1000);
    assert_eq!(free_in_view(&store).await, 1000);
}

#[tokio::test]
async fn hostnames_belong_to_one_node() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    let mut w = store.writer().await;
    let mut tx = w.begin().await.unwrap();
    let node = NewNode {
        id: "n2",
        cluster_id: "c1",
        zone: 2,
        manage: &["node2".to_string()],
        storage: &["10.0.0.1".to_string()],
        tags: &Default::default(),
        op_id: "op",
    };
    assert_eq!(tx.insert_node(&node).await.unwrap(), Err("10.0.0.1".into()));
}

#[tokio::test]
async fn cluster_tag_and_queue_statements() {
    let (_d, store) = store().await;
    world(&store, 1000).await;
    let mut w = store.writer().await;
    let mut tx = w.begin().await.unwrap();
    assert_eq!(tx.cluster_contents("c1").await.unwrap(), Some(1));
    assert_eq!(tx.cluster_contents("nope").await.unwrap(), None);
    assert!(tx.set_cluster_flags("c1", false, true).await.unwrap());
    assert!(!tx.set_cluster_flags("nope", false, true).await.unwrap());
    let tags: heqet_api::Tags = [("rack".to_string(), "r1".to_string())].into();
    tx.set_tags(Tagged::Device, "d1", &tags).await.unwrap();
    assert_eq!(tx.tags_of(Tagged::Device, "d1").await.unwrap(), Some(tags));
    assert_eq!(tx.tags_of(Tagged::Node, "d1").await.unwrap(), None);
    for q in ["q1", "q2"] {
        tx.insert_queue(q, Some("op1"), "admin").await.unwrap();
    }
    tx.insert_queue("q3", Some("op2"), "admin").await.unwrap();
    tx.finish_queues_of("op1", &Err("boom".into()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    drop(w);
    let read = store.read();
    for q in ["q1", "q2"] {
        let row = read.queue_row(q).await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.message.as_str()),
            (QueueState::Failed, "boom")
        );
    }
    let row = read.queue_row("q3").await.unwrap().unwrap();
    assert_eq!(row.state, QueueState::Pending);
    assert!(!read.cluster_row("c1").await.unwrap().unwrap().block);
}
