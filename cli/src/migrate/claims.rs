//! Which claims pods use. Pure: the pods come from the edge.
//!
//! A PV whose claim a pod uses is not migrated: the kubelet holds (or keeps trying to make)
//! an in-tree mount for that pod, and replacing the PV under it would leave a mount the
//! kubelet can no longer account for.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolume, Pod};

/// A claim, as a PV's `claimRef` names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Pod names (`namespace/name`) per claim they use.
pub type InUse = BTreeMap<Claim, Vec<String>>;

/// The claim a PV is bound (or was last bound) to.
pub fn claim_of(pv: &PersistentVolume) -> Option<Claim> {
    let r = pv.spec.as_ref()?.claim_ref.as_ref()?;
    Some(Claim {
        namespace: r.namespace.clone().filter(|n| !n.is_empty())?,
        name: r.name.clone().filter(|n| !n.is_empty())?,
    })
}

/// Every claim used by a pod that has not finished. A pending pod counts: it may hold its
/// mounts already, or get them any moment.
pub fn in_use(pods: &[Pod]) -> InUse {
    let mut used = InUse::new();
    for pod in pods {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded") | Some("Failed")) {
            continue;
        }
        let (Some(ns), Some(name)) = (&pod.metadata.namespace, &pod.metadata.name) else {
            continue;
        };
        let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
        for v in volumes.into_iter().flatten() {
            let claim = if let Some(pvc) = &v.persistent_volume_claim {
                pvc.claim_name.clone()
            } else if v.ephemeral.is_some() {
                // A generic ephemeral volume's claim is named after the pod and the volume.
                format!("{name}-{}", v.name)
            } else {
                continue;
            };
            let pods = used
                .entry(Claim {
                    namespace: ns.clone(),
                    name: claim,
                })
                .or_default();
            let who = format!("{ns}/{name}");
            if !pods.contains(&who) {
                pods.push(who);
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, phase: &str, volumes: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": [{"name": "c"}], "volumes": volumes},
            "status": {"phase": phase},
        }))
        .unwrap()
    }

    fn claim(name: &str) -> Claim {
        Claim {
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    #[test]
    fn running_and_pending_pods_use_their_claims_finished_ones_do_not() {
        let pods = vec![
            pod(
                "web-0",
                "Running",
                json!([{"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                       {"name": "tmp", "emptyDir": {}}]),
            ),
            pod(
                "web-1",
                "Pending",
                json!([{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]),
            ),
            pod(
                "job-1",
                "Succeeded",
                json!([{"name": "d", "persistentVolumeClaim": {"claimName": "old"}}]),
            ),
            pod(
                "eph",
                "Running",
                json!([{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]),
            ),
        ];
        let used = in_use(&pods);
        assert_eq!(
            used.get(&claim("data")).unwrap(),
            &vec!["shop/web-0".to_string(), "shop/web-1".to_string()]
        );
        assert!(!used.contains_key(&claim("old")));
        assert_eq!(
            used.get(&claim("eph-scratch")).unwrap(),
            &vec!["shop/eph".to_string()]
        );
        assert_eq!(used.len(), 2);
    }

    #[test]
    fn claim_of_needs_namespace_and_name() {
        let pv = |r: serde_json::Value| -> PersistentVolume {
            serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"claimRef": r}}))
                .unwrap()
        };
        assert_eq!(
            claim_of(&pv(json!({"namespace": "shop", "name": "data"}))),
            Some(claim("data"))
        );
        assert_eq!(claim_of(&pv(json!({"name": "data"}))), None);
        assert_eq!(claim("data").to_string(), "shop/data");
    }
}
