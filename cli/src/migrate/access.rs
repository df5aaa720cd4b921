//! Kubernetes API access, found as heqet's kube executor finds it (README "Running inside
//! Kubernetes"): `--kubeconfig`, else `$KUBECONFIG`, else the in-cluster service account,
//! else `~/.kube/config`; `--in-cluster` insists on the service account.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::migrate::args::PvsArgs;
use crate::migrate::error::MigrateError;

/// A client and, for the plan's header, where its access came from.
pub struct Access {
    pub client: kube::Client,
    pub server: String,
    pub source: String,
}

enum Source {
    File {
        config: Box<Kubeconfig>,
        what: String,
    },
    InCluster(Box<kube::Config>),
}

fn access(msg: String) -> MigrateError {
    MigrateError::Access(msg)
}

fn read_file(path: &Path) -> Result<Source, MigrateError> {
    let config = Kubeconfig::read_from(path)
        .map_err(|e| access(format!("cannot read kubeconfig {}: {e}", path.display())))?;
    Ok(Source::File {
        config: Box::new(config),
        what: format!("kubeconfig {}", path.display()),
    })
}

fn in_cluster() -> Result<kube::Config, String> {
    kube::Config::incluster().map_err(|e| e.to_string())
}

fn resolve(args: &PvsArgs) -> Result<Source, MigrateError> {
    if args.in_cluster {
        return in_cluster()
            .map(|c| Source::InCluster(Box::new(c)))
            .map_err(|e| {
                access(format!(
                "--in-cluster: no service account here ({e}); run in a pod, or give --kubeconfig"
            ))
            });
    }
    if let Some(path) = &args.kubeconfig {
        return read_file(path);
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let what = format!("KUBECONFIG={}", v.to_string_lossy());
        let config = Kubeconfig::from_env()
            .map_err(|e| access(format!("cannot read {what}: {e}")))?
            .ok_or_else(|| access("KUBECONFIG is empty".into()))?;
        return Ok(Source::File {
            config: Box::new(config),
            what,
        });
    }
    let why_not_in_cluster = match in_cluster() {
        Ok(c) => return Ok(Source::InCluster(Box::new(c))),
        Err(e) => e,
    };
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".kube/config");
        if p.is_file() {
            return read_file(&p);
        }
    }
    Err(access(format!(
        "none configured: give --kubeconfig, set KUBECONFIG, or run in a pod with a service \
         account (in-cluster: {why_not_in_cluster})"
    )))
}

/// The client, ready to use (nothing is requested yet).
pub async fn connect(args: &PvsArgs) -> Result<Access, MigrateError> {
    let (config, source) = match resolve(args)? {
        Source::File { config, what } => {
            let opts = KubeConfigOptions {
                context: args.context.clone(),
                ..KubeConfigOptions::default()
            };
            let c = kube::Config::from_custom_kubeconfig(*config, &opts)
                .await
                .map_err(|e| access(format!("{what}: {e}")))?;
            let ctx = args
                .context
                .as_deref()
                .map(|c| format!(", context {c}"))
                .unwrap_or_default();
            (c, format!("{what}{ctx}"))
        }
        Source::InCluster(c) => (*c, "the in-cluster service account".to_string()),
    };
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| access(format!("cannot build the Kubernetes client: {e}")))?;
    Ok(Access {
        client,
        server,
        source,
    })
}
