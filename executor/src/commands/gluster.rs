//! gluster: glusterd check, peers, volume create/expand/destroy/info, heal info, clone,
//! replace-brick (docs/node-commands.md §3, §6-§10). Every option, name and brick is its own
//! argv element.

use std::hash::{BuildHasher, Hasher};

use heqet_api::layout::Layout;

use crate::commands::{
    args, check_name, command_error, parse, parse_error, CommandExecutor, GlusterdCheck,
    NodeCommands, GLUSTERD_CHECK_TIMEOUT,
};
use crate::transport::{Cmd, CmdOutput, Transport};
use crate::{BrickAddr, ExecError, ExecResult, HealInfo, VolumeSpec, VolumeStatus};

/// heketi's add-brick chunking: bricks per command for distribute, sets per command for
/// replicate/arbiter; disperse adds one set per command.
const DISTRIBUTE_BRICKS_PER_ADD: usize = 15;
const REPLICA_SETS_PER_ADD: usize = 5;

impl NodeCommands {
    /// `gluster --mode=script --timeout=<t> <args>`.
    pub fn gluster(&self, rest: Vec<String>) -> Cmd {
        let mut argv = args([
            "gluster".to_string(),
            "--mode=script".into(),
            format!("--timeout={}", self.cfg.gluster_cli_timeout),
        ]);
        argv.extend(rest);
        Cmd {
            argv,
            timeout: self.gluster_timeout(),
        }
    }

    pub fn volume_create(&self, name: &str, layout: &Layout, first_set: &[BrickAddr]) -> Cmd {
        let mut a = args(["volume", "create", name]);
        match *layout {
            Layout::None => {}
            Layout::Replicate { replica } => {
                a.extend(args(["replica".into(), replica.to_string()]))
            }
            Layout::Arbiter => a.extend(args(["replica", "3", "arbiter", "1"])),
            Layout::Disperse { data, redundancy } => a.extend(args([
                "disperse-data".into(),
                data.to_string(),
                "redundancy".into(),
                redundancy.to_string(),
            ])),
        }
        a.extend(first_set.iter().map(ToString::to_string));
        self.gluster(a)
    }

    pub fn add_brick(&self, name: &str, bricks: &[BrickAddr]) -> Cmd {
        let mut a = args(["volume", "add-brick", name]);
        a.extend(bricks.iter().map(ToString::to_string));
        self.gluster(a)
    }

    pub fn volume_set(&self, name: &str, key: &str, value: &str) -> Cmd {
        self.gluster(args(["volume", "set", name, key, value]))
    }

    pub fn volume_start(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "start", name]))
    }

    pub fn volume_stop_force(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "stop", name, "force"]))
    }

    pub fn volume_delete(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "delete", name]))
    }

    pub fn rebalance_start(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "rebalance", name, "start"]))
    }

    pub fn volume_info_xml(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "info", name, "--xml"]))
    }

    pub fn heal_info_xml(&self, name: &str) -> Cmd {
        self.gluster(args(["volume", "heal", name, "info", "--xml"]))
    }

    pub fn replace_brick(&self, name: &str, old: &BrickAddr, new: &BrickAddr) -> Cmd {
        self.gluster(args([
            "volume".to_string(),
            "replace-brick".into(),
            name.into(),
            old.to_string(),
            new.to_string(),
            "commit".into(),
            "force".into(),
        ]))
    }

    pub fn peer_probe(&self, storage: &str) -> Cmd {
        self.gluster(args(["peer", "probe", storage]))
    }

    pub fn peer_detach(&self, storage: &str) -> Cmd {
        self.gluster(args(["peer", "detach", storage]))
    }

    pub fn snapshot_limit(&self, limit: u32) -> Cmd {
        self.gluster(args([
            "snapshot".to_string(),
            "config".into(),
            "snap-max-hard-limit".into(),
            limit.to_string(),
        ]))
    }

    /// `gluster … --xml <args>` (heketi puts `--xml` first for snapshot commands).
    pub fn gluster_xml(&self, rest: Vec<String>) -> Cmd {
        let mut a = vec!["--xml".to_string()];
        a.extend(rest);
        self.gluster(a)
    }

    pub fn systemd_booted(&self) -> Cmd {
        Cmd::new(
            ["test", "-d", "/run/systemd/system"],
            GLUSTERD_CHECK_TIMEOUT,
        )
    }

    pub fn glusterd_check(&self, how: GlusterdCheck) -> Cmd {
        match how {
            GlusterdCheck::Systemctl | GlusterdCheck::Auto => {
                Cmd::new(["systemctl", "status", "glusterd"], GLUSTERD_CHECK_TIMEOUT)
            }
            GlusterdCheck::Cli => {
                let mut c = self.gluster(args(["pool", "list"]));
                c.timeout = GLUSTERD_CHECK_TIMEOUT;
                c
            }
            GlusterdCheck::Pidof => Cmd::new(["pidof", "glusterd"], GLUSTERD_CHECK_TIMEOUT),
        }
    }
}

/// How many bricks go into one add-brick command.
pub fn add_brick_chunk(layout: &Layout) -> usize {
    match layout {
        Layout::None => DISTRIBUTE_BRICKS_PER_ADD,
        Layout::Replicate { .. } | Layout::Arbiter => REPLICA_SETS_PER_ADD * layout.set_size(),
        Layout::Disperse { .. } => layout.set_size(),
    }
}

/// Options in the order they are set: the given ones (empty keys skipped), then
/// `user.heketi.id <id>` unless the server already put it in.
pub fn volume_options(v: &VolumeSpec) -> Vec<(String, String)> {
    let mut opts: Vec<(String, String)> = v
        .options
        .iter()
        .filter(|(k, _)| !k.trim().is_empty())
        .cloned()
        .collect();
    if !opts.iter().any(|(k, _)| k == "user.heketi.id") {
        opts.push(("user.heketi.id".into(), v.id.clone()));
    }
    opts
}

/// gluster's CLI treats any `--word` as one of its own options (e.g. `--remote-host=`), wherever
/// it appears; no name, key, value or brick may look like one.
fn check_word(host: &str, what: &str, value: &str) -> ExecResult<()> {
    if value.starts_with("--") || value.contains('\0') {
        return Err(ExecError::Other(format!(
            "{host}: refusing {what} {value:?}: it would be read as a gluster option"
        )));
    }
    Ok(())
}

fn check_bricks(host: &str, bricks: &[BrickAddr]) -> ExecResult<()> {
    for b in bricks {
        check_word(host, "brick host", &b.host)?;
        if b.host.is_empty() || b.host.contains(':') || !b.path.starts_with('/') {
            return Err(ExecError::Other(format!("{host}: refusing brick {b}")));
        }
    }
    Ok(())
}

fn check_volume(host: &str, v: &VolumeSpec) -> ExecResult<()> {
    check_name(host, "volume name", &v.name)?;
    check_bricks(host, &v.bricks)?;
    let set = v.layout.set_size();
    if set == 0 || v.bricks.is_empty() || !v.bricks.len().is_multiple_of(set) {
        return Err(ExecError::Other(format!(
            "{host}: volume {}: {} bricks do not make whole sets of {set}",
            v.name,
            v.bricks.len()
        )));
    }
    for (k, val) in &v.options {
        check_word(host, "option key", k)?;
        check_word(host, "option value", val)?;
    }
    Ok(())
}

/// "does not exist" in gluster's answer (stdout or stderr).
fn says_missing(out: &CmdOutput) -> bool {
    out.stderr.contains("does not exist") || out.stdout.contains("does not exist")
}

/// 32 random hex chars for snapshot names (std's per-process random SipHash keys).
fn random_hex() -> String {
    let mut s = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

impl<T: Transport> CommandExecutor<T> {
    /// Run a gluster `--xml` command: the exit status and `opRet` must both say success
    /// (gluster exits 0 with `opRet` -1 for many failures). Returns stdout.
    async fn run_xml(&self, host: &str, cmd: &Cmd) -> ExecResult<String> {
        let out = self.exec(host, cmd).await?;
        match parse::gluster_status(&out.stdout) {
            Ok(st) if st.op_ret == 0 && out.success() => Ok(out.stdout),
            Ok(st) if st.op_ret != 0 => Err(ExecError::Command {
                host: host.into(),
                command: cmd.display(),
                status: if out.success() {
                    st.op_ret as i32
                } else {
                    out.status
                },
                stderr: if st.op_errstr.is_empty() {
                    out.message()
                } else {
                    st.op_errstr
                },
            }),
            _ if !out.success() => Err(command_error(host, cmd, &out)),
            Ok(_) => Ok(out.stdout),
            Err(m) => Err(parse_error(host, cmd, m)),
        }
    }

    pub(crate) async fn check_glusterd(&self, host: &str) -> ExecResult<()> {
        let how = match self.cmds.cfg.glusterd_check {
            GlusterdCheck::Auto => self.auto_glusterd_check(host).await?,
            other => other,
        };
        let cmd = self.cmds.glusterd_check(how);
        let out = self.exec(host, &cmd).await?;
        if out.success() {
            return Ok(());
        }
        if how == GlusterdCheck::Systemctl
            && out.status == 127
            && self.cmds.cfg.glusterd_check == GlusterdCheck::Auto
        {
            // systemd directory present but no systemctl: ask glusterd instead from now on.
            self.remember_systemd(host, false);
            return Box::pin(self.check_glusterd(host)).await;
        }
        Err(ExecError::GlusterdDown {
            host: host.into(),
            message: format!(
                "`{}` exited {}: {}",
                cmd.display(),
                out.status,
                out.message()
            ),
        })
    }

    /// systemctl where the node booted with systemd (sd_booted: /run/systemd/system exists),
    /// else `gluster pool list` (containers and the e2e nodes have no systemd).
    async fn auto_glusterd_check(&self, host: &str) -> ExecResult<GlusterdCheck> {
        let known = self
            .systemd
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied();
        let systemd = match known {
            Some(s) => s,
            None => {
                let out = self.exec(host, &self.cmds.systemd_booted()).await?;
                self.remember_systemd(host, out.success());
                out.success()
            }
        };
        Ok(if systemd {
            GlusterdCheck::Systemctl
        } else {
            GlusterdCheck::Cli
        })
    }

    fn remember_systemd(&self, host: &str, systemd: bool) {
        self.systemd
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), systemd);
    }

    pub(crate) async fn probe(&self, host: &str, storage: &str) -> ExecResult<()> {
        check_name(host, "peer hostname", storage)?;
        self.run(host, &self.cmds.peer_probe(storage)).await?;
        let limit = self.cmds.cfg.snapshot_limit;
        if limit > 0 {
            self.run(host, &self.cmds.snapshot_limit(limit)).await?;
        }
        Ok(())
    }

    pub(crate) async fn detach(&self, host: &str, storage: &str) -> ExecResult<()> {
        check_name(host, "peer hostname", storage)?;
        self.run(host, &self.cmds.peer_detach(storage)).await?;
        Ok(())
    }

    async fn add_bricks(&self, host: &str, v: &VolumeSpec, bricks: &[BrickAddr]) -> ExecResult<()> {
        for chunk in bricks.chunks(add_brick_chunk(&v.layout)) {
            self.run(host, &self.cmds.add_brick(&v.name, chunk)).await?;
        }
        Ok(())
    }

    pub(crate) async fn create_volume(&self, host: &str, v: &VolumeSpec) -> ExecResult<()> {
        check_volume(host, v)?;
        let c = &self.cmds;
        let (first, rest) = v.bricks.split_at(v.layout.set_size());
        self.run(host, &c.volume_create(&v.name, &v.layout, first))
            .await?;
        let res = async {
            self.add_bricks(host, v, rest).await?;
            for (k, val) in volume_options(v) {
                self.run(host, &c.volume_set(&v.name, &k, &val)).await?;
            }
            self.run(host, &c.volume_start(&v.name)).await?;
            Ok(())
        }
        .await;
        if res.is_err() {
            // The volume exists but is not what was asked for: remove it (bricks are the
            // caller's to destroy).
            self.run_logged(host, &c.volume_stop_force(&v.name)).await;
            self.run_logged(host, &c.volume_delete(&v.name)).await;
        }
        res
    }

    pub(crate) async fn expand_volume(
        &self,
        host: &str,
        v: &VolumeSpec,
        rebalance: bool,
    ) -> ExecResult<()> {
        check_volume(host, v)?;
        self.add_bricks(host, v, &v.bricks).await?;
        if rebalance {
            if let Err(e) = self.run(host, &self.cmds.rebalance_start(&v.name)).await {
                tracing::warn!(host, volume = %v.name, error = %e,
                    "rebalance did not start; run `gluster volume rebalance {} start` manually", v.name);
            }
        }
        Ok(())
    }

    pub(crate) async fn destroy_volume(&self, host: &str, name: &str) -> ExecResult<()> {
        check_name(host, "volume name", name)?;
        let c = &self.cmds;
        self.run_logged(host, &c.volume_stop_force(name)).await;
        let cmd = c.volume_delete(name);
        let out = self.exec(host, &cmd).await?;
        if out.success() || says_missing(&out) {
            Ok(())
        } else {
            Err(command_error(host, &cmd, &out))
        }
    }

    pub(crate) async fn info_volume(&self, host: &str, name: &str) -> ExecResult<VolumeStatus> {
        check_name(host, "volume name", name)?;
        let cmd = self.cmds.volume_info_xml(name);
        let xml = self.run_xml(host, &cmd).await?;
        let (_, vols) = parse::volume_info_xml(&xml).map_err(|m| parse_error(host, &cmd, m))?;
        vols.into_iter()
            .find(|v| v.name == name)
            .ok_or_else(|| parse_error(host, &cmd, format!("volume {name} not in the answer")))
    }

    pub(crate) async fn volume_heal_info(&self, host: &str, name: &str) -> ExecResult<HealInfo> {
        check_name(host, "volume name", name)?;
        let cmd = self.cmds.heal_info_xml(name);
        let xml = self.run_xml(host, &cmd).await?;
        let (_, info) = parse::heal_info_xml(&xml).map_err(|m| parse_error(host, &cmd, m))?;
        Ok(info)
    }

    pub(crate) async fn volume_replace_brick(
        &self,
        host: &str,
        name: &str,
        old: &BrickAddr,
        new: &BrickAddr,
    ) -> ExecResult<()> {
        check_name(host, "volume name", name)?;
        check_bricks(host, &[old.clone(), new.clone()])?;
        self.run(host, &self.cmds.replace_brick(name, old, new))
            .await?;
        Ok(())
    }

    /// §9: snapshot the origin, clone the snapshot, start the clone; the temporary snapshot
    /// is deactivated and deleted whatever happens after it was made.
    pub(crate) async fn clone_volume(
        &self,
        host: &str,
        origin: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus> {
        check_name(host, "volume name", origin)?;
        check_name(host, "volume name", clone)?;
        let c = &self.cmds;
        self.info_volume(host, origin).await?;
        let wanted = format!("tmpsnap_{}", random_hex());
        let cmd = c.gluster_xml(args([
            "snapshot",
            "create",
            wanted.as_str(),
            origin,
            "no-timestamp",
        ]));
        let xml = self.run_xml(host, &cmd).await?;
        let snap = parse::snapshot_create_xml(&xml)
            .ok()
            .and_then(|(_, n)| n)
            .unwrap_or(wanted);
        check_name(host, "snapshot name", &snap)?;

        let res = self.clone_from_snapshot(host, &snap, clone).await;
        self.run_xml(
            host,
            &c.gluster_xml(args(["snapshot", "delete", snap.as_str()])),
        )
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(host, error = %e, "temporary snapshot {snap} left behind");
            String::new()
        });
        res
    }

    async fn clone_from_snapshot(
        &self,
        host: &str,
        snap: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus> {
        let c = &self.cmds;
        self.run_xml(host, &c.gluster_xml(args(["snapshot", "activate", snap])))
            .await?;
        let res = async {
            self.run_xml(
                host,
                &c.gluster_xml(args(["snapshot", "clone", clone, snap])),
            )
            .await?;
            if let Err(e) = self
                .run_xml(host, &c.gluster_xml(args(["volume", "start", clone])))
                .await
            {
                self.run_logged(host, &c.volume_stop_force(clone)).await;
                self.run_logged(host, &c.volume_delete(clone)).await;
                return Err(e);
            }
            self.info_volume(host, clone).await
        }
        .await;
        if let Err(e) = self
            .run_xml(host, &c.gluster_xml(args(["snapshot", "deactivate", snap])))
            .await
        {
            tracing::warn!(host, error = %e, "snapshot {snap} not deactivated");
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fake::{fail, ok, FakeTransport};
    use crate::commands::CommandConfig;
    use crate::{Executor, NodeTarget};

    const G: &str = "gluster --mode=script --timeout=600";

    fn node() -> NodeTarget {
        NodeTarget {
            manage: "n1".into(),
            storage: "10.0.0.1".into(),
        }
    }

    fn exec(cfg: CommandConfig) -> CommandExecutor<FakeTransport> {
        CommandExecutor::new(FakeTransport::default(), cfg).unwrap()
    }

    fn bricks(n: usize) -> Vec<BrickAddr> {
        (0..n)
            .map(|i| BrickAddr {
                host: format!("h{}", i % 3),
                path: format!("/b/{i}/brick"),
            })
            .collect()
    }

    fn spec(layout: Layout, n: usize) -> VolumeSpec {
        VolumeSpec {
            name: "vol_1".into(),
            id: "v1".into(),
            layout,
            bricks: bricks(n),
            options: vec![],
        }
    }

    fn bl(r: std::ops::Range<usize>) -> String {
        r.map(|i| format!("h{}:/b/{i}/brick", i % 3))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[tokio::test]
    async fn replicate_two_sets() {
        let e = exec(CommandConfig::default());
        e.volume_create(&node(), &spec(Layout::Replicate { replica: 3 }, 6))
            .await
            .unwrap();
        assert_eq!(
            e.transport().lines(),
            vec![
                format!("{G} volume create vol_1 replica 3 {}", bl(0..3)),
                format!("{G} volume add-brick vol_1 {}", bl(3..6)),
                format!("{G} volume set vol_1 user.heketi.id v1"),
                format!("{G} volume start vol_1"),
            ]
        );
    }

    #[tokio::test]
    async fn add_brick_chunking_per_layout() {
        // replica 3 × 12 sets: create with 1 set, then 5 + 5 + 1 sets.
        let e = exec(CommandConfig::default());
        e.volume_create(&node(), &spec(Layout::Replicate { replica: 3 }, 36))
            .await
            .unwrap();
        let l = e.transport().lines();
        assert_eq!(l[1], format!("{G} volume add-brick vol_1 {}", bl(3..18)));
        assert_eq!(l[2], format!("{G} volume add-brick vol_1 {}", bl(18..33)));
        assert_eq!(l[3], format!("{G} volume add-brick vol_1 {}", bl(33..36)));

        // distribute × 32: 1 + 15 + 15 + 1.
        let e = exec(CommandConfig::default());
        e.volume_create(&node(), &spec(Layout::None, 32))
            .await
            .unwrap();
        let l = e.transport().lines();
        assert_eq!(l[0], format!("{G} volume create vol_1 {}", bl(0..1)));
        assert_eq!(l[1], format!("{G} volume add-brick vol_1 {}", bl(1..16)));
        assert_eq!(l[3], format!("{G} volume add-brick vol_1 {}", bl(31..32)));

        // disperse 4+2 × 3: one set per add-brick.
        let e = exec(CommandConfig::default());
        e.volume_create(
            &node(),
            &spec(
                Layout::Disperse {
                    data: 4,
                    redundancy: 2,
                },
                18,
            ),
        )
        .await
        .unwrap();
        let l = e.transport().lines();
        assert_eq!(
            l[0],
            format!(
                "{G} volume create vol_1 disperse-data 4 redundancy 2 {}",
                bl(0..6)
            )
        );
        assert_eq!(l[1], format!("{G} volume add-brick vol_1 {}", bl(6..12)));
        assert_eq!(l[2], format!("{G} volume add-brick vol_1 {}", bl(12..18)));

        // arbiter: replica 3 arbiter 1, arbiter brick last in the set.
        let e = exec(CommandConfig::default());
        e.volume_create(&node(), &spec(Layout::Arbiter, 3))
            .await
            .unwrap();
        assert_eq!(
            e.transport().lines()[0],
            format!("{G} volume create vol_1 replica 3 arbiter 1 {}", bl(0..3))
        );
    }

    #[tokio::test]
    async fn options_are_separate_arguments_even_when_hostile() {
        let e = exec(CommandConfig::default());
        let mut v = spec(Layout::Replicate { replica: 2 }, 2);
        v.options = vec![
            ("performance.read-ahead".into(), "off".into()),
            ("".into(), "skipped".into()),
            (
                "user.x".into(),
                "a b; rm -rf / $(id) `id` 'q' \"d\"\nnl".into(),
            ),
        ];
        e.volume_create(&node(), &v).await.unwrap();
        let a = e.transport().argvs();
        let tail = |i: usize| a[i][3..].to_vec();
        assert_eq!(
            tail(1),
            vec!["volume", "set", "vol_1", "performance.read-ahead", "off"]
        );
        assert_eq!(
            tail(2),
            vec![
                "volume",
                "set",
                "vol_1",
                "user.x",
                "a b; rm -rf / $(id) `id` 'q' \"d\"\nnl"
            ]
        );
        assert_eq!(
            tail(3),
            vec!["volume", "set", "vol_1", "user.heketi.id", "v1"]
        );
        assert_eq!(a.len(), 5);

        // Option-lookalikes and bad names never reach the node.
        let e = exec(CommandConfig::default());
        let mut v = spec(Layout::None, 1);
        v.options = vec![("k".into(), "--remote-host=evil".into())];
        assert!(e.volume_create(&node(), &v).await.is_err());
        let mut v = spec(Layout::None, 1);
        v.name = "v; reboot".into();
        assert!(e.volume_create(&node(), &v).await.is_err());
        assert!(e.volume_destroy(&node(), "$(x)").await.is_err());
        let mut v = spec(Layout::Replicate { replica: 3 }, 4);
        v.name = "ok".into();
        assert!(e.volume_create(&node(), &v).await.is_err(), "partial set");
        assert!(e.transport().lines().is_empty());
    }

    #[tokio::test]
    async fn failed_start_removes_the_volume() {
        let e = exec(CommandConfig::default());
        e.transport().on(
            "volume start",
            fail(1, "volume start: vol_1: failed: Commit failed"),
        );
        let err = e
            .volume_create(&node(), &spec(Layout::Replicate { replica: 3 }, 3))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Commit failed"));
        assert!(err.to_string().contains("volume start vol_1"));
        let l = e.transport().lines();
        assert_eq!(l[l.len() - 2], format!("{G} volume stop vol_1 force"));
        assert_eq!(l[l.len() - 1], format!("{G} volume delete vol_1"));
    }

    #[tokio::test]
    async fn expand_then_rebalance_whose_failure_is_ignored() {
        let e = exec(CommandConfig::default());
        e.transport().on("rebalance", fail(1, "rebalance failed"));
        e.volume_expand(&node(), &spec(Layout::Replicate { replica: 3 }, 3), true)
            .await
            .unwrap();
        assert_eq!(
            e.transport().lines(),
            vec![
                format!("{G} volume add-brick vol_1 {}", bl(0..3)),
                format!("{G} volume rebalance vol_1 start"),
            ]
        );
        let e = exec(CommandConfig::default());
        e.volume_expand(&node(), &spec(Layout::None, 1), false)
            .await
            .unwrap();
        assert_eq!(e.transport().lines().len(), 1);
    }

    #[tokio::test]
    async fn destroy_tolerates_missing_volumes() {
        let e = exec(CommandConfig::default());
        e.transport()
            .on(
                "stop",
                fail(1, "volume stop: v: failed: Volume v does not exist"),
            )
            .on(
                "delete",
                fail(1, "volume delete: v: failed: Volume v does not exist"),
            );
        e.volume_destroy(&node(), "v").await.unwrap();
        assert_eq!(
            e.transport().lines(),
            vec![
                format!("{G} volume stop v force"),
                format!("{G} volume delete v")
            ]
        );
        let e = exec(CommandConfig::default());
        e.transport()
            .on("delete", fail(1, "volume delete: v: failed: has snapshots"));
        let err = e.volume_destroy(&node(), "v").await.unwrap_err();
        assert!(
            matches!(err, ExecError::Command { ref stderr, .. } if stderr.contains("snapshots"))
        );
    }

    #[tokio::test]
    async fn info_and_heal_check_op_ret() {
        let e = exec(CommandConfig::default());
        e.transport().on(
            "info vol_test",
            ok(include_str!("testdata/gluster-volinfo-arbiter.xml")),
        );
        e.transport().on(
            "info nonexist",
            ok(include_str!("testdata/gluster-volinfo-missing.xml")),
        );
        e.transport().on(
            "heal vol_test",
            Ok(CmdOutput {
                status: 251,
                stdout: include_str!("testdata/gluster-healinfo-stopped.xml").into(),
                stderr: String::new(),
            }),
        );
        let v = e.volume_info(&node(), "vol_test").await.unwrap();
        assert_eq!(v.bricks.len(), 3);
        let err = e.volume_info(&node(), "nonexist").await.unwrap_err();
        assert!(
            matches!(&err, ExecError::Command { stderr, .. } if stderr == "Volume does not exist")
        );
        let err = e.heal_info(&node(), "vol_test").await.unwrap_err();
        assert!(
            matches!(&err, ExecError::Command { status: 251, stderr, .. } if stderr.contains("Not able to fetch volfile"))
        );
        assert_eq!(
            e.transport().lines()[0],
            format!("{G} volume info vol_test --xml")
        );
        assert_eq!(
            e.transport().lines()[2],
            format!("{G} volume heal vol_test info --xml")
        );
    }

    #[tokio::test]
    async fn clone_sequence() {
        let e = exec(CommandConfig::default());
        let info = include_str!("testdata/gluster-volinfo-arbiter.xml");
        let okxml = "<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>";
        e.transport()
            .on("info vol_test", ok(info))
            .on(
                "info clone1",
                ok(&info.replace("<name>vol_test</name>", "<name>clone1</name>")),
            )
            .on("--xml", ok(okxml));
        let v = e.volume_clone(&node(), "vol_test", "clone1").await.unwrap();
        assert_eq!(v.name, "clone1");
        let l = e.transport().lines();
        let snap = e.transport().argvs()[1][6].clone();
        assert!(snap.starts_with("tmpsnap_") && snap.len() == 40, "{snap}");
        assert_eq!(
            l,
            vec![
                format!("{G} volume info vol_test --xml"),
                format!("{G} --xml snapshot create {snap} vol_test no-timestamp"),
                format!("{G} --xml snapshot activate {snap}"),
                format!("{G} --xml snapshot clone clone1 {snap}"),
                format!("{G} --xml volume start clone1"),
                format!("{G} volume info clone1 --xml"),
                format!("{G} --xml snapshot deactivate {snap}"),
                format!("{G} --xml snapshot delete {snap}"),
            ]
        );
    }

    #[tokio::test]
    async fn clone_failure_cleans_snapshot_and_clone() {
        let e = exec(CommandConfig::default());
        let okxml = "<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>";
        let failxml = "<cliOutput><opRet>-1</opRet><opErrno>1</opErrno><opErrstr>start failed</opErrstr></cliOutput>";
        e.transport()
            .on(
                "info vol_test",
                ok(include_str!("testdata/gluster-volinfo-arbiter.xml")),
            )
            .on("--xml volume start", ok(failxml))
            .on("--xml", ok(okxml));
        let err = e.volume_clone(&node(), "vol_test", "c").await.unwrap_err();
        assert!(err.to_string().contains("start failed"));
        let l = e.transport().lines();
        assert_eq!(l[5], format!("{G} volume stop c force"));
        assert_eq!(l[6], format!("{G} volume delete c"));
        assert!(l[7].contains("snapshot deactivate"));
        assert!(l[8].contains("snapshot delete"));

        // Snapshot refused (exit 0, opRet -1): nothing else runs.
        let e = exec(CommandConfig::default());
        e.transport()
            .on(
                "info vol_test",
                ok(include_str!("testdata/gluster-volinfo-arbiter.xml")),
            )
            .on(
                "snapshot create",
                ok(include_str!("testdata/gluster-snapcreate-fail.xml")),
            );
        let err = e.volume_clone(&node(), "vol_test", "c").await.unwrap_err();
        assert!(err.to_string().contains("thinly provisioned"));
        assert_eq!(e.transport().lines().len(), 2);
    }

    #[tokio::test]
    async fn peers_replace_brick_and_snapshot_limit() {
        let e = exec(CommandConfig {
            snapshot_limit: 14,
            gluster_cli_timeout: 120,
            ..Default::default()
        });
        e.peer_probe(&node(), "10.0.0.2").await.unwrap();
        e.peer_detach(&node(), "10.0.0.2").await.unwrap();
        let old = BrickAddr {
            host: "a".into(),
            path: "/x/brick".into(),
        };
        let new = BrickAddr {
            host: "b".into(),
            path: "/y/brick".into(),
        };
        e.replace_brick(&node(), "v", &old, &new).await.unwrap();
        let g = "gluster --mode=script --timeout=120";
        assert_eq!(
            e.transport().lines(),
            vec![
                format!("{g} peer probe 10.0.0.2"),
                format!("{g} snapshot config snap-max-hard-limit 14"),
                format!("{g} peer detach 10.0.0.2"),
                format!("{g} volume replace-brick v a:/x/brick b:/y/brick commit force"),
            ]
        );
        assert!(e.peer_probe(&node(), "--remote-host=x").await.is_err());
    }

    #[tokio::test]
    async fn glusterd_check_auto_falls_back_without_systemd() {
        let e = exec(CommandConfig::default());
        e.transport().on("test -d /run/systemd/system", fail(1, ""));
        e.glusterd_check(&node()).await.unwrap();
        e.glusterd_check(&node()).await.unwrap();
        assert_eq!(
            e.transport().lines(),
            vec![
                "test -d /run/systemd/system".to_string(),
                format!("{G} pool list"),
                format!("{G} pool list"),
            ]
        );

        let e = exec(CommandConfig::default());
        e.transport()
            .on("systemctl", fail(3, "Active: inactive (dead)"));
        let err = e.glusterd_check(&node()).await.unwrap_err();
        assert!(
            matches!(&err, ExecError::GlusterdDown { host, message } if host == "n1" && message.contains("inactive"))
        );

        // systemd directory but no systemctl binary.
        let e = exec(CommandConfig::default());
        e.transport()
            .on("systemctl", fail(127, "systemctl: command not found"));
        e.glusterd_check(&node()).await.unwrap();
        assert_eq!(
            e.transport().lines(),
            vec![
                "test -d /run/systemd/system".to_string(),
                "systemctl status glusterd".to_string(),
                format!("{G} pool list"),
            ]
        );

        let e = exec(CommandConfig {
            glusterd_check: GlusterdCheck::Pidof,
            ..Default::default()
        });
        e.glusterd_check(&node()).await.unwrap();
        assert_eq!(e.transport().lines(), vec!["pidof glusterd"]);
    }
}
