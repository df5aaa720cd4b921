//! Engine-level tests: each operation run through the engine with the mock executor and no
//! HTTP, what a rollback did on the (mock) nodes, and a crash at every step of every
//! journaled operation followed by a restart and cleanup, after which store and nodes agree.
//!
//! The crash steps are generated: a clean run of the operation counts the node calls it makes
//! (N), then for every k in 1..=N and both hold points (the k-th call never happened on the
//! node / happened but its answer was lost) a fresh world runs the operation, the k-th call
//! is held, the engine is killed there (its tasks aborted, as a process exit would) and a new
//! engine on the reopened database recovers and cleans up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use heqet_api::{DeviceAddRequest, HostAddresses, NodeAddRequest, VolumeCreateRequest};
use heqet_executor::mock::{HoldPoint, MockCall, MockExecutor, MockOp};
use heqet_server::engine::{Engine, NewVolume};
use heqet_server::model::{EntryState, QueueState};
use heqet_server::store::Store;
use heqet_server::{auth::Role, validate, Config};

const WAIT: Duration = Duration::from_secs(20);

struct World {
    dir: tempfile::TempDir,
    mock: Arc<MockExecutor>,
    engine: Arc<Engine>,
    cluster: String,
    nodes: Vec<String>,
    devices: Vec<String>,
}

fn config(dir: &std::path::Path, retries: u32) -> Arc<Config> {
    let mut c = Config::for_test(&dir.join("heqet.db"));
    c.volume_create_retries = retries;
    Arc::new(c)
}

async fn engine_on(dir: &std::path::Path, mock: &Arc<MockExecutor>, retries: u32) -> Arc<Engine> {
    let cfg = config(dir, retries);
    let store = Store::open(&cfg.db_path).await.expect("open store");
    let engine = Engine::new(Arc::new(store), mock.clone(), cfg);
    engine.recover_on_start().await.expect("recover");
    engine
}

/// Wait for a queue entry to end; returns (state, location or message).
async fn outcome(engine: &Engine, queue_id: &str) -> (QueueState, String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let row = engine
            .store
            .read()
            .queue_row(queue_id)
            .await
            .expect("queue read")
            .expect("queue row");
        if row.state != QueueState::Pending {
            let detail = if row.state == QueueState::Done {
                row.location
            } else {
                row.message
            };
            return (row.state, detail);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue entry {queue_id} still pending"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn done(engine: &Engine, queue_id: &str) -> String {
    let (state, detail) = outcome(engine, queue_id).await;
    assert_eq!(state, QueueState::Done, "operation failed: {detail}");
    detail
}

fn node_req(cluster: &str, i: usize) -> NodeAddRequest {
    NodeAddRequest {
        zone: i as i64 + 1,
        hostnames: HostAddresses {
            manage: vec![format!("node{i}")],
            storage: vec![format!("10.0.0.{}", i + 1)],
        },
        cluster: cluster.to_string(),
        tags: Default::default(),
    }
}

fn device_req(node: &str, name: &str) -> DeviceAddRequest {
    DeviceAddRequest {
        name: name.to_string(),
        node: node.to_string(),
        destroydata: false,
        tags: Default::default(),
    }
}

fn volume(size: i64, name: &str) -> NewVolume {
    let req: VolumeCreateRequest = serde_json::from_value(serde_json::json!({
        "size": size,
        "name": name,
        "durability": {"type": "replicate", "replicate": {"replica": 3}},
    }))
    .expect("request");
    let plan = validate::volume_create(&req).expect("valid request");
    NewVolume {
        req,
        plan,
        owner: Role::Admin,
    }
}

impl World {
    /// A cluster of `nodes` nodes with one device each.
    async fn new(nodes: usize, retries: u32) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let mock = Arc::new(MockExecutor::default());
        let engine = engine_on(dir.path(), &mock, retries).await;
        let cluster = heqet_api::id::new_id();
        {
            let mut w = engine.store.writer().await;
            let mut tx = w.begin().await.expect("begin");
            tx.insert_cluster(&cluster, true, true)
                .await
                .expect("cluster");
            tx.commit().await.expect("commit");
        }
        let mut world = World {
            dir,
            mock,
            engine,
            cluster,
            nodes: Vec::new(),
            devices: Vec::new(),
        };
        for i in 0..nodes {
            let node = world.add_node(i).await;
            world.nodes.push(node.clone());
            let dev = world.add_device(&node, "/dev/sdb").await;
            world.devices.push(dev);
        }
        world
    }

    async fn add_node(&self, i: usize) -> String {
        let q = self
            .engine
            .node_add(node_req(&self.cluster, i))
            .await
            .expect("node add");
        let loc = done(&self.engine, &q).await;
        loc.trim_start_matches("/nodes/").to_string()
    }

    async fn add_device(&self, node: &str, name: &str) -> String {
        let before: BTreeSet<String> = self.device_ids().await;
        let q = self
            .engine
            .device_add(device_req(node, name))
            .await
            .expect("device add");
        done(&self.engine, &q).await;
        let after = self.device_ids().await;
        after
            .difference(&before)
            .next()
            .cloned()
            .expect("new device")
    }

    async fn device_ids(&self) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for n in self.engine.store.read().nodes(None).await.expect("nodes") {
            for d in self
                .engine
                .store
                .read()
                .devices_of_node(&n.id)
                .await
                .expect("devices")
            {
                ids.insert(d.id);
            }
        }
        ids
    }

    async fn create_volume(&self, size: i64, name: &str) -> String {
        let q = self
            .engine
            .volume_create(volume(size, name))
            .await
            .expect("volume create");
        done(&self.engine, &q)
            .await
            .trim_start_matches("/volumes/")
            .to_string()
    }

    /// Kill the engine where it stands and start a new one on the reopened database, then
    /// clean up what the old one left.
    async fn crash_and_recover(&mut self) {
        self.engine.abort_all();
        // Let aborted tasks drop their hold on the store before it is reopened.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.engine = engine_on(self.dir.path(), &self.mock, 0).await;
        self.engine.cleanup(&[]).await.expect("cleanup");
    }

    /// Store and nodes tell the same story, and nothing is left half done.
    async fn assert_consistent(&self, context: &str) {
        let read = self.engine.store.read();
        let check = read.db_check().await.expect("db check");
        assert_eq!(check["totalinconsistencies"], 0, "{context}: {check:#}");
        for section in ["nodes", "devices", "volumes", "bricks", "pendingoperations"] {
            assert_eq!(
                check[section]["pending"], 0,
                "{context}: {section} pending: {check:#}"
            );
        }
        let ops = read.operation_rows().await.expect("operations");
        assert!(ops.is_empty(), "{context}: journal not empty: {ops:?}");

        let nodes = read.nodes(None).await.expect("nodes");
        let mut store_bricks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut store_devices: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for n in &nodes {
            let host = n.manage_host().to_string();
            for d in read.devices_of_node(&n.id).await.expect("devices") {
                store_devices
                    .entry(host.clone())
                    .or_default()
                    .insert(d.id.clone());
                for b in read.bricks_of_device(&d.id).await.expect("bricks") {
                    // Clone bricks are known to the nodes by their LV name.
                    let key = if b.path.starts_with("/run/gluster/snaps/") {
                        b.lv.clone()
                    } else {
                        b.id.clone()
                    };
                    store_bricks.entry(host.clone()).or_default().insert(key);
                }
            }
        }
        let mock = self.mock.nodes();
        let mock_bricks: BTreeMap<String, BTreeSet<String>> = mock
            .bricks
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(h, b)| (h.clone(), b.keys().cloned().collect()))
            .collect();
        assert_eq!(store_bricks, mock_bricks, "{context}: bricks differ");
        let mock_devices: BTreeMap<String, BTreeSet<String>> = mock
            .devices
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(h, d)| (h.clone(), d.keys().cloned().collect()))
            .collect();
        assert_eq!(store_devices, mock_devices, "{context}: devices differ");

        // Every volume with its bricks in gluster's order, as `host:path`.
        let storage: BTreeMap<&str, &str> = nodes
            .iter()
            .map(|n| (n.id.as_str(), n.storage_host()))
            .collect();
        let mut store_volumes = BTreeMap::new();
        for id in read.volume_ids().await.expect("volumes") {
            let v = read.volume_row(&id).await.expect("volume").expect("row");
            let bricks: Vec<String> = read
                .bricks_of_volume(&id)
                .await
                .expect("bricks")
                .iter()
                .map(|b| format!("{}:{}", storage[b.node_id.as_str()], b.path))
                .collect();
            store_volumes.insert(v.name, bricks);
        }
        let mock_volumes: BTreeMap<String, Vec<String>> = mock
            .volumes
            .iter()
            .map(|(name, v)| {
                (
                    name.clone(),
                    v.bricks.iter().map(|b| b.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(store_volumes, mock_volumes, "{context}: volumes differ");

        let store_peers: BTreeSet<String> = if nodes.len() > 1 {
            nodes.iter().map(|n| n.storage_host().to_string()).collect()
        } else {
            BTreeSet::new()
        };
        assert_eq!(store_peers, mock.peers, "{context}: peers differ");
    }
}

fn of(calls: &[MockCall], op: MockOp) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.op == op)
        .map(|c| c.subject.clone())
        .collect()
}

// ---------------------------------------------------------------------- single operations

#[tokio::test]
async fn each_operation_runs_to_its_end() {
    let w = World::new(3, 0).await;
    w.assert_consistent("after set-up").await;
    let vol = w.create_volume(10, "v1").await;
    w.assert_consistent("after create").await;
    assert_eq!(w.mock.nodes().volumes.len(), 1);

    let q = w.engine.volume_expand(&vol, 5).await.expect("expand");
    done(&w.engine, &q).await;
    let row = w
        .engine
        .store
        .read()
        .volume_row(&vol)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.size, 15);
    assert_eq!(w.mock.nodes().volumes["v1"].bricks.len(), 6);
    w.assert_consistent("after expand").await;

    let q = w.engine.volume_clone(&vol, "c1").await.expect("clone");
    done(&w.engine, &q).await;
    w.assert_consistent("after clone").await;

    let q = w.engine.volume_delete(&vol).await.expect("delete");
    assert_eq!(done(&w.engine, &q).await, "");
    w.assert_consistent("after delete").await;

    // A device out of service and deleted, then its node.
    let extra = w.add_node(3).await;
    let dev = w.add_device(&extra, "/dev/sdc").await;
    for to in [EntryState::Offline, EntryState::Failed] {
        let q = w.engine.device_state(&dev, to, true).await.expect("state");
        done(&w.engine, &q).await;
    }
    let q = w
        .engine
        .device_delete(&dev, false)
        .await
        .expect("device delete");
    done(&w.engine, &q).await;
    let q = w.engine.node_delete(&extra).await.expect("node delete");
    done(&w.engine, &q).await;
    w.assert_consistent("after device and node delete").await;
}

#[tokio::test]
async fn a_failed_volume_create_destroys_exactly_the_bricks_it_made_in_reverse() {
    let w = World::new(3, 0).await;
    let before = w.mock.nodes();
    w.mock.fail(MockOp::VolumeCreate, None, None);
    w.mock.clear_calls();
    let q = w
        .engine
        .volume_create(volume(10, "v1"))
        .await
        .expect("admitted");
    let (state, msg) = outcome(&w.engine, &q).await;
    assert_eq!(state, QueueState::Failed);
    assert!(!msg.contains("kept for"), "{msg}");
    let calls = w.mock.calls();
    let made = of(&calls, MockOp::BrickCreate);
    let mut destroyed = of(&calls, MockOp::BrickDestroy);
    assert_eq!(made.len(), 3, "{calls:?}");
    destroyed.reverse();
    assert_eq!(
        destroyed, made,
        "undo destroys what was made, last first: {calls:?}"
    );
    assert_eq!(of(&calls, MockOp::VolumeDestroy), vec!["v1".to_string()]);
    assert_eq!(w.mock.nodes(), before);
    w.assert_consistent("after failed create").await;
}

#[tokio::test]
async fn a_brick_that_fails_is_not_destroyed_and_the_others_are() {
    let w = World::new(3, 0).await;
    w.mock.fail(MockOp::BrickCreate, Some("node1"), Some(1));
    w.mock.clear_calls();
    let q = w
        .engine
        .volume_create(volume(10, "v1"))
        .await
        .expect("admitted");
    let (state, _) = outcome(&w.engine, &q).await;
    assert_eq!(state, QueueState::Failed);
    let calls = w.mock.calls();
    let made: BTreeSet<(String, String)> = calls
        .iter()
        .filter(|c| c.op == MockOp::BrickCreate && c.host != "node1")
        .map(|c| (c.host.clone(), c.subject.clone()))
        .collect();
    let destroyed: BTreeSet<(String, String)> = calls
        .iter()
        .filter(|c| c.op == MockOp::BrickDestroy)
        .map(|c| (c.host.clone(), c.subject.clone()))
        .collect();
    assert_eq!(made, destroyed, "{calls:?}");
    assert!(of(&calls, MockOp::VolumeCreate).is_empty());
    w.assert_consistent("after failed brick").await;
}

#[tokio::test]
async fn a_create_the_nodes_refuse_is_retried_on_a_fresh_placement() {
    let w = World::new(4, 1).await;
    w.mock.fail(MockOp::VolumeCreate, None, Some(1));
    let q = w
        .engine
        .volume_create(volume(10, "v1"))
        .await
        .expect("admitted");
    done(&w.engine, &q).await;
    w.assert_consistent("after retried create").await;
}

#[tokio::test]
async fn an_undo_that_fails_keeps_the_journal_entry_until_cleanup() {
    let w = World::new(3, 0).await;
    w.mock.fail(MockOp::VolumeCreate, None, None);
    w.mock.fail(MockOp::BrickDestroy, Some("node0"), Some(1));
    let q = w
        .engine
        .volume_create(volume(10, "v1"))
        .await
        .expect("admitted");
    let (state, msg) = outcome(&w.engine, &q).await;
    assert_eq!(state, QueueState::Failed);
    assert!(msg.contains("server operations cleanup"), "{msg}");
    let ops = w.engine.store.read().operation_rows().await.unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].status.as_str(), "failed");
    w.mock.clear_failures();
    w.engine.cleanup(&[]).await.expect("cleanup");
    w.assert_consistent("after cleanup").await;
}

#[tokio::test]
async fn a_failed_expand_gives_its_bricks_back() {
    let w = World::new(3, 0).await;
    let vol = w.create_volume(10, "v1").await;
    let before = w.mock.nodes();
    w.mock.fail(MockOp::VolumeExpand, None, Some(1));
    let q = w.engine.volume_expand(&vol, 5).await.expect("admitted");
    let (state, msg) = outcome(&w.engine, &q).await;
    assert_eq!(state, QueueState::Failed);
    assert!(msg.starts_with("Failed to expand volume: "), "{msg}");
    assert_eq!(w.mock.nodes(), before);
    let row = w
        .engine
        .store
        .read()
        .volume_row(&vol)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.size, row.pending_op), (10, None));
    w.assert_consistent("after failed expand").await;
}

// ---------------------------------------------------------------------- crash at every step

#[derive(Clone, Copy, Debug)]
enum Scenario {
    VolumeCreate,
    VolumeDelete,
    VolumeExpand,
    VolumeClone,
    DeviceAdd,
    DeviceDelete,
    DeviceRemove,
    NodeAdd,
    NodeDelete,
    BrickEvict,
}

/// What a scenario needs besides the three-node cluster.
struct Prepared {
    volume: Option<String>,
    node: Option<String>,
    device: Option<String>,
    brick: Option<String>,
}

async fn prepare(w: &World, s: Scenario) -> Prepared {
    let mut p = Prepared {
        volume: None,
        node: None,
        device: None,
        brick: None,
    };
    match s {
        Scenario::VolumeDelete | Scenario::VolumeExpand | Scenario::VolumeClone => {
            p.volume = Some(w.create_volume(10, "v1").await);
        }
        Scenario::DeviceAdd => {}
        Scenario::DeviceDelete => {
            let dev = w.add_device(&w.nodes[0], "/dev/sdc").await;
            for to in [EntryState::Offline, EntryState::Failed] {
                let q = w.engine.device_state(&dev, to, true).await.expect("state");
                done(&w.engine, &q).await;
            }
            p.device = Some(dev);
        }
        Scenario::DeviceRemove => {
            // The volume has a brick on every device of the three nodes; a fourth node takes
            // the brick of the device that is removed.
            w.create_volume(10, "v1").await;
            let extra = w.add_node(3).await;
            w.add_device(&extra, "/dev/sdb").await;
            let dev = w.devices[0].clone();
            let q = w
                .engine
                .device_state(&dev, EntryState::Offline, true)
                .await
                .expect("offline");
            done(&w.engine, &q).await;
            p.device = Some(dev);
        }
        Scenario::NodeAdd => {}
        Scenario::NodeDelete => p.node = Some(w.add_node(3).await),
        Scenario::BrickEvict => {
            let vol = w.create_volume(10, "v1").await;
            let extra = w.add_node(3).await;
            w.add_device(&extra, "/dev/sdb").await;
            let bricks = w.engine.store.read().bricks_of_volume(&vol).await.unwrap();
            p.brick = bricks.first().map(|b| b.id.clone());
        }
        Scenario::VolumeCreate => {}
    }
    p
}

/// Start the operation (in a task: some node calls happen before it is journaled).
fn start(w: &World, s: Scenario, p: &Prepared) -> tokio::task::JoinHandle<Option<String>> {
    let e = w.engine.clone();
    let cluster = w.cluster.clone();
    let node0 = w.nodes[0].clone();
    let (vol, node, dev) = (p.volume.clone(), p.node.clone(), p.device.clone());
    let brick = p.brick.clone();
    tokio::spawn(async move {
        let r = match s {
            Scenario::VolumeCreate => e.volume_create(volume(10, "v2")).await,
            Scenario::VolumeDelete => e.volume_delete(vol.as_deref().unwrap_or_default()).await,
            Scenario::VolumeExpand => e.volume_expand(vol.as_deref().unwrap_or_default(), 5).await,
            Scenario::VolumeClone => {
                e.volume_clone(vol.as_deref().unwrap_or_default(), "c1")
                    .await
            }
            Scenario::DeviceAdd => e.device_add(device_req(&node0, "/dev/sdd")).await,
            Scenario::DeviceDelete => {
                e.device_delete(dev.as_deref().unwrap_or_default(), false)
                    .await
            }
            Scenario::DeviceRemove => {
                e.device_state(dev.as_deref().unwrap_or_default(), EntryState::Failed, true)
                    .await
            }
            Scenario::NodeAdd => e.node_add(node_req(&cluster, 3)).await,
            Scenario::NodeDelete => e.node_delete(node.as_deref().unwrap_or_default()).await,
            Scenario::BrickEvict => {
                e.brick_evict(brick.as_deref().unwrap_or_default(), true)
                    .await
            }
        };
        r.ok()
    })
}

async fn crash_at_every_step(s: Scenario) {
    // A clean run counts the node calls the operation makes.
    let w = World::new(3, 0).await;
    let p = prepare(&w, s).await;
    let first = w.mock.call_count();
    let q = start(&w, s, &p).await.expect("task").expect("admitted");
    done(&w.engine, &q).await;
    let steps = w.mock.call_count() - first;
    w.assert_consistent(&format!("{s:?} without a crash")).await;
    assert!(steps > 0, "{s:?} made no node call");

    for k in 1..=steps {
        for point in [HoldPoint::Before, HoldPoint::After] {
            let context = format!("{s:?}, crash at call {k}/{steps} ({point:?})");
            let mut w = World::new(3, 0).await;
            let p = prepare(&w, s).await;
            let hold = w.mock.hold(k, point);
            let task = start(&w, s, &p);
            tokio::time::timeout(WAIT, hold.reached())
                .await
                .unwrap_or_else(|_| panic!("{context}: the call was never made"));
            task.abort();
            w.crash_and_recover().await;
            hold.release();
            w.assert_consistent(&context).await;
        }
    }
}

/// One test per journaled operation, so they run in parallel.
macro_rules! crash_tests {
    ($($name:ident: $scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                crash_at_every_step(Scenario::$scenario).await;
            }
        )*
    };
}

crash_tests! {
    crash_during_volume_create: VolumeCreate,
    crash_during_volume_delete: VolumeDelete,
    crash_during_volume_expand: VolumeExpand,
    crash_during_volume_clone: VolumeClone,
    crash_during_device_add: DeviceAdd,
    crash_during_device_delete: DeviceDelete,
    crash_during_device_remove: DeviceRemove,
    crash_during_node_add: NodeAdd,
    crash_during_node_delete: NodeDelete,
    crash_during_brick_evict: BrickEvict,
}
