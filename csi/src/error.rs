//! The driver's error types and their one mapping to gRPC status codes.
//!
//! Everything below the gRPC handlers returns one of these enums; the handlers convert with
//! `?` (via `From<…> for tonic::Status`), so the choice of code lives here and nowhere else.

use heqet_api::client::ClientError;
use tonic::{Code, Status};

use crate::controller::params::ParamError;
use crate::controller::volume_id::VolumeIdError;

/// What the controller service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("{0}")]
    Param(#[from] ParamError),
    #[error("{0} is required")]
    MissingField(&'static str),
    #[error("{0}")]
    UnsupportedCapability(String),
    #[error("{0}")]
    VolumeId(#[from] VolumeIdError),
    #[error("volume {0} does not exist")]
    VolumeNotFound(String),
    #[error("source volume {0} of the clone does not exist")]
    SourceNotFound(String),
    #[error("volume name {name} is already used by volume {id} of {existing_gib} GiB, which does not fit the request ({wanted})")]
    NameConflict {
        name: String,
        id: String,
        existing_gib: u64,
        wanted: String,
    },
    #[error("a create of volume {0} is still running; retry later")]
    CreateInProgress(String),
    #[error("starting_token {0:?} was not returned by ListVolumes")]
    BadToken(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("no REST server: set the StorageClass parameter resturl or heqet-csi --resturl")]
    NoServer,
    /// The heketi API answered with an error (or did not answer).
    #[error("{context}: {source}")]
    Rest {
        /// What was being done, naming the server, e.g. `creating volume pvc-1 on http://h:8080`.
        context: String,
        #[source]
        source: ClientError,
    },
}

/// What the node service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0} is required")]
    MissingField(&'static str),
    #[error("volume context has no {0} (was the PV made by heqet-csi?)")]
    MissingContext(&'static str),
    #[error("{path}: {reason}")]
    BadPath { path: String, reason: String },
    #[error("{0}")]
    UnsupportedCapability(String),
    #[error("mount.glusterfs is not installed on node {node}: install the glusterfs client (Debian/Ubuntu: apt-get install glusterfs-client; RHEL/CentOS/Fedora: dnf install glusterfs-fuse)")]
    NoMountHelper { node: String },
    /// No volfile server answered on its glusterd port; each entry names host:port and why.
    #[error("no GlusterFS volume server of {volume} can be reached from this node: {}; check that glusterd runs there and that the firewall lets port 24007 (and the brick ports 49152-49251) through", .failures.join(", "))]
    ServersUnreachable {
        volume: String,
        failures: Vec<String>,
    },
    #[error("{what} failed: `{command}`: {output}")]
    CommandFailed {
        what: String,
        command: String,
        output: String,
    },
    /// The command was killed at its deadline. What it started may still take effect (a
    /// glusterfs client that connects later), so the outcome is uncertain, not failed.
    #[error("{what} timed out: `{command}`: {output}")]
    CommandTimeout {
        what: String,
        command: String,
        output: String,
    },
    #[error("{0} is not staged (NodeStageVolume first)")]
    NotStaged(String),
    /// The target is published already, but not the way this call asks (CSI: ALREADY_EXISTS).
    #[error("{target} is already published {how}")]
    PublishedDifferently { target: String, how: String },
    #[error("{0} does not exist")]
    PathNotFound(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a heketi API error maps to a gRPC code. heketi answers allocation failures with 500
/// and a text; "no space" in any of its spellings is ResourceExhausted.
pub fn rest_code(err: &ClientError) -> Code {
    match err {
        ClientError::Transport { .. } => Code::Unavailable,
        ClientError::Http { status, message } => match *status {
            400 | 422 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            409 => Code::FailedPrecondition,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ if is_no_space(message) => Code::ResourceExhausted,
            _ => Code::Internal,
        },
        ClientError::Setup(_) => Code::InvalidArgument,
        ClientError::Decode { .. } | ClientError::Protocol(_) => Code::Internal,
    }
}

/// heketi's texts for "the cluster has no room": `No space`, `Minimum brick size limit
/// reached.  Out of space.`, `Maximum number of bricks reached.`
pub fn is_no_space(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no space") || m.contains("out of space") || m.contains("maximum number of bricks")
}

impl ControllerError {
    pub fn code(&self) -> Code {
        use ControllerError::*;
        match self {
            Param(ParamError::CapacityOutOfRange { .. }) => Code::OutOfRange,
            Param(_) | MissingField(_) | UnsupportedCapability(_) | Unsupported(_) | NoServer => {
                Code::InvalidArgument
            }
            // Only an id heqet-csi cannot have made is "not found"; a server URL that cannot
            // be carried in an id is the StorageClass's mistake.
            VolumeId(VolumeIdError::Foreign(_)) | VolumeNotFound(_) | SourceNotFound(_) => {
                Code::NotFound
            }
            VolumeId(_) => Code::InvalidArgument,
            NameConflict { .. } => Code::AlreadyExists,
            CreateInProgress(_) | BadToken(_) => Code::Aborted,
            OutOfRange(_) => Code::OutOfRange,
            Rest { source, .. } => rest_code(source),
        }
    }
}

impl NodeError {
    pub fn code(&self) -> Code {
        use NodeError::*;
        match self {
            MissingField(_) | MissingContext(_) | BadPath { .. } | UnsupportedCapability(_) => {
                Code::InvalidArgument
            }
            NoMountHelper { .. } | NotStaged(_) => Code::FailedPrecondition,
            PublishedDifferently { .. } => Code::AlreadyExists,
            ServersUnreachable { .. } => Code::Unavailable,
            PathNotFound(_) => Code::NotFound,
            CommandFailed { .. } | Io { .. } => Code::Internal,
            // Non-final for kubelet: it marks the mount uncertain and cleans up later.
            CommandTimeout { .. } => Code::DeadlineExceeded,
        }
    }
}

impl From<ControllerError> for Status {
    fn from(e: ControllerError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

impl From<NodeError> for Status {
    fn from(e: NodeError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, message: &str) -> ClientError {
        ClientError::Http {
            status,
            message: message.to_string(),
        }
    }

    #[test]
    fn heketi_allocation_failures_are_resource_exhausted() {
        for text in [
            "Failed to allocate new volume: No space",
            "Failed to allocate volume expansion: Minimum brick size limit reached.  Out of space.",
            "Failed to allocate volume expansion: Maximum number of bricks reached.",
        ] {
            assert_eq!(
                rest_code(&http(500, text)),
                Code::ResourceExhausted,
                "{text}"
            );
        }
        assert_eq!(
            rest_code(&http(500, "gluster volume create failed")),
            Code::Internal
        );
    }

    #[test]
    fn transport_and_status_codes() {
        let t = ClientError::Transport {
            url: "http://h:8080/volumes".into(),
            message: "connection refused".into(),
        };
        assert_eq!(rest_code(&t), Code::Unavailable);
        assert_eq!(rest_code(&http(404, "Id not found")), Code::NotFound);
        assert_eq!(
            rest_code(&http(400, "Invalid volume size")),
            Code::InvalidArgument
        );
        assert_eq!(
            rest_code(&http(401, "Invalid JWT token")),
            Code::Unauthenticated
        );
        assert_eq!(rest_code(&http(429, "Server busy")), Code::Unavailable);
    }

    #[test]
    fn status_message_keeps_the_servers_text() {
        let e = ControllerError::Rest {
            context: "creating volume pvc-1 on http://h:8080".into(),
            source: http(500, "Failed to allocate new volume: No space"),
        };
        let s = Status::from(e);
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(
            s.message(),
            "creating volume pvc-1 on http://h:8080: Failed to allocate new volume: No space"
        );
    }
}
