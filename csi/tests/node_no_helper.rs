//! A node without `mount.glusterfs`: the real `heqet-csi` binary in a private mount namespace
//! where `/usr/sbin/mount.glusterfs` is covered by `/dev/null` (so the helper is not a regular
//! file any more), as on a node where the glusterfs client was never installed. Probe and
//! NodeStageVolume must answer FAILED_PRECONDITION naming the package to install.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heqet_csi::proto::csi::v1 as csi;
use tonic::Code;

const HELPER: &str = "/usr/sbin/mount.glusterfs";

/// Kills the plugin when the test ends, however it ends.
struct Plugin(Child);

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_without_helper(dir: &Path) -> Plugin {
    assert!(
        Path::new(HELPER).is_file(),
        "{HELPER} must exist on this machine (the test command installs glusterfs-client): \
         the test hides it to prove the error"
    );
    let kubelet = dir.join("kubelet");
    std::fs::create_dir_all(&kubelet).expect("kubelet dir");
    let script = format!(
        "mount --bind /dev/null {HELPER} && exec \"$0\" --mode node --nodeid n1 \
         --endpoint unix://{sock} --kubelet-dir {kubelet} --mount-context local",
        sock = dir.join("csi.sock").display(),
        kubelet = kubelet.display(),
    );
    let child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .arg(env!("CARGO_BIN_EXE_heqet-csi"))
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare + heqet-csi start (needs root)");
    Plugin(child)
}

async fn connect(sock: &Path, plugin: &mut Plugin) -> tonic::transport::Channel {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = plugin.0.try_wait() {
            panic!("heqet-csi exited early: {status}");
        }
        if sock.exists() {
            if let Ok(ch) = heqet_csi::client::connect(sock).await {
                return ch;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "heqet-csi did not open {} within 30 s",
            sock.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_names_the_package(status: &tonic::Status) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let m = status.message();
    assert!(
        m.contains("mount.glusterfs is not installed on node n1")
            && m.contains("glusterfs-client")
            && m.contains("glusterfs-fuse"),
        "{m}"
    );
}

#[tokio::test]
async fn a_node_without_mount_glusterfs_says_what_to_install() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plugin = start_without_helper(dir.path());
    let channel = connect(&dir.path().join("csi.sock"), &mut plugin).await;

    let probe = csi::identity_client::IdentityClient::new(channel.clone())
        .probe(csi::ProbeRequest {})
        .await
        .expect_err("Probe of a node without the mount helper");
    assert_names_the_package(&probe);

    use csi::volume_capability::{access_mode::Mode, AccessMode, AccessType, MountVolume};
    let staging = dir
        .path()
        .join("kubelet/plugins/kubernetes.io/csi/x/globalmount");
    let context: HashMap<String, String> = [
        ("glustervolume", "vol1"),
        ("glusterserver", "127.0.0.1"),
        ("backupvolfileservers", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let stage = csi::node_client::NodeClient::new(channel)
        .node_stage_volume(csi::NodeStageVolumeRequest {
            volume_id: "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into(),
            staging_target_path: staging.display().to_string(),
            volume_capability: Some(csi::VolumeCapability {
                access_type: Some(AccessType::Mount(MountVolume::default())),
                access_mode: Some(AccessMode {
                    mode: Mode::MultiNodeMultiWriter as i32,
                }),
            }),
            volume_context: context,
            ..Default::default()
        })
        .await
        .expect_err("NodeStageVolume on a node without the mount helper");
    assert_names_the_package(&stage);
    assert!(
        !staging.exists(),
        "nothing is created for a stage that cannot mount"
    );
}
