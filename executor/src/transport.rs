//! How one command reaches one node. Commands are argument lists from end to end; a transport
//! turns them into whatever its wire needs (ssh: one POSIX-shell-quoted string; kube exec: the
//! argv as is), so nothing a client sends can inject shell syntax.
//!
//! Per-host concurrency is limited here and only here: a transport is a [`Wire`] (how to run
//! one command, no limit) inside a [`Limited`] (which takes a [`HostLimits`] permit around every
//! command). The ssh and kube transports keep their wires private, so no code path can run a
//! command on a node without a permit.

use std::time::Duration;

use async_trait::async_trait;

use crate::limits::HostLimits;
use crate::ExecError;

/// One command: program and arguments, and how long it may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub timeout: Duration,
}

impl Cmd {
    pub fn new<I, S>(argv: I, timeout: Duration) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout,
        }
    }

    /// The command line as a POSIX shell would need it, for messages and logs.
    pub fn display(&self) -> String {
        display_line(&self.argv)
    }
}

/// What a finished command left behind. A non-zero `status` is not a transport error; the
/// command layer decides what it means. `-1` = no exit status (killed by a signal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmdOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// The most useful text for an error message: stderr, else stdout.
    pub fn message(&self) -> String {
        let err = self.stderr.trim();
        if err.is_empty() {
            self.stdout.trim().to_string()
        } else {
            err.to_string()
        }
    }
}

/// Runs commands on nodes. Errors are only for commands that could not be run or did not
/// finish (`Unreachable`, `Timeout`, `Other`); an exit status is always an `Ok`.
///
/// The command layer adds no limit of its own: an implementation must bound the commands in
/// flight per node itself, by being (or wrapping) a [`Limited`] as ssh and kube do.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// `ssh`, `kubernetes`, `fake`...
    fn name(&self) -> &'static str;

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError>;
}

/// How a transport runs one command on one node, with no per-host limit: only [`Limited`]
/// calls it, holding the host's permit for the whole call (connect, run, read, close), so
/// whatever the wire opens per command (an ssh channel, an exec stream) is bounded too.
#[async_trait]
pub trait Wire: Send + Sync + 'static {
    /// `ssh`, `kubernetes`, `fake`...
    fn name(&self) -> &'static str;

    async fn run_unlimited(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError>;
}

/// A [`Wire`] with at most `per_host` commands in flight per node: the one place that takes
/// a per-host permit for a command. The wait for a permit is not part of the command's
/// timeout (the wire applies that once the command is under way).
pub struct Limited<W> {
    wire: W,
    limits: HostLimits,
}

impl<W: Wire> Limited<W> {
    /// `per_host` = 0 is taken as 1.
    pub fn new(wire: W, per_host: usize) -> Self {
        Limited {
            wire,
            limits: HostLimits::new(per_host),
        }
    }

    pub fn wire(&self) -> &W {
        &self.wire
    }

    /// Commands allowed in flight per node.
    pub fn per_host(&self) -> usize {
        self.limits.per_host()
    }
}

#[async_trait]
impl<W: Wire> Transport for Limited<W> {
    fn name(&self) -> &'static str {
        self.wire.name()
    }

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        let _permit = self.limits.acquire(host).await?;
        self.wire.run_unlimited(host, cmd).await
    }
}

/// Quote `argv` into one string a POSIX shell splits back into exactly `argv`.
/// Fails only on NUL bytes, which no argv can carry.
pub fn shell_line(argv: &[String]) -> Result<String, ExecError> {
    if argv.is_empty() {
        return Err(ExecError::Other("empty command".into()));
    }
    shlex::try_join(argv.iter().map(String::as_str))
        .map_err(|e| ExecError::Other(format!("cannot quote command {argv:?}: {e}")))
}

/// Like [`shell_line`] but never fails (NUL shown escaped), for messages.
pub fn display_line(argv: &[String]) -> String {
    shell_line(argv).unwrap_or_else(|_| format!("{argv:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh_split(line: &str) -> Vec<String> {
        // Let a real POSIX shell split the line: the ground truth for what ssh runs.
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("for a in {line}; do printf '%s\\0' \"$a\"; done"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let s = String::from_utf8(out.stdout).unwrap();
        s.split_terminator('\0').map(str::to_string).collect()
    }

    #[test]
    fn hostile_arguments_survive_a_real_shell() {
        let argv: Vec<String> = [
            "gluster",
            "volume",
            "set",
            "v; rm -rf /",
            "$(touch /tmp/pwned)",
            "`id`",
            "it's \"quoted\"",
            "new\nline",
            "",
            "*",
            "a\\b",
            "~root",
            "x&&y|z>w<v",
            "tab\there",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let line = shell_line(&argv).unwrap();
        assert_eq!(sh_split(&line), argv);
    }

    #[test]
    fn nul_and_empty_are_refused() {
        assert!(shell_line(&[]).is_err());
        assert!(shell_line(&["a\0b".to_string()]).is_err());
        assert_eq!(display_line(&["a\0b".to_string()]), "[\"a\\0b\"]");
    }

    /// A wire whose commands on host `a` wait for the test to open a gate.
    struct Gated {
        gate: tokio::sync::Semaphore,
        started: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Wire for Gated {
        fn name(&self) -> &'static str {
            "gated"
        }

        async fn run_unlimited(&self, host: &str, _: &Cmd) -> Result<CmdOutput, ExecError> {
            self.started.lock().unwrap().push(host.to_string());
            if host == "a" {
                self.gate
                    .acquire()
                    .await
                    .map_err(|e| ExecError::Other(e.to_string()))?
                    .forget();
            }
            Ok(CmdOutput::default())
        }
    }

    impl Gated {
        fn closed() -> Self {
            Gated {
                gate: tokio::sync::Semaphore::new(0),
                started: Default::default(),
            }
        }
    }

    fn started(t: &Limited<Gated>, host: &str) -> usize {
        let started = t.wire().started.lock().unwrap();
        started.iter().filter(|h| *h == host).count()
    }

    async fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn limited_holds_a_host_to_its_permits_and_leaves_others_alone() {
        let t = std::sync::Arc::new(Limited::new(Gated::closed(), 2));
        assert_eq!(t.per_host(), 2);
        assert_eq!(t.name(), "gated");
        let cmd = Cmd::new(["true"], Duration::from_secs(1));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (t, cmd) = (t.clone(), cmd.clone());
            tasks.push(tokio::spawn(async move { t.run("a", &cmd).await }));
        }
        wait_until("two commands on a", || started(&t, "a") == 2).await;
        // The third command on `a` stays queued while two hold the permits...
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(started(&t, "a"), 2, "a third command reached the wire");
        // ...while `b` has permits of its own.
        let b = tokio::time::timeout(Duration::from_secs(5), t.run("b", &cmd)).await;
        assert!(matches!(b, Ok(Ok(_))), "b was held up by a: {b:?}");
        // One finished command lets the queued one in.
        t.wire().gate.add_permits(1);
        wait_until("the queued command on a", || started(&t, "a") == 3).await;
        t.wire().gate.add_permits(2);
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
    }

    #[test]
    fn plain_words_stay_plain() {
        let cmd = Cmd::new(["mkdir", "-p", "/var/lib/heketi"], Duration::from_secs(1));
        assert_eq!(cmd.display(), "mkdir -p /var/lib/heketi");
    }
}
