//! The one runner of operations: ids, journal and queue rows, spawning, retries, the
//! transactions that end an operation, and the end of an operation found after a crash.

use std::future::Future;
use std::sync::Arc;

use super::op::{interrupted, Cleaned, ExecFailure, OpId, Operation};
use super::{Admission, Engine, EngineError, OpError};
use crate::model::OpStatus;
use crate::store::StoreError;

/// How an operation ends.
enum End {
    Finish,
    Rollback(String),
}

impl Engine {
    /// Journal `op` and run it in the background; returns the queue id to poll.
    pub(super) async fn start<O: Operation>(
        self: &Arc<Self>,
        mut op: O,
    ) -> Result<String, EngineError> {
        let admission = self.admit()?;
        let id = OpId(heqet_api::id::new_id());
        let queue_id = heqet_api::id::new_id();
        self.journal(&mut op, &id, Some(&queue_id)).await?;
        let engine = self.clone();
        self.spawn_task(
            admission,
            Some(id.0.clone()),
            queue_id.clone(),
            async move {
                engine
                    .drive(&mut op, &id)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        );
        Ok(queue_id)
    }

    /// Journal `op` and run it in the caller's task (a step of a larger piece of work that
    /// has its own queue entry). Returns the failure message.
    pub(super) async fn run_nested<O: Operation>(&self, mut op: O) -> Result<(), OpError> {
        let id = OpId(heqet_api::id::new_id());
        self.journal(&mut op, &id, None)
            .await
            .map_err(|e| match e {
                EngineError::Store(s) => OpError::Store(s),
                other => OpError::Refused(other.to_string()),
            })?;
        self.set_in_flight(id.as_str(), true);
        let result = self.drive(&mut op, &id).await;
        self.set_in_flight(id.as_str(), false);
        match result? {
            None => Ok(()),
            Some(msg) => Err(OpError::Refused(msg)),
        }
    }

    /// One transaction: `prepare`, the journal entry and (if any) the queue row.
    async fn journal<O: Operation>(
        &self,
        op: &mut O,
        id: &OpId,
        queue_id: Option<&str>,
    ) -> Result<(), EngineError> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        op.prepare(self, &mut tx, id).await?;
        tx.insert_operation(id.as_str(), &op.payload(), &op.changes())
            .await?;
        if let Some(q) = queue_id {
            tx.insert_queue(q, Some(id.as_str()), op.owner().as_str())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `exec` with retries, then the end. Returns the failure message, if it failed.
    async fn drive<O: Operation>(
        &self,
        op: &mut O,
        id: &OpId,
    ) -> Result<Option<String>, StoreError> {
        let mut attempt = 0;
        loop {
            let msg = match op.exec(self, id).await {
                Ok(()) => return self.end(op, id, End::Finish).await.map(|_| None),
                Err(ExecFailure::Dirty(msg)) => {
                    self.mark_failed(id, &msg).await?;
                    return Ok(Some(msg));
                }
                Err(ExecFailure::Undone(msg)) => msg,
            };
            if attempt >= op.retries(&self.config) {
                self.end(op, id, End::Rollback(msg.clone())).await?;
                return Ok(Some(msg));
            }
            attempt += 1;
            tracing::info!(op = id.as_str(), what = op.payload().kind().what(), attempt, error = %msg, "retrying");
            if let Err(e) = op.retry(self, id).await {
                let msg = format!("{msg}; retry placement failed: {e}");
                self.end(op, id, End::Rollback(msg.clone())).await?;
                return Ok(Some(msg));
            }
        }
    }

    /// The transaction that ends an operation: `finish` or `rollback`, the journal entry
    /// dropped, every pending queue entry of it answered.
    async fn end<O: Operation>(&self, op: &mut O, id: &OpId, how: End) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        let outcome = match how {
            End::Finish => Ok(op.finish(&mut tx, id).await?),
            End::Rollback(msg) => {
                op.rollback(&mut tx, id).await?;
                Err(msg)
            }
        };
        tx.delete_operation(id.as_str()).await?;
        tx.finish_queues_of(id.as_str(), &outcome).await?;
        tx.commit().await
    }

    /// The undo failed: keep the records (they describe what may exist on nodes) for
    /// cleanup, and say so.
    async fn mark_failed(&self, id: &OpId, msg: &str) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        tx.set_operation_status(id.as_str(), OpStatus::Failed)
            .await?;
        let text = format!(
            "{msg} (the undo failed too; the operation {} is kept for `heketi-cli server operations cleanup`)",
            id.as_str()
        );
        tx.finish_queues_of(id.as_str(), &Err(text)).await?;
        tx.commit().await
    }

    /// End an operation found in the journal after a crash: `clean`, then `finish` or
    /// `rollback`. `Err` keeps the entry for a later cleanup.
    pub(super) async fn clean_with<O: Operation>(
        &self,
        mut op: O,
        id: &OpId,
    ) -> Result<(), OpError> {
        let how = match op.clean(self, id).await? {
            Cleaned::Done => End::Finish,
            Cleaned::Undone => End::Rollback(interrupted(op.payload().kind().what())),
            Cleaned::RolledBack(msg) => End::Rollback(msg),
        };
        Ok(self.end(&mut op, id, how).await?)
    }

    /// Queue and run work that has no journal entry (state changes, resync, eviction):
    /// its outcome is recorded when `work` ends.
    pub(super) async fn start_task<F>(
        self: &Arc<Self>,
        admission: Admission,
        work: F,
    ) -> Result<String, EngineError>
    where
        F: Future<Output = Result<(), OpError>> + Send + 'static,
    {
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            let mut tx = w.begin().await?;
            tx.insert_queue(&queue_id, None, "admin").await?;
            tx.commit().await?;
        }
        let engine = self.clone();
        let qid = queue_id.clone();
        self.spawn_task(admission, None, queue_id.clone(), async move {
            // The failure's text is the queue entry's message.
            let outcome = work.await.map(|_| String::new()).map_err(|e| e.to_string());
            engine
                .record_outcome(&qid, &outcome)
                .await
                .map_err(|e| e.to_string())
        });
        Ok(queue_id)
    }

    /// Run `work` for journal entry `op_id` in the background. `work` records its outcome
    /// itself; an `Err` it returns is a failure it could not record, which is recorded here.
    fn spawn_task<F>(
        self: &Arc<Self>,
        admission: Admission,
        op_id: Option<String>,
        queue_id: String,
        work: F,
    ) where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        let engine = self.clone();
        if let Some(id) = &op_id {
            self.set_in_flight(id, true);
        }
        let key = queue_id.clone();
        // Held across spawn and insert: the task removes its entry under the same lock, so
        // the removal always comes after the insert.
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let handle = tokio::spawn(async move {
            if let Err(msg) = work.await {
                tracing::warn!(queue = %queue_id, error = %msg, "operation failed");
                if let Err(e) = engine.record_outcome(&queue_id, &Err(msg)).await {
                    tracing::error!(queue = %queue_id, error = %e, "cannot record operation outcome");
                }
            }
            if let Some(id) = &op_id {
                engine.set_in_flight(id, false);
            }
            if let Ok(mut t) = engine.tasks.lock() {
                t.remove(&queue_id);
            }
            engine.notify_done(&queue_id);
            drop(admission);
        });
        tasks.insert(key, handle.abort_handle());
    }

    async fn record_outcome(
        &self,
        queue_id: &str,
        outcome: &Result<String, String>,
    ) -> Result<(), StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        tx.finish_queue(queue_id, outcome).await?;
        tx.commit().await
    }
}
