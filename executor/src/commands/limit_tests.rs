//! The one per-host limiter seen from the command layer: every kind of command, and commands
//! sent on the transport directly, draw on one budget per node; nodes do not share budgets.

use std::sync::Arc;
use std::time::Duration;

use super::fake::FakeTransport;
use super::{CommandConfig, CommandExecutor, GlusterdCheck};
use crate::transport::{Cmd, Transport};
use crate::{brick_path, BrickSpec, DeviceRef, ExecResult, Executor, NodeTarget};

const D: &str = "dddddddddddddddddddddddddddddddd";

fn node(host: &str) -> NodeTarget {
    NodeTarget {
        manage: host.into(),
        storage: format!("{host}-storage"),
    }
}

fn brick(i: usize) -> BrickSpec {
    let id = format!("{i:032x}");
    BrickSpec {
        thin_pool: format!("tp_{id}"),
        lv: format!("brick_{id}"),
        size_kib: 1 << 20,
        tp_size_kib: 1 << 20,
        pool_metadata_kib: 8192,
        arbiter: false,
        gid: 0,
        path: brick_path(D, &id),
        device_id: D.into(),
        id,
    }
}

fn device() -> DeviceRef {
    DeviceRef {
        id: D.into(),
        name: "/dev/sdb".into(),
        pv_uuid: String::new(),
        paths: vec![],
    }
}

/// Everything the executor does on one node, plus a raw transport command, all at once.
fn all_kinds(
    ex: &Arc<CommandExecutor<FakeTransport>>,
    host: &'static str,
) -> Vec<tokio::task::JoinHandle<ExecResult<()>>> {
    let mut tasks = Vec::new();
    let mut spawn =
        |f: std::pin::Pin<Box<dyn std::future::Future<Output = ExecResult<()>> + Send>>| {
            tasks.push(tokio::spawn(f));
        };
    for i in 0..3 {
        let e = ex.clone();
        spawn(Box::pin(async move { e.glusterd_check(&node(host)).await }));
        let e = ex.clone();
        spawn(Box::pin(async move {
            e.peer_probe(&node(host), "other-storage").await
        }));
        let e = ex.clone();
        spawn(Box::pin(async move {
            e.brick_create(&node(host), &brick(i)).await
        }));
        let e = ex.clone();
        spawn(Box::pin(async move {
            e.volume_destroy(&node(host), &format!("vol_{i}")).await
        }));
        let e = ex.clone();
        spawn(Box::pin(async move {
            e.device_teardown(&node(host), &device(), true).await
        }));
        let e = ex.clone();
        spawn(Box::pin(async move {
            let cmd = Cmd::new(["true"], Duration::from_secs(5));
            e.transport().run(host, &cmd).await.map(|_| ())
        }));
    }
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_budget_per_node_for_every_kind_of_command() {
    let cfg = CommandConfig {
        glusterd_check: GlusterdCheck::Pidof,
        // Not read by CommandExecutor::new: the transport's limit (2) is the only one.
        max_commands_per_host: 100,
        ..Default::default()
    };
    let ex = Arc::new(
        CommandExecutor::new(FakeTransport::new(2, Duration::from_millis(10)), cfg).unwrap(),
    );
    let mut tasks = all_kinds(&ex, "n1");
    tasks.extend(all_kinds(&ex, "n2"));
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let t = ex.transport();
    let hosts = t.hosts();
    let on = |h: &str| hosts.iter().filter(|x| *x == h).count();
    // Dozens of commands per node (a brick create alone is six), never more than 2 at once.
    assert!(
        on("n1") >= 30 && on("n2") >= 30,
        "{} {}",
        on("n1"),
        on("n2")
    );
    assert_eq!(t.peak("n1"), 2);
    assert_eq!(t.peak("n2"), 2);
    // Both nodes at their limit at the same moment: they do not share permits.
    assert_eq!(t.peak_all(), 4);
}
