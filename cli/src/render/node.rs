//! `node add|info|list` text.

use heqet_api::{ClusterInfoResponse, DeviceInfoResponse, NodeInfoResponse, Tags};

use super::{gib, state_name};

fn first(v: &[String]) -> &str {
    v.first().map(String::as_str).unwrap_or("")
}

/// `Tags:` and one `  <key>: <value>` line per tag, nothing without tags.
pub fn tag_lines(tags: &Tags) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let mut s = String::from("Tags:\n");
    for (k, v) in tags {
        s.push_str(&format!("  {k}: {v}\n"));
    }
    s
}

fn header(n: &NodeInfoResponse) -> String {
    format!(
        "Node Id: {}\nState: {}\nCluster Id: {}\nZone: {}\nManagement Hostname: {}\nStorage Hostname: {}\n{}",
        n.id,
        state_name(&n.state),
        n.cluster,
        n.zone,
        first(&n.hostnames.manage),
        first(&n.hostnames.storage),
        tag_lines(&n.tags)
    )
}

pub fn added(n: &NodeInfoResponse) -> String {
    format!("Node information:\n{}", header(n))
}

pub fn device_line(d: &DeviceInfoResponse) -> String {
    format!(
        "Id:{:<35}Name:{:<20}State:{:<10}Size (GiB):{:<8}Used (GiB):{:<8}Free (GiB):{:<8}Bricks:{:<8}\n",
        d.id,
        d.name,
        state_name(&d.state),
        gib(d.storage.total),
        gib(d.storage.used),
        gib(d.storage.free),
        d.bricks.len()
    )
}

pub fn info(n: &NodeInfoResponse) -> String {
    let mut s = header(n);
    s.push_str("Devices:\n");
    for d in &n.devices {
        s.push_str(&device_line(d));
    }
    s
}

/// One `Id:<node>\tCluster:<cluster>` line per node of every cluster.
pub fn list(clusters: &[ClusterInfoResponse]) -> String {
    let mut s = String::new();
    for c in clusters {
        for n in &c.nodes {
            s.push_str(&format!("Id:{}\tCluster:{}\n", n, c.id));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::{HostAddresses, StorageSize};

    fn node() -> NodeInfoResponse {
        NodeInfoResponse {
            zone: 1,
            hostnames: HostAddresses {
                manage: vec!["node1.example.com".into()],
                storage: vec!["10.0.0.1".into()],
            },
            cluster: "67e267ea403dfcdf80731165b300d1ca".into(),
            tags: Tags::new(),
            id: "0b5f2c1e4d6a7b8c9d0e1f2a3b4c5d6e".into(),
            state: "online".into(),
            devices: vec![DeviceInfoResponse {
                name: "/dev/sdb".into(),
                storage: StorageSize {
                    total: 104_722_432,
                    free: 93_184_000,
                    used: 11_538_432,
                },
                id: "49a9bd2e40df882180479024ac4c24c8".into(),
                state: "online".into(),
                bricks: vec![Default::default()],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn add_layout() {
        assert_eq!(
            added(&node()),
            "Node information:\nNode Id: 0b5f2c1e4d6a7b8c9d0e1f2a3b4c5d6e\nState: online\n\
             Cluster Id: 67e267ea403dfcdf80731165b300d1ca\nZone: 1\n\
             Management Hostname: node1.example.com\nStorage Hostname: 10.0.0.1\n"
        );
    }

    #[test]
    fn info_device_line_is_padded() {
        let out = info(&node());
        assert!(out.ends_with(
            "Devices:\nId:49a9bd2e40df882180479024ac4c24c8   Name:/dev/sdb            State:online    Size (GiB):99      Used (GiB):11      Free (GiB):88      Bricks:1       \n"
        ), "{out}");
    }

    #[test]
    fn tags_and_removed_state() {
        let mut n = node();
        n.state = "failed".into();
        n.tags.insert("rack".into(), "a".into());
        let out = info(&n);
        assert!(out.contains("State: removed\n"));
        assert!(out.contains("Storage Hostname: 10.0.0.1\nTags:\n  rack: a\nDevices:\n"));
    }

    #[test]
    fn list_lines() {
        let c = ClusterInfoResponse {
            id: "c1".into(),
            nodes: vec!["n1".into(), "n2".into()],
            ..Default::default()
        };
        assert_eq!(list(&[c]), "Id:n1\tCluster:c1\nId:n2\tCluster:c1\n");
        assert_eq!(list(&[]), "");
    }
}
