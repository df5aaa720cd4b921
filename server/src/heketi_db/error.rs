//! Why a heketi database dump cannot be imported. Every variant names the record at fault,
//! so the user can find it in the file; nothing is written when one occurs.

/// A dump that cannot become a heqet store as it is.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DumpError {
    #[error("the input is not JSON: {0}")]
    NotJson(String),
    #[error("not a heketi database dump: {0}")]
    NotADump(String),
    /// A record whose JSON does not have heketi's shape (missing key, wrong type).
    #[error("{kind} entry {key}: {message}")]
    Shape {
        kind: &'static str,
        key: String,
        message: String,
    },
    #[error("{kind} id {id:?} is not 32 hex characters")]
    BadId { kind: &'static str, id: String },
    #[error("{kind} entry {key} holds the record of {id}")]
    KeyMismatch {
        kind: &'static str,
        key: String,
        id: String,
    },
    #[error("{kind} id {id} appears more than once")]
    DuplicateId { kind: &'static str, id: String },
    #[error("id {id} is used by a {first} and by a {second}")]
    IdReused {
        id: String,
        first: &'static str,
        second: &'static str,
    },
    /// A reference to a record that is not in the dump.
    #[error("{from} refers to {kind} {id}, which is not in the dump")]
    Dangling {
        from: String,
        kind: &'static str,
        id: String,
    },
    /// Two records that must agree do not (a list and the records it names).
    #[error("{0}")]
    Inconsistent(String),
    #[error("hostname {host} belongs to node {first} and to node {second}")]
    DuplicateHostname {
        host: String,
        first: String,
        second: String,
    },
    #[error("node {node} has two devices named {name}: {first} and {second}")]
    DuplicateDeviceName {
        node: String,
        name: String,
        first: String,
        second: String,
    },
    #[error("cluster {cluster} has two volumes named {name}: {first} and {second}")]
    DuplicateVolumeName {
        cluster: String,
        name: String,
        first: String,
        second: String,
    },
    /// A value heqet cannot take (a state, a zone, a size, a durability).
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A pending operation heqet cannot represent or that is malformed.
    #[error("pending operation {op}: {message}")]
    Operation { op: String, message: String },
    /// The `gluster volume info --xml` input is unreadable or contradicts the dump.
    #[error("gluster volume info: {0}")]
    Gluster(String),
}

impl DumpError {
    pub(super) fn invalid(what: impl Into<String>, message: impl Into<String>) -> DumpError {
        DumpError::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    pub(super) fn op(op: &str, message: impl Into<String>) -> DumpError {
        DumpError::Operation {
            op: op.to_string(),
            message: message.into(),
        }
    }
}
