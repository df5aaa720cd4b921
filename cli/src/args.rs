//! The command line: heketi-cli's command tree and flags (docs/cli.md §1–§11), plus
//! `serve` and `completion`. Validation messages heketi-cli prints itself ("Missing zone" …)
//! live in the command handlers, so optional values here are optional on purpose.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Go's strconv.ParseBool, which cobra uses for `--flag=value` booleans.
pub fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "invalid argument \"{s}\": strconv.ParseBool: parsing \"{s}\": invalid syntax"
        )),
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "heqet",
    about = "Command line program for Heketi",
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = false
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Print the version
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command accepts (cobra's persistent flags).
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Heketi server. Can also be set using the environment variable HEKETI_CLI_SERVER
    #[arg(short = 's', long, global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Heketi user. Can also be set using the environment variable HEKETI_CLI_USER
    #[arg(long, global = true)]
    pub user: Option<String>,

    /// Secret key for specified user. Can also be set using the environment variable HEKETI_CLI_KEY
    #[arg(long, global = true)]
    pub secret: Option<String>,

    /// Print response as JSON
    #[arg(long, global = true, action = ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_name = "BOOL", value_parser = go_bool)]
    pub json: bool,

    /// Allow connection to server with an untrusted certificate
    #[arg(short = 'I', long = "insecure-tls", global = true)]
    pub insecure_tls: bool,

    /// Trust the PEM certificate(s) in these files (repeatable or comma-separated)
    #[arg(
        short = 'C',
        long = "tls-cert",
        global = true,
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub tls_cert: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Heketi cluster management
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Heketi Node Management
    #[command(subcommand)]
    Node(NodeCmd),
    /// Heketi device management
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Heketi Volume Management
    #[command(subcommand)]
    Volume(VolumeCmd),
    /// Heketi Volume Management (gluster-block; not supported yet)
    Blockvolume(Unsupported),
    /// Heketi Brick Management
    #[command(subcommand)]
    Brick(BrickCmd),
    /// Heketi Topology Management
    #[command(subcommand)]
    Topology(TopologyCmd),
    /// Heketi Database Management
    #[command(subcommand)]
    Db(DbCmd),
    /// Heketi Log Level
    #[command(subcommand)]
    Loglevel(LoglevelCmd),
    /// Heketi Server Management
    #[command(subcommand)]
    Server(ServerCmd),
    /// Setup OpenShift/Kubernetes persistent storage for Heketi (not supported yet)
    #[command(
        name = "setup-openshift-heketi-storage",
        visible_aliases = ["setup-heketi-db-storage", "setup-kubernetes-heketi-storage"]
    )]
    SetupOpenshiftHeketiStorage(Unsupported),
    /// Generate the autocompletion script for the specified shell
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run the heqet REST server
    Serve(ServeArgs),
    /// Move Kubernetes objects of the in-tree glusterfs plugin to heqet-csi
    #[command(subcommand)]
    Migrate(crate::migrate::MigrateCmd),
}

/// Accepts any arguments; the handler answers "not supported yet".
#[derive(Args, Debug)]
pub struct Unsupported {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Configuration file (heketi.json format)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Disable JWT authentication
    #[arg(long = "disable-auth")]
    pub disable_auth: bool,
}

/// A positional id; further arguments are ignored, as in heketi-cli.
#[derive(Args, Debug)]
pub struct IdArg {
    pub id: Option<String>,
    #[arg(hide = true)]
    pub rest: Vec<String>,
}

// ------------------------------------------------------------------ cluster

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Create a cluster
    Create(ClusterFlags),
    /// Delete the cluster
    Delete(IdArg),
    /// Retrieves information about cluster
    Info(IdArg),
    /// Lists the clusters managed by Heketi
    List,
    /// Set flags on a cluster
    Setflags {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// Allow (or disallow) block volumes on the cluster
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
              value_parser = go_bool)]
        block: Option<bool>,
        /// Allow (or disallow) file volumes on the cluster
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
              value_parser = go_bool)]
        file: Option<bool>,
    },
}

#[derive(Args, Debug)]
pub struct ClusterFlags {
    /// Allow the user to create block volumes on this cluster
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub block: bool,
    /// Allow the user to create file volumes on this cluster
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "true", value_parser = go_bool)]
    pub file: bool,
}

// ------------------------------------------------------------------ node

#[derive(Subcommand, Debug)]
pub enum NodeCmd {
    /// Add new node to be managed by Heketi
    Add(NodeAddArgs),
    /// Deletes a node from Heketi management
    Delete(IdArg),
    /// Retrieves information about the node
    Info(IdArg),
    /// List all nodes in cluster
    List,
    /// Allows node to go online
    Enable(IdArg),
    /// Disallow usage of a node by placing it offline
    Disable(IdArg),
    /// Removes a node and all its associated devices from Heketi
    Remove(IdArg),
    /// Set tags on a node
    Settags(SetTagsArgs),
    /// Remove tags from a node
    #[command(visible_aliases = ["deltags", "removetags"])]
    Rmtags(RmTagsArgs),
}

#[derive(Args, Debug)]
pub struct NodeAddArgs {
    /// The zone in which the node should reside
    #[arg(long, default_value_t = 0)]
    pub zone: i64,
    /// The cluster in which the node should reside
    #[arg(long, default_value = "")]
    pub cluster: String,
    /// Management host name
    #[arg(long = "management-host-name", default_value = "")]
    pub management_host_name: String,
    /// Storage host name
    #[arg(long = "storage-host-name", default_value = "")]
    pub storage_host_name: String,
}

#[derive(Args, Debug)]
pub struct SetTagsArgs {
    pub id: Option<String>,
    /// key:value pairs
    pub tags: Vec<String>,
    /// Replace all existing tags with the given ones
    #[arg(short = 'e', long)]
    pub exact: bool,
}

#[derive(Args, Debug)]
pub struct RmTagsArgs {
    pub id: Option<String>,
    /// tag names
    pub keys: Vec<String>,
    /// Remove all tags
    #[arg(long)]
    pub all: bool,
}

// ------------------------------------------------------------------ device

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Add new device to node to be managed by Heketi
    Add(DeviceAddArgs),
    /// Deletes a device from Heketi node
    Delete {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// Force forget the device and its bricks even if the node cannot be reached
        #[arg(long = "force-forget")]
        force_forget: bool,
    },
    /// Removes a device from Heketi node
    Remove {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// Skip the heal check (dangerous)
        #[arg(long = "expert-option-disable-heal-check")]
        disable_heal_check: bool,
    },
    /// Retrieves information about the device
    Info(IdArg),
    /// Allows device to go online
    Enable(IdArg),
    /// Disallow usage of a device by placing it offline
    Disable(IdArg),
    /// Resync storage information about the device with operation system
    Resync {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// The id is a cluster id: resync every device of the cluster
        #[arg(long)]
        cluster: bool,
    },
    /// Set tags on a device
    Settags(SetTagsArgs),
    /// Remove tags from a device
    #[command(visible_aliases = ["deltags", "removetags"])]
    Rmtags(RmTagsArgs),
}

#[derive(Args, Debug)]
pub struct DeviceAddArgs {
    /// Name of the device to add
    #[arg(long, default_value = "")]
    pub name: String,
    /// Id of the node which has this device
    #[arg(long, default_value = "")]
    pub node: String,
    /// Destroy any data on the device
    #[arg(long = "destroy-existing-data")]
    pub destroy_existing_data: bool,
}

// ------------------------------------------------------------------ volume

#[derive(Subcommand, Debug)]
pub enum VolumeCmd {
    /// Create a GlusterFS volume
    Create(Box<VolumeCreateArgs>),
    /// Deletes the volume
    Delete(IdArg),
    /// Expand a volume
    Expand {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// Amount in GiB to add to the volume
        #[arg(long = "expand-size", default_value_t = 0)]
        expand_size: i64,
        /// Id of volume to expand
        #[arg(long, default_value = "")]
        volume: String,
    },
    /// Retrieves information about the volume
    Info(IdArg),
    /// Lists the volumes managed by Heketi
    List,
    /// Creates a clone
    Clone {
        id: Option<String>,
        #[arg(hide = true)]
        rest: Vec<String>,
        /// Name of the newly cloned volume
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Set restriction on a block hosting volume
    #[command(name = "set-block-hosting-restriction", subcommand)]
    SetBlockHostingRestriction(RestrictionCmd),
    /// Manage the Kubernetes endpoints of a volume
    #[command(subcommand)]
    Endpoint(EndpointCmd),
}

#[derive(Subcommand, Debug)]
pub enum RestrictionCmd {
    /// Lock the block hosting volume: no new block volumes
    Locked(IdArg),
    /// Unlock the block hosting volume
    Unlocked(IdArg),
}

#[derive(Subcommand, Debug)]
pub enum EndpointCmd {
    /// Print a patch for the heketi-storage-endpoints Endpoints
    Patch(IdArg),
}

#[derive(Args, Debug)]
pub struct VolumeCreateArgs {
    /// Size of volume in GiB
    #[arg(long, default_value_t = 0)]
    pub size: i64,
    /// Name of volume
    #[arg(long, default_value = "")]
    pub name: String,
    /// Durability type: none, replicate, disperse
    #[arg(long, default_value = "replicate")]
    pub durability: String,
    /// Replica value for durability type 'replicate'
    #[arg(long, default_value_t = 3)]
    pub replica: i64,
    /// Number of data bricks for durability type 'disperse'
    #[arg(long = "disperse-data", default_value_t = 4)]
    pub disperse_data: i64,
    /// Redundancy for durability type 'disperse'
    #[arg(long, default_value_t = 2)]
    pub redundancy: i64,
    /// Snapshot factor (enables snapshots when > 1.0)
    #[arg(long = "snapshot-factor", default_value_t = 1.0)]
    pub snapshot_factor: f32,
    /// Comma separated list of clusters ids
    #[arg(long, default_value = "")]
    pub clusters: String,
    /// Comma separated list of volume options
    #[arg(long = "gluster-volume-options", default_value = "")]
    pub gluster_volume_options: String,
    /// Group id of the volume
    #[arg(long, default_value_t = 0)]
    pub gid: i64,
    /// Create a block hosting volume
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool)]
    pub block: bool,
    /// Print a Kubernetes PersistentVolume (JSON) instead of volume information
    #[arg(long = "persistent-volume")]
    pub persistent_volume: bool,
    /// Write the PersistentVolume JSON to this file
    #[arg(long = "persistent-volume-file", default_value = "")]
    pub persistent_volume_file: String,
    /// Endpoints name for the PersistentVolume
    #[arg(long = "persistent-volume-endpoint", default_value = "")]
    pub persistent_volume_endpoint: String,
}

// ------------------------------------------------------------------ brick, topology, db …

#[derive(Subcommand, Debug)]
pub enum BrickCmd {
    /// Evict a brick: replace it by a new one on another device
    Evict {
        args: Vec<String>,
        /// Skip the heal check (dangerous)
        #[arg(long = "expert-option-disable-heal-check")]
        disable_heal_check: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TopologyCmd {
    /// Add devices to Heketi from a configuration file
    #[command(
        after_help = "  -j, --json string   Configuration containing devices, nodes, and clusters, in JSON format"
    )]
    Load {
        /// The topology file (`--json=FILE` / `-j FILE`; rewritten to this flag before parsing)
        #[arg(short = 'j', long = "topology-file", hide = true, default_value = "")]
        file: String,
    },
    /// Retrieves information about the current Topology
    Info {
        /// Go text/template for the output (not supported)
        #[arg(short = 'T', long)]
        template: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DbCmd {
    /// Dump the database as JSON
    Dump,
    /// Check the database for inconsistencies
    Check,
    /// Fill an empty heqet store file from heketi's JSON database (offline)
    Import(DbImportArgs),
    /// Write a heqet store file as heketi's JSON database (offline)
    Export(DbExportArgs),
}

/// `db import`: works on the store file, not through a server (docs/cli.md).
#[derive(Args, Debug)]
pub struct DbImportArgs {
    /// heketi's JSON database (`heketi db export`, `heketi-cli db dump`); - reads stdin
    pub file: Option<String>,
    /// Take the dump from a running heketi's GET /db/dump instead (with --user, --secret)
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub from: Option<String>,
    /// The store file (default: the one `heqet serve` uses, HEKETI_DB_PATH or heketi.db)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Take the default store file from this heketi.json (glusterfs.db), as `heqet serve`
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    pub config: Option<PathBuf>,
    /// Replace what the store holds instead of refusing (a copy is kept in PATH.bak)
    #[arg(long)]
    pub force: bool,
    /// `gluster volume info --xml` output of a node of a cluster: the brick order (repeatable)
    #[arg(long = "gluster-volume-info", value_name = "FILE")]
    pub gluster_volume_info: Vec<PathBuf>,
}

/// `db export`: works on the store file, not through a server.
#[derive(Args, Debug)]
pub struct DbExportArgs {
    /// Where to write the JSON (default, or -: stdout); an existing file is not overwritten
    pub file: Option<String>,
    /// The store file (default: the one `heqet serve` uses, HEKETI_DB_PATH or heketi.db)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Take the default store file from this heketi.json (glusterfs.db), as `heqet serve`
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum LoglevelCmd {
    /// Get the server's log level
    Get,
    /// Set the server's log level
    Set { args: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum ServerCmd {
    /// Pending operations on the server
    #[command(subcommand)]
    Operations(OperationsCmd),
    /// The server's administrative mode
    #[command(subcommand)]
    Mode(ModeCmd),
    /// Server state
    #[command(subcommand)]
    State(StateCmd),
}

#[derive(Subcommand, Debug)]
pub enum OperationsCmd {
    /// Operation counts, or one operation's details
    Info { id: Option<String> },
    /// List pending operations
    List,
    /// Clean up stale or failed operations
    Cleanup { ids: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum ModeCmd {
    /// Print the current mode
    Get,
    /// Set the mode: normal, read-only, local-client
    Set { args: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum StateCmd {
    /// Compare the database with the storage nodes
    #[command(subcommand)]
    Examine(ExamineCmd),
}

#[derive(Subcommand, Debug)]
pub enum ExamineCmd {
    /// Compare with what gluster reports
    Gluster,
}
