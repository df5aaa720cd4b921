//! The whole command layer over SSH against the real 3-node GlusterFS cluster of
//! `tests/e2e/cluster.sh` (network namespaces, loop disks, the lvm stand-in as lvm_wrapper).
//!
//! Opt-in, because it needs the cluster up (root, ~1 min to build):
//!
//!     tests/e2e/cluster.sh up
//!     cargo test -p heqet-executor --test e2e_cluster -- --ignored --nocapture
//!
//! It reads `tests/e2e/.state/env` (or `$HEQET_E2E_STATE/env`) and fails, saying why, when the
//! cluster is not there. It uses the LAST disk of every node (the harness selftest uses the
//! first) and removes everything it made.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use heqet_api::layout::Layout;
use heqet_executor::commands::{CommandConfig, CommandExecutor};
use heqet_executor::ssh::{SshConfig, SshTransport};
use heqet_executor::transport::{Cmd, Transport};
use heqet_executor::{
    brick_path, BrickAddr, BrickSpec, DeviceRef, DeviceSetup, ExecError, Executor, NodeTarget,
    VolumeSpec,
};

fn state_env() -> HashMap<String, String> {
    let state = std::env::var("HEQET_E2E_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/.state"));
    let file = state.join("env");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Start the cluster first: tests/e2e/cluster.sh up",
            file.display()
        )
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.trim_start().starts_with('#'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// 32 hex chars, unique enough per run.
fn hex_id(tag: u8) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:02x}{:030x}", tag, nanos & ((1u128 << 120) - 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tests/e2e/cluster.sh up; run with --ignored"]
async fn command_layer_on_the_real_cluster() {
    let env = state_env();
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing in the e2e env file"))
    };
    let ssh = SshTransport::new(SshConfig {
        keyfile: get("HEQET_E2E_SSH_KEY").into(),
        user: get("HEQET_E2E_SSH_USER"),
        port: get("HEQET_E2E_SSH_PORT").parse().expect("port"),
        known_hosts: vec![get("HEQET_E2E_SSH_KNOWN_HOSTS").into()],
        ..Default::default()
    })
    .expect("ssh transport");
    let ex = CommandExecutor::new(
        ssh,
        CommandConfig {
            lvm_wrapper: get("HEQET_E2E_LVM_WRAPPER"),
            fstab: get("HEQET_E2E_FSTAB"),
            ..Default::default()
        },
    )
    .expect("executor");
    let count: usize = get("HEQET_E2E_NODE_COUNT").parse().expect("node count");
    let nodes: Vec<NodeTarget> = (1..=count)
        .map(|i| {
            let a = get(&format!("HEQET_E2E_NODE{i}_ADDR"));
            NodeTarget {
                manage: a.clone(),
                storage: a,
            }
        })
        .collect();
    let disks: Vec<String> = (1..=count)
        .map(|i| {
            get(&format!("HEQET_E2E_NODE{i}_DISKS"))
                .split_whitespace()
                .last()
                .expect("disks")
                .to_string()
        })
        .collect();
    let t0 = Instant::now();
    let step = |what: &str| eprintln!("[{:>5.1}s] {what}", t0.elapsed().as_secs_f32());

    step("glusterd check (auto: no systemd on the nodes)");
    for n in &nodes {
        ex.glusterd_check(n).await.expect("glusterd check");
    }
    step("peer probe");
    for n in &nodes[1..] {
        ex.peer_probe(&nodes[0], &n.storage)
            .await
            .expect("peer probe");
    }
    // Peers need a moment to reach "Peer in Cluster".
    tokio::time::sleep(Duration::from_secs(2)).await;

    step("device setup");
    let mut devices = Vec::new();
    for (i, (n, disk)) in nodes.iter().zip(&disks).enumerate() {
        let id = hex_id(0xd0 + i as u8);
        let r = ex
            .device_setup(
                n,
                &DeviceSetup {
                    id: id.clone(),
                    name: disk.clone(),
                    destroydata: false,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("device setup {disk} on {}: {e}", n.manage));
        assert!(r.total_kib > 3 * 1024 * 1024, "{r:?}");
        assert_eq!(r.extent_size_kib, 4096);
        assert!(!r.pv_uuid.is_empty());
        // The same disk again: refused, and named as an LVM PV of our VG.
        let again = ex
            .device_setup(
                n,
                &DeviceSetup {
                    id: hex_id(0xee),
                    name: disk.clone(),
                    destroydata: false,
                },
            )
            .await
            .unwrap_err();
        match &again {
            ExecError::DeviceHasData { found, .. } => {
                assert!(found.contains(&format!("vg_{id}")), "{found}")
            }
            other => panic!("{other}"),
        }
        devices.push(DeviceRef {
            id,
            name: disk.clone(),
            pv_uuid: r.pv_uuid,
            paths: r.paths,
        });
    }

    step("brick create");
    let mut bricks = Vec::new();
    for (i, (n, d)) in nodes.iter().zip(&devices).enumerate() {
        let id = hex_id(0xb0 + i as u8);
        let b = BrickSpec {
            id: id.clone(),
            device_id: d.id.clone(),
            thin_pool: format!("tp_{id}"),
            lv: format!("brick_{id}"),
            size_kib: 1048576,
            tp_size_kib: 1048576,
            pool_metadata_kib: 8192,
            arbiter: false,
            gid: 2000,
            path: brick_path(&d.id, &id),
        };
        ex.brick_create(n, &b)
            .await
            .unwrap_or_else(|e| panic!("brick on {}: {e}", n.manage));
        bricks.push(b);
    }
    let resynced = ex
        .device_resync(&nodes[0], &devices[0])
        .await
        .expect("resync");
    assert!(resynced.used_kib >= 1048576 + 8192, "{resynced:?}");

    step("volume create replica 3");
    let name = format!("vol_{}", hex_id(0x70));
    let spec = VolumeSpec {
        name: name.clone(),
        id: hex_id(0x71),
        layout: Layout::Replicate { replica: 3 },
        bricks: nodes
            .iter()
            .zip(&bricks)
            .map(|(n, b)| BrickAddr {
                host: n.storage.clone(),
                path: b.path.clone(),
            })
            .collect(),
        options: vec![
            ("performance.read-ahead".into(), "off".into()),
            ("user.heqet.test".into(), "a b; $(id) `id` 'q'".into()),
        ],
    };
    let created = ex.volume_create(&nodes[0], &spec).await;
    let info = ex.volume_info(&nodes[0], &name).await;
    let heal = ex.heal_info(&nodes[0], &name).await;

    step("volume destroy, bricks, devices");
    let destroyed = ex.volume_destroy(&nodes[0], &name).await;
    let again = ex.volume_destroy(&nodes[0], &name).await;
    let mut reclaimed = Vec::new();
    for (n, b) in nodes.iter().zip(&bricks) {
        reclaimed.push(ex.brick_destroy(n, b).await);
    }
    let mut torn = Vec::new();
    for (n, d) in nodes.iter().zip(&devices) {
        torn.push(ex.device_teardown(n, d, false).await);
    }
    step("empty GPT is wiped; xfs is refused, then destroyed with destroydata");
    let labels = disk_states(&ex, &nodes[0], &get("HEQET_E2E_NODE1_DISKS")).await;

    step("done");

    // Assert after cleanup so a failure does not leave the shared cluster dirty.
    created.expect("volume create");
    let info = info.expect("volume info");
    assert_eq!(info.bricks, spec.bricks);
    let heal = heal.expect("heal info");
    assert_eq!(heal.bricks.len(), 3, "{heal:?}");
    destroyed.expect("volume destroy");
    again.expect("volume destroy of a missing volume");
    for r in reclaimed {
        assert!(r.expect("brick destroy"), "pool reclaimed");
    }
    for t in torn {
        t.expect("device teardown");
    }
    labels.expect("disk states");
}

/// On the middle disk of a node: an empty GPT label is wiped and set up; an xfs filesystem is
/// refused with its name, and set up with destroydata. Leaves the disk raw.
async fn disk_states(
    ex: &CommandExecutor<SshTransport>,
    node: &NodeTarget,
    disks: &str,
) -> Result<(), String> {
    let list: Vec<&str> = disks.split_whitespace().collect();
    let disk = list[list.len() / 2].to_string();
    let raw = |argv: &[&str]| Cmd::new(argv.iter().copied(), Duration::from_secs(60));
    let sh = |argv: Vec<&str>| {
        let cmd = raw(&argv);
        async move {
            let out = ex
                .transport()
                .run(&node.manage, &cmd)
                .await
                .map_err(|e| e.to_string())?;
            if out.status != 0 {
                return Err(format!("{}: {}", cmd.display(), out.stderr));
            }
            Ok(())
        }
    };
    let setup = |destroydata: bool| DeviceSetup {
        id: hex_id(0xd9),
        name: disk.clone(),
        destroydata,
    };
    let teardown = |id: String| DeviceRef {
        id,
        name: disk.clone(),
        pv_uuid: String::new(),
        paths: vec![disk.clone()],
    };

    sh(vec!["parted", "-s", &disk, "mklabel", "gpt"]).await?;
    let s = setup(false);
    ex.device_setup(node, &s)
        .await
        .map_err(|e| format!("empty GPT: {e}"))?;
    ex.device_teardown(node, &teardown(s.id), false)
        .await
        .map_err(|e| e.to_string())?;

    sh(vec!["mkfs.xfs", "-q", "-f", &disk]).await?;
    match ex.device_setup(node, &setup(false)).await {
        Err(ExecError::DeviceHasData { found, .. }) if found == "xfs filesystem" => {}
        other => return Err(format!("xfs disk: {other:?}")),
    }
    let s = setup(true);
    ex.device_setup(node, &s)
        .await
        .map_err(|e| format!("destroydata: {e}"))?;
    ex.device_teardown(node, &teardown(s.id), false)
        .await
        .map_err(|e| e.to_string())?;
    sh(vec!["wipefs", "--all", &disk]).await
}
