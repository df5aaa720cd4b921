//! The `heqet` binary: built once per suite with the same profile as the test, then run as
//! heketi-cli would be. [`workspace_binary`] builds any binary of the workspace that way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::proc;
use crate::{bail, Context, Result};

/// The workspace root (two levels above this crate).
pub fn workspace_dir() -> PathBuf {
    crate::cluster::e2e_dir().join("../..")
}

/// Path of the `heqet` binary: `$HEQET_E2E_BIN`, or built by [`workspace_binary`].
pub fn heqet_binary() -> Result<PathBuf> {
    workspace_binary("HEQET_E2E_BIN", "heqet", "heqet")
}

/// Path of binary `bin` of workspace package `package`: `$<env_override>` when set, else
/// built into the target dir and profile this test binary runs from (so the suite always
/// tests current code). The build is the workspace's own, bins and tests together: under
/// `cargo test --workspace` it has nothing left to do, where `cargo build -p <package>`
/// would resolve other features and compile half the dependency tree again.
pub fn workspace_binary(env_override: &str, package: &str, bin: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env_override) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the test binary")?;
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context(format!(
            "{} is not under target/<profile>/deps",
            exe.display()
        ))?
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target_dir = profile_dir
        .parent()
        .context("no target dir above the profile dir")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_dir())
        .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    proc::run(&mut cmd).context(format!(
        "building the workspace for {package}'s {bin} binary"
    ))?;
    let path = profile_dir.join(bin);
    if !path.is_file() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// `heqet -s <url> ...`.
#[derive(Clone)]
pub struct Cli {
    pub bin: PathBuf,
    pub server: String,
}

impl Cli {
    /// Run with `args`; any exit status is `Ok`.
    pub fn output(&self, args: &[&str]) -> Result<Output> {
        proc::output(
            Command::new(&self.bin)
                .arg("-s")
                .arg(&self.server)
                .args(args)
                .env_remove("HEKETI_CLI_KEY")
                .env_remove("HEKETI_CLI_USER"),
        )
    }

    /// Run with `args`; must exit 0. Returns stdout + stderr.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        let line = format!("heqet -s {} {}", self.server, args.join(" "));
        if !out.status.success() {
            bail!("{}", proc::describe(&line, &out));
        }
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
