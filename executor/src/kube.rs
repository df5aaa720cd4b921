//! Kubernetes transport: each command is an `exec` into the glusterfs pod of the node, found
//! the way heketi's kube executor finds it (docs/node-commands.md §1.1).
//!
//! - API access: a kubeconfig (`kubeconfig` key, else `$KUBECONFIG`), else the pod's service
//!   account (in-cluster), else `~/.kube/config`.
//! - Pod: by label `glusterfs-node=<host>` (default), by `spec.nodeName == <host>` among the
//!   pods matching `selector` (`gluster_daemonset`), or by name (`use_pod_names`). Lookups are
//!   cached for `pod_cache_seconds` and redone when an exec into the cached pod cannot start
//!   (pods get recreated under new names by their DaemonSet/Deployment).
//! - Command: the argv as is (no shell), prefixed by `timeout <N>m` unless
//!   `disable_timeout_prefix`; exit status from the status channel; exit 124 with the prefix is
//!   a timeout. The client gives up a little after the node-side limit.
//! - Concurrency: at most `max_execs_per_host` execs run at once per node, by the executor's
//!   one per-host limiter ([`crate::transport::Limited`]; [`KubeTransport`] is that wrapper
//!   around a private wire).
//!
//! Bricks live in the pod's mount namespace: after a glusterfs pod restart nothing remounts
//! them unless the container replays the fstab heqet writes (default `/var/lib/heketi/fstab`,
//! as heketi's templates) at start: see `deploy/glusterfs-start.sh`.

mod pods;
mod proto;

pub use pods::{LookupError, LookupMode, PodQuery, PodTarget, NODE_LABEL};
pub use proto::{client_deadline, exec_argv, outcome, timeout_minutes, ExecOutcome};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::kube::api::{Api, AttachParams, ListParams};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;

use crate::transport::{Cmd, CmdOutput, Limited, Transport, Wire};
use crate::ExecError;

/// Where the service account's namespace is mounted in every pod.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// heketi's Kubernetes templates keep the fstab on the host path shared with the gluster
/// container, which replays it at start.
pub const KUBE_DEFAULT_FSTAB: &str = "/var/lib/heketi/fstab";

/// The transport part of heketi.json's `kubeexec` block (heketi's field names), plus heqet's
/// additions. Every field is optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubeConfig {
    /// Namespace of the glusterfs pods. Empty = the kubeconfig context's namespace, or in a
    /// pod the service account's namespace, else `default`. heketi: env
    /// `HEKETI_KUBE_NAMESPACE`.
    pub namespace: String,
    /// Find pods by `spec.nodeName` among pods matching `selector`. heketi: env
    /// `HEKETI_KUBE_GLUSTER_DAEMONSET`.
    pub gluster_daemonset: bool,
    /// The management hostname is the pod's name. heketi: env `HEKETI_KUBE_USE_POD_NAMES`.
    pub use_pod_names: bool,
    /// Label selector of glusterfs pods in `gluster_daemonset` mode (default
    /// `glusterfs-node`: the label key is present).
    pub selector: String,
    /// Container to exec into; empty = the pod's first container (heketi).
    pub container: String,
    /// kubeconfig file; empty = `$KUBECONFIG`, else in-cluster, else `~/.kube/config`.
    pub kubeconfig: PathBuf,
    /// Send the argv without heketi's `timeout <N>m` prefix (images without coreutils
    /// `timeout`); the client-side deadline is then the command's own timeout.
    pub disable_timeout_prefix: bool,
    /// Concurrent execs (= commands) per node. Default 8; 0 counts as 1. [`kube_executor`]
    /// applies the smaller of this and the command layer's `max_commands_per_host` as the one
    /// per-host limit; [`KubeTransport::new`] applies this alone.
    pub max_execs_per_host: usize,
    /// How long a pod lookup is reused.
    pub pod_cache_seconds: u64,
}

impl Default for KubeConfig {
    fn default() -> Self {
        KubeConfig {
            namespace: String::new(),
            gluster_daemonset: false,
            use_pod_names: false,
            selector: NODE_LABEL.to_string(),
            container: String::new(),
            kubeconfig: PathBuf::new(),
            disable_timeout_prefix: false,
            max_execs_per_host: 8,
            pod_cache_seconds: 30,
        }
    }
}

/// heketi's yes/no env values: first letter `y`/`1` or `n`/`0`; anything else is ignored.
fn env_flag(v: &str) -> Option<bool> {
    match v.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('y') | Some('1') => Some(true),
        Some('n') | Some('0') => Some(false),
        _ => None,
    }
}

impl KubeConfig {
    /// heketi's env overrides: `HEKETI_KUBE_NAMESPACE`, `HEKETI_KUBE_GLUSTER_DAEMONSET`,
    /// `HEKETI_KUBE_USE_POD_NAMES`.
    pub fn apply_env_from(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(ns) = get("HEKETI_KUBE_NAMESPACE").filter(|v| !v.is_empty()) {
            self.namespace = ns;
        }
        if let Some(b) = get("HEKETI_KUBE_GLUSTER_DAEMONSET").and_then(|v| env_flag(&v)) {
            self.gluster_daemonset = b;
        }
        if let Some(b) = get("HEKETI_KUBE_USE_POD_NAMES").and_then(|v| env_flag(&v)) {
            self.use_pod_names = b;
        }
    }

    /// The lookup mode; `use_pod_names` wins over `gluster_daemonset`, as in heketi.
    pub fn mode(&self) -> LookupMode {
        if self.use_pod_names {
            LookupMode::PodName
        } else if self.gluster_daemonset {
            LookupMode::DaemonSet {
                selector: if self.selector.trim().is_empty() {
                    NODE_LABEL.to_string()
                } else {
                    self.selector.trim().to_string()
                },
            }
        } else {
            LookupMode::Label
        }
    }
}

/// A whole `kubeexec` block: transport fields and node-command knobs side by side, as heketi
/// has them. `fstab` defaults to [`KUBE_DEFAULT_FSTAB`] here (heketi's templates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawKubeExecConfig")]
pub struct KubeExecConfig {
    #[serde(flatten)]
    pub kube: KubeConfig,
    #[serde(flatten)]
    pub commands: crate::commands::CommandConfig,
}

impl Default for KubeExecConfig {
    fn default() -> Self {
        RawKubeExecConfig::default().into()
    }
}

/// `fstab` taken out before the flattened [`crate::commands::CommandConfig`] sees it, so that
/// its absence means the kube default rather than `/etc/fstab`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawKubeExecConfig {
    fstab: Option<String>,
    #[serde(flatten)]
    kube: KubeConfig,
    #[serde(flatten)]
    commands: crate::commands::CommandConfig,
}

impl From<RawKubeExecConfig> for KubeExecConfig {
    fn from(raw: RawKubeExecConfig) -> Self {
        let mut commands = raw.commands;
        commands.fstab = raw
            .fstab
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| KUBE_DEFAULT_FSTAB.to_string());
        KubeExecConfig {
            kube: raw.kube,
            commands,
        }
    }
}

impl KubeExecConfig {
    /// heketi's environment overrides of both halves (`HEKETI_KUBE_*`, `HEKETI_FSTAB`, …).
    pub fn apply_env(&mut self) {
        let get = |k: &str| std::env::var(k).ok();
        self.kube.apply_env_from(get);
        self.commands.apply_env_from(get);
    }
}

/// The kube executor: the command layer over a [`KubeTransport`] whose per-host limit is the
/// smaller of `max_execs_per_host` and `max_commands_per_host` (both default 8).
pub fn kube_executor(
    cfg: KubeExecConfig,
) -> Result<crate::commands::CommandExecutor<KubeTransport>, ExecError> {
    let per_host = crate::limits::smallest([
        cfg.kube.max_execs_per_host,
        cfg.commands.max_commands_per_host,
    ]);
    let transport = KubeTransport::with_per_host_limit(cfg.kube, per_host)?;
    crate::commands::CommandExecutor::new(transport, cfg.commands)
}

/// Where API access comes from. The client itself is made on first use: building it needs a
/// tokio runtime, and reading the configuration does not, so a bad kubeconfig still fails at
/// startup.
enum Source {
    Kubeconfig {
        config: Box<Kubeconfig>,
        path: String,
    },
    InCluster(Box<kube::Config>),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Kubeconfig { path, .. } => format!("kubeconfig {path}"),
            Source::InCluster(_) => "the in-cluster service account".into(),
        }
    }

    /// The namespace this source implies: the current context's, or the service account's.
    fn namespace(&self) -> Option<String> {
        match self {
            Source::Kubeconfig { config, .. } => {
                let current = config.current_context.as_deref()?;
                config
                    .contexts
                    .iter()
                    .find(|c| c.name == current)
                    .and_then(|c| c.context.as_ref())
                    .and_then(|c| c.namespace.clone())
            }
            Source::InCluster(c) => Some(c.default_namespace.clone()),
        }
    }
}

fn read_kubeconfig(path: &Path) -> Result<Source, ExecError> {
    let config = Kubeconfig::read_from(path).map_err(|e| {
        ExecError::Other(format!(
            "kubernetes: cannot read kubeconfig {}: {e}",
            path.display()
        ))
    })?;
    Ok(Source::Kubeconfig {
        config: Box::new(config),
        path: path.display().to_string(),
    })
}

/// Resolve API access: explicit path, `$KUBECONFIG`, in-cluster, `~/.kube/config`.
fn resolve_source(explicit: &Path) -> Result<Source, ExecError> {
    if !explicit.as_os_str().is_empty() {
        return read_kubeconfig(explicit);
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let config = Kubeconfig::from_env()
            .map_err(|e| {
                ExecError::Other(format!(
                    "kubernetes: cannot read KUBECONFIG={}: {e}",
                    v.to_string_lossy()
                ))
            })?
            .ok_or_else(|| ExecError::Other("kubernetes: KUBECONFIG is empty".into()))?;
        return Ok(Source::Kubeconfig {
            config: Box::new(config),
            path: format!("KUBECONFIG={}", v.to_string_lossy()),
        });
    }
    let in_cluster = match kube::Config::incluster() {
        Ok(c) => return Ok(Source::InCluster(Box::new(c))),
        Err(e) => e,
    };
    if let Some(home) = std::env::var_os("HOME") {
        let p = Path::new(&home).join(".kube/config");
        if p.is_file() {
            return read_kubeconfig(&p);
        }
    }
    Err(ExecError::Other(format!(
        "kubernetes: no API access configured: set kubeexec.kubeconfig or KUBECONFIG, or run \
         heqet in a pod with a service account (in-cluster: {in_cluster})"
    )))
}

/// A pod lookup and when it was made.
#[derive(Clone)]
struct Cached {
    target: PodTarget,
    at: Instant,
}

/// Runs commands by exec into the nodes' glusterfs pods, at most `per_host` at once per node.
pub struct KubeTransport {
    limited: Limited<KubeWire>,
}

impl KubeTransport {
    /// Read the configuration now, so a bad kubeconfig is a startup error. At most
    /// `max_execs_per_host` execs per node.
    pub fn new(cfg: KubeConfig) -> Result<Self, ExecError> {
        let per_host = cfg.max_execs_per_host;
        Self::with_per_host_limit(cfg, per_host)
    }

    /// Like [`KubeTransport::new`] with another per-host limit (the combined one of
    /// [`kube_executor`]).
    pub(crate) fn with_per_host_limit(cfg: KubeConfig, per_host: usize) -> Result<Self, ExecError> {
        Ok(KubeTransport {
            limited: Limited::new(KubeWire::new(cfg)?, per_host),
        })
    }

    pub fn config(&self) -> &KubeConfig {
        &self.limited.wire().cfg
    }

    /// The namespace searched for glusterfs pods.
    pub fn namespace(&self) -> &str {
        &self.limited.wire().namespace
    }

    /// Execs allowed at once per node.
    pub fn per_host_limit(&self) -> usize {
        self.limited.per_host()
    }
}

#[async_trait]
impl Transport for KubeTransport {
    fn name(&self) -> &'static str {
        self.limited.name()
    }

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        self.limited.run(host, cmd).await
    }
}

/// The exec wire: pod lookups and execs, no limit of its own. Private, so that the only way
/// to exec into a node's pod is through [`KubeTransport`]'s limiter.
struct KubeWire {
    cfg: KubeConfig,
    namespace: String,
    mode: LookupMode,
    source: Source,
    client: OnceCell<kube::Client>,
    pods: Mutex<HashMap<String, Cached>>,
}

/// Why an exec did not get going (nothing ran yet, so trying another pod is safe) or why it
/// must not be retried.
enum StartError {
    /// Worth a fresh lookup and one more try (pod gone, container gone, connection refused…).
    Retry(String),
    /// Retrying cannot help (RBAC, credentials).
    Fatal(String),
}

impl KubeWire {
    fn new(cfg: KubeConfig) -> Result<Self, ExecError> {
        let source = resolve_source(&cfg.kubeconfig)?;
        let namespace = if cfg.namespace.trim().is_empty() {
            source
                .namespace()
                .filter(|n| !n.is_empty())
                .or_else(|| {
                    std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE_FILE)
                        .ok()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                })
                .unwrap_or_else(|| "default".to_string())
        } else {
            cfg.namespace.trim().to_string()
        };
        tracing::info!(
            namespace,
            source = %source.describe(),
            mode = ?cfg.mode(),
            "kubernetes executor"
        );
        Ok(KubeWire {
            mode: cfg.mode(),
            cfg,
            namespace,
            source,
            client: OnceCell::new(),
            pods: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> Result<kube::Client, String> {
        self.client
            .get_or_try_init(|| async {
                let config = match &self.source {
                    Source::Kubeconfig { config, path } => kube::Config::from_custom_kubeconfig(
                        (**config).clone(),
                        &KubeConfigOptions::default(),
                    )
                    .await
                    .map_err(|e| format!("kubeconfig {path}: {e}"))?,
                    Source::InCluster(c) => (**c).clone(),
                };
                kube::Client::try_from(config)
                    .map_err(|e| format!("cannot build the Kubernetes client: {e}"))
            })
            .await
            .cloned()
    }

    fn pods_api(&self, client: kube::Client) -> Api<Pod> {
        Api::namespaced(client, &self.namespace)
    }

    fn forget(&self, host: &str) {
        self.pods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(host);
    }

    fn unreachable(host: &str, message: impl Into<String>) -> ExecError {
        ExecError::Unreachable {
            host: host.to_string(),
            message: message.into(),
        }
    }

    /// Ask the API for `host`'s pod (no cache).
    async fn lookup(&self, client: kube::Client, host: &str) -> Result<PodTarget, LookupError> {
        let query = pods::query(&self.mode, host)?;
        let api = self.pods_api(client);
        let api_err = |verb: &'static str, e: kube::Error| match e {
            kube::Error::Api(s) if s.code == 403 => LookupError::Forbidden {
                verb,
                resource: "pods",
                namespace: self.namespace.clone(),
                message: s.message,
            },
            kube::Error::Api(s) if s.code == 401 => LookupError::Api {
                namespace: self.namespace.clone(),
                message: format!(
                    "unauthorized: the credentials of {} were refused ({})",
                    self.source.describe(),
                    s.message
                ),
            },
            e => LookupError::Api {
                namespace: self.namespace.clone(),
                message: format!("{verb} pods: {e}"),
            },
        };
        let found = match &query {
            PodQuery::List {
                label_selector,
                field_selector,
                ..
            } => {
                let mut lp = ListParams::default().labels(label_selector);
                if let Some(f) = field_selector {
                    lp = lp.fields(f);
                }
                api.list(&lp).await.map_err(|e| api_err("list", e))?.items
            }
            PodQuery::Get { name } => match api.get_opt(name).await {
                Ok(p) => p.into_iter().collect(),
                Err(e) => return Err(api_err("get", e)),
            },
        };
        let container = Some(self.cfg.container.trim()).filter(|c| !c.is_empty());
        pods::choose(&query, &found, host, &self.namespace, container)
    }

    /// `host`'s pod, from the cache unless `fresh` or expired.
    async fn target(
        &self,
        client: kube::Client,
        host: &str,
        fresh: bool,
    ) -> Result<PodTarget, ExecError> {
        let ttl = Duration::from_secs(self.cfg.pod_cache_seconds);
        if !fresh {
            let pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = pods.get(host).filter(|c| c.at.elapsed() < ttl) {
                return Ok(c.target.clone());
            }
        }
        match self.lookup(client, host).await {
            Ok(target) => {
                tracing::debug!(host, pod = %target.name, container = %target.container, "glusterfs pod");
                self.pods.lock().unwrap_or_else(|e| e.into_inner()).insert(
                    host.to_string(),
                    Cached {
                        target: target.clone(),
                        at: Instant::now(),
                    },
                );
                Ok(target)
            }
            Err(e) => {
                self.forget(host);
                Err(Self::unreachable(host, e.to_string()))
            }
        }
    }

    async fn start(
        &self,
        client: kube::Client,
        target: &PodTarget,
        argv: &[String],
    ) -> Result<kube::api::AttachedProcess, StartError> {
        let ap = AttachParams::default()
            .container(target.container.clone())
            .stdin(false)
            .stdout(true)
            .stderr(true)
            .max_stdout_buf_size(64 * 1024)
            .max_stderr_buf_size(64 * 1024);
        let where_ = format!(
            "exec in pod {}/{} (container {})",
            self.namespace, target.name, target.container
        );
        self.pods_api(client)
            .exec(&target.name, argv.to_vec(), &ap)
            .await
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 403 => StartError::Fatal(
                    LookupError::Forbidden {
                        verb: "create",
                        resource: "pods/exec",
                        namespace: self.namespace.clone(),
                        message: s.message,
                    }
                    .to_string(),
                ),
                kube::Error::Api(s) if s.code == 401 => StartError::Fatal(format!(
                    "{where_}: unauthorized: the credentials of {} were refused ({})",
                    self.source.describe(),
                    s.message
                )),
                kube::Error::Api(s) => StartError::Retry(format!(
                    "{where_}: {} ({})",
                    if s.message.is_empty() {
                        &s.reason
                    } else {
                        &s.message
                    },
                    s.code
                )),
                e => StartError::Retry(format!("{where_}: {e}")),
            })
    }

    /// Lookup + exec + collect, retrying once with a fresh lookup when the exec could not
    /// start (nothing ran, so this cannot run a command twice).
    async fn run_once(&self, host: &str, argv: &[String]) -> Result<CmdOutput, ExecError> {
        let client = self
            .client()
            .await
            .map_err(|e| Self::unreachable(host, format!("kubernetes: {e}")))?;
        let mut fresh = false;
        let (target, mut proc) = loop {
            let target = self.target(client.clone(), host, fresh).await?;
            match self.start(client.clone(), &target, argv).await {
                Ok(p) => break (target, p),
                Err(StartError::Fatal(m)) => return Err(Self::unreachable(host, m)),
                Err(StartError::Retry(m)) if !fresh => {
                    tracing::info!(host, pod = %target.name, error = %m, "exec failed to start; looking the pod up again");
                    self.forget(host);
                    fresh = true;
                }
                Err(StartError::Retry(m)) => {
                    self.forget(host);
                    return Err(Self::unreachable(host, m));
                }
            }
        };

        let status = proc.take_status();
        let read = |r: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                // A broken stream shows up as a missing status below; keep what was read.
                let _ = r.read_to_end(&mut buf).await;
            }
            buf
        };
        // Drain both streams while waiting for the status: the client's pipes are small and
        // a full one would stall the whole exec.
        let (stdout, stderr, status) =
            tokio::join!(read(proc.stdout()), read(proc.stderr()), async {
                match status {
                    Some(s) => s.await,
                    None => None,
                }
            });
        let joined = proc.join().await;
        let outcome = match (proto::outcome(status.as_ref()), joined) {
            (ExecOutcome::Failed(m), Err(e)) if status.is_none() => {
                ExecOutcome::Failed(format!("{m}: {e}"))
            }
            (o, _) => o,
        };
        match outcome {
            ExecOutcome::Exited(code) => Ok(CmdOutput {
                status: code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            }),
            ExecOutcome::Failed(m) => {
                // The pod may be going away; look it up again next time.
                self.forget(host);
                Err(Self::unreachable(
                    host,
                    format!(
                        "exec in pod {}/{} (container {}): {m}",
                        self.namespace, target.name, target.container
                    ),
                ))
            }
        }
    }
}

#[async_trait]
impl Wire for KubeWire {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    async fn run_unlimited(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        if cmd.argv.is_empty() {
            return Err(ExecError::Other("empty command".into()));
        }
        let prefix = !self.cfg.disable_timeout_prefix;
        let argv = exec_argv(&cmd.argv, cmd.timeout, prefix);
        let deadline = client_deadline(cmd.timeout, prefix);
        let timed_out = |seconds: u64| ExecError::Timeout {
            host: host.to_string(),
            command: cmd.display(),
            seconds,
        };

        // Dropping the exec on timeout closes its WebSocket; like heketi, the process in the
        // pod is not signalled (the `timeout` prefix is what bounds it there).
        match tokio::time::timeout(deadline, self.run_once(host, &argv)).await {
            Err(_) => Err(timed_out(deadline.as_secs())),
            Ok(Ok(out)) if prefix && out.status == proto::TIMEOUT_EXIT => {
                Err(timed_out(timeout_minutes(cmd.timeout) * 60))
            }
            Ok(res) => res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heketi_kubeexec_block_deserializes() {
        let cfg: KubeExecConfig = serde_json::from_str(
            r#"{"host": "https://k8s:6443", "cert": "/c", "insecure": false, "user": "u",
                "password": "p", "namespace": "glusterfs", "fstab": "/var/lib/heketi/fstab2",
                "snapshot_limit": 14, "rebalance_on_expansion": true, "gluster_daemonset": true,
                "backup_lvm_metadata": true}"#,
        )
        .unwrap();
        assert_eq!(cfg.kube.namespace, "glusterfs");
        assert!(cfg.kube.gluster_daemonset);
        assert!(!cfg.kube.use_pod_names);
        assert_eq!(cfg.kube.selector, "glusterfs-node");
        assert_eq!(cfg.commands.fstab, "/var/lib/heketi/fstab2");
        assert_eq!(cfg.commands.snapshot_limit, 14);
        assert!(cfg.commands.backup_lvm_metadata);
        assert_eq!(
            cfg.kube.mode(),
            LookupMode::DaemonSet {
                selector: "glusterfs-node".into()
            }
        );
    }

    #[test]
    fn fstab_defaults_to_heketis_kube_templates() {
        let cfg: KubeExecConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg.commands.fstab, KUBE_DEFAULT_FSTAB);
        assert_eq!(cfg, KubeExecConfig::default());
        assert_eq!(cfg.kube.max_execs_per_host, 8);
        assert_eq!(cfg.commands.mountopts, "rw,inode64,noatime,nouuid");
        let cfg: KubeExecConfig = serde_json::from_str(r#"{"fstab": ""}"#).unwrap();
        assert_eq!(cfg.commands.fstab, KUBE_DEFAULT_FSTAB);
        // Round trip keeps the value.
        let back: KubeExecConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn modes() {
        let mut k = KubeConfig::default();
        assert_eq!(k.mode(), LookupMode::Label);
        k.gluster_daemonset = true;
        k.selector = "glusterfs=pod".into();
        assert_eq!(
            k.mode(),
            LookupMode::DaemonSet {
                selector: "glusterfs=pod".into()
            }
        );
        k.use_pod_names = true;
        assert_eq!(k.mode(), LookupMode::PodName);
    }

    #[test]
    fn heketi_env_overrides() {
        let env: HashMap<&str, &str> = [
            ("HEKETI_KUBE_NAMESPACE", "gfs"),
            ("HEKETI_KUBE_GLUSTER_DAEMONSET", "Yes"),
            ("HEKETI_KUBE_USE_POD_NAMES", "what"),
        ]
        .into();
        let mut k = KubeConfig {
            use_pod_names: true,
            ..Default::default()
        };
        k.apply_env_from(|key| env.get(key).map(|v| v.to_string()));
        assert_eq!(k.namespace, "gfs");
        assert!(k.gluster_daemonset);
        assert!(k.use_pod_names, "unparsable values are ignored");
        k.apply_env_from(|key| (key == "HEKETI_KUBE_USE_POD_NAMES").then(|| "0".to_string()));
        assert!(!k.use_pod_names);
    }

    #[test]
    fn bad_kubeconfig_is_a_startup_error() {
        let err = KubeTransport::new(KubeConfig {
            kubeconfig: "/nonexistent/kubeconfig".into(),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
    }

    #[test]
    fn namespace_from_the_kubeconfig_context_else_default() {
        let dir = tempfile::tempdir().unwrap();
        let write = |ns: &str| {
            let p = dir.path().join(format!("kc{ns}"));
            let ns_line = if ns.is_empty() {
                String::new()
            } else {
                format!("\n    namespace: {ns}")
            };
            std::fs::write(
                &p,
                format!(
                    "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u{ns_line}\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n"
                ),
            )
            .unwrap();
            p
        };
        let t = KubeTransport::new(KubeConfig {
            kubeconfig: write("gluster"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.namespace(), "gluster");
        let t = KubeTransport::new(KubeConfig {
            kubeconfig: write("gluster"),
            namespace: "explicit".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.namespace(), "explicit");
        if !Path::new(SERVICE_ACCOUNT_NAMESPACE_FILE).exists() {
            let t = KubeTransport::new(KubeConfig {
                kubeconfig: write(""),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(t.namespace(), "default");
        }
    }
}
