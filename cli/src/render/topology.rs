//! `topology info` text: heketi-cli's default Go template, reproduced byte for byte
//! (docs/cli.md §9.2).

use heqet_api::{
    ClusterTopology, DeviceInfoResponse, NodeInfoResponse, Tags, TopologyInfoResponse,
    VolumeInfoResponse,
};

use super::{gib, state_name};

fn tag_pairs(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn volume(out: &mut String, v: &VolumeInfoResponse) {
    let backup = v
        .mount
        .glusterfs
        .options
        .get("backup-volfile-servers")
        .map(String::as_str)
        .unwrap_or("");
    out.push_str(&format!(
        "\n\tName: {}\n\tSize: {}\n\tId: {}\n\tCluster Id: {}\n\tMount: {}\n\
         \tMount Options: backup-volfile-servers={}\n\tDurability Type: {}\n",
        v.name, v.size, v.id, v.cluster, v.mount.glusterfs.device, backup, v.durability.kind
    ));
    match v.durability.kind.as_str() {
        "replicate" => out.push_str(&format!("\tReplica: {}\n", v.durability.replicate.replica)),
        "disperse" => out.push_str(&format!(
            "\tDisperse Data: {}\n\tDisperse Redundancy: {}\n",
            v.durability.disperse.data, v.durability.disperse.redundancy
        )),
        _ => {}
    }
    if v.snapshot.enable {
        out.push_str(&format!(
            "\tSnapshot: Enabled\n\tSnapshot Factor: {:.2}\n",
            v.snapshot.factor
        ));
    } else {
        out.push_str("\tSnapshot: Disabled\n");
    }
    out.push_str("\n\t\tBricks:\n");
    for b in &v.bricks {
        out.push_str(&format!(
            "\t\t\tId: {}\n\t\t\tPath: {}\n\t\t\tSize (GiB): {}\n\t\t\tNode: {}\n\t\t\tDevice: {}\n\n",
            b.id,
            b.path,
            gib(b.size),
            b.node,
            b.device
        ));
    }
}

fn device(out: &mut String, d: &DeviceInfoResponse) {
    out.push_str(&format!(
        "\t\tId:{:<35}State:{:<10}Size (GiB):{:<8}Used (GiB):{:<8}Free (GiB):{:<8}\n",
        d.id,
        state_name(&d.state),
        gib(d.storage.total),
        gib(d.storage.used),
        gib(d.storage.free)
    ));
    if !d.tags.is_empty() {
        out.push_str(&format!("\t\t\tTags: {}\n\n", tag_pairs(&d.tags)));
    }
    let paths = if d.paths.is_empty() {
        d.name.clone()
    } else {
        d.paths.join(" ")
    };
    out.push_str(&format!("\t\t\tKnown Paths: {paths}\n\n\t\t\tBricks:\n"));
    for b in &d.bricks {
        out.push_str(&format!(
            "\t\t\t\tId:{:<35}Size (GiB):{:<8}Path: {}\n",
            b.id,
            gib(b.size),
            b.path
        ));
    }
}

fn node(out: &mut String, n: &NodeInfoResponse) {
    out.push_str(&format!(
        "\n\tNode Id: {}\n\tState: {}\n\tCluster Id: {}\n\tZone: {}\n\
         \tManagement Hostnames: {}\n\tStorage Hostnames: {}\n",
        n.id,
        state_name(&n.state),
        n.cluster,
        n.zone,
        n.hostnames.manage.join(", "),
        n.hostnames.storage.join(", ")
    ));
    if !n.tags.is_empty() {
        out.push_str(&format!("\tTags: {}\n\n", tag_pairs(&n.tags)));
    }
    out.push_str("\tDevices:\n");
    for d in &n.devices {
        device(out, d);
    }
}

fn cluster(out: &mut String, c: &ClusterTopology) {
    out.push_str(&format!(
        "\nCluster Id: {}\n\n    File:  {}\n    Block: {}\n\n    Volumes:\n",
        c.id, c.file, c.block
    ));
    for v in &c.volumes {
        volume(out, v);
    }
    out.push_str("\n\n    Nodes:\n");
    for n in &c.nodes {
        node(out, n);
    }
}

pub fn info(t: &TopologyInfoResponse) -> String {
    let mut out = String::new();
    for c in &t.clusters {
        cluster(&mut out, c);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::{BrickInfo, HostAddresses, StorageSize};

    fn brick(id: &str, node: &str, dev: &str) -> BrickInfo {
        BrickInfo {
            id: id.into(),
            path: format!("/var/lib/heketi/mounts/vg_{dev}/brick_{id}/brick"),
            device: dev.into(),
            node: node.into(),
            volume: "1".into(),
            size: 10_485_760,
        }
    }

    #[test]
    fn spec_example_byte_for_byte() {
        let mut v = VolumeInfoResponse {
            size: 10,
            name: "vol_1".into(),
            id: "1".into(),
            cluster: "c1".into(),
            bricks: vec![brick("b1", "n1", "d1"), brick("b2", "n2", "d2")],
            ..Default::default()
        };
        v.durability.kind = "replicate".into();
        v.durability.replicate.replica = 3;
        v.mount.glusterfs.device = "10.0.0.1:vol_1".into();
        v.mount
            .glusterfs
            .options
            .insert("backup-volfile-servers".into(), "10.0.0.2,10.0.0.3".into());
        let n = NodeInfoResponse {
            zone: 1,
            hostnames: HostAddresses {
                manage: vec!["node1".into()],
                storage: vec!["10.0.0.1".into()],
            },
            cluster: "c1".into(),
            id: "n1".into(),
            state: "online".into(),
            devices: vec![DeviceInfoResponse {
                name: "/dev/sdb".into(),
                storage: StorageSize {
                    total: 99 * 1_048_576,
                    used: 10 * 1_048_576,
                    free: 89 * 1_048_576,
                },
                id: "d1".into(),
                paths: vec!["/dev/sdb".into()],
                state: "online".into(),
                bricks: vec![brick("b1", "n1", "d1")],
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = TopologyInfoResponse {
            clusters: vec![ClusterTopology {
                volumes: vec![v],
                nodes: vec![n],
                id: "c1".into(),
                block: true,
                file: true,
            }],
        };
        let want = "
Cluster Id: c1

    File:  true
    Block: true

    Volumes:

\tName: vol_1
\tSize: 10
\tId: 1
\tCluster Id: c1
\tMount: 10.0.0.1:vol_1
\tMount Options: backup-volfile-servers=10.0.0.2,10.0.0.3
\tDurability Type: replicate
\tReplica: 3
\tSnapshot: Disabled

\t\tBricks:
\t\t\tId: b1
\t\t\tPath: /var/lib/heketi/mounts/vg_d1/brick_b1/brick
\t\t\tSize (GiB): 10
\t\t\tNode: n1
\t\t\tDevice: d1

\t\t\tId: b2
\t\t\tPath: /var/lib/heketi/mounts/vg_d2/brick_b2/brick
\t\t\tSize (GiB): 10
\t\t\tNode: n2
\t\t\tDevice: d2



    Nodes:

\tNode Id: n1
\tState: online
\tCluster Id: c1
\tZone: 1
\tManagement Hostnames: node1
\tStorage Hostnames: 10.0.0.1
\tDevices:
\t\tId:d1                                 State:online    Size (GiB):99      Used (GiB):10      Free (GiB):89      
\t\t\tKnown Paths: /dev/sdb

\t\t\tBricks:
\t\t\t\tId:b1                                 Size (GiB):10      Path: /var/lib/heketi/mounts/vg_d1/brick_b1/brick

";
        assert_eq!(info(&t), want);
    }

    #[test]
    fn empty_cluster_tags_and_no_paths() {
        let mut n = NodeInfoResponse {
            id: "n1".into(),
            state: "failed".into(),
            cluster: "c1".into(),
            zone: 2,
            ..Default::default()
        };
        n.tags.insert("rack".into(), "a".into());
        let mut d = DeviceInfoResponse {
            name: "/dev/sdc".into(),
            id: "d1".into(),
            state: "offline".into(),
            ..Default::default()
        };
        d.tags.insert("disk".into(), "ssd".into());
        n.devices.push(d);
        let t = TopologyInfoResponse {
            clusters: vec![ClusterTopology {
                nodes: vec![n],
                id: "c1".into(),
                ..Default::default()
            }],
        };
        let out = info(&t);
        assert!(out.starts_with(
            "\nCluster Id: c1\n\n    File:  false\n    Block: false\n\n    Volumes:\n\n\n    Nodes:\n\n"
        ));
        assert!(out.contains("\tState: removed\n"));
        assert!(out.contains("\tStorage Hostnames: \n\tTags: rack:a\n\n\tDevices:\n"));
        assert!(
            out.contains("\t\t\tTags: disk:ssd\n\n\t\t\tKnown Paths: /dev/sdc\n\n\t\t\tBricks:\n")
        );
        assert_eq!(info(&TopologyInfoResponse::default()), "\n");
    }
}
