//! `device info` text.

use heqet_api::DeviceInfoResponse;

use super::node::tag_lines;
use super::{gib, state_name};

pub fn info(d: &DeviceInfoResponse) -> String {
    let mut s = format!(
        "Device Id: {}\nState: {}\nSize (GiB): {}\nUsed (GiB): {}\nFree (GiB): {}\n\
         Create Path: {}\nPhysical Volume UUID: {}\nKnown Paths: {}\n",
        d.id,
        state_name(&d.state),
        gib(d.storage.total),
        gib(d.storage.used),
        gib(d.storage.free),
        d.name,
        d.pv_uuid,
        d.paths.join(" ")
    );
    s.push_str(&tag_lines(&d.tags));
    s.push_str("Bricks:\n");
    for b in &d.bricks {
        s.push_str(&format!(
            "Id:{:<35}Size (GiB):{:<8}Path: {}\n",
            b.id,
            gib(b.size),
            b.path
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::{BrickInfo, StorageSize};

    #[test]
    fn layout_matches_heketi_cli() {
        let d = DeviceInfoResponse {
            name: "/dev/sdb".into(),
            storage: StorageSize {
                total: 104_722_432,
                free: 93_184_000,
                used: 11_538_432,
            },
            id: "49a9bd2e40df882180479024ac4c24c8".into(),
            paths: vec![
                "/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0".into(),
                "/dev/sdb".into(),
            ],
            pv_uuid: "rJ0bIG-3XNc-NoS0-fkKm-batK-dFyX-xbxHym".into(),
            state: "online".into(),
            bricks: vec![BrickInfo {
                id: "aaaaaad2e40df882180479024ac4c24c".into(),
                path: "/var/lib/heketi/mounts/vg_49a9bd2e40df882180479024ac4c24c8/brick_aaaaaad2e40df882180479024ac4c24c/brick".into(),
                size: 10_485_760,
                ..Default::default()
            }],
            ..Default::default()
        };
        let want = "Device Id: 49a9bd2e40df882180479024ac4c24c8\nState: online\nSize (GiB): 99\n\
Used (GiB): 11\nFree (GiB): 88\nCreate Path: /dev/sdb\n\
Physical Volume UUID: rJ0bIG-3XNc-NoS0-fkKm-batK-dFyX-xbxHym\n\
Known Paths: /dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0 /dev/sdb\nBricks:\n\
Id:aaaaaad2e40df882180479024ac4c24c   Size (GiB):10      Path: /var/lib/heketi/mounts/vg_49a9bd2e40df882180479024ac4c24c8/brick_aaaaaad2e40df882180479024ac4c24c/brick\n";
        assert_eq!(info(&d), want);
    }

    #[test]
    fn tags_follow_known_paths() {
        let mut d = DeviceInfoResponse {
            state: "failed".into(),
            ..Default::default()
        };
        d.tags.insert("disk".into(), "ssd".into());
        let out = info(&d);
        assert!(out.contains("State: removed\n"));
        assert!(out.ends_with("Known Paths: \nTags:\n  disk: ssd\nBricks:\n"));
    }
}
