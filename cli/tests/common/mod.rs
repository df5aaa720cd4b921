//! An in-process heqet server per test, and the real `heqet` binary pointed at it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use heqet_executor::mock::MockExecutor;
use heqet_server::{Config, Running};

pub const BIN: &str = env!("CARGO_BIN_EXE_heqet");

pub struct Server {
    pub rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub mock: Arc<MockExecutor>,
    /// (user, secret) the binary is given by default.
    pub creds: Option<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

impl Server {
    pub fn start() -> Server {
        Self::start_cfg(|_| {})
    }

    /// Auth on with these keys; the binary signs as admin.
    pub fn start_auth(admin: &str, user: &str) -> Server {
        let (a, u) = (admin.to_string(), user.to_string());
        let mut s = Self::start_cfg(move |c| {
            c.use_auth = true;
            c.jwt_admin_key = a.clone();
            c.jwt_user_key = u.clone();
        });
        s.creds = Some(("admin".into(), admin.into()));
        s
    }

    pub fn start_cfg(edit: impl FnOnce(&mut Config)) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::for_test(&dir.path().join("heqet.db"));
        edit(&mut cfg);
        let mock = Arc::new(MockExecutor::default());
        let running = rt
            .block_on(heqet_server::start_with(cfg, mock.clone(), None))
            .expect("server starts");
        let url = running.url();
        Server {
            rt,
            running: Some(running),
            url,
            dir,
            mock,
            creds: None,
        }
    }

    /// The binary with `-s <url>` (and credentials), a clean environment and fast polling.
    pub fn cmd(&self) -> Command {
        let mut c = bare_cmd();
        c.arg("-s").arg(&self.url);
        if let Some((u, k)) = &self.creds {
            c.arg("--user").arg(u).arg("--secret").arg(k);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).ok()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.ok(&a).json()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    pub fn cluster_ids(&self) -> Vec<String> {
        self.json(&["cluster", "list"])["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

/// The binary with no server flag and none of the HEKETI_CLI_* variables.
pub fn bare_cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("HEKETI_CLI_SERVER")
        .env_remove("HEKETI_CLI_USER")
        .env_remove("HEKETI_CLI_KEY")
        .env("HEQET_POLL_INTERVAL_MS", "20")
        .env("HEQET_HEAL_CHECK_WAIT_SECS", "0");
    c
}

pub fn run_cmd(c: &mut Command) -> Run {
    Run::from(c.output().unwrap())
}

/// Replace every 32-hex id by `00000000000000000000000000000001`, `…02`, … in order of first
/// appearance: same length, so padded columns stay as they are.
pub fn normalize_ids(text: &str) -> String {
    let mut map: HashMap<String, String> = HashMap::new();
    let bytes = text.as_bytes();
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_hex(bytes[i]) {
            let mut j = i;
            while j < bytes.len() && is_hex(bytes[j]) {
                j += 1;
            }
            let run = &text[i..j];
            if run.len() == 32 {
                let n = map.len() + 1;
                let rep = map
                    .entry(run.to_string())
                    .or_insert_with(|| format!("{n:032}"))
                    .clone();
                out.push_str(&rep);
            } else {
                out.push_str(run);
            }
            i = j;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Compare with `tests/golden/<name>` after id normalization; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let actual = normalize_ids(actual);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, want, "golden file {name} differs");
}

/// A topology file of `n` nodes (`node1`… with storage 10.0.0.N, zone N) in one cluster,
/// each with devices /dev/sdb and /dev/sdc.
pub fn topology_json(n: usize) -> String {
    let nodes: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                r#"{{"node":{{"hostnames":{{"manage":["node{i}"],"storage":["10.0.0.{i}"]}},"zone":{i}}},"devices":["/dev/sdb",{{"name":"/dev/sdc","destroydata":false}}]}}"#
            )
        })
        .collect();
    format!(r#"{{"clusters":[{{"nodes":[{}]}}]}}"#, nodes.join(","))
}
