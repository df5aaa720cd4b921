//! One run of the suite at a time on this machine (the cluster's names are fixed), and the
//! root check: the harness needs network namespaces, loop devices and mounts.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{bail, Context, Result};

/// Fails, saying why, unless this process runs as root.
pub fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        bail!(
            "the end-to-end suite must run as root (uid {uid}): it builds network namespaces, \
             loop devices and mounts (tests/e2e/cluster.sh)"
        );
    }
    Ok(())
}

/// The machine-wide lock that whoever uses the namespace cluster holds from `up` to `down`
/// (`cluster.sh` takes the same file for `run`): in `$HEQET_E2E_LOCK_DIR`, default
/// `/run/lock`, never in a checkout, because the cluster's names and addresses are the
/// machine's.
pub fn suite_lock_path() -> std::path::PathBuf {
    std::env::var_os("HEQET_E2E_LOCK_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/run/lock"))
        .join("heqet-e2e-suite.lock")
}

/// Whether the process that started this one holds the lock at `path` for it
/// (`cluster.sh run` does, for the command it runs).
pub fn held_by_parent(path: &Path) -> bool {
    std::env::var_os("HEQET_E2E_SUITE_LOCK_HELD").is_some_and(|held| Path::new(&held) == path)
}

/// An exclusive `flock` on a file, held until dropped.
pub struct SuiteLock {
    _file: File,
}

impl SuiteLock {
    /// Take the lock on `path`, waiting up to `wait` for another holder to finish.
    pub fn acquire(path: &Path, wait: Duration) -> Result<SuiteLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .context(format!("opening lock file {}", path.display()))?;
        let start = Instant::now();
        loop {
            // SAFETY: the fd belongs to `file`, which outlives this call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(SuiteLock { _file: file });
            }
            if start.elapsed() > wait {
                bail!(
                    "another end-to-end run holds {} (waited {:?}); the cluster exists once per machine",
                    path.display(),
                    wait
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}
