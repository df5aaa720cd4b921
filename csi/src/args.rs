//! Command-line arguments of the `heqet-csi` binary.

use std::path::{Path, PathBuf};

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};

use crate::identity::{validate_driver_name, DEFAULT_DRIVER_NAME};

/// Which CSI services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Identity + Controller (one per cluster, next to the provisioner sidecars).
    Controller,
    /// Identity + Node (one per node, as a DaemonSet).
    Node,
    /// Identity + Controller + Node in one process.
    All,
}

impl Mode {
    pub fn runs_controller(self) -> bool {
        matches!(self, Mode::Controller | Mode::All)
    }

    pub fn runs_node(self) -> bool {
        matches!(self, Mode::Node | Mode::All)
    }
}

pub use crate::node::launcher::MountContext;

/// heqet-csi: a CSI driver for GlusterFS volumes managed through the heketi REST API.
#[derive(Debug, Clone, Parser)]
#[command(name = "heqet-csi", version)]
pub struct Args {
    /// CSI socket to serve on: unix:///path, unix:/path or an absolute path.
    #[arg(long, env = "CSI_ENDPOINT", default_value = "unix:///csi/csi.sock")]
    pub endpoint: String,

    /// Which CSI services to run.
    #[arg(long, value_enum, default_value_t = Mode::All)]
    pub mode: Mode,

    /// This node's ID as reported to the orchestrator (required in node and all modes).
    #[arg(long, env = "NODE_ID")]
    pub nodeid: Option<String>,

    /// CSI driver name, as in the StorageClass provisioner field.
    #[arg(long, default_value = DEFAULT_DRIVER_NAME, value_parser = parse_driver_name)]
    pub drivername: String,

    /// Kubelet's root directory; mount targets must lie below it.
    #[arg(long, env = "KUBELET_DIR", default_value = "/var/lib/kubelet")]
    pub kubelet_dir: PathBuf,

    /// heketi/heqet REST URL used when a StorageClass names none (e.g. http://heketi:8080).
    #[arg(long)]
    pub resturl: Option<String>,

    /// heketi user the controller authenticates as.
    #[arg(long, default_value = "admin")]
    pub restuser: String,

    /// File holding the heketi user's key (a trailing newline is ignored).
    #[arg(long)]
    pub restkey_file: Option<PathBuf>,

    /// Where the node service runs mount.glusterfs: auto, host or local.
    #[arg(long, value_enum, default_value_t = MountContext::Auto)]
    pub mount_context: MountContext,

    /// Directory of the glusterfs clients' log files (one per volume), on the host in host
    /// mount context.
    #[arg(long, default_value = "/var/log/glusterfs/heqet-csi")]
    pub glusterfs_log_dir: PathBuf,

    /// log-level of the glusterfs clients: CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NONE.
    #[arg(long, default_value = "WARNING", value_parser = parse_glusterfs_log_level)]
    pub glusterfs_log_level: String,

    /// Log filter, e.g. info or heqet_csi=debug (RUST_LOG overrides it).
    #[arg(long, default_value = "info", value_parser = parse_log_level)]
    pub log_level: String,
}

impl Args {
    /// Parses the process arguments like [`Parser::parse`], plus the checks clap cannot
    /// express; exits with clap's usage message on error.
    pub fn parse_checked() -> Args {
        let args = Args::parse();
        if let Err(e) = args.check() {
            e.exit();
        }
        args
    }

    /// [`Args::parse_checked`] for a given argument list, returning the error.
    pub fn try_parse_checked_from<I, T>(argv: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args = Args::try_parse_from(argv)?;
        args.check()?;
        Ok(args)
    }

    // clap's `required_if_eq` ignores default values, and `--mode` defaults to `all`.
    fn check(&self) -> Result<(), clap::Error> {
        if self.mode.runs_node() && self.nodeid.as_deref().is_none_or(str::is_empty) {
            let mode = match self.mode {
                Mode::Node => "node",
                _ => "all",
            };
            return Err(Args::command().error(
                ErrorKind::MissingRequiredArgument,
                format!("--nodeid (or NODE_ID) is required with --mode {mode}"),
            ));
        }
        Ok(())
    }

    /// The REST key from `--restkey-file`, if one was given.
    pub fn rest_key(&self) -> Result<Option<String>, RestKeyError> {
        self.restkey_file.as_deref().map(read_rest_key).transpose()
    }
}

fn parse_driver_name(name: &str) -> Result<String, String> {
    validate_driver_name(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

fn parse_log_level(filter: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| filter.to_string())
        .map_err(|e| format!("not a log filter: {e}"))
}

/// Why the REST key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RestKeyError {
    #[error("cannot read the REST key file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the REST key file {} is not UTF-8 text", .path.display())]
    NotText { path: PathBuf },
    #[error("the REST key file {} is empty", .path.display())]
    Empty { path: PathBuf },
}

/// Reads a key file as written by `echo key > file` or a Kubernetes secret: the content with
/// trailing line breaks removed.
pub fn read_rest_key(path: &Path) -> Result<String, RestKeyError> {
    let bytes = std::fs::read(path).map_err(|source| RestKeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| RestKeyError::NotText {
        path: path.to_path_buf(),
    })?;
    let key = text.trim_end_matches(['\n', '\r']);
    if key.is_empty() {
        return Err(RestKeyError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(key.to_string())
}

fn parse_glusterfs_log_level(s: &str) -> Result<String, String> {
    let up = s.trim().to_ascii_uppercase();
    match up.as_str() {
        "CRITICAL" | "ERROR" | "WARNING" | "INFO" | "DEBUG" | "TRACE" | "NONE" => Ok(up),
        _ => Err(format!(
            "{s:?} is not a glusterfs log level (CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NONE)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_checked_from(std::iter::once("heqet-csi").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    /// Defaults are only seen when the environment does not override them.
    fn env_overrides() -> bool {
        ["CSI_ENDPOINT", "NODE_ID", "KUBELET_DIR"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
    }

    #[test]
    fn defaults() {
        if env_overrides() {
            return;
        }
        let a = match parse(&["--nodeid", "n1"]) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(a.endpoint, "unix:///csi/csi.sock");
        assert_eq!(a.mode, Mode::All);
        assert_eq!(a.drivername, "glusterfs.heqet.io");
        assert_eq!(a.kubelet_dir, PathBuf::from("/var/lib/kubelet"));
        assert_eq!(a.restuser, "admin");
        assert_eq!(a.mount_context, MountContext::Auto);
        assert_eq!(a.log_level, "info");
        assert!(a.resturl.is_none() && a.restkey_file.is_none());
    }

    #[test]
    fn nodeid_is_required_where_a_node_service_runs() {
        if env_overrides() {
            return;
        }
        assert!(parse(&[]).is_err(), "mode all (the default) needs --nodeid");
        assert!(parse(&["--mode", "node"]).is_err());
        assert!(parse(&["--mode", "controller"]).is_ok());
        assert!(parse(&["--mode", "node", "--nodeid", ""]).is_err());
        assert!(parse(&["--mode", "node", "--nodeid", "n1"]).is_ok());
        match parse(&["--mode", "node"]) {
            Err(e) => assert!(e.to_string().contains("--nodeid"), "{e}"),
            Ok(_) => unreachable!("checked above"),
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let base = ["--mode", "controller"];
        for extra in [
            &["--drivername", "-bad"][..],
            &["--mode", "everything"][..],
            &["--mount-context", "chroot"][..],
            &["--log-level", "heqet_csi=loud"][..],
        ] {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            assert!(parse(&args).is_err(), "{extra:?} was accepted");
        }
    }

    #[test]
    fn rest_key_file() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let write = |name: &str, content: &[u8]| {
            let p = dir.path().join(name);
            if let Err(e) = std::fs::write(&p, content) {
                panic!("write {name}: {e}");
            }
            p
        };
        let key = |p: &Path| read_rest_key(p).map_err(|e| e.to_string());
        assert_eq!(key(&write("plain", b"s3cr3t")), Ok("s3cr3t".into()));
        assert_eq!(key(&write("nl", b"s3cr3t\n")), Ok("s3cr3t".into()));
        assert_eq!(key(&write("crlf", b"s3cr3t\r\n")), Ok("s3cr3t".into()));
        assert_eq!(key(&write("inner", b" a b \n")), Ok(" a b ".into()));
        assert!(matches!(
            read_rest_key(&write("empty", b"\n")),
            Err(RestKeyError::Empty { .. })
        ));
        assert!(matches!(
            read_rest_key(&write("binary", &[0xff, 0xfe])),
            Err(RestKeyError::NotText { .. })
        ));
        let missing = dir.path().join("missing");
        match read_rest_key(&missing) {
            Err(e @ RestKeyError::Read { .. }) => assert!(e.to_string().contains("missing")),
            other => panic!("{other:?}"),
        }
    }
}
