//! The gRPC Node service: stage = one glusterfs FUSE mount per volume and node (started
//! detached from the plugin by [`Launcher::run_detached`]), publish = a bind mount of it into
//! the pod's target path. A broken mount (its client gone) is reported by
//! NodeGetVolumeStats and repaired, with every bind mount of it, at the next stage or publish.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::controller::context;
use crate::error::NodeError;
use crate::node::health::{self, PathHealth};
use crate::node::launcher::{Launcher, MountContext};
use crate::node::mountinfo::{self, MountEntry};
use crate::proto::csi::v1 as csi;

type Result<T> = std::result::Result<T, NodeError>;

/// glusterd's management port: where a client fetches the volfile.
const GLUSTERD_PORT: u16 = 24007;
/// mount.glusterfs returns once the client has the volfile; a slow cluster takes seconds.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(90);
const SHORT_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// stat/statvfs of a mount; a hung FUSE mount must not hang the RPC.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The node plugin's settings, from the command line.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub node_id: String,
    /// kubelet's root dir: staging and target paths must lie below it.
    pub kubelet_dir: PathBuf,
    pub mount_context: MountContext,
    /// Where the glusterfs clients write their logs (in the mount context's file system).
    pub client_log_dir: PathBuf,
    /// `log-level=` of the glusterfs clients.
    pub client_log_level: String,
}

struct Inner {
    cfg: NodeConfig,
    launcher: Launcher,
    /// One stage/publish/unpublish/unstage at a time per volume.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Clone)]
pub struct NodeService {
    inner: Arc<Inner>,
}

/// What a stage needs to know of the volume (from the volume context).
struct Source {
    volume: String,
    /// The volfile server first, then the backups.
    servers: Vec<String>,
}

impl Source {
    fn of(ctx: &HashMap<String, String>) -> Result<Source> {
        let volume = ctx
            .get(context::VOLUME)
            .filter(|v| !v.is_empty())
            .ok_or(NodeError::MissingContext(context::VOLUME))?
            .clone();
        let server = ctx
            .get(context::SERVER)
            .filter(|v| !v.is_empty())
            .ok_or(NodeError::MissingContext(context::SERVER))?
            .clone();
        let mut servers = vec![server];
        for b in ctx
            .get(context::BACKUP_SERVERS)
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            if !servers.iter().any(|s| s == b) {
                servers.push(b.to_string());
            }
        }
        Ok(Source { volume, servers })
    }
}

/// Mount flags of a mount capability; raw block is refused.
fn mount_flags(cap: Option<&csi::VolumeCapability>) -> Result<(Vec<String>, bool)> {
    use csi::volume_capability::access_mode::Mode;
    use csi::volume_capability::AccessType;
    let cap = cap.ok_or(NodeError::MissingField("volume_capability"))?;
    let flags = match &cap.access_type {
        Some(AccessType::Mount(m)) => {
            if !m.fs_type.is_empty() && m.fs_type != "glusterfs" {
                return Err(NodeError::UnsupportedCapability(format!(
                    "fs_type {:?} is not supported: GlusterFS volumes are mounted as glusterfs",
                    m.fs_type
                )));
            }
            m.mount_flags
                .iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect()
        }
        Some(AccessType::Block(_)) => {
            return Err(NodeError::UnsupportedCapability(
                "raw block access is not supported: GlusterFS volumes are file systems".into(),
            ))
        }
        None => return Err(NodeError::MissingField("volume_capability.access_type")),
    };
    let mode = cap
        .access_mode
        .as_ref()
        .ok_or(NodeError::MissingField("volume_capability.access_mode"))?
        .mode;
    let read_only = matches!(
        Mode::try_from(mode),
        Ok(Mode::SingleNodeReaderOnly) | Ok(Mode::MultiNodeReaderOnly)
    );
    Ok((flags, read_only))
}

fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str> {
    if value.is_empty() {
        Err(NodeError::MissingField(field))
    } else {
        Ok(value)
    }
}

impl Inner {
    fn lock_of(&self, volume_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Drop locks nobody holds, so the map does not grow with every volume ever seen.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(volume_id.to_string()).or_default().clone()
    }

    /// A staging or target path kubelet may hand us: absolute and below its root dir.
    fn kubelet_path(&self, raw: &str, field: &'static str) -> Result<PathBuf> {
        let p = PathBuf::from(required(raw, field)?);
        let normal = mountinfo::normalize(&p);
        if !p.is_absolute() {
            return Err(NodeError::BadPath {
                path: raw.to_string(),
                reason: format!("{field} must be an absolute path"),
            });
        }
        let root = mountinfo::normalize(&self.cfg.kubelet_dir);
        if !normal.starts_with(&root) || normal == root {
            return Err(NodeError::BadPath {
                path: raw.to_string(),
                reason: format!(
                    "{field} is not below the kubelet root dir {} (set heqet-csi --kubelet-dir to kubelet's --root-dir)",
                    root.display()
                ),
            });
        }
        Ok(normal)
    }

    async fn mount_at(&self, path: &Path) -> Result<Option<MountEntry>> {
        health::mount_at(&self.launcher.mountinfo_path(), path, HEALTH_TIMEOUT).await
    }

    async fn table(&self) -> Result<Vec<MountEntry>> {
        let table = self.launcher.mountinfo_path();
        tokio::task::spawn_blocking(move || mountinfo::read(&table))
            .await
            .map_err(|e| NodeError::Io {
                context: "reading the mount table".into(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    async fn health(&self, path: &Path) -> Result<PathHealth> {
        let table = self.table().await?;
        Ok(health::check(path, true, &table, HEALTH_TIMEOUT).await)
    }

    async fn mkdir(&self, path: &Path) -> Result<()> {
        let p = path.to_path_buf();
        tokio::task::spawn_blocking(move || std::fs::create_dir_all(&p))
            .await
            .map_err(|e| NodeError::Io {
                context: format!("creating {}", path.display()),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| NodeError::Io {
                context: format!("creating {}", path.display()),
                source,
            })
    }

    /// Unmount `path`; a mount that cannot be unmounted normally (dead client, busy) is
    /// detached lazily so it stops blocking the path.
    async fn umount(&self, path: &Path) -> Result<()> {
        let p = path.to_string_lossy();
        let out = self.launcher.output(&["umount", &p], SHORT_TIMEOUT).await?;
        if out.success() || self.mount_at(path).await?.is_none() {
            return Ok(());
        }
        tracing::warn!(path = %p, error = %out.message(), "umount failed; detaching lazily");
        self.launcher
            .run(&["umount", "-l", &p], SHORT_TIMEOUT)
            .await
            .map(|_| ())
    }

    async fn bind(&self, staging: &Path, target: &Path, read_only: bool) -> Result<()> {
        let (s, t) = (staging.to_string_lossy(), target.to_string_lossy());
        // util-linux applies `ro` to a bind mount with a second (remount) step itself.
        let opts = if read_only { "bind,ro" } else { "bind" };
        self.launcher
            .run(&["mount", "-o", opts, &s, &t], SHORT_TIMEOUT)
            .await
            .map(|_| ())
    }

    /// The glusterfs mount of `src` at `staging`, started outside the plugin's lifetime.
    async fn mount_glusterfs(
        &self,
        volume_id: &str,
        src: &Source,
        staging: &Path,
        flags: &[String],
        read_only: bool,
    ) -> Result<()> {
        if self.launcher.find_mount_helper().is_none() {
            return Err(NodeError::NoMountHelper {
                node: self.cfg.node_id.clone(),
            });
        }
        let probes = health::probe_servers(&src.servers, GLUSTERD_PORT, PROBE_TIMEOUT).await;
        if let Some(e) = health::unreachable(&src.volume, &probes) {
            return Err(e);
        }
        // Reachable servers first: the client tries the volfile servers in order.
        let mut servers: Vec<&str> = probes
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(h, _)| h.as_str())
            .collect();
        for (h, r) in &probes {
            if let Err(why) = r {
                tracing::warn!(volume = %src.volume, %why, "volfile server not reachable");
                servers.push(h);
            }
        }
        let (primary, backups) = servers
            .split_first()
            .ok_or(NodeError::MissingContext(context::SERVER))?;

        let log_dir = self.cfg.client_log_dir.to_string_lossy().to_string();
        self.launcher
            .run(&["mkdir", "-p", &log_dir], SHORT_TIMEOUT)
            .await?;
        let log_file = format!(
            "{log_dir}/{}.log",
            crate::node::launcher::sanitize_unit_key(volume_id)
        );
        let mut opts = vec![
            format!("log-file={log_file}"),
            format!("log-level={}", self.cfg.client_log_level),
        ];
        if !backups.is_empty() {
            opts.push(format!("backup-volfile-servers={}", backups.join(":")));
        }
        if read_only {
            opts.push("ro".into());
        }
        opts.extend(flags.iter().cloned());
        let opts = opts.join(",");
        let device = format!("{primary}:/{}", src.volume);
        self.mkdir(staging).await?;
        let staging_s = staging.to_string_lossy();
        if let Err(e) = self
            .launcher
            .run_detached(
                volume_id,
                &["mount", "-t", "glusterfs", "-o", &opts, &device, &staging_s],
                MOUNT_TIMEOUT,
            )
            .await
        {
            // The client mounts before it learns that the volfile fetch failed, so a failed
            // mount can leave its dead FUSE mount behind: remove it so a retry starts clean.
            if let Ok(Some(_)) = self.mount_at(staging).await {
                if let Err(cleanup) = self.umount(staging).await {
                    tracing::warn!(staging = %staging_s, error = %cleanup, "cannot remove the mount a failed mount left");
                }
            }
            return Err(e);
        }
        match self.mount_at(staging).await? {
            Some(m) if m.is_glusterfs() => Ok(()),
            other => Err(NodeError::CommandFailed {
                what: "mount".into(),
                command: format!("mount -t glusterfs -o {opts} {device} {staging_s}"),
                output: format!(
                    "it succeeded but {} shows {} at the staging path (client log: {log_file})",
                    self.launcher.mountinfo_path().display(),
                    other.map_or("nothing".to_string(), |m| m.fstype)
                ),
            }),
        }
    }

    /// The staging mount is broken: unmount it and every bind mount of it, mount it again,
    /// bind the targets again. Applications holding files open on the old mount still see
    /// errors for those files; new opens work.
    async fn repair(
        &self,
        volume_id: &str,
        src: &Source,
        staging: &Path,
        flags: &[String],
        read_only: bool,
        why: &str,
    ) -> Result<()> {
        tracing::warn!(volume_id, staging = %staging.display(), why, "repairing a broken glusterfs mount");
        let table = self.table().await?;
        let binds: Vec<(PathBuf, bool)> = match mountinfo::find_mount_point(&table, staging) {
            Some(m) => mountinfo::mounts_of_device(&table, m.major_minor)
                .into_iter()
                .filter(|b| mountinfo::normalize(&b.mount_point) != mountinfo::normalize(staging))
                .map(|b| (b.mount_point.clone(), b.is_read_only()))
                .collect(),
            None => Vec::new(),
        };
        for (target, _) in &binds {
            self.umount(target).await?;
        }
        self.umount(staging).await?;
        self.mount_glusterfs(volume_id, src, staging, flags, read_only)
            .await?;
        for (target, ro) in &binds {
            self.bind(staging, target, *ro).await?;
            tracing::info!(volume_id, target = %target.display(), "bind mount restored");
        }
        Ok(())
    }

    /// The staging mount exists and answers, or is made to.
    async fn ensure_staged(
        &self,
        volume_id: &str,
        ctx: &HashMap<String, String>,
        staging: &Path,
        flags: &[String],
        read_only: bool,
    ) -> Result<()> {
        match self.mount_at(staging).await? {
            None => {
                let src = Source::of(ctx)?;
                self.mount_glusterfs(volume_id, &src, staging, flags, read_only)
                    .await
            }
            Some(m) => {
                let src = Source::of(ctx)?;
                if m.glusterfs_source().map(|(_, v)| v) != Some(src.volume.as_str()) {
                    return Err(NodeError::BadPath {
                        path: staging.display().to_string(),
                        reason: format!(
                            "{} ({}) is mounted there, not glusterfs volume {}",
                            m.source, m.fstype, src.volume
                        ),
                    });
                }
                match self.health(staging).await? {
                    PathHealth::Healthy(_) => Ok(()),
                    PathHealth::Broken(why) => {
                        self.repair(volume_id, &src, staging, flags, read_only, &why)
                            .await
                    }
                    PathHealth::NotMounted | PathHealth::Missing => {
                        self.mount_glusterfs(volume_id, &src, staging, flags, read_only)
                            .await
                    }
                }
            }
        }
    }

    async fn stage(&self, req: csi::NodeStageVolumeRequest) -> Result<()> {
        let volume_id = required(&req.volume_id, "volume_id")?;
        let staging = self.kubelet_path(&req.staging_target_path, "staging_target_path")?;
        let (flags, read_only) = mount_flags(req.volume_capability.as_ref())?;
        Source::of(&req.volume_context)?;
        let lock = self.lock_of(volume_id);
        let _held = lock.lock().await;
        self.ensure_staged(volume_id, &req.volume_context, &staging, &flags, read_only)
            .await
    }

    async fn unstage(&self, req: csi::NodeUnstageVolumeRequest) -> Result<()> {
        let volume_id = required(&req.volume_id, "volume_id")?;
        let staging = self.kubelet_path(&req.staging_target_path, "staging_target_path")?;
        let lock = self.lock_of(volume_id);
        let _held = lock.lock().await;
        if self.mount_at(&staging).await?.is_some() {
            self.umount(&staging).await?;
        }
        Ok(())
    }

    async fn publish(&self, req: csi::NodePublishVolumeRequest) -> Result<()> {
        let volume_id = required(&req.volume_id, "volume_id")?;
        let staging = self.kubelet_path(&req.staging_target_path, "staging_target_path")?;
        let target = self.kubelet_path(&req.target_path, "target_path")?;
        let (flags, ro_mode) = mount_flags(req.volume_capability.as_ref())?;
        let read_only = req.readonly || ro_mode;
        let lock = self.lock_of(volume_id);
        let _held = lock.lock().await;

        let Some(staged) = self.mount_at(&staging).await? else {
            return Err(NodeError::NotStaged(staging.display().to_string()));
        };
        if let PathHealth::Broken(why) = self.health(&staging).await? {
            let src = Source::of(&req.volume_context)?;
            self.repair(volume_id, &src, &staging, &flags, ro_mode, &why)
                .await?;
        }
        let staged = self.mount_at(&staging).await?.unwrap_or(staged);
        if let Some(existing) = self.mount_at(&target).await? {
            let same = existing.major_minor == staged.major_minor;
            if same && matches!(self.health(&target).await?, PathHealth::Healthy(_)) {
                if existing.is_read_only() != read_only {
                    return Err(NodeError::PublishedDifferently {
                        target: target.display().to_string(),
                        how: if existing.is_read_only() {
                            "read-only, and this call asks for read-write".into()
                        } else {
                            "read-write, and this call asks for read-only".into()
                        },
                    });
                }
                return Ok(());
            }
            // A stale bind of an earlier, broken mount, or something else: replace it.
            self.umount(&target).await?;
        }
        self.mkdir(&target).await?;
        self.bind(&staging, &target, read_only).await
    }

    async fn unpublish(&self, req: csi::NodeUnpublishVolumeRequest) -> Result<()> {
        let volume_id = required(&req.volume_id, "volume_id")?;
        let target = self.kubelet_path(&req.target_path, "target_path")?;
        let lock = self.lock_of(volume_id);
        let _held = lock.lock().await;
        if self.mount_at(&target).await?.is_some() {
            self.umount(&target).await?;
        }
        // Only an empty directory is removed: never delete what might be data.
        match std::fs::remove_dir(&target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(NodeError::Io {
                context: format!("removing the target directory {}", target.display()),
                source,
            }),
        }
    }

    async fn stats(
        &self,
        req: csi::NodeGetVolumeStatsRequest,
    ) -> Result<csi::NodeGetVolumeStatsResponse> {
        required(&req.volume_id, "volume_id")?;
        // Like every path kubelet hands us: absolute and below its root dir (a relative
        // `proc` would otherwise be read as `/proc` and reported as a healthy volume).
        let path = self.kubelet_path(&req.volume_path, "volume_path")?;
        use csi::volume_usage::Unit;
        let (usage, condition) = match self.health(&path).await? {
            PathHealth::Missing => {
                return Err(NodeError::PathNotFound(path.display().to_string()))
            }
            PathHealth::Healthy(s) => (
                vec![
                    csi::VolumeUsage {
                        available: clamp(s.available_bytes),
                        total: clamp(s.total_bytes),
                        used: clamp(s.used_bytes),
                        unit: Unit::Bytes as i32,
                    },
                    csi::VolumeUsage {
                        available: clamp(s.free_inodes),
                        total: clamp(s.total_inodes),
                        used: clamp(s.used_inodes),
                        unit: Unit::Inodes as i32,
                    },
                ],
                csi::VolumeCondition {
                    abnormal: false,
                    message: "mounted and answering".into(),
                },
            ),
            PathHealth::Broken(why) => (
                Vec::new(),
                csi::VolumeCondition {
                    abnormal: true,
                    message: format!(
                        "{}: {why}; the next NodeStageVolume or NodePublishVolume of this volume on this node remounts it (restart a pod using it to trigger one)",
                        path.display()
                    ),
                },
            ),
            PathHealth::NotMounted => (
                Vec::new(),
                csi::VolumeCondition {
                    abnormal: true,
                    message: format!("nothing is mounted at {}", path.display()),
                },
            ),
        };
        Ok(csi::NodeGetVolumeStatsResponse {
            usage,
            volume_condition: Some(condition),
        })
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl NodeService {
    pub fn new(cfg: NodeConfig) -> NodeService {
        let launcher = Launcher::new(cfg.mount_context);
        tracing::info!(node_id = %cfg.node_id, context = %launcher.description(), "node service");
        NodeService {
            inner: Arc::new(Inner {
                cfg,
                launcher,
                locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Probe: this node can mount GlusterFS volumes.
    pub async fn ready(&self) -> std::result::Result<(), Status> {
        match self.inner.launcher.find_mount_helper() {
            Some(_) => Ok(()),
            None => Err(NodeError::NoMountHelper {
                node: self.inner.cfg.node_id.clone(),
            }
            .into()),
        }
    }
}

fn node_capability(t: csi::node_service_capability::rpc::Type) -> csi::NodeServiceCapability {
    csi::NodeServiceCapability {
        r#type: Some(csi::node_service_capability::Type::Rpc(
            csi::node_service_capability::Rpc { r#type: t as i32 },
        )),
    }
}

#[tonic::async_trait]
impl csi::node_server::Node for NodeService {
    async fn node_stage_volume(
        &self,
        request: Request<csi::NodeStageVolumeRequest>,
    ) -> std::result::Result<Response<csi::NodeStageVolumeResponse>, Status> {
        self.inner.stage(request.into_inner()).await?;
        Ok(Response::new(csi::NodeStageVolumeResponse {}))
    }

    async fn node_unstage_volume(
        &self,
        request: Request<csi::NodeUnstageVolumeRequest>,
    ) -> std::result::Result<Response<csi::NodeUnstageVolumeResponse>, Status> {
        self.inner.unstage(request.into_inner()).await?;
        Ok(Response::new(csi::NodeUnstageVolumeResponse {}))
    }

    async fn node_publish_volume(
        &self,
        request: Request<csi::NodePublishVolumeRequest>,
    ) -> std::result::Result<Response<csi::NodePublishVolumeResponse>, Status> {
        self.inner.publish(request.into_inner()).await?;
        Ok(Response::new(csi::NodePublishVolumeResponse {}))
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<csi::NodeUnpublishVolumeRequest>,
    ) -> std::result::Result<Response<csi::NodeUnpublishVolumeResponse>, Status> {
        self.inner.unpublish(request.into_inner()).await?;
        Ok(Response::new(csi::NodeUnpublishVolumeResponse {}))
    }

    async fn node_get_volume_stats(
        &self,
        request: Request<csi::NodeGetVolumeStatsRequest>,
    ) -> std::result::Result<Response<csi::NodeGetVolumeStatsResponse>, Status> {
        Ok(Response::new(self.inner.stats(request.into_inner()).await?))
    }

    async fn node_get_capabilities(
        &self,
        _request: Request<csi::NodeGetCapabilitiesRequest>,
    ) -> std::result::Result<Response<csi::NodeGetCapabilitiesResponse>, Status> {
        use csi::node_service_capability::rpc::Type;
        Ok(Response::new(csi::NodeGetCapabilitiesResponse {
            capabilities: [
                Type::StageUnstageVolume,
                Type::GetVolumeStats,
                Type::VolumeCondition,
            ]
            .into_iter()
            .map(node_capability)
            .collect(),
        }))
    }

    async fn node_get_info(
        &self,
        _request: Request<csi::NodeGetInfoRequest>,
    ) -> std::result::Result<Response<csi::NodeGetInfoResponse>, Status> {
        Ok(Response::new(csi::NodeGetInfoResponse {
            node_id: self.inner.cfg.node_id.clone(),
            ..Default::default()
        }))
    }
}
