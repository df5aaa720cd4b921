//! A cgroup of the suite's own for the heqet-csi plugin, standing in for the cgroup a
//! container runtime puts a plugin container in: "the runtime kills the container" is
//! modelled as killing every process in that cgroup, which is what takes a FUSE client down
//! with other drivers' node plugins.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{bail, Context, Result};

/// Hierarchies tried: cgroup v2 (unified or mounted at the root) and v1 `pids`, each only
/// where it exists and is writable.
const HIERARCHIES: &[&str] = &[
    "/sys/fs/cgroup/unified",
    "/sys/fs/cgroup",
    "/sys/fs/cgroup/pids",
];

pub struct PluginCgroup {
    dirs: Vec<PathBuf>,
}

fn is_hierarchy(root: &Path) -> bool {
    root.join("cgroup.procs").is_file()
}

impl PluginCgroup {
    /// Creates `<hierarchy>/<name>` in every usable hierarchy; fails when there is none,
    /// since the survival test would then prove nothing.
    pub fn create(name: &str) -> Result<PluginCgroup> {
        let mut dirs = Vec::new();
        for root in HIERARCHIES.iter().map(Path::new) {
            if !is_hierarchy(root) {
                continue;
            }
            let dir = root.join(name);
            if std::fs::create_dir_all(&dir).is_ok() && dir.join("cgroup.procs").is_file() {
                dirs.push(dir);
            }
        }
        if dirs.is_empty() {
            bail!("no writable cgroup hierarchy among {HIERARCHIES:?}: cannot model a container runtime's kill");
        }
        Ok(PluginCgroup { dirs })
    }

    /// Moves process `pid` (all its threads) into the group in every hierarchy.
    pub fn join(&self, pid: u32) -> Result<()> {
        for d in &self.dirs {
            let f = d.join("cgroup.procs");
            std::fs::write(&f, pid.to_string())
                .context(format!("moving pid {pid} into {}", f.display()))?;
        }
        Ok(())
    }

    /// The pids in the group (any hierarchy).
    pub fn members(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|t| {
                t.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Is `pid` in this group (in any hierarchy)?
    pub fn contains(&self, pid: u32) -> bool {
        self.members().contains(&pid)
    }

    /// kill -9 of everything in the group, until it is empty (a runtime's "kill the container").
    pub fn kill_all(&self) -> Result<()> {
        let start = Instant::now();
        loop {
            let left = self.members();
            if left.is_empty() {
                return Ok(());
            }
            for pid in &left {
                if let Ok(p) = libc::pid_t::try_from(*pid) {
                    // SAFETY: plain syscall on a pid read from the group.
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
            if start.elapsed() > Duration::from_secs(10) {
                bail!("cgroup {:?} still holds {left:?} after kill -9", self.dirs);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PluginCgroup {
    fn drop(&mut self) {
        let _ = self.kill_all();
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}
