//! The one per-host concurrency limiter of heqet.
//!
//! Every command a transport sends to a node takes a permit of [`HostLimits`] first, in the
//! `run` of [`crate::transport::Limited`] and nowhere else; the command layer reuses the type
//! with one permit per host as the fstab mutex. The limit protects the node's side: sshd refuses
//! sessions beyond `MaxSessions`, the API server and kubelet pile up exec streams, LVM and
//! gluster serialize internally anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ExecError;

/// At most `per_host` holders of a permit per key (a node's hostname) at once; keys are
/// independent, so a busy node never holds up another.
///
/// - Fair: waiters of one key get their permit in the order they asked (tokio's semaphore is
///   FIFO), so a burst of short commands cannot starve a long queue.
/// - Never panics: the key map survives a poisoned lock (it is only touched without awaiting,
///   so a panic elsewhere cannot leave it half-written), and no semaphore is ever closed.
/// - A permit is released when its [`HostPermit`] drops, including when the future holding it
///   is cancelled (a timeout, a dropped request).
///
/// Keys are never forgotten: one small semaphore per node ever used.
pub struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// One permit for one key; dropping it gives the slot back.
#[must_use = "the permit is released as soon as it is dropped"]
#[derive(Debug)]
pub struct HostPermit {
    _permit: OwnedSemaphorePermit,
}

/// The semaphore of a key was closed. [`HostLimits`] never closes one, so this is a bug, typed
/// rather than a panic so that a command fails instead of the process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the per-host command limiter of {host} is closed")]
pub struct LimiterClosed {
    pub host: String,
}

impl From<LimiterClosed> for ExecError {
    fn from(e: LimiterClosed) -> Self {
        ExecError::Other(e.to_string())
    }
}

impl HostLimits {
    /// `per_host` permits per key; 0 is taken as 1 (a limit of 0 would hang every command).
    pub fn new(per_host: usize) -> Self {
        HostLimits {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Permits per key.
    pub fn per_host(&self) -> usize {
        self.per_host
    }

    /// Wait for a permit of `host`.
    pub async fn acquire(&self, host: &str) -> Result<HostPermit, LimiterClosed> {
        let sem = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        sem.acquire_owned()
            .await
            .map(|p| HostPermit { _permit: p })
            .map_err(|_| LimiterClosed {
                host: host.to_string(),
            })
    }
}

/// The one limit made of several config fields that each cap commands per node (e.g.
/// `max_channels_per_host` and `max_commands_per_host`): the smallest wins, 0 counts as 1.
/// No field at all means no cap beyond `usize::MAX`.
pub fn smallest(limits: impl IntoIterator<Item = usize>) -> usize {
    limits
        .into_iter()
        .map(|n| n.max(1))
        .min()
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Peak holders per key, and of all keys together.
    #[derive(Default)]
    struct Peaks {
        now: Mutex<HashMap<&'static str, usize>>,
        peak: Mutex<HashMap<&'static str, usize>>,
        all_now: AtomicUsize,
        all_peak: AtomicUsize,
    }

    impl Peaks {
        fn enter(&self, key: &'static str) {
            let mut now = self.now.lock().unwrap();
            let n = now.entry(key).or_default();
            *n += 1;
            let mut peak = self.peak.lock().unwrap();
            let p = peak.entry(key).or_default();
            *p = (*p).max(*n);
            let all = self.all_now.fetch_add(1, Ordering::SeqCst) + 1;
            self.all_peak.fetch_max(all, Ordering::SeqCst);
        }

        fn leave(&self, key: &'static str) {
            *self.now.lock().unwrap().entry(key).or_default() -= 1;
            self.all_now.fetch_sub(1, Ordering::SeqCst);
        }

        fn peak(&self, key: &'static str) -> usize {
            self.peak.lock().unwrap().get(key).copied().unwrap_or(0)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_n_per_key_and_keys_are_independent() {
        let limits = Arc::new(HostLimits::new(2));
        let peaks = Arc::new(Peaks::default());
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (limits, peaks) = (limits.clone(), peaks.clone());
            tasks.push(tokio::spawn(async move {
                let key = if i % 2 == 0 { "a" } else { "b" };
                let _p = limits.acquire(key).await.unwrap();
                peaks.enter(key);
                tokio::time::sleep(Duration::from_millis(30)).await;
                peaks.leave(key);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peaks.peak("a"), 2);
        assert_eq!(peaks.peak("b"), 2);
        // Both keys at their limit at the same time: they do not share permits.
        assert_eq!(peaks.all_peak.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_full_key_does_not_block_another() {
        let limits = HostLimits::new(1);
        let _held = limits.acquire("a").await.unwrap();
        let other = tokio::time::timeout(Duration::from_secs(5), limits.acquire("b")).await;
        assert!(other.is_ok(), "b waited for a's permit");
        let same = tokio::time::timeout(Duration::from_millis(50), limits.acquire("a")).await;
        assert!(same.is_err(), "a second permit of a was handed out");
    }

    #[tokio::test]
    async fn dropping_a_permit_or_a_waiter_frees_the_slot() {
        let limits = HostLimits::new(1);
        let held = limits.acquire("a").await.unwrap();
        // A waiter cancelled by a timeout must not keep a place that blocks later callers.
        let cancelled = tokio::time::timeout(Duration::from_millis(20), limits.acquire("a")).await;
        assert!(cancelled.is_err());
        drop(held);
        let again = tokio::time::timeout(Duration::from_secs(5), limits.acquire("a")).await;
        assert!(again.is_ok(), "the dropped permit was not given back");
    }

    /// Current-thread runtime: a spawned task runs up to its wait before the spawner's sleep
    /// ends, so task i is queued before task i+1 asks.
    #[tokio::test]
    async fn waiters_are_served_in_order() {
        let limits = Arc::new(HostLimits::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = limits.acquire("a").await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (limits, order) = (limits.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = limits.acquire("a").await.unwrap();
                order.lock().unwrap().push(i);
                // Hold it a moment, so later waiters really queue behind this one.
                tokio::task::yield_now().await;
            }));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(
            order.lock().unwrap().is_empty(),
            "a waiter got past a held permit"
        );
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_poisoned_map_still_hands_out_permits() {
        let limits = Arc::new(HostLimits::new(1));
        let l = limits.clone();
        let poisoner = std::thread::spawn(move || {
            let _guard = l.hosts.lock().unwrap();
            panic!("poison the map on purpose");
        });
        assert!(poisoner.join().is_err());
        assert!(limits.hosts.is_poisoned());
        let p = tokio::time::timeout(Duration::from_secs(5), limits.acquire("a")).await;
        assert!(matches!(p, Ok(Ok(_))));
    }

    #[test]
    fn zero_is_one_and_the_smallest_field_wins() {
        assert_eq!(HostLimits::new(0).per_host(), 1);
        assert_eq!(HostLimits::new(8).per_host(), 8);
        assert_eq!(smallest([8, 8]), 8);
        assert_eq!(smallest([8, 3]), 3);
        assert_eq!(smallest([2, 8]), 2);
        assert_eq!(smallest([0, 8]), 1);
        assert_eq!(smallest([]), usize::MAX);
    }
}
