//! Scenario 6: `kill -9` of `heqet serve` in the middle of a volume create. Node 3 is made
//! slow: a `mkfs.xfs` shim in its private /usr/local/sbin (first on the ssh PATH) blocks
//! until released, so the server dies with bricks half made. After a restart and
//! `heqet server operations cleanup`, nodes and store must agree: no LV, mount, fstab line,
//! brick dir or gluster volume left, no volume listed, `GET /db/check` clean.

use std::path::{Path, PathBuf};
use std::time::Duration;

use heqet_e2e::{ensure, node, poll, Context, Result};
use reqwest::Method;

use super::{replica3, Suite};

const SLOW: usize = 3;

/// A `mkfs.xfs` that announces itself and waits while the hold file exists, then fails.
struct SlowMkfs {
    shim: PathBuf,
    hold: PathBuf,
    started: PathBuf,
}

impl SlowMkfs {
    fn install(sbin: &Path, work: &Path) -> Result<SlowMkfs> {
        let s = SlowMkfs {
            shim: sbin.join("mkfs.xfs"),
            hold: work.join("mkfs.hold"),
            started: work.join("mkfs.started"),
        };
        let _ = std::fs::remove_file(&s.started);
        std::fs::write(&s.hold, "").context("creating the hold file")?;
        let script = format!(
            "#!/bin/bash\n# heqet e2e scenario 6: hold brick creation on this node\n\
             touch {started}\nwhile [[ -e {hold} ]]; do sleep 0.1; done\n\
             echo 'mkfs.xfs: held by the e2e suite' >&2\nexit 1\n",
            started = s.started.display(),
            hold = s.hold.display()
        );
        std::fs::write(&s.shim, script).context("writing the mkfs.xfs shim")?;
        std::fs::set_permissions(&s.shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .context("chmod of the shim")?;
        Ok(s)
    }

    fn release(&self) {
        let _ = std::fs::remove_file(&self.hold);
    }
}

impl Drop for SlowMkfs {
    fn drop(&mut self) {
        self.release();
        let _ = std::fs::remove_file(&self.shim);
        let _ = std::fs::remove_file(&self.started);
    }
}

pub fn run(suite: &mut Suite) -> Result<()> {
    let slow = SlowMkfs::install(&suite.cluster.node_sbin(SLOW), &suite.work)?;
    let r = suite
        .api
        .request(Method::POST, "/volumes", Some(&replica3(1)))?;
    ensure!(
        r.status == 202,
        "volume create: HTTP {} {}",
        r.status,
        r.body
    );
    poll(
        "brick creation reaches mkfs on node 3",
        Duration::from_secs(60),
        Duration::from_millis(100),
        || Ok(slow.started.exists().then_some(())),
    )?;
    // Let the other nodes get as far as they can.
    std::thread::sleep(Duration::from_millis(1500));
    let half = (1..=3)
        .map(|n| node::NodeView::read(&suite.cluster, n, true))
        .collect::<Result<Vec<_>>>()?;
    eprintln!(
        "[e2e] at the crash: LVs per node {:?}",
        half.iter().map(|v| v.lvs.len()).collect::<Vec<_>>()
    );
    ensure!(
        half.iter().any(|v| !v.lvs.is_empty()),
        "nothing was made on the nodes before the crash; the scenario tests nothing"
    );
    suite.server.kill9()?;
    slow.release();
    drop(slow);

    suite.server.spawn()?;
    let pending = suite.api.pending_operations()?;
    eprintln!("[e2e] pending after restart: {pending:?}");
    ensure!(
        !pending.is_empty(),
        "the interrupted create is not among the pending operations"
    );
    let out = suite.cli.run(&["server", "operations", "cleanup"])?;
    eprintln!("{out}");
    poll(
        "pending operations cleaned up",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || Ok(suite.api.pending_operations()?.is_empty().then_some(())),
    )?;

    ensure!(
        suite.api.volume_ids()?.is_empty(),
        "volumes listed after cleanup: {:?}",
        suite.api.volume_ids()?
    );
    node::all_clean(&suite.cluster)?;
    suite.space_matches()?;
    let (total, report) = suite.api.db_check()?;
    ensure!(total == 0, "GET /db/check: {report:#}");
    Ok(())
}
