//! The operation engine: admits state-changing requests and runs them as [`Operation`]s.
//!
//! An operation is a value with a typed life cycle (see `op.rs` and docs/operations.md):
//! `prepare` in the transaction that journals it, `exec` on the nodes (undoing itself on
//! failure), then `finish` or `rollback` in the transaction that ends it, and `clean` after
//! a crash. One runner (`runner.rs`) owns ids, journal and queue rows, spawning, retries and
//! the finishing transactions; the operation families only say what is specific to them.

mod brick_evict;
mod cleanup;
mod device_add;
mod device_state;
mod error;
mod node_ops;
mod nodework;
mod op;
mod placement;
mod runner;
mod volume_clone;
mod volume_create;
mod volume_delete;
mod volume_expand;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, RwLock};

use heqet_executor::Executor;
use tokio::sync::Notify;

use crate::config::Config;
use crate::store::Store;

pub use error::{EngineError, OpError};
pub use volume_create::NewVolume;

pub struct Engine {
    pub store: Arc<Store>,
    pub exec: Arc<dyn Executor>,
    pub config: Arc<Config>,
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
            config,
            queued: AtomicUsize::new(0),
            in_flight: StdMutex::new(HashSet::new()),
            down: RwLock::new(HashSet::new()),
            tasks: StdMutex::new(HashMap::new()),
            waiters: StdMutex::new(HashMap::new()),
        })
    }

    /// Take a queue slot or answer 429 when the configured bound is reached.
    pub fn admit(self: &Arc<Self>) -> Result<Admission, EngineError> {
        let prev = self.queued.fetch_add(1, Ordering::SeqCst);
        if prev >= self.config.max_queued_operations {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(EngineError::Busy);
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

    fn set_in_flight(&self, op_id: &str, running: bool) {
        if let Ok(mut s) = self.in_flight.lock() {
            if running {
                s.insert(op_id.to_string());
            } else {
                s.remove(op_id);
            }
        }
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
            self.store.writer().await.forget_placement();
        }
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

    /// Forget finished queue entries older than the retention period.
    pub async fn expire_queue(&self) -> Result<(), crate::store::StoreError> {
        let cutoff = crate::model::now_secs() - self.config.queue_retention_secs;
        let mut w = self.store.writer().await;
        let mut tx = w.begin().await?;
        tx.expire_queue(cutoff).await?;
        tx.commit().await
    }
}
