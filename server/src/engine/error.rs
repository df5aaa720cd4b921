//! What admitting an operation can answer. The texts are heketi's (clients show them); the
//! variant says what kind of failure it is, and `error.rs` at the HTTP edge maps each kind
//! to heketi's status code in one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The bounded operation queue is full.
    #[error("Server busy. Retry operation later.")]
    Busy,
    /// The object does not exist, or is invisible because an operation holds it.
    #[error("Id not found")]
    IdNotFound,
    /// A referenced object does not exist (heketi's own wording per object).
    #[error("{0}")]
    Missing(String),
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with what exists (names, hostnames, contents).
    #[error("{0}")]
    Conflict(String),
    /// Allocation or set-up failed: heketi answers these with 500.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why background work of an operation failed. Its text becomes the queue entry's message
/// (heketi's wording: which node and which command, or a sentence), so it stays typed until
/// the outcome is recorded.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A node command failed: the node, the command and its output.
    #[error(transparent)]
    Node(#[from] heqet_executor::ExecError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store no longer holds what the work is about.
    #[error("{0}")]
    Missing(String),
    /// The work cannot be done as things are (heketi's text says why).
    #[error("{0}")]
    Refused(String),
    /// Several failures at once (bricks on several nodes), listed as heketi lists them.
    #[error("{}", join(.0))]
    Many(Vec<OpError>),
}

fn join(errors: &[OpError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl OpError {
    /// One error, or all of them.
    pub fn all(mut errors: Vec<OpError>) -> OpError {
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            OpError::Many(errors)
        }
    }
}
