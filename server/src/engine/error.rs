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
