//! Reading and validating a topology file before anything is sent to the server.
//! (Temporary local model; to be replaced by `heqet_topology::model::parse_topology`.)

use std::collections::HashSet;

use heqet_api::{HostAddresses, NodeAddRequest, Tags};
use serde::Deserialize;

use crate::commands::load::{PlanCluster, PlanDevice, PlanNode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    clusters: Vec<Cluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cluster {
    #[serde(default)]
    block: Option<bool>,
    #[serde(default)]
    file: Option<bool>,
    #[serde(default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    node: NodeInfo,
    #[serde(default)]
    devices: Vec<Device>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeInfo {
    hostnames: HostAddresses,
    zone: i64,
    #[serde(default)]
    tags: Tags,
    // Accepted (heketi's node-add request has it) and ignored: the loader picks the cluster.
    #[serde(default, rename = "cluster")]
    _cluster: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Device {
    Name(String),
    Full(DeviceFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFull {
    name: String,
    #[serde(default)]
    destroydata: bool,
    #[serde(default)]
    tags: Tags,
}

/// Parse and validate; the error is a one-line description for the user.
pub fn parse(text: &str) -> Result<Vec<PlanCluster>, String> {
    let f: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut manages = HashSet::new();
    let mut plan = Vec::new();
    for (ci, c) in f.clusters.into_iter().enumerate() {
        let mut nodes = Vec::new();
        for (ni, n) in c.nodes.into_iter().enumerate() {
            let at = format!("clusters[{ci}].nodes[{ni}]");
            if n.node.hostnames.manage.iter().all(|h| h.is_empty()) {
                return Err(format!("{at}: node has no management hostname"));
            }
            if n.node.hostnames.storage.iter().all(|h| h.is_empty()) {
                return Err(format!("{at}: node has no storage hostname"));
            }
            if n.node.zone < 1 {
                return Err(format!(
                    "{at}: zone must be at least 1, got {}",
                    n.node.zone
                ));
            }
            let manage = n.node.hostnames.manage[0].clone();
            if !manages.insert(manage.clone()) {
                return Err(format!("{at}: node {manage} is listed twice"));
            }
            let mut names = HashSet::new();
            let mut devices = Vec::new();
            for d in n.devices {
                let d = match d {
                    Device::Name(name) => PlanDevice {
                        name,
                        destroydata: false,
                        tags: Tags::new(),
                    },
                    Device::Full(f) => PlanDevice {
                        name: f.name,
                        destroydata: f.destroydata,
                        tags: f.tags,
                    },
                };
                if !d.name.starts_with('/') {
                    return Err(format!("{at}: invalid device name {:?}", d.name));
                }
                if !names.insert(d.name.clone()) {
                    return Err(format!("{at}: device {} is listed twice", d.name));
                }
                devices.push(d);
            }
            nodes.push(PlanNode {
                request: NodeAddRequest {
                    zone: n.node.zone,
                    hostnames: n.node.hostnames,
                    cluster: String::new(),
                    tags: n.node.tags,
                },
                devices,
            });
        }
        plan.push(PlanCluster {
            block: c.block.unwrap_or(true),
            file: c.file.unwrap_or(true),
            nodes,
        });
    }
    Ok(plan)
}
