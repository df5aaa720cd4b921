//! The volume block (docs/cli.md §6.1), `volume list` and `volume endpoint patch`.

use heqet_api::VolumeInfoResponse;

/// Bricks per set: replica count, data + redundancy, or 1 for `none`. `None` when the stored
/// counts are zero (heketi-cli divides by zero there; we print the brick count instead).
fn set_size(v: &VolumeInfoResponse) -> Option<usize> {
    let n = match v.durability.kind.as_str() {
        "replicate" => v.durability.replicate.replica,
        "disperse" => v.durability.disperse.data + v.durability.disperse.redundancy,
        _ => 1,
    };
    usize::try_from(n).ok().filter(|n| *n > 0)
}

fn restriction(r: &str) -> &str {
    if r.is_empty() {
        "(none)"
    } else {
        r
    }
}

/// The block printed by volume create, info, expand, clone and set-block-hosting-restriction.
pub fn block(v: &VolumeInfoResponse) -> String {
    let options: String = v
        .mount
        .glusterfs
        .options
        .iter()
        .map(|(k, val)| format!("{k}={val}"))
        .collect();
    let mut s = format!(
        "Name: {}\nSize: {}\nVolume Id: {}\nCluster Id: {}\nMount: {}\nMount Options: {}\n\
         Block: {}\nFree Size: {}\nReserved Size: {}\nBlock Hosting Restriction: {}\n\
         Block Volumes: [{}]\nDurability Type: {}\n",
        v.name,
        v.size,
        v.id,
        v.cluster,
        v.mount.glusterfs.device,
        options,
        v.block,
        v.blockinfo.freesize,
        v.blockinfo.reservedsize,
        restriction(&v.blockinfo.restriction),
        v.blockinfo.blockvolume.join(" "),
        v.durability.kind
    );
    let distribute = v.bricks.len() / set_size(v).unwrap_or(1);
    s.push_str(&format!("Distribute Count: {distribute}\n"));
    match v.durability.kind.as_str() {
        "replicate" => s.push_str(&format!(
            "Replica Count: {}\n",
            v.durability.replicate.replica
        )),
        "disperse" => s.push_str(&format!(
            "Disperse Data Count: {}\nDisperse Redundancy Count: {}\n",
            v.durability.disperse.data, v.durability.disperse.redundancy
        )),
        _ => {}
    }
    if v.snapshot.enable {
        s.push_str(&format!("Snapshot Factor: {:.2}\n\n", v.snapshot.factor));
    }
    s
}

/// `volume list`: one line per volume, ` [block]` for block-hosting volumes.
pub fn list(volumes: &[VolumeInfoResponse]) -> String {
    let mut s = String::new();
    for v in volumes {
        s.push_str(&format!(
            "Id:{:<35} Cluster:{:<35} Name:{}{}\n",
            v.id,
            v.cluster,
            v.name,
            if v.block { " [block]" } else { "" }
        ));
    }
    s
}

/// `volume endpoint patch`: `{"subsets": [...]}` for `kubectl patch`, no trailing newline.
pub fn endpoint_patch(v: &VolumeInfoResponse) -> String {
    let subsets: Vec<serde_json::Value> = v
        .mount
        .glusterfs
        .hosts
        .iter()
        .map(|h| serde_json::json!({"addresses": [{"ip": h}], "ports": [{"port": 1}]}))
        .collect();
    format!("{{\"subsets\": {}}}", serde_json::Value::Array(subsets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::{BrickInfo, ReplicaDurability, VolumeSnapshot};

    pub fn sample() -> VolumeInfoResponse {
        let mut v = VolumeInfoResponse {
            size: 10,
            name: "vol_4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into(),
            id: "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into(),
            cluster: "67e267ea403dfcdf80731165b300d1ca".into(),
            snapshot: VolumeSnapshot {
                enable: false,
                factor: 1.0,
            },
            bricks: vec![BrickInfo::default(); 3],
            ..Default::default()
        };
        v.durability.kind = "replicate".into();
        v.durability.replicate = ReplicaDurability { replica: 3 };
        v.mount.glusterfs.hosts = vec!["10.0.0.1".into(), "10.0.0.2".into(), "10.0.0.3".into()];
        v.mount.glusterfs.device = "10.0.0.1:vol_4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into();
        v.mount
            .glusterfs
            .options
            .insert("backup-volfile-servers".into(), "10.0.0.2,10.0.0.3".into());
        v
    }

    #[test]
    fn block_matches_heketi_cli() {
        let want = "Name: vol_4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f
Size: 10
Volume Id: 4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f
Cluster Id: 67e267ea403dfcdf80731165b300d1ca
Mount: 10.0.0.1:vol_4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f
Mount Options: backup-volfile-servers=10.0.0.2,10.0.0.3
Block: false
Free Size: 0
Reserved Size: 0
Block Hosting Restriction: (none)
Block Volumes: []
Durability Type: replicate
Distribute Count: 1
Replica Count: 3
";
        assert_eq!(block(&sample()), want);
    }

    #[test]
    fn disperse_snapshot_and_zero_replica() {
        let mut v = sample();
        v.durability.kind = "disperse".into();
        v.durability.disperse.data = 4;
        v.durability.disperse.redundancy = 2;
        v.bricks = vec![BrickInfo::default(); 12];
        v.snapshot = VolumeSnapshot {
            enable: true,
            factor: 1.5,
        };
        v.blockinfo.blockvolume = vec!["a".into(), "b".into()];
        v.blockinfo.restriction = "locked".into();
        let out = block(&v);
        assert!(out.contains("Block Hosting Restriction: locked\nBlock Volumes: [a b]\n"));
        assert!(out.ends_with(
            "Distribute Count: 2\nDisperse Data Count: 4\nDisperse Redundancy Count: 2\nSnapshot Factor: 1.50\n\n"
        ));

        let mut v = sample();
        v.durability.replicate.replica = 0;
        assert!(block(&v).ends_with("Distribute Count: 3\nReplica Count: 0\n"));
    }

    #[test]
    fn list_and_patch() {
        let mut v = sample();
        assert_eq!(
            list(std::slice::from_ref(&v)),
            "Id:4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f    Cluster:67e267ea403dfcdf80731165b300d1ca    Name:vol_4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f\n"
        );
        v.block = true;
        assert!(list(&[v.clone()]).ends_with(" [block]\n"));
        v.mount.glusterfs.hosts.truncate(2);
        assert_eq!(
            endpoint_patch(&v),
            r#"{"subsets": [{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":1}]},{"addresses":[{"ip":"10.0.0.2"}],"ports":[{"port":1}]}]}"#
        );
    }
}
