//! Running host programs and turning their outcome into [`Error`]s that show the command,
//! the exit status and what it printed.

use std::process::{Command, Output};

use crate::{Error, Result};

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
