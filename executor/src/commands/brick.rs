//! Bricks: thin pool + thin LV, xfs, fstab, mount, brick dir, gid (docs/node-commands.md §5).
//! Create undoes its completed steps in reverse on failure; destroy tolerates half-made bricks.

use crate::commands::{
    args, check_name, is_not_found, parse, parse_error, ran, CommandExecutor, NodeCommands,
    BRICK_CREATE_TIMEOUT, BRICK_DESTROY_TIMEOUT,
};
use crate::transport::{Cmd, Transport};
use crate::{BrickSpec, ExecError, ExecResult};

/// Arbiter bricks hold only metadata; heketi always gives their pools 256K chunks.
const ARBITER_CHUNKSIZE: &str = "256K";

impl NodeCommands {
    pub fn mkdir_p(&self, path: &str) -> Cmd {
        Cmd::new(["mkdir", "-p", path], BRICK_CREATE_TIMEOUT)
    }

    pub fn lvcreate(&self, b: &BrickSpec) -> Cmd {
        let chunk = if b.arbiter {
            ARBITER_CHUNKSIZE
        } else {
            self.cfg.lv_chunksize.as_str()
        };
        self.lvm(
            args([
                "lvcreate".to_string(),
                "-qq".into(),
                self.autobackup(),
                "--poolmetadatasize".into(),
                format!("{}K", b.pool_metadata_kib),
                "--chunksize".into(),
                chunk.into(),
                "--size".into(),
                format!("{}K", b.tp_size_kib),
                "--thin".into(),
                format!("{}/{}", b.vg(), b.thin_pool),
                "--virtualsize".into(),
                format!("{}K", b.size_kib),
                "--name".into(),
                b.lv.clone(),
            ]),
            BRICK_CREATE_TIMEOUT,
        )
    }

    pub fn mkfs(&self, b: &BrickSpec) -> Cmd {
        let mut argv = args(["mkfs.xfs", "-i"]);
        if b.arbiter {
            argv.push("maxpct=100".into());
        } else {
            argv.push("size=512".into());
            if self.cfg.xfs_sw > 0 && self.cfg.xfs_su > 0 {
                argv.push("-d".into());
                argv.push(format!("su={},sw={}", self.cfg.xfs_su, self.cfg.xfs_sw));
            }
        }
        argv.extend(args(["-n", "size=8192"]));
        argv.push(b.dm_device());
        Cmd::new(argv, BRICK_CREATE_TIMEOUT)
    }

    pub fn fstab_line(&self, b: &BrickSpec) -> String {
        format!(
            "{} {} xfs {} 1 2",
            b.dm_device(),
            b.mount_point(),
            self.cfg.mountopts
        )
    }

    /// Append one line to the fstab. The line and the file are positional parameters of a
    /// fixed script, so neither is ever parsed by a shell.
    pub fn fstab_append(&self, b: &BrickSpec) -> Cmd {
        Cmd::new(
            [
                "sh",
                "-c",
                "printf '%s\\n' \"$1\" >> \"$2\"",
                "sh",
                &self.fstab_line(b),
                &self.cfg.fstab,
            ],
            BRICK_CREATE_TIMEOUT,
        )
    }

    /// heketi's `sed -i.save "/<lv>/d" <fstab>` (the LV name is checked to be a plain word;
    /// `.` is escaped so it cannot match other characters).
    pub fn fstab_remove(&self, b: &BrickSpec) -> Cmd {
        let pattern = b.lv.replace('.', "\\.");
        Cmd::new(
            [
                "sed".to_string(),
                "-i.save".into(),
                format!("/{pattern}/d"),
                self.cfg.fstab.clone(),
            ],
            BRICK_DESTROY_TIMEOUT,
        )
    }

    pub fn mount(&self, b: &BrickSpec) -> Cmd {
        Cmd::new(
            [
                "mount".to_string(),
                "-o".into(),
                self.cfg.mountopts.clone(),
                b.dm_device(),
                b.mount_point(),
            ],
            BRICK_CREATE_TIMEOUT,
        )
    }

    pub fn mkdir(&self, path: &str) -> Cmd {
        Cmd::new(["mkdir", path], BRICK_CREATE_TIMEOUT)
    }

    pub fn chown_group(&self, gid: i64, path: &str) -> Cmd {
        Cmd::new(["chown", &format!(":{gid}"), path], BRICK_CREATE_TIMEOUT)
    }

    pub fn chmod_setgid(&self, path: &str) -> Cmd {
        Cmd::new(["chmod", "2775", path], BRICK_CREATE_TIMEOUT)
    }

    pub fn umount(&self, mount_point: &str) -> Cmd {
        Cmd::new(["umount", mount_point], BRICK_DESTROY_TIMEOUT)
    }

    pub fn mount_list(&self) -> Cmd {
        Cmd::new(["mount"], BRICK_DESTROY_TIMEOUT)
    }

    pub fn lsof(&self, path: &str) -> Cmd {
        Cmd::new(["lsof", path], BRICK_DESTROY_TIMEOUT)
    }

    pub fn lvremove(&self, vg: &str, lv: &str) -> Cmd {
        self.lvm(
            args([
                "lvremove".to_string(),
                self.autobackup(),
                "-f".into(),
                format!("{vg}/{lv}"),
            ]),
            BRICK_DESTROY_TIMEOUT,
        )
    }

    pub fn thin_count(&self, vg: &str, pool: &str) -> Cmd {
        self.lvm(
            args([
                "lvs".to_string(),
                "--noheadings".into(),
                "--options=thin_count".into(),
                format!("{vg}/{pool}"),
            ]),
            BRICK_DESTROY_TIMEOUT,
        )
    }

    pub fn rmdir(&self, path: &str) -> Cmd {
        Cmd::new(["rmdir", path], BRICK_DESTROY_TIMEOUT)
    }
}

/// Clone bricks live under gluster's own mounts and have no fstab line.
fn is_gluster_managed(path: &str) -> bool {
    path.starts_with("/run/gluster/") || path.starts_with("/var/run/gluster/")
}

/// Brick paths go into fstab and mount: one field, no whitespace or shell-ish characters.
fn check_path(host: &str, path: &str) -> ExecResult<()> {
    let ok = path.starts_with('/')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ExecError::Other(format!(
            "{host}: refusing brick path {path:?}"
        )))
    }
}

/// Every name and the path of a brick, checked before any command runs (the mock executor
/// refuses the same bricks).
pub(crate) fn check_brick(host: &str, b: &BrickSpec) -> ExecResult<()> {
    check_name(host, "brick id", &b.id)?;
    check_name(host, "device id", &b.device_id)?;
    check_name(host, "thin pool", &b.thin_pool)?;
    check_name(host, "LV name", &b.lv)?;
    check_path(host, &b.path)
}

/// Steps of brick create that leave something behind, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Made {
    MountDir,
    Lv,
    FstabLine,
    Mounted,
}

impl<T: Transport> CommandExecutor<T> {
    pub(crate) async fn create_brick(&self, host: &str, b: &BrickSpec) -> ExecResult<()> {
        check_brick(host, b)?;
        let mut made = Vec::new();
        let res = self.create_brick_steps(host, b, &mut made).await;
        if let Err(e) = &res {
            tracing::warn!(host, brick = %b.id, error = %e, "brick create failed; undoing");
            self.undo_brick(host, b, &made).await;
        }
        res
    }

    async fn create_brick_steps(
        &self,
        host: &str,
        b: &BrickSpec,
        made: &mut Vec<Made>,
    ) -> ExecResult<()> {
        let c = &self.cmds;
        let mp = b.mount_point();
        self.step(host, &c.mkdir_p(&mp), made, Made::MountDir)
            .await?;
        self.step(host, &c.lvcreate(b), made, Made::Lv).await?;
        self.run(host, &c.mkfs(b)).await?;
        {
            let _lock = self.fstab_locks.acquire(host).await?;
            self.step(host, &c.fstab_append(b), made, Made::FstabLine)
                .await?;
        }
        self.step(host, &c.mount(b), made, Made::Mounted).await?;
        self.run(host, &c.mkdir(&b.path)).await?;
        if b.gid != 0 {
            self.run(host, &c.chown_group(b.gid, &b.path)).await?;
            self.run(host, &c.chmod_setgid(&b.path)).await?;
        }
        Ok(())
    }

    /// Run a step that leaves `what` behind. A step whose outcome is unknown (timeout, lost
    /// connection) may have done its work, so it is recorded for undo as well.
    async fn step(
        &self,
        host: &str,
        cmd: &Cmd,
        made: &mut Vec<Made>,
        what: Made,
    ) -> ExecResult<()> {
        match self.run(host, cmd).await {
            Ok(_) => {
                made.push(what);
                Ok(())
            }
            Err(e) => {
                if !ran(&e) {
                    made.push(what);
                }
                Err(e)
            }
        }
    }

    async fn undo_brick(&self, host: &str, b: &BrickSpec, made: &[Made]) {
        let c = &self.cmds;
        for step in made.iter().rev() {
            match step {
                Made::Mounted => self.run_logged(host, &c.umount(&b.mount_point())).await,
                Made::FstabLine => match self.fstab_locks.acquire(host).await {
                    Ok(_lock) => self.run_logged(host, &c.fstab_remove(b)).await,
                    Err(e) => tracing::warn!(host, error = %e, "fstab line not removed"),
                },
                Made::Lv => {
                    let _ = self.remove_lv_and_pool(host, b).await;
                }
                Made::MountDir => self.run_logged(host, &c.rmdir(&b.mount_point())).await,
            }
        }
    }

    /// lvremove of the brick LV, then of its pool if no thin LV is left in it. Returns whether
    /// the pool is gone (space reclaimed).
    async fn remove_lv_and_pool(&self, host: &str, b: &BrickSpec) -> ExecResult<bool> {
        let c = &self.cmds;
        let vg = b.vg();
        match self.run(host, &c.lvremove(&vg, &b.lv)).await {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
        let cmd = c.thin_count(&vg, &b.thin_pool);
        let count = match self.run(host, &cmd).await {
            Ok(out) => match parse::thin_count(&out.stdout) {
                Ok(n) => n,
                Err(m) => {
                    tracing::warn!(host, error = %parse_error(host, &cmd, m), "pool kept");
                    return Ok(false);
                }
            },
            Err(e) if is_not_found(&e) => 0,
            Err(e) => {
                tracing::warn!(host, error = %e, "cannot count thin LVs; pool kept");
                return Ok(false);
            }
        };
        if count > 0 {
            // Still used by a snapshot or clone.
            return Ok(false);
        }
        match self.run(host, &c.lvremove(&vg, &b.thin_pool)).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(true),
            Err(e) => {
                tracing::warn!(host, error = %e, "thin pool not removed");
                Ok(false)
            }
        }
    }

    pub(crate) async fn destroy_brick(&self, host: &str, b: &BrickSpec) -> ExecResult<bool> {
        check_brick(host, b)?;
        let c = &self.cmds;
        let mp = b.mount_point();
        // 1. unmount; "not mounted" (per `mount`) is fine.
        let umount_err = match self.run(host, &c.umount(&mp)).await {
            Ok(_) => None,
            Err(e) => {
                let mounted = match self.run(host, &c.mount_list()).await {
                    Ok(out) => parse::is_mounted(&out.stdout, &mp),
                    Err(_) => true,
                };
                if mounted && self.cmds.cfg.debug_umount_failures {
                    if let Ok(out) = self.exec(host, &c.lsof(&mp)).await {
                        tracing::warn!(host, mount_point = %mp, lsof = %out.stdout, "umount failed");
                    }
                }
                mounted.then_some(e)
            }
        };
        // 2. the fstab line goes even if the unmount failed, so a reboot does not remount.
        if !is_gluster_managed(&b.path) {
            let _lock = self.fstab_locks.acquire(host).await?;
            self.run(host, &c.fstab_remove(b)).await?;
        }
        // 3.
        if let Some(e) = umount_err {
            return Err(e);
        }
        // 4.-6.
        let reclaimed = self.remove_lv_and_pool(host, b).await?;
        // 7.
        self.run_logged(host, &c.rmdir(&mp)).await;
        Ok(reclaimed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fake::{fail, ok, FakeTransport};
    use crate::commands::CommandConfig;
    use crate::{brick_path, Executor, NodeTarget};

    const D: &str = "dddddddddddddddddddddddddddddddd";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const X: &str = "cccccccccccccccccccccccccccccccc";

    fn node() -> NodeTarget {
        NodeTarget {
            manage: "n1".into(),
            storage: "10.0.0.1".into(),
        }
    }

    fn brick() -> BrickSpec {
        BrickSpec {
            id: B.into(),
            device_id: D.into(),
            thin_pool: format!("tp_{X}"),
            lv: format!("brick_{B}"),
            size_kib: 10485760,
            tp_size_kib: 10485760,
            pool_metadata_kib: 53248,
            arbiter: false,
            gid: 0,
            path: brick_path(D, B),
        }
    }

    fn exec(cfg: CommandConfig) -> CommandExecutor<FakeTransport> {
        CommandExecutor::new(FakeTransport::default(), cfg).unwrap()
    }

    fn mp() -> String {
        format!("/var/lib/heketi/mounts/vg_{D}/brick_{B}")
    }

    fn dm() -> String {
        format!("/dev/mapper/vg_{D}-brick_{B}")
    }

    fn create_lines(mkfs: &str, chunk: &str) -> Vec<String> {
        vec![
            format!("mkdir -p {}", mp()),
            format!(
                "/usr/sbin/lvm lvcreate -qq --autobackup=n --poolmetadatasize 53248K --chunksize {chunk} --size 10485760K --thin vg_{D}/tp_{X} --virtualsize 10485760K --name brick_{B}"
            ),
            format!("mkfs.xfs {mkfs} -n size=8192 {}", dm()),
            format!(
                "sh -c printf '%s\\n' \"$1\" >> \"$2\" sh {} {} xfs rw,inode64,noatime,nouuid 1 2 /etc/fstab",
                dm(),
                mp()
            ),
            format!("mount -o rw,inode64,noatime,nouuid {} {}", dm(), mp()),
            format!("mkdir {}/brick", mp()),
        ]
    }

    #[tokio::test]
    async fn create_matches_heketi() {
        let e = exec(CommandConfig::default());
        e.brick_create(&node(), &brick()).await.unwrap();
        assert_eq!(e.transport().lines(), create_lines("-i size=512", "256K"));
        // The fstab argv, exactly: a fixed script plus two positional parameters.
        assert_eq!(
            e.transport().argvs()[3],
            vec![
                "sh".to_string(),
                "-c".into(),
                "printf '%s\\n' \"$1\" >> \"$2\"".into(),
                "sh".into(),
                format!("{} {} xfs rw,inode64,noatime,nouuid 1 2", dm(), mp()),
                "/etc/fstab".into()
            ]
        );
    }

    #[tokio::test]
    async fn arbiter_gid_stripe_and_knobs() {
        let cfg = CommandConfig {
            xfs_su: 64,
            xfs_sw: 4,
            lv_chunksize: "512K".into(),
            fstab: "/var/lib/heketi/fstab".into(),
            mountopts: "rw,noatime".into(),
            ..Default::default()
        };
        let e = exec(cfg.clone());
        let mut b = brick();
        b.gid = 2001;
        e.brick_create(&node(), &b).await.unwrap();
        let l = e.transport().lines();
        assert!(l[1].contains("--chunksize 512K"));
        assert_eq!(
            l[2],
            format!("mkfs.xfs -i size=512 -d su=64,sw=4 -n size=8192 {}", dm())
        );
        assert!(l[3].ends_with("xfs rw,noatime 1 2 /var/lib/heketi/fstab"));
        assert_eq!(l[4], format!("mount -o rw,noatime {} {}", dm(), mp()));
        assert_eq!(l[6], format!("chown :2001 {}/brick", mp()));
        assert_eq!(l[7], format!("chmod 2775 {}/brick", mp()));
        assert_eq!(l.len(), 8);

        let e = exec(cfg);
        let mut b = brick();
        b.arbiter = true;
        e.brick_create(&node(), &b).await.unwrap();
        let l = e.transport().lines();
        assert!(l[1].contains("--chunksize 256K"));
        assert_eq!(
            l[2],
            format!("mkfs.xfs -i maxpct=100 -n size=8192 {}", dm())
        );
    }

    #[tokio::test]
    async fn mount_failure_undoes_in_reverse() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("mount -o", fail(32, "mount: wrong fs type"))
            .on("thin_count", ok("  0\n"));
        let err = e.brick_create(&node(), &brick()).await.unwrap_err();
        assert!(
            matches!(&err, ExecError::Command { status: 32, stderr, .. } if stderr == "mount: wrong fs type")
        );
        let l = e.transport().lines();
        let mut want = create_lines("-i size=512", "256K")[..5].to_vec();
        want.extend([
            format!("sed -i.save /brick_{B}/d /etc/fstab"),
            format!("/usr/sbin/lvm lvremove --autobackup=n -f vg_{D}/brick_{B}"),
            format!("/usr/sbin/lvm lvs --noheadings --options=thin_count vg_{D}/tp_{X}"),
            format!("/usr/sbin/lvm lvremove --autobackup=n -f vg_{D}/tp_{X}"),
            format!("rmdir {}", mp()),
        ]);
        assert_eq!(l, want);
    }

    #[tokio::test]
    async fn lvcreate_failure_removes_only_the_dir() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("lvcreate", fail(5, "  Insufficient free space"));
        assert!(e.brick_create(&node(), &brick()).await.is_err());
        let l = e.transport().lines();
        assert_eq!(l.len(), 3);
        assert_eq!(l[2], format!("rmdir {}", mp()));
    }

    #[tokio::test]
    async fn lvcreate_timeout_is_undone_as_if_done() {
        let e = exec(CommandConfig::default());
        e.transport().on(
            "lvcreate",
            Err(ExecError::Timeout {
                host: "n1".into(),
                command: "lvcreate".into(),
                seconds: 600,
            }),
        );
        e.transport().on("thin_count", ok("0"));
        let err = e.brick_create(&node(), &brick()).await.unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }));
        let l = e.transport().lines();
        assert!(l[2].contains(&format!("lvremove --autobackup=n -f vg_{D}/brick_{B}")));
        assert!(l.last().unwrap().starts_with("rmdir"));
    }

    #[tokio::test]
    async fn chown_failure_unmounts_and_cleans_fstab() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("chown", fail(1, "chown: invalid group"))
            .on("thin_count", ok("0"));
        let mut b = brick();
        b.gid = 5;
        assert!(e.brick_create(&node(), &b).await.is_err());
        let l = e.transport().lines();
        assert_eq!(l[6], format!("chown :5 {}/brick", mp()));
        assert_eq!(l[7], format!("umount {}", mp()));
        assert!(l[8].starts_with("sed -i.save"));
    }

    #[tokio::test]
    async fn destroy_matches_heketi_and_reclaims() {
        let e = exec(CommandConfig::default());
        e.transport().on("thin_count", ok("  0\n"));
        assert!(e.brick_destroy(&node(), &brick()).await.unwrap());
        assert_eq!(
            e.transport().lines(),
            vec![
                format!("umount {}", mp()),
                format!("sed -i.save /brick_{B}/d /etc/fstab"),
                format!("/usr/sbin/lvm lvremove --autobackup=n -f vg_{D}/brick_{B}"),
                format!("/usr/sbin/lvm lvs --noheadings --options=thin_count vg_{D}/tp_{X}"),
                format!("/usr/sbin/lvm lvremove --autobackup=n -f vg_{D}/tp_{X}"),
                format!("rmdir {}", mp()),
            ]
        );
    }

    #[tokio::test]
    async fn destroy_keeps_a_pool_in_use() {
        let e = exec(CommandConfig::default());
        e.transport().on("thin_count", ok("  1\n"));
        assert!(!e.brick_destroy(&node(), &brick()).await.unwrap());
        assert!(!e
            .transport()
            .lines()
            .iter()
            .any(|l| l.ends_with(&format!("tp_{X}")) && l.contains("lvremove")));
    }

    #[tokio::test]
    async fn destroy_of_a_half_made_brick() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("umount", fail(32, "umount: not mounted."))
            .on("lvremove", fail(5, "  Failed to find logical volume"))
            .on(
                "thin_count",
                fail(5, "  Failed to find logical volume \"vg/tp\""),
            )
            .on("mount", ok("proc on /proc type proc (rw)\n"));
        // Pool already gone: counts as reclaimed.
        assert!(e.brick_destroy(&node(), &brick()).await.unwrap());
    }

    #[tokio::test]
    async fn destroy_aborts_when_still_mounted_but_removes_fstab_line() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on("umount", fail(32, "umount: target is busy."))
            .on(
                "mount",
                ok(&format!("{} on {} type xfs (rw)\n", dm(), mp())),
            );
        let err = e.brick_destroy(&node(), &brick()).await.unwrap_err();
        assert!(err.to_string().contains("target is busy"));
        let l = e.transport().lines();
        assert_eq!(l.len(), 3);
        assert!(l[2].starts_with("sed -i.save"));
    }

    #[tokio::test]
    async fn clone_bricks_have_no_fstab_line() {
        let e = exec(CommandConfig::default());
        e.transport().on("thin_count", ok("1"));
        let mut b = brick();
        b.path = "/run/gluster/snaps/abc/brick1/brick".into();
        b.lv = "0bc3dc057def40cda5473722fce87cb0_0".into();
        e.brick_destroy(&node(), &b).await.unwrap();
        let l = e.transport().lines();
        assert_eq!(l[0], "umount /run/gluster/snaps/abc/brick1");
        assert!(!l.iter().any(|l| l.starts_with("sed")));
        assert!(l[1].ends_with(&format!("vg_{D}/0bc3dc057def40cda5473722fce87cb0_0")));
    }

    /// The fstab commands, run for real (argv directly, and through `sh -c` as ssh would).
    #[test]
    fn fstab_append_and_remove_really_work() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fst ab$(x)");
        std::fs::write(&fstab, "proc /proc proc defaults 0 0\n").unwrap();
        let cfg = CommandConfig {
            fstab: fstab.to_str().unwrap().into(),
            ..Default::default()
        };
        let c = NodeCommands::new(cfg).unwrap();
        let run = |cmd: Cmd, via_shell: bool| {
            let status = if via_shell {
                let line = crate::transport::shell_line(&cmd.argv).unwrap();
                std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(line)
                    .status()
            } else {
                std::process::Command::new(&cmd.argv[0])
                    .args(&cmd.argv[1..])
                    .status()
            };
            assert!(status.unwrap().success());
        };
        let b1 = brick();
        let mut b2 = brick();
        b2.id = X.into();
        b2.lv = format!("brick_{X}");
        b2.path = brick_path(D, X);
        run(c.fstab_append(&b1), false);
        run(c.fstab_append(&b2), true);
        let text = std::fs::read_to_string(&fstab).unwrap();
        assert_eq!(
            text,
            format!(
                "proc /proc proc defaults 0 0\n{}\n{}\n",
                c.fstab_line(&b1),
                c.fstab_line(&b2)
            )
        );
        run(c.fstab_remove(&b1), true);
        let text = std::fs::read_to_string(&fstab).unwrap();
        assert_eq!(
            text,
            format!("proc /proc proc defaults 0 0\n{}\n", c.fstab_line(&b2))
        );
        // Removing a line that is not there succeeds (half-made bricks).
        run(c.fstab_remove(&b1), false);
    }

    #[tokio::test]
    async fn hostile_brick_fields_are_refused() {
        let e = exec(CommandConfig::default());
        let mut b = brick();
        b.path = "/var/lib/x\n/dev/sda / xfs defaults 0 0".into();
        assert!(e.brick_create(&node(), &b).await.is_err());
        let mut b = brick();
        b.lv = "brick_x/d;e".into();
        assert!(e.brick_destroy(&node(), &b).await.is_err());
        let mut b = brick();
        b.thin_pool = "$(x)".into();
        assert!(e.brick_create(&node(), &b).await.is_err());
        assert!(e.transport().lines().is_empty());
    }
}
