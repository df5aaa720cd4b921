//! Running host programs and turning their outcome into [`Error`]s that show the command,
//! the exit status and what it printed.

use std::process::{Command, Output};

use crate::{Context, Error, Result};

/// The command line of `cmd`, for messages.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The last `max` characters of `text` (whole if shorter), for error messages.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Run `cmd` to completion, capturing stdout and stderr; any exit status is `Ok`.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .map_err(|e| Error(format!("cannot run `{}`: {e}", display(cmd))))
}

/// Describe a finished command for an error message.
pub fn describe(line: &str, out: &Output) -> String {
    format!(
        "`{line}` exited with {}\nstdout: {}\nstderr: {}",
        out.status,
        tail(String::from_utf8_lossy(&out.stdout).trim(), 4000),
        tail(String::from_utf8_lossy(&out.stderr).trim(), 4000)
    )
}

/// Run `cmd`; it must exit 0. Returns stdout.
pub fn run(cmd: &mut Command) -> Result<String> {
    let line = display(cmd);
    let out = output(cmd)?;
    if !out.status.success() {
        return Err(Error(describe(&line, &out)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every process on the host with its argv (from `/proc/<pid>/cmdline`); processes that end
/// while being read are skipped.
pub fn processes() -> Vec<(u32, Vec<String>)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let argv = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>();
            Some((pid, argv))
        })
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// `kill -9 pid`.
pub fn kill9(pid: u32) -> Result<()> {
    let p = libc::pid_t::try_from(pid).map_err(|e| Error(format!("pid {pid}: {e}")))?;
    // SAFETY: plain syscall on a pid the caller found.
    if unsafe { libc::kill(p, libc::SIGKILL) } != 0 {
        return Err(Error(format!(
            "kill -9 {pid}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Append-mode stdout and stderr handles on one log file, for a child process.
pub fn log_stdio(log: &std::path::Path) -> Result<(std::fs::File, std::fs::File)> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .context(format!("opening {}", log.display()))?;
    let err = out.try_clone().context("duplicating the log file")?;
    Ok((out, err))
}

/// The child dies with the suite (PR_SET_PDEATHSIG) and, with `new_session`, runs in a
/// session and process group of its own (so a kill of that group hits only it).
pub fn die_with_parent(cmd: &mut Command, new_session: bool) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid and prctl are async-signal-safe and touch no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            if new_session && libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
