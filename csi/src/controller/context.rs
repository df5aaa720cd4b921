//! The volume context: what CreateVolume hands the node plugin through the PV
//! (`spec.csi.volumeAttributes`), so a node can mount without asking the REST server.

use std::collections::HashMap;

use heqet_api::types::VolumeInfoResponse;

use crate::controller::params::durability_label;

/// Gluster volume name (the mount path `host:/<name>`).
pub const VOLUME: &str = "glustervolume";
/// The volfile server to mount from.
pub const SERVER: &str = "glusterserver";
/// The other volfile servers, comma-separated (`backup-volfile-servers=`).
pub const BACKUP_SERVERS: &str = "backupvolfileservers";
/// The gid heketi gave the volume's root directory (pods write with it as a supplemental group).
pub const GID: &str = "gid";
/// `replicate:3`, `disperse:4:2`, `none`: for people reading the PV.
pub const VOLUME_TYPE: &str = "volumetype";
/// The heketi volume id (also in the CSI volume id), for people reading the PV.
pub const HEKETI_ID: &str = "heketivolumeid";

/// The context of a volume as the REST server describes it.
pub fn of(info: &VolumeInfoResponse) -> HashMap<String, String> {
    let hosts = &info.mount.glusterfs.hosts;
    // The device is `host:name`; prefer its host, which heketi chose as the primary.
    let server = info
        .mount
        .glusterfs
        .device
        .split_once(':')
        .map(|(h, _)| h.to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| hosts.first().cloned())
        .unwrap_or_default();
    let backups = match info.mount.glusterfs.options.get("backup-volfile-servers") {
        Some(b) => b.clone(),
        None => hosts
            .iter()
            .filter(|h| **h != server)
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
    };
    let mut ctx = HashMap::new();
    ctx.insert(VOLUME.to_string(), info.name.clone());
    ctx.insert(SERVER.to_string(), server);
    ctx.insert(BACKUP_SERVERS.to_string(), backups);
    if info.gid != 0 {
        ctx.insert(GID.to_string(), info.gid.to_string());
    }
    ctx.insert(VOLUME_TYPE.to_string(), durability_label(&info.durability));
    ctx.insert(HEKETI_ID.to_string(), info.id.clone());
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::types::{GlusterFsMount, VolumeMount};

    #[test]
    fn context_from_heketis_mount_info() {
        let mut info = VolumeInfoResponse {
            name: "pvc-1".into(),
            id: "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f".into(),
            gid: 2001,
            mount: VolumeMount {
                glusterfs: GlusterFsMount {
                    hosts: vec!["10.0.0.1".into(), "10.0.0.2".into(), "10.0.0.3".into()],
                    device: "10.0.0.1:pvc-1".into(),
                    options: [(
                        "backup-volfile-servers".to_string(),
                        "10.0.0.2,10.0.0.3".to_string(),
                    )]
                    .into_iter()
                    .collect(),
                },
            },
            ..VolumeInfoResponse::default()
        };
        info.durability.kind = "replicate".into();
        info.durability.replicate.replica = 3;
        let c = of(&info);
        assert_eq!(c[VOLUME], "pvc-1");
        assert_eq!(c[SERVER], "10.0.0.1");
        assert_eq!(c[BACKUP_SERVERS], "10.0.0.2,10.0.0.3");
        assert_eq!(c[GID], "2001");
        assert_eq!(c[VOLUME_TYPE], "replicate:3");
    }
}
