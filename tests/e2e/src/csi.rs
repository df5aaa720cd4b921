//! The `heqet-csi` binary as the e2e suite runs it: one process in mode `all` on the host
//! (mount context `local`, so the glusterfs clients it starts are the host's), in a process
//! group of its own so `kill9_group` can crash it as a container runtime would, and a
//! blocking gRPC client for it ([`CsiClient`]).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heqet_csi::proto::csi::v1 as csi;
use sha2::{Digest, Sha256};
use tonic::transport::Channel;
use tonic::Status;

use crate::cgroup::PluginCgroup;
use crate::proc::tail;
use crate::{bail, Context, Result};

pub use heqet_csi::identity::DEFAULT_DRIVER_NAME as DRIVER;

/// Path of the `heqet-csi` binary: `$HEQET_E2E_CSI_BIN`, or built like `heqet` is.
pub fn heqet_csi_binary() -> Result<PathBuf> {
    crate::cli::workspace_binary("HEQET_E2E_CSI_BIN", "heqet-csi", "heqet-csi")
}

/// Where kubelet stages a CSI volume: `<kubelet>/plugins/kubernetes.io/csi/<driver>/
/// <sha256(volume handle)>/globalmount` (kubelet >= 1.24).
pub fn staging_path(kubelet: &Path, volume_id: &str) -> PathBuf {
    let hash = hex::encode(Sha256::digest(volume_id.as_bytes()));
    kubelet
        .join("plugins/kubernetes.io/csi")
        .join(DRIVER)
        .join(hash)
        .join("globalmount")
}

/// Where kubelet publishes a CSI volume into a pod:
/// `<kubelet>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv name>/mount`.
pub fn target_path(kubelet: &Path, pod_uid: &str, pv: &str) -> PathBuf {
    kubelet
        .join("pods")
        .join(pod_uid)
        .join("volumes/kubernetes.io~csi")
        .join(pv)
        .join("mount")
}

/// A filesystem volume capability with `mode`.
pub fn mount_capability(mode: csi::volume_capability::access_mode::Mode) -> csi::VolumeCapability {
    csi::VolumeCapability {
        access_mode: Some(csi::volume_capability::AccessMode { mode: mode as i32 }),
        access_type: Some(csi::volume_capability::AccessType::Mount(
            csi::volume_capability::MountVolume::default(),
        )),
    }
}

/// `code: message` of a gRPC status, for reports.
pub fn describe(s: &Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

/// Blocking calls to a CSI socket, over tonic on a runtime of its own (the suite is
/// synchronous). Every call dials the socket afresh, so a restarted plugin is reached
/// without stale connections.
#[derive(Clone)]
pub struct CsiClient {
    socket: PathBuf,
    rt: Arc<tokio::runtime::Runtime>,
    /// Bound on one call (a create waits for heketi's whole create).
    pub timeout: Duration,
}

/// A CSI answer: the generated response type or the plugin's status.
pub type CsiResult<T> = std::result::Result<T, Status>;

impl CsiClient {
    pub fn new(socket: &Path) -> Result<CsiClient> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the gRPC client runtime")?;
        Ok(CsiClient {
            socket: socket.to_path_buf(),
            rt: Arc::new(rt),
            timeout: Duration::from_secs(300),
        })
    }

    /// Dial, run `f` on the channel under the timeout, unwrap the response.
    fn call<T, F, Fut>(&self, what: &str, f: F) -> CsiResult<T>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: Future<Output = CsiResult<tonic::Response<T>>>,
    {
        self.rt.block_on(async {
            let channel = heqet_csi::client::connect(&self.socket)
                .await
                .map_err(|e| {
                    Status::unavailable(format!(
                        "{what}: cannot connect to {}: {e}",
                        self.socket.display()
                    ))
                })?;
            match tokio::time::timeout(self.timeout, f(channel)).await {
                Ok(r) => r.map(tonic::Response::into_inner),
                Err(_) => Err(Status::deadline_exceeded(format!(
                    "{what}: no answer within {:?}",
                    self.timeout
                ))),
            }
        })
    }

    pub fn probe(&self) -> CsiResult<csi::ProbeResponse> {
        self.call("Probe", |ch| async move {
            csi::identity_client::IdentityClient::new(ch)
                .probe(csi::ProbeRequest {})
                .await
        })
    }

    pub fn create_volume(
        &self,
        req: csi::CreateVolumeRequest,
    ) -> CsiResult<csi::CreateVolumeResponse> {
        self.call("CreateVolume", |ch| async move {
            csi::controller_client::ControllerClient::new(ch)
                .create_volume(req)
                .await
        })
    }

    pub fn delete_volume(
        &self,
        req: csi::DeleteVolumeRequest,
    ) -> CsiResult<csi::DeleteVolumeResponse> {
        self.call("DeleteVolume", |ch| async move {
            csi::controller_client::ControllerClient::new(ch)
                .delete_volume(req)
                .await
        })
    }

    pub fn controller_expand_volume(
        &self,
        req: csi::ControllerExpandVolumeRequest,
    ) -> CsiResult<csi::ControllerExpandVolumeResponse> {
        self.call("ControllerExpandVolume", |ch| async move {
            csi::controller_client::ControllerClient::new(ch)
                .controller_expand_volume(req)
                .await
        })
    }

    pub fn node_stage_volume(
        &self,
        req: csi::NodeStageVolumeRequest,
    ) -> CsiResult<csi::NodeStageVolumeResponse> {
        self.call("NodeStageVolume", |ch| async move {
            csi::node_client::NodeClient::new(ch)
                .node_stage_volume(req)
                .await
        })
    }

    pub fn node_publish_volume(
        &self,
        req: csi::NodePublishVolumeRequest,
    ) -> CsiResult<csi::NodePublishVolumeResponse> {
        self.call("NodePublishVolume", |ch| async move {
            csi::node_client::NodeClient::new(ch)
                .node_publish_volume(req)
                .await
        })
    }

    pub fn node_unpublish_volume(
        &self,
        req: csi::NodeUnpublishVolumeRequest,
    ) -> CsiResult<csi::NodeUnpublishVolumeResponse> {
        self.call("NodeUnpublishVolume", |ch| async move {
            csi::node_client::NodeClient::new(ch)
                .node_unpublish_volume(req)
                .await
        })
    }

    pub fn node_unstage_volume(
        &self,
        req: csi::NodeUnstageVolumeRequest,
    ) -> CsiResult<csi::NodeUnstageVolumeResponse> {
        self.call("NodeUnstageVolume", |ch| async move {
            csi::node_client::NodeClient::new(ch)
                .node_unstage_volume(req)
                .await
        })
    }

    pub fn node_get_volume_stats(
        &self,
        req: csi::NodeGetVolumeStatsRequest,
    ) -> CsiResult<csi::NodeGetVolumeStatsResponse> {
        self.call("NodeGetVolumeStats", |ch| async move {
            csi::node_client::NodeClient::new(ch)
                .node_get_volume_stats(req)
                .await
        })
    }
}

/// Pids of the live (not zombie) processes in process group `pgid`, from /proc.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses.
            let Some((_, rest)) = stat.rsplit_once(") ") else {
                return false;
            };
            let f: Vec<&str> = rest.split(' ').collect();
            f.first().is_some_and(|s| *s != "Z") && f.get(2) == Some(&pgid.to_string().as_str())
        })
        .collect()
}

/// A `heqet-csi --mode all` process. Socket, kubelet dir, its log and the glusterfs
/// clients' logs live in one directory; killed (with its whole process group) on drop.
pub struct CsiPlugin {
    bin: PathBuf,
    dir: PathBuf,
    resturl: String,
    log: PathBuf,
    child: Option<Child>,
    client: CsiClient,
    /// Where the plugin runs, as a container runtime would put it.
    cgroup: PluginCgroup,
}

impl CsiPlugin {
    /// Start the plugin with its files in `dir`, provisioning through `resturl`; returns
    /// once Probe answers ready.
    pub fn start(bin: &Path, dir: &Path, resturl: &str) -> Result<CsiPlugin> {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
        // Mount points must match /proc/self/mountinfo, which shows resolved paths.
        let dir = std::fs::canonicalize(dir).context(format!("resolving {}", dir.display()))?;
        let kubelet = dir.join("kubelet");
        std::fs::create_dir_all(&kubelet).context(format!("creating {}", kubelet.display()))?;
        let mut p = CsiPlugin {
            bin: bin.to_path_buf(),
            client: CsiClient::new(&dir.join("csi.sock"))?,
            log: dir.join("csi.log"),
            dir,
            resturl: resturl.to_string(),
            child: None,
            cgroup: PluginCgroup::create("heqet-e2e-csi-plugin")?,
        };
        p.spawn()?;
        p.wait_ready()?;
        Ok(p)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("csi.sock")
    }

    /// The plugin's `--kubelet-dir`.
    pub fn kubelet_dir(&self) -> PathBuf {
        self.dir.join("kubelet")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn client(&self) -> &CsiClient {
        &self.client
    }

    /// Whether `pid` runs in the plugin's cgroup (where a container runtime's kill reaches).
    pub fn in_cgroup(&self, pid: u32) -> bool {
        self.cgroup.contains(pid)
    }

    /// The plugin's pid, which is also its process group id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The end of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        tail(&text, 6000).to_string()
    }

    fn spawn(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("heqet-csi is already running");
        }
        let (out, err) = crate::proc::log_stdio(&self.log)?;
        let mut cmd = Command::new(&self.bin);
        // Its own process group, so a kill -9 of the group is the plugin's crash and nothing
        // else's; and it must not outlive the suite.
        crate::proc::die_with_parent(&mut cmd, true);
        let child = cmd
            .arg("--endpoint")
            .arg(format!("unix://{}", self.socket().display()))
            .args(["--mode", "all", "--nodeid", "e2e-host"])
            .arg("--kubelet-dir")
            .arg(self.kubelet_dir())
            .args(["--resturl", &self.resturl, "--restuser", "admin"])
            .args(["--mount-context", "local"])
            // The clients' logs stay with the suite's state, not in the host's /var/log.
            .arg("--glusterfs-log-dir")
            .arg(self.dir.join("glusterfs-logs"))
            .env("RUST_LOG", "info,heqet_csi=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context(format!("starting {}", self.bin.display()))?;
        // Into the plugin's cgroup before it can mount anything (it mounts only on RPCs).
        let joined = self.cgroup.join(child.id());
        self.child = Some(child);
        joined
    }

    /// Poll Probe until it answers ready (a missing `ready` means ready, per the spec).
    pub fn wait_ready(&mut self) -> Result<()> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    bail!(
                        "heqet-csi exited ({status}) while starting; log:\n{}",
                        self.log_tail()
                    );
                }
            } else {
                bail!("heqet-csi is not running");
            }
            let last = match self.client.probe() {
                Ok(r) if r.ready != Some(false) => return Ok(()),
                Ok(_) => "Probe answers ready: false".to_string(),
                Err(s) => describe(&s),
            };
            if start.elapsed() > Duration::from_secs(60) {
                bail!(
                    "heqet-csi is not ready after 60 s ({last}); log:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kill -9` of every process in the plugin's cgroup and of its whole process group (the
    /// container runtime stopping it, or its crash); returns once no process of either is left.
    pub fn kill9_group(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("heqet-csi is not running");
        };
        let pgid = child.id();
        let pg =
            libc::pid_t::try_from(pgid).map_err(|e| crate::Error(format!("pid {pgid}: {e}")))?;
        // As a container runtime stops a plugin container: everything in its cgroup dies.
        self.cgroup.kill_all()?;
        // SAFETY: plain syscall; the group is the plugin's own (setsid at spawn).
        if unsafe { libc::kill(-pg, libc::SIGKILL) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                bail!("kill -9 -{pgid}: {e}");
            }
        }
        child.wait().context("reaping heqet-csi")?;
        crate::poll(
            &format!("process group {pgid} of heqet-csi is gone"),
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                let left = group_members(pgid);
                if left.is_empty() {
                    Ok(Some(()))
                } else {
                    Err(crate::Error(format!("still running: {left:?}")))
                }
            },
        )
    }

    /// Start the plugin again on the same socket and dirs (after `kill9_group`, or killing
    /// it first when it still runs); returns once Probe answers ready.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.kill9_group()?;
        }
        self.spawn()?;
        self.wait_ready()
    }

    /// Kill the plugin's process group, best effort.
    pub fn stop(&mut self) {
        if self.child.is_some() {
            if let Err(e) = self.kill9_group() {
                eprintln!("[e2e] stopping heqet-csi: {e}");
            }
        }
    }
}

impl Drop for CsiPlugin {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_paths() {
        let k = Path::new("/k");
        let s = staging_path(k, "abc");
        assert_eq!(
            s,
            PathBuf::from(
                "/k/plugins/kubernetes.io/csi/glusterfs.heqet.io/\
                 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/globalmount"
            )
        );
        assert_eq!(
            target_path(k, "uid-1", "pvc-1"),
            PathBuf::from("/k/pods/uid-1/volumes/kubernetes.io~csi/pvc-1/mount")
        );
    }

    #[test]
    fn own_process_group_is_listed() {
        let me = std::process::id();
        // SAFETY: getpgrp cannot fail.
        let pgid = unsafe { libc::getpgrp() } as u32;
        assert!(group_members(pgid).contains(&me));
        assert!(group_members(u32::MAX).is_empty());
    }
}
