//! Command-line quirks handled before clap sees the arguments.

use std::ffi::OsString;
use std::path::Path;

/// The program name to show: `heketi-cli` when invoked under that name (a symlink), so
/// messages and help read exactly like heketi-cli's; `heqet` otherwise.
pub fn program_name(argv0: Option<&OsString>) -> &'static str {
    let name = argv0
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "heketi-cli" || name == "heketi-cli.exe" {
        "heketi-cli"
    } else {
        "heqet"
    }
}

/// Global flags that take a separate value (`-s URL`), so the scan below can skip it.
fn takes_value(flag: &str) -> bool {
    matches!(
        flag,
        "-s" | "--server" | "--user" | "--secret" | "-C" | "--tls-cert"
    )
}

/// In heketi-cli, `topology load` has its own string flag `--json`/`-j` (the file) that
/// shadows the global boolean `--json`. clap cannot have two flags with the same name on one
/// command, so after `topology load` the file flag is renamed to `--topology-file`.
pub fn rewrite_topology_load(args: Vec<OsString>) -> Vec<OsString> {
    let mut positionals = Vec::new();
    let mut start = None;
    let mut skip_next = false;
    for (i, a) in args.iter().enumerate().skip(1) {
        if skip_next {
            skip_next = false;
            continue;
        }
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s.starts_with('-') {
            skip_next = takes_value(&s);
            continue;
        }
        positionals.push(s.into_owned());
        if positionals.len() == 2 {
            if positionals[0] == "topology" && positionals[1] == "load" {
                start = Some(i + 1);
            }
            break;
        }
    }
    let Some(start) = start else {
        return args;
    };
    let mut out: Vec<OsString> = args[..start].to_vec();
    for a in &args[start..] {
        let s = a.to_string_lossy();
        let renamed = if s == "--json" {
            Some("--topology-file".to_string())
        } else {
            s.strip_prefix("--json=")
                .map(|v| format!("--topology-file={v}"))
        };
        match renamed {
            Some(r) => out.push(r.into()),
            None => out.push(a.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn names() {
        assert_eq!(
            program_name(Some(&OsString::from("/usr/bin/heketi-cli"))),
            "heketi-cli"
        );
        assert_eq!(program_name(Some(&OsString::from("heqet"))), "heqet");
        assert_eq!(program_name(None), "heqet");
    }

    #[test]
    fn topology_load_json_becomes_file_flag() {
        assert_eq!(
            rewrite_topology_load(v(&[
                "heqet",
                "-s",
                "http://x",
                "topology",
                "load",
                "--json=t.json"
            ])),
            v(&[
                "heqet",
                "-s",
                "http://x",
                "topology",
                "load",
                "--topology-file=t.json"
            ])
        );
        assert_eq!(
            rewrite_topology_load(v(&["heqet", "topology", "load", "--json", "t.json"])),
            v(&["heqet", "topology", "load", "--topology-file", "t.json"])
        );
        // Everywhere else --json is the global boolean.
        let other = v(&["heqet", "--json", "topology", "info"]);
        assert_eq!(rewrite_topology_load(other.clone()), other);
        let other = v(&["heqet", "cluster", "list", "--json"]);
        assert_eq!(rewrite_topology_load(other.clone()), other);
    }
}
