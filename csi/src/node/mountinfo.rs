//! `/proc/<pid>/mountinfo`: which mounts exist, what is mounted where, and which mounts share a
//! device (every bind mount of a FUSE mount carries the FUSE mount's anonymous device number).
//!
//! The mount table is the only source of truth that never blocks: `stat` on a mount point
//! whose glusterfs client hangs blocks forever, reading mountinfo does not.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::error::NodeError;

/// The fstype of a glusterfs FUSE mount.
pub const GLUSTERFS_FSTYPE: &str = "fuse.glusterfs";

/// One line of mountinfo (proc(5)); octal escapes decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    pub major_minor: (u32, u32),
    /// The directory of the filesystem that is the root of this mount (`/` unless a bind mount
    /// of a subdirectory).
    pub root: String,
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,relatime`).
    pub options: String,
    pub fstype: String,
    /// `host:/vol` or `host:vol` for glusterfs; `none` or a device for others.
    pub source: String,
    /// Per-superblock options.
    pub super_options: String,
}

impl MountEntry {
    pub fn is_glusterfs(&self) -> bool {
        self.fstype == GLUSTERFS_FSTYPE
    }

    /// Any FUSE filesystem (`fuse`, `fuse.<subtype>`, `fuseblk`): its errors mean something
    /// else than a local filesystem's (EIO is often a dead daemon).
    pub fn is_fuse(&self) -> bool {
        self.fstype == "fuse" || self.fstype == "fuseblk" || self.fstype.starts_with("fuse.")
    }

    /// `(server, volume)` of a glusterfs source, `host:/vol` and `host:vol` alike; `None` for
    /// anything else. A subdirectory mount keeps its path in the volume (`vol/sub`).
    pub fn glusterfs_source(&self) -> Option<(&str, &str)> {
        if !self.is_glusterfs() {
            return None;
        }
        // rsplit keeps an IPv6 server (`[::1]:vol` is not what glusterfs writes, but
        // `fe80::1:/vol` style sources must still split at the last colon before the volume).
        let (host, vol) = self.source.rsplit_once(':')?;
        let vol = vol.trim_start_matches('/');
        (!host.is_empty() && !vol.is_empty()).then_some((host, vol))
    }

    /// Is this mount read-only (per-mount `ro`)?
    pub fn is_read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// Parses mountinfo text. Lines that do not have the documented shape are skipped: a kernel
/// that adds a field must not make the node plugin blind to every mount.
pub fn parse(text: &str) -> Vec<MountEntry> {
    parse_bytes(text.as_bytes())
}

/// Reads and parses a mountinfo file (`/proc/self/mountinfo`, `/proc/1/mountinfo`).
pub fn read(path: &Path) -> Result<Vec<MountEntry>, NodeError> {
    // Read as bytes: a mount point may be any bytes, and one that is not UTF-8 must neither
    // hide the table nor be altered (mount points are decoded exactly).
    let bytes = std::fs::read(path).map_err(|source| NodeError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    Ok(parse_bytes(&bytes))
}

fn parse_bytes(bytes: &[u8]) -> Vec<MountEntry> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &[u8]) -> Option<MountEntry> {
    // Fields are separated by single spaces; spaces inside values are escaped as \040, so a
    // plain split is exact (and keeps an empty source as an empty field).
    let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    let sep = fields.iter().position(|f| *f == b"-")?;
    // Six fixed fields before the optional ones; fstype and source after the separator
    // (the superblock options may be missing on old kernels).
    if sep < 6 || fields.len() < sep + 3 {
        return None;
    }
    let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u32>().ok();
    let mount_id = number(fields[0])?;
    let parent_id = number(fields[1])?;
    let (major, minor) = std::str::from_utf8(fields[2]).ok()?.split_once(':')?;
    let major_minor = (major.parse().ok()?, minor.parse().ok()?);
    let root = lossy(&unescape(fields[3]));
    let mount_point = PathBuf::from(OsString::from_vec(unescape(fields[4])));
    if !mount_point.is_absolute() {
        return None;
    }
    let options = lossy(&unescape(fields[5]));
    let fstype = lossy(&unescape(fields[sep + 1]));
    let source = lossy(&unescape(fields[sep + 2]));
    // Everything after the source is the superblock options; join in case a future kernel
    // puts more there.
    let super_options = fields[sep + 3..]
        .iter()
        .map(|f| lossy(&unescape(f)))
        .collect::<Vec<_>>()
        .join(" ");
    Some(MountEntry {
        mount_id,
        parent_id,
        major_minor,
        root,
        mount_point,
        options,
        fstype,
        source,
        super_options,
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes the kernel's `\ooo` escapes (it escapes space, tab, newline and backslash; any
/// other three-digit octal escape is decoded the same way). A backslash not followed by three
/// octal digits is kept as is.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 3 < field.len() && is_octal_escape(&field[i + 1..i + 4]) {
            let d = &field[i + 1..i + 4];
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

fn is_octal_escape(d: &[u8]) -> bool {
    // The first digit is at most 3 so the value fits a byte.
    d.len() == 3
        && (b'0'..=b'3').contains(&d[0])
        && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
}

/// `path` with `.`, `..`, repeated and trailing slashes resolved lexically, without touching
/// the filesystem (a dead FUSE mount point must not be stat'ed).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The path the kernel would show for `path` in mountinfo: the parent directory resolved with
/// symlinks (it lives on the node's own disk), the last component appended as is, so the
/// possibly dead mount point itself is never looked up. Falls back to the lexical form when
/// the parent cannot be resolved. Blocking; call from `spawn_blocking`.
pub fn canonical_mount_path(path: &Path) -> PathBuf {
    let lexical = normalize(path);
    let (Some(parent), Some(name)) = (lexical.parent(), lexical.file_name()) else {
        return lexical;
    };
    match std::fs::canonicalize(parent) {
        Ok(p) => p.join(name),
        Err(_) => lexical,
    }
}

/// The topmost mount at exactly `path` (compared after lexical normalization; pass a path from
/// [`canonical_mount_path`] when symlinks may be involved). When several mounts are stacked
/// at one path, the visible one is the mount no other mount at that path sits on; ties (which
/// the kernel does not produce) go to the later line.
pub fn find_mount_point<'a>(entries: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    let want = normalize(path);
    let at: Vec<&MountEntry> = entries
        .iter()
        .filter(|e| normalize(&e.mount_point) == want)
        .collect();
    at.iter()
        .rev()
        .find(|e| !at.iter().any(|o| o.parent_id == e.mount_id))
        .or(at.last())
        .copied()
}

/// Every mount of the filesystem with this device number: a FUSE mount and all its bind
/// mounts (the publish paths of a staged volume), in mountinfo order.
pub fn mounts_of_device(entries: &[MountEntry], major_minor: (u32, u32)) -> Vec<&MountEntry> {
    entries
        .iter()
        .filter(|e| e.major_minor == major_minor)
        .collect()
}

/// Mounts strictly below `path` (in mountinfo order), e.g. to refuse removing a directory
/// that still has something mounted inside.
pub fn mounts_below<'a>(entries: &'a [MountEntry], path: &Path) -> Vec<&'a MountEntry> {
    let base = normalize(path);
    entries
        .iter()
        .filter(|e| {
            let mp = normalize(&e.mount_point);
            mp != base && mp.starts_with(&base)
        })
        .collect()
}

/// Formats a path the way mountinfo would escape it (for messages that quote the table).
pub fn escape(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => out.push_str(&format!("\\{b:03o}")),
            _ => out.push(b as char),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
912 27 0:93 / /var/lib/kubelet/plugins/kubernetes.io/csi/heqet/abc/globalmount rw,relatime shared:501 master:3 - fuse.glusterfs 10.0.0.5:/vol_4f2a rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072
913 27 0:93 / /var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount rw,relatime shared:501 - fuse.glusterfs 10.0.0.5:/vol_4f2a rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072
914 27 0:94 /sub /mnt/with\\040space\\011tab\\012nl\\134bs ro,nosuid - fuse.glusterfs gl1:vol2 rw,user_id=0
not a mountinfo line
915 27 x:1 / /bad rw - ext4 /dev/x rw
916 27 0:1 / relative rw - ext4 /dev/x rw
917 27 0:1 / /short rw -
";

    #[test]
    fn parses_fields_and_skips_optional_ones() {
        let e = parse(SAMPLE);
        assert_eq!(e.len(), 6, "malformed lines are skipped: {e:#?}");
        let root = &e[1];
        assert_eq!(root.mount_id, 27);
        assert_eq!(root.parent_id, 1);
        assert_eq!(root.major_minor, (254, 0));
        assert_eq!(root.mount_point, Path::new("/"));
        assert_eq!(root.fstype, "ext4");
        assert_eq!(root.source, "/dev/vda");
        assert_eq!(root.super_options, "rw,discard");

        let g = &e[3];
        assert_eq!(g.mount_id, 912);
        assert_eq!(g.major_minor, (0, 93));
        assert_eq!(g.options, "rw,relatime");
        assert_eq!(g.fstype, "fuse.glusterfs");
        assert_eq!(g.source, "10.0.0.5:/vol_4f2a");
        assert!(g.super_options.contains("allow_other"));
        assert!(g.is_glusterfs() && g.is_fuse());
        assert_eq!(g.glusterfs_source(), Some(("10.0.0.5", "vol_4f2a")));
        assert!(!root.is_fuse());
        assert_eq!(root.glusterfs_source(), None);
    }

    #[test]
    fn decodes_octal_escapes() {
        let e = parse(SAMPLE);
        let esc = e
            .iter()
            .find(|e| e.mount_id == 914)
            .expect("escaped line parsed");
        assert_eq!(esc.mount_point, Path::new("/mnt/with space\ttab\nnl\\bs"));
        assert_eq!(esc.root, "/sub");
        assert_eq!(esc.glusterfs_source(), Some(("gl1", "vol2")));
        assert!(esc.is_read_only());
        assert_eq!(
            escape(&esc.mount_point),
            "/mnt/with\\040space\\011tab\\012nl\\134bs"
        );
        // Not an escape: kept verbatim.
        assert_eq!(unescape(b"a\\9z\\"), b"a\\9z\\".to_vec());
    }

    #[test]
    fn finds_mount_points_and_bind_mounts() {
        let e = parse(SAMPLE);
        let gm = "/var/lib/kubelet/plugins/kubernetes.io/csi/heqet/abc/globalmount";
        let found = find_mount_point(&e, Path::new(gm)).expect("staging mount found");
        assert_eq!(found.mount_id, 912);
        // Lexically different spellings of the same path match.
        let spelled = format!("{gm}/");
        assert_eq!(
            find_mount_point(&e, Path::new(&spelled)).map(|m| m.mount_id),
            Some(912)
        );
        let dotted = "/var/lib/kubelet/plugins/./kubernetes.io/csi/heqet/x/../abc/globalmount";
        assert_eq!(
            find_mount_point(&e, Path::new(dotted)).map(|m| m.mount_id),
            Some(912)
        );
        assert!(find_mount_point(&e, Path::new("/var/lib/kubelet")).is_none());

        let binds: Vec<u32> = mounts_of_device(&e, found.major_minor)
            .iter()
            .map(|m| m.mount_id)
            .collect();
        assert_eq!(binds, vec![912, 913]);
        let below: Vec<u32> = mounts_below(&e, Path::new("/var/lib/kubelet"))
            .iter()
            .map(|m| m.mount_id)
            .collect();
        assert_eq!(below, vec![912, 913]);
    }

    #[test]
    fn topmost_of_stacked_mounts_wins() {
        // 40 is mounted on 30, both at /m: 40 is the visible one even when listed first.
        let text = "\
1 0 8:1 / / rw - ext4 /dev/sda1 rw
40 30 0:51 / /m rw - tmpfs top rw
30 1 0:50 / /m rw - tmpfs bottom rw
";
        let e = parse(text);
        assert_eq!(
            find_mount_point(&e, Path::new("/m")).map(|m| m.source.as_str()),
            Some("top")
        );
    }

    #[test]
    fn reads_this_process_mountinfo_and_finds_root() {
        let entries = read(Path::new("/proc/self/mountinfo")).expect("read /proc/self/mountinfo");
        assert!(!entries.is_empty());
        let root = find_mount_point(&entries, Path::new("/")).expect("/ is mounted");
        assert_eq!(root.mount_point, Path::new("/"));
        assert!(!root.fstype.is_empty());
        // canonical_mount_path resolves the parent only.
        assert_eq!(
            canonical_mount_path(Path::new("/proc/../proc")),
            PathBuf::from("/proc")
        );
        let err = read(Path::new("/proc/self/no-such-file")).expect_err("missing file");
        assert!(err.to_string().contains("/proc/self/no-such-file"), "{err}");
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("/a//b/./c/../d/")),
            PathBuf::from("/a/b/d")
        );
        assert_eq!(normalize(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("rel/x")), PathBuf::from("/rel/x"));
    }
}
