//! `deploy/glusterfs-start.sh`, the glusterfs container's entrypoint with the kube executor:
//! it must remount every brick of heqet's fstab (creating missing mount points) and then run
//! the given command, even when one entry cannot be mounted.
//!
//! Runs the script for real in a private mount namespace (`unshare -m`), so it needs root and
//! util-linux; it says so and passes otherwise.

use std::path::Path;
use std::process::Command;

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/glusterfs-start.sh")
}

fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn replays_the_fstab_then_runs_the_command() {
    assert!(
        can_unshare(),
        "needs root and unshare(1) (util-linux) for a private mount namespace: run as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let fstab = dir.path().join("fstab");
    let good = dir.path().join("mounts/vg_1/brick_1");
    let missing_dev = dir.path().join("mounts/vg_1/brick_2");
    std::fs::write(
        &fstab,
        format!(
            "# heqet bricks\n\ntmpfs {} tmpfs rw,size=1m 0 0\n/dev/heqet-no-such-dev {} xfs rw 0 0\n",
            good.display(),
            missing_dev.display()
        ),
    )
    .unwrap();
    let check = format!(
        "mountpoint -q {} && echo good-mounted; mountpoint -q {} || echo bad-not-mounted; echo args: \"$@\"",
        good.display(),
        missing_dev.display()
    );
    // PATH without /usr/sbin: no `lvm`, so the activation step cannot touch this machine's
    // VGs (the e2e cluster's loop disks).
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh"])
        .arg(script())
        .args(["sh", "-c", &check, "sh", "a b", "c"])
        .env("PATH", "/usr/bin:/bin")
        .env("HEQET_FSTAB", &fstab)
        .env("HEQET_MOUNT_RETRIES", "2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout, "good-mounted\nbad-not-mounted\nargs: a b c\n",
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("still not mounted after 2 attempts"),
        "{stderr}"
    );
    assert!(missing_dev.is_dir(), "mount point created");
    // The mount stayed in the private namespace.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(&good.display().to_string()));

    // No fstab: nothing to do, the command still runs.
    let out = Command::new("sh")
        .arg(script())
        .args(["echo", "started"])
        .env("HEQET_FSTAB", dir.path().join("absent"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n");
}
