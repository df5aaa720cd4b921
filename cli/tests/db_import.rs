//! The `heqet` binary's `db import` and `db export` on the fixture (heketi's dump format,
//! made by hand), and `db import --from` a running server with authentication on.

mod common;

use std::path::{Path, PathBuf};

use common::{bare_cmd, run_cmd, Run, Server};
use serde_json::Value;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/heketi-db.json")
}

fn gluster_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/gluster-volume-info-a.xml")
}

fn heqet(args: &[&str]) -> Run {
    run_cmd(bare_cmd().args(args))
}

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path()).unwrap()).unwrap()
}

#[test]
fn import_then_export_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let dbs = db.to_str().unwrap();
    let f = fixture_path();
    let r = heqet(&["db", "import", f.to_str().unwrap(), "--db", dbs]).ok();
    assert_eq!(
        r.stdout.lines().next().unwrap(),
        format!(
            "Imported into {dbs}: 2 clusters, 9 nodes, 13 devices, 6 volumes, 22 bricks, \
             1 pending operation"
        )
    );
    assert!(
        r.stdout
            .contains("Not carried: 1 block volume, 4 db attributes"),
        "{}",
        r.stdout
    );
    // What was not carried is said on stderr, one warning per thing.
    assert!(
        r.stderr
            .contains("Warning: block volume e75aee27c5e5ec832e519de0f9063f55"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Warning: db attribute DB_GENERATION_ID="),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("gluster brick order inferred"),
        "{}",
        r.stderr
    );

    // A second import into the same store is refused and changes nothing.
    let before = std::fs::read(&db).unwrap();
    let r = heqet(&["db", "import", f.to_str().unwrap(), "--db", dbs]);
    assert_eq!(r.code, 255);
    assert!(r.stderr.starts_with("Error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("already holds 2 clusters"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // Export to stdout and to a file; the file is never overwritten.
    let out = heqet(&["db", "export", "--db", dbs]).ok();
    assert!(
        out.stdout
            .starts_with("{\n    \"blockvolumeentries\": {},\n    \"brickentries\": {"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 pending operation(s)"),
        "{}",
        out.stderr
    );
    let exported: Value = serde_json::from_str(&out.stdout).unwrap();
    let dump = fixture();
    for section in [
        "clusterentries",
        "nodeentries",
        "deviceentries",
        "volumeentries",
        "brickentries",
    ] {
        let mut a: Vec<&String> = exported[section].as_object().unwrap().keys().collect();
        let mut b: Vec<&String> = dump[section].as_object().unwrap().keys().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{section}");
    }
    let file = dir.path().join("out.json");
    let fs = file.to_str().unwrap();
    heqet(&["db", "export", "--db", dbs, fs]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out.stdout);
    let r = heqet(&["db", "export", "--db", dbs, fs]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.contains("Could not create json file"),
        "{}",
        r.stderr
    );

    // The export imports again (into another store), --json gives the counts.
    let db2 = dir.path().join("again.db");
    let r = heqet(&["--json", "db", "import", fs, "--db", db2.to_str().unwrap()]).ok();
    let v = r.json();
    assert_eq!(
        (v["volumes"].as_i64(), v["pendingoperations"].as_i64()),
        (Some(6), Some(1))
    );
    assert_eq!(v["not_carried"]["blockvolumes"], 0);
}

#[test]
fn import_with_gluster_order_from_stdin_and_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let dbs = db.to_str().unwrap();
    let text = std::fs::read(fixture_path()).unwrap();
    let g = gluster_path();
    let mut c = bare_cmd();
    c.args([
        "db",
        "import",
        "-",
        "--db",
        dbs,
        "--gluster-volume-info",
        g.to_str().unwrap(),
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Cluster A's volumes took gluster's order; cluster B's and the pending one are inferred.
    assert!(
        stderr.contains("2 volume(s) with more than one brick"),
        "{stderr}"
    );

    let r = heqet(&[
        "db",
        "import",
        fixture_path().to_str().unwrap(),
        "--db",
        dbs,
        "--force",
    ])
    .ok();
    assert!(
        r.stdout
            .contains(&format!("The previous store was copied to {dbs}.bak")),
        "{}",
        r.stdout
    );
    assert!(dir.path().join("heqet.db.bak").exists());
}

#[test]
fn import_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heqet.db");
    let dbs = db.to_str().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"clusterentries\": {}}").unwrap();
    let r = heqet(&["db", "import", bad.to_str().unwrap(), "--db", dbs]);
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        "Error: not a heketi database dump: it has no \"volumeentries\"\n"
    );
    assert!(!db.exists());
    let r = heqet(&["db", "import", "--db", dbs]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.contains("Missing the database file"),
        "{}",
        r.stderr
    );
    let r = heqet(&["db", "export", "--db", dbs]);
    assert_eq!(r.code, 255);
    assert_eq!(r.stderr, format!("Error: no store at {dbs}\n"));
}

#[test]
fn import_from_a_running_server_with_auth() {
    // A heqet serving the fixture, authentication on.
    let src = tempfile::tempdir().unwrap();
    let src_db = src.path().join("source.db");
    heqet(&[
        "db",
        "import",
        fixture_path().to_str().unwrap(),
        "--db",
        src_db.to_str().unwrap(),
    ])
    .ok();
    let db_path = src_db.clone();
    let mut s = Server::start_cfg(move |c| {
        c.db_path = db_path;
        c.use_auth = true;
        c.jwt_admin_key = "ADMIN-SECRET".into();
        c.jwt_user_key = "USER-SECRET".into();
    });
    s.creds = Some(("admin".into(), "ADMIN-SECRET".into()));
    let served: Value = serde_json::from_str(&s.ok(&["db", "dump"]).stdout).unwrap();

    let dst = tempfile::tempdir().unwrap();
    let db = dst.path().join("copy.db");
    let dbs = db.to_str().unwrap();
    // Wrong key: the server's answer, and nothing written.
    let r = heqet(&[
        "db", "import", "--from", &s.url, "--user", "admin", "--secret", "nope", "--db", dbs,
    ]);
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        "Error: Invalid JWT token: signature is invalid (client and server secrets may not match)\n"
    );
    assert!(!db.exists());
    let r = heqet(&[
        "db",
        "import",
        "--from",
        &s.url,
        "--user",
        "admin",
        "--secret",
        "ADMIN-SECRET",
        "--db",
        dbs,
    ])
    .ok();
    assert!(
        r.stdout
            .contains("6 volumes, 22 bricks, 1 pending operation"),
        "{}",
        r.stdout
    );
    // The copy exports exactly what the server dumped.
    let copy: Value =
        serde_json::from_str(&heqet(&["db", "export", "--db", dbs]).ok().stdout).unwrap();
    assert_eq!(copy, served);
}
