//! The `heqet-csi` binary: parses the arguments, sets up logging and serves the CSI services
//! on the endpoint until SIGTERM or SIGINT.

use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use heqet_csi::args::Args;
use heqet_csi::controller::servers::Defaults;
use heqet_csi::controller::ControllerService;
use heqet_csi::identity::{IdentityService, Readiness};
use heqet_csi::node::{NodeConfig, NodeService};
use heqet_csi::server;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse_checked();

    // RUST_LOG, when set and valid, wins over --log-level (which clap has already validated).
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&args.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    RestKey(#[from] heqet_csi::args::RestKeyError),
    #[error("--resturl: {0}")]
    Controller(#[from] heqet_csi::error::ControllerError),
    #[error(transparent)]
    Serve(#[from] server::ServeError),
}

/// Probe's check: every service this process runs is ready.
struct Ready {
    controller: Option<ControllerService>,
    node: Option<NodeService>,
}

impl Readiness for Ready {
    async fn check(&self) -> Result<(), tonic::Status> {
        if let Some(c) = &self.controller {
            c.ready().await?;
        }
        if let Some(n) = &self.node {
            n.ready().await?;
        }
        Ok(())
    }
}

async fn run(args: Args) -> Result<(), RunError> {
    // Install the handlers before binding, so that a signal arriving during start-up still
    // ends the process through the same clean path.
    let mut sigterm = signal(SignalKind::terminate()).map_err(|source| RunError::Signal {
        signal: "SIGTERM",
        source,
    })?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|source| RunError::Signal {
        signal: "SIGINT",
        source,
    })?;
    let shutdown = async move {
        let name = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
        };
        tracing::info!("{name} received, shutting down");
    };

    // The controller reads its key now, so a bad --restkey-file fails at start-up rather
    // than on the first CreateVolume.
    let controller = if args.mode.runs_controller() {
        let defaults = Defaults {
            url: args.resturl.clone(),
            user: args.restuser.clone(),
            key: args.rest_key()?,
        };
        Some(ControllerService::new(defaults)?)
    } else {
        None
    };
    let node = args.mode.runs_node().then(|| {
        NodeService::new(NodeConfig {
            node_id: args.nodeid.clone().unwrap_or_default(),
            kubelet_dir: args.kubelet_dir.clone(),
            mount_context: args.mount_context,
            client_log_dir: args.glusterfs_log_dir.clone(),
            client_log_level: args.glusterfs_log_level.clone(),
        })
    });
    // Probe: the REST server answers (controller) and mount.glusterfs exists (node).
    let ready = Ready {
        controller: controller.clone(),
        node: node.clone(),
    };
    let identity = IdentityService::new(args.drivername.clone(), controller.is_some(), ready);

    let socket = server::bind(&args.endpoint).await?;
    tracing::info!(
        endpoint = %socket.path().display(),
        mode = ?args.mode,
        driver = %args.drivername,
        nodeid = args.nodeid.as_deref().unwrap_or(""),
        version = env!("CARGO_PKG_VERSION"),
        "serving CSI"
    );
    socket.serve(identity, controller, node, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
