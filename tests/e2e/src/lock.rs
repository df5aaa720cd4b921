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
