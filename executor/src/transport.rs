//! How one command reaches one node. Commands are argument lists from end to end; a transport
//! turns them into whatever its wire needs (ssh: one POSIX-shell-quoted string; kube exec: the
//! argv as is), so nothing a client sends can inject shell syntax.

use std::time::Duration;

use async_trait::async_trait;

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
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// `ssh`, `kubernetes`, `fake`...
    fn name(&self) -> &'static str;

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError>;
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

    #[test]
    fn plain_words_stay_plain() {
        let cmd = Cmd::new(["mkdir", "-p", "/var/lib/heketi"], Duration::from_secs(1));
        assert_eq!(cmd.display(), "mkdir -p /var/lib/heketi");
    }
}
