//! Which pod runs a node's commands: the query to send and the choice among the answers.
//! Pure: no I/O, so every rule (heketi's three lookup modes, terminating pods during a
//! rollout, the container) is unit-tested here.

use k8s_openapi::api::core::v1::Pod;

/// How a node's management hostname maps to its glusterfs pod (heketi's `kubeexec` modes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupMode {
    /// heketi's default: the one pod labelled `glusterfs-node=<host>` (templates label each
    /// pod with its node's name).
    Label,
    /// `gluster_daemonset: true`: among pods matching `selector`, the one with
    /// `spec.nodeName == <host>`.
    DaemonSet { selector: String },
    /// `use_pod_names: true`: the pod named `<host>`.
    PodName,
}

/// The label key heketi's templates put on glusterfs pods.
pub const NODE_LABEL: &str = "glusterfs-node";

/// One pod lookup, as the API is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodQuery {
    /// `GET pods?labelSelector=…[&fieldSelector=…]`, then [`choose`] with `node` checked
    /// client-side too (a server may ignore the field selector; correctness must not depend
    /// on it).
    List {
        label_selector: String,
        field_selector: Option<String>,
        node: Option<String>,
    },
    /// `GET pods/<name>`.
    Get { name: String },
}

impl PodQuery {
    /// "label selector `glusterfs-node=n1`": what was searched, for messages.
    pub fn describe(&self) -> String {
        match self {
            PodQuery::List {
                label_selector,
                field_selector: Some(f),
                ..
            } => format!("label selector `{label_selector}` and field selector `{f}`"),
            PodQuery::List { label_selector, .. } => format!("label selector `{label_selector}`"),
            PodQuery::Get { name } => format!("name `{name}`"),
        }
    }
}

/// Why no pod could be used. Messages say what was searched where, and what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{host:?} cannot be used to find a pod: {why}")]
    BadHost { host: String, why: String },
    #[error("no glusterfs pod for node {host} in namespace {namespace:?} ({searched})")]
    NoPod {
        host: String,
        namespace: String,
        searched: String,
    },
    #[error("several glusterfs pods for node {host} in namespace {namespace:?} ({searched}): {}; exactly one is needed", pods.join(", "))]
    Several {
        host: String,
        namespace: String,
        searched: String,
        pods: Vec<String>,
    },
    #[error("glusterfs pod {namespace}/{pod} for node {host} is not running (phase {phase}{})", if *terminating { ", being deleted" } else { "" })]
    NotRunning {
        host: String,
        namespace: String,
        pod: String,
        phase: String,
        terminating: bool,
    },
    #[error("glusterfs pod {namespace}/{pod} has no container {container:?} (it has: {})", have.join(", "))]
    NoContainer {
        namespace: String,
        pod: String,
        container: String,
        have: Vec<String>,
    },
    #[error("forbidden: heqet may not {verb} {resource} in namespace {namespace:?}; grant the service account RBAC verb `{verb}` on resource `{resource}` in that namespace ({message})")]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: String,
        message: String,
    },
    #[error("Kubernetes API in namespace {namespace:?}: {message}")]
    Api { namespace: String, message: String },
}

/// The pod (and container) that runs a node's commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodTarget {
    pub name: String,
    pub container: String,
}

/// Label values (and pod names used as such) may not carry selector syntax: a host named
/// `a,b` or `x!=y` would otherwise widen the query. Kubernetes' label value grammar.
pub fn check_label_value(host: &str) -> Result<(), LookupError> {
    let bad = |why: &str| {
        Err(LookupError::BadHost {
            host: host.to_string(),
            why: why.to_string(),
        })
    };
    if host.is_empty() {
        return bad("empty");
    }
    if host.len() > 63 {
        return bad("longer than 63 characters (a Kubernetes label value)");
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(host.chars().next()) || !edge_ok(host.chars().last()) {
        return bad("a label value must start and end with a letter or digit");
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return bad("only letters, digits, '-', '_' and '.' are allowed in a label value");
    }
    Ok(())
}

/// The API query that finds `host`'s pod.
pub fn query(mode: &LookupMode, host: &str) -> Result<PodQuery, LookupError> {
    check_label_value(host)?;
    Ok(match mode {
        LookupMode::Label => PodQuery::List {
            label_selector: format!("{NODE_LABEL}={host}"),
            field_selector: None,
            node: None,
        },
        LookupMode::DaemonSet { selector } => PodQuery::List {
            label_selector: selector.clone(),
            field_selector: Some(format!("spec.nodeName={host}")),
            node: Some(host.to_string()),
        },
        LookupMode::PodName => PodQuery::Get {
            name: host.to_string(),
        },
    })
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Pick `host`'s pod among the pods the query returned, and its container (`container`, else
/// the first one, as heketi).
///
/// During a rollout the old pod lingers (terminating) next to its replacement: terminating
/// pods lose to live ones, and among several live pods a single running one wins. Anything
/// else ambiguous is an error rather than a guess: commands on the wrong node destroy data.
pub fn choose(
    query: &PodQuery,
    pods: &[Pod],
    host: &str,
    namespace: &str,
    container: Option<&str>,
) -> Result<PodTarget, LookupError> {
    let node_filter = match query {
        PodQuery::List { node, .. } => node.as_deref(),
        PodQuery::Get { .. } => None,
    };
    let candidates: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            node_filter.is_none_or(|n| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|pn| pn == n)
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(LookupError::NoPod {
            host: host.to_string(),
            namespace: namespace.to_string(),
            searched: query.describe(),
        });
    }
    let live: Vec<&Pod> = candidates
        .iter()
        .copied()
        .filter(|p| !terminating(p))
        .collect();
    let pool = if live.is_empty() { candidates } else { live };
    let pod = if pool.len() == 1 {
        pool[0]
    } else {
        let running: Vec<&Pod> = pool
            .iter()
            .copied()
            .filter(|p| phase(p) == "Running")
            .collect();
        if running.len() == 1 {
            running[0]
        } else {
            let mut names: Vec<String> = pool.iter().map(|p| name(p)).collect();
            names.sort();
            return Err(LookupError::Several {
                host: host.to_string(),
                namespace: namespace.to_string(),
                searched: query.describe(),
                pods: names,
            });
        }
    };
    if phase(pod) != "Running" || terminating(pod) {
        return Err(LookupError::NotRunning {
            host: host.to_string(),
            namespace: namespace.to_string(),
            pod: name(pod),
            phase: phase(pod).to_string(),
            terminating: terminating(pod),
        });
    }
    let have: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let container = match container {
        Some(c) if have.iter().any(|h| h == c) => c.to_string(),
        Some(c) => {
            return Err(LookupError::NoContainer {
                namespace: namespace.to_string(),
                pod: name(pod),
                container: c.to_string(),
                have,
            })
        }
        None => match have.first() {
            Some(first) => first.clone(),
            None => {
                return Err(LookupError::NoContainer {
                    namespace: namespace.to_string(),
                    pod: name(pod),
                    container: "(any)".into(),
                    have,
                })
            }
        },
    };
    Ok(PodTarget {
        name: name(pod),
        container,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, containers: &[&str]) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"glusterfs-node": node}},
            "spec": {"nodeName": node, "containers": containers.iter().map(|c| serde_json::json!({"name": c})).collect::<Vec<_>>()},
            "status": {"phase": phase},
        }))
        .unwrap()
    }

    fn deleting(mut p: Pod) -> Pod {
        p.metadata.deletion_timestamp =
            serde_json::from_value(serde_json::json!("2024-01-01T00:00:00Z")).unwrap();
        p
    }

    #[test]
    fn queries_per_mode() {
        assert_eq!(
            query(&LookupMode::Label, "node1.example.com").unwrap(),
            PodQuery::List {
                label_selector: "glusterfs-node=node1.example.com".into(),
                field_selector: None,
                node: None
            }
        );
        let q = query(
            &LookupMode::DaemonSet {
                selector: "glusterfs-node".into(),
            },
            "n1",
        )
        .unwrap();
        assert_eq!(
            q.describe(),
            "label selector `glusterfs-node` and field selector `spec.nodeName=n1`"
        );
        assert_eq!(
            query(&LookupMode::PodName, "glusterfs-abc12").unwrap(),
            PodQuery::Get {
                name: "glusterfs-abc12".into()
            }
        );
    }

    #[test]
    fn selector_syntax_in_a_host_is_refused() {
        for h in [
            "a,b",
            "x!=y",
            "a=b",
            "",
            "-a",
            "a b",
            "a/b",
            &"x".repeat(64),
        ] {
            let e = query(&LookupMode::Label, h).unwrap_err();
            assert!(matches!(e, LookupError::BadHost { .. }), "{h:?}: {e}");
        }
        assert!(query(&LookupMode::Label, "10.99.0.1").is_ok());
        assert!(query(&LookupMode::Label, "node_1-a.b").is_ok());
    }

    #[test]
    fn one_running_pod_and_its_first_container() {
        let q = query(&LookupMode::Label, "n1").unwrap();
        let t = choose(
            &q,
            &[pod("gfs-a", "n1", "Running", &["glusterfs", "side"])],
            "n1",
            "ns",
            None,
        )
        .unwrap();
        assert_eq!(
            t,
            PodTarget {
                name: "gfs-a".into(),
                container: "glusterfs".into()
            }
        );
        let t = choose(
            &q,
            &[pod("gfs-a", "n1", "Running", &["glusterfs", "side"])],
            "n1",
            "ns",
            Some("side"),
        )
        .unwrap();
        assert_eq!(t.container, "side");
        let e = choose(
            &q,
            &[pod("gfs-a", "n1", "Running", &["glusterfs"])],
            "n1",
            "ns",
            Some("gluster"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "glusterfs pod ns/gfs-a has no container \"gluster\" (it has: glusterfs)"
        );
    }

    #[test]
    fn daemonset_mode_checks_the_node_name_itself() {
        let q = query(
            &LookupMode::DaemonSet {
                selector: "glusterfs-node".into(),
            },
            "n2",
        )
        .unwrap();
        // As if the server ignored the field selector.
        let pods = [
            pod("gfs-1", "n1", "Running", &["g"]),
            pod("gfs-2", "n2", "Running", &["g"]),
            pod("gfs-3", "n3", "Running", &["g"]),
        ];
        assert_eq!(choose(&q, &pods, "n2", "ns", None).unwrap().name, "gfs-2");
        let e = choose(&q, &pods[..1], "n2", "glusterfs", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no glusterfs pod for node n2 in namespace \"glusterfs\" (label selector \
             `glusterfs-node` and field selector `spec.nodeName=n2`)"
        );
    }

    #[test]
    fn none_several_not_running() {
        let q = query(&LookupMode::Label, "n1").unwrap();
        let e = choose(&q, &[], "n1", "default", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no glusterfs pod for node n1 in namespace \"default\" (label selector `glusterfs-node=n1`)"
        );
        let e = choose(
            &q,
            &[
                pod("b", "n1", "Pending", &["g"]),
                pod("a", "n1", "Pending", &["g"]),
            ],
            "n1",
            "default",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, LookupError::Several { pods, .. } if pods == &["a", "b"]),
            "{e}"
        );
        let e = choose(
            &q,
            &[pod("a", "n1", "Pending", &["g"])],
            "n1",
            "default",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "glusterfs pod default/a for node n1 is not running (phase Pending)"
        );
    }

    #[test]
    fn rollout_prefers_the_live_running_pod() {
        let q = query(&LookupMode::Label, "n1").unwrap();
        let old = deleting(pod("old", "n1", "Running", &["g"]));
        // Replacement still starting: the old one is going away, so: not running, say so.
        let e = choose(&q, std::slice::from_ref(&old), "n1", "ns", None).unwrap_err();
        assert!(e.to_string().contains("being deleted"), "{e}");
        // Replacement up: it wins over the terminating one.
        let pods = [old.clone(), pod("new", "n1", "Running", &["g"])];
        assert_eq!(choose(&q, &pods, "n1", "ns", None).unwrap().name, "new");
        // Two live pods, one running: the running one.
        let pods = [
            pod("x", "n1", "Pending", &["g"]),
            pod("y", "n1", "Running", &["g"]),
        ];
        assert_eq!(choose(&q, &pods, "n1", "ns", None).unwrap().name, "y");
        // Two running: refuse.
        let pods = [
            pod("x", "n1", "Running", &["g"]),
            pod("y", "n1", "Running", &["g"]),
        ];
        assert!(matches!(
            choose(&q, &pods, "n1", "ns", None),
            Err(LookupError::Several { .. })
        ));
    }

    #[test]
    fn forbidden_names_the_missing_grant() {
        let e = LookupError::Forbidden {
            verb: "list",
            resource: "pods",
            namespace: "glusterfs".into(),
            message: "pods is forbidden".into(),
        };
        assert!(
            e.to_string()
                .contains("RBAC verb `list` on resource `pods`"),
            "{e}"
        );
    }
}
