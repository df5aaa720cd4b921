//! END-TO-END, opt-in: the whole command layer over the KUBE transport against the real
//! 3-node GlusterFS cluster of `tests/e2e/cluster.sh`. kube's client talks to the fake API
//! server of `kube_fake` (pods `glusterfs-gnN` labelled `glusterfs-node=10.99.0.N`), whose
//! exec endpoint hands each argv to `cluster.sh exec N …`: device setup, bricks (fstab
//! `/var/lib/heketi/fstab`, the kube default), a replica-3 volume, teardown; and
//! `deploy/glusterfs-start.sh` remounting a brick from the fstab heqet wrote.
//!
//!     cargo test -p heqet-executor --test kube_e2e -- --ignored --nocapture
//!
//! Needs root. Holds the machine's e2e suite lock (`/run/lock/heqet-e2e-suite.lock`, or in
//! `$HEQET_E2E_LOCK_DIR`: the one tests/e2e takes) for its whole run, so it never overlaps
//! another e2e suite; under `cluster.sh run`, which holds it already, it does not wait for it. Uses the cluster if it is up
//! (and leaves it up), else brings it up and down itself. Uses the LAST disk of every node.

mod kube_fake;

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heqet_api::layout::Layout;
use heqet_executor::kube::{kube_executor, KubeExecConfig};
use heqet_executor::{
    brick_path, BrickAddr, BrickSpec, DeviceRef, DeviceSetup, Executor, NodeTarget, VolumeSpec,
};
use kube_fake::{pod, FakeApi, Runner};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn state_dir() -> PathBuf {
    std::env::var("HEQET_E2E_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("tests/e2e/.state"))
}

fn read_env(file: &Path) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(file).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| !k.trim_start().starts_with('#'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect(),
    )
}

/// The suite lock of tests/e2e (flock on the machine-wide lock file), held until dropped;
/// `None` when the process that started this test holds it (`cluster.sh run`).
struct SuiteLock(#[allow(dead_code)] Option<std::fs::File>);

fn suite_lock(wait: Duration) -> SuiteLock {
    let dir = std::env::var_os("HEQET_E2E_LOCK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/lock"));
    let path = dir.join("heqet-e2e-suite.lock");
    if std::env::var_os("HEQET_E2E_SUITE_LOCK_HELD").is_some_and(|held| Path::new(&held) == path) {
        return SuiteLock(None);
    }
    std::fs::create_dir_all(&dir).expect("lock dir");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("lock file");
    let start = Instant::now();
    loop {
        // SAFETY: the fd belongs to `file`, alive for the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return SuiteLock(Some(file));
        }
        assert!(
            start.elapsed() < wait,
            "another e2e run holds {} for more than {wait:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn cluster_sh(args: &[&str]) -> std::process::Output {
    std::process::Command::new(repo().join("tests/e2e/cluster.sh"))
        .args(args)
        .output()
        .expect("cluster.sh")
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
#[ignore = "e2e: needs root and tests/e2e/cluster.sh; run with --ignored"]
async fn kube_transport_on_the_real_cluster() {
    let _lock = suite_lock(Duration::from_secs(900));
    let env_file = state_dir().join("env");
    let brought_up = if read_env(&env_file).is_none() {
        eprintln!("bringing the e2e cluster up");
        let out = cluster_sh(&["up"]);
        assert!(
            out.status.success(),
            "cluster.sh up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        true
    } else {
        false
    };
    let env = read_env(&env_file).expect("env file after up");
    let result = tokio::spawn(scenario(env)).await;
    if brought_up {
        let _ = cluster_sh(&["down"]);
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn scenario(env: HashMap<String, String>) {
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing in the e2e env file"))
    };
    let count: u32 = get("HEQET_E2E_NODE_COUNT").parse().expect("node count");
    let ns = "glusterfs";
    let pods = (1..=count)
        .map(|i| {
            pod(
                ns,
                &format!("glusterfs-gn{i}"),
                &get(&format!("HEQET_E2E_NODE{i}_ADDR")),
                "Running",
                &["glusterfs"],
            )
        })
        .collect();
    let api = FakeApi::start(
        pods,
        Runner::Cluster {
            script: get("HEQET_E2E_CLUSTER_SH").into(),
            nodes: (1..=count)
                .map(|i| (format!("glusterfs-gn{i}"), i))
                .collect(),
        },
    )
    .await;
    let cfg: KubeExecConfig = serde_json::from_value(serde_json::json!({
        "kubeconfig": api.kubeconfig,
        "lvm_wrapper": get("HEQET_E2E_LVM_WRAPPER"),
    }))
    .expect("kubeexec");
    let fstab = cfg.commands.fstab.clone();
    assert_eq!(fstab, "/var/lib/heketi/fstab");
    let ex = kube_executor(cfg).expect("executor");

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

    step("glusterd check + peer probe");
    for n in &nodes {
        ex.glusterd_check(n).await.expect("glusterd check");
    }
    for n in &nodes[1..] {
        ex.peer_probe(&nodes[0], &n.storage)
            .await
            .expect("peer probe");
    }
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
        devices.push(DeviceRef {
            id,
            name: disk.clone(),
            pv_uuid: r.pv_uuid,
            paths: r.paths,
        });
    }

    step("brick create");
    let mut bricks = Vec::new();
    let mut made = Vec::new();
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
        made.push(ex.brick_create(n, &b).await);
        bricks.push(b);
    }

    step("volume create replica 3, info");
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
        options: vec![("user.heqet.test".into(), "a b; $(id) `id` 'q'".into())],
    };
    let all_made = made.iter().all(Result::is_ok);
    let created = if all_made {
        Some(ex.volume_create(&nodes[0], &spec).await)
    } else {
        None
    };
    let info = ex.volume_info(&nodes[0], &name).await;

    step("volume destroy");
    let destroyed = ex.volume_destroy(&nodes[0], &name).await;

    step("glusterfs-start.sh remounts a brick from the fstab heqet wrote");
    // The brick's mount point is the parent of its `brick` dir.
    let mount_point = Path::new(&bricks[0].path)
        .parent()
        .expect("mount point")
        .display()
        .to_string();
    let script = repo()
        .join("deploy/glusterfs-start.sh")
        .display()
        .to_string();
    let remount = if all_made {
        let um = cluster_sh(&["exec", "1", "umount", &mount_point]);
        let replay = cluster_sh(&[
            "exec",
            "1",
            "env",
            &format!("HEQET_FSTAB={fstab}"),
            "HEQET_MOUNT_RETRIES=1",
            "sh",
            &script,
            "mountpoint",
            &mount_point,
        ]);
        Some((um, replay))
    } else {
        None
    };

    step("brick destroy, device teardown");
    let mut reclaimed = Vec::new();
    for (n, b) in nodes.iter().zip(&bricks) {
        reclaimed.push(ex.brick_destroy(n, b).await);
    }
    let mut torn = Vec::new();
    for (n, d) in nodes.iter().zip(&devices) {
        torn.push(ex.device_teardown(n, d, false).await);
    }
    let left = cluster_sh(&["exec", "1", "cat", &fstab]);
    step("done");

    // Assert after cleanup so a failure does not leave the shared cluster dirty.
    for m in made {
        m.expect("brick create");
    }
    created.expect("bricks").expect("volume create");
    assert_eq!(info.expect("volume info").bricks, spec.bricks);
    destroyed.expect("volume destroy");
    let (um, replay) = remount.expect("bricks");
    assert!(
        um.status.success(),
        "umount: {}",
        String::from_utf8_lossy(&um.stderr)
    );
    assert!(
        replay.status.success(),
        "glusterfs-start.sh did not remount {mount_point}: {}{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );
    for r in reclaimed {
        assert!(r.expect("brick destroy"), "pool reclaimed");
    }
    for t in torn {
        t.expect("device teardown");
    }
    let left = String::from_utf8_lossy(&left.stdout).into_owned();
    for b in &bricks {
        assert!(!left.contains(&b.lv), "fstab line of {} left: {left}", b.lv);
    }
    // Every command went through the exec endpoint, each with the timeout prefix.
    let execs = api.execs();
    assert!(execs.len() > 30, "{}", execs.len());
    assert!(execs.iter().all(|e| e.argv[0] == "timeout"));
    eprintln!("{} execs through the fake API", execs.len());
}
