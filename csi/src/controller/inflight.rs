//! Creates that are still running, by (server, volume name).
//!
//! The external-provisioner calls CreateVolume with a short deadline and retries with the
//! same name. A create on GlusterFS takes seconds, so the create runs in a task of its own
//! that outlives the call; a retry while it runs answers Aborted and starts nothing. When the
//! create fails and no call was waiting for it, its error is kept for the next retry (once),
//! so the provisioner's event says "no space" rather than just "retry".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ControllerError;

/// How long an unclaimed failure is kept for a retry to pick up.
const FAILURE_TTL: Duration = Duration::from_secs(600);

enum Slot {
    Running,
    Failed { error: ControllerError, at: Instant },
}

/// What a caller may do with a name.
pub enum Claim {
    /// Nothing runs for this name: the caller now owns it and must `finish` it.
    Acquired,
    /// A create runs for this name.
    Running,
    /// The last create failed unseen: here is its error (the name is free again).
    Failed(ControllerError),
}

#[derive(Default)]
pub struct InFlight {
    slots: Mutex<HashMap<String, Slot>>,
}

impl InFlight {
    fn key(server: &str, name: &str) -> String {
        format!("{server}\n{name}")
    }

    pub fn claim(&self, server: &str, name: &str) -> Claim {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        slots.retain(|_, s| match s {
            Slot::Running => true,
            Slot::Failed { at, .. } => now.duration_since(*at) < FAILURE_TTL,
        });
        let key = Self::key(server, name);
        match slots.remove(&key) {
            Some(Slot::Running) => {
                slots.insert(key, Slot::Running);
                Claim::Running
            }
            Some(Slot::Failed { error, .. }) => Claim::Failed(error),
            None => {
                slots.insert(key, Slot::Running);
                Claim::Acquired
            }
        }
    }

    /// Whether a create runs for this name (no claim taken).
    pub fn is_running(&self, server: &str, name: &str) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        matches!(slots.get(&Self::key(server, name)), Some(Slot::Running))
    }

    /// Release a claim; `unseen_failure` is kept for the next claim of the name.
    pub fn finish(&self, server: &str, name: &str, unseen_failure: Option<ControllerError>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(server, name);
        match unseen_failure {
            Some(error) => {
                slots.insert(
                    key,
                    Slot::Failed {
                        error,
                        at: Instant::now(),
                    },
                );
            }
            None => {
                slots.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_name_is_not_claimed_twice() {
        let f = InFlight::default();
        assert!(matches!(f.claim("s", "a"), Claim::Acquired));
        assert!(matches!(f.claim("s", "a"), Claim::Running));
        assert!(f.is_running("s", "a"));
        // Same name on another server is another volume.
        assert!(matches!(f.claim("t", "a"), Claim::Acquired));
        f.finish("s", "a", None);
        assert!(!f.is_running("s", "a"));
        assert!(matches!(f.claim("s", "a"), Claim::Acquired));
    }

    #[test]
    fn an_unseen_failure_is_handed_to_the_next_claim_once() {
        let f = InFlight::default();
        assert!(matches!(f.claim("s", "a"), Claim::Acquired));
        f.finish("s", "a", Some(ControllerError::NoServer));
        match f.claim("s", "a") {
            Claim::Failed(ControllerError::NoServer) => {}
            _ => panic!("expected the stored failure"),
        }
        assert!(matches!(f.claim("s", "a"), Claim::Acquired));
    }
}
