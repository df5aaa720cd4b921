//! Scenario 8: heqet-csi on the real cluster, driven as kubelet and the CSI sidecars would
//! drive it (one `heqet-csi --mode all` on the host, kubelet's directory layout, kubelet's
//! call order): CreateVolume (and again: idempotent), NodeStageVolume (a FUSE mount),
//! NodePublishVolume (a bind mount), a file on all three bricks, ControllerExpandVolume (df
//! grows), a `kill -9` of the plugin's process group with a file held open (the mount keeps
//! serving; the restarted plugin reports it healthy), a killed glusterfs client (reported
//! abnormal, repaired at the next publish), unpublish/unstage/delete (each twice), and
//! NodeStageVolume against stopped glusterds (UNAVAILABLE naming host:24007).
//!
//! And a benchmark: CreateVolume through heqet-csi next to the same create on the REST API.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heqet_csi::proto::csi::v1 as csi;
use heqet_e2e::bench::{ms, span_all, LoggedCommand};
use heqet_e2e::cluster::Cluster;
use heqet_e2e::csi::{mount_capability, staging_path, target_path, CsiClient, CsiPlugin};
use heqet_e2e::mount::{self, MountInfo};
use heqet_e2e::volume::Volume;
use heqet_e2e::{bail, ensure, poll, proc, Context, Result};
use serde_json::{json, Value};

use super::bench::{report, timed_with_commands};
use super::{brick_file, read_expect, write_synced, Suite};

use csi::volume_capability::access_mode::Mode;

const GIB: i64 = 1 << 30;
const FILE_A: &str = "from-the-pod.txt";
const TEXT_A: &str = "written through the published target\n";

/// The plugin and what it mounted on the host; on drop (also when a step failed) every
/// mount under its kubelet dir is unmounted, so no FUSE mount outlives the scenario.
struct CsiHost {
    plugin: CsiPlugin,
    kubelet: PathBuf,
}

impl CsiHost {
    fn start(suite: &Suite) -> Result<CsiHost> {
        let bin = suite.csi_bin.clone().context("the heqet-csi binary")?;
        let dir = suite.work.join("csi");
        // A run killed mid-scenario may have left mounts there.
        mount::umount_all_below(&dir)?;
        let plugin = CsiPlugin::start(&bin, &dir, &suite.server.url())?;
        eprintln!(
            "[e2e] heqet-csi on {} (log {})",
            plugin.socket().display(),
            plugin.log_path().display()
        );
        Ok(CsiHost {
            kubelet: plugin.kubelet_dir(),
            plugin,
        })
    }

    fn client(&self) -> &CsiClient {
        self.plugin.client()
    }
}

impl Drop for CsiHost {
    fn drop(&mut self) {
        if let Err(e) = mount::umount_all_below(&self.kubelet) {
            eprintln!("[e2e] {e}");
        }
    }
}

/// A volume as the CO knows it after CreateVolume.
struct CsiVolume {
    id: String,
    context: HashMap<String, String>,
}

fn capability() -> csi::VolumeCapability {
    mount_capability(Mode::MultiNodeMultiWriter)
}

fn create_request(name: &str, gib: i64) -> csi::CreateVolumeRequest {
    csi::CreateVolumeRequest {
        name: name.to_string(),
        capacity_range: Some(csi::CapacityRange {
            required_bytes: gib * GIB,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![capability()],
        parameters: [("volumetype".to_string(), "replicate:3".to_string())].into(),
        ..Default::default()
    }
}

/// CreateVolume; the volume it answers with.
fn create(host: &CsiHost, name: &str, gib: i64) -> Result<csi::Volume> {
    host.client()
        .create_volume(create_request(name, gib))
        .context(format!("CreateVolume {name}"))?
        .volume
        .context(format!("CreateVolume {name} answered without a volume"))
}

fn delete(host: &CsiHost, id: &str) -> Result<()> {
    host.client()
        .delete_volume(csi::DeleteVolumeRequest {
            volume_id: id.to_string(),
            ..Default::default()
        })
        .context(format!("DeleteVolume {id}"))?;
    Ok(())
}

fn stage(host: &CsiHost, v: &CsiVolume, staging: &Path) -> heqet_e2e::csi::CsiResult<()> {
    host.client()
        .node_stage_volume(csi::NodeStageVolumeRequest {
            volume_id: v.id.clone(),
            staging_target_path: staging.display().to_string(),
            volume_capability: Some(capability()),
            volume_context: v.context.clone(),
            ..Default::default()
        })
        .map(|_| ())
}

fn publish(host: &CsiHost, v: &CsiVolume, staging: &Path, target: &Path) -> Result<()> {
    host.client()
        .node_publish_volume(csi::NodePublishVolumeRequest {
            volume_id: v.id.clone(),
            staging_target_path: staging.display().to_string(),
            target_path: target.display().to_string(),
            volume_capability: Some(capability()),
            readonly: false,
            volume_context: v.context.clone(),
            ..Default::default()
        })
        .context(format!("NodePublishVolume to {}", target.display()))?;
    Ok(())
}

fn unpublish(host: &CsiHost, v: &CsiVolume, target: &Path) -> Result<()> {
    host.client()
        .node_unpublish_volume(csi::NodeUnpublishVolumeRequest {
            volume_id: v.id.clone(),
            target_path: target.display().to_string(),
        })
        .context(format!("NodeUnpublishVolume of {}", target.display()))?;
    Ok(())
}

fn unstage(host: &CsiHost, v: &CsiVolume, staging: &Path) -> Result<()> {
    host.client()
        .node_unstage_volume(csi::NodeUnstageVolumeRequest {
            volume_id: v.id.clone(),
            staging_target_path: staging.display().to_string(),
        })
        .context(format!("NodeUnstageVolume of {}", staging.display()))?;
    Ok(())
}

fn stats(
    host: &CsiHost,
    v: &CsiVolume,
    target: &Path,
    staging: &Path,
) -> Result<csi::NodeGetVolumeStatsResponse> {
    host.client()
        .node_get_volume_stats(csi::NodeGetVolumeStatsRequest {
            volume_id: v.id.clone(),
            volume_path: target.display().to_string(),
            staging_target_path: staging.display().to_string(),
        })
        .context(format!("NodeGetVolumeStats of {}", target.display()))
}

/// A fresh `pvc-<uuid>` name, as external-provisioner makes them.
fn pvc_name() -> String {
    format!("pvc-{}", uuid::Uuid::new_v4())
}

/// A pod's target path for the volume (kubelet creates the parent, the driver the target).
fn pod_target(kubelet: &Path, pv: &str) -> Result<PathBuf> {
    let t = target_path(kubelet, &uuid::Uuid::new_v4().to_string(), pv);
    let parent = t.parent().context("target path without parent")?;
    std::fs::create_dir_all(parent).context(format!("creating {}", parent.display()))?;
    Ok(t)
}

/// The volume id is the bare heketi id: 32 lowercase hex characters.
fn is_heketi_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The created volume matches heqet's API and gluster on the nodes, and its context says
/// how to mount it.
fn check_created(suite: &Suite, v: &csi::Volume, name: &str) -> Result<Volume> {
    ensure!(
        is_heketi_id(&v.volume_id),
        "volume_id {:?} is not a 32-hex heketi id",
        v.volume_id
    );
    ensure!(
        v.capacity_bytes >= GIB,
        "capacity_bytes {} < 1 GiB",
        v.capacity_bytes
    );
    let vol = suite
        .api
        .volume(&v.volume_id)
        .context("the volume in heqet's API")?;
    ensure!(
        vol.name == name && vol.size == 1,
        "API: name {:?} size {} GiB, wanted {name:?} and 1 GiB",
        vol.name,
        vol.size
    );
    ensure!(
        vol.raw["durability"]["replicate"]["replica"] == 3 && vol.bricks.len() == 3,
        "not replica 3: durability {} with {} bricks",
        vol.raw["durability"],
        vol.bricks.len()
    );
    suite.bricks_present(&vol)?;
    suite.gluster_matches_api(&vol)?;
    let ctx = &v.volume_context;
    let get = |k: &str| -> Result<&str> {
        ctx.get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .context(format!("volume context lacks {k:?}: {ctx:?}"))
    };
    ensure!(
        get("glustervolume")? == vol.name,
        "context glustervolume {:?}, the API's name {:?}",
        get("glustervolume")?,
        vol.name
    );
    let server = vol.mount_device.split(':').next().unwrap_or_default();
    ensure!(
        get("glusterserver")? == server,
        "context glusterserver {:?}, the API's mount device {}",
        get("glusterserver")?,
        vol.mount_device
    );
    let mut backups: Vec<&str> = get("backupvolfileservers")?.split(',').collect();
    let mut want: Vec<&str> = vol.backup_volfile_servers.split(',').collect();
    backups.sort();
    want.sort();
    ensure!(
        backups == want && !backups.contains(&server),
        "context backupvolfileservers {backups:?}, the API's {want:?} (server {server})"
    );
    Ok(vol)
}

/// The FUSE mount at `staging`: fuse.glusterfs of the volume `gluster_name`.
fn check_staged(staging: &Path, gluster_name: &str) -> Result<MountInfo> {
    let m =
        mount::mount_at(staging)?.context(format!("nothing mounted at {}", staging.display()))?;
    ensure!(
        m.fs_type == "fuse.glusterfs" && m.source.ends_with(gluster_name),
        "{} is {} from {}, not a glusterfs mount of {gluster_name}",
        staging.display(),
        m.fs_type,
        m.source
    );
    Ok(m)
}

/// `target` is a bind mount of the staged filesystem (same device, its root).
fn check_bound(target: &Path, staged: &MountInfo) -> Result<()> {
    let m = mount::mount_at(target)?.context(format!("nothing mounted at {}", target.display()))?;
    ensure!(
        m.dev == staged.dev && m.fs_type == staged.fs_type && m.root == "/",
        "{} is {} dev {} root {}, not a bind mount of the staging mount (dev {})",
        target.display(),
        m.fs_type,
        m.dev,
        m.root,
        staged.dev
    );
    Ok(())
}

/// The names in `dir`, sorted, without gluster's hidden entries (`.trashcan`).
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .context(format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .context(format!("listing {}", dir.display()))?;
    names.retain(|n| !n.starts_with('.'));
    names.sort();
    Ok(names)
}

/// The one glusterfs client serving `staging`.
fn client_pid(staging: &Path) -> Result<u32> {
    match mount::fuse_client_pids(staging).as_slice() {
        [pid] => Ok(*pid),
        other => bail!(
            "expected one glusterfs client for {}, found {other:?}",
            staging.display()
        ),
    }
}

/// An application with a file of the volume open: `sleep` holding it on fd 3 (another
/// process, outside the plugin's group), and a handle in this process for pread/pwrite.
struct OpenFile {
    child: Child,
    handle: File,
    path: PathBuf,
}

impl OpenFile {
    fn open(path: &Path) -> Result<OpenFile> {
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .context(format!("opening {}", path.display()))?;
        let child = Command::new("sh")
            .args(["-c", "exec 3<\"$0\" && exec sleep 3600"])
            .arg(path)
            .stdin(Stdio::null())
            .spawn()
            .context("starting the reader")?;
        let f = OpenFile {
            child,
            handle,
            path: path.to_path_buf(),
        };
        poll(
            "the reader holds the file",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || Ok(f.holds().then_some(())),
        )?;
        Ok(f)
    }

    fn fd_link(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/fd/3", self.child.id()))
    }

    fn holds(&self) -> bool {
        std::fs::read_link(self.fd_link()).is_ok_and(|l| l == self.path)
    }

    /// The reader still runs and holds the file, and the file reads `text` through its open
    /// descriptor and through this process's handle.
    fn check(&mut self, text: &str) -> Result<()> {
        ensure!(
            matches!(self.child.try_wait(), Ok(None)),
            "the reader process died"
        );
        ensure!(
            self.holds(),
            "the reader no longer holds {}",
            self.path.display()
        );
        let through_fd = std::fs::read_to_string(self.fd_link()).context(format!(
            "reading {} through the reader's fd",
            self.path.display()
        ))?;
        ensure!(through_fd == text, "the reader's fd reads {through_fd:?}");
        let mut buf = vec![0u8; text.len() + 16];
        let n = self
            .handle
            .read_at(&mut buf, 0)
            .context(format!("pread of the open {}", self.path.display()))?;
        ensure!(
            &buf[..n] == text.as_bytes(),
            "the open handle reads {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        Ok(())
    }

    /// Append through the open handle (a write on a descriptor opened before the crash).
    fn append(&self, offset: u64, text: &str) -> Result<()> {
        self.handle
            .write_all_at(text.as_bytes(), offset)
            .context(format!("pwrite to the open {}", self.path.display()))?;
        self.handle
            .sync_all()
            .context(format!("fsync of the open {}", self.path.display()))
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// glusterd stopped on some nodes; started again on drop.
struct GlusterdStopped<'a> {
    cluster: &'a Cluster,
    nodes: Vec<usize>,
}

impl<'a> GlusterdStopped<'a> {
    fn stop(cluster: &'a Cluster, nodes: &[usize]) -> Result<GlusterdStopped<'a>> {
        let mut g = GlusterdStopped {
            cluster,
            nodes: Vec::new(),
        };
        for &n in nodes {
            cluster.fault("glusterd-stop", n)?;
            g.nodes.push(n);
        }
        Ok(g)
    }

    fn start(&mut self) -> Result<()> {
        while let Some(n) = self.nodes.pop() {
            self.cluster.fault("glusterd-start", n)?;
        }
        Ok(())
    }
}

impl Drop for GlusterdStopped<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.start() {
            eprintln!("[e2e] {e}");
        }
    }
}

/// Steps of the lifecycle share these.
struct Lifecycle<'a> {
    suite: &'a Suite,
    host: CsiHost,
    vol: CsiVolume,
    api: Volume,
    staging: PathBuf,
    target: PathBuf,
}

fn step(what: &str, started: Instant) {
    eprintln!(
        "[e2e] csi: {what} ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
}

/// CreateVolume, checked in the API and on the nodes; then the same request again.
fn create_checked(suite: &Suite, host: &CsiHost) -> Result<(CsiVolume, Volume)> {
    let name = pvc_name();
    let t = Instant::now();
    let v = create(host, &name, 1)?;
    step(&format!("CreateVolume {name} -> {}", v.volume_id), t);
    let api = check_created(suite, &v, &name)?;
    let again = create(host, &name, 1).context("repeated CreateVolume")?;
    ensure!(
        again.volume_id == v.volume_id,
        "repeated CreateVolume {name}: volume {} instead of {}",
        again.volume_id,
        v.volume_id
    );
    let ids = suite.api.volume_ids()?;
    ensure!(
        ids == [v.volume_id.clone()],
        "after two CreateVolume of one name the API lists {ids:?}"
    );
    Ok((
        CsiVolume {
            id: v.volume_id,
            context: v.volume_context,
        },
        api,
    ))
}

impl Lifecycle<'_> {
    /// Stage (a FUSE mount), publish (a bind mount), write a file: it is on all bricks.
    fn stage_publish_write(&self) -> Result<()> {
        std::fs::create_dir_all(&self.staging)
            .context(format!("creating {}", self.staging.display()))?;
        let t = Instant::now();
        stage(&self.host, &self.vol, &self.staging).context("NodeStageVolume")?;
        step("NodeStageVolume", t);
        let staged = check_staged(&self.staging, &self.api.name)?;
        client_pid(&self.staging)?;
        let t = Instant::now();
        publish(&self.host, &self.vol, &self.staging, &self.target)?;
        step("NodePublishVolume", t);
        check_bound(&self.target, &staged)?;
        write_synced(&self.target.join(FILE_A), TEXT_A)?;
        read_expect(&self.staging.join(FILE_A), TEXT_A)?;
        for b in &self.api.bricks {
            let n = self.suite.node_of(b)?;
            let got = brick_file(self.suite, n, b, FILE_A)?;
            ensure!(
                got.as_deref() == Some(TEXT_A),
                "node {n} brick {}: {FILE_A} holds {got:?}",
                b.path
            );
        }
        Ok(())
    }

    /// ControllerExpandVolume to 2 GiB: the API, gluster and df of the target follow.
    fn expand(&mut self) -> Result<()> {
        let before = mount::df_size(&self.target)?;
        let t = Instant::now();
        let r = self
            .host
            .client()
            .controller_expand_volume(csi::ControllerExpandVolumeRequest {
                volume_id: self.vol.id.clone(),
                capacity_range: Some(csi::CapacityRange {
                    required_bytes: 2 * GIB,
                    limit_bytes: 0,
                }),
                volume_capability: Some(capability()),
                ..Default::default()
            })
            .context("ControllerExpandVolume to 2 GiB")?;
        step("ControllerExpandVolume to 2 GiB", t);
        ensure!(
            r.capacity_bytes >= 2 * GIB,
            "ControllerExpandVolume answers capacity_bytes {}",
            r.capacity_bytes
        );
        let grown = self.suite.api.volume(&self.vol.id)?;
        ensure!(grown.size == 2, "API size after expand: {} GiB", grown.size);
        self.suite.bricks_present(&grown)?;
        self.suite.gluster_matches_api(&grown)?;
        // The client picks up the new graph on its own; df then sums both replica sets.
        let after = poll(
            "df of the target shows the expanded size",
            Duration::from_secs(30),
            Duration::from_millis(500),
            || {
                let s = mount::df_size(&self.target)?;
                Ok((s as f64 > before as f64 * 1.8).then_some(s))
            },
        )?;
        eprintln!("[e2e] csi: df of the target: {before} bytes before expand, {after} after");
        read_expect(&self.target.join(FILE_A), TEXT_A)?;
        self.api = grown;
        Ok(())
    }

    /// kill -9 of the plugin's process group while a file is held open: the mount keeps
    /// serving, the client lives on; the restarted plugin reports the volume healthy.
    fn survive_plugin_crash(&mut self) -> Result<()> {
        let client = client_pid(&self.staging)?;
        let mut open = OpenFile::open(&self.target.join(FILE_A))?;
        open.check(TEXT_A)?;
        let pgid = self
            .host
            .plugin
            .pid()
            .context("the plugin is not running")?;
        // The model of a runtime's kill must hold: the plugin is in its cgroup; the client
        // it started is not (else the kill below takes the client too, as with other drivers).
        ensure!(
            self.host.plugin.in_cgroup(pgid),
            "heqet-csi {pgid} is not in its cgroup: the kill would prove nothing"
        );
        ensure!(
            !self.host.plugin.in_cgroup(client),
            "glusterfs client {client} runs in the plugin's cgroup: a container runtime's kill would take it"
        );
        self.host.plugin.kill9_group()?;
        eprintln!("[e2e] csi: process group {pgid} of heqet-csi killed; glusterfs client {client}");

        open.check(TEXT_A)?;
        let tail = "appended after the plugin died\n";
        open.append(TEXT_A.len() as u64, tail)?;
        let both = format!("{TEXT_A}{tail}");
        read_expect(&self.staging.join(FILE_A), &both)?;
        let (b, c) = ("through-target.txt", "through-staging.txt");
        write_synced(&self.target.join(b), "b\n")?;
        write_synced(&self.staging.join(c), "c\n")?;
        read_expect(&self.staging.join(b), "b\n")?;
        read_expect(&self.target.join(c), "c\n")?;
        let names = list_dir(&self.target)?;
        let mut want = vec![FILE_A, b, c];
        want.sort();
        ensure!(names == want, "{} lists {names:?}", self.target.display());
        ensure!(
            proc::alive(client) && mount::fuse_client_pids(&self.staging) == [client],
            "glusterfs client {client} of the staged mount did not survive the plugin"
        );
        drop(open);
        // Put the file back as the later steps expect it.
        write_synced(&self.target.join(FILE_A), TEXT_A)?;

        let t = Instant::now();
        self.host.plugin.restart()?;
        step("heqet-csi restarted, Probe ready", t);
        let s = stats(&self.host, &self.vol, &self.target, &self.staging)?;
        check_healthy_stats(&s, &self.target)
    }

    /// A killed glusterfs client is reported abnormal, and a publish to a second target
    /// mounts the volume again.
    fn broken_client_repaired(&self) -> Result<PathBuf> {
        let client = client_pid(&self.staging)?;
        proc::kill9(client)?;
        poll(
            &format!("glusterfs client {client} is gone"),
            Duration::from_secs(10),
            Duration::from_millis(50),
            || Ok((!proc::alive(client)).then_some(())),
        )?;
        let cond = poll(
            "NodeGetVolumeStats reports the volume abnormal",
            Duration::from_secs(20),
            Duration::from_millis(250),
            || {
                let s = stats(&self.host, &self.vol, &self.target, &self.staging)?;
                Ok(s.volume_condition.filter(|c| c.abnormal))
            },
        )?;
        eprintln!(
            "[e2e] csi: condition after the client was killed: {:?}",
            cond.message
        );
        ensure!(
            !cond.message.trim().is_empty(),
            "abnormal VolumeCondition without a message"
        );

        let second = pod_target(&self.host.kubelet, &self.api.name)?;
        let t = Instant::now();
        publish(&self.host, &self.vol, &self.staging, &second)
            .context("NodePublishVolume to a second target after the client died")?;
        step("NodePublishVolume to a second target (repair)", t);
        let staged = check_staged(&self.staging, &self.api.name)?;
        let fresh = client_pid(&self.staging)?;
        ensure!(
            fresh != client && proc::alive(fresh),
            "no new glusterfs client for the staging mount (found {fresh}, killed {client})"
        );
        check_bound(&second, &staged)?;
        read_expect(&second.join(FILE_A), TEXT_A)?;
        read_expect(&self.staging.join(FILE_A), TEXT_A)?;
        // The first target was bound from the dead mount; the repair re-binds it.
        check_bound(&self.target, &staged).context("the first target after the repair")?;
        read_expect(&self.target.join(FILE_A), TEXT_A)
            .context("the first target after the repair")?;
        let s = stats(&self.host, &self.vol, &second, &self.staging)?;
        check_healthy_stats(&s, &second)?;
        Ok(second)
    }

    /// Unpublish both targets and unstage (each twice: idempotent); nothing left mounted.
    fn tear_down(&self, second: &Path) -> Result<()> {
        for target in [self.target.as_path(), second] {
            unpublish(&self.host, &self.vol, target)?;
            ensure!(
                mount::mount_at(target)?.is_none(),
                "{} is still mounted after NodeUnpublishVolume",
                target.display()
            );
            ensure!(
                !target.exists(),
                "NodeUnpublishVolume left the target {} behind (the SP must delete it)",
                target.display()
            );
            unpublish(&self.host, &self.vol, target).context("NodeUnpublishVolume again")?;
        }
        unstage(&self.host, &self.vol, &self.staging)?;
        let left = mount::mounts_below(&self.host.kubelet)?;
        ensure!(
            left.is_empty(),
            "mounts left under the kubelet dir after NodeUnstageVolume: {:?}",
            left.iter().map(|m| &m.mount_point).collect::<Vec<_>>()
        );
        poll(
            "the glusterfs client of the staging mount exits",
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                Ok(mount::fuse_client_pids(&self.staging)
                    .is_empty()
                    .then_some(()))
            },
        )?;
        unstage(&self.host, &self.vol, &self.staging).context("NodeUnstageVolume again")
    }

    /// DeleteVolume (twice): gone from the API and from every node.
    fn delete(&self) -> Result<()> {
        let t = Instant::now();
        delete(&self.host, &self.vol.id)?;
        step("DeleteVolume", t);
        self.suite.volume_gone(&self.api)?;
        delete(&self.host, &self.vol.id).context("DeleteVolume again")
    }
}

/// Usage in bytes (and inodes, if given) that matches df, and a normal condition.
fn check_healthy_stats(s: &csi::NodeGetVolumeStatsResponse, path: &Path) -> Result<()> {
    use csi::volume_usage::Unit;
    let cond = s.volume_condition.as_ref().context(format!(
        "NodeGetVolumeStats of {} has no VolumeCondition",
        path.display()
    ))?;
    ensure!(
        !cond.abnormal,
        "{} is reported abnormal: {}",
        path.display(),
        cond.message
    );
    let bytes = s
        .usage
        .iter()
        .find(|u| u.unit == Unit::Bytes as i32)
        .context(format!("no usage in bytes: {:?}", s.usage))?;
    let df = mount::df_size(path)? as f64;
    ensure!(
        bytes.total > 0
            && bytes.used > 0
            && bytes.available > 0
            && bytes.used + bytes.available <= bytes.total
            && (bytes.total as f64 - df).abs() <= df * 0.01,
        "usage in bytes {bytes:?} does not fit df size {df}"
    );
    if let Some(i) = s.usage.iter().find(|u| u.unit == Unit::Inodes as i32) {
        ensure!(i.total > 0 && i.used > 0, "usage in inodes {i:?}");
    }
    eprintln!(
        "[e2e] csi: stats of {}: {} of {} bytes used, condition normal",
        path.display(),
        bytes.used,
        bytes.total
    );
    Ok(())
}

/// NodeStageVolume while glusterd is stopped on every node the context names: UNAVAILABLE,
/// naming each host and port 24007, and nothing mounted.
fn stage_with_glusterd_stopped(
    suite: &Suite,
    host: &CsiHost,
    context: &HashMap<String, String>,
) -> Result<()> {
    let nodes = suite.cluster.nodes()?;
    let addrs = nodes
        .iter()
        .map(|&n| suite.cluster.addr(n))
        .collect::<Result<Vec<_>>>()?;
    let vol = CsiVolume {
        id: uuid::Uuid::new_v4().simple().to_string(),
        context: context.clone(),
    };
    let staging = staging_path(&host.kubelet, &vol.id);
    std::fs::create_dir_all(&staging).context(format!("creating {}", staging.display()))?;
    let mut stopped = GlusterdStopped::stop(&suite.cluster, &nodes)?;
    let r = stage(host, &vol, &staging);
    let mounted = mount::mount_at(&staging)?;
    stopped.start()?;
    drop(stopped);
    suite.wait_peers_connected()?;
    let status = match r {
        Ok(()) => bail!("NodeStageVolume succeeded with every glusterd stopped"),
        Err(s) => s,
    };
    eprintln!(
        "[e2e] csi: NodeStageVolume with glusterd stopped: {}",
        heqet_e2e::csi::describe(&status)
    );
    ensure!(
        status.code() == tonic::Code::Unavailable,
        "expected UNAVAILABLE, got {}",
        heqet_e2e::csi::describe(&status)
    );
    for a in &addrs {
        ensure!(
            status.message().contains(&format!("{a}:24007")),
            "the message does not name {a}:24007: {}",
            status.message()
        );
    }
    ensure!(
        mounted.is_none(),
        "a failed NodeStageVolume left {} mounted",
        staging.display()
    );
    Ok(())
}

pub fn lifecycle(suite: &mut Suite) -> Result<()> {
    let suite: &Suite = suite;
    let host = CsiHost::start(suite)?;
    let (vol, api) = create_checked(suite, &host)?;
    let context = vol.context.clone();
    let staging = staging_path(&host.kubelet, &vol.id);
    let target = pod_target(&host.kubelet, &api.name)?;
    let mut l = Lifecycle {
        suite,
        host,
        vol,
        api,
        staging,
        target,
    };
    l.stage_publish_write()?;
    l.expand()?;
    l.survive_plugin_crash()?;
    let second = l.broken_client_repaired()?;
    l.tear_down(&second)?;
    l.delete()?;
    stage_with_glusterd_stopped(suite, &l.host, &context)
}

/// The REST request equal to what heqet-csi sent for `made` (same gid, options, snapshot
/// settings), under another name.
fn same_request_as(made: &Volume, name: &str) -> Value {
    let options: Vec<Value> = made.raw["glustervolumeoptions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|o| match o.as_str() {
            Some(s) if s.starts_with("user.heqet-csi.name ") => {
                json!(format!("user.heqet-csi.name {name}"))
            }
            _ => o,
        })
        .collect();
    json!({
        "size": 1,
        "name": name,
        "durability": made.raw["durability"],
        "gid": made.raw["gid"],
        "glustervolumeoptions": options,
        "snapshot": made.raw["snapshot"],
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// One timed create: wall time, and the part of it not spent in node commands (wall minus
/// the span from the first node command's start to the last one's end).
struct Timing {
    wall: Duration,
    outside: Duration,
}

impl Timing {
    fn of(wall: Duration, cmds: &[LoggedCommand]) -> Result<Timing> {
        let (first, last) = span_all(cmds).context("no node commands in heqet's debug log")?;
        let outside = (wall.as_secs_f64() - (last - first)).max(0.0);
        Ok(Timing {
            wall,
            outside: Duration::from_secs_f64(outside),
        })
    }
}

/// CreateVolume through heqet-csi, timed; the volume is deleted (through the driver) after.
fn csi_create_timed(suite: &Suite, host: &CsiHost) -> Result<(Timing, Volume)> {
    let name = pvc_name();
    let (v, wall, cmds) = timed_with_commands(suite, || create(host, &name, 1))?;
    let made = suite.api.volume(&v.volume_id)?;
    ensure!(
        made.bricks.len() == 3,
        "bench volume with {} bricks",
        made.bricks.len()
    );
    delete(host, &v.volume_id)?;
    suite.volume_gone(&made)?;
    Ok((Timing::of(wall, &cmds)?, made))
}

/// The same create on the REST API, timed; deleted after.
fn rest_create_timed(suite: &Suite, req: &Value) -> Result<Timing> {
    let (vol, wall, cmds) = timed_with_commands(suite, || suite.api.create_volume(req))?;
    suite.delete_checked(&vol)?;
    Timing::of(wall, &cmds)
}

fn list(v: &[Duration]) -> String {
    v.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
}

/// CreateVolume through heqet-csi vs. the same create on the REST API, 3 each, as pairs in
/// alternating order (C R, R C, C R) so that neither side always runs first.
pub fn bench(suite: &mut Suite) -> Result<()> {
    let suite: &Suite = suite;
    let host = CsiHost::start(suite)?;
    // The REST request copies what the driver sent (gid, options, snapshot settings): a
    // first CSI create shows it.
    let (first, made) = csi_create_timed(suite, &host)?;
    let rest =
        |n: u32| rest_create_timed(suite, &same_request_as(&made, &format!("rest_bench_{n}")));
    let mut via_csi = vec![first];
    let mut via_rest = vec![rest(1)?, rest(2)?];
    via_csi.push(csi_create_timed(suite, &host)?.0);
    via_csi.push(csi_create_timed(suite, &host)?.0);
    via_rest.push(rest(3)?);
    let wall = |t: &[Timing]| t.iter().map(|t| t.wall).collect::<Vec<_>>();
    let outside = |t: &[Timing]| t.iter().map(|t| t.outside).collect::<Vec<_>>();
    let (c, r) = (median(wall(&via_csi)), median(wall(&via_rest)));
    let (co, ro) = (median(outside(&via_csi)), median(outside(&via_rest)));
    report(format!(
        "heqet-csi CreateVolume (replica 3, 1 GiB) to ready: median {} ({}); the same create on \
         the REST API: median {} ({})",
        ms(c),
        list(&wall(&via_csi)),
        ms(r),
        list(&wall(&via_rest))
    ));
    let over = c.as_secs_f64() - r.as_secs_f64();
    report(format!(
        "heqet-csi overhead on create (medians of wall time): {:+.1} ms = {:+.1}% (target < 5%)",
        over * 1000.0,
        100.0 * over / r.as_secs_f64()
    ));
    // Node command times vary by seconds on a loaded machine; what is left of the wall
    // time without them is where the driver's own cost shows.
    let over_out = co.as_secs_f64() - ro.as_secs_f64();
    report(format!(
        "  outside node commands: heqet-csi median {} ({}), REST median {} ({}): driver \
         overhead {:+.1} ms = {:+.1}% of the REST create",
        ms(co),
        list(&outside(&via_csi)),
        ms(ro),
        list(&outside(&via_rest)),
        over_out * 1000.0,
        100.0 * over_out / r.as_secs_f64()
    ));
    Ok(())
}
