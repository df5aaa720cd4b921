//! The topology file of `topology load`: parsed and validated by
//! `heqet_topology::model::parse_topology` before anything is sent, then turned into the
//! loader's plan.

use heqet_api::{HostAddresses, NodeAddRequest};
use heqet_topology::model::{parse_topology, TopologyFile};

use crate::commands::load::{PlanCluster, PlanDevice, PlanNode};

/// Parse and validate; the error says what is wrong and where.
pub fn parse(text: &str) -> Result<Vec<PlanCluster>, String> {
    parse_topology(text).map(plan).map_err(|e| e.to_string())
}

fn plan(file: TopologyFile) -> Vec<PlanCluster> {
    file.clusters
        .into_iter()
        .map(|c| PlanCluster {
            block: c.block,
            file: c.file,
            nodes: c
                .nodes
                .into_iter()
                .map(|n| PlanNode {
                    request: NodeAddRequest {
                        zone: n.zone,
                        hostnames: HostAddresses {
                            manage: n.hostnames.manage,
                            storage: n.hostnames.storage,
                        },
                        cluster: String::new(),
                        tags: n.tags,
                    },
                    devices: n
                        .devices
                        .into_iter()
                        .map(|d| PlanDevice {
                            name: d.name,
                            destroydata: d.destroydata,
                            tags: d.tags,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_object_devices_and_default_flags() {
        let p = parse(
            r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":["10.0.0.1"]},"zone":1},
                "devices":["/dev/sdb",{"name":"/dev/sdc","destroydata":true,"tags":{"disk":"ssd"}}]}]}]}"#,
        )
        .unwrap();
        assert!(p[0].block && p[0].file);
        let n = &p[0].nodes[0];
        assert_eq!(n.manage(), "n1");
        assert_eq!(n.devices[0].name, "/dev/sdb");
        assert!(n.devices[1].destroydata);
        assert_eq!(n.devices[1].tags["disk"], "ssd");
    }

    #[test]
    fn errors_are_located() {
        let e = parse("{\"clusters\": [}").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
