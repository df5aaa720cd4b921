//! Pure parsers for what node commands print. Each returns `Err(message)`; the caller wraps it
//! into `ExecError::Parse` with the host and command.

use serde_json::Value;

use crate::{BrickAddr, BrickHeal, HealInfo, VolumeStatus};

pub type ParseResult<T> = Result<T, String>;

/// One row of `lvm pvs|vgs -o pv_name,pv_uuid,vg_name --reportformat=json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvRow {
    pub pv_name: String,
    pub pv_uuid: String,
    pub vg_name: String,
}

/// `lvm pvs ... --reportformat=json <dev>`: heketi requires exactly one report with one pv.
pub fn pvs_json(out: &str) -> ParseResult<PvRow> {
    lvm_report_row(out, "pv")
}

/// `lvm vgs -o pv_name,pv_uuid,vg_name --reportformat=json vg_<D>`: the first row.
pub fn vgs_json(out: &str) -> ParseResult<PvRow> {
    lvm_report_row(out, "vg")
}

fn lvm_report_row(out: &str, kind: &str) -> ParseResult<PvRow> {
    let v: Value = serde_json::from_str(out).map_err(|e| format!("not JSON: {e}"))?;
    let rows = v
        .get("report")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get(kind))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no report[0].{kind} list"))?;
    let row = rows
        .first()
        .ok_or_else(|| format!("report[0].{kind} is empty"))?;
    let field = |name: &str| {
        row.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let pv_uuid = field("pv_uuid");
    if pv_uuid.is_empty() {
        return Err("no pv_uuid".into());
    }
    Ok(PvRow {
        pv_name: field("pv_name"),
        pv_uuid,
        vg_name: field("vg_name"),
    })
}

/// Sizes of a VG in KiB, from `lvm vgdisplay -c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VgSizes {
    pub extent_kib: u64,
    pub total_kib: u64,
    pub used_kib: u64,
    pub free_kib: u64,
}

/// `vgdisplay -c` prints one colon-separated line; fields 12-15 are extent size (KiB), total,
/// allocated and free extents.
pub fn vgdisplay_c(out: &str) -> ParseResult<VgSizes> {
    let line = out
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or("empty output")?;
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 17 {
        return Err(format!("expected at least 17 fields, got {}", fields.len()));
    }
    let num = |i: usize| {
        fields[i]
            .parse::<u64>()
            .map_err(|_| format!("field {i} is not a number: {:?}", fields[i]))
    };
    let extent = num(12)?;
    let total = num(13)?;
    let alloc = num(14)?;
    let free = num(15)?;
    let mul = |n: u64| {
        n.checked_mul(extent)
            .ok_or_else(|| "size overflows".to_string())
    };
    Ok(VgSizes {
        extent_kib: extent,
        total_kib: mul(total)?,
        used_kib: mul(alloc)?,
        free_kib: mul(free)?,
    })
}

/// `lvm lvs --noheadings --options=thin_count vg/tp`: one integer.
pub fn thin_count(out: &str) -> ParseResult<u64> {
    let t = out.trim();
    t.parse::<u64>()
        .map_err(|_| format!("not a thin count: {t:?}"))
}

/// `udevadm info --query=symlink --name=<dev>`: names relative to /dev. The by-PV-UUID link
/// is dropped (heqet derives it from the UUID) and the device itself is always included.
pub fn udev_symlinks(out: &str, device: &str) -> Vec<String> {
    let mut paths: Vec<String> = out
        .split_whitespace()
        .map(|n| format!("/dev/{}", n.trim_start_matches('/')))
        .filter(|p| !p.starts_with("/dev/disk/by-id/lvm-pv-uuid-"))
        .collect();
    if !paths.iter().any(|p| p == device) {
        paths.push(device.to_string());
    }
    paths
}

/// A signature `wipefs --no-act --json` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub kind: String,
    pub offset: String,
}

/// `wipefs --no-act --json <dev>`. Older util-linux prints nothing when there is nothing.
pub fn wipefs_json(out: &str) -> ParseResult<Vec<Signature>> {
    if out.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(out).map_err(|e| format!("not JSON: {e}"))?;
    let list = v
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or("no signatures list")?;
    list.iter()
        .map(|s| {
            let kind = s
                .get("type")
                .and_then(Value::as_str)
                .ok_or("signature without type")?;
            Ok(Signature {
                kind: kind.to_string(),
                offset: s
                    .get("offset")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect()
}

/// `partx -g -o NR <dev>`: one partition number per line.
pub fn partx_count(out: &str) -> usize {
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Does `mount` (no arguments) list something mounted exactly on `mount_point`?
/// Lines look like `<dev> on <dir> type <fs> (<opts>)`.
pub fn is_mounted(mount_out: &str, mount_point: &str) -> bool {
    mount_out.lines().any(|l| {
        l.split_once(" on ")
            .and_then(|(_, rest)| rest.split_once(" type "))
            .is_some_and(|(dir, _)| dir == mount_point)
    })
}

/// The common head of every `gluster --xml` answer. gluster often exits 0 with `opRet` -1
/// (volume info of a missing volume, snapshot failures), so callers must check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliStatus {
    pub op_ret: i64,
    pub op_errstr: String,
}

fn xml_doc(out: &str) -> ParseResult<roxmltree::Document<'_>> {
    roxmltree::Document::parse(out.trim()).map_err(|e| format!("not XML: {e}"))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or_default().trim().to_string())
}

fn cli_status_of(root: roxmltree::Node<'_, '_>) -> ParseResult<CliStatus> {
    if !root.has_tag_name("cliOutput") {
        return Err(format!(
            "root element is <{}>, not <cliOutput>",
            root.tag_name().name()
        ));
    }
    let op_ret = child_text(root, "opRet")
        .ok_or("no opRet")?
        .parse::<i64>()
        .map_err(|_| "opRet is not a number".to_string())?;
    Ok(CliStatus {
        op_ret,
        op_errstr: child_text(root, "opErrstr").unwrap_or_default(),
    })
}

/// `opRet`/`opErrstr` of any gluster XML answer.
pub fn gluster_status(out: &str) -> ParseResult<CliStatus> {
    let doc = xml_doc(out)?;
    cli_status_of(doc.root_element())
}

/// `gluster volume info [<vol>] --xml`: volumes with their bricks in gluster order.
/// Returns the CLI status too; with `opRet != 0` the list is empty.
pub fn volume_info_xml(out: &str) -> ParseResult<(CliStatus, Vec<VolumeStatus>)> {
    let doc = xml_doc(out)?;
    let root = doc.root_element();
    let status = cli_status_of(root)?;
    let mut vols = Vec::new();
    let volumes = child(root, "volInfo").and_then(|v| child(v, "volumes"));
    for vol in volumes
        .into_iter()
        .flat_map(|v| v.children())
        .filter(|c| c.has_tag_name("volume"))
    {
        let name = child_text(vol, "name").ok_or("volume without name")?;
        let id = child_text(vol, "id").unwrap_or_default();
        let mut bricks = Vec::new();
        for b in child(vol, "bricks")
            .into_iter()
            .flat_map(|b| b.children())
            .filter(|c| c.has_tag_name("brick"))
        {
            // The brick element has the name both as text and as <name>; prefer <name>.
            let full = child_text(b, "name")
                .or_else(|| b.text().map(|t| t.trim().to_string()))
                .ok_or("brick without name")?;
            bricks.push(brick_addr(&full)?);
        }
        vols.push(VolumeStatus { name, id, bricks });
    }
    Ok((status, vols))
}

/// `host:/path` → [`BrickAddr`]; split at the first colon (hosts are names or IPv4; gluster
/// does not take IPv6 literals in brick specs).
pub fn brick_addr(s: &str) -> ParseResult<BrickAddr> {
    let (host, path) = s
        .split_once(':')
        .ok_or_else(|| format!("brick {s:?} is not host:path"))?;
    Ok(BrickAddr {
        host: host.to_string(),
        path: path.to_string(),
    })
}

/// `gluster volume heal <vol> info --xml`. Bricks whose name is "information not available"
/// are skipped (heketi does the same); `numberOfEntries` of `-` means unknown.
pub fn heal_info_xml(out: &str) -> ParseResult<(CliStatus, HealInfo)> {
    let doc = xml_doc(out)?;
    let root = doc.root_element();
    let status = cli_status_of(root)?;
    let mut info = HealInfo::default();
    let bricks = child(root, "healInfo").and_then(|h| child(h, "bricks"));
    for b in bricks
        .into_iter()
        .flat_map(|b| b.children())
        .filter(|c| c.has_tag_name("brick"))
    {
        let name = child_text(b, "name").unwrap_or_default();
        if name.is_empty() || name.eq_ignore_ascii_case("information not available") {
            continue;
        }
        let brick = brick_addr(&name)?;
        let connected = child_text(b, "status").is_some_and(|s| s == "Connected");
        let pending_entries = child_text(b, "numberOfEntries").and_then(|n| n.parse::<u64>().ok());
        info.bricks.push(BrickHeal {
            brick,
            connected,
            pending_entries,
        });
    }
    Ok((status, info))
}

/// `gluster --xml snapshot create <name> <vol> no-timestamp`: the snapshot's name.
pub fn snapshot_create_xml(out: &str) -> ParseResult<(CliStatus, Option<String>)> {
    let doc = xml_doc(out)?;
    let root = doc.root_element();
    let status = cli_status_of(root)?;
    let name = child(root, "snapCreate")
        .and_then(|s| child(s, "snapshot"))
        .and_then(|s| child_text(s, "name"))
        .filter(|n| !n.is_empty());
    Ok((status, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PVS: &str = include_str!("testdata/pvs.json");
    const VGS: &str = include_str!("testdata/vgs.json");
    const VGDISPLAY: &str = include_str!("testdata/vgdisplay.txt");

    #[test]
    fn pvs_and_vgs_of_real_lvm() {
        let pv = pvs_json(PVS).unwrap();
        assert_eq!(pv.pv_uuid, "xEypXa-wGsf-eayW-tm5Q-bxoF-3ulW-TwMyrm");
        assert_eq!(pv.pv_name, "/dev/loop0");
        assert_eq!(pv.vg_name, "vg_0123456789abcdef0123456789abcdef");
        assert_eq!(vgs_json(VGS).unwrap(), pv);
    }

    #[test]
    fn pvs_of_a_non_pv_is_an_error() {
        let empty = "  {\n      \"report\": [\n          {\n              \"pv\": [\n              ]\n          }\n      ]\n  }\n";
        assert!(pvs_json(empty).unwrap_err().contains("empty"));
        assert!(pvs_json("").is_err());
        assert!(pvs_json("{\"report\": []}").is_err());
    }

    #[test]
    fn vgdisplay_of_real_lvm() {
        let s = vgdisplay_c(VGDISPLAY).unwrap();
        assert_eq!(
            s,
            VgSizes {
                extent_kib: 4096,
                total_kib: 479 * 4096,
                used_kib: 0,
                free_kib: 479 * 4096
            }
        );
        // The example line of docs/node-commands.md §4.1.
        let doc = "  vg_x:r/w:772:-1:0:0:0:-1:0:1:1:104722432:4096:25567:0:25567:rJ0bIG-x\n";
        assert_eq!(vgdisplay_c(doc).unwrap().total_kib, 25567 * 4096);
        assert!(vgdisplay_c("a:b:c").is_err());
        assert!(vgdisplay_c("").is_err());
        assert!(vgdisplay_c("x:r/w:772:-1:0:0:0:-1:0:1:1:1:oops:1:0:1:u").is_err());
    }

    #[test]
    fn thin_counts() {
        assert_eq!(thin_count("    0\n").unwrap(), 0);
        assert_eq!(thin_count("  2  ").unwrap(), 2);
        assert!(thin_count("").is_err());
    }

    #[test]
    fn udev_links_drop_pv_uuid_and_keep_device() {
        let out = "disk/by-id/lvm-pv-uuid-abc disk/by-id/wwn-0x5000 disk/by-path/pci-0000:00:1f.2-ata-2\n";
        assert_eq!(
            udev_symlinks(out, "/dev/sdb"),
            vec![
                "/dev/disk/by-id/wwn-0x5000",
                "/dev/disk/by-path/pci-0000:00:1f.2-ata-2",
                "/dev/sdb"
            ]
        );
        assert_eq!(udev_symlinks("", "/dev/sdb"), vec!["/dev/sdb"]);
    }

    #[test]
    fn wipefs_of_real_devices() {
        let kinds = |f: &str| -> Vec<String> {
            wipefs_json(f)
                .unwrap()
                .into_iter()
                .map(|s| s.kind)
                .collect()
        };
        assert!(kinds(include_str!("testdata/wipefs-empty.json")).is_empty());
        assert!(kinds("").is_empty());
        assert_eq!(
            kinds(include_str!("testdata/wipefs-gpt.json")),
            vec!["gpt", "gpt", "PMBR"]
        );
        assert_eq!(kinds(include_str!("testdata/wipefs-dos.json")), vec!["dos"]);
        assert_eq!(kinds(include_str!("testdata/wipefs-xfs.json")), vec!["xfs"]);
        assert_eq!(
            kinds(include_str!("testdata/wipefs-lvm.json")),
            vec!["LVM2_member"]
        );
        assert!(wipefs_json("{").is_err());
    }

    #[test]
    fn partx_counts() {
        assert_eq!(partx_count(include_str!("testdata/partx-empty.txt")), 0);
        assert_eq!(partx_count(include_str!("testdata/partx-two.txt")), 2);
    }

    #[test]
    fn mount_listing() {
        let out = "/dev/mapper/vg_a-brick_b on /var/lib/heketi/mounts/vg_a/brick_b type xfs (rw,noatime)\n\
                   proc on /proc type proc (rw)\n";
        assert!(is_mounted(out, "/var/lib/heketi/mounts/vg_a/brick_b"));
        assert!(!is_mounted(out, "/var/lib/heketi/mounts/vg_a/brick_"));
        assert!(!is_mounted(out, "/var/lib/heketi/mounts/vg_a"));
    }

    #[test]
    fn volume_info_of_real_gluster() {
        let (st, vols) =
            volume_info_xml(include_str!("testdata/gluster-volinfo-arbiter.xml")).unwrap();
        assert_eq!(st.op_ret, 0);
        assert_eq!(vols.len(), 1);
        assert_eq!(vols[0].name, "vol_test");
        assert_eq!(vols[0].id, "0bc3dc05-7def-40cd-a547-3722fce87cb0");
        let names: Vec<String> = vols[0].bricks.iter().map(|b| b.to_string()).collect();
        assert_eq!(
            names,
            vec![
                "10.210.0.1:/tmp/gns/b1/brick",
                "10.210.0.1:/tmp/gns/b2/brick",
                "10.210.0.1:/tmp/gns/b3/brick"
            ]
        );
        let (_, d) =
            volume_info_xml(include_str!("testdata/gluster-volinfo-disperse.xml")).unwrap();
        assert_eq!(d[0].bricks[2].path, "/tmp/gns/b3/d");
    }

    #[test]
    fn volume_info_of_missing_volume_exits_zero_but_op_ret_fails() {
        let (st, vols) =
            volume_info_xml(include_str!("testdata/gluster-volinfo-missing.xml")).unwrap();
        assert_eq!(st.op_ret, -1);
        assert_eq!(st.op_errstr, "Volume does not exist");
        assert!(vols.is_empty());
    }

    #[test]
    fn heal_info_of_real_gluster() {
        let (st, h) = heal_info_xml(include_str!("testdata/gluster-healinfo.xml")).unwrap();
        assert_eq!(st.op_ret, 0);
        assert_eq!(h.bricks.len(), 3);
        assert!(h.bricks.iter().all(|b| b.connected));
        assert!(h.bricks.iter().all(|b| b.pending_entries == Some(0)));
        let (st, h) = heal_info_xml(include_str!("testdata/gluster-healinfo-stopped.xml")).unwrap();
        assert_eq!(st.op_ret, -1);
        assert!(st.op_errstr.contains("Not able to fetch volfile"));
        assert!(h.bricks.is_empty());
    }

    #[test]
    fn heal_info_with_unknown_counts_and_unavailable_bricks() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cliOutput><healInfo><bricks>
  <brick hostUuid="u1"><name>a:/b/brick</name><status>Connected</status><numberOfEntries>2</numberOfEntries></brick>
  <brick hostUuid="u2"><name>z:/b/brick</name><status>Transport endpoint is not connected</status><numberOfEntries>-</numberOfEntries></brick>
  <brick hostUuid="-"><name>information not available</name><status>-</status><numberOfEntries>-</numberOfEntries></brick>
</bricks></healInfo><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>"#;
        let (_, h) = heal_info_xml(xml).unwrap();
        assert_eq!(h.bricks.len(), 2);
        assert_eq!(h.bricks[0].pending_entries, Some(2));
        assert!(!h.bricks[1].connected);
        assert_eq!(h.bricks[1].pending_entries, None);
    }

    #[test]
    fn snapshot_create_answers() {
        let (st, name) =
            snapshot_create_xml(include_str!("testdata/gluster-snapcreate-fail.xml")).unwrap();
        assert_eq!(st.op_ret, -1);
        assert!(st.op_errstr.contains("thin provisioned"));
        assert_eq!(name, None);
        // Shape written by glusterfs cli-xml-output.c (cli_xml_snapshot_create).
        let ok = "<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><snapCreate><snapshot><name>tmpsnap_1</name><uuid>u</uuid></snapshot></snapCreate></cliOutput>";
        let (st, name) = snapshot_create_xml(ok).unwrap();
        assert_eq!(st.op_ret, 0);
        assert_eq!(name.as_deref(), Some("tmpsnap_1"));
    }

    #[test]
    fn garbage_is_a_parse_error() {
        assert!(gluster_status(
            "Connection failed. Please check if gluster daemon is operational."
        )
        .is_err());
        assert!(gluster_status("<other/>").is_err());
        assert!(brick_addr("nocolon").is_err());
    }
}
