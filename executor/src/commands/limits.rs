//! Per-key concurrency limits (per node: commands in flight, fstab edits).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct KeyedLimits {
    permits: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl KeyedLimits {
    pub(crate) fn new(permits: usize) -> Self {
        KeyedLimits {
            permits,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Wait for a slot of `key`; the slot is released when the permit drops.
    pub(crate) async fn acquire(&self, key: &str) -> OwnedSemaphorePermit {
        let sem = {
            // The map is only touched here, without awaiting; a poisoned lock still holds
            // a valid map.
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.permits)))
                .clone()
        };
        loop {
            // Semaphores here are never closed, so acquire_owned cannot fail; retry anyway
            // rather than panic.
            if let Ok(p) = sem.clone().acquire_owned().await {
                return p;
            }
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_n_per_key() {
        let limits = Arc::new(KeyedLimits::new(2));
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (limits, active, peak) = (limits.clone(), active.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let key = if i % 2 == 0 { "a" } else { "b" };
                let _p = limits.acquire(key).await;
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                active.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Two keys × two permits.
        let peak = peak.load(Ordering::SeqCst);
        assert!((2..=4).contains(&peak), "peak {peak}");
    }
}
