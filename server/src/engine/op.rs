//! The operation contract: heketi's Build / Exec / Rollback / Finalize / Clean, typed.
//!
//! The runner (`runner.rs`) drives every journaled operation through the same steps:
//! 1. `prepare`, inside the write transaction that also writes the journal entry and the
//!    queue row: checks that need the writer, placement, reservations, hidden rows;
//! 2. `exec`, in a background task: node work through the executor. A failure is either
//!    [`ExecFailure::Undone`] (what was done on the nodes was undone) or
//!    [`ExecFailure::Dirty`] (the undo failed too; the journal entry is kept as `failed`);
//! 3. after an undone failure, `retry` may re-plan and `exec` runs again, up to `retries`;
//! 4. `finish` (success) or `rollback` (undone failure), inside the transaction that drops
//!    the journal entry and records the queue outcome;
//! 5. after a crash, the operation is rebuilt from its journal entry by its family's
//!    `load` function and `clean` finishes or undoes the node side; the runner then ends it
//!    with `finish` or `rollback` as in 4.

use async_trait::async_trait;

use super::error::OpError;
use super::{Engine, EngineError};
use crate::auth::Role;
use crate::config::Config;
use crate::model::{Change, OpPayload};
use crate::store::{StoreResult, Tx};

/// How node work failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecFailure {
    /// Everything done on the nodes was undone: the store can forget the operation.
    Undone(String),
    /// The undo failed too: the nodes may hold leftovers the journal entry describes.
    Dirty(String),
}

impl ExecFailure {
    /// Failed, nothing left on the nodes; the queue shows `e`'s text.
    pub fn undone(e: impl std::fmt::Display) -> ExecFailure {
        ExecFailure::Undone(e.to_string())
    }

    /// Failed, and something may be left on the nodes.
    pub fn dirty(e: impl std::fmt::Display) -> ExecFailure {
        ExecFailure::Dirty(e.to_string())
    }

    pub fn message(&self) -> &str {
        match self {
            ExecFailure::Undone(m) | ExecFailure::Dirty(m) => m,
        }
    }
}

/// What `clean` did on the nodes after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleaned {
    /// The node side was undone: end with `rollback`; queue entries get the interruption
    /// message.
    Undone,
    /// The node side could not be completed, nothing was lost: end with `rollback` and
    /// this message.
    RolledBack(String),
    /// The node side was completed: end with `finish`.
    Done,
}

/// Where an operation is in the journal: its id, for the rows it marks as its own.
#[derive(Clone, Debug)]
pub struct OpId(pub String);

impl OpId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[async_trait]
pub trait Operation: Send + Sync + 'static {
    /// The journal entry: enough to clean up after a crash.
    fn payload(&self) -> OpPayload;

    /// The journal's list of objects the operation changes (read after `prepare`).
    fn changes(&self) -> Vec<Change> {
        self.payload().single_change()
    }

    /// Role recorded with the queue entry (who may poll it).
    fn owner(&self) -> Role {
        Role::Admin
    }

    /// In the transaction that journals the operation, before anything touches a node.
    async fn prepare(
        &mut self,
        _engine: &Engine,
        _tx: &mut Tx<'_>,
        _op: &OpId,
    ) -> Result<(), EngineError> {
        Ok(())
    }

    /// The node work, undone in reverse on failure.
    async fn exec(&mut self, engine: &Engine, op: &OpId) -> Result<(), ExecFailure>;

    /// Make the result visible. Returns the queue location (`""` = 204 No Content).
    async fn finish(&mut self, tx: &mut Tx<'_>, op: &OpId) -> StoreResult<String>;

    /// Forget what `prepare` made, after the node side was undone.
    async fn rollback(&mut self, _tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<()> {
        Ok(())
    }

    /// How many more times `exec` may run after an undone failure.
    fn retries(&self, _config: &Config) -> u32 {
        0
    }

    /// Prepare another attempt (a fresh placement). An error ends the operation with a
    /// rollback.
    async fn retry(&mut self, _engine: &Engine, _op: &OpId) -> Result<(), OpError> {
        Err(OpError::Refused("the operation cannot be retried".into()))
    }

    /// After a crash: finish or undo the node side. `Err` keeps the journal entry (as
    /// `failed`) for a later cleanup.
    async fn clean(&mut self, engine: &Engine, op: &OpId) -> Result<Cleaned, OpError>;
}

/// `clean` of an operation that is carried on after a crash (deletes: doing it twice is
/// harmless, half of it is not): `exec` again; if that fails, roll back with its message.
pub async fn carry_on<O: Operation + ?Sized>(
    op: &mut O,
    engine: &Engine,
    id: &OpId,
) -> Result<Cleaned, OpError> {
    match op.exec(engine, id).await {
        Ok(()) => Ok(Cleaned::Done),
        Err(f) => Ok(Cleaned::RolledBack(f.message().to_string())),
    }
}

/// heketi's text for an operation a restart cut short.
pub fn interrupted(what: &str) -> String {
    format!("{what} was interrupted (server stopped) and has been rolled back")
}
