//! `--apply` for one PV, in the order that keeps the data safe (docs/cli.md §13.3):
//!
//! 0. a dry-run create of the replacement (under a generated name: the real one is taken),
//!    so that the API server's validation, admission and RBAC refuse it now, while nothing
//!    is changed yet, rather than after the delete;
//! 1. reclaim policy Retain (the original saved in an annotation), so that nothing that
//!    happens to the PV object from here on can delete the gluster volume;
//! 2. the claim checked again: a pod using it stops the migration before the delete, which
//!    cannot be taken back;
//! 3. delete, with the uid and resourceVersion the plan was made from as preconditions;
//! 4. wait until the object is gone. A bound PV never goes by itself: the pv-protection
//!    controller keeps `kubernetes.io/pv-protection` until the PV is no longer Bound, which
//!    for a claim that stays is never. With no pod using the claim (step 2), heqet removes
//!    that one finalizer; any other finalizer is left to its owner;
//! 5. create the heqet-csi PV, same name, original reclaim policy; its claimRef makes the
//!    PV controller bind the claim to it again.
//!
//! Every request that changes something carries a precondition on the object it read, so a
//! concurrent change ends the PV's migration with "run again" instead of acting on a stale
//! view.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::PersistentVolume;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{json, Value};

use crate::migrate::cluster::Cluster;
use crate::migrate::error::{Manifest, Progress, PvError, PvFailure};
use crate::migrate::mapping::{ORIGINAL_RECLAIM_POLICY, PV_PROTECTION};
use crate::migrate::plan::Migration;

/// How often a deleted PV is looked at until it is gone.
const POLL: Duration = Duration::from_millis(250);
/// Attempts at removing pv-protection (each after a fresh read: a conflict means the PV
/// changed meanwhile); then the PV is left to the timeout.
const MAX_RELEASES: u32 = 5;

fn is_status(e: &kube::Error, test: impl Fn(&kube::core::Status) -> bool) -> bool {
    matches!(e, kube::Error::Api(s) if test(s))
}

fn policy_of(pv: &PersistentVolume) -> Option<&str> {
    pv.spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
}

/// One PV's migration.
struct Run<'a> {
    cluster: &'a Cluster,
    m: &'a Migration,
    name: String,
    progress: Progress,
}

impl Run<'_> {
    fn fail(&self, failure: impl FnOnce(Progress) -> PvFailure) -> Box<PvError> {
        failure(self.progress).of(&self.name)
    }

    fn request(&self, step: &'static str, source: kube::Error) -> Box<PvError> {
        if is_status(&source, |s| s.is_conflict()) {
            return self.fail(|progress| PvFailure::Changed { step, progress });
        }
        self.fail(|progress| PvFailure::Request {
            step,
            source,
            progress,
        })
    }

    fn manifest(&self) -> Manifest {
        Manifest(serde_json::to_string_pretty(&self.m.new).unwrap_or_default())
    }

    /// Step 0.
    async fn check_create(&self) -> Result<(), Box<PvError>> {
        let mut probe = self.m.new.clone();
        probe.metadata.name = None;
        probe.metadata.generate_name = Some(format!("{}-", self.name));
        let pp = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        match self.cluster.pvs.create(&pp, &probe).await {
            Ok(_) => Ok(()),
            Err(source) => Err(self.fail(|progress| PvFailure::Refused { source, progress })),
        }
    }

    /// Step 1; returns the PV as it is now.
    async fn retain(&mut self) -> Result<PersistentVolume, Box<PvError>> {
        let old = &self.m.old;
        if policy_of(old) == Some("Retain") {
            self.progress = Progress::Retained;
            return Ok(old.clone());
        }
        let patch = json!({
            "metadata": {
                // A merge patch with a resourceVersion is refused (409) if the PV changed.
                "resourceVersion": old.metadata.resource_version,
                "annotations": {ORIGINAL_RECLAIM_POLICY: self.m.reclaim_policy},
            },
            "spec": {"persistentVolumeReclaimPolicy": "Retain"},
        });
        let pv = self
            .cluster
            .pvs
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.request("setting reclaim policy Retain", e))?;
        self.progress = Progress::Retained;
        Ok(pv)
    }

    /// Step 2.
    async fn check_unused(&self) -> Result<(), Box<PvError>> {
        let Some(claim) = &self.m.claim else {
            return Ok(());
        };
        let pods = self
            .cluster
            .pods_using(claim)
            .await
            .map_err(|e| self.request("listing the pods that might use its claim", e))?;
        if pods.is_empty() {
            return Ok(());
        }
        Err(self.fail(|progress| PvFailure::InUse {
            claim: claim.to_string(),
            pods: pods.join(", "),
            progress,
        }))
    }

    /// Step 3.
    async fn delete(&mut self, pv: &PersistentVolume) -> Result<(), Box<PvError>> {
        if pv.metadata.deletion_timestamp.is_none() {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pv.metadata.uid.clone(),
                    resource_version: pv.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            };
            match self.cluster.pvs.delete(&self.name, &dp).await {
                Ok(_) => {}
                Err(e) if is_status(&e, |s| s.is_not_found()) => {}
                Err(e) => return Err(self.request("deleting the in-tree PV", e)),
            }
        }
        self.progress = Progress::Deleted;
        Ok(())
    }

    /// Step 4.
    async fn wait_gone(&self, timeout: Duration) -> Result<(), Box<PvError>> {
        let uid = self.m.old.metadata.uid.clone();
        let deadline = Instant::now() + timeout;
        let mut releases = 0;
        loop {
            let pv = self
                .cluster
                .pvs
                .get_opt(&self.name)
                .await
                .map_err(|e| self.request("reading the deleted PV back", e))?;
            let Some(pv) = pv else {
                return Ok(());
            };
            if pv.metadata.uid != uid {
                return Err(self.fail(|progress| PvFailure::Replaced {
                    uid: pv.metadata.uid.clone().unwrap_or_default(),
                    progress,
                    manifest: self.manifest(),
                }));
            }
            let finalizers = pv.metadata.finalizers.clone().unwrap_or_default();
            if releases < MAX_RELEASES && finalizers.iter().any(|f| f == PV_PROTECTION) {
                releases += 1;
                self.release(&pv, &finalizers).await?;
                continue;
            }
            if Instant::now() >= deadline {
                return Err(self.fail(|progress| PvFailure::StillThere {
                    seconds: timeout.as_secs(),
                    finalizers: finalizers.join(", "),
                    progress,
                    manifest: self.manifest(),
                }));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Removes `kubernetes.io/pv-protection` and nothing else; `Ok` also when the PV changed
    /// meanwhile (the caller looks again).
    async fn release(
        &self,
        pv: &PersistentVolume,
        finalizers: &[String],
    ) -> Result<(), Box<PvError>> {
        let rest: Vec<&String> = finalizers.iter().filter(|f| *f != PV_PROTECTION).collect();
        let patch = json!({
            "metadata": {
                "resourceVersion": pv.metadata.resource_version,
                "finalizers": if rest.is_empty() { Value::Null } else { json!(rest) },
            }
        });
        match self
            .cluster
            .pvs
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, |s| s.is_not_found() || s.is_conflict()) => Ok(()),
            Err(e) => Err(self.request("removing the kubernetes.io/pv-protection finalizer", e)),
        }
    }

    /// Step 5.
    async fn create(&self) -> Result<PersistentVolume, Box<PvError>> {
        self.cluster
            .pvs
            .create(&PostParams::default(), &self.m.new)
            .await
            .map_err(|source| {
                self.fail(|progress| PvFailure::Create {
                    source,
                    progress,
                    manifest: self.manifest(),
                })
            })
    }
}

/// Migrates one PV; returns the new PV as the API server stored it.
pub async fn migrate(
    cluster: &Cluster,
    m: &Migration,
    timeout: Duration,
) -> Result<PersistentVolume, Box<PvError>> {
    let mut run = Run {
        cluster,
        m,
        name: m.old.metadata.name.clone().unwrap_or_default(),
        progress: Progress::Untouched,
    };
    run.check_create().await?;
    let current = run.retain().await?;
    run.check_unused().await?;
    run.delete(&current).await?;
    run.wait_gone(timeout).await?;
    run.create().await
}
