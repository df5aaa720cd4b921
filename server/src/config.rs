//! Server configuration: heketi's own `heketi.json` format plus heketi's environment
//! overrides (`HEKETI_*`), so an existing heketi config file works unchanged.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value {value:?} for {key}: {message}")]
    Value {
        key: String,
        value: String,
        message: String,
    },
    #[error("authentication is enabled but {0} is empty: set jwt.admin.key and jwt.user.key (or HEKETI_ADMIN_KEY / HEKETI_USER_KEY), or start with --disable-auth")]
    MissingKey(&'static str),
    #[error("enable_tls is set but {0} is empty")]
    MissingTlsFile(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorKind {
    Mock,
    Ssh,
    Kube,
}

/// Whether bricks of a replica set must be in distinct zones (placement's own type).
pub use heqet_topology::placement::ZoneChecking;

/// Everything `heqet serve` needs. Built from heketi.json + env by [`Config::load`].
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: IpAddr,
    /// 0 = pick a free port (tests).
    pub port: u16,
    pub use_auth: bool,
    pub jwt_admin_key: String,
    pub jwt_user_key: String,
    /// Seconds a token's `iat` may lie in the future (heketi: 120).
    pub iat_leeway_secs: i64,
    /// Seconds a token may be past its `exp`. heketi has none; Python clients' tokens live
    /// one second, so a tiny leeway keeps them working across small clock steps.
    pub exp_leeway_secs: i64,
    pub enable_tls: bool,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Initial admin mode: normal, read-only, local-client.
    pub default_state: String,
    pub executor: ExecutorKind,
    pub mock_device_size_gib: u64,
    /// Raw `glusterfs.sshexec` / `glusterfs.kubeexec` blocks, read by the executors.
    pub sshexec: Value,
    pub kubeexec: Value,
    pub db_path: PathBuf,
    pub loglevel: String,
    pub brick_min_size_gb: u64,
    pub brick_max_size_gb: u64,
    pub max_bricks_per_volume: usize,
    pub average_file_size_kb: u64,
    pub zone_checking: ZoneChecking,
    /// Negative = unlimited.
    pub max_volumes_per_cluster: i64,
    pub pre_request_volume_options: Vec<String>,
    pub post_request_volume_options: Vec<String>,
    /// Node commands of different operations run at most this many at a time per node.
    pub per_node_concurrency: usize,
    /// Operations waiting or running; beyond this new ones get 429.
    pub max_queued_operations: usize,
    pub volume_create_retries: u32,
    pub rebalance_on_expansion: bool,
    pub disable_background_cleaner: bool,
    pub start_time_background_cleaner: u64,
    pub refresh_time_background_cleaner: u64,
    pub disable_health_monitor: bool,
    pub start_time_monitor: u64,
    pub refresh_time_monitor: u64,
    /// How long finished `/queue` outcomes stay answerable (seconds).
    pub queue_retention_secs: i64,
    /// How long a poll of a pending `/queue` entry waits for the outcome before answering
    /// `X-Pending` (0 = answer at once, as heketi).
    pub queue_poll_wait: std::time::Duration,
    /// Largest request body accepted (bytes).
    pub body_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
            use_auth: false,
            jwt_admin_key: String::new(),
            jwt_user_key: String::new(),
            iat_leeway_secs: 120,
            exp_leeway_secs: 2,
            enable_tls: false,
            cert_file: PathBuf::new(),
            key_file: PathBuf::new(),
            default_state: "normal".into(),
            executor: ExecutorKind::Mock,
            mock_device_size_gib: heqet_executor::mock::DEFAULT_DEVICE_SIZE_GIB,
            sshexec: Value::Null,
            kubeexec: Value::Null,
            db_path: PathBuf::from("heketi.db"),
            loglevel: "info".into(),
            brick_min_size_gb: 1,
            brick_max_size_gb: 4096,
            max_bricks_per_volume: 32,
            average_file_size_kb: 64,
            zone_checking: ZoneChecking::None,
            max_volumes_per_cluster: 1000,
            // heketi splits the empty default on ',' and stores the resulting "" entries.
            pre_request_volume_options: vec![String::new()],
            post_request_volume_options: vec![String::new()],
            per_node_concurrency: 8,
            max_queued_operations: 4096,
            volume_create_retries: 4,
            rebalance_on_expansion: true,
            disable_background_cleaner: false,
            start_time_background_cleaner: 60,
            refresh_time_background_cleaner: 3600,
            disable_health_monitor: false,
            start_time_monitor: 10,
            refresh_time_monitor: 120,
            queue_retention_secs: 3600,
            queue_poll_wait: std::time::Duration::from_millis(500),
            body_limit: 4 * 1024 * 1024,
        }
    }
}

/// heketi.json as heketi reads it. Unknown keys (and heketi's `_comment` keys) are ignored.
#[derive(Deserialize, Default)]
struct FileConfig {
    port: Option<Value>,
    use_auth: Option<bool>,
    jwt: Option<JwtFile>,
    enable_tls: Option<bool>,
    cert_file: Option<String>,
    key_file: Option<String>,
    default_state: Option<String>,
    glusterfs: Option<GlusterFile>,
}

#[derive(Deserialize, Default)]
struct JwtFile {
    admin: Option<KeyFile>,
    user: Option<KeyFile>,
}

#[derive(Deserialize, Default)]
struct KeyFile {
    key: Option<String>,
}

#[derive(Deserialize, Default)]
struct GlusterFile {
    executor: Option<String>,
    sshexec: Option<Value>,
    kubeexec: Option<Value>,
    db: Option<String>,
    loglevel: Option<String>,
    brick_max_size_gb: Option<u64>,
    brick_min_size_gb: Option<u64>,
    max_bricks_per_volume: Option<usize>,
    average_file_size_kb: Option<u64>,
    zone_checking: Option<String>,
    max_volumes_per_cluster: Option<i64>,
    pre_request_volume_options: Option<String>,
    post_request_volume_options: Option<String>,
    max_inflight_operations: Option<u64>,
    max_queued_operations: Option<usize>,
    per_node_concurrency: Option<usize>,
    queue_poll_wait_ms: Option<u64>,
    operation_retry_limits: Option<RetryLimits>,
    disable_background_cleaner: Option<bool>,
    start_time_background_cleaner: Option<u64>,
    refresh_time_background_cleaner: Option<u64>,
    disable_monitor_gluster_nodes: Option<bool>,
    start_time_monitor_gluster_nodes: Option<u64>,
    refresh_time_monitor_gluster_nodes: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RetryLimits {
    volume_create: Option<u32>,
}

impl Config {
    /// Defaults for in-process tests: mock executor, loopback, ephemeral port, auth off,
    /// no background jobs.
    pub fn for_test(db_path: &Path) -> Config {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            db_path: db_path.to_path_buf(),
            disable_background_cleaner: true,
            disable_health_monitor: true,
            ..Config::default()
        }
    }

    /// Read `path` (if given) and apply the environment. No file = defaults + environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        Self::load_with(path, &env)
    }

    /// [`Config::load`] with an injectable environment, for tests.
    pub fn load_with(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                serde_json::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: p.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let mut c = Config::default();
        if path.is_some() {
            // heketi's executor default is ssh; only running with no config at all gives the
            // mock (so `heqet serve` works out of the box).
            c.executor = ExecutorKind::Ssh;
        }
        c.apply_file(file)?;
        c.apply_env(env)?;
        Ok(c)
    }

    fn apply_file(&mut self, f: FileConfig) -> Result<(), ConfigError> {
        if let Some(p) = f.port {
            self.port = parse_port(&p)?;
        }
        set(&mut self.use_auth, f.use_auth);
        if let Some(jwt) = f.jwt {
            if let Some(k) = jwt.admin.and_then(|a| a.key) {
                self.jwt_admin_key = k;
            }
            if let Some(k) = jwt.user.and_then(|u| u.key) {
                self.jwt_user_key = k;
            }
        }
        set(&mut self.enable_tls, f.enable_tls);
        if let Some(p) = f.cert_file {
            self.cert_file = p.into();
        }
        if let Some(p) = f.key_file {
            self.key_file = p.into();
        }
        if let Some(s) = f.default_state {
            self.default_state = s;
        }
        let Some(g) = f.glusterfs else { return Ok(()) };
        if let Some(e) = g.executor {
            self.executor = parse_executor(&e)?;
        }
        if let Some(v) = g.sshexec {
            self.sshexec = v;
        }
        if let Some(v) = g.kubeexec {
            self.kubeexec = v;
        }
        if let Some(db) = g.db {
            self.db_path = db.into();
        }
        set(&mut self.loglevel, g.loglevel);
        set(&mut self.brick_max_size_gb, g.brick_max_size_gb);
        set(&mut self.brick_min_size_gb, g.brick_min_size_gb);
        set(&mut self.max_bricks_per_volume, g.max_bricks_per_volume);
        set(&mut self.average_file_size_kb, g.average_file_size_kb);
        if let Some(z) = g.zone_checking {
            self.zone_checking = parse_zone_checking(&z)?;
        }
        set(&mut self.max_volumes_per_cluster, g.max_volumes_per_cluster);
        if let Some(o) = g.pre_request_volume_options {
            self.pre_request_volume_options = split_options(&o);
        }
        if let Some(o) = g.post_request_volume_options {
            self.post_request_volume_options = split_options(&o);
        }
        // heketi's in-flight cap answered 429 under ordinary load; heqet queues instead and
        // treats the old knob as a lower bound of the queue size.
        if let Some(n) = g.max_inflight_operations {
            self.max_queued_operations = self.max_queued_operations.max(n as usize);
        }
        set(&mut self.max_queued_operations, g.max_queued_operations);
        set(&mut self.per_node_concurrency, g.per_node_concurrency);
        if let Some(ms) = g.queue_poll_wait_ms {
            self.queue_poll_wait = std::time::Duration::from_millis(ms);
        }
        if let Some(n) = g.operation_retry_limits.and_then(|r| r.volume_create) {
            self.volume_create_retries = n;
        }
        set(
            &mut self.disable_background_cleaner,
            g.disable_background_cleaner,
        );
        set(
            &mut self.start_time_background_cleaner,
            g.start_time_background_cleaner,
        );
        set(
            &mut self.refresh_time_background_cleaner,
            g.refresh_time_background_cleaner,
        );
        set(
            &mut self.disable_health_monitor,
            g.disable_monitor_gluster_nodes,
        );
        set(
            &mut self.start_time_monitor,
            g.start_time_monitor_gluster_nodes,
        );
        set(
            &mut self.refresh_time_monitor,
            g.refresh_time_monitor_gluster_nodes,
        );
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(p) = env("HEKETI_HTTP_PORT") {
            self.port = parse_port(&Value::String(p))?;
        }
        if let Some(k) = env("HEKETI_ADMIN_KEY") {
            self.jwt_admin_key = k;
        }
        if let Some(k) = env("HEKETI_USER_KEY") {
            self.jwt_user_key = k;
        }
        if let Some(v) = env("HEKETI_JWT_IAT_LEEWAY_SECONDS") {
            self.iat_leeway_secs = parse_num("HEKETI_JWT_IAT_LEEWAY_SECONDS", &v)?;
        }
        if let Some(v) = env("HEKETI_DEFAULT_STATE") {
            self.default_state = v;
        }
        if let Some(v) = env("HEKETI_EXECUTOR") {
            self.executor = parse_executor(&v)?;
        }
        if let Some(v) = env("HEKETI_DB_PATH") {
            self.db_path = v.into();
        }
        if let Some(v) = env("HEKETI_GLUSTERAPP_LOGLEVEL") {
            self.loglevel = v;
        }
        if let Some(v) = env("HEKETI_ZONE_CHECKING") {
            self.zone_checking = parse_zone_checking(&v)?;
        }
        if let Some(v) = env("HEKETI_GLUSTER_MAX_VOLUMES_PER_CLUSTER") {
            self.max_volumes_per_cluster = parse_num("HEKETI_GLUSTER_MAX_VOLUMES_PER_CLUSTER", &v)?;
        }
        if let Some(v) = env("HEKETI_PRE_REQUEST_VOLUME_OPTIONS") {
            self.pre_request_volume_options = split_options(&v);
        }
        if let Some(v) = env("HEKETI_POST_REQUEST_VOLUME_OPTIONS") {
            self.post_request_volume_options = split_options(&v);
        }
        if let Some(v) = env("HEKETI_MAX_INFLIGHT_OPERATIONS") {
            let n: usize = parse_num("HEKETI_MAX_INFLIGHT_OPERATIONS", &v)?;
            self.max_queued_operations = self.max_queued_operations.max(n);
        }
        if let Some(v) = env("HEQET_MAX_QUEUED_OPERATIONS") {
            self.max_queued_operations = parse_num("HEQET_MAX_QUEUED_OPERATIONS", &v)?;
        }
        if let Some(v) = env("HEKETI_MOCK_DEVICE_SIZE_GB") {
            self.mock_device_size_gib = parse_num("HEKETI_MOCK_DEVICE_SIZE_GB", &v)?;
        }
        if env("HEKETI_DISABLE_BACKGROUND_CLEANER").as_deref() == Some("true") {
            self.disable_background_cleaner = true;
        }
        if env("HEKETI_DISABLE_HEALTH_MONITOR").as_deref() == Some("true") {
            self.disable_health_monitor = true;
        }
        if env("HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION").as_deref() == Some("false") {
            self.rebalance_on_expansion = false;
        }
        Ok(())
    }

    /// Checks that need the whole picture (after `--disable-auth` was applied).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.use_auth {
            if self.jwt_admin_key.is_empty() {
                return Err(ConfigError::MissingKey("the admin key"));
            }
            if self.jwt_user_key.is_empty() {
                return Err(ConfigError::MissingKey("the user key"));
            }
        }
        if self.enable_tls {
            if self.cert_file.as_os_str().is_empty() {
                return Err(ConfigError::MissingTlsFile("cert_file"));
            }
            if self.key_file.as_os_str().is_empty() {
                return Err(ConfigError::MissingTlsFile("key_file"));
            }
        }
        if !matches!(
            self.default_state.as_str(),
            "normal" | "read-only" | "local-client"
        ) {
            return Err(ConfigError::Value {
                key: "default_state".into(),
                value: self.default_state.clone(),
                message: "expected normal, read-only or local-client".into(),
            });
        }
        Ok(())
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Value {
        key: key.into(),
        value: v.into(),
        message: "not a number".into(),
    })
}

/// heketi.json writes the port as a string (`"port": "8080"`); accept numbers too.
fn parse_port(v: &Value) -> Result<u16, ConfigError> {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    parse_num("port", &s)
}

fn parse_executor(v: &str) -> Result<ExecutorKind, ConfigError> {
    match v {
        "mock" => Ok(ExecutorKind::Mock),
        "ssh" | "" => Ok(ExecutorKind::Ssh),
        "kubernetes" | "kube" => Ok(ExecutorKind::Kube),
        _ => Err(ConfigError::Value {
            key: "glusterfs.executor".into(),
            value: v.into(),
            message: "expected mock, ssh or kubernetes".into(),
        }),
    }
}

fn parse_zone_checking(v: &str) -> Result<ZoneChecking, ConfigError> {
    match v {
        "" | "none" => Ok(ZoneChecking::None),
        "strict" => Ok(ZoneChecking::Strict),
        _ => Err(ConfigError::Value {
            key: "zone_checking".into(),
            value: v.into(),
            message: "expected none or strict".into(),
        }),
    }
}

/// heketi splits pre/post request options on `,` and keeps empty entries.
fn split_options(v: &str) -> Vec<String> {
    v.split(',').map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn heketi_sample_config_loads() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(
            f,
            r#"{{
  "_port_comment": "Heketi Server Port Number",
  "port": "8081",
  "use_auth": true,
  "jwt": {{"admin": {{"key": "adm"}}, "user": {{"key": "usr"}}}},
  "glusterfs": {{
    "executor": "mock",
    "db": "/tmp/x.db",
    "brick_max_size_gb": 1024,
    "zone_checking": "strict",
    "pre_request_volume_options": "performance.quick-read off",
    "max_inflight_operations": 8,
    "sshexec": {{"keyfile": "/k", "user": "root"}}
  }}
}}"#
        )
        .unwrap();
        let c = Config::load_with(Some(f.path()), &no_env).unwrap();
        assert_eq!(c.port, 8081);
        assert!(c.use_auth);
        assert_eq!(c.jwt_admin_key, "adm");
        assert_eq!(c.executor, ExecutorKind::Mock);
        assert_eq!(c.db_path, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.brick_max_size_gb, 1024);
        assert_eq!(c.zone_checking, ZoneChecking::Strict);
        assert_eq!(
            c.pre_request_volume_options,
            vec!["performance.quick-read off"]
        );
        assert_eq!(c.max_queued_operations, 4096);
        assert_eq!(c.sshexec["user"], "root");
        c.validate().unwrap();
    }

    #[test]
    fn env_overrides_file() {
        let env = |k: &str| match k {
            "HEKETI_HTTP_PORT" => Some("9000".to_string()),
            "HEKETI_EXECUTOR" => Some("kubernetes".to_string()),
            "HEKETI_MOCK_DEVICE_SIZE_GB" => Some("100".to_string()),
            _ => None,
        };
        let c = Config::load_with(None, &env).unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.executor, ExecutorKind::Kube);
        assert_eq!(c.mock_device_size_gib, 100);
    }

    #[test]
    fn bad_values_are_named() {
        let env = |k: &str| (k == "HEKETI_HTTP_PORT").then(|| "eighty".to_string());
        let e = Config::load_with(None, &env).unwrap_err().to_string();
        assert!(e.contains("port") && e.contains("eighty"), "{e}");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, "{{ not json").unwrap();
        let e = Config::load_with(Some(f.path()), &no_env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid"), "{e}");
        let e = Config::load_with(Some(Path::new("/nonexistent/heketi.json")), &no_env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn a_config_file_without_executor_means_ssh_as_in_heketi() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, r#"{{"port": "8080"}}"#).unwrap();
        let c = Config::load_with(Some(f.path()), &no_env).unwrap();
        assert_eq!(c.executor, ExecutorKind::Ssh);
        assert_eq!(
            Config::load_with(None, &no_env).unwrap().executor,
            ExecutorKind::Mock
        );
    }

    #[test]
    fn auth_without_keys_is_refused() {
        let c = Config {
            use_auth: true,
            ..Config::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::MissingKey(_))));
    }
}
