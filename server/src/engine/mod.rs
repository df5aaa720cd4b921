//! The operation engine: admits state-changing requests, journals them, runs their node work
//! in the background with per-node concurrency limits, and records the outcome for `/queue`.
//!
//! Every operation follows the same shape:
//! 1. *prepare* (in the request): checks, then one transaction that writes the journal row,
//!    reserves space, inserts pending records and the queue entry;
//! 2. *run* (in a task): node commands through the executor, undone in reverse on failure;
//! 3. *finish*: one transaction that makes the result visible (or removes it), drops the
//!    journal row and stores the queue outcome.

mod cleanup;
mod device;
mod node;
mod volume;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, RwLock};

use heqet_executor::{ExecResult, Executor, NodeTarget};
use tokio::sync::{Notify, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::store::{write, Store};

pub use volume::NewVolume;

/// Per-node limit of concurrent executor calls.
#[derive(Default)]
struct NodeLimiter {
    per_node: usize,
    sems: StdMutex<HashMap<String, Arc<Semaphore>>>,
}

impl NodeLimiter {
    fn sem(&self, host: &str) -> Arc<Semaphore> {
        let mut m = self.sems.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_node.max(1))))
            .clone()
    }
}

pub struct Engine {
    pub store: Arc<Store>,
    pub exec: Arc<dyn Executor>,
    pub config: Arc<Config>,
    limiter: NodeLimiter,
    /// Operations admitted and not yet finished (queued or running).
    queued: AtomicUsize,
    /// Journal ids of operations running in this process.
    in_flight: StdMutex<HashSet<String>>,
    /// Node ids the health monitor found without a working glusterd.
    down: RwLock<HashSet<String>>,
    /// Running operation tasks, so a stopping server can end them (as a process exit would).
    tasks: StdMutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Pollers waiting for a queue entry to finish, by queue id.
    waiters: StdMutex<HashMap<String, Arc<Notify>>>,
}

/// Releases an admission slot when the operation ends, however it ends.
pub struct Admission {
    engine: Arc<Engine>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.engine.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Engine {
    pub fn new(store: Arc<Store>, exec: Arc<dyn Executor>, config: Arc<Config>) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            exec,
            limiter: NodeLimiter {
                per_node: config.per_node_concurrency,
                sems: StdMutex::new(HashMap::new()),
            },
            config,
            queued: AtomicUsize::new(0),
            in_flight: StdMutex::new(HashSet::new()),
            down: RwLock::new(HashSet::new()),
            tasks: StdMutex::new(HashMap::new()),
            waiters: StdMutex::new(HashMap::new()),
        })
    }

    /// Take a queue slot or answer 429 when the configured bound is reached.
    pub fn admit(self: &Arc<Self>) -> Result<Admission, ApiError> {
        let prev = self.queued.fetch_add(1, Ordering::SeqCst);
        if prev >= self.config.max_queued_operations {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Busy);
        }
        Ok(Admission {
            engine: self.clone(),
        })
    }

    pub fn in_flight_count(&self) -> usize {
        self.in_flight.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_in_flight(&self, op_id: &str) -> bool {
        self.in_flight
            .lock()
            .map(|s| s.contains(op_id))
            .unwrap_or(false)
    }

    pub fn down_nodes(&self) -> HashSet<String> {
        self.down.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn is_down(&self, node_id: &str) -> bool {
        self.down
            .read()
            .map(|s| s.contains(node_id))
            .unwrap_or(false)
    }

    /// Record a health check result; placement forgets its view when a node changes state.
    pub async fn set_node_health(&self, node_id: &str, up: bool) {
        let changed = match self.down.write() {
            Ok(mut s) => {
                if up {
                    s.remove(node_id)
                } else {
                    s.insert(node_id.to_string())
                }
            }
            Err(_) => false,
        };
        if changed {
            self.store.writer().await.devices.invalidate();
        }
    }

    /// Run an executor call under the node's concurrency limit.
    async fn on_node<T, F, Fut>(&self, node: &NodeTarget, f: F) -> ExecResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ExecResult<T>>,
    {
        let sem = self.limiter.sem(&node.manage);
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = sem.acquire_owned().await;
        f().await
    }

    /// Run `work` for journal entry `op_id` in the background. `work` records its outcome
    /// for queue entry `queue_id` itself (in the transaction that finishes the operation);
    /// an `Err` it returns is a failure it could not record, which is recorded here.
    pub fn spawn<F>(
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
            if let Ok(mut s) = self.in_flight.lock() {
                s.insert(id.clone());
            }
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
                if let Ok(mut s) = engine.in_flight.lock() {
                    s.remove(id);
                }
            }
            if let Ok(mut t) = engine.tasks.lock() {
                t.remove(&queue_id);
            }
            engine.notify_done(&queue_id);
            drop(admission);
        });
        tasks.insert(key, handle.abort_handle());
    }

    /// What a `/queue` poll waits on: notified when the entry's operation ends.
    pub fn waiter(&self, queue_id: &str) -> Arc<Notify> {
        let mut m = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(queue_id.to_string()).or_default().clone()
    }

    /// Drop the waiter of an entry that is no longer pending.
    pub fn forget_waiter(&self, queue_id: &str) {
        if let Ok(mut m) = self.waiters.lock() {
            m.remove(queue_id);
        }
    }

    fn notify_done(&self, queue_id: &str) {
        let n = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut m| m.remove(queue_id));
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    /// End every running operation where it stands. Their journal entries stay, exactly as
    /// after a crash, and are cleaned up by the next start.
    pub fn abort_all(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            for (_, h) in t.drain() {
                h.abort();
            }
        }
    }

    /// Queue and run an operation that has no journal entry (state changes, resync,
    /// eviction, cleanup): its outcome is recorded when `work` ends.
    pub async fn spawn_unjournaled<F>(
        self: &Arc<Self>,
        admission: Admission,
        work: F,
    ) -> Result<String, ApiError>
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        let queue_id = heqet_api::id::new_id();
        {
            let mut w = self.store.writer().await;
            write::insert_queue(&mut w.conn, &queue_id, None, "admin").await?;
        }
        let engine = self.clone();
        let qid = queue_id.clone();
        self.spawn(admission, None, queue_id.clone(), async move {
            let outcome = work.await.map(|_| String::new());
            engine
                .record_outcome(&qid, &outcome)
                .await
                .map_err(|e| e.to_string())
        });
        Ok(queue_id)
    }

    /// End journal entry `op_id` in one transaction: run `statements` (each SQL with its one
    /// bound value), drop the entry and record `outcome` for `queue_id`. With
    /// `topology_changed` the placement cache is dropped under the same writer lock, so no
    /// placement sees nodes or devices that are gone.
    pub(super) async fn end_op(
        &self,
        op_id: &str,
        queue_id: &str,
        outcome: &Result<String, String>,
        statements: &[(&'static str, &str)],
        topology_changed: bool,
    ) -> Result<(), crate::store::StoreError> {
        let mut w = self.store.writer().await;
        let mut tx = sqlx::Connection::begin(&mut w.conn).await?;
        for (sql, value) in statements {
            sqlx::query(sql).bind(*value).execute(&mut *tx).await?;
        }
        write::delete_operation(&mut tx, op_id).await?;
        write::finish_queue(&mut tx, queue_id, outcome).await?;
        tx.commit().await?;
        if topology_changed {
            w.devices.invalidate();
        }
        Ok(())
    }

    async fn record_outcome(
        &self,
        queue_id: &str,
        outcome: &Result<String, String>,
    ) -> Result<(), crate::store::StoreError> {
        let mut w = self.store.writer().await;
        write::finish_queue(&mut w.conn, queue_id, outcome).await
    }

    /// Forget finished queue entries older than the retention period.
    pub async fn expire_queue(&self) -> Result<(), crate::store::StoreError> {
        let cutoff = crate::model::now_secs() - self.config.queue_retention_secs;
        let mut w = self.store.writer().await;
        sqlx::query("DELETE FROM queue WHERE state != 'pending' AND finished_at < ?")
            .bind(cutoff)
            .execute(&mut w.conn)
            .await?;
        Ok(())
    }
}

/// `Failed to …: <reason>` wording of heketi's async errors.
fn exec_msg(e: &heqet_executor::ExecError) -> String {
    e.to_string()
}
