//! A `heqet serve` process with the ssh executor: heketi.json written by the suite, log in a
//! file, killed on drop. `kill9` + `restart` model a crash of the service.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::proc::tail;
use crate::{bail, Context, Result};

/// A free TCP port on the loopback interface (the server binds all interfaces).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("finding a free port")?.port())
}

/// heketi.json for the suite: ssh executor, no auth, the background cleaner off (the suite
/// calls cleanup itself), the node health monitor off (scenarios stop glusterd on purpose;
/// a check that ran meanwhile would keep those nodes out of allocations for up to its 120 s
/// period, failing the next scenarios at random, and its commands would land in the
/// benchmark's log), debug logs of node commands (for the benchmark).
pub fn config(port: u16, db: &Path, sshexec: Value) -> Value {
    json!({
        "port": port.to_string(),
        "use_auth": false,
        "glusterfs": {
            "executor": "ssh",
            "sshexec": sshexec,
            "db": db.display().to_string(),
            "loglevel": "debug",
            "disable_background_cleaner": true,
            "disable_monitor_gluster_nodes": true,
        }
    })
}

pub struct Server {
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Server {
    /// Write the config into `dir` and start the server; returns once `/hello` answers.
    pub fn start(bin: &Path, dir: &Path, sshexec: Value) -> Result<Server> {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
        let port = free_port()?;
        let cfg = config(port, &dir.join("heqet.db"), sshexec);
        let config = dir.join("heketi.json");
        std::fs::write(&config, serde_json::to_vec_pretty(&cfg)?)
            .context(format!("writing {}", config.display()))?;
        let mut s = Server {
            bin: bin.to_path_buf(),
            config,
            log: dir.join("serve.log"),
            port,
            child: None,
        };
        s.spawn()?;
        Ok(s)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Current length of the log file (to read what a step logged).
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// The log written since `offset`.
    pub fn log_since(&self, offset: u64) -> Result<String> {
        let bytes = std::fs::read(&self.log).context(format!("reading {}", self.log.display()))?;
        let from = (offset as usize).min(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[from..]).into_owned())
    }

    /// Start the process (again) on the same config and database.
    pub fn spawn(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("heqet serve is already running");
        }
        let (out, err) = crate::proc::log_stdio(&self.log)?;
        let mut cmd = Command::new(&self.bin);
        // If the suite itself is killed, the server must not outlive it.
        crate::proc::die_with_parent(&mut cmd, false);
        let child = cmd
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--disable-auth")
            .env("RUST_LOG", "info,heqet_executor=debug")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context(format!("starting {} serve", self.bin.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let start = Instant::now();
        let url = format!("{}/hello", self.url());
        let api = crate::api::Api::new(&self.url())?;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    bail!(
                        "heqet serve exited ({status}) while starting; log:\n{}",
                        self.log_tail()
                    );
                }
            }
            if api.get("/hello").is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!(
                    "heqet serve does not answer {url} after 60 s; log:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The end of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        tail(&text, 6000).to_string()
    }

    /// `kill -9` the process (a crash: no shutdown, journal entries stay as they are).
    pub fn kill9(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("heqet serve is not running");
        };
        child.kill().context("SIGKILL to heqet serve")?;
        child.wait().context("reaping heqet serve")?;
        Ok(())
    }

    /// Stop the process (SIGKILL; the suite does not need a graceful stop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
