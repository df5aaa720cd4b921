//! Devices: inspect, (wipe,) pvcreate + vgcreate, report sizes; resync; teardown
//! (docs/node-commands.md §4, with inspection before anything is written).

use crate::commands::parse::{self, PvRow, Signature};
use crate::commands::{
    args, check_device, check_name, is_not_found, parse_error, CommandExecutor, NodeCommands,
    DEVICE_TIMEOUT,
};
use crate::transport::{Cmd, Transport};
use crate::{vg_name, DeviceRef, DeviceReport, DeviceSetup, ExecError, ExecResult, MOUNT_ROOT};

/// Partition-table signatures as wipefs names them.
const LABELS: &[&str] = &["gpt", "PMBR", "dos"];
const FILESYSTEMS: &[&str] = &[
    "xfs", "ext2", "ext3", "ext4", "btrfs", "vfat", "exfat", "ntfs", "f2fs", "jfs", "reiserfs",
    "iso9660", "udf", "squashfs", "nilfs2",
];

impl NodeCommands {
    pub fn test_block_device(&self, device: &str) -> Cmd {
        Cmd::new(["test", "-b", device], DEVICE_TIMEOUT)
    }

    pub fn wipefs_probe(&self, device: &str) -> Cmd {
        Cmd::new(["wipefs", "--no-act", "--json", device], DEVICE_TIMEOUT)
    }

    /// Partition numbers read from the disk itself (not from the kernel or udev, which miss
    /// partitions of e.g. loop devices without partscan).
    pub fn partx_list(&self, device: &str) -> Cmd {
        Cmd::new(["partx", "-g", "-o", "NR", device], DEVICE_TIMEOUT)
    }

    pub fn wipefs_all(&self, device: &str) -> Cmd {
        Cmd::new(["wipefs", "--all", device], DEVICE_TIMEOUT)
    }

    pub fn pvcreate(&self, device: &str) -> Cmd {
        self.lvm(
            args([
                "pvcreate".to_string(),
                "-qq".into(),
                "--metadatasize=128M".into(),
                format!("--dataalignment={}", self.cfg.pv_data_alignment),
                device.into(),
            ]),
            DEVICE_TIMEOUT,
        )
    }

    pub fn vgcreate(&self, vg: &str, device: &str) -> Cmd {
        self.lvm(
            args([
                "vgcreate".to_string(),
                "-qq".into(),
                format!("--physicalextentsize={}", self.cfg.vg_physicalextentsize),
                self.autobackup(),
                vg.into(),
                device.into(),
            ]),
            DEVICE_TIMEOUT,
        )
    }

    pub fn pvs_json(&self, path: &str) -> Cmd {
        self.lvm(
            args([
                "pvs",
                "-o",
                "pv_name,pv_uuid,vg_name",
                "--reportformat=json",
                path,
            ]),
            DEVICE_TIMEOUT,
        )
    }

    pub fn vgs_json(&self, vg: &str) -> Cmd {
        self.lvm(
            args([
                "vgs",
                "-o",
                "pv_name,pv_uuid,vg_name",
                "--reportformat=json",
                vg,
            ]),
            DEVICE_TIMEOUT,
        )
    }

    pub fn udev_symlinks(&self, path: &str) -> Cmd {
        self.udevadm(
            args([
                "info".to_string(),
                "--query=symlink".into(),
                format!("--name={path}"),
            ]),
            DEVICE_TIMEOUT,
        )
    }

    pub fn vgdisplay(&self, vg: &str) -> Cmd {
        self.lvm(args(["vgdisplay", "-c", vg]), DEVICE_TIMEOUT)
    }

    pub fn vgremove(&self, vg: &str) -> Cmd {
        self.lvm(args(["vgremove", "-qq", vg]), DEVICE_TIMEOUT)
    }

    pub fn pvremove(&self, path: &str) -> Cmd {
        self.lvm(args(["pvremove", "-qq", path]), DEVICE_TIMEOUT)
    }

    pub fn rmdir_vg_mounts(&self, vg: &str) -> Cmd {
        Cmd::new(["rmdir", &format!("{MOUNT_ROOT}/{vg}")], DEVICE_TIMEOUT)
    }
}

/// What is on a device, as far as setup cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceContent {
    /// No signature at all.
    Clean,
    /// A GPT/MBR label without partitions: wiped automatically (it only blocks pvcreate).
    EmptyLabel,
    /// Anything else, described for the user.
    Data(String),
}

/// Facts gathered about a device before setup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    pub signatures: Vec<Signature>,
    /// Partitions in the label, if it could be read (`Err` = why not).
    pub partitions: Option<Result<usize, String>>,
    /// The PV as LVM sees it, when there is an LVM signature.
    pub pv: Option<PvRow>,
}

/// Decide what a probe means. Pure.
pub fn classify(p: &Probe) -> DeviceContent {
    if p.signatures.is_empty() {
        return DeviceContent::Clean;
    }
    let mut found: Vec<String> = Vec::new();
    let mut label: Option<&str> = None;
    for s in &p.signatures {
        let k = s.kind.as_str();
        let text = if LABELS.contains(&k) {
            // "PMBR" is the protective MBR of a GPT disk: report the GPT only.
            label = Some(if k == "PMBR" {
                label.unwrap_or("gpt")
            } else {
                k
            });
            continue;
        } else if FILESYSTEMS.contains(&k) {
            format!("{k} filesystem")
        } else if k == "LVM2_member" {
            match &p.pv {
                Some(pv) if !pv.vg_name.is_empty() => {
                    format!("LVM2_member (PV {} of VG {})", pv.pv_uuid, pv.vg_name)
                }
                Some(pv) => format!("LVM2_member (PV {} in no VG)", pv.pv_uuid),
                None => "LVM2_member (LVM physical volume)".to_string(),
            }
        } else {
            format!("{k} signature")
        };
        if !found.contains(&text) {
            found.push(text);
        }
    }
    if let Some(label) = label {
        let name = if label == "dos" { "MBR (dos)" } else { "GPT" };
        match &p.partitions {
            Some(Ok(0)) if found.is_empty() => return DeviceContent::EmptyLabel,
            Some(Ok(0)) => {}
            Some(Ok(1)) => found.insert(0, format!("{name} partition table with 1 partition")),
            Some(Ok(n)) => found.insert(0, format!("{name} partition table with {n} partitions")),
            Some(Err(why)) => found.insert(
                0,
                format!("{name} partition table that cannot be read ({why})"),
            ),
            None => found.insert(0, format!("{name} partition table")),
        }
    }
    DeviceContent::Data(found.join(", "))
}

impl<T: Transport> CommandExecutor<T> {
    /// Look at a device without writing to it.
    pub async fn probe_device(&self, host: &str, device: &str) -> ExecResult<Probe> {
        check_device(host, device)?;
        let c = &self.cmds;
        let exists = self.exec(host, &c.test_block_device(device)).await?;
        if !exists.success() {
            return Err(ExecError::NoSuchDevice {
                host: host.into(),
                device: device.into(),
            });
        }
        let cmd = c.wipefs_probe(device);
        let out = self.run(host, &cmd).await?;
        let signatures = parse::wipefs_json(&out.stdout).map_err(|m| parse_error(host, &cmd, m))?;
        let mut probe = Probe {
            signatures,
            ..Default::default()
        };
        if probe
            .signatures
            .iter()
            .any(|s| LABELS.contains(&s.kind.as_str()))
        {
            let cmd = c.partx_list(device);
            probe.partitions = Some(match self.run(host, &cmd).await {
                Ok(out) => Ok(parse::partx_count(&out.stdout)),
                Err(ExecError::Command { stderr, .. }) => Err(stderr),
                Err(e) => return Err(e),
            });
        }
        if probe.signatures.iter().any(|s| s.kind == "LVM2_member") {
            // Only to name the VG in the message; LVM may not see the PV (filters, foreign).
            let cmd = c.pvs_json(device);
            if let Ok(out) = self.run(host, &cmd).await {
                probe.pv = parse::pvs_json(&out.stdout).ok();
            }
        }
        Ok(probe)
    }

    pub(crate) async fn setup_device(
        &self,
        host: &str,
        dev: &DeviceSetup,
    ) -> ExecResult<DeviceReport> {
        check_name(host, "device id", &dev.id)?;
        let c = &self.cmds;
        let vg = vg_name(&dev.id);
        let probe = self.probe_device(host, &dev.name).await?;
        let wipe = match classify(&probe) {
            DeviceContent::Clean => false,
            DeviceContent::EmptyLabel => true,
            DeviceContent::Data(found) if !dev.destroydata => {
                return Err(ExecError::DeviceHasData {
                    host: host.into(),
                    device: dev.name.clone(),
                    found,
                })
            }
            DeviceContent::Data(found) => {
                tracing::warn!(host, device = %dev.name, %found, "destroydata: wiping");
                true
            }
        };
        if wipe {
            self.run(host, &c.wipefs_all(&dev.name)).await?;
        }
        self.run(host, &c.pvcreate(&dev.name)).await?;
        if let Err(e) = self.run(host, &c.vgcreate(&vg, &dev.name)).await {
            self.run_logged(host, &c.pvremove(&dev.name)).await;
            return Err(e);
        }
        match self.report(host, &vg, &dev.name, None).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let made = DeviceRef {
                    id: dev.id.clone(),
                    name: dev.name.clone(),
                    pv_uuid: String::new(),
                    paths: vec![dev.name.clone()],
                };
                if let Err(undo) = self.teardown_device(host, &made, false).await {
                    tracing::warn!(host, error = %undo, "teardown after failed device setup");
                }
                Err(e)
            }
        }
    }

    /// pvs → PV UUID, udevadm → paths, vgdisplay → sizes. `known_uuid` skips nothing but is
    /// used when `pvs` answers without one (never seen; heketi requires it).
    async fn report(
        &self,
        host: &str,
        vg: &str,
        path: &str,
        known_uuid: Option<&str>,
    ) -> ExecResult<DeviceReport> {
        let c = &self.cmds;
        let cmd = c.pvs_json(path);
        let out = self.run(host, &cmd).await?;
        let pv_uuid = match (parse::pvs_json(&out.stdout), known_uuid) {
            (Ok(pv), _) => pv.pv_uuid,
            (Err(_), Some(u)) => u.to_string(),
            (Err(m), None) => return Err(parse_error(host, &cmd, m)),
        };
        let paths = match self.run(host, &c.udev_symlinks(path)).await {
            Ok(out) => parse::udev_symlinks(&out.stdout, path),
            Err(e) => {
                tracing::info!(host, error = %e, "udevadm failed; using the device path only");
                vec![path.to_string()]
            }
        };
        let cmd = c.vgdisplay(vg);
        let out = self.run(host, &cmd).await?;
        let sizes = parse::vgdisplay_c(&out.stdout).map_err(|m| parse_error(host, &cmd, m))?;
        Ok(DeviceReport {
            total_kib: sizes.total_kib,
            free_kib: sizes.free_kib,
            used_kib: sizes.used_kib,
            extent_size_kib: sizes.extent_kib,
            pv_uuid,
            paths,
        })
    }

    /// The PV UUID of a VG, when the database has none (old heketi databases).
    async fn lookup_uuid(&self, host: &str, vg: &str) -> Option<String> {
        let cmd = self.cmds.vgs_json(vg);
        match self.run(host, &cmd).await {
            Ok(out) => parse::vgs_json(&out.stdout).ok().map(|r| r.pv_uuid),
            Err(e) => {
                tracing::info!(host, error = %e, "no PV UUID for {vg}");
                None
            }
        }
    }

    /// `device` with its PV UUID filled in from the node if it was missing.
    async fn with_uuid(&self, host: &str, device: &DeviceRef) -> DeviceRef {
        let mut d = device.clone();
        if d.pv_uuid.is_empty() {
            if let Some(u) = self.lookup_uuid(host, &vg_name(&d.id)).await {
                d.pv_uuid = u;
            }
        }
        d
    }

    pub(crate) async fn resync_device(
        &self,
        host: &str,
        device: &DeviceRef,
    ) -> ExecResult<DeviceReport> {
        check_name(host, "device id", &device.id)?;
        let d = self.with_uuid(host, device).await;
        let path = d.pv_path();
        check_device(host, &path)?;
        let known = (!d.pv_uuid.is_empty()).then_some(d.pv_uuid.as_str());
        self.report(host, &vg_name(&d.id), &path, known).await
    }

    pub(crate) async fn teardown_device(
        &self,
        host: &str,
        device: &DeviceRef,
        force: bool,
    ) -> ExecResult<()> {
        check_name(host, "device id", &device.id)?;
        let c = &self.cmds;
        let vg = vg_name(&device.id);
        let d = self.with_uuid(host, device).await;
        let path = d.pv_path();
        check_device(host, &path)?;
        if force {
            self.run_logged(host, &c.rmdir_vg_mounts(&vg)).await;
            self.run_logged(host, &c.vgremove(&vg)).await;
            self.run_logged(host, &c.pvremove(&path)).await;
            return Ok(());
        }
        // Absence is the goal: a VG or PV already gone is not an error.
        for cmd in [c.vgremove(&vg), c.pvremove(&path)] {
            match self.run(host, &cmd).await {
                Err(e) if !is_not_found(&e) => return Err(e),
                _ => {}
            }
        }
        self.run_logged(host, &c.rmdir_vg_mounts(&vg)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fake::{fail, ok, FakeTransport};
    use crate::commands::CommandConfig;
    use crate::{Executor, NodeTarget};

    const PVS: &str = include_str!("testdata/pvs.json");
    const VGDISPLAY: &str = include_str!("testdata/vgdisplay.txt");
    const ID: &str = "0123456789abcdef0123456789abcdef";
    const VG: &str = "vg_0123456789abcdef0123456789abcdef";
    const LVM: &str = "/usr/sbin/lvm";

    fn node() -> NodeTarget {
        NodeTarget {
            manage: "n1".into(),
            storage: "10.0.0.1".into(),
        }
    }

    fn setup(destroydata: bool) -> DeviceSetup {
        DeviceSetup {
            id: ID.into(),
            name: "/dev/sdb".into(),
            destroydata,
        }
    }

    fn exec(cfg: CommandConfig) -> CommandExecutor<FakeTransport> {
        CommandExecutor::new(FakeTransport::default(), cfg).unwrap()
    }

    fn with_lvm_answers(e: &CommandExecutor<FakeTransport>) {
        let t = e.transport();
        t.on("pvs -o", ok(PVS));
        t.on(
            "udevadm info",
            ok("disk/by-id/wwn-0x1 disk/by-id/lvm-pv-uuid-xEyp\n"),
        );
        t.on("vgdisplay -c", ok(VGDISPLAY));
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn report_tail() -> Vec<String> {
        lines(&[
            &format!("{LVM} pvs -o pv_name,pv_uuid,vg_name --reportformat=json /dev/sdb"),
            "/usr/bin/udevadm info --query=symlink --name=/dev/sdb",
            &format!("{LVM} vgdisplay -c {VG}"),
        ])
    }

    #[tokio::test]
    async fn clean_disk() {
        let e = exec(CommandConfig::default());
        with_lvm_answers(&e);
        e.transport().on(
            "wipefs --no-act",
            ok(include_str!("testdata/wipefs-empty.json")),
        );
        let r = e.device_setup(&node(), &setup(false)).await.unwrap();
        let mut want = lines(&[
            "test -b /dev/sdb",
            "wipefs --no-act --json /dev/sdb",
            &format!("{LVM} pvcreate -qq --metadatasize=128M --dataalignment=256K /dev/sdb"),
            &format!("{LVM} vgcreate -qq --physicalextentsize=4M --autobackup=n {VG} /dev/sdb"),
        ]);
        want.extend(report_tail());
        assert_eq!(e.transport().lines(), want);
        assert_eq!(e.transport().hosts()[0], "n1");
        assert_eq!(r.pv_uuid, "xEypXa-wGsf-eayW-tm5Q-bxoF-3ulW-TwMyrm");
        assert_eq!(r.paths, vec!["/dev/disk/by-id/wwn-0x1", "/dev/sdb"]);
        assert_eq!(r.total_kib, 479 * 4096);
        assert_eq!(r.free_kib, 479 * 4096);
        assert_eq!(r.extent_size_kib, 4096);
    }

    #[tokio::test]
    async fn empty_gpt_is_wiped_first() {
        let e = exec(CommandConfig::default());
        with_lvm_answers(&e);
        e.transport()
            .on(
                "wipefs --no-act",
                ok(include_str!("testdata/wipefs-gpt.json")),
            )
            .on("partx", ok(""));
        e.device_setup(&node(), &setup(false)).await.unwrap();
        let l = e.transport().lines();
        assert_eq!(
            &l[..5],
            lines(&[
                "test -b /dev/sdb",
                "wipefs --no-act --json /dev/sdb",
                "partx -g -o NR /dev/sdb",
                "wipefs --all /dev/sdb",
                &format!("{LVM} pvcreate -qq --metadatasize=128M --dataalignment=256K /dev/sdb"),
            ])
        );
    }

    #[tokio::test]
    async fn xfs_is_refused_without_touching_the_disk() {
        let e = exec(CommandConfig::default());
        e.transport().on(
            "wipefs --no-act",
            ok(include_str!("testdata/wipefs-xfs.json")),
        );
        let err = e.device_setup(&node(), &setup(false)).await.unwrap_err();
        match &err {
            ExecError::DeviceHasData {
                found,
                device,
                host,
            } => {
                assert_eq!(found, "xfs filesystem");
                assert_eq!(device, "/dev/sdb");
                assert_eq!(host, "n1");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("destroydata"));
        assert_eq!(
            e.transport().lines(),
            lines(&["test -b /dev/sdb", "wipefs --no-act --json /dev/sdb"])
        );
    }

    #[tokio::test]
    async fn partitions_and_pv_are_named() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on(
                "wipefs --no-act",
                ok(include_str!("testdata/wipefs-gpt.json")),
            )
            .on("partx", ok(include_str!("testdata/partx-two.txt")));
        let err = e.device_setup(&node(), &setup(false)).await.unwrap_err();
        assert!(
            matches!(&err, ExecError::DeviceHasData { found, .. } if found == "GPT partition table with 2 partitions"),
            "{err:?}"
        );

        let e = exec(CommandConfig::default());
        e.transport()
            .on(
                "wipefs --no-act",
                ok(include_str!("testdata/wipefs-lvm.json")),
            )
            .on("pvs -o", ok(PVS));
        let err = e.device_setup(&node(), &setup(false)).await.unwrap_err();
        let ExecError::DeviceHasData { found, .. } = err else {
            panic!()
        };
        assert_eq!(
            found,
            format!("LVM2_member (PV xEypXa-wGsf-eayW-tm5Q-bxoF-3ulW-TwMyrm of VG {VG})")
        );
    }

    #[tokio::test]
    async fn destroydata_wipes_then_sets_up() {
        let e = exec(CommandConfig::default());
        with_lvm_answers(&e);
        e.transport().on(
            "wipefs --no-act",
            ok(include_str!("testdata/wipefs-xfs.json")),
        );
        e.device_setup(&node(), &setup(true)).await.unwrap();
        let l = e.transport().lines();
        assert_eq!(l[2], "wipefs --all /dev/sdb");
        assert!(l[3].contains("pvcreate"));
        assert!(l[4].contains("vgcreate"));
    }

    #[tokio::test]
    async fn missing_device() {
        let e = exec(CommandConfig::default());
        e.transport().on("test -b", fail(1, ""));
        let err = e.device_setup(&node(), &setup(false)).await.unwrap_err();
        assert_eq!(
            err,
            ExecError::NoSuchDevice {
                host: "n1".into(),
                device: "/dev/sdb".into()
            }
        );
    }

    #[tokio::test]
    async fn vgcreate_failure_removes_the_pv() {
        let e = exec(CommandConfig::default());
        e.transport().on(
            "vgcreate",
            fail(5, "  A volume group called vg_x already exists."),
        );
        let err = e.device_setup(&node(), &setup(false)).await.unwrap_err();
        let ExecError::Command {
            host,
            command,
            status,
            stderr,
        } = err
        else {
            panic!()
        };
        assert_eq!(host, "n1");
        assert!(command.contains("vgcreate"));
        assert_eq!(status, 5);
        assert_eq!(stderr, "A volume group called vg_x already exists.");
        let l = e.transport().lines();
        assert_eq!(l.last().unwrap(), &format!("{LVM} pvremove -qq /dev/sdb"));
    }

    #[tokio::test]
    async fn report_failure_tears_down() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("pvs -o", ok(PVS))
            .on("vgdisplay", fail(5, "boom"))
            .on("vgs -o", ok(include_str!("testdata/vgs.json")));
        assert!(e.device_setup(&node(), &setup(false)).await.is_err());
        let l = e.transport().lines();
        let n = l.len();
        assert_eq!(
            &l[n - 4..],
            lines(&[
                &format!("{LVM} vgs -o pv_name,pv_uuid,vg_name --reportformat=json {VG}"),
                &format!("{LVM} vgremove -qq {VG}"),
                &format!(
                    "{LVM} pvremove -qq /dev/disk/by-id/lvm-pv-uuid-xEypXa-wGsf-eayW-tm5Q-bxoF-3ulW-TwMyrm"
                ),
                &format!("rmdir /var/lib/heketi/mounts/{VG}"),
            ])
        );
    }

    #[tokio::test]
    async fn config_knobs_and_wrapper_reach_the_commands() {
        let e = exec(CommandConfig {
            lvm_wrapper: "/opt/wrap".into(),
            pv_data_alignment: "1M".into(),
            vg_physicalextentsize: "8M".into(),
            backup_lvm_metadata: true,
            ..Default::default()
        });
        with_lvm_answers(&e);
        e.device_setup(&node(), &setup(false)).await.unwrap();
        let l = e.transport().lines();
        assert_eq!(
            l[2],
            "/opt/wrap /usr/sbin/lvm pvcreate -qq --metadatasize=128M --dataalignment=1M /dev/sdb"
        );
        assert_eq!(
            l[3],
            format!("/opt/wrap /usr/sbin/lvm vgcreate -qq --physicalextentsize=8M --autobackup=y {VG} /dev/sdb")
        );
        assert_eq!(
            l[5],
            "/opt/wrap /usr/bin/udevadm info --query=symlink --name=/dev/sdb"
        );
    }

    #[tokio::test]
    async fn hostile_device_names_never_reach_a_node() {
        let e = exec(CommandConfig::default());
        for name in ["--all", "sdb; rm -rf /", "$(reboot)"] {
            let mut s = setup(true);
            s.name = name.into();
            assert!(matches!(
                e.device_setup(&node(), &s).await,
                Err(ExecError::Other(_))
            ));
        }
        let mut s = setup(false);
        s.id = "x; rm -rf /".into();
        assert!(e.device_setup(&node(), &s).await.is_err());
        assert!(e.transport().lines().is_empty());
        // A strange but absolute path is passed as one argument, never interpreted.
        let mut s = setup(false);
        s.name = "/dev/disk/by-id/a b$(x)`y`".into();
        e.transport().on("test -b", fail(1, ""));
        assert!(e.device_setup(&node(), &s).await.is_err());
        assert_eq!(
            e.transport().argvs()[0],
            vec!["test", "-b", "/dev/disk/by-id/a b$(x)`y`"]
        );
    }

    #[tokio::test]
    async fn teardown_and_forced_teardown() {
        let d = DeviceRef {
            id: ID.into(),
            name: "/dev/sdb".into(),
            pv_uuid: "U".into(),
            paths: vec!["/dev/sdb".into()],
        };
        let e = exec(CommandConfig::default());
        e.device_teardown(&node(), &d, false).await.unwrap();
        assert_eq!(
            e.transport().lines(),
            lines(&[
                &format!("{LVM} vgremove -qq {VG}"),
                &format!("{LVM} pvremove -qq /dev/disk/by-id/lvm-pv-uuid-U"),
                &format!("rmdir /var/lib/heketi/mounts/{VG}"),
            ])
        );

        let e = exec(CommandConfig::default());
        e.transport()
            .on("vgremove", fail(5, "  Logical volume in use"));
        assert!(e.device_teardown(&node(), &d, false).await.is_err());
        assert_eq!(e.transport().lines().len(), 1);

        let e = exec(CommandConfig::default());
        e.transport().on("", fail(5, "everything fails"));
        e.device_teardown(&node(), &d, true).await.unwrap();
        assert_eq!(
            e.transport().lines()[0],
            format!("rmdir /var/lib/heketi/mounts/{VG}")
        );

        // Already gone counts as done.
        let e = exec(CommandConfig::default());
        e.transport().on(
            "vgremove",
            fail(5, &format!("  Volume group \"{VG}\" not found")),
        );
        e.transport()
            .on("pvremove", fail(5, "  No PV found on device /dev/sdb."));
        e.device_teardown(&node(), &d, false).await.unwrap();
    }

    #[tokio::test]
    async fn resync_uses_the_uuid_path() {
        let d = DeviceRef {
            id: ID.into(),
            name: "/dev/sdb".into(),
            pv_uuid: String::new(),
            paths: vec!["/dev/sdb".into()],
        };
        let e = exec(CommandConfig::default());
        with_lvm_answers(&e);
        e.transport()
            .on("vgs -o", ok(include_str!("testdata/vgs.json")));
        let r = e.device_resync(&node(), &d).await.unwrap();
        let by_uuid = "/dev/disk/by-id/lvm-pv-uuid-xEypXa-wGsf-eayW-tm5Q-bxoF-3ulW-TwMyrm";
        assert_eq!(
            e.transport().lines(),
            lines(&[
                &format!("{LVM} vgs -o pv_name,pv_uuid,vg_name --reportformat=json {VG}"),
                &format!("{LVM} pvs -o pv_name,pv_uuid,vg_name --reportformat=json {by_uuid}"),
                &format!("/usr/bin/udevadm info --query=symlink --name={by_uuid}"),
                &format!("{LVM} vgdisplay -c {VG}"),
            ])
        );
        assert_eq!(r.total_kib, 479 * 4096);
    }

    #[test]
    fn classification() {
        let sig = |k: &str| Signature {
            kind: k.into(),
            offset: String::new(),
        };
        let p = |sigs: &[&str], parts: Option<Result<usize, String>>| Probe {
            signatures: sigs.iter().map(|k| sig(k)).collect(),
            partitions: parts,
            pv: None,
        };
        assert_eq!(classify(&p(&[], None)), DeviceContent::Clean);
        assert_eq!(
            classify(&p(&["gpt", "gpt", "PMBR"], Some(Ok(0)))),
            DeviceContent::EmptyLabel
        );
        assert_eq!(
            classify(&p(&["dos"], Some(Ok(0)))),
            DeviceContent::EmptyLabel
        );
        assert_eq!(
            classify(&p(&["dos"], Some(Ok(1)))),
            DeviceContent::Data("MBR (dos) partition table with 1 partition".into())
        );
        assert_eq!(
            classify(&p(&["gpt"], Some(Err("bad".into())))),
            DeviceContent::Data("GPT partition table that cannot be read (bad)".into())
        );
        // A label plus another signature is data even without partitions.
        assert_eq!(
            classify(&p(&["dos", "xfs"], Some(Ok(0)))),
            DeviceContent::Data("xfs filesystem".into())
        );
        assert_eq!(
            classify(&p(&["linux_raid_member"], None)),
            DeviceContent::Data("linux_raid_member signature".into())
        );
        assert_eq!(
            classify(&p(&["LVM2_member"], None)),
            DeviceContent::Data("LVM2_member (LVM physical volume)".into())
        );
    }
}
