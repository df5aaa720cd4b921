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
        df_size(&self.dir)
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

/// Size in bytes of the filesystem `path` is on, as `df` reports it.
pub fn df_size(path: &Path) -> Result<u64> {
    let out = proc::run(Command::new("df").args(["-B1", "--output=size"]).arg(path))?;
    let line = out.lines().nth(1).context(format!("df output {out:?}"))?;
    line.trim()
        .parse()
        .map_err(|e| crate::Error(format!("df size of {} {line:?}: {e}", path.display())))
}

/// One line of `/proc/self/mountinfo`. Parsed here rather than with heqet-csi's own
/// `node::mountinfo`: the suite checks the driver's mounts, so it must not share the driver's
/// reading of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// `major:minor` of the filesystem: a bind mount shares it with its source.
    pub dev: String,
    /// The directory of the filesystem that is mounted (`/` unless a subdirectory is bound).
    pub root: String,
    pub mount_point: PathBuf,
    /// e.g. `fuse.glusterfs`.
    pub fs_type: String,
    /// e.g. `10.99.0.1:vol_x`.
    pub source: String,
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse mountinfo text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let h: Vec<&str> = head.split(' ').collect();
            let mut t = tail.split(' ');
            Some(MountInfo {
                dev: h.get(2)?.to_string(),
                root: unescape(h.get(3)?),
                mount_point: PathBuf::from(unescape(h.get(4)?)),
                fs_type: t.next()?.to_string(),
                source: unescape(t.next()?),
            })
        })
        .collect()
}

/// The host's mount table, in mount order.
pub fn mountinfo() -> Result<Vec<MountInfo>> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

/// The topmost mount at exactly `dir`, if any (reads the table only: never touches `dir`,
/// which may be a dead FUSE mount).
pub fn mount_at(dir: &Path) -> Result<Option<MountInfo>> {
    Ok(mountinfo()?
        .into_iter()
        .rev()
        .find(|m| m.mount_point == dir))
}

/// Every mount at or below `dir`.
pub fn mounts_below(dir: &Path) -> Result<Vec<MountInfo>> {
    Ok(mountinfo()?
        .into_iter()
        .filter(|m| m.mount_point.starts_with(dir))
        .collect())
}

/// Lazily unmount everything at or below `dir`, deepest first (cleanup after a failed step;
/// a dead FUSE mount cannot be unmounted any other way while something holds it).
pub fn umount_all_below(dir: &Path) -> Result<()> {
    let mut points: Vec<PathBuf> = mounts_below(dir)?
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    let mut errors = Vec::new();
    for p in points {
        if let Err(e) = proc::run(Command::new("umount").arg("-l").arg(&p)) {
            errors.push(e.0);
        }
    }
    if !errors.is_empty() {
        bail!("unmounting below {}: {}", dir.display(), errors.join("; "));
    }
    Ok(())
}

/// Pids of the glusterfs FUSE clients serving mount point `dir`: their command line ends
/// with the mount point (`glusterfs --process-name fuse ... --volfile-id=V <dir>`).
pub fn fuse_client_pids(dir: &Path) -> Vec<u32> {
    let d = dir.to_string_lossy();
    proc::processes()
        .into_iter()
        .filter(|(_, argv)| {
            let is_glusterfs = argv
                .first()
                .and_then(|a| Path::new(a).file_name())
                .is_some_and(|n| n == "glusterfs");
            is_glusterfs && argv.iter().skip(1).any(|a| *a == d)
        })
        .map(|(pid, _)| pid)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_are_parsed() {
        let text = "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                    40 36 0:51 / /k/globalmount rw,relatime shared:2 - fuse.glusterfs 10.99.0.1:pvc-1 rw,user_id=0\n\
                    garbage\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/a b"));
        assert_eq!(m[0].fs_type, "ext3");
        assert_eq!(m[1].dev, "0:51");
        assert_eq!(m[1].root, "/");
        assert_eq!(m[1].fs_type, "fuse.glusterfs");
        assert_eq!(m[1].source, "10.99.0.1:pvc-1");
    }
}
