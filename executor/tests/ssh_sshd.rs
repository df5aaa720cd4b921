//! The SSH transport against a real OpenSSH server started by the test itself:
//! `/usr/sbin/sshd -D` on 127.0.0.1 and a free port, with a temporary host key, client keys
//! and authorized_keys. Needs root (sshd privilege separation) and the `openssh-server`
//! package (`apt-get install -y openssh-server`). It never skips: without sshd it fails and
//! says why.
//!
//! Run: `cargo test -p heqet-executor --test ssh_sshd`

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heqet_executor::ssh::{ssh_executor, SshConfig, SshExecConfig, SshTransport};
use heqet_executor::transport::{Cmd, CmdOutput, Transport};
use heqet_executor::ExecError;

const SSHD: &str = "/usr/sbin/sshd";

struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn keygen(path: &Path, kind: &str) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-N", "", "-t", kind, "-f"]).arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run ssh-keygen (openssh-client): {e}"));
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

impl Sshd {
    /// Keys: host (ed25519), client ed25519 and RSA (authorized), intruder (not authorized).
    fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install -y openssh-server)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        keygen(&d.join("host"), "ed25519");
        keygen(&d.join("other_host"), "ed25519");
        keygen(&d.join("client"), "ed25519");
        keygen(&d.join("client_rsa"), "rsa");
        keygen(&d.join("intruder"), "ed25519");
        let mut auth = std::fs::read_to_string(d.join("client.pub")).unwrap();
        auth.push_str(&std::fs::read_to_string(d.join("client_rsa.pub")).unwrap());
        std::fs::write(d.join("authorized_keys"), auth).unwrap();
        // A `sudo` stand-in on the session PATH: proves the `sudo -n` prefix arrives as argv.
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(
            bin.join("sudo"),
            "#!/bin/sh\n[ \"$1\" = -n ] || { echo 'sudo without -n' >&2; exit 99; }\nshift\nSUDO_SEEN=1 exec \"$@\"\n",
        )
        .unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(bin.join("sudo"))
            .status()
            .unwrap();
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut s = Sshd {
            dir,
            port: free_port(),
            child: None,
        };
        s.spawn();
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let path_env = format!(
            "PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            d.join("bin").display()
        );
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .args(["-f", "/dev/null"])
            .args(["-p", &self.port.to_string()])
            .args(["-o", "ListenAddress=127.0.0.1"])
            .arg("-h")
            .arg(d.join("host"))
            .arg("-o")
            .arg(format!(
                "AuthorizedKeysFile={}",
                d.join("authorized_keys").display()
            ))
            .arg("-o")
            .arg(format!("PidFile={}", d.join("sshd.pid").display()))
            .args(["-o", "StrictModes=no"])
            .args(["-o", "UsePAM=no"])
            .args(["-o", "PasswordAuthentication=no"])
            .args(["-o", "KbdInteractiveAuthentication=no"])
            .args(["-o", "PermitRootLogin=prohibit-password"])
            .args(["-o", "MaxSessions=20"])
            .args(["-o", "MaxStartups=50"])
            .arg("-o")
            .arg(format!("SetEnv={path_env}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("sshd exited at start ({status}); is this running as root? stderr:\n{err}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "sshd did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    /// Stop the listener and the per-connection sshd processes it forked (killing only the
    /// listener leaves established sessions alive, as on a real sshd restart).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            for pid in children_of(c.id()) {
                let _ = Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// known_hosts line for this server, from `host_key` (.pub).
    fn known_hosts(&self, host_key: &str) -> PathBuf {
        let pubkey = std::fs::read_to_string(self.path(&format!("{host_key}.pub"))).unwrap();
        let mut parts = pubkey.split_whitespace();
        let (kind, b64) = (parts.next().unwrap(), parts.next().unwrap());
        let file = self.path(&format!("known_hosts_{host_key}"));
        std::fs::write(
            &file,
            format!(
                "# test\n[127.0.0.1]:{} {kind} {b64}\n[127.0.0.1]:1 {kind} {b64}\n",
                self.port
            ),
        )
        .unwrap();
        file
    }

    fn config(&self, key: &str) -> SshConfig {
        SshConfig {
            keyfile: self.path(key),
            user: whoami(),
            port: self.port,
            known_hosts: vec![self.known_hosts("host")],
            ..Default::default()
        }
    }

    fn transport(&self, key: &str) -> SshTransport {
        SshTransport::new(self.config(key)).expect("transport")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn cmd(argv: &[&str]) -> Cmd {
    Cmd::new(argv.iter().copied(), Duration::from_secs(20))
}

const HOST: &str = "127.0.0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_status_stdout_stderr_and_key_types() {
    let sshd = Sshd::start();
    for key in ["client", "client_rsa"] {
        let t = sshd.transport(key);
        let out = t
            .run(HOST, &cmd(&["sh", "-c", "echo out; echo err >&2; exit 3"]))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(out.status, 3, "{key}");
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let out = t.run(HOST, &cmd(&["true"])).await.unwrap();
        assert_eq!(out.status, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_arguments_arrive_literally() {
    let sshd = Sshd::start();
    let t = sshd.transport("client");
    let hostile = [
        "; rm -rf /",
        "$(touch /tmp/heqet-pwned)",
        "`touch /tmp/heqet-pwned`",
        "it's",
        "\"double\"",
        "new\nline",
        "",
        "*",
        "a\\b",
        "--all",
        "$HOME",
        "x > /tmp/heqet-pwned",
    ];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend(hostile);
    let out = t.run(HOST, &cmd(&argv)).await.unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let got: Vec<&str> = out.stdout.split_terminator('\0').collect();
    assert_eq!(got, hostile);
    assert!(!Path::new("/tmp/heqet-pwned").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_then_the_connection_still_works() {
    let sshd = Sshd::start();
    let t = sshd.transport("client");
    let started = Instant::now();
    let err = t
        .run(HOST, &Cmd::new(["sleep", "5"], Duration::from_millis(700)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    match err {
        ExecError::Timeout { host, command, .. } => {
            assert_eq!(host, HOST);
            assert_eq!(command, "sleep 5");
        }
        other => panic!("{other:?}"),
    }
    let out = t.run(HOST, &cmd(&["echo", "still here"])).await.unwrap();
    assert_eq!(out.stdout, "still here\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_sshd_restart() {
    let mut sshd = Sshd::start();
    let t = sshd.transport("client");
    assert_eq!(
        t.run(HOST, &cmd(&["echo", "1"])).await.unwrap().stdout,
        "1\n"
    );
    sshd.stop();
    // While it is down: a clear "cannot reach" error.
    let err = t.run(HOST, &cmd(&["echo", "x"])).await.unwrap_err();
    assert!(matches!(err, ExecError::Unreachable { .. }), "{err:?}");
    sshd.spawn();
    assert_eq!(
        t.run(HOST, &cmd(&["echo", "2"])).await.unwrap().stdout,
        "2\n"
    );
    // And a restart the client never saw coming (connection cached, then dropped).
    sshd.stop();
    sshd.spawn();
    assert_eq!(
        t.run(HOST, &cmd(&["echo", "3"])).await.unwrap().stdout,
        "3\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_refused_clearly() {
    let sshd = Sshd::start();
    let t = sshd.transport("intruder");
    let err = t.run(HOST, &cmd(&["true"])).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ExecError::Unreachable { .. }), "{text}");
    assert!(
        text.contains("authentication") && text.contains("refused"),
        "{text}"
    );
    assert!(text.contains("intruder"), "names the key file: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_are_checked_unless_disabled() {
    let sshd = Sshd::start();
    // Another key of the same type recorded for this host: a mismatch.
    let mut cfg = sshd.config("client");
    cfg.known_hosts = vec![sshd.known_hosts("other_host")];
    let t = SshTransport::new(cfg.clone()).unwrap();
    let text = t.run(HOST, &cmd(&["true"])).await.unwrap_err().to_string();
    assert!(text.contains("HOST KEY MISMATCH"), "{text}");

    // Host not listed at all.
    let empty = sshd.path("known_hosts_empty");
    std::fs::write(&empty, "").unwrap();
    cfg.known_hosts = vec![empty];
    let t = SshTransport::new(cfg.clone()).unwrap();
    let text = t.run(HOST, &cmd(&["true"])).await.unwrap_err().to_string();
    assert!(text.contains("unknown host key"), "{text}");
    assert!(
        text.contains("host_key_checking"),
        "says how to proceed: {text}"
    );

    // No such known_hosts file.
    cfg.known_hosts = vec![sshd.path("nope")];
    let t = SshTransport::new(cfg.clone()).unwrap();
    let text = t.run(HOST, &cmd(&["true"])).await.unwrap_err().to_string();
    assert!(text.contains("no such file"), "{text}");

    // Checking off: accepted.
    cfg.host_key_checking = false;
    let t = SshTransport::new(cfg).unwrap();
    assert_eq!(t.run(HOST, &cmd(&["true"])).await.unwrap().status, 0);
}

/// Start `n` commands at once through `run` and return the most the server saw running
/// together. Each command keeps a marker in `dir` while it runs and counts the markers after a
/// second (long enough for all `n` to be under way if nothing held them back), so a count only
/// includes commands running on the server at that moment.
async fn server_side_peak<R, F>(run: R, dir: &Path, n: usize) -> usize
where
    R: Fn(Cmd) -> F,
    F: Future<Output = Result<CmdOutput, ExecError>> + Send + 'static,
{
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"touch "$1/$2"; sleep 1; n=$(ls "$1" | wc -l); rm "$1/$2"; echo "$2 $n""#;
    let dir = dir.display().to_string();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let i = i.to_string();
            tokio::spawn(run(cmd(&["sh", "-c", script, "sh", &dir, &i])))
        })
        .collect();
    let mut peak = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        let out = task.await.unwrap().unwrap();
        assert_eq!(out.status, 0, "{}", out.stderr);
        let (echoed, count) = out
            .stdout
            .trim()
            .split_once(' ')
            .unwrap_or_else(|| panic!("odd output {:?}", out.stdout));
        assert_eq!(echoed, i.to_string(), "each command got its own output");
        peak = peak.max(count.parse::<usize>().expect("a count"));
    }
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_prefix_and_concurrent_channels() {
    let sshd = Sshd::start();
    let mut cfg = sshd.config("client");
    cfg.sudo = true;
    cfg.max_channels_per_host = 3;
    let t = Arc::new(SshTransport::new(cfg).unwrap());
    assert_eq!(t.per_host_limit(), 3);
    let out = t
        .run(
            HOST,
            &cmd(&["sh", "-c", "echo \"$SUDO_SEEN\" \"$1\"", "sh", "a b"]),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "1 a b\n", "stderr: {}", out.stderr);

    // 12 commands at once; sshd allows 20 sessions, so only heqet's limiter holds them to 3.
    let run = |c: Cmd| {
        let t = t.clone();
        async move { t.run(HOST, &c).await }
    };
    let peak = server_side_peak(run, &sshd.path("running"), 12).await;
    assert_eq!(peak, 3, "commands running at once on the server");
}

/// heketi.json's sshexec block through `ssh_executor`: the smaller of `max_channels_per_host`
/// and `max_commands_per_host` is the one limit, and raw commands on the executor's
/// transport are held to it like the command layer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_executor_uses_the_smallest_per_host_limit() {
    let sshd = Sshd::start();
    let block = |channels: usize, commands: Option<usize>| {
        let mut v = serde_json::to_value(sshd.config("client")).unwrap();
        v["max_channels_per_host"] = channels.into();
        if let Some(c) = commands {
            v["max_commands_per_host"] = c.into();
        }
        serde_json::from_value::<SshExecConfig>(v).unwrap()
    };
    let ex = ssh_executor(block(8, None)).unwrap();
    assert_eq!(ex.transport().per_host_limit(), 8, "defaults");
    let ex = ssh_executor(block(3, Some(8))).unwrap();
    assert_eq!(ex.transport().per_host_limit(), 3);
    let ex = Arc::new(ssh_executor(block(8, Some(2))).unwrap());
    assert_eq!(ex.transport().per_host_limit(), 2);

    let run = |c: Cmd| {
        let ex = ex.clone();
        async move { ex.transport().run(HOST, &c).await }
    };
    let peak = server_side_peak(run, &sshd.path("running2"), 8).await;
    assert_eq!(peak, 2, "commands running at once on the server");
}
