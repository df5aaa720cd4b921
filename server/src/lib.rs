//! heqet's REST service: heketi's API on an embedded SQLite store.
//!
//! Layers, outside in: [`http`] (router, auth gate, handlers) → [`engine`] (operations,
//! journal, executor calls) → [`store`] (SQLite) and `heqet-executor` (nodes).

pub mod auth;
pub mod config;
pub mod db_file;

pub mod engine;
pub mod error;
pub mod heketi_db;
pub mod http;
pub mod model;

pub mod store;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use heqet_executor::mock::MockExecutor;
use heqet_executor::Executor;
use tokio::net::TcpListener;

pub use config::Config;
pub use http::LogLevelSetter;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot open database {path}: {source}")]
    Store {
        path: PathBuf,
        source: store::StoreError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up the {kind} executor: {message}")]
    Executor { kind: &'static str, message: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Command-line options of `heqet serve`.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub config: Option<PathBuf>,
    pub disable_auth: bool,
}

/// Build the executor the configuration asks for.
pub fn build_executor(cfg: &Config) -> Result<Arc<dyn Executor>, ServerError> {
    match cfg.executor {
        config::ExecutorKind::Mock => Ok(Arc::new(MockExecutor::new(cfg.mock_device_size_gib))),
        config::ExecutorKind::Ssh => {
            let block = if cfg.sshexec.is_null() {
                serde_json::json!({})
            } else {
                cfg.sshexec.clone()
            };
            let mut ssh: heqet_executor::ssh::SshExecConfig = serde_json::from_value(block)
                .map_err(|e| ServerError::Executor {
                    kind: "ssh",
                    message: format!("glusterfs.sshexec is not valid: {e}"),
                })?;
            ssh.commands.apply_env();
            cap_per_host(&mut ssh.commands, cfg.per_node_concurrency);
            if ssh.ssh.keyfile.as_os_str().is_empty() {
                return Err(ServerError::Executor {
                    kind: "ssh",
                    message:
                        "glusterfs.sshexec.keyfile is required (the private key heqet logs in with)"
                            .into(),
                });
            }
            let exec =
                heqet_executor::ssh::ssh_executor(ssh).map_err(|e| ServerError::Executor {
                    kind: "ssh",
                    message: e.to_string(),
                })?;
            Ok(Arc::new(exec))
        }
        config::ExecutorKind::Kube => {
            let block = if cfg.kubeexec.is_null() {
                serde_json::json!({})
            } else {
                cfg.kubeexec.clone()
            };
            let mut kube: heqet_executor::kube::KubeExecConfig = serde_json::from_value(block)
                .map_err(|e| ServerError::Executor {
                    kind: "kubernetes",
                    message: format!("glusterfs.kubeexec is not valid: {e}"),
                })?;
            kube.apply_env();
            cap_per_host(&mut kube.commands, cfg.per_node_concurrency);
            // An empty namespace becomes the kubeconfig context's, else the service account's
            // (in a pod), else "default": resolved by the transport.
            let exec =
                heqet_executor::kube::kube_executor(kube).map_err(|e| ServerError::Executor {
                    kind: "kubernetes",
                    message: e.to_string(),
                })?;
            Ok(Arc::new(exec))
        }
    }
}

/// `glusterfs.per_node_concurrency` caps the executor's one per-host limit (the smallest of
/// it and the transport's own `max_*_per_host` keys applies).
fn cap_per_host(commands: &mut heqet_executor::commands::CommandConfig, per_node: usize) {
    commands.max_commands_per_host = commands.max_commands_per_host.min(per_node.max(1));
}

/// A server running in this process.
pub struct Running {
    addr: SocketAddr,
    tls: bool,
    pub engine: Arc<engine::Engine>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stop accepting requests, end running operations (their journal entries stay for the
    /// next start, as after a crash), close the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.engine.abort_all();
        let _ = self.task.await;
        self.engine.store.close().await;
    }
}

/// Start a server with the executor the config names.
pub async fn start(cfg: Config) -> Result<Running, ServerError> {
    let exec = build_executor(&cfg)?;
    start_with(cfg, exec, None).await
}

/// Start a server with a given executor (tests inject a mock they control).
pub async fn start_with(
    cfg: Config,
    exec: Arc<dyn Executor>,
    log_setter: Option<LogLevelSetter>,
) -> Result<Running, ServerError> {
    cfg.validate()?;
    // validate() has checked the name; parsed once here, so the server holds the enum.
    let mode =
        cfg.default_state
            .parse::<http::AdminMode>()
            .map_err(|e| config::ConfigError::Value {
                key: "default_state".into(),
                value: e.0,
                message: "expected normal, read-only or local-client".into(),
            })?;
    // The port first: a server that cannot listen must not leave a new database behind.
    let addr = SocketAddr::new(cfg.bind, cfg.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen { addr, source })?;
    let store = store::Store::open(&cfg.db_path)
        .await
        .map_err(|source| ServerError::Store {
            path: cfg.db_path.clone(),
            source,
        })?;
    let cfg = Arc::new(cfg);
    let engine = engine::Engine::new(Arc::new(store), exec, cfg.clone());
    let stale = engine
        .recover_on_start()
        .await
        .map_err(|source| ServerError::Store {
            path: cfg.db_path.clone(),
            source,
        })?;
    if stale > 0 {
        tracing::warn!(
            stale,
            "unfinished operations from a previous run are listed under /operations/pending; \
             the background cleaner or `heketi-cli server operations cleanup` will finish or undo them"
        );
    }
    engine.start_background();
    let keys = cfg.use_auth.then(|| auth::AuthKeys {
        admin: cfg.jwt_admin_key.clone(),
        user: cfg.jwt_user_key.clone(),
        iat_leeway_secs: cfg.iat_leeway_secs,
        exp_leeway_secs: cfg.exp_leeway_secs,
    });
    let state = Arc::new(http::AppState {
        engine: engine.clone(),
        keys,
        mode: RwLock::new(mode),
        loglevel: RwLock::new(cfg.loglevel.clone()),
        log_setter,
    });
    reset_mode_on_sigusr2(state.clone());
    let app = http::router(state, cfg.body_limit);
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Listen { addr, source })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tls = cfg.enable_tls;
    let task = if tls {
        // One process-wide crypto provider; a second install attempt is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rustls =
            axum_server::tls_rustls::RustlsConfig::from_pem_file(&cfg.cert_file, &cfg.key_file)
                .await
                .map_err(|e| ServerError::Tls(format!("{}: {e}", cfg.cert_file.display())))?;
        let handle = axum_server::Handle::new();
        let h2 = handle.clone();
        tokio::spawn(async move {
            let _ = rx.await;
            h2.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        let std_listener = listener.into_std().map_err(ServerError::Serve)?;
        tokio::spawn(async move {
            axum_server::from_tcp_rustls(std_listener, rustls)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .map_err(ServerError::Serve)
        })
    } else {
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
            .map_err(ServerError::Serve)
        })
    };
    tracing::info!(
        address = %local,
        executor = engine.exec.name(),
        db = %cfg.db_path.display(),
        auth = cfg.use_auth,
        tls,
        "heqet listening"
    );
    Ok(Running {
        addr: local,
        tls,
        engine,
        shutdown: tx,
        task,
    })
}

/// `heqet serve`: load the config, start, run until SIGINT/SIGTERM.
pub async fn run(
    opts: ServeOptions,
    log_setter: Option<LogLevelSetter>,
) -> Result<(), ServerError> {
    let mut cfg = Config::load(opts.config.as_deref())?;
    if opts.disable_auth {
        cfg.use_auth = false;
    }
    if opts.config.is_none() {
        let place = if cfg.db_path.is_absolute() {
            ""
        } else {
            " in the working directory"
        };
        tracing::info!(
            "no --config given: port {}, database {}{place}, {:?} executor, auth {}",
            cfg.port,
            cfg.db_path.display(),
            cfg.executor,
            if cfg.use_auth { "on" } else { "off" }
        );
    }
    let exec = build_executor(&cfg)?;
    let Running {
        engine,
        shutdown,
        mut task,
        ..
    } = start_with(cfg, exec, log_setter).await?;
    let result = tokio::select! {
        r = &mut task => match r {
            Ok(r) => r,
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e))),
        },
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            let _ = shutdown.send(());
            let _ = task.await;
            Ok(())
        }
    };
    engine.store.close().await;
    result
}

/// heketi's way out of `read-only` mode (which also refuses `POST /admin`): SIGUSR2 sets the
/// mode back to `normal`.
fn reset_mode_on_sigusr2(state: http::SharedState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut usr2) = signal(SignalKind::user_defined2()) else {
            tracing::warn!(
                "cannot listen for SIGUSR2; read-only mode can only be left by a restart"
            );
            return;
        };
        tokio::spawn(async move {
            while usr2.recv().await.is_some() {
                state.set_mode(http::AdminMode::Normal);
                tracing::info!("SIGUSR2: admin mode reset to normal");
            }
        });
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
