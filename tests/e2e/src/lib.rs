//! Shared helpers of heqet's end-to-end suite: the real `heqet` binary (server and CLI) against
//! the real 3-node GlusterFS cluster that `tests/e2e/cluster.sh` builds on this machine.
//!
//! One job per module: [`cluster`] (bring-up, teardown, commands inside a node), [`node`]
//! (what is on a node: LVs, mounts, fstab, brick dirs, gluster volumes), [`server`] (a
//! `heqet serve` process), [`api`] (heketi's REST API, `/queue` included), [`cli`] (the
//! `heqet` binary), [`csi`] (the `heqet-csi` plugin and a gRPC client for it), [`mount`]
//! (FUSE mounts and the mount table on the host), [`bench`] (timing helpers),
//! [`lock`] (one suite at a time, root check). Nothing here unwraps what the cluster can
//! influence: every failure is an [`Error`] that says what was attempted and what came back.

pub mod api;
pub mod bench;
pub mod cgroup;
pub mod cli;
pub mod cluster;
pub mod csi;
pub mod lock;
pub mod mount;
pub mod node;
pub mod proc;
pub mod server;
pub mod volume;

use std::fmt;

/// A failed step of the suite, as text for the test report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(format!("I/O error: {e}"))
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error(format!("HTTP error: {e}"))
    }
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Self {
        Error(format!("gRPC {}", csi::describe(&s)))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(format!("JSON error: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Add what was being done to an error.
pub trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {}", e.into())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error(what.to_string()))
    }
}

/// Return an [`Error`] with a formatted message.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error(format!($($arg)*)))
    };
}

/// Return an [`Error`] with a formatted message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}

/// Poll `f` every `every` until it returns `Ok(Some(v))` or `timeout` passes; the last error
/// (or "still not") is reported with `what`.
pub fn poll<T>(
    what: &str,
    timeout: std::time::Duration,
    every: std::time::Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = std::time::Instant::now();
    let mut last = String::from("condition never held");
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e.0,
        }
        if start.elapsed() >= timeout {
            bail!("{what}: gave up after {:.0?}: {last}", timeout);
        }
        std::thread::sleep(every);
    }
}
