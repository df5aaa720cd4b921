//! FUSE mounts of volumes on the host, as a client would make them from the API's mount
//! info. Unmounted on drop, so the host never keeps a stale mount.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::volume::Volume;
use crate::{bail, poll, proc, Context, Result};

pub struct FuseMount {
    pub dir: PathBuf,
    mounted: bool,
}

impl FuseMount {
    /// `mount -t glusterfs -o backup-volfile-servers=...,log-file=... <device> <dir>` with
    /// the volume's `mount.glusterfs` info.
    pub fn mount(vol: &Volume, dir: &Path, log_dir: &Path) -> Result<FuseMount> {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
        std::fs::create_dir_all(log_dir).context(format!("creating {}", log_dir.display()))?;
        let log = log_dir.join(format!("fuse-{}.log", vol.name));
        let mut opts = format!("log-file={}", log.display());
        if !vol.backup_volfile_servers.is_empty() {
            opts.push_str(&format!(
                ",backup-volfile-servers={}",
                vol.backup_volfile_servers.replace(',', ":")
            ));
        }
        proc::run(
            Command::new("mount")
                .args(["-t", "glusterfs", "-o", &opts, &vol.mount_device])
                .arg(dir),
        )
        .context(format!("mounting {}", vol.mount_device))?;
        let m = FuseMount {
            dir: dir.to_path_buf(),
            mounted: true,
        };
        // The FUSE client answers once it has the volfile and bricks.
        poll(
            &format!("{} becomes usable", dir.display()),
            Duration::from_secs(20),
            Duration::from_millis(200),
            || Ok(std::fs::read_dir(dir).is_ok().then_some(())),
        )?;
        Ok(m)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Size of the filesystem in bytes, as `df` reports it.
    pub fn df_size(&self) -> Result<u64> {
        let out = proc::run(
            Command::new("df")
                .args(["-B1", "--output=size"])
                .arg(&self.dir),
        )?;
        let line = out.lines().nth(1).context(format!("df output {out:?}"))?;
        line.trim()
            .parse()
            .map_err(|e| crate::Error(format!("df size {line:?}: {e}")))
    }

    pub fn umount(&mut self) -> Result<()> {
        if !self.mounted {
            return Ok(());
        }
        self.mounted = false;
        if proc::run(Command::new("umount").arg(&self.dir)).is_err() {
            proc::run(Command::new("umount").arg("-l").arg(&self.dir))
                .context(format!("unmounting {}", self.dir.display()))?;
        }
        let _ = std::fs::remove_dir(&self.dir);
        if is_mounted(&self.dir) {
            bail!("{} is still mounted", self.dir.display());
        }
        Ok(())
    }
}

/// Whether `dir` is a mount point on the host.
pub fn is_mounted(dir: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let d = dir.to_string_lossy();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|m| m == d)
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        if let Err(e) = self.umount() {
            eprintln!("[e2e] {e}");
        }
    }
}
