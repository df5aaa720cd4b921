//! Why `migrate pvs` stopped, typed until the CLI edge turns it into `Error: <text>`.
//!
//! Every message names the PV (or the request) and says what to do next, and a failure after
//! the old PV object was deleted carries the replacement's manifest, so nothing is lost even
//! when the create itself is what failed.

use heqet_api::client::ClientError;

/// The permissions the command needs, named in every "forbidden" hint.
pub const RBAC: &str = "get, list, patch, delete and create on persistentvolumes, and list on \
                        pods in the claims' namespaces";

/// A Kubernetes API error in one line: the server's message and status, not kube's debug
/// dump of the whole Status object.
pub fn api_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let hint = if s.is_forbidden() {
                format!(" (the command needs {RBAC})")
            } else {
                String::new()
            };
            format!("{} ({} {}){hint}", s.message, s.code, s.reason)
        }
        other => other.to_string(),
    }
}

/// A failure of the command as a whole (before or between PVs).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("--driver {name:?} is not a usable CSI driver name: {reason}")]
    Driver { name: String, reason: String },
    #[error("--csi-resturl {url:?}: {reason}")]
    CsiResturl { url: String, reason: String },
    #[error("Kubernetes API access: {0}")]
    Access(String),
    #[error("listing PersistentVolumes: {}", api_text(.0))]
    ListPvs(#[source] kube::Error),
    #[error(
        "listing the pods of namespace {namespace} (to see whether the claims there are in use): \
         {}; nothing was changed",
        api_text(.source)
    )]
    ListPods {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "reading the volumes of {server}: {source}; nothing was changed (check --resturl, \
         --user and --secret)"
    )]
    Volumes {
        server: String,
        #[source]
        source: ClientError,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(String),
    #[error("{0}")]
    Pv(#[from] Box<PvError>),
    #[error(
        "{} in-tree glusterfs PV(s) were not migrated ({names}): see the lines above for why \
         and what to do",
        .count
    )]
    Incomplete { count: usize, names: String },
}

/// How far one PV's migration got when it failed: what the message tells the user about the
/// state the PV is left in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Untouched,
    /// Reclaim policy is Retain now; the PV object is still there.
    Retained,
    /// The old PV object was deleted (or is being deleted).
    Deleted,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Progress::Untouched => "nothing was changed",
            Progress::Retained => {
                "its reclaim policy is Retain now (the next run still gives the new PV the \
                 original policy, kept in the annotation migrate.heqet.io/reclaim-policy); \
                 nothing else was changed"
            }
            Progress::Deleted => {
                "the old PV object is deleted or being deleted; the gluster volume and its data \
                 are untouched (reclaim policy Retain)"
            }
        })
    }
}

/// The new PV as JSON, for `kubectl create -f -` by hand.
#[derive(Debug)]
pub struct Manifest(pub String);

impl std::fmt::Display for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\n{}", self.0)
    }
}

/// One PV's migration failed.
#[derive(Debug, thiserror::Error)]
#[error("PV {pv}: {failure}")]
pub struct PvError {
    pub pv: String,
    pub failure: PvFailure,
}

#[derive(Debug, thiserror::Error)]
pub enum PvFailure {
    #[error(
        "the API server refuses its heqet-csi replacement (a dry-run create, made before \
         anything else): {}; {progress}",
        api_text(.source)
    )]
    Refused {
        #[source]
        source: kube::Error,
        progress: Progress,
    },
    #[error(
        "claim {claim} is in use by pod(s) {pods}: stop them (scale their workload to 0), run \
         again, then start them; {progress}"
    )]
    InUse {
        claim: String,
        pods: String,
        progress: Progress,
    },
    #[error(
        "it was changed by someone else while it was being migrated ({step}): run again, the \
         next run reads it afresh; {progress}"
    )]
    Changed {
        step: &'static str,
        progress: Progress,
    },
    #[error("{step} failed: {}; fix that and run again; {progress}", api_text(.source))]
    Request {
        step: &'static str,
        #[source]
        source: kube::Error,
        progress: Progress,
    },
    #[error(
        "still there {seconds} s after it was deleted, held by the finalizers [{finalizers}] \
         that heqet does not remove; {progress}. Once it is gone, create its replacement with \
         `kubectl create -f -` from this manifest (or run again before it is gone):{manifest}"
    )]
    StillThere {
        seconds: u64,
        finalizers: String,
        progress: Progress,
        manifest: Manifest,
    },
    #[error(
        "another PV of that name (uid {uid}) appeared while the old one was being deleted: \
         nothing more was done; {progress}. Compare it with this manifest of the intended \
         replacement:{manifest}"
    )]
    Replaced {
        uid: String,
        progress: Progress,
        manifest: Manifest,
    },
    #[error(
        "creating the heqet-csi PV failed: {}; {progress}. Create it yourself with `kubectl \
         create -f -` from this manifest:{manifest}",
        api_text(.source)
    )]
    Create {
        #[source]
        source: kube::Error,
        progress: Progress,
        manifest: Manifest,
    },
}

impl PvFailure {
    pub fn of(self, pv: &str) -> Box<PvError> {
        Box::new(PvError {
            pv: pv.to_string(),
            failure: self,
        })
    }
}
