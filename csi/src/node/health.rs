//! Is a mount alive, and can the volume servers be reached at all?
//!
//! A glusterfs mount whose client died answers every system call with ENOTCONN; one whose
//! client hangs blocks every system call forever. So whether something is mounted is read
//! from mountinfo (never blocks), and stat/statvfs run on a blocking thread under a timeout.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::error::NodeError;
use crate::node::mountinfo::{self, MountEntry};

/// The text of [`PathHealth::Broken`] for a mount whose client is gone.
pub const TRANSPORT_GONE: &str =
    "transport endpoint is not connected: the glusterfs client of this mount is gone";

/// Space and inodes of a filesystem, from statvfs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
    pub used_inodes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathHealth {
    /// Answers stat and statvfs (and is a mount point, when one was expected).
    Healthy(Stats),
    /// Exists and answers, but nothing is mounted there although a mount was expected.
    NotMounted,
    /// Exists (or is in the mount table) but does not answer; the text says why.
    Broken(String),
    /// Does not exist and nothing is mounted there.
    Missing,
}

/// Paths whose previous check is still stuck in the kernel: a new check of those returns at
/// once instead of parking one more blocking thread on the same hung mount.
fn in_flight() -> &'static Mutex<HashMap<PathBuf, Instant>> {
    static IN_FLIGHT: OnceLock<Mutex<HashMap<PathBuf, Instant>>> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| Mutex::new(HashMap::new()))
}

struct InFlight(PathBuf);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut m) = in_flight().lock() {
            m.remove(&self.0);
        }
    }
}

/// Checks `path` against the mount table `mounts` (from [`mountinfo::read`] of the mount
/// context) and by stat + statvfs on a blocking thread, waiting at most `timeout`.
///
/// With `expect_mounted`, a directory that answers but is no mount point is `NotMounted`;
/// without, it is `Healthy` with the stats of the filesystem it is on.
pub async fn check(
    path: &Path,
    expect_mounted: bool,
    mounts: &[MountEntry],
    timeout: Duration,
) -> PathHealth {
    let key = mountinfo::normalize(path);
    {
        let Ok(mut m) = in_flight().lock() else {
            return PathHealth::Broken("health check state poisoned".into());
        };
        if let Some(since) = m.get(&key) {
            return PathHealth::Broken(format!(
                "not answering: a check started {}s ago is still blocked",
                since.elapsed().as_secs()
            ));
        }
        m.insert(key.clone(), Instant::now());
    }
    let guard = InFlight(key);
    let p = path.to_path_buf();
    let probe = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let canonical = mountinfo::canonical_mount_path(&p);
        let result = nix::sys::stat::stat(&canonical)
            .and_then(|_| nix::sys::statvfs::statvfs(&canonical))
            .map(|v| stats_of(&v))
            .map_err(io::Error::from);
        (canonical, result)
    });
    let (canonical, result) = match tokio::time::timeout(timeout, probe).await {
        Err(_) => {
            return PathHealth::Broken(format!("not answering within {}s", secs(timeout)));
        }
        Ok(Err(join)) => return PathHealth::Broken(format!("health check failed: {join}")),
        Ok(Ok(r)) => r,
    };
    let mount = mountinfo::find_mount_point(mounts, &canonical);
    classify(result, mount, expect_mounted)
}

/// The decision of [`check`], apart from the system calls (so it can be tested with any
/// errno).
pub fn classify(
    result: io::Result<Stats>,
    mount: Option<&MountEntry>,
    expect_mounted: bool,
) -> PathHealth {
    match result {
        Ok(stats) if mount.is_some() || !expect_mounted => PathHealth::Healthy(stats),
        Ok(_) => PathHealth::NotMounted,
        Err(e) => {
            let fuse = mount.is_some_and(MountEntry::is_fuse);
            match e.raw_os_error() {
                Some(libc::ENOTCONN) | Some(libc::ECONNABORTED) => {
                    PathHealth::Broken(TRANSPORT_GONE.into())
                }
                Some(libc::EIO) if fuse => PathHealth::Broken(TRANSPORT_GONE.into()),
                Some(libc::ENOENT) if mount.is_none() => PathHealth::Missing,
                _ => PathHealth::Broken(e.to_string()),
            }
        }
    }
}

fn stats_of(v: &nix::sys::statvfs::Statvfs) -> Stats {
    let frsize = n(v.fragment_size());
    let blocks = n(v.blocks());
    let free = n(v.blocks_free());
    let avail = n(v.blocks_available());
    let files = n(v.files());
    let ffree = n(v.files_free());
    Stats {
        total_bytes: blocks.saturating_mul(frsize),
        available_bytes: avail.saturating_mul(frsize),
        used_bytes: blocks.saturating_sub(free).saturating_mul(frsize),
        total_inodes: files,
        free_inodes: ffree,
        used_inodes: files.saturating_sub(ffree),
    }
}

/// statvfs field types differ per platform; all fit u64 on Linux.
fn n<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(u64::MAX)
}

/// The mount at `path` in the mount table at `mountinfo` (the mount context's), or `None`.
/// Reads mountinfo, never stats `path` itself (its parent is resolved for symlinks), so a dead
/// FUSE mount point cannot hang it.
pub async fn mount_at(
    mountinfo_path: &Path,
    path: &Path,
    timeout: Duration,
) -> Result<Option<MountEntry>, NodeError> {
    let (table, p) = (mountinfo_path.to_path_buf(), path.to_path_buf());
    let work = tokio::task::spawn_blocking(move || {
        let canonical = mountinfo::canonical_mount_path(&p);
        let entries = mountinfo::read(&table)?;
        Ok(mountinfo::find_mount_point(&entries, &canonical).cloned())
    });
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(NodeError::Io {
            context: format!("looking up the mount at {}", path.display()),
            source: io::Error::other(join.to_string()),
        }),
        Err(_) => Err(NodeError::Io {
            context: format!("looking up the mount at {}", path.display()),
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "its parent directory did not answer within {}s",
                    secs(timeout)
                ),
            ),
        }),
    }
}

/// Is something mounted at exactly `path`? See [`mount_at`].
pub async fn is_mount_point(
    mountinfo_path: &Path,
    path: &Path,
    timeout: Duration,
) -> Result<bool, NodeError> {
    Ok(mount_at(mountinfo_path, path, timeout).await?.is_some())
}

/// TCP connect to `port` (glusterd: 24007) of every host in parallel, each bounded by
/// `timeout`; results in the order of `hosts`. An error names `host:port` and the reason,
/// so that a server this node cannot reach is named before mount.glusterfs fails with
/// "Mount failed. Check the log file".
pub async fn probe_servers(
    hosts: &[String],
    port: u16,
    timeout: Duration,
) -> Vec<(String, Result<(), String>)> {
    let mut set = JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let host = host.clone();
        set.spawn(async move {
            let r = probe(&host, port, timeout).await;
            (i, host, r)
        });
    }
    let mut results: Vec<Option<(String, Result<(), String>)>> = vec![None; hosts.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((i, host, r)) = done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some((host, r));
            }
        }
    }
    results
        .into_iter()
        .zip(hosts)
        .map(|(r, h)| {
            r.unwrap_or_else(|| {
                (
                    h.clone(),
                    Err(format!("{}: probe failed", endpoint(h, port))),
                )
            })
        })
        .collect()
}

/// `ServersUnreachable` when no host answered (one reachable server is enough for the
/// client to fetch the volfile), else `None`.
pub fn unreachable(volume: &str, results: &[(String, Result<(), String>)]) -> Option<NodeError> {
    if results.is_empty() || results.iter().any(|(_, r)| r.is_ok()) {
        return None;
    }
    Some(NodeError::ServersUnreachable {
        volume: volume.to_string(),
        failures: results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().cloned())
            .collect(),
    })
}

async fn probe(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let at = endpoint(name, port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((name, port))).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(format!("{at}: {}", connect_error(&e))),
        Err(_) => Err(format!("{at}: timed out after {}s", secs(timeout))),
    }
}

/// `host:port`, bracketing an IPv6 address.
fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Short lower-case reasons for the connect failures that matter; anything else as the OS
/// says it.
pub fn connect_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "connection refused".into(),
        Some(libc::EHOSTUNREACH) => "no route to host".into(),
        Some(libc::ENETUNREACH) => "network is unreachable".into(),
        Some(libc::ETIMEDOUT) => "connection timed out".into(),
        // Name resolution errors carry no errno.
        None => format!("cannot resolve or connect: {e}"),
        Some(_) => e.to_string(),
    }
}

/// A duration for messages: `5` or `0.5` (seconds).
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", d.as_secs())
    } else {
        format!("{s:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::mount::{mount, umount2, MntFlags, MsFlags};

    const SECOND: Duration = Duration::from_secs(1);

    fn mounts() -> Vec<MountEntry> {
        mountinfo::read(Path::new("/proc/self/mountinfo")).expect("read mountinfo")
    }

    /// Unmounts on drop, so a failed assertion leaves no tmpfs behind.
    struct Tmpfs(PathBuf);

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = umount2(&self.0, MntFlags::MNT_DETACH);
        }
    }

    #[tokio::test]
    async fn tmpfs_is_healthy_with_sane_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("mnt");
        std::fs::create_dir(&target).expect("mkdir");
        mount(
            Some("heqet-test"),
            &target,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("size=16m,nr_inodes=1000"),
        )
        .expect("mount tmpfs (this test needs root)");
        let _guard = Tmpfs(target.clone());
        std::fs::write(target.join("f"), vec![7u8; 1 << 20]).expect("write 1 MiB");

        assert!(
            is_mount_point(Path::new("/proc/self/mountinfo"), &target, 5 * SECOND)
                .await
                .expect("lookup")
        );
        let entry = mount_at(Path::new("/proc/self/mountinfo"), &target, 5 * SECOND)
            .await
            .expect("lookup")
            .expect("mounted");
        assert_eq!(entry.fstype, "tmpfs");
        assert_eq!(entry.source, "heqet-test");

        let PathHealth::Healthy(s) = check(&target, true, &mounts(), 5 * SECOND).await else {
            panic!("tmpfs not healthy");
        };
        assert_eq!(s.total_bytes, 16 << 20, "{s:?}");
        assert!(s.used_bytes >= 1 << 20 && s.used_bytes < 2 << 20, "{s:?}");
        assert_eq!(s.available_bytes, s.total_bytes - s.used_bytes, "{s:?}");
        assert_eq!(s.total_inodes, 1000, "{s:?}");
        assert!(s.used_inodes >= 2 && s.used_inodes < 10, "{s:?}");
        assert_eq!(s.free_inodes + s.used_inodes, s.total_inodes);

        // The mount point spelled with a trailing slash and a `..` is the same mount.
        let spelled = dir.path().join("x/../mnt/");
        assert!(matches!(
            check(&spelled, true, &mounts(), 5 * SECOND).await,
            PathHealth::Healthy(_)
        ));
    }

    #[tokio::test]
    async fn plain_directory_and_missing_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).expect("mkdir");
        assert_eq!(
            check(&plain, true, &mounts(), 5 * SECOND).await,
            PathHealth::NotMounted
        );
        // Not expecting a mount: the stats of the filesystem it lives on.
        assert!(matches!(
            check(&plain, false, &mounts(), 5 * SECOND).await,
            PathHealth::Healthy(s) if s.total_bytes > 0
        ));
        assert!(
            !is_mount_point(Path::new("/proc/self/mountinfo"), &plain, 5 * SECOND)
                .await
                .expect("lookup")
        );
        let missing = dir.path().join("missing");
        assert_eq!(
            check(&missing, true, &mounts(), 5 * SECOND).await,
            PathHealth::Missing
        );
        assert_eq!(
            check(&missing, false, &mounts(), 5 * SECOND).await,
            PathHealth::Missing
        );
        // Missing under a missing parent too.
        assert_eq!(
            check(&missing.join("deeper"), true, &mounts(), 5 * SECOND).await,
            PathHealth::Missing
        );
    }

    fn fuse_entry() -> MountEntry {
        mountinfo::parse(
            "912 27 0:93 / /stage rw,relatime - fuse.glusterfs 10.0.0.5:/vol rw,user_id=0\n",
        )
        .pop()
        .expect("line parses")
    }

    #[test]
    fn dead_client_errnos_are_broken() {
        let fuse = fuse_entry();
        let err = |errno| Err(io::Error::from_raw_os_error(errno));
        for errno in [libc::ENOTCONN, libc::ECONNABORTED] {
            assert_eq!(
                classify(err(errno), Some(&fuse), true),
                PathHealth::Broken(TRANSPORT_GONE.into())
            );
            // Even when the mount table does not list it (a parent that is a dead mount).
            assert_eq!(
                classify(err(errno), None, true),
                PathHealth::Broken(TRANSPORT_GONE.into())
            );
        }
        assert_eq!(
            classify(err(libc::EIO), Some(&fuse), true),
            PathHealth::Broken(TRANSPORT_GONE.into())
        );
        // EIO off FUSE is a plain I/O error.
        let PathHealth::Broken(text) = classify(err(libc::EIO), None, true) else {
            panic!("EIO is broken");
        };
        assert!(text.contains("Input/output error"), "{text}");
        // ENOENT of something in the mount table is not "missing".
        assert!(matches!(
            classify(err(libc::ENOENT), Some(&fuse), true),
            PathHealth::Broken(_)
        ));
        assert_eq!(classify(err(libc::ENOENT), None, true), PathHealth::Missing);
        assert_eq!(
            classify(Ok(Stats::default()), None, true),
            PathHealth::NotMounted
        );
        assert_eq!(
            classify(Ok(Stats::default()), Some(&fuse), true),
            PathHealth::Healthy(Stats::default())
        );
    }

    #[tokio::test]
    async fn probes_open_and_closed_ports() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let open_port = open.local_addr().expect("addr").port();
        let closed_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
            l.local_addr().expect("addr").port()
            // dropped: nothing listens there any more
        };
        let hosts = vec!["127.0.0.1".to_string()];
        let ok = probe_servers(&hosts, open_port, 5 * SECOND).await;
        assert_eq!(ok, vec![("127.0.0.1".to_string(), Ok(()))]);
        assert!(unreachable("vol", &ok).is_none());

        let refused = probe_servers(&hosts, closed_port, 5 * SECOND).await;
        assert_eq!(
            refused,
            vec![(
                "127.0.0.1".to_string(),
                Err(format!("127.0.0.1:{closed_port}: connection refused"))
            )]
        );
        let err = unreachable("vol_1", &refused).expect("all unreachable");
        assert!(
            err.to_string()
                .contains(&format!("127.0.0.1:{closed_port}: connection refused")),
            "{err}"
        );

        // Mixed, order kept; IPv6 loopback in brackets or bare.
        let mixed = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let r = probe_servers(&mixed, open_port, 5 * SECOND).await;
        assert_eq!(r[0], ("127.0.0.1".to_string(), Ok(())));
        assert_eq!(r[1].0, "localhost");
        assert!(unreachable("vol", &r).is_none());
        assert_eq!(endpoint("::1", 24007), "[::1]:24007");
    }

    /// A connect that gets no answer, made on loopback only: a listener with a backlog of 0
    /// that never accepts drops SYNs once its queue is full, so the next connect hangs.
    #[tokio::test]
    async fn probe_times_out_on_a_silent_port() {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let addr = socket.local_addr().expect("addr");
        let _listener = socket.listen(0).expect("listen");
        // Fill the accept queue (the first connects complete, later ones hang).
        let mut fillers = Vec::new();
        for _ in 0..3 {
            if let Ok(Ok(s)) = tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            {
                fillers.push(s);
            }
        }
        let hosts = vec!["127.0.0.1".to_string()];
        let started = Instant::now();
        let r = probe_servers(&hosts, addr.port(), Duration::from_millis(500)).await;
        assert!(
            started.elapsed() < 3 * SECOND,
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(
            r,
            vec![(
                "127.0.0.1".to_string(),
                Err(format!("127.0.0.1:{}: timed out after 0.5s", addr.port()))
            )]
        );
    }

    #[test]
    fn connect_errors_read_well() {
        let e = |errno| connect_error(&io::Error::from_raw_os_error(errno));
        assert_eq!(e(libc::ECONNREFUSED), "connection refused");
        assert_eq!(e(libc::EHOSTUNREACH), "no route to host");
        assert_eq!(e(libc::ENETUNREACH), "network is unreachable");
    }
}
