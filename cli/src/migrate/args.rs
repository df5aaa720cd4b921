//! The flags of `heqet migrate` (docs/cli.md §13). Kept here, not in `args.rs`, so the
//! command's whole surface is in one place; `args.rs` only names the subcommand.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// heqet-csi's driver name (`heqet_csi::identity::DEFAULT_DRIVER_NAME`, checked by a test).
pub const DEFAULT_DRIVER: &str = "glusterfs.heqet.io";

#[derive(Subcommand, Debug)]
pub enum MigrateCmd {
    /// Replace in-tree glusterfs PersistentVolumes by heqet-csi ones (a dry run unless --apply)
    Pvs(PvsArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PvsArgs {
    /// Carry the plan out; without it, print the plan and change nothing
    #[arg(long)]
    pub apply: bool,

    /// The heketi/heqet REST server holding the volumes (default: --server, else
    /// HEKETI_CLI_SERVER, else http://localhost:8080)
    #[arg(long, value_name = "URL")]
    pub resturl: Option<String>,

    /// The heqet-csi driver name the new PVs name
    #[arg(long, value_name = "NAME", default_value = DEFAULT_DRIVER)]
    pub driver: String,

    /// The resturl heqet-csi knows this server by, when that is not the heqet-csi controller's
    /// own --resturl: the volume handles become <id>@<URL> (default: the plain heketi id)
    #[arg(long = "csi-resturl", value_name = "URL")]
    pub csi_resturl: Option<String>,

    /// kubeconfig file (default: $KUBECONFIG, else the in-cluster service account, else
    /// ~/.kube/config)
    #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context (default: the current context)
    #[arg(long, value_name = "NAME", conflicts_with = "in_cluster")]
    pub context: Option<String>,

    /// Use the service account of the pod this runs in
    #[arg(long = "in-cluster")]
    pub in_cluster: bool,

    /// How long to wait for a deleted PV to be gone before giving up on it
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
}
