//! Global behaviour: auth, credentials from the environment, unreachable servers, the
//! `heketi-cli` name, usage, completion, and `heqet serve`.

mod common;
use common::*;

const BAD_SECRET: &str =
    "Error: Invalid JWT token: signature is invalid (client and server secrets may not match)\n";

#[test]
fn auth_success_and_failures() {
    let s = Server::start_auth("adminkey", "userkey");
    s.ok(&["cluster", "list"]);
    let mut c = bare_cmd();
    c.args([
        "-s", &s.url, "--user", "admin", "--secret", "wrong", "cluster", "list",
    ]);
    let r = run_cmd(&mut c);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout.as_str()),
        (255, BAD_SECRET, "")
    );

    // No credentials at all: heketi-cli still sends a token, with an empty issuer.
    let mut c = bare_cmd();
    c.args(["-s", &s.url, "cluster", "list"]);
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 255);
    // heketi's text, then (as `heqet`, not as `heketi-cli`) what to do about it.
    assert_eq!(
        r.stderr,
        "Error: Invalid JWT token: Token missing iss claim\n\
         Hint: the server wants a signed token: give --user (admin or user) with --secret, \
         or set HEKETI_CLI_USER and HEKETI_CLI_KEY\n"
    );

    // The user role may only use /volumes.
    let mut c = bare_cmd();
    c.args(["-s", &s.url, "--user", "user", "--secret", "userkey"]);
    let r = run_cmd(c.args(["volume", "list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut c = bare_cmd();
    c.args([
        "-s", &s.url, "--user", "user", "--secret", "userkey", "cluster", "list",
    ]);
    assert_eq!(
        run_cmd(&mut c).stderr,
        "Error: Administrator access required\n"
    );
}

#[test]
fn environment_fallbacks_and_flag_precedence() {
    let s = Server::start_auth("adminkey", "userkey");
    // Everything from the environment.
    let mut c = bare_cmd();
    c.env("HEKETI_CLI_SERVER", &s.url)
        .env("HEKETI_CLI_USER", "admin")
        .env("HEKETI_CLI_KEY", "adminkey")
        .args(["cluster", "list"]);
    assert_eq!(run_cmd(&mut c).ok().stdout, "Clusters:\n");
    // An empty flag falls back to the environment.
    let mut c = bare_cmd();
    c.env("HEKETI_CLI_SERVER", &s.url)
        .env("HEKETI_CLI_USER", "admin")
        .env("HEKETI_CLI_KEY", "adminkey")
        .args(["--secret=", "-s", "", "cluster", "list"]);
    run_cmd(&mut c).ok();
    // A flag wins over the environment.
    let mut c = bare_cmd();
    c.env("HEKETI_CLI_SERVER", "http://127.0.0.1:1")
        .env("HEKETI_CLI_USER", "admin")
        .env("HEKETI_CLI_KEY", "adminkey")
        .args(["-s", &s.url, "--secret", "wrong", "cluster", "list"]);
    assert_eq!(run_cmd(&mut c).stderr, BAD_SECRET);
}

#[test]
fn unreachable_server() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = bare_cmd();
    c.args(["-s", &format!("http://127.0.0.1:{port}"), "cluster", "list"]);
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        format!(
            "Error: Get \"http://127.0.0.1:{port}/clusters\": dial tcp 127.0.0.1:{port}: connect: connection refused\n"
        )
    );
    let mut c = bare_cmd();
    c.args(["-s", "localhost:8080", "cluster", "list"]);
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with("Error: invalid server URL"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_version_unknown_commands_and_completion() {
    let r = run_cmd(&mut bare_cmd());
    assert_eq!(r.code, 0);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("Usage: heqet"), "{}", r.stderr);

    let r = run_cmd(bare_cmd().arg("--version")).ok();
    assert_eq!(r.stdout, format!("heqet v{}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(run_cmd(bare_cmd().arg("-v")).ok().stdout, r.stdout);

    let r = run_cmd(bare_cmd().arg("frobnicate"));
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        "Error: unknown command \"frobnicate\" for \"heqet\"\nRun 'heqet --help' for usage.\n"
    );
    let r = run_cmd(bare_cmd().args(["cluster", "list", "--foo"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "Error: unknown flag: --foo\n")
    );

    let r = run_cmd(bare_cmd().args(["cluster", "--help"])).ok();
    assert!(r.stdout.contains("setflags"));

    for shell in ["bash", "zsh", "fish"] {
        let r = run_cmd(bare_cmd().args(["completion", shell])).ok();
        assert!(r.stdout.contains("heqet"), "{shell}");
        assert!(r.stdout.contains("setflags"), "{shell}");
    }
}

#[cfg(unix)]
#[test]
fn invoked_as_heketi_cli() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("heketi-cli");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let cmd = || {
        let mut c = std::process::Command::new(&link);
        c.env_remove("HEKETI_CLI_SERVER");
        c
    };
    let r = run_cmd(cmd().arg("--version")).ok();
    assert_eq!(
        r.stdout,
        format!("heketi-cli v{}\n", env!("CARGO_PKG_VERSION"))
    );
    let r = run_cmd(&mut cmd());
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("Usage: heketi-cli"), "{}", r.stderr);
    // heketi-cli's own description, not heqet's.
    assert!(
        r.stderr.starts_with("Command line program for Heketi"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.trim_start().starts_with("serve ")),
        "{}",
        r.stderr
    );
    let r = run_cmd(cmd().arg("serve"));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "Error: unknown command \"serve\" for \"heketi-cli\"\nRun 'heketi-cli --help' for usage.\n"
        )
    );
    // heketi-cli prints no hints after a server's error.
    let auth = Server::start_auth("adminkey", "userkey");
    let r = run_cmd(cmd().args(["-s", &auth.url, "cluster", "list"]));
    assert_eq!(
        r.stderr,
        "Error: Invalid JWT token: Token missing iss claim\n"
    );
    let r = run_cmd(cmd().args(["cluster", "nope"]));
    assert_eq!(
        r.stderr,
        "Error: unknown command \"nope\" for \"heketi-cli cluster\"\nRun 'heketi-cli cluster --help' for usage.\n"
    );

    // And it talks to a server like heketi-cli.
    let s = Server::start();
    let r = run_cmd(cmd().args(["-s", &s.url, "cluster", "create"])).ok();
    assert!(r.stdout.starts_with("Cluster id: "));
    let r = run_cmd(cmd().args(["-s", &s.url, "server", "operations", "cleanup"])).ok();
    assert!(r
        .stderr
        .contains("'heketi-cli server operations [list|info]'"));
}

#[test]
fn serve_runs_the_server_until_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db = dir.path().join("heqet.db");
    let config = dir.path().join("heketi.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"port":"{port}","glusterfs":{{"executor":"mock","db":"{}"}}}}"#,
            db.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(BIN)
        .args(["serve", "--disable-auth", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        let r = run_cmd(bare_cmd().args(["-s", &url, "cluster", "list"]));
        if r.code == 0 {
            assert_eq!(r.stdout, "Clusters:\n");
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Stop the server we started (SIGTERM, by pid), then collect its log.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(up, "server did not come up:\n{log}");
    assert!(out.status.success(), "exit {:?}\n{log}", out.status);
    assert!(log.contains("heqet listening"), "{log}");
}

/// A CA and a server certificate for 127.0.0.1, made with the openssl command line.
fn make_certs(dir: &std::path::Path) -> Option<()> {
    let sh = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| ())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=heqet test CA",
    ]);
    sh(&ca)?;
    let mut csr = vec!["req"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=localhost",
    ]);
    sh(&csr)?;
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .ok()?;
    sh(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ])
}

#[test]
fn tls_with_trusted_cert_or_insecure() {
    let certs = tempfile::tempdir().unwrap();
    assert!(
        make_certs(certs.path()).is_some(),
        "openssl could not make a test certificate: install openssl (the test command does)"
    );
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let s = Server::start_cfg(|c| {
        c.enable_tls = true;
        c.cert_file = cert.clone();
        c.key_file = key.clone();
    });
    assert!(s.url.starts_with("https://"), "{}", s.url);
    // Not trusted by default.
    let r = s.run(&["cluster", "list"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr
            .starts_with(&format!("Error: Get \"{}/clusters\": ", s.url)),
        "{}",
        r.stderr
    );
    assert_eq!(s.ok(&["-I", "cluster", "list"]).stdout, "Clusters:\n");
    let ca = certs.path().join("ca.pem");
    let ca = ca.to_string_lossy();
    assert_eq!(
        s.ok(&["--tls-cert", &ca, "cluster", "list"]).stdout,
        "Clusters:\n"
    );
    assert_eq!(s.ok(&[&format!("-C={ca}"), "cluster", "create"]).code, 0);
    let r = s.run(&["--tls-cert=/nonexistent.pem", "cluster", "list"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with("Error: cannot read /nonexistent.pem"),
        "{}",
        r.stderr
    );
}
