//! The node service over its real gRPC socket, with real mounts on this machine (the tests run
//! as root). There is no GlusterFS server here: staging a real volume, publishing it and
//! killing its client are the e2e suite's (tests/e2e, scenario csi). What needs a staged
//! volume here gets a tmpfs mounted by the test at the staging path instead; see
//! [`Fixture::stand_in`] for what that stand-in does and does not exercise.
//!
//! Every mount a test makes, and every mount the service makes for it, lies below the test's
//! temporary directory; [`Fixture`]'s drop detaches all of them (`umount -l`), so a failing
//! assertion leaves no mount behind.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heqet_csi::client;
use heqet_csi::controller::context;
use heqet_csi::identity::{AlwaysReady, IdentityService};
use heqet_csi::node::launcher::MountContext;
use heqet_csi::node::mountinfo::{self, MountEntry};
use heqet_csi::node::{NodeConfig, NodeService};
use heqet_csi::proto::csi::v1 as csi;
use heqet_csi::proto::csi::v1::node_client::NodeClient;
use heqet_csi::server::{self, Absent, ServeError};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};

use csi::volume_capability::access_mode::Mode;
use csi::volume_capability::{AccessMode, AccessType, BlockVolume, MountVolume};

const NODE_ID: &str = "heqet-test-node-1";
const VOLUME: &str = "heqet-test-vol";
/// The tmpfs stand-in: its source as mountinfo shows it, and its fixed size.
const STAND_IN_SOURCE: &str = "heqet-node-test";
const STAND_IN_BYTES: u64 = 16 << 20;
const STAND_IN_INODES: u64 = 1000;

/// A node service on a unix socket in a temporary directory, its kubelet dir in the same
/// directory. Dropping it stops the server and lazily unmounts everything below the directory
/// (before the directory itself is removed: `Drop::drop` runs before the fields drop).
struct Fixture {
    /// The temporary directory, canonical (mountinfo shows canonical paths).
    root: PathBuf,
    kubelet: PathBuf,
    client: NodeClient<Channel>,
    channel: Channel,
    socket: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
        let kubelet = root.join("kubelet");
        std::fs::create_dir_all(&kubelet).expect("create the kubelet dir");
        let node = NodeService::new(NodeConfig {
            node_id: NODE_ID.to_string(),
            kubelet_dir: kubelet.clone(),
            mount_context: MountContext::Local,
            client_log_dir: root.join("logs"),
            client_log_level: "INFO".to_string(),
        });
        let endpoint = format!("unix://{}", root.join("csi/csi.sock").display());
        let bound = server::bind(&endpoint)
            .await
            .unwrap_or_else(|e| panic!("bind {endpoint}: {e}"));
        let socket = bound.path().to_path_buf();
        let identity = IdentityService::new("glusterfs.heqet.io", false, AlwaysReady);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(identity, None::<Absent>, Some(node), async {
            let _ = stopped.await;
        }));
        let channel = client::connect(&socket)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
        Fixture {
            root,
            kubelet,
            client: NodeClient::new(channel.clone()),
            channel,
            socket,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    fn c(&self) -> NodeClient<Channel> {
        self.client.clone()
    }

    /// kubelet's staging path of a volume (`plugins/kubernetes.io/csi/<driver>/<hash>/globalmount`).
    fn staging(&self, name: &str) -> PathBuf {
        self.kubelet
            .join("plugins/kubernetes.io/csi/glusterfs.heqet.io")
            .join(name)
            .join("globalmount")
    }

    /// kubelet's target path of a volume in a pod.
    fn target(&self, pod: &str) -> PathBuf {
        self.kubelet
            .join("pods")
            .join(pod)
            .join("volumes/kubernetes.io~csi/pvc-1/mount")
    }

    /// Mounts a 16 MiB, 1000-inode tmpfs at `path` (created first) and returns `path`.
    ///
    /// The stand-in for the glusterfs staging mount, for the bind-mount half of the node
    /// service only. A tmpfs has no glusterfs source (`heqet-node-test`, fstype `tmpfs`), so:
    /// - NodePublishVolume accepts it: publish checks only that something is mounted at the
    ///   staging path and that it answers (stat + statvfs); it never looks at the fstype or
    ///   source, and the volume context is read only to repair a broken staging mount, which a
    ///   tmpfs never is. So publish, its idempotence, read-only binds, unpublish, unstage and
    ///   VolumeCondition of a healthy mount are exercised for real.
    /// - NodeStageVolume does look: an existing mount at the staging path must be glusterfs
    ///   volume `glustervolume` of the context, so staging over the stand-in is refused
    ///   (tested in `stage_refuses_a_foreign_mount_at_the_staging_path`).
    /// - Not exercised here: the glusterfs mount itself, the repair of a broken (ENOTCONN)
    ///   mount and its bind mounts, the "client gone" condition: the e2e suite's.
    fn stand_in(&self, path: &Path) -> PathBuf {
        assert!(
            path.starts_with(&self.root),
            "{} is outside the test dir",
            path.display()
        );
        std::fs::create_dir_all(path).expect("create the stand-in's mount point");
        mount(
            Some(STAND_IN_SOURCE),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(format!("size={STAND_IN_BYTES},nr_inodes={STAND_IN_INODES}").as_str()),
        )
        .unwrap_or_else(|e| panic!("mount tmpfs at {} (needs root): {e}", path.display()));
        path.to_path_buf()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // `umount -l` of every mount below the test dir, the latest first (a bind or a stacked
        // mount comes after what it sits on); repeated in case stacked mounts uncover others.
        for _ in 0..10 {
            let below = mounts_below(&self.root);
            if below.is_empty() {
                return;
            }
            for m in below.iter().rev() {
                if let Err(e) = umount2(&m.mount_point, MntFlags::MNT_DETACH) {
                    eprintln!("umount -l {}: {e}", m.mount_point.display());
                }
            }
        }
        eprintln!(
            "mounts left below {}: {:?}",
            self.root.display(),
            mounts_below(&self.root)
        );
    }
}

fn mount_table() -> Vec<MountEntry> {
    mountinfo::read(Path::new("/proc/self/mountinfo")).expect("read /proc/self/mountinfo")
}

fn mounts_below(root: &Path) -> Vec<MountEntry> {
    mount_table()
        .into_iter()
        .filter(|m| m.mount_point.starts_with(root))
        .collect()
}

/// Every mount whose mount point is exactly `path` (stacked mounts count separately).
fn mounts_at(path: &Path) -> Vec<MountEntry> {
    mount_table()
        .into_iter()
        .filter(|m| m.mount_point == path)
        .collect()
}

fn dev_of(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .dev()
}

fn ok<T>(what: &str, r: Result<tonic::Response<T>, Status>) -> T {
    match r {
        Ok(resp) => resp.into_inner(),
        Err(s) => panic!(
            "{what}: expected success, got {:?}: {}",
            s.code(),
            s.message()
        ),
    }
}

/// The call failed with `code` and a message containing every one of `needles`.
fn fails<T: std::fmt::Debug>(
    what: &str,
    r: Result<tonic::Response<T>, Status>,
    code: Code,
    needles: &[&str],
) -> Status {
    let status = match r {
        Ok(resp) => panic!(
            "{what}: expected {code:?}, got success {:?}",
            resp.get_ref()
        ),
        Err(s) => s,
    };
    assert_eq!(
        status.code(),
        code,
        "{what}: wrong code; message: {}",
        status.message()
    );
    for n in needles {
        assert!(
            status.message().contains(n),
            "{what}: message does not contain {n:?}: {}",
            status.message()
        );
    }
    status
}

fn mount_capability(mode: Mode) -> csi::VolumeCapability {
    csi::VolumeCapability {
        access_mode: Some(AccessMode { mode: mode as i32 }),
        access_type: Some(AccessType::Mount(MountVolume::default())),
    }
}

/// A context heqet-csi's controller would write; its servers are loopback addresses where no
/// glusterd listens (checked by [`nothing_listens_on_glusterd_port`] where it matters).
fn volume_context() -> HashMap<String, String> {
    [
        (context::VOLUME, VOLUME),
        (context::SERVER, "127.0.0.1"),
        (context::BACKUP_SERVERS, "127.0.0.2"),
        (context::VOLUME_TYPE, "replicate:3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn stage_request(staging: &Path) -> csi::NodeStageVolumeRequest {
    csi::NodeStageVolumeRequest {
        volume_id: "vol-1".into(),
        staging_target_path: staging.display().to_string(),
        volume_capability: Some(mount_capability(Mode::MultiNodeMultiWriter)),
        volume_context: volume_context(),
        ..Default::default()
    }
}

fn publish_request(staging: &Path, target: &Path, readonly: bool) -> csi::NodePublishVolumeRequest {
    csi::NodePublishVolumeRequest {
        volume_id: "vol-1".into(),
        staging_target_path: staging.display().to_string(),
        target_path: target.display().to_string(),
        volume_capability: Some(mount_capability(Mode::MultiNodeMultiWriter)),
        readonly,
        volume_context: volume_context(),
        ..Default::default()
    }
}

fn unpublish_request(target: &Path) -> csi::NodeUnpublishVolumeRequest {
    csi::NodeUnpublishVolumeRequest {
        volume_id: "vol-1".into(),
        target_path: target.display().to_string(),
    }
}

fn unstage_request(staging: &Path) -> csi::NodeUnstageVolumeRequest {
    csi::NodeUnstageVolumeRequest {
        volume_id: "vol-1".into(),
        staging_target_path: staging.display().to_string(),
    }
}

fn stats_request(path: &Path) -> csi::NodeGetVolumeStatsRequest {
    csi::NodeGetVolumeStatsRequest {
        volume_id: "vol-1".into(),
        volume_path: path.display().to_string(),
        ..Default::default()
    }
}

/// The unreachable-server test needs 127.0.0.1:24007 and 127.0.0.2:24007 to refuse: a
/// glusterd (or anything else) listening there would make the stage attempt a real mount.
fn nothing_listens_on_glusterd_port() {
    for host in ["127.0.0.1", "127.0.0.2"] {
        let addr: std::net::SocketAddr = format!("{host}:24007").parse().expect("address");
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => panic!(
                "something listens on {addr}: this test needs nothing there (stop glusterd on this machine)"
            ),
            Err(e) => assert_eq!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused,
                "connecting to {addr} should be refused, got: {e}"
            ),
        }
    }
}

#[tokio::test]
async fn node_info_and_capabilities() {
    let f = Fixture::start().await;
    let info = ok(
        "NodeGetInfo",
        f.c().node_get_info(csi::NodeGetInfoRequest {}).await,
    );
    assert_eq!(info.node_id, NODE_ID);
    assert_eq!(info.max_volumes_per_node, 0, "no limit announced");
    assert_eq!(info.accessible_topology, None);

    let caps = ok(
        "NodeGetCapabilities",
        f.c()
            .node_get_capabilities(csi::NodeGetCapabilitiesRequest {})
            .await,
    );
    use csi::node_service_capability::rpc::Type;
    let mut got: Vec<i32> = caps
        .capabilities
        .iter()
        .map(|c| match &c.r#type {
            Some(csi::node_service_capability::Type::Rpc(r)) => r.r#type,
            None => panic!("capability without a type: {caps:?}"),
        })
        .collect();
    got.sort();
    let mut want = vec![
        Type::StageUnstageVolume as i32,
        Type::GetVolumeStats as i32,
        Type::VolumeCondition as i32,
    ];
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn stage_rejects_malformed_requests() {
    let f = Fixture::start().await;
    let staging = f.staging("bad-requests");
    let outside = f.root.join("elsewhere/globalmount");
    let escape = f.kubelet.join("../elsewhere/globalmount");
    let block = csi::VolumeCapability {
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
        access_type: Some(AccessType::Block(BlockVolume {})),
    };
    let ext4 = csi::VolumeCapability {
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
        access_type: Some(AccessType::Mount(MountVolume {
            fs_type: "ext4".into(),
            ..Default::default()
        })),
    };
    let without = |key: &str| {
        let mut r = stage_request(&staging);
        r.volume_context.remove(key);
        r
    };
    let empty = |key: &str| {
        let mut r = stage_request(&staging);
        r.volume_context.insert(key.to_string(), String::new());
        r
    };
    let cases: Vec<(&str, csi::NodeStageVolumeRequest, Vec<String>)> = vec![
        (
            "no volume_id",
            csi::NodeStageVolumeRequest {
                volume_id: String::new(),
                ..stage_request(&staging)
            },
            vec!["volume_id is required".into()],
        ),
        (
            "no staging path",
            csi::NodeStageVolumeRequest {
                staging_target_path: String::new(),
                ..stage_request(&staging)
            },
            vec!["staging_target_path is required".into()],
        ),
        (
            "no capability",
            csi::NodeStageVolumeRequest {
                volume_capability: None,
                ..stage_request(&staging)
            },
            vec!["volume_capability is required".into()],
        ),
        (
            "capability without access type",
            csi::NodeStageVolumeRequest {
                volume_capability: Some(csi::VolumeCapability {
                    access_type: None,
                    ..mount_capability(Mode::SingleNodeWriter)
                }),
                ..stage_request(&staging)
            },
            vec!["volume_capability.access_type is required".into()],
        ),
        (
            "capability without access mode",
            csi::NodeStageVolumeRequest {
                volume_capability: Some(csi::VolumeCapability {
                    access_mode: None,
                    ..mount_capability(Mode::SingleNodeWriter)
                }),
                ..stage_request(&staging)
            },
            vec!["volume_capability.access_mode is required".into()],
        ),
        (
            "block capability",
            csi::NodeStageVolumeRequest {
                volume_capability: Some(block),
                ..stage_request(&staging)
            },
            vec!["raw block access is not supported".into()],
        ),
        (
            "fs_type ext4",
            csi::NodeStageVolumeRequest {
                volume_capability: Some(ext4),
                ..stage_request(&staging)
            },
            vec!["\"ext4\" is not supported".into(), "glusterfs".into()],
        ),
        (
            "staging path outside the kubelet dir",
            stage_request(&outside),
            vec![
                outside.display().to_string(),
                "not below the kubelet root dir".into(),
                f.kubelet.display().to_string(),
                "--kubelet-dir".into(),
            ],
        ),
        (
            "staging path escaping the kubelet dir with ..",
            stage_request(&escape),
            vec![escape.display().to_string(), "--kubelet-dir".into()],
        ),
        (
            "the kubelet dir itself",
            stage_request(&f.kubelet),
            vec![
                "not below the kubelet root dir".into(),
                "--kubelet-dir".into(),
            ],
        ),
        (
            "relative staging path",
            stage_request(Path::new("plugins/x/globalmount")),
            vec![
                "plugins/x/globalmount".into(),
                "staging_target_path must be an absolute path".into(),
            ],
        ),
        (
            "context without glustervolume",
            without(context::VOLUME),
            vec![format!("volume context has no {}", context::VOLUME)],
        ),
        (
            "context without glusterserver",
            without(context::SERVER),
            vec![format!("volume context has no {}", context::SERVER)],
        ),
        (
            "context with an empty glustervolume",
            empty(context::VOLUME),
            vec![format!("volume context has no {}", context::VOLUME)],
        ),
        (
            "context with an empty glusterserver",
            empty(context::SERVER),
            vec![format!("volume context has no {}", context::SERVER)],
        ),
    ];
    for (what, req, needles) in cases {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        fails(
            what,
            f.c().node_stage_volume(req).await,
            Code::InvalidArgument,
            &needles,
        );
        // Refused before anything was done: not even the staging directory was made.
        assert!(
            !staging.exists(),
            "{what}: {} was created",
            staging.display()
        );
        assert!(
            !outside.exists(),
            "{what}: {} was created",
            outside.display()
        );
    }
    assert!(mounts_below(&f.root).is_empty());
}

/// The volfile servers are probed before mount.glusterfs runs, so an unreachable cluster is
/// named (host:port and why) instead of "Mount failed. Check the log file".
///
/// Not tested here: FAILED_PRECONDITION "mount.glusterfs is not installed". The helper is
/// looked up in fixed system directories (launcher.rs HELPER_DIRS), with no way to point the
/// lookup elsewhere, and this machine has glusterfs-client installed.
#[tokio::test]
async fn stage_names_unreachable_servers() {
    nothing_listens_on_glusterd_port();
    let f = Fixture::start().await;
    let staging = f.staging("unreachable");
    let started = Instant::now();
    fails(
        "stage from servers nobody serves",
        f.c().node_stage_volume(stage_request(&staging)).await,
        Code::Unavailable,
        &[
            &format!("no GlusterFS volume server of {VOLUME} can be reached"),
            "127.0.0.1:24007: connection refused",
            "127.0.0.2:24007: connection refused",
            "check that glusterd runs there",
            "firewall lets port 24007",
        ],
    );
    // Refused connections answer at once; the probe's timeout is 3s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        mounts_below(&f.root).is_empty(),
        "{:?}",
        mounts_below(&f.root)
    );
    assert!(
        !f.root.join("logs").exists(),
        "no client was started, so no log dir was made"
    );
}

/// An existing mount at the staging path that is not the volume's glusterfs mount is refused,
/// and left alone.
#[tokio::test]
async fn stage_refuses_a_foreign_mount_at_the_staging_path() {
    let f = Fixture::start().await;
    let staging = f.stand_in(&f.staging("foreign"));
    std::fs::write(staging.join("data"), b"keep me").expect("write into the tmpfs");
    fails(
        "stage over a tmpfs",
        f.c().node_stage_volume(stage_request(&staging)).await,
        Code::InvalidArgument,
        &[
            &staging.display().to_string(),
            &format!("{STAND_IN_SOURCE} (tmpfs) is mounted there, not glusterfs volume {VOLUME}"),
        ],
    );
    let at = mounts_at(&staging);
    assert_eq!(at.len(), 1, "{at:?}");
    assert_eq!(at[0].fstype, "tmpfs");
    assert_eq!(
        std::fs::read(staging.join("data")).expect("the tmpfs still holds its file"),
        b"keep me"
    );
}

#[tokio::test]
async fn publish_requires_a_staged_volume() {
    let f = Fixture::start().await;
    let staging = f.staging("not-staged");
    let target = f.target("pod-not-staged");
    let not_staged = |what: &'static str| {
        let (staging, target) = (staging.clone(), target.clone());
        let mut c = f.c();
        async move {
            fails(
                what,
                c.node_publish_volume(publish_request(&staging, &target, false))
                    .await,
                Code::FailedPrecondition,
                &[
                    &format!("{} is not staged", staging.display()),
                    "NodeStageVolume first",
                ],
            );
            assert!(!target.exists(), "{what}: the target was created");
        }
    };
    // The staging directory does not exist.
    not_staged("publish without a staging dir").await;
    // It exists, but nothing is mounted there.
    std::fs::create_dir_all(&staging).expect("mkdir staging");
    not_staged("publish of an empty staging dir").await;

    // Malformed publishes are refused before the staging mount is looked at.
    let outside = f.root.join("elsewhere/mount");
    let cases: Vec<(&str, csi::NodePublishVolumeRequest, Vec<String>)> = vec![
        (
            "no volume_id",
            csi::NodePublishVolumeRequest {
                volume_id: String::new(),
                ..publish_request(&staging, &target, false)
            },
            vec!["volume_id is required".into()],
        ),
        (
            "no staging path",
            csi::NodePublishVolumeRequest {
                staging_target_path: String::new(),
                ..publish_request(&staging, &target, false)
            },
            vec!["staging_target_path is required".into()],
        ),
        (
            "no target path",
            csi::NodePublishVolumeRequest {
                target_path: String::new(),
                ..publish_request(&staging, &target, false)
            },
            vec!["target_path is required".into()],
        ),
        (
            "target outside the kubelet dir",
            publish_request(&staging, &outside, false),
            vec![
                outside.display().to_string(),
                "target_path is not below the kubelet root dir".into(),
                "--kubelet-dir".into(),
            ],
        ),
        (
            "no capability",
            csi::NodePublishVolumeRequest {
                volume_capability: None,
                ..publish_request(&staging, &target, false)
            },
            vec!["volume_capability is required".into()],
        ),
        (
            "block capability",
            csi::NodePublishVolumeRequest {
                volume_capability: Some(csi::VolumeCapability {
                    access_type: Some(AccessType::Block(BlockVolume {})),
                    ..mount_capability(Mode::SingleNodeWriter)
                }),
                ..publish_request(&staging, &target, false)
            },
            vec!["raw block access is not supported".into()],
        ),
    ];
    for (what, req, needles) in cases {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        fails(
            what,
            f.c().node_publish_volume(req).await,
            Code::InvalidArgument,
            &needles,
        );
        assert!(!target.exists(), "{what}: the target was created");
        assert!(
            !outside.exists(),
            "{what}: {} was created",
            outside.display()
        );
    }
    assert!(mounts_below(&f.root).is_empty());
}

/// The whole life of a publish on the stand-in: publish (target made), idempotent publish,
/// stats, unpublish, unpublish again, unstage, unstage again.
#[tokio::test]
async fn publish_binds_the_staging_mount_and_unpublish_unstage_undo_it() {
    let f = Fixture::start().await;
    let staging = f.stand_in(&f.staging("life"));
    std::fs::write(staging.join("before"), b"staged").expect("write into the tmpfs");
    let target = f.target("pod-life");
    // kubelet makes the pod's volume dir; the target itself (and here its parents) is missing.
    assert!(!target.exists());

    ok(
        "publish",
        f.c()
            .node_publish_volume(publish_request(&staging, &target, false))
            .await,
    );
    assert!(target.is_dir(), "the target dir was created");
    let at = mounts_at(&target);
    assert_eq!(at.len(), 1, "one mount at the target: {at:?}");
    assert_eq!(at[0].fstype, "tmpfs");
    assert_eq!(at[0].source, STAND_IN_SOURCE);
    assert!(!at[0].is_read_only(), "{at:?}");
    assert_eq!(dev_of(&target), dev_of(&staging), "the target is the tmpfs");
    assert_ne!(dev_of(&target), dev_of(&f.kubelet));
    // Both ways through: what is staged shows in the target, what is written through the
    // target lands in the tmpfs.
    assert_eq!(
        std::fs::read(target.join("before")).expect("read through the target"),
        b"staged"
    );
    std::fs::write(target.join("through-target"), vec![7u8; 1 << 20])
        .expect("write 1 MiB through the target");
    assert_eq!(
        std::fs::metadata(staging.join("through-target"))
            .expect("the file is in the tmpfs")
            .len(),
        1 << 20
    );

    // Idempotent: the second publish finds the bind and adds no second mount.
    ok(
        "publish again",
        f.c()
            .node_publish_volume(publish_request(&staging, &target, false))
            .await,
    );
    let again = mounts_at(&target);
    assert_eq!(again.len(), 1, "still one mount at the target: {again:?}");
    assert_eq!(again[0].mount_id, at[0].mount_id, "the same mount");

    // Stats of the published target: the tmpfs's numbers.
    let stats = ok(
        "NodeGetVolumeStats of the target",
        f.c().node_get_volume_stats(stats_request(&target)).await,
    );
    use csi::volume_usage::Unit;
    let usage = |unit: Unit| {
        let found: Vec<&csi::VolumeUsage> = stats
            .usage
            .iter()
            .filter(|u| u.unit == unit as i32)
            .collect();
        assert_eq!(found.len(), 1, "one {unit:?} usage: {:?}", stats.usage);
        *found[0]
    };
    assert_eq!(stats.usage.len(), 2, "{:?}", stats.usage);
    let bytes = usage(Unit::Bytes);
    assert_eq!(bytes.total, STAND_IN_BYTES as i64, "{bytes:?}");
    assert!(
        bytes.used >= 1 << 20 && bytes.used < 2 << 20,
        "1 MiB and a few bytes used: {bytes:?}"
    );
    assert_eq!(bytes.available, bytes.total - bytes.used, "{bytes:?}");
    let inodes = usage(Unit::Inodes);
    assert_eq!(inodes.total, STAND_IN_INODES as i64, "{inodes:?}");
    // The root dir and two files.
    assert!(inodes.used >= 3 && inodes.used < 10, "{inodes:?}");
    assert_eq!(inodes.available + inodes.used, inodes.total, "{inodes:?}");
    let condition = stats.volume_condition.expect("a volume condition");
    assert!(!condition.abnormal, "{condition:?}");
    assert_eq!(condition.message, "mounted and answering");

    // Unpublish: unmounted and the target dir removed; the data stays in the tmpfs.
    ok(
        "unpublish",
        f.c()
            .node_unpublish_volume(unpublish_request(&target))
            .await,
    );
    assert!(mounts_at(&target).is_empty(), "{:?}", mounts_at(&target));
    assert!(!target.exists(), "the target dir was removed");
    assert!(
        target.parent().is_some_and(Path::is_dir),
        "only the target itself is removed"
    );
    assert!(staging.join("through-target").is_file());
    ok(
        "unpublish again",
        f.c()
            .node_unpublish_volume(unpublish_request(&target))
            .await,
    );

    // Unstage: the stand-in is unmounted.
    ok(
        "unstage",
        f.c().node_unstage_volume(unstage_request(&staging)).await,
    );
    assert!(mounts_at(&staging).is_empty(), "{:?}", mounts_at(&staging));
    assert!(
        !staging.join("through-target").exists(),
        "the staging dir no longer shows the tmpfs"
    );
    ok(
        "unstage again",
        f.c().node_unstage_volume(unstage_request(&staging)).await,
    );
    assert!(
        mounts_below(&f.root).is_empty(),
        "{:?}",
        mounts_below(&f.root)
    );
}

#[tokio::test]
async fn read_only_publish_is_a_read_only_bind() {
    let f = Fixture::start().await;
    let staging = f.stand_in(&f.staging("ro"));
    std::fs::write(staging.join("file"), b"data").expect("write into the tmpfs");

    // readonly=true, and a reader-only access mode with readonly=false: both read-only.
    let flag = f.target("pod-ro-flag");
    let mode = f.target("pod-ro-mode");
    ok(
        "publish readonly=true",
        f.c()
            .node_publish_volume(publish_request(&staging, &flag, true))
            .await,
    );
    ok(
        "publish MULTI_NODE_READER_ONLY",
        f.c()
            .node_publish_volume(csi::NodePublishVolumeRequest {
                volume_capability: Some(mount_capability(Mode::MultiNodeReaderOnly)),
                ..publish_request(&staging, &mode, false)
            })
            .await,
    );
    for target in [&flag, &mode] {
        let at = mounts_at(target);
        assert_eq!(at.len(), 1, "{at:?}");
        assert!(at[0].is_read_only(), "a ro mount: {at:?}");
        assert_eq!(dev_of(target), dev_of(&staging));
        assert_eq!(
            std::fs::read(target.join("file")).expect("readable"),
            b"data"
        );
        let err = std::fs::write(target.join("new"), b"x").expect_err("writing must fail");
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EROFS),
            "{}: {err}",
            target.display()
        );
        // Idempotent for a read-only bind too.
        let readonly = *target == flag;
        let mut req = publish_request(&staging, target, readonly);
        if !readonly {
            req.volume_capability = Some(mount_capability(Mode::MultiNodeReaderOnly));
        }
        ok(
            "publish read-only again",
            f.c().node_publish_volume(req).await,
        );
        assert_eq!(mounts_at(target).len(), 1);
    }
    // The same target asked for read-write is a conflict (CSI: ALREADY_EXISTS), left as it is.
    let conflict = f
        .c()
        .node_publish_volume(publish_request(&staging, &flag, false))
        .await
        .expect_err("a read-write publish of a read-only target");
    assert_eq!(conflict.code(), tonic::Code::AlreadyExists, "{conflict:?}");
    assert!(
        conflict.message().contains("already published read-only"),
        "{}",
        conflict.message()
    );
    assert!(mounts_at(&flag)[0].is_read_only());
    // The read-only bind did not make the staging mount read-only.
    std::fs::write(staging.join("still-writable"), b"x").expect("the staging mount stays rw");
    assert!(!mounts_at(&staging)[0].is_read_only());

    for target in [&flag, &mode] {
        ok(
            "unpublish a read-only bind",
            f.c().node_unpublish_volume(unpublish_request(target)).await,
        );
        assert!(!target.exists());
    }
}

/// A target holding some other mount (say a bind of an earlier, since replaced staging mount)
/// is replaced by a bind of the current staging mount.
#[tokio::test]
async fn publish_replaces_another_mount_at_the_target() {
    let f = Fixture::start().await;
    let staging = f.stand_in(&f.staging("replace"));
    std::fs::write(staging.join("current"), b"x").expect("write into the tmpfs");
    let target = f.stand_in(&f.target("pod-replace"));
    std::fs::write(target.join("stale"), b"x").expect("write into the other tmpfs");
    assert_ne!(dev_of(&target), dev_of(&staging));

    ok(
        "publish over another mount",
        f.c()
            .node_publish_volume(publish_request(&staging, &target, false))
            .await,
    );
    assert_eq!(dev_of(&target), dev_of(&staging));
    assert!(target.join("current").is_file());
    assert!(!target.join("stale").exists());
    assert_eq!(mounts_at(&target).len(), 1, "{:?}", mounts_at(&target));
}

#[tokio::test]
async fn unpublish_removes_only_what_it_may() {
    let f = Fixture::start().await;

    // Never published: the target does not exist, or is an empty directory (removed).
    let missing = f.target("pod-never");
    ok(
        "unpublish of a missing target",
        f.c()
            .node_unpublish_volume(unpublish_request(&missing))
            .await,
    );
    let empty = f.target("pod-empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    ok(
        "unpublish of an empty dir",
        f.c().node_unpublish_volume(unpublish_request(&empty)).await,
    );
    assert!(!empty.exists(), "the empty target dir was removed");

    // A non-empty directory that is no mount may be data: never removed.
    let full = f.target("pod-full");
    std::fs::create_dir_all(&full).expect("mkdir");
    std::fs::write(full.join("precious"), b"data").expect("write");
    fails(
        "unpublish of a non-empty plain dir",
        f.c().node_unpublish_volume(unpublish_request(&full)).await,
        Code::Internal,
        &[
            &format!("removing the target directory {}", full.display()),
            "not empty",
        ],
    );
    assert_eq!(
        std::fs::read(full.join("precious")).expect("the file is still there"),
        b"data"
    );

    for (what, req, needles) in [
        (
            "no volume_id",
            csi::NodeUnpublishVolumeRequest {
                volume_id: String::new(),
                ..unpublish_request(&full)
            },
            vec!["volume_id is required".to_string()],
        ),
        (
            "no target path",
            unpublish_request(Path::new("")),
            vec!["target_path is required".to_string()],
        ),
        (
            "target outside the kubelet dir",
            unpublish_request(&f.root.join("logs")),
            vec![
                "not below the kubelet root dir".into(),
                "--kubelet-dir".into(),
            ],
        ),
    ] {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        fails(
            what,
            f.c().node_unpublish_volume(req).await,
            Code::InvalidArgument,
            &needles,
        );
    }
    assert!(full.join("precious").is_file());
}

#[tokio::test]
async fn unstage_without_a_mount_succeeds() {
    let f = Fixture::start().await;
    let missing = f.staging("unstage-missing");
    ok(
        "unstage of a missing staging dir",
        f.c().node_unstage_volume(unstage_request(&missing)).await,
    );
    let plain = f.staging("unstage-plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    std::fs::write(plain.join("file"), b"x").expect("write");
    ok(
        "unstage of a plain staging dir",
        f.c().node_unstage_volume(unstage_request(&plain)).await,
    );
    assert!(plain.join("file").is_file(), "nothing was removed");

    for (what, req, needle) in [
        (
            "no volume_id",
            csi::NodeUnstageVolumeRequest {
                volume_id: String::new(),
                ..unstage_request(&plain)
            },
            "volume_id is required",
        ),
        (
            "no staging path",
            unstage_request(Path::new("")),
            "staging_target_path is required",
        ),
        (
            "staging path outside the kubelet dir",
            unstage_request(&f.root.join("logs")),
            "--kubelet-dir",
        ),
    ] {
        fails(
            what,
            f.c().node_unstage_volume(req).await,
            Code::InvalidArgument,
            &[needle],
        );
    }
}

#[tokio::test]
async fn volume_stats_of_unmounted_and_missing_paths() {
    let f = Fixture::start().await;
    let plain = f.target("pod-plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let stats = ok(
        "NodeGetVolumeStats of a plain dir",
        f.c().node_get_volume_stats(stats_request(&plain)).await,
    );
    assert!(stats.usage.is_empty(), "{:?}", stats.usage);
    let condition = stats.volume_condition.expect("a volume condition");
    assert!(condition.abnormal, "{condition:?}");
    assert_eq!(
        condition.message,
        format!("nothing is mounted at {}", plain.display())
    );

    let missing = f.target("pod-missing");
    fails(
        "NodeGetVolumeStats of a missing path",
        f.c().node_get_volume_stats(stats_request(&missing)).await,
        Code::NotFound,
        &[&format!("{} does not exist", missing.display())],
    );

    for (what, req, needles) in [
        (
            "no volume_id",
            csi::NodeGetVolumeStatsRequest {
                volume_id: String::new(),
                ..stats_request(&plain)
            },
            vec!["volume_id is required".to_string()],
        ),
        (
            "no volume_path",
            stats_request(Path::new("")),
            vec!["volume_path is required".to_string()],
        ),
        // Without the kubelet-dir check, `proc` read as `/proc` and answered with its stats.
        (
            "relative volume_path",
            stats_request(Path::new("proc")),
            vec!["volume_path must be an absolute path".to_string()],
        ),
        (
            "volume_path outside the kubelet dir",
            stats_request(Path::new("/proc")),
            vec![
                "/proc: volume_path is not below the kubelet root dir".to_string(),
                "--kubelet-dir".to_string(),
            ],
        ),
    ] {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        fails(
            what,
            f.c().node_get_volume_stats(req).await,
            Code::InvalidArgument,
            &needles,
        );
    }
}

/// A request message with fields the CSI messages do not have (a newer CSI spec's), and
/// `volume_id` in the tag the Node requests all use for it.
#[derive(Clone, PartialEq, prost::Message)]
struct WithUnknownFields {
    #[prost(string, tag = "1")]
    volume_id: String,
    #[prost(string, tag = "100")]
    from_the_future: String,
    #[prost(int64, tag = "101")]
    number: i64,
    #[prost(bytes = "vec", tag = "102")]
    blob: Vec<u8>,
}

/// Tag 1 (`volume_id`, a string) sent as a varint: not a valid request at all.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireType {
    #[prost(int64, tag = "1")]
    volume_id: i64,
}

/// Sends `msg` to `/csi.v1.Node/<method>` and decodes the answer as `R`.
async fn raw_call<M, R>(
    channel: Channel,
    method: &str,
    msg: M,
) -> Result<tonic::Response<R>, Status>
where
    M: prost::Message + Send + Sync + 'static,
    R: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("not ready: {e}")))?;
    let path = format!("/csi.v1.Node/{method}");
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path).expect("path");
    grpc.unary(
        tonic::Request::new(msg),
        path,
        tonic_prost::ProstCodec::<M, R>::default(),
    )
    .await
}

/// Empty requests, unknown fields, an unknown enum value and an undecodable message: every
/// one is answered with a status (a panicking handler would break the stream off instead),
/// and the server keeps answering.
#[tokio::test]
async fn empty_and_unknown_fields_never_panic() {
    let f = Fixture::start().await;
    let mut c = f.c();

    let required = "volume_id is required";
    fails(
        "empty NodeStageVolume",
        c.node_stage_volume(csi::NodeStageVolumeRequest::default())
            .await,
        Code::InvalidArgument,
        &[required],
    );
    fails(
        "empty NodeUnstageVolume",
        c.node_unstage_volume(csi::NodeUnstageVolumeRequest::default())
            .await,
        Code::InvalidArgument,
        &[required],
    );
    fails(
        "empty NodePublishVolume",
        c.node_publish_volume(csi::NodePublishVolumeRequest::default())
            .await,
        Code::InvalidArgument,
        &[required],
    );
    fails(
        "empty NodeUnpublishVolume",
        c.node_unpublish_volume(csi::NodeUnpublishVolumeRequest::default())
            .await,
        Code::InvalidArgument,
        &[required],
    );
    fails(
        "empty NodeGetVolumeStats",
        c.node_get_volume_stats(csi::NodeGetVolumeStatsRequest::default())
            .await,
        Code::InvalidArgument,
        &[required],
    );
    // EXPAND_VOLUME is not announced: GlusterFS volumes grow on the servers alone.
    fails(
        "empty NodeExpandVolume",
        c.node_expand_volume(csi::NodeExpandVolumeRequest::default())
            .await,
        Code::Unimplemented,
        &[],
    );
    ok(
        "empty NodeGetCapabilities",
        c.node_get_capabilities(csi::NodeGetCapabilitiesRequest::default())
            .await,
    );
    ok(
        "empty NodeGetInfo",
        c.node_get_info(csi::NodeGetInfoRequest::default()).await,
    );

    // Unknown fields are skipped; the known volume_id is read (the next missing field is
    // what the error names).
    let future = || WithUnknownFields {
        volume_id: "vol-1".into(),
        from_the_future: "x".into(),
        number: -1,
        blob: vec![0xff, 0x00, 0x80],
    };
    let channel = || f.channel.clone();
    for (method, needle) in [
        ("NodeStageVolume", "staging_target_path is required"),
        ("NodeUnstageVolume", "staging_target_path is required"),
        ("NodePublishVolume", "staging_target_path is required"),
        ("NodeUnpublishVolume", "target_path is required"),
        ("NodeGetVolumeStats", "volume_path is required"),
    ] {
        // The answers are all empty messages or errors; decoding as Empty suffices.
        fails(
            method,
            raw_call::<_, ()>(channel(), method, future()).await,
            Code::InvalidArgument,
            &[needle],
        );
        fails(
            method,
            raw_call::<_, ()>(channel(), method, WrongWireType { volume_id: 7 }).await,
            Code::Internal,
            &["decode"],
        );
    }

    // An access mode no CSI version defines.
    let staging = f.staging("unknown-mode");
    let target = f.target("pod-unknown-mode");
    fails(
        "publish with access mode 99",
        c.node_publish_volume(csi::NodePublishVolumeRequest {
            volume_capability: Some(csi::VolumeCapability {
                access_mode: Some(AccessMode { mode: 99 }),
                access_type: Some(AccessType::Mount(MountVolume::default())),
            }),
            ..publish_request(&staging, &target, false)
        })
        .await,
        Code::FailedPrecondition,
        &["is not staged"],
    );

    // Still serving, on the old connection and on a new one.
    let info = ok(
        "NodeGetInfo afterwards",
        c.node_get_info(csi::NodeGetInfoRequest {}).await,
    );
    assert_eq!(info.node_id, NODE_ID);
    let fresh = client::connect(&f.socket).await.expect("connect again");
    let info = ok(
        "NodeGetInfo on a new connection",
        NodeClient::new(fresh)
            .node_get_info(csi::NodeGetInfoRequest {})
            .await,
    );
    assert_eq!(info.node_id, NODE_ID);
}
