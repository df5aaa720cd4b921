//! Running mount commands in the host's context, and starting the glusterfs client so that it
//! outlives the node plugin.
//!
//! `mount -t glusterfs` runs the `mount.glusterfs` script, which runs `glusterfs`; that binary
//! forks, the child calls `setsid()`, points its stdio at /dev/null and becomes the FUSE
//! daemon, the parent waits on a pipe until the child has fetched the volfile and activated
//! its graph, then exits; the script stats the mount point and returns. The daemon keeps
//! everything else it inherited: the mount, network and PID namespaces and the cgroups of the
//! mount command. Started from inside the plugin container, it therefore dies when the
//! container runtime kills the container's cgroup, and every application mount of the volume
//! turns into "Transport endpoint is not connected".
//!
//! So the mount command is started (a) in the host's mount and network namespaces (`nsenter`
//! into PID 1's, with hostPID), so the host's `mount.glusterfs` is used and the daemon's
//! sockets do not live in the pod's network namespace, and (b) outside the plugin's cgroup:
//! in a transient systemd scope of its own when the host runs systemd (as kubelet does for
//! its own mounts), otherwise in a new session and in a `heqet-csi-mounts` cgroup in every
//! writable hierarchy, joined between fork and exec so not even the first instruction of the
//! mount command runs in the plugin's cgroup.

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::signal::{killpg, Signal};
use nix::sys::stat::{fstat, SFlag};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::error::NodeError;
use crate::node::health::secs;
use crate::node::mountinfo::{self, MountEntry};

/// Name of the cgroup the mount commands (and so the glusterfs daemons) are moved into when
/// the host has no systemd.
pub const MOUNTS_CGROUP: &str = "heqet-csi-mounts";

/// Directories searched for `mount.glusterfs` (and `systemd-run`) in the host context.
const HELPER_DIRS: [&str; 5] = ["/sbin", "/usr/sbin", "/usr/local/sbin", "/bin", "/usr/bin"];

/// Where `nsenter` is looked for in the plugin's own filesystem.
const LOCAL_BIN_DIRS: [&str; 6] = [
    "/usr/bin",
    "/bin",
    "/usr/sbin",
    "/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
];

/// PATH for commands run in the host's mount namespace: the plugin image's PATH may name
/// directories the host does not have.
const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Per-stream cap on captured output; mount helpers print a few lines, a runaway command must
/// not fill the plugin's memory.
const OUTPUT_CAP: usize = 64 * 1024;

/// After the command exits, how long to keep reading its pipes. A process it left behind may
/// hold them open (glusterfs does not: it reopens stdio on /dev/null).
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// After SIGKILL on timeout, how long to wait for the exit status.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Bound on the one-time `systemd-run ... true` check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest unit key kept in a scope name (systemd allows 255 characters in all).
const UNIT_KEY_MAX: usize = 100;

/// Where mount commands run (`--mount-context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum MountContext {
    /// Host when PID 1 is in another mount namespace and nsenter exists, else Local.
    Auto,
    /// The plugin runs in a container with hostPID: commands run through
    /// `nsenter --target 1 --mount --net --`.
    Host,
    /// Commands run directly (plugin on the host itself, or tests).
    Local,
}

impl fmt::Display for MountContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MountContext::Auto => "auto",
            MountContext::Host => "host",
            MountContext::Local => "local",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown mount context {0:?}: expected auto, host or local")]
pub struct ParseMountContextError(String);

impl FromStr for MountContext {
    type Err = ParseMountContextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MountContext::Auto),
            "host" => Ok(MountContext::Host),
            "local" => Ok(MountContext::Local),
            _ => Err(ParseMountContextError(s.to_string())),
        }
    }
}

/// What a finished command left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// The command line as executed (wrappers included), quoted for a shell.
    pub command: String,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The systemd scope the command ran in, when it ran in one.
    pub unit: Option<String>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The most useful text for an error message: stderr, else stdout, else nothing.
    pub fn message(&self) -> &str {
        let err = self.stderr.trim();
        if err.is_empty() {
            self.stdout.trim()
        } else {
            err
        }
    }

    /// `exit status 32: <stderr>`; what goes into [`NodeError::CommandFailed`].
    pub fn describe(&self) -> String {
        let status = match self.code {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        };
        match self.message() {
            "" => status,
            m => format!("{status}: {m}"),
        }
    }

    /// `Ok(self)` when the command succeeded, else `CommandFailed`.
    pub fn into_result(self, what: &str) -> Result<CommandOutput, NodeError> {
        if self.success() {
            Ok(self)
        } else {
            Err(NodeError::CommandFailed {
                what: what.to_string(),
                command: self.command.clone(),
                output: self.describe(),
            })
        }
    }
}

/// How a long-lived client is taken out of the plugin's lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Detach {
    /// `systemd-run --scope` at this path (in the host context).
    SystemdScope(PathBuf),
    /// New session plus the `heqet-csi-mounts` cgroups.
    OwnCgroup,
}

/// The systemd-run flags the host's systemd understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScopeFlags {
    /// `--scope --collect --quiet` (systemd 236 and later).
    Full,
    /// `--scope` only.
    Basic,
}

/// One systemd-run invocation.
struct Scope<'a> {
    systemd_run: &'a Path,
    flags: ScopeFlags,
    unit: &'a str,
    description: &'a str,
}

/// The cgroups a detached command joins, found once.
#[derive(Debug, Default)]
struct CgroupPlan {
    /// `(hierarchy mount point as the host sees it, <cgroup>/cgroup.procs as we reach it)`.
    targets: Vec<(String, CString)>,
    /// The host's cgroup namespace (Host mode): a process in a private cgroup namespace may
    /// not move itself to a cgroup outside it.
    host_cgroup_ns: Option<OwnedFd>,
    /// Hierarchies that could not be used, with the reason.
    problems: Vec<String>,
}

/// Runs commands in the chosen context; see the module doc.
#[derive(Debug)]
pub struct Launcher {
    context: MountContext,
    /// Why this context (for the startup log).
    reason: String,
    /// `nsenter` in Host mode.
    nsenter: Option<PathBuf>,
    /// How the host's filesystem is reached: `/` or `/proc/1/root`.
    host_root: PathBuf,
    detach: Detach,
    cgroups: OnceLock<CgroupPlan>,
    /// Found on the first detached command (`None`: systemd-run does not work).
    scope_mode: tokio::sync::OnceCell<Option<ScopeFlags>>,
    warned_cgroup: AtomicBool,
    nonce: AtomicU64,
}

impl Launcher {
    /// Resolves `Auto` and finds nsenter, systemd and systemd-run.
    pub fn new(requested: MountContext) -> Launcher {
        let nsenter = find_local_binary("nsenter");
        let (context, reason) = match requested {
            MountContext::Host => (MountContext::Host, "requested".to_string()),
            MountContext::Local => (MountContext::Local, "requested".to_string()),
            MountContext::Auto => match (pid1_mount_ns_differs(), &nsenter) {
                (Ok(true), Some(_)) => (
                    MountContext::Host,
                    "auto: PID 1 is in another mount namespace (hostPID container)".to_string(),
                ),
                (Ok(true), None) => (
                    MountContext::Local,
                    "auto: PID 1 is in another mount namespace, but nsenter is not installed"
                        .to_string(),
                ),
                (Ok(false), _) => (
                    MountContext::Local,
                    "auto: same mount namespace as PID 1".to_string(),
                ),
                (Err(e), _) => (
                    MountContext::Local,
                    format!("auto: cannot compare with PID 1's mount namespace ({e})"),
                ),
            },
        };
        let host_root = match context {
            MountContext::Host => PathBuf::from("/proc/1/root"),
            _ => PathBuf::from("/"),
        };
        let nsenter = match context {
            // An explicit Host without a found nsenter still tries PATH; the first command
            // then fails naming nsenter.
            MountContext::Host => Some(nsenter.unwrap_or_else(|| PathBuf::from("nsenter"))),
            _ => None,
        };
        let mut launcher = Launcher {
            context,
            reason,
            nsenter,
            host_root,
            detach: Detach::OwnCgroup,
            cgroups: OnceLock::new(),
            scope_mode: tokio::sync::OnceCell::new(),
            warned_cgroup: AtomicBool::new(false),
            nonce: AtomicU64::new(0),
        };
        // systemd is what the host runs when /run/systemd/system exists (sd_booted()).
        if launcher
            .host_stat(Path::new("/run/systemd/system"))
            .is_some()
        {
            match launcher.find_in_host("systemd-run") {
                Some(p) => launcher.detach = Detach::SystemdScope(p),
                None => tracing::warn!(
                    "the host runs systemd but has no systemd-run; glusterfs clients get a cgroup of their own instead of a scope"
                ),
            }
        }
        launcher
    }

    /// The resolved context: `Host` or `Local`, never `Auto`.
    pub fn context(&self) -> MountContext {
        self.context
    }

    /// True when long-lived clients go into systemd scopes.
    pub fn uses_systemd(&self) -> bool {
        matches!(self.detach, Detach::SystemdScope(_))
    }

    /// One line for the startup log.
    pub fn description(&self) -> String {
        let place = match self.context {
            MountContext::Host => "host mount and network namespaces via nsenter --target 1",
            _ => "this process's namespaces",
        };
        let detach = match &self.detach {
            Detach::SystemdScope(_) => "each glusterfs client in its own systemd scope".to_string(),
            Detach::OwnCgroup => format!(
                "glusterfs clients in a new session and cgroup {MOUNTS_CGROUP} (no systemd)"
            ),
        };
        format!("{place}, {detach} ({})", self.reason)
    }

    /// The mount table of the context the mounts are made in.
    pub fn mountinfo_path(&self) -> PathBuf {
        match self.context {
            MountContext::Host => PathBuf::from("/proc/1/mountinfo"),
            _ => PathBuf::from("/proc/self/mountinfo"),
        }
    }

    /// The host context's `mount.glusterfs`, as a path valid inside that context.
    pub fn find_mount_helper(&self) -> Option<PathBuf> {
        self.find_in_host("mount.glusterfs")
    }

    /// Runs a short command (umount, mount --bind, mount -o remount) and returns its output
    /// whatever its exit status; fails only when it cannot start or times out.
    pub async fn output(
        &self,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<CommandOutput, NodeError> {
        let what = what_of(argv);
        let line = self.wrap(argv, None);
        let mut cmd = self.command(&line)?;
        // A group of its own, so a timeout kills whatever helper the command started too.
        cmd.process_group(0);
        self.execute(&what, &line, cmd, timeout, None).await
    }

    /// [`Launcher::output`], failing with `CommandFailed` on a non-zero exit.
    pub async fn run(&self, argv: &[&str], timeout: Duration) -> Result<CommandOutput, NodeError> {
        let what = what_of(argv);
        self.output(argv, timeout).await?.into_result(&what)
    }

    /// Runs a command that leaves a long-lived process behind (the glusterfs mount), detached
    /// from the plugin as described in the module doc. `unit_key` (e.g. the volume id) names
    /// the systemd scope. The timeout kills the command's own process group only; a daemon
    /// that has called `setsid()` (glusterfs does) is never signalled.
    pub async fn run_detached(
        &self,
        unit_key: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<CommandOutput, NodeError> {
        let what = what_of(argv);
        if let Detach::SystemdScope(systemd_run) = &self.detach {
            if let Some(flags) = self.scope_flags(systemd_run).await {
                let unit = self.unit_name(unit_key);
                let scope = Scope {
                    systemd_run,
                    flags,
                    unit: &unit,
                    description: &format!("heqet-csi glusterfs client for {unit_key}"),
                };
                let out = self.run_in_scope(&what, argv, &scope, timeout).await?;
                return out.into_result(&what).map(|mut o| {
                    o.unit = Some(unit);
                    o
                });
            }
        }
        self.run_in_own_cgroup(&what, argv, timeout)
            .await?
            .into_result(&what)
    }

    async fn run_in_scope(
        &self,
        what: &str,
        argv: &[&str],
        scope: &Scope<'_>,
        timeout: Duration,
    ) -> Result<CommandOutput, NodeError> {
        let line = self.wrap(argv, Some(scope));
        let mut cmd = self.command(&line)?;
        // systemd moves the process into the scope; the new session keeps it out of the
        // plugin's process group and lets a timeout kill its group only.
        // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        self.execute(what, &line, cmd, timeout, None).await
    }

    async fn run_in_own_cgroup(
        &self,
        what: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<CommandOutput, NodeError> {
        let plan = self.cgroup_plan();
        let line = self.wrap(argv, None);
        let mut cmd = self.command(&line)?;
        let (report_r, report_w) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| NodeError::Io {
                context: "creating a pipe for the cgroup report".into(),
                source: e.into(),
            })?;
        let targets: Vec<CString> = plan.targets.iter().map(|(_, p)| p.clone()).collect();
        let ns_fd = plan.host_cgroup_ns.as_ref().map(|fd| fd.as_raw_fd());
        let report_fd = report_w.as_raw_fd();
        // SAFETY: only async-signal-safe calls (setsid, setns, open, write, close) on data
        // prepared before the fork; nothing allocates.
        unsafe {
            cmd.pre_exec(move || {
                libc::setsid();
                if let Some(fd) = ns_fd {
                    // A failure shows up as failed moves below.
                    libc::setns(fd, libc::CLONE_NEWCGROUP);
                }
                for path in &targets {
                    let mut err: i32 = 0;
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        err = Errno::last_raw();
                    } else {
                        // "0" moves the writing process itself.
                        if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                            err = Errno::last_raw();
                        }
                        libc::close(fd);
                    }
                    let bytes = err.to_ne_bytes();
                    libc::write(report_fd, bytes.as_ptr().cast(), bytes.len());
                }
                Ok(())
            });
        }
        self.execute(what, &line, cmd, timeout, Some((report_r, report_w, plan)))
            .await
    }

    /// Which systemd-run flags work, found once by running `true` in a scope (as kubelet
    /// checks for systemd): `--collect` and `--quiet` need systemd 236, older hosts (CentOS 7
    /// has 219) get the basic form. `None` when no form works (no bus to systemd, say); the
    /// caller then falls back to a cgroup of its own.
    async fn scope_flags(&self, systemd_run: &Path) -> Option<ScopeFlags> {
        let mode = self
            .scope_mode
            .get_or_init(|| async {
                let mut failures = Vec::new();
                for flags in [ScopeFlags::Full, ScopeFlags::Basic] {
                    let unit = self.unit_name("probe");
                    let scope = Scope {
                        systemd_run,
                        flags,
                        unit: &unit,
                        description: "heqet-csi systemd-run check",
                    };
                    match self
                        .run_in_scope("systemd-run", &["true"], &scope, PROBE_TIMEOUT)
                        .await
                    {
                        Ok(out) if out.success() => return Some(flags),
                        Ok(out) => failures.push(format!("`{}`: {}", out.command, out.describe())),
                        Err(e) => failures.push(e.to_string()),
                    }
                }
                tracing::warn!(
                    "systemd-run does not work here, glusterfs clients get a cgroup of their own instead of a scope: {}",
                    failures.join("; ")
                );
                None
            })
            .await;
        *mode
    }

    /// `heqet-csi-<key>-<nonce>.scope`: the key sanitized to systemd's unit name characters;
    /// the nonce keeps a second mount of one volume (a repair while the old client still
    /// hangs) from colliding with the old scope.
    fn unit_name(&self, key: &str) -> String {
        let n = self.nonce.fetch_add(1, Ordering::Relaxed);
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("heqet-csi-{}-{ms:x}{n:x}.scope", sanitize_unit_key(key))
    }

    /// The argv actually executed: nsenter and systemd-run prefixes as the context needs.
    fn wrap(&self, argv: &[&str], scope: Option<&Scope<'_>>) -> Vec<OsString> {
        let mut line: Vec<OsString> = Vec::new();
        if let Some(nsenter) = &self.nsenter {
            line.push(nsenter.clone().into_os_string());
            // PID 1's mount namespace: the host's mount.glusterfs, mounts made on the host.
            // Its network namespace: the client's connections must not live in the pod's
            // network namespace, which goes away with the pod (a no-op with hostNetwork).
            for a in ["--target", "1", "--mount", "--net", "--"] {
                line.push(a.into());
            }
        }
        if let Some(scope) = scope {
            line.push(scope.systemd_run.as_os_str().to_owned());
            line.push("--scope".into());
            if scope.flags == ScopeFlags::Full {
                // Unload the scope when its processes are gone, failed (killed) or not.
                line.push("--collect".into());
                line.push("--quiet".into());
            }
            line.push(format!("--unit={}", scope.unit).into());
            line.push(format!("--description={}", scope.description).into());
            line.push("--".into());
        }
        line.extend(argv.iter().map(OsString::from));
        line
    }

    fn command(&self, line: &[OsString]) -> Result<Command, NodeError> {
        let (program, args) = line
            .split_first()
            .ok_or(NodeError::MissingField("command"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Messages callers may match on ("not mounted") are stable in the C locale.
            .env("LC_ALL", "C")
            // A cancelled request must not leave a mount command running unobserved.
            .kill_on_drop(true);
        if self.context == MountContext::Host {
            cmd.env("PATH", HOST_PATH);
        }
        Ok(cmd)
    }

    async fn execute(
        &self,
        what: &str,
        line: &[OsString],
        mut cmd: Command,
        timeout: Duration,
        report: Option<(OwnedFd, OwnedFd, &CgroupPlan)>,
    ) -> Result<CommandOutput, NodeError> {
        let command = quote_line(line);
        let spawned = cmd.spawn();
        if let Some((report_r, report_w, plan)) = report {
            // Our copy of the write end must go for the read below to see EOF; the child's
            // copy closed at exec, which spawn() has waited for.
            drop(report_w);
            self.check_cgroup_report(report_r, plan, spawned.is_ok());
        }
        let child = spawned.map_err(|e| NodeError::CommandFailed {
            what: what.to_string(),
            command: command.clone(),
            output: format!("cannot start: {e}"),
        })?;
        let (code, stdout, stderr, timed_out) =
            collect(child, timeout).await.map_err(|e| NodeError::Io {
                context: format!("waiting for `{command}`"),
                source: e,
            })?;
        let out = CommandOutput {
            command,
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            unit: None,
        };
        if timed_out {
            let mut output = format!("did not finish within {}s and was killed", secs(timeout));
            if !out.message().is_empty() {
                output.push_str(": ");
                output.push_str(out.message());
            }
            return Err(NodeError::CommandTimeout {
                what: what.to_string(),
                command: out.command,
                output,
            });
        }
        Ok(out)
    }

    /// Reads what the child's pre_exec wrote (one errno per cgroup target) and warns once
    /// when the command was not moved everywhere: the mount still goes ahead, it just would
    /// not survive the plugin container.
    fn check_cgroup_report(&self, report_r: OwnedFd, plan: &CgroupPlan, spawned: bool) {
        let mut bytes = Vec::new();
        let _ = std::fs::File::from(report_r).read_to_end(&mut bytes);
        let mut failures: Vec<String> = plan.problems.clone();
        if plan.targets.is_empty() {
            failures.push("no writable cgroup hierarchy found".to_string());
        }
        if spawned {
            for (i, (hierarchy, _)) in plan.targets.iter().enumerate() {
                let errno = bytes
                    .get(i * 4..i * 4 + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_ne_bytes);
                match errno {
                    Some(0) => {}
                    Some(e) => failures.push(format!(
                        "{hierarchy}: joining {MOUNTS_CGROUP}: {}",
                        std::io::Error::from_raw_os_error(e)
                    )),
                    None => failures.push(format!("{hierarchy}: no report from the child")),
                }
            }
        }
        if !failures.is_empty() && !self.warned_cgroup.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "glusterfs clients may stay in the plugin's cgroup and die with the plugin container: {}",
                failures.join("; ")
            );
        }
    }

    fn cgroup_plan(&self) -> &CgroupPlan {
        self.cgroups.get_or_init(|| self.build_cgroup_plan())
    }

    /// Creates `heqet-csi-mounts` in every cgroup hierarchy of the host context that shows
    /// its root and can be written.
    fn build_cgroup_plan(&self) -> CgroupPlan {
        let mut plan = CgroupPlan::default();
        let entries = match mountinfo::read(&self.mountinfo_path()) {
            Ok(e) => e,
            Err(e) => {
                plan.problems.push(e.to_string());
                return plan;
            }
        };
        if self.context == MountContext::Host {
            match std::fs::File::open("/proc/1/ns/cgroup") {
                Ok(f) => plan.host_cgroup_ns = Some(f.into()),
                Err(e) => plan.problems.push(format!("/proc/1/ns/cgroup: {e}")),
            }
        }
        let mut seen: Vec<(u32, u32)> = Vec::new();
        for e in entries
            .iter()
            .filter(|e| e.fstype == "cgroup" || e.fstype == "cgroup2")
        {
            // One hierarchy may be mounted several times.
            if seen.contains(&e.major_minor) {
                continue;
            }
            seen.push(e.major_minor);
            let shown = e.mount_point.display().to_string();
            if e.root != "/" {
                // Only a subtree is visible (a container's own cgroup): a group made here
                // would sit inside the cgroup we want to leave.
                plan.problems.push(format!(
                    "{shown}: shows only the subtree {}, not the hierarchy's root",
                    e.root
                ));
                continue;
            }
            match self.prepare_cgroup(e) {
                Ok(procs) => plan.targets.push((shown, procs)),
                Err(why) => plan.problems.push(format!("{shown}: {why}")),
            }
        }
        plan
    }

    fn prepare_cgroup(&self, e: &MountEntry) -> Result<CString, String> {
        let base = self.in_host(&e.mount_point);
        let dir = base.join(MOUNTS_CGROUP);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(format!("creating {}: {err}", dir.display())),
        }
        // A new v1 cpuset group has no CPUs or memory nodes, and no task can join it until it
        // gets them: copy the root's.
        if e.fstype == "cgroup" && e.super_options.split(',').any(|o| o == "cpuset") {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let mine = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
                if mine.trim().is_empty() {
                    let root = std::fs::read_to_string(base.join(file))
                        .map_err(|err| format!("reading {file}: {err}"))?;
                    std::fs::write(dir.join(file), root.trim())
                        .map_err(|err| format!("writing {file}: {err}"))?;
                }
            }
        }
        let procs = dir.join("cgroup.procs");
        // Opening for writing moves nothing; it proves the write in pre_exec can work.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&procs)
            .map_err(|err| format!("{}: {err}", procs.display()))?;
        CString::new(procs.as_os_str().as_bytes()).map_err(|err| err.to_string())
    }

    /// A host path as this process reaches it.
    fn in_host(&self, path: &Path) -> PathBuf {
        match self.context {
            MountContext::Host => self.host_root.join(path.strip_prefix("/").unwrap_or(path)),
            _ => path.to_path_buf(),
        }
    }

    /// `stat` of a path in the host context. Through /proc/1/root an absolute symlink (a
    /// merged-/usr host's `/sbin -> /usr/sbin`) would resolve in *our* root; openat2 with
    /// RESOLVE_IN_ROOT resolves it in the host's.
    fn host_stat(&self, path: &Path) -> Option<nix::sys::stat::FileStat> {
        if self.context != MountContext::Host {
            return nix::sys::stat::stat(path).ok();
        }
        let root = std::fs::File::open(&self.host_root).ok()?;
        let rel = path.strip_prefix("/").unwrap_or(path);
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT);
        match nix::fcntl::openat2(&root, rel, how) {
            Ok(fd) => fstat(&fd).ok(),
            // Kernels before 5.6: the plain path, right unless an absolute symlink is on it.
            Err(Errno::ENOSYS) => nix::sys::stat::stat(&self.in_host(path)).ok(),
            Err(_) => None,
        }
    }

    fn find_in_host(&self, name: &str) -> Option<PathBuf> {
        HELPER_DIRS
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| {
                self.host_stat(p).is_some_and(|st| {
                    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG
                        && st.st_mode & 0o111 != 0
                })
            })
    }
}

/// Waits for the child, reading its output, and kills its process group on timeout.
/// Returns `(exit code, stdout, stderr, timed out)`.
async fn collect(
    mut child: Child,
    timeout: Duration,
) -> std::io::Result<(Option<i32>, Vec<u8>, Vec<u8>, bool)> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut b1, mut b2) = ([0u8; 4096], [0u8; 4096]);
    let deadline = Instant::now() + timeout;
    let mut status: Option<ExitStatus> = None;
    let mut drain_until: Option<Instant> = None;
    loop {
        if status.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        tokio::select! {
            r = child.wait(), if status.is_none() => {
                status = Some(r?);
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
            n = read_some(&mut stdout, &mut b1) => append(&mut stdout, &mut out, &b1, n),
            n = read_some(&mut stderr, &mut b2) => append(&mut stderr, &mut err, &b2, n),
            _ = tokio::time::sleep_until(drain_until.unwrap_or(deadline)) => {
                if status.is_some() {
                    // Exited; whatever still holds the pipes is not the command.
                    break;
                }
                // The command and its group (it is the leader: pgid = pid, and the pid
                // cannot be reused before we reap it). A daemon that called setsid() is in
                // another group and is not touched.
                if let Some(pid) = child.id() {
                    let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                }
                let _ = child.start_kill();
                let code = tokio::time::timeout(KILL_GRACE, child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .and_then(|s| s.code());
                return Ok((code, out, err, true));
            }
        }
    }
    Ok((status.and_then(|s| s.code()), out, err, false))
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    r: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

fn append<R>(stream: &mut Option<R>, into: &mut Vec<u8>, buf: &[u8], n: std::io::Result<usize>) {
    match n {
        Ok(0) | Err(_) => *stream = None,
        Ok(n) => {
            let room = OUTPUT_CAP.saturating_sub(into.len());
            into.extend_from_slice(&buf[..n.min(room)]);
        }
    }
}

/// The program name of an argv, for `"<what> failed"`.
fn what_of(argv: &[&str]) -> String {
    argv.first()
        .map(|p| {
            Path::new(p)
                .file_name()
                .map(OsStr::to_string_lossy)
                .unwrap_or_default()
                .into_owned()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "command".to_string())
}

/// Keeps systemd's unit name characters (ASCII letters, digits, `:`, `-`, `_`, `.`), maps the
/// rest to `_`, and bounds the length.
pub fn sanitize_unit_key(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(UNIT_KEY_MAX)
        .collect();
    if s.is_empty() {
        "volume".to_string()
    } else {
        s
    }
}

/// Quotes an argv for a POSIX shell (for logs and error messages).
fn quote_line(line: &[OsString]) -> String {
    line.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
            if plain {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn pid1_mount_ns_differs() -> std::io::Result<bool> {
    Ok(std::fs::read_link("/proc/1/ns/mnt")? != std::fs::read_link("/proc/self/ns/mnt")?)
}

fn find_local_binary(name: &str) -> Option<PathBuf> {
    LOCAL_BIN_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| nix::unistd::access(p.as_path(), nix::unistd::AccessFlags::X_OK).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn mount_context_parses() {
        assert_eq!(
            "auto".parse::<MountContext>().ok(),
            Some(MountContext::Auto)
        );
        assert_eq!(
            " Host ".parse::<MountContext>().ok(),
            Some(MountContext::Host)
        );
        assert_eq!(
            "local".parse::<MountContext>().ok(),
            Some(MountContext::Local)
        );
        let err = "hostpid"
            .parse::<MountContext>()
            .expect_err("not a context");
        assert!(err.to_string().contains("auto, host or local"), "{err}");
        assert_eq!(MountContext::Host.to_string(), "host");
    }

    #[test]
    fn auto_is_local_on_this_machine() {
        // PID 1 here is not in another (readable) mount namespace.
        let l = Launcher::new(MountContext::Auto);
        assert_eq!(l.context(), MountContext::Local, "{}", l.description());
        assert_eq!(l.mountinfo_path(), PathBuf::from("/proc/self/mountinfo"));
        assert!(
            !l.uses_systemd(),
            "PID 1 here is not systemd: {}",
            l.description()
        );
        assert!(l.description().contains("auto:"), "{}", l.description());
        // This machine has the glusterfs client installed.
        let helper = l
            .find_mount_helper()
            .expect("mount.glusterfs installed on this machine");
        assert!(helper.ends_with("mount.glusterfs"));
        assert!(HELPER_DIRS.iter().any(|d| helper.starts_with(d)));
    }

    #[test]
    fn host_mode_wraps_in_nsenter_and_systemd_run() {
        let mut l = Launcher::new(MountContext::Host);
        assert_eq!(l.mountinfo_path(), PathBuf::from("/proc/1/mountinfo"));
        assert_eq!(
            l.in_host(Path::new("/sys/fs/cgroup/pids")),
            PathBuf::from("/proc/1/root/sys/fs/cgroup/pids")
        );
        l.nsenter = Some(PathBuf::from("/usr/bin/nsenter"));
        let mut scope = Scope {
            systemd_run: Path::new("/usr/bin/systemd-run"),
            flags: ScopeFlags::Full,
            unit: "heqet-csi-vol-1.scope",
            description: "heqet-csi glusterfs client for vol",
        };
        let argv = ["mount", "-t", "glusterfs", "h1:/vol", "/mnt/x y"];
        assert_eq!(
            quote_line(&l.wrap(&argv, Some(&scope))),
            "/usr/bin/nsenter --target 1 --mount --net -- /usr/bin/systemd-run --scope --collect --quiet \
             --unit=heqet-csi-vol-1.scope '--description=heqet-csi glusterfs client for vol' -- \
             mount -t glusterfs h1:/vol '/mnt/x y'"
        );
        scope.flags = ScopeFlags::Basic;
        assert_eq!(
            quote_line(&l.wrap(&argv, Some(&scope))),
            "/usr/bin/nsenter --target 1 --mount --net -- /usr/bin/systemd-run --scope \
             --unit=heqet-csi-vol-1.scope '--description=heqet-csi glusterfs client for vol' -- \
             mount -t glusterfs h1:/vol '/mnt/x y'"
        );
        // Short commands get no scope.
        assert_eq!(
            quote_line(&l.wrap(&["umount", "/m"], None)),
            "/usr/bin/nsenter --target 1 --mount --net -- umount /m"
        );
        let local = Launcher::new(MountContext::Local);
        assert_eq!(
            quote_line(&local.wrap(&["umount", "/m"], None)),
            "umount /m"
        );
    }

    #[test]
    fn unit_names_are_sanitized_and_unique() {
        assert_eq!(sanitize_unit_key("pvc-1/vol_α b.c:d"), "pvc-1_vol___b.c:d");
        assert_eq!(sanitize_unit_key(""), "volume");
        assert_eq!(sanitize_unit_key(&"x".repeat(300)).len(), UNIT_KEY_MAX);
        let l = Launcher::new(MountContext::Local);
        let (a, b) = (l.unit_name("vol/1"), l.unit_name("vol/1"));
        assert_ne!(a, b);
        assert!(
            a.starts_with("heqet-csi-vol_1-") && a.ends_with(".scope"),
            "{a}"
        );
        assert!(a.len() < 256);
    }

    #[tokio::test]
    async fn run_true_false_output_and_timeout() {
        let l = Launcher::new(MountContext::Local);
        let ok = l.run(&["true"], secs(10)).await.expect("true succeeds");
        assert!(ok.success());
        assert_eq!(ok.command, "true");

        let err = l.run(&["false"], secs(10)).await.expect_err("false fails");
        let NodeError::CommandFailed {
            what,
            command,
            output,
        } = &err
        else {
            panic!("expected CommandFailed, got {err:?}");
        };
        assert_eq!(
            (what.as_str(), command.as_str(), output.as_str()),
            ("false", "false", "exit status 1")
        );

        let out = l
            .output(
                &[
                    "sh",
                    "-c",
                    "echo to-stdout; echo '  to-stderr  ' >&2; exit 3",
                ],
                secs(10),
            )
            .await
            .expect("runs");
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "to-stdout\n");
        assert_eq!(out.message(), "to-stderr");
        let err = out.into_result("sh").expect_err("exit 3");
        assert_eq!(
            err.to_string(),
            "sh failed: `sh -c 'echo to-stdout; echo '\\''  to-stderr  '\\'' >&2; exit 3'`: exit status 3: to-stderr"
        );

        // The timeout kills the command and what it started in its group.
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("grandchild");
        let script = format!(
            "sleep 60 & echo $! > {}; echo started; wait",
            pidfile.display()
        );
        let started = std::time::Instant::now();
        let err = l
            .run(&["sh", "-c", &script], Duration::from_millis(500))
            .await
            .expect_err("times out");
        assert!(started.elapsed() < secs(5), "took {:?}", started.elapsed());
        let NodeError::CommandTimeout { output, .. } = &err else {
            panic!("expected CommandTimeout, got {err:?}");
        };
        assert!(
            output.starts_with("did not finish within 0.5s and was killed"),
            "{output}"
        );
        assert!(output.ends_with("started"), "{output}");
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .expect("pidfile")
            .trim()
            .parse()
            .expect("pid");
        assert!(
            wait_gone(grandchild, secs(5)),
            "the timed-out command's child {grandchild} still runs"
        );

        let err = l
            .run(&["/nonexistent/binary"], secs(5))
            .await
            .expect_err("cannot start");
        assert!(err.to_string().contains("cannot start"), "{err}");
    }

    /// A stand-in for systemd-run: rejects the options in `$REJECT`, else runs what follows
    /// `--` and records its arguments.
    fn fake_systemd_run(dir: &Path, reject: &str) -> PathBuf {
        let path = dir.join("systemd-run");
        let script = format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do case \"$a\" in {reject}) echo \"unrecognized option '$a'\" >&2; exit 1;; esac; done\n\
             echo \"$@\" >> {log}\n\
             while [ \"$1\" != -- ]; do shift; done; shift\n\
             exec \"$@\"\n",
            log = dir.join("calls").display()
        );
        std::fs::write(&path, script).expect("write fake systemd-run");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        path
    }

    #[tokio::test]
    async fn systemd_run_flags_are_probed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        // An old systemd: no --collect.
        let fake = fake_systemd_run(dir.path(), "--collect|--quiet");
        let mut l = Launcher::new(MountContext::Local);
        l.detach = Detach::SystemdScope(fake.clone());
        for _ in 0..2 {
            let out = l
                .run_detached("pvc/1", &["sh", "-c", "echo in-scope"], secs(10))
                .await
                .expect("runs in a basic scope");
            assert_eq!(out.stdout.trim(), "in-scope");
            let unit = out.unit.expect("scope unit reported");
            assert!(
                unit.starts_with("heqet-csi-pvc_1-") && unit.ends_with(".scope"),
                "{unit}"
            );
            assert!(!out.command.contains("--collect"), "{}", out.command);
        }
        let calls = std::fs::read_to_string(dir.path().join("calls")).expect("calls");
        // One probe (`true`, the full form having failed before it was recorded), two mounts.
        let lines: Vec<&str> = calls.lines().collect();
        assert_eq!(lines.len(), 3, "{calls}");
        assert!(lines[0].ends_with("-- true"), "{calls}");
        assert!(lines[1].contains("--unit=heqet-csi-pvc_1-"), "{calls}");

        // A mount failing inside a working scope is the mount's failure, not a fallback.
        let err = l
            .run_detached(
                "pvc/1",
                &["sh", "-c", "echo 'Mount failed.' >&2; exit 1"],
                secs(10),
            )
            .await
            .expect_err("fails");
        assert!(
            err.to_string().ends_with("exit status 1: Mount failed."),
            "{err}"
        );
    }

    #[tokio::test]
    async fn unusable_systemd_run_falls_back_to_own_cgroup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = fake_systemd_run(dir.path(), "--scope");
        let mut l = Launcher::new(MountContext::Local);
        l.detach = Detach::SystemdScope(fake);
        let out = l
            .run_detached("v", &["sh", "-c", "echo fallback"], secs(10))
            .await
            .expect("runs without systemd");
        assert_eq!(out.stdout.trim(), "fallback");
        assert_eq!(out.unit, None);
        assert_eq!(out.command, "sh -c 'echo fallback'");
    }

    /// The real mount helper through run_detached: its failure comes back with its text, and
    /// the glusterfs process it forked (which reopens stdio on /dev/null) does not keep the
    /// call waiting. Loopback only: nothing listens on 127.0.0.1:24007 here.
    #[tokio::test]
    async fn real_glusterfs_mount_failure_is_reported() {
        let l = Launcher::new(MountContext::Local);
        assert!(
            l.find_mount_helper().is_some(),
            "mount.glusterfs is not installed"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().display().to_string();
        let log = dir.path().join("client.log").display().to_string();
        let opts = format!("log-file={log}");
        let started = std::time::Instant::now();
        let err = l
            .run_detached(
                "no-such-volume",
                &[
                    "mount",
                    "-t",
                    "glusterfs",
                    "-o",
                    &opts,
                    "127.0.0.1:/heqet-no-such-volume",
                    &target,
                ],
                secs(60),
            )
            .await
            .expect_err("nothing serves this volume");
        assert!(started.elapsed() < secs(30), "took {:?}", started.elapsed());
        let NodeError::CommandFailed {
            what,
            command,
            output,
        } = &err
        else {
            panic!("expected CommandFailed, got {err:?}");
        };
        assert_eq!(what, "mount");
        assert!(command.starts_with("mount -t glusterfs"), "{command}");
        assert!(output.contains("failed"), "{output}");
        // The client mounts /dev/fuse before it learns the volfile fetch failed, so on a busy
        // machine its dead mount can outlive the helper's own cleanup for a moment; it must
        // not stay (the node service also unmounts after a failed mount).
        let gone = std::time::Instant::now();
        loop {
            let mounts = mountinfo::read(Path::new("/proc/self/mountinfo")).expect("mountinfo");
            if mountinfo::find_mount_point(&mounts, dir.path()).is_none() {
                break;
            }
            if gone.elapsed() > secs(10) {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(dir.path())
                    .status();
                panic!(
                    "a failed glusterfs mount left a mount at {} for 10 s",
                    dir.path().display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True once `pid` is gone or a zombie.
    fn wait_gone(pid: i32, within: Duration) -> bool {
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            match proc_stat(pid) {
                None => return true,
                Some(st) if st.state == 'Z' => return true,
                Some(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    struct ProcStat {
        state: char,
        pgid: i32,
        sid: i32,
    }

    fn proc_stat(pid: i32) -> Option<ProcStat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may contain spaces.
        let rest = &text[text.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        Some(ProcStat {
            state: f.first()?.chars().next()?,
            pgid: f.get(2)?.parse().ok()?,
            sid: f.get(3)?.parse().ok()?,
        })
    }

    /// Writable cgroup hierarchies that show their root, as `(fstype, mount point)`.
    fn writable_hierarchies() -> Vec<(String, PathBuf)> {
        let entries = mountinfo::read(Path::new("/proc/self/mountinfo")).expect("mountinfo");
        entries
            .iter()
            .filter(|e| (e.fstype == "cgroup" || e.fstype == "cgroup2") && e.root == "/")
            .filter(|e| {
                nix::unistd::access(
                    e.mount_point.join("cgroup.procs").as_path(),
                    nix::unistd::AccessFlags::W_OK,
                )
                .is_ok()
                    && !e.options.split(',').any(|o| o == "ro")
            })
            .map(|e| (e.fstype.clone(), e.mount_point.clone()))
            .collect()
    }

    const PLUGIN_ROLE: &str = "HEQET_CSI_TEST_PLUGIN_DIR";

    /// The property the driver exists for: the client started by a mount survives the death of
    /// the plugin that started it. The test re-executes itself as a "plugin" process in its
    /// own process group and its own cgroups (the way a container runtime places a container);
    /// that plugin runs run_detached of a shell which, like mount.glusterfs, leaves a
    /// long-lived background child behind (a `sleep`, standing in for the glusterfs FUSE
    /// daemon; unlike glusterfs it does not call setsid() itself, so the session it is in is
    /// the one the launcher made). Then the plugin is killed as a runtime does (every process
    /// of its cgroups, and kill -9 of its process group); the stand-in must still run.
    #[tokio::test]
    async fn detached_child_outlives_the_plugin() {
        if let Ok(dir) = std::env::var(PLUGIN_ROLE) {
            return plugin_role(Path::new(&dir)).await;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let hierarchies = writable_hierarchies();

        // The plugin's "container" cgroups.
        let plugin_cgroup = format!("heqet-csi-test-plugin-{}", std::process::id());
        let plugin_groups: Vec<(String, PathBuf)> = hierarchies
            .iter()
            .map(|(t, m)| (t.clone(), m.join(&plugin_cgroup)))
            .collect();
        for (_, g) in &plugin_groups {
            std::fs::create_dir_all(g).expect("create the plugin's test cgroup");
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let (Some(parent), true) = (g.parent(), g.join(file).exists()) {
                    let v = std::fs::read_to_string(parent.join(file)).expect("parent cpuset");
                    std::fs::write(g.join(file), v.trim()).expect("init cpuset");
                }
            }
        }

        let exe = std::env::current_exe().expect("current_exe");
        let name = format!(
            "{}::detached_child_outlives_the_plugin",
            module_path!()
                .split_once("::")
                .map(|(_, m)| m)
                .unwrap_or(module_path!())
        );
        let log_path = dir.path().join("plugin.log");
        let log = std::fs::File::create(&log_path).expect("plugin log");
        let plugin_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let mut plugin = std::process::Command::new(exe)
            .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(PLUGIN_ROLE, dir.path())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start the plugin stand-in");
        let plugin_pid = plugin.id() as i32;
        for (_, g) in &plugin_groups {
            std::fs::write(g.join("cgroup.procs"), plugin_pid.to_string())
                .expect("move the plugin into its cgroup");
        }
        // The plugin waits for this before mounting, so it mounts from inside its cgroups.
        std::fs::write(dir.path().join("go"), "").expect("go file");

        let daemon_file = dir.path().join("daemon.pid");
        let until = std::time::Instant::now() + secs(60);
        while !dir.path().join("ready").exists() {
            assert!(
                std::time::Instant::now() < until,
                "the plugin stand-in did not get ready: {}",
                plugin_log()
            );
            if let Ok(Some(st)) = plugin.try_wait() {
                panic!("the plugin stand-in exited early: {st}: {}", plugin_log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let daemon: i32 = std::fs::read_to_string(&daemon_file)
            .expect("daemon pid")
            .trim()
            .parse()
            .expect("pid");
        let before = proc_stat(daemon).expect("the daemon stand-in runs");
        assert_ne!(before.state, 'Z');

        // Kill the plugin like a container runtime: every process in its cgroups (v2: the
        // cgroup.kill of runc/crun; v1: signal each pid listed), then its process group.
        for (fstype, g) in &plugin_groups {
            if fstype == "cgroup2" && g.join("cgroup.kill").exists() {
                std::fs::write(g.join("cgroup.kill"), "1").expect("cgroup.kill");
            } else {
                let procs = std::fs::read_to_string(g.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        let _ = killpg(Pid::from_raw(plugin_pid), Signal::SIGKILL);
        let status = plugin.wait().expect("reap the plugin");
        assert!(!status.success(), "the plugin was killed: {status}");
        std::thread::sleep(Duration::from_millis(300));

        let after = proc_stat(daemon);
        let survived = matches!(&after, Some(st) if st.state != 'Z');
        // Clean up before asserting, so a failure leaves nothing behind.
        let cgroup_text =
            std::fs::read_to_string(format!("/proc/{daemon}/cgroup")).unwrap_or_default();
        let _ = nix::sys::signal::kill(Pid::from_raw(daemon), Signal::SIGKILL);
        for (_, g) in &plugin_groups {
            let _ = std::fs::remove_dir(g);
        }
        assert!(
            survived,
            "the daemon stand-in {daemon} died with the plugin"
        );
        let after = after.expect("checked above");

        // A session and group of its own (made by the launcher), not the plugin's or ours.
        let (my_pgid, my_sid) = (
            nix::unistd::getpgid(None).expect("getpgid").as_raw(),
            nix::unistd::getsid(None).expect("getsid").as_raw(),
        );
        assert_ne!(after.pgid, plugin_pid);
        assert_ne!(after.sid, plugin_pid);
        assert_ne!(after.sid, my_sid);
        assert_ne!(after.pgid, my_pgid);
        assert_eq!(
            after.sid, after.pgid,
            "the stand-in sits in the session the launcher made"
        );

        // In heqet-csi-mounts in every writable hierarchy.
        for (fstype, mount) in &hierarchies {
            let path_in = cgroup_line(&cgroup_text, fstype, mount);
            assert_eq!(
                path_in.as_deref(),
                Some(&*format!("/{MOUNTS_CGROUP}")),
                "cgroup of the daemon in {}: {cgroup_text}",
                mount.display()
            );
        }
        println!("writable hierarchies checked: {}", hierarchies.len());
    }

    /// The cgroup path of the hierarchy mounted at `mount` in /proc/<pid>/cgroup text.
    fn cgroup_line(text: &str, fstype: &str, mount: &Path) -> Option<String> {
        let entries = mountinfo::read(Path::new("/proc/self/mountinfo")).ok()?;
        let e = entries.iter().find(|e| e.mount_point == mount)?;
        let controllers: Vec<&str> = e
            .super_options
            .split(',')
            .filter(|o| *o != "rw" && *o != "ro")
            .collect();
        text.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
            let matches = if fstype == "cgroup2" {
                ctl.is_empty()
            } else {
                let mine: Vec<&str> = ctl.split(',').collect();
                !ctl.is_empty() && mine.iter().all(|c| controllers.contains(c))
            };
            matches.then(|| path.to_string())
        })
    }

    /// The "plugin" half of detached_child_outlives_the_plugin.
    async fn plugin_role(dir: &Path) {
        let until = std::time::Instant::now() + secs(30);
        while !dir.join("go").exists() {
            assert!(std::time::Instant::now() < until, "no go from the test");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let l = Launcher::new(MountContext::Local);
        // The "mount command": starts the daemon stand-in in the background with stdio away
        // from our pipes (as glusterfs does), records its pid and returns.
        let script = format!(
            "sleep 600 </dev/null >/dev/null 2>&1 & echo $! > {}/daemon.pid; echo mounted",
            dir.display()
        );
        let out = l
            .run_detached("test/volume", &["sh", "-c", &script], secs(20))
            .await
            .expect("run_detached");
        assert_eq!(out.stdout.trim(), "mounted");
        std::fs::write(dir.join("ready"), "").expect("ready file");
        // Stay alive like a plugin until killed.
        tokio::time::sleep(secs(120)).await;
    }
}
