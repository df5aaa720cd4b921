//! The node command layer: the [`Executor`] trait implemented over any [`Transport`], running
//! the commands of docs/node-commands.md (with the improvements noted there:
//! device inspection, argv-only commands, undo on failure).
//!
//! Each concern has its own module: [`device`] (PV/VG), [`brick`] (thin LV, xfs, fstab, mount),
//! [`gluster`] (volumes, peers, snapshots), [`parse`] (pure output parsers). Command lines are
//! built by pure functions on [`NodeCommands`]; [`CommandExecutor`] only sequences them.

pub mod brick;
pub mod device;
#[cfg(test)]
mod fake;
pub mod gluster;
#[cfg(test)]
mod limit_tests;
pub mod parse;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::limits::HostLimits;
use crate::transport::{Cmd, CmdOutput, Transport};
use crate::{
    BrickAddr, BrickSpec, DeviceRef, DeviceReport, DeviceSetup, ExecError, ExecResult, Executor,
    HealInfo, NodeTarget, VolumeSpec, VolumeStatus,
};

const MINUTE: u64 = 60;
/// heketi's per-command timeouts (docs/node-commands.md §1.2).
pub const DEVICE_TIMEOUT: Duration = Duration::from_secs(5 * MINUTE);
pub const BRICK_CREATE_TIMEOUT: Duration = Duration::from_secs(10 * MINUTE);
pub const BRICK_DESTROY_TIMEOUT: Duration = Duration::from_secs(5 * MINUTE);
pub const GLUSTERD_CHECK_TIMEOUT: Duration = Duration::from_secs(10 * MINUTE);

/// How to tell whether glusterd runs on a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GlusterdCheck {
    /// `systemctl status glusterd` where the node booted with systemd, else `pool list`.
    #[default]
    Auto,
    /// `systemctl status glusterd` (heketi's check).
    Systemctl,
    /// `gluster --mode=script pool list`: glusterd answers.
    Cli,
    /// `pidof glusterd`: the process exists.
    Pidof,
}

/// Node-side knobs, named as in heketi's `sshexec`/`kubeexec` config blocks
/// (docs/node-commands.md §1.4); every field is optional in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandConfig {
    /// Prefix for `/usr/sbin/lvm` and `/usr/bin/udevadm`, split like a shell would
    /// (e.g. `/usr/local/bin/lvm-in-ns node1`). Empty = none. heketi: env `HEKETI_LVM_WRAPPER`.
    pub lvm_wrapper: String,
    pub fstab: String,
    pub mountopts: String,
    pub pv_data_alignment: String,
    pub vg_physicalextentsize: String,
    pub lv_chunksize: String,
    /// mkfs.xfs stripe width/unit; used only when both are non-zero.
    pub xfs_sw: u64,
    pub xfs_su: u64,
    /// Seconds; gluster commands get `--timeout=<this>`.
    pub gluster_cli_timeout: u64,
    pub backup_lvm_metadata: bool,
    /// `snapshot config snap-max-hard-limit` after a peer probe; 0 = leave alone.
    pub snapshot_limit: u32,
    pub glusterd_check: GlusterdCheck,
    /// At most this many commands run at once on one node. Kept for existing configs; the
    /// limit itself is the transport's (the executor's one per-host limiter,
    /// [`crate::transport::Limited`]): [`crate::ssh::ssh_executor`] and
    /// [`crate::kube::kube_executor`] use the smaller of this and `max_channels_per_host` /
    /// `max_execs_per_host`. [`CommandExecutor::new`] does not read it: a transport built by
    /// hand brings its own limit. Default 8; 0 counts as 1.
    pub max_commands_per_host: usize,
    /// Run `lsof <mount point>` when an unmount fails, for the log.
    pub debug_umount_failures: bool,
}

impl Default for CommandConfig {
    fn default() -> Self {
        CommandConfig {
            lvm_wrapper: String::new(),
            fstab: "/etc/fstab".into(),
            mountopts: "rw,inode64,noatime,nouuid".into(),
            pv_data_alignment: "256K".into(),
            vg_physicalextentsize: "4M".into(),
            lv_chunksize: "256K".into(),
            xfs_sw: 0,
            xfs_su: 0,
            gluster_cli_timeout: 600,
            backup_lvm_metadata: false,
            snapshot_limit: 0,
            glusterd_check: GlusterdCheck::Auto,
            max_commands_per_host: 8,
            debug_umount_failures: false,
        }
    }
}

impl CommandConfig {
    /// heketi's environment overrides (`HEKETI_FSTAB`, `HEKETI_LVM_WRAPPER`,
    /// `HEKETI_MOUNT_OPTS`, `HEKETI_SNAPSHOT_LIMIT`, `HEKETI_GLUSTER_CLI_TIMEOUT`); unparsable
    /// numbers are ignored, as heketi does.
    pub fn apply_env(&mut self) {
        self.apply_env_from(|k| std::env::var(k).ok());
    }

    pub fn apply_env_from(&mut self, get: impl Fn(&str) -> Option<String>) {
        let set = |k: &str| get(k).filter(|v| !v.is_empty());
        if let Some(v) = set("HEKETI_FSTAB") {
            self.fstab = v;
        }
        if let Some(v) = set("HEKETI_LVM_WRAPPER") {
            self.lvm_wrapper = v;
        }
        if let Some(v) = set("HEKETI_MOUNT_OPTS") {
            self.mountopts = v;
        }
        if let Some(n) = set("HEKETI_SNAPSHOT_LIMIT").and_then(|v| v.parse().ok()) {
            self.snapshot_limit = n;
        }
        if let Some(n) = set("HEKETI_GLUSTER_CLI_TIMEOUT").and_then(|v| v.parse().ok()) {
            self.gluster_cli_timeout = n;
        }
    }
}

/// Pure builder of node command lines from the config. No I/O.
#[derive(Clone, Debug)]
pub struct NodeCommands {
    pub cfg: CommandConfig,
    wrapper: Vec<String>,
}

impl NodeCommands {
    pub fn new(cfg: CommandConfig) -> ExecResult<Self> {
        let wrapper = if cfg.lvm_wrapper.trim().is_empty() {
            Vec::new()
        } else {
            shlex::split(&cfg.lvm_wrapper).ok_or_else(|| {
                ExecError::Other(format!(
                    "lvm_wrapper {:?} is not valid shell words",
                    cfg.lvm_wrapper
                ))
            })?
        };
        Ok(NodeCommands { cfg, wrapper })
    }

    fn wrapped(&self, program: &str, args: Vec<String>, timeout: Duration) -> Cmd {
        let mut argv = self.wrapper.clone();
        argv.push(program.to_string());
        argv.extend(args);
        Cmd { argv, timeout }
    }

    /// `[<wrapper>] /usr/sbin/lvm <args>`.
    pub fn lvm(&self, args: Vec<String>, timeout: Duration) -> Cmd {
        self.wrapped("/usr/sbin/lvm", args, timeout)
    }

    /// `[<wrapper>] /usr/bin/udevadm <args>`.
    pub fn udevadm(&self, args: Vec<String>, timeout: Duration) -> Cmd {
        self.wrapped("/usr/bin/udevadm", args, timeout)
    }

    /// `--autobackup=y|n` per `backup_lvm_metadata`.
    fn autobackup(&self) -> String {
        format!(
            "--autobackup={}",
            if self.cfg.backup_lvm_metadata {
                "y"
            } else {
                "n"
            }
        )
    }

    /// Timeout of one gluster command: max(10, 1 + (cli_timeout + 1) / 60) minutes.
    pub fn gluster_timeout(&self) -> Duration {
        let minutes = std::cmp::max(10, 1 + (self.cfg.gluster_cli_timeout + 1) / 60);
        Duration::from_secs(minutes * MINUTE)
    }
}

/// Build a `Vec<String>` from string-ish items.
pub(crate) fn args<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

/// The command layer over a transport. One per transport; cheap to share behind an `Arc`.
/// It takes no per-host permit itself: the transport is the one place that does (see
/// [`Transport`]), so commands of every kind, and commands run on the transport directly,
/// share one budget per node.
pub struct CommandExecutor<T: Transport> {
    transport: T,
    cmds: NodeCommands,
    /// fstab edits of one node are serialized: an append racing a `sed -i` loses the line.
    /// A mutual exclusion (one permit per node), not a concurrency limit.
    fstab_locks: HostLimits,
    /// Result of the systemd probe per node, for `GlusterdCheck::Auto`.
    systemd: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

impl<T: Transport> CommandExecutor<T> {
    pub fn new(transport: T, config: CommandConfig) -> ExecResult<Self> {
        Ok(CommandExecutor {
            transport,
            cmds: NodeCommands::new(config)?,
            fstab_locks: HostLimits::new(1),
            systemd: Default::default(),
        })
    }

    pub fn config(&self) -> &CommandConfig {
        &self.cmds.cfg
    }

    pub fn commands(&self) -> &NodeCommands {
        &self.cmds
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Run a command; any exit status is returned as output.
    async fn exec(&self, host: &str, cmd: &Cmd) -> ExecResult<CmdOutput> {
        let started = std::time::Instant::now();
        let res = self.transport.run(host, cmd).await;
        match &res {
            Ok(out) => tracing::debug!(
                host,
                command = %cmd.display(),
                status = out.status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "node command"
            ),
            Err(e) => tracing::warn!(host, command = %cmd.display(), error = %e, "node command"),
        }
        res
    }

    /// Run a command that must succeed.
    async fn run(&self, host: &str, cmd: &Cmd) -> ExecResult<CmdOutput> {
        let out = self.exec(host, cmd).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(command_error(host, cmd, &out))
        }
    }

    /// Run a command whose failure only gets logged (cleanup steps).
    async fn run_logged(&self, host: &str, cmd: &Cmd) {
        if let Err(e) = self.run(host, cmd).await {
            tracing::warn!(host, error = %e, "ignored failure");
        }
    }
}

/// The error for a command that exited non-zero.
pub(crate) fn command_error(host: &str, cmd: &Cmd, out: &CmdOutput) -> ExecError {
    ExecError::Command {
        host: host.to_string(),
        command: cmd.display(),
        status: out.status,
        stderr: out.message(),
    }
}

pub(crate) fn parse_error(host: &str, cmd: &Cmd, message: impl Into<String>) -> ExecError {
    ExecError::Parse {
        host: host.to_string(),
        command: cmd.display(),
        message: message.into(),
    }
}

/// Was this failure a "no such object" answer (LVM, gluster)? Used where absence is the goal.
pub(crate) fn is_not_found(e: &ExecError) -> bool {
    match e {
        ExecError::Command { stderr, .. } => {
            let s = stderr.to_ascii_lowercase();
            s.contains("not found") || s.contains("failed to find") || s.contains("no pv found")
        }
        _ => false,
    }
}

/// Did the command run and answer (as opposed to: unknown whether it ran)?
pub(crate) fn ran(e: &ExecError) -> bool {
    matches!(e, ExecError::Command { .. } | ExecError::Parse { .. })
}

/// Refuse values that would be read as an option or that LVM/paths cannot hold. Names come
/// from the server (ids are hex) but this is the last line before a root shell.
pub(crate) fn check_name(host: &str, what: &str, value: &str) -> ExecResult<()> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(ExecError::Other(format!(
            "{host}: refusing {what} {value:?}: only letters, digits and _ . - + are allowed"
        )))
    }
}

/// Device paths must be absolute (a leading `-` would be an option to wipefs/pvcreate).
pub(crate) fn check_device(host: &str, device: &str) -> ExecResult<()> {
    if device.starts_with('/') && !device.contains('\n') && !device.contains('\0') {
        Ok(())
    } else {
        Err(ExecError::Other(format!(
            "{host}: refusing device {device:?}: not an absolute path"
        )))
    }
}

#[async_trait]
impl<T: Transport> Executor for CommandExecutor<T> {
    fn name(&self) -> &'static str {
        self.transport.name()
    }

    async fn glusterd_check(&self, node: &NodeTarget) -> ExecResult<()> {
        self.check_glusterd(&node.manage).await
    }

    async fn peer_probe(&self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        self.probe(&on.manage, storage).await
    }

    async fn peer_detach(&self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        self.detach(&on.manage, storage).await
    }

    async fn device_setup(
        &self,
        node: &NodeTarget,
        device: &DeviceSetup,
    ) -> ExecResult<DeviceReport> {
        self.setup_device(&node.manage, device).await
    }

    async fn device_teardown(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
        force: bool,
    ) -> ExecResult<()> {
        self.teardown_device(&node.manage, device, force).await
    }

    async fn device_resync(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
    ) -> ExecResult<DeviceReport> {
        self.resync_device(&node.manage, device).await
    }

    async fn brick_create(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<()> {
        self.create_brick(&node.manage, brick).await
    }

    async fn brick_destroy(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<bool> {
        self.destroy_brick(&node.manage, brick).await
    }

    async fn volume_create(&self, on: &NodeTarget, volume: &VolumeSpec) -> ExecResult<()> {
        self.create_volume(&on.manage, volume).await
    }

    async fn volume_expand(
        &self,
        on: &NodeTarget,
        volume: &VolumeSpec,
        rebalance: bool,
    ) -> ExecResult<()> {
        self.expand_volume(&on.manage, volume, rebalance).await
    }

    async fn volume_destroy(&self, on: &NodeTarget, name: &str) -> ExecResult<()> {
        self.destroy_volume(&on.manage, name).await
    }

    async fn volume_info(&self, on: &NodeTarget, name: &str) -> ExecResult<VolumeStatus> {
        self.info_volume(&on.manage, name).await
    }

    async fn volume_clone(
        &self,
        on: &NodeTarget,
        origin: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus> {
        self.clone_volume(&on.manage, origin, clone).await
    }

    async fn heal_info(&self, on: &NodeTarget, name: &str) -> ExecResult<HealInfo> {
        self.volume_heal_info(&on.manage, name).await
    }

    async fn replace_brick(
        &self,
        on: &NodeTarget,
        name: &str,
        old: &BrickAddr,
        new: &BrickAddr,
    ) -> ExecResult<()> {
        self.volume_replace_brick(&on.manage, name, old, new).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gluster_timeout_follows_heketi() {
        let mut cfg = CommandConfig::default();
        let t = |cfg: &CommandConfig| NodeCommands::new(cfg.clone()).unwrap().gluster_timeout();
        assert_eq!(t(&cfg), Duration::from_secs(11 * 60));
        cfg.gluster_cli_timeout = 120;
        assert_eq!(t(&cfg), Duration::from_secs(10 * 60));
        cfg.gluster_cli_timeout = 1800;
        assert_eq!(t(&cfg), Duration::from_secs(31 * 60));
    }

    #[test]
    fn wrapper_prefixes_lvm_and_udevadm_only() {
        let cfg = CommandConfig {
            lvm_wrapper: "/opt/lvm wrap 'node 1'".into(),
            ..Default::default()
        };
        let c = NodeCommands::new(cfg).unwrap();
        let cmd = c.lvm(args(["pvs"]), DEVICE_TIMEOUT);
        assert_eq!(
            cmd.argv,
            vec!["/opt/lvm", "wrap", "node 1", "/usr/sbin/lvm", "pvs"]
        );
        let cmd = c.udevadm(args(["info"]), DEVICE_TIMEOUT);
        assert_eq!(cmd.argv[3], "/usr/bin/udevadm");
        assert!(NodeCommands::new(CommandConfig {
            lvm_wrapper: "'unclosed".into(),
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn config_reads_heketi_json_names() {
        let cfg: CommandConfig = serde_json::from_str(
            r#"{"fstab": "/var/lib/heketi/fstab", "backup_lvm_metadata": true,
                "snapshot_limit": 14, "glusterd_check": "pidof", "unknown_key": 1}"#,
        )
        .unwrap();
        assert_eq!(cfg.fstab, "/var/lib/heketi/fstab");
        assert!(cfg.backup_lvm_metadata);
        assert_eq!(cfg.snapshot_limit, 14);
        assert_eq!(cfg.glusterd_check, GlusterdCheck::Pidof);
        assert_eq!(cfg.mountopts, "rw,inode64,noatime,nouuid");
    }

    #[test]
    fn heketi_env_overrides() {
        let mut cfg = CommandConfig::default();
        cfg.apply_env_from(|k| match k {
            "HEKETI_FSTAB" => Some("/var/lib/heketi/fstab".into()),
            "HEKETI_SNAPSHOT_LIMIT" => Some("14".into()),
            "HEKETI_GLUSTER_CLI_TIMEOUT" => Some("nope".into()),
            "HEKETI_MOUNT_OPTS" => Some(String::new()),
            _ => None,
        });
        assert_eq!(cfg.fstab, "/var/lib/heketi/fstab");
        assert_eq!(cfg.snapshot_limit, 14);
        assert_eq!(cfg.gluster_cli_timeout, 600);
        assert_eq!(cfg.mountopts, "rw,inode64,noatime,nouuid");
    }

    #[test]
    fn names_and_devices_are_checked() {
        assert!(check_name("h", "id", "0123abcdef").is_ok());
        assert!(check_name("h", "lv", "brick_0a").is_ok());
        for bad in ["", "-rf", "a b", "a;b", "$(x)", "a/b", "a\nb"] {
            assert!(check_name("h", "id", bad).is_err(), "{bad:?}");
        }
        assert!(check_device("h", "/dev/sdb").is_ok());
        assert!(check_device("h", "--all").is_err());
        assert!(check_device("h", "sdb").is_err());
    }
}
