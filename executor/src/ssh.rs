//! SSH transport (russh): key auth, one connection per node reused across commands and
//! re-established when it drops, per-command timeouts, host keys checked against known_hosts
//! files unless `host_key_checking: false`. Channels per node are capped by the executor's one
//! per-host limiter ([`crate::transport::Limited`]): [`SshTransport`] is that wrapper around a
//! private wire, so every command over ssh holds a permit from before its channel opens until
//! after it is closed.
//!
//! Each command is one exec request carrying the argv quoted once for a POSIX shell (the
//! login shell of `user` splits it back into exactly that argv); with `sudo` the argv is
//! prefixed by `sudo -n`, which fails instead of prompting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::ChannelMsg;
use serde::{Deserialize, Deserializer, Serialize};

use crate::transport::{shell_line, Cmd, CmdOutput, Limited, Transport, Wire};
use crate::ExecError;

/// The `sshexec` block of heketi.json, plus heqet's additions. Field names follow heketi
/// (`keyfile`, `user`, `port` — a string there, a number accepted too — and `sudo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SshConfig {
    /// Private key file (OpenSSH or PEM; ed25519, RSA, ECDSA), unencrypted.
    pub keyfile: PathBuf,
    pub user: String,
    #[serde(deserialize_with = "port_from_string_or_number")]
    pub port: u16,
    /// Prefix every command with `sudo -n`.
    pub sudo: bool,
    /// Check host keys against `known_hosts` (default on).
    pub host_key_checking: bool,
    /// known_hosts files; empty = `$SSH_KNOWN_HOSTS` (colon-separated, as heketi) or
    /// `~/.ssh/known_hosts`.
    pub known_hosts: Vec<PathBuf>,
    /// Concurrent channels (= commands: one channel each) per node; keep it below the
    /// nodes' sshd `MaxSessions` (default 10). Default 8; 0 counts as 1. [`ssh_executor`]
    /// applies the smaller of this and the command layer's `max_commands_per_host` as the
    /// one per-host limit; [`SshTransport::new`] applies this alone.
    pub max_channels_per_host: usize,
    /// Seconds to establish (TCP + handshake + auth) a connection.
    pub connect_timeout: u64,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            keyfile: PathBuf::new(),
            user: "heketi".into(),
            port: 22,
            sudo: false,
            host_key_checking: true,
            known_hosts: Vec::new(),
            max_channels_per_host: 8,
            connect_timeout: 30,
        }
    }
}

fn port_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        N(u16),
        S(String),
    }
    match Port::deserialize(d)? {
        Port::N(n) => Ok(n),
        Port::S(s) if s.trim().is_empty() => Ok(22),
        Port::S(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid port {s:?}"))),
    }
}

impl SshConfig {
    fn known_hosts_files(&self) -> Vec<PathBuf> {
        if !self.known_hosts.is_empty() {
            return self.known_hosts.clone();
        }
        if let Ok(v) = std::env::var("SSH_KNOWN_HOSTS") {
            let files: Vec<PathBuf> = v
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect();
            if !files.is_empty() {
                return files;
            }
        }
        std::env::var_os("HOME")
            .map(|h| vec![Path::new(&h).join(".ssh/known_hosts")])
            .unwrap_or_default()
    }
}

/// A whole `sshexec` block of heketi.json: transport fields and node-command knobs side by
/// side, as heketi has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshExecConfig {
    #[serde(flatten)]
    pub ssh: SshConfig,
    #[serde(flatten)]
    pub commands: crate::commands::CommandConfig,
}

/// The ssh executor: the command layer over an [`SshTransport`] whose per-host limit is the
/// smaller of `max_channels_per_host` and `max_commands_per_host` (both default 8).
pub fn ssh_executor(
    cfg: SshExecConfig,
) -> Result<crate::commands::CommandExecutor<SshTransport>, ExecError> {
    let per_host = crate::limits::smallest([
        cfg.ssh.max_channels_per_host,
        cfg.commands.max_commands_per_host,
    ]);
    let transport = SshTransport::with_per_host_limit(cfg.ssh, per_host)?;
    crate::commands::CommandExecutor::new(transport, cfg.commands)
}

/// Why a host key was not accepted, filled in by the handler during the handshake.
type Verdict = Arc<Mutex<Option<String>>>;

struct Client {
    host: String,
    port: u16,
    /// `None` = accept any key.
    known_hosts: Option<Vec<PathBuf>>,
    verdict: Verdict,
}

impl Client {
    fn check(&self, key: &PublicKey) -> Result<(), String> {
        let Some(files) = &self.known_hosts else {
            return Ok(());
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        let mut readable = Vec::new();
        for f in files {
            if !f.is_file() {
                continue;
            }
            readable.push(f.display().to_string());
            match russh::keys::check_known_hosts_path(&self.host, self.port, key, f) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(russh::keys::Error::KeyChanged { line }) => {
                    return Err(format!(
                        "HOST KEY MISMATCH: {}:{} offers {} {fingerprint}, but {}:{line} records another key of that type",
                        self.host,
                        self.port,
                        key.algorithm(),
                        f.display()
                    ))
                }
                Err(e) => return Err(format!("cannot read {}: {e}", f.display())),
            }
        }
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        Err(format!(
            "unknown host key: {}:{} offers {} {fingerprint}, which is not in {} ({}); add it \
             (ssh-keyscan -p {} {} >> FILE) or set host_key_checking to false",
            self.host,
            self.port,
            key.algorithm(),
            files.join(", "),
            if readable.is_empty() {
                "no such file".to_string()
            } else {
                "not listed".to_string()
            },
            self.port,
            self.host
        ))
    }
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check(key),
            PublicKeyOrCertificate::Certificate(_) if self.known_hosts.is_none() => Ok(()),
            PublicKeyOrCertificate::Certificate(_) => Err(format!(
                "{}:{} offers a host certificate; only plain host keys in known_hosts are checked",
                self.host, self.port
            )),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }
}

/// One node: its connection, if any.
struct Node {
    conn: tokio::sync::Mutex<Option<Arc<Handle<Client>>>>,
}

/// Runs commands over ssh with at most `per_host` channels open at once per node.
pub struct SshTransport {
    limited: Limited<SshWire>,
}

impl SshTransport {
    /// Load the key now, so a bad `keyfile` is a startup error, not a failure on first use.
    /// At most `max_channels_per_host` channels per node.
    pub fn new(cfg: SshConfig) -> Result<Self, ExecError> {
        let per_host = cfg.max_channels_per_host;
        Self::with_per_host_limit(cfg, per_host)
    }

    /// Like [`SshTransport::new`] with another per-host limit (the combined one of
    /// [`ssh_executor`]).
    pub(crate) fn with_per_host_limit(cfg: SshConfig, per_host: usize) -> Result<Self, ExecError> {
        Ok(SshTransport {
            limited: Limited::new(SshWire::new(cfg)?, per_host),
        })
    }

    pub fn config(&self) -> &SshConfig {
        &self.limited.wire().cfg
    }

    /// Channels (commands) allowed at once per node.
    pub fn per_host_limit(&self) -> usize {
        self.limited.per_host()
    }
}

#[async_trait]
impl Transport for SshTransport {
    fn name(&self) -> &'static str {
        self.limited.name()
    }

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        self.limited.run(host, cmd).await
    }
}

/// The ssh wire: connections and channels, no limit of its own. Private, so that the only way
/// to run a command over ssh is through [`SshTransport`]'s limiter.
struct SshWire {
    cfg: SshConfig,
    key: Arc<PrivateKey>,
    nodes: Mutex<HashMap<String, Arc<Node>>>,
}

impl SshWire {
    fn new(cfg: SshConfig) -> Result<Self, ExecError> {
        if cfg.keyfile.as_os_str().is_empty() {
            return Err(ExecError::Other("ssh: keyfile is required".into()));
        }
        let key = russh::keys::load_secret_key(&cfg.keyfile, None).map_err(|e| {
            ExecError::Other(format!(
                "ssh: cannot load private key {}: {e}",
                cfg.keyfile.display()
            ))
        })?;
        Ok(SshWire {
            cfg,
            key: Arc::new(key),
            nodes: Mutex::new(HashMap::new()),
        })
    }

    fn node(&self, host: &str) -> Arc<Node> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(Node {
                    conn: tokio::sync::Mutex::new(None),
                })
            })
            .clone()
    }

    fn unreachable(&self, host: &str, message: String) -> ExecError {
        ExecError::Unreachable {
            host: host.to_string(),
            message,
        }
    }

    async fn connect(&self, host: &str) -> Result<Handle<Client>, ExecError> {
        let verdict: Verdict = Arc::default();
        let handler = Client {
            host: host.to_string(),
            port: self.cfg.port,
            known_hosts: self
                .cfg
                .host_key_checking
                .then(|| self.cfg.known_hosts_files()),
            verdict: verdict.clone(),
        };
        let config = Arc::new(client::Config {
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        });
        let addr = format!("{host}:{}", self.cfg.port);
        let limit = Duration::from_secs(self.cfg.connect_timeout.max(1));
        let connected = tokio::time::timeout(limit, async {
            let mut handle = client::connect(config, (host, self.cfg.port), handler).await?;
            let hash = if self.key.algorithm().is_rsa() {
                handle.best_supported_rsa_hash().await?.flatten()
            } else {
                None
            };
            let auth = handle
                .authenticate_publickey(
                    self.cfg.user.clone(),
                    PrivateKeyWithHashAlg::new(self.key.clone(), hash),
                )
                .await?;
            Ok::<_, russh::Error>((handle, auth))
        })
        .await;
        let (handle, auth) = match connected {
            Err(_) => {
                return Err(self.unreachable(
                    host,
                    format!("ssh to {addr}: no connection within {} s", limit.as_secs()),
                ))
            }
            Ok(Err(e)) => {
                let why = verdict
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_else(|| e.to_string());
                return Err(self.unreachable(host, format!("ssh to {addr}: {why}")));
            }
            Ok(Ok(ok)) => ok,
        };
        if !auth.success() {
            return Err(self.unreachable(
                host,
                format!(
                    "ssh to {addr}: public key authentication as {:?} with key {} was refused",
                    self.cfg.user,
                    self.cfg.keyfile.display()
                ),
            ));
        }
        tracing::debug!(host, "ssh connected");
        Ok(handle)
    }

    /// The node's live connection, made if needed. `stale` is a connection that just failed:
    /// it is replaced rather than handed out again.
    async fn handle(
        &self,
        host: &str,
        node: &Node,
        stale: Option<&Arc<Handle<Client>>>,
    ) -> Result<Arc<Handle<Client>>, ExecError> {
        let mut conn = node.conn.lock().await;
        if let Some(h) = conn.as_ref() {
            let is_stale = stale.is_some_and(|s| Arc::ptr_eq(s, h));
            if !h.is_closed() && !is_stale {
                return Ok(h.clone());
            }
        }
        *conn = None;
        let h = Arc::new(self.connect(host).await?);
        *conn = Some(h.clone());
        Ok(h)
    }

    async fn open_channel(
        &self,
        host: &str,
        node: &Node,
    ) -> Result<russh::Channel<client::Msg>, ExecError> {
        let h = self.handle(host, node, None).await?;
        match h.channel_open_session().await {
            Ok(ch) => Ok(ch),
            Err(first) => {
                // The connection dropped (sshd restarted, node rebooted, idle NAT...). Nothing
                // was sent yet, so reconnecting and retrying cannot run the command twice.
                tracing::info!(host, error = %first, "ssh channel failed; reconnecting");
                let h = self.handle(host, node, Some(&h)).await?;
                h.channel_open_session()
                    .await
                    .map_err(|e| self.unreachable(host, format!("ssh channel: {e}")))
            }
        }
    }
}

/// Read a channel to its end: stdout, stderr, exit status.
async fn collect(channel: &mut russh::Channel<client::Msg>) -> Result<CmdOutput, String> {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut status: Option<i32> = None;
    let mut signal: Option<String> = None;
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => {
                status = Some(i32::try_from(exit_status).unwrap_or(i32::MAX))
            }
            ChannelMsg::ExitSignal {
                signal_name,
                error_message,
                ..
            } => signal = Some(format!("killed by signal {signal_name:?} {error_message}")),
            ChannelMsg::Failure => return Err("the server refused to run the command".into()),
            _ => {}
        }
    }
    let mut stderr = String::from_utf8_lossy(&stderr).into_owned();
    let status = match (status, signal) {
        (Some(s), _) => s,
        (None, Some(sig)) => {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(sig.trim());
            -1
        }
        (None, None) => return Err("connection closed before the command finished".into()),
    };
    Ok(CmdOutput {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr,
    })
}

#[async_trait]
impl Wire for SshWire {
    fn name(&self) -> &'static str {
        "ssh"
    }

    /// Opens one channel and is done with it before returning (a finished command's channel is
    /// closed by the server; on a failure or timeout we close it), so the caller's permit
    /// covers the channel's life.
    async fn run_unlimited(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        let mut argv = Vec::with_capacity(cmd.argv.len() + 2);
        if self.cfg.sudo {
            argv.extend(["sudo".to_string(), "-n".to_string()]);
        }
        argv.extend(cmd.argv.iter().cloned());
        let line = shell_line(&argv)?;

        let node = self.node(host);
        let mut channel = self.open_channel(host, &node).await?;
        let run = async {
            channel
                .exec(true, line.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            collect(&mut channel).await
        };
        match tokio::time::timeout(cmd.timeout, run).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(message)) => {
                // The server may still hold the channel (e.g. it refused the exec): close it
                // now, while the permit is held, so it does not outlive its slot.
                let _ = channel.close().await;
                Err(self.unreachable(host, format!("ssh: {message}")))
            }
            Err(_) => {
                // Closing the channel stops us waiting; the remote process gets no signal
                // (no pty), as with heketi.
                let _ = channel.close().await;
                Err(ExecError::Timeout {
                    host: host.to_string(),
                    command: cmd.display(),
                    seconds: cmd.timeout.as_secs(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heketi_sshexec_block_deserializes() {
        let cfg: SshConfig = serde_json::from_str(
            r#"{"keyfile": "/etc/heketi/heketi_key", "user": "root", "port": "2222",
                "sudo": true, "fstab": "/etc/fstab", "lvm_wrapper": "x"}"#,
        )
        .unwrap();
        assert_eq!(cfg.keyfile, PathBuf::from("/etc/heketi/heketi_key"));
        assert_eq!(cfg.user, "root");
        assert_eq!(cfg.port, 2222);
        assert!(cfg.sudo);
        assert!(cfg.host_key_checking);
        let cfg: SshConfig = serde_json::from_str(r#"{"port": 22, "keyfile": "k"}"#).unwrap();
        assert_eq!(cfg.port, 22);
        assert_eq!(cfg.user, "heketi");
        let cfg: SshConfig = serde_json::from_str(r#"{"port": ""}"#).unwrap();
        assert_eq!(cfg.port, 22);
        assert!(serde_json::from_str::<SshConfig>(r#"{"port": "ssh"}"#).is_err());
    }

    #[test]
    fn whole_sshexec_block() {
        let cfg: SshExecConfig = serde_json::from_str(
            r#"{"keyfile": "/k", "user": "root", "port": "22", "sudo": false,
                "fstab": "/var/lib/heketi/fstab", "lvm_wrapper": "/w", "snapshot_limit": 3,
                "backup_lvm_metadata": true, "rebalance_on_expansion": true}"#,
        )
        .unwrap();
        assert_eq!(cfg.ssh.keyfile, PathBuf::from("/k"));
        assert_eq!(cfg.ssh.user, "root");
        assert_eq!(cfg.commands.fstab, "/var/lib/heketi/fstab");
        assert_eq!(cfg.commands.lvm_wrapper, "/w");
        assert_eq!(cfg.commands.snapshot_limit, 3);
        assert!(cfg.commands.backup_lvm_metadata);
        assert!(ssh_executor(cfg).is_err(), "no such key file");
    }

    #[test]
    fn missing_or_bad_key_is_a_startup_error() {
        assert!(SshTransport::new(SshConfig::default()).is_err());
        let err = SshTransport::new(SshConfig {
            keyfile: "/nonexistent/key".into(),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("/nonexistent/key"), "{err}");
    }
}
