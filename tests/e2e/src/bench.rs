//! Timing helpers for the benchmark: the node commands heqet logged (debug line
//! `node command host=... command=... status=... elapsed_ms=...`), and replaying command
//! lines by hand over OpenSSH (one multiplexed connection per node, one session per command,
//! as heqet does).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{bail, proc, Context, Result};

/// One node command from heqet's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCommand {
    pub host: String,
    pub command: String,
    pub status: i32,
    pub elapsed_ms: u64,
    /// When it finished: seconds since midnight (UTC) from the log line's timestamp.
    pub finished_at: f64,
}

impl LoggedCommand {
    /// When it started, in the same clock as `finished_at`.
    pub fn started_at(&self) -> f64 {
        self.finished_at - self.elapsed_ms as f64 / 1000.0
    }
}

/// Seconds since midnight of an RFC 3339 timestamp (`2026-11-22T08:04:12.987275Z`).
fn time_of_day(stamp: &str) -> Option<f64> {
    let t = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = t.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The span (first start, last end) of the commands on `host`.
pub fn span(cmds: &[LoggedCommand], host: &str) -> Option<(f64, f64)> {
    let on: Vec<&LoggedCommand> = cmds.iter().filter(|c| c.host == host).collect();
    let start = on.iter().map(|c| c.started_at()).reduce(f64::min)?;
    let end = on.iter().map(|c| c.finished_at).reduce(f64::max)?;
    Some((start, end))
}

/// The span (first start, last end) of all `cmds`, on any host.
pub fn span_all(cmds: &[LoggedCommand]) -> Option<(f64, f64)> {
    let start = cmds.iter().map(|c| c.started_at()).reduce(f64::min)?;
    let end = cmds.iter().map(|c| c.finished_at).reduce(f64::max)?;
    Some((start, end))
}

/// How much of the shorter of two spans overlaps the other (0..=1).
pub fn overlap(a: (f64, f64), b: (f64, f64)) -> f64 {
    let shared = (a.1.min(b.1) - a.0.max(b.0)).max(0.0);
    let shorter = (a.1 - a.0).min(b.1 - b.0);
    if shorter <= 0.0 {
        0.0
    } else {
        shared / shorter
    }
}

fn field<'a>(line: &'a str, key: &str, next: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    let end = rest.find(next).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// The `node command` debug lines of heqet's log, in the order they finished.
pub fn logged_commands(log: &str) -> Vec<LoggedCommand> {
    log.lines()
        .filter(|l| l.contains("node command") && l.contains(" command="))
        .filter_map(|l| {
            let host = field(l, "host=", " ")?.trim_matches('"').to_string();
            let command = field(l, " command=", " status=")?.to_string();
            let status = field(l, " status=", " ")?.parse().ok()?;
            let elapsed_ms = field(l, " elapsed_ms=", " ")?.parse().ok()?;
            let finished_at = time_of_day(l.split_whitespace().next()?)?;
            Some(LoggedCommand {
                host,
                command,
                status,
                elapsed_ms,
                finished_at,
            })
        })
        .collect()
}

/// OpenSSH control masters to the nodes; closed on drop.
pub struct SshMux {
    opts: Vec<String>,
    user: String,
    dir: PathBuf,
    hosts: Vec<String>,
}

impl SshMux {
    /// Open one master connection per host.
    pub fn open(opts: Vec<String>, user: &str, dir: &Path, hosts: &[String]) -> Result<SshMux> {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
        let mut mux = SshMux {
            opts,
            user: user.to_string(),
            dir: dir.to_path_buf(),
            hosts: Vec::new(),
        };
        for h in hosts {
            proc::run(
                Command::new("ssh")
                    .args(&mux.opts)
                    .args(mux.control_opts(h))
                    .args(["-M", "-N", "-f", "-o", "ControlPersist=120"])
                    .arg(format!("{}@{h}", mux.user)),
            )
            .context(format!("ssh control master to {h}"))?;
            mux.hosts.push(h.clone());
        }
        Ok(mux)
    }

    fn control_opts(&self, host: &str) -> [String; 2] {
        [
            "-o".into(),
            format!("ControlPath={}/cm-{host}", self.dir.display()),
        ]
    }

    /// Run one command line on `host`; returns its wall time and exit status.
    pub fn time(&self, host: &str, line: &str) -> Result<(Duration, i32)> {
        let start = Instant::now();
        let out = proc::output(
            Command::new("ssh")
                .args(&self.opts)
                .args(self.control_opts(host))
                .arg(format!("{}@{host}", self.user))
                .arg(line),
        )?;
        let took = start.elapsed();
        Ok((took, out.status.code().unwrap_or(-1)))
    }

    /// Run one command line on `host`; it must succeed.
    pub fn run(&self, host: &str, line: &str) -> Result<Duration> {
        let (took, status) = self.time(host, line)?;
        if status != 0 {
            bail!("{host}: `{line}` exited {status}");
        }
        Ok(took)
    }
}

impl Drop for SshMux {
    fn drop(&mut self) {
        for h in &self.hosts {
            let _ = proc::output(
                Command::new("ssh")
                    .args(&self.opts)
                    .args(self.control_opts(h))
                    .args(["-O", "exit"])
                    .arg(format!("{}@{h}", self.user)),
            );
        }
    }
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_command_lines_are_parsed() {
        let log = "2026-11-22T07:00:00.1Z DEBUG heqet_executor::commands: node command host=\"10.99.0.1\" command=mkfs.xfs -i size=512 -n size=8192 /dev/mapper/vg_a-brick_b status=0 elapsed_ms=412\nother line\n";
        let c = logged_commands(log);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].host, "10.99.0.1");
        assert_eq!(
            c[0].command,
            "mkfs.xfs -i size=512 -n size=8192 /dev/mapper/vg_a-brick_b"
        );
        assert_eq!(c[0].elapsed_ms, 412);
        assert_eq!(c[0].status, 0);
        assert!((c[0].started_at() - (7.0 * 3600.0 + 0.1 - 0.412)).abs() < 1e-6);
    }

    #[test]
    fn spans_overlap() {
        assert_eq!(overlap((0.0, 2.0), (1.0, 3.0)), 0.5);
        assert_eq!(overlap((0.0, 1.0), (2.0, 3.0)), 0.0);
        assert_eq!(overlap((0.0, 4.0), (1.0, 2.0)), 1.0);
    }
}
