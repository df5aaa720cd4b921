//! The 3-node cluster of `tests/e2e/cluster.sh`: bring it up (once per suite), read its env
//! file, run commands inside a node's namespaces, inject faults, and tear it down on drop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::proc;
use crate::{bail, Context, Error, Result};

/// The directory of this crate (`tests/e2e`), where `cluster.sh` lives.
pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The harness state dir: `$HEQET_E2E_STATE` or `tests/e2e/.state`.
pub fn state_dir() -> PathBuf {
    std::env::var_os("HEQET_E2E_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| e2e_dir().join(".state"))
}

/// Parse the `KEY="value"` lines of the harness env file.
pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// A running cluster. Dropping it runs `cluster.sh down` (unless `HEQET_E2E_KEEP=1`, for
/// debugging a failed run by hand).
pub struct Cluster {
    script: PathBuf,
    state: PathBuf,
    env: HashMap<String, String>,
    up: bool,
}

impl Cluster {
    /// `cluster.sh up`: fresh nodes, fresh raw disks. Its output goes to
    /// `$STATE/logs/cluster-up.log`.
    pub fn up() -> Result<Cluster> {
        let script = e2e_dir().join("cluster.sh");
        let state = state_dir();
        let started = Instant::now();
        let out = proc::output(Command::new(&script).arg("up"))?;
        let logs = state.join("logs");
        let _ = std::fs::create_dir_all(&logs);
        let _ = std::fs::write(
            logs.join("cluster-up.log"),
            [out.stdout.as_slice(), out.stderr.as_slice()].concat(),
        );
        // From here on a half-built cluster is ours to tear down.
        let mut cluster = Cluster {
            script,
            state,
            env: HashMap::new(),
            up: true,
        };
        if !out.status.success() {
            bail!(
                "{}",
                proc::describe(&format!("{} up", cluster.script.display()), &out)
            );
        }
        let env_file = cluster.state.join("env");
        let text = std::fs::read_to_string(&env_file)
            .context(format!("reading {}", env_file.display()))?;
        cluster.env = parse_env(&text);
        eprintln!(
            "[e2e] cluster up in {:.1}s: nodes {}",
            started.elapsed().as_secs_f64(),
            cluster.env("HEQET_E2E_NODES")?
        );
        Ok(cluster)
    }

    /// `cluster.sh down`; also done on drop.
    pub fn down(&mut self) -> Result<()> {
        if !self.up {
            return Ok(());
        }
        self.up = false;
        let started = Instant::now();
        proc::run(Command::new(&self.script).arg("down"))?;
        eprintln!(
            "[e2e] cluster down in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    pub fn state(&self) -> &Path {
        &self.state
    }

    /// A value of the env file.
    pub fn env(&self, key: &str) -> Result<&str> {
        self.env
            .get(key)
            .map(String::as_str)
            .context(format!("{key} is missing in the cluster env file"))
    }

    pub fn node_count(&self) -> Result<usize> {
        self.env("HEQET_E2E_NODE_COUNT")?
            .parse()
            .map_err(|e| Error(format!("HEQET_E2E_NODE_COUNT: {e}")))
    }

    /// Node numbers, 1-based as cluster.sh counts them.
    pub fn nodes(&self) -> Result<Vec<usize>> {
        Ok((1..=self.node_count()?).collect())
    }

    /// The address of node `n` (manage and storage hostname alike).
    pub fn addr(&self, n: usize) -> Result<String> {
        Ok(self.env(&format!("HEQET_E2E_NODE{n}_ADDR"))?.to_string())
    }

    /// The node whose address is `addr`.
    pub fn node_of(&self, addr: &str) -> Result<usize> {
        for n in self.nodes()? {
            if self.addr(n)? == addr {
                return Ok(n);
            }
        }
        bail!("no cluster node has address {addr}")
    }

    /// The raw disks of node `n`.
    pub fn disks(&self, n: usize) -> Result<Vec<String>> {
        Ok(self
            .env(&format!("HEQET_E2E_NODE{n}_DISKS"))?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    /// The `glusterfs.sshexec` block for heqet: the harness's key, known_hosts and LVM stand-in.
    pub fn sshexec(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "keyfile": self.env("HEQET_E2E_SSH_KEY")?,
            "user": self.env("HEQET_E2E_SSH_USER")?,
            "port": self.env("HEQET_E2E_SSH_PORT")?,
            "known_hosts": [self.env("HEQET_E2E_SSH_KNOWN_HOSTS")?],
            "lvm_wrapper": self.env("HEQET_E2E_LVM_WRAPPER")?,
            "fstab": self.env("HEQET_E2E_FSTAB")?,
        }))
    }

    /// OpenSSH client options for ad-hoc `ssh` to the nodes.
    pub fn ssh_opts(&self) -> Result<Vec<String>> {
        Ok(self
            .env("HEQET_E2E_SSH_OPTS")?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    fn script_cmd(&self) -> Command {
        let mut c = Command::new(&self.script);
        c.env("HEQET_E2E_STATE", &self.state);
        c
    }

    /// Run `argv` inside node `n` (no ssh); any exit status is `Ok`.
    pub fn exec_output(&self, n: usize, argv: &[&str]) -> Result<Output> {
        proc::output(self.script_cmd().arg("exec").arg(n.to_string()).args(argv))
    }

    /// Run `argv` inside node `n`; it must succeed. Returns stdout.
    pub fn exec(&self, n: usize, argv: &[&str]) -> Result<String> {
        proc::run(self.script_cmd().arg("exec").arg(n.to_string()).args(argv))
            .context(format!("on node {n}"))
    }

    /// Run a bash script inside node `n`; it must succeed. Returns stdout.
    pub fn sh(&self, n: usize, script: &str) -> Result<String> {
        self.exec(n, &["bash", "-c", script])
    }

    /// `<lvm_wrapper> /usr/sbin/lvm ARGS` inside node `n` (every LVM call goes through the
    /// wrapper on these nodes, as heqet's do).
    pub fn lvm(&self, n: usize, args: &[&str]) -> Result<String> {
        let wrapper = self.env("HEQET_E2E_LVM_WRAPPER")?.to_string();
        let mut argv = vec![wrapper.as_str(), "/usr/sbin/lvm"];
        argv.extend_from_slice(args);
        self.exec(n, &argv)
    }

    /// `gluster --mode=script ARGS` inside node `n`; it must succeed.
    pub fn gluster(&self, n: usize, args: &[&str]) -> Result<String> {
        let mut argv = vec!["gluster", "--mode=script"];
        argv.extend_from_slice(args);
        self.exec(n, &argv)
    }

    /// A fault or helper command of cluster.sh taking a node number (`glusterd-stop`,
    /// `glusterd-start`, `node-down`, `node-up`, `node-restart`).
    pub fn fault(&self, command: &str, n: usize) -> Result<()> {
        proc::run(self.script_cmd().arg(command).arg(n.to_string()))
            .context(format!("cluster.sh {command} {n}"))?;
        Ok(())
    }

    /// The host directory bind-mounted over node `n`'s `/usr/local/sbin` (first on the PATH
    /// of every ssh session to that node): a place for test shims.
    pub fn node_sbin(&self, n: usize) -> PathBuf {
        self.state.join(format!("gn{n}")).join("sbin")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.up {
            return;
        }
        if std::env::var("HEQET_E2E_KEEP").is_ok_and(|v| v == "1") {
            eprintln!(
                "[e2e] HEQET_E2E_KEEP=1: leaving the cluster up; run tests/e2e/cluster.sh down"
            );
            return;
        }
        if let Err(e) = self.down() {
            eprintln!("[e2e] cluster.sh down failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lines_become_a_map() {
        let env = parse_env("# comment\nA=\"x y\"\n\nB=2\n");
        assert_eq!(env.get("A").map(String::as_str), Some("x y"));
        assert_eq!(env.get("B").map(String::as_str), Some("2"));
        assert_eq!(env.len(), 2);
    }
}
