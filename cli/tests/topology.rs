//! `topology load` against the real server: idempotent re-runs, validation before sending.

mod common;
use common::*;

#[test]
fn load_twice_adds_only_what_is_missing() {
    let s = Server::start();
    let file = s.write("topo.json", &topology_json(3));
    let first = s.ok(&["topology", "load", &format!("--json={file}")]);
    golden("topology-load-first.txt", &first.stdout);
    assert!(first.stdout.starts_with("Creating cluster ... ID: "));

    let second = s.ok(&["topology", "load", "--json", &file]);
    golden("topology-load-second.txt", &second.stdout);
    assert!(!second.stdout.contains("Creating"), "{}", second.stdout);
    assert!(!second.stdout.contains("Adding"), "{}", second.stdout);
    assert_eq!(s.cluster_ids().len(), 1);

    // A third run with one more node and one more device: only those are added.
    let more = topology_json(4).replace(
        r#""devices":["/dev/sdb","#,
        r#""devices":["/dev/sdd","/dev/sdb","#,
    );
    let file = s.write("topo2.json", &more);
    let third = s.ok(&["topology", "load", "-j", &file]);
    let cluster = &s.cluster_ids()[0];
    assert_eq!(s.cluster_ids().len(), 1);
    assert!(third
        .stdout
        .contains(&format!("\tFound node node1 on cluster {cluster}\n")));
    assert_eq!(
        third
            .stdout
            .matches("\t\tAdding device /dev/sdd ... OK\n")
            .count(),
        4
    );
    assert!(third.stdout.contains("\tCreating node node4 ... ID: "));
    assert_eq!(third.stdout.matches("Found device").count(), 6);
    let info = s.json(&["cluster", "info", cluster]);
    assert_eq!(info["nodes"].as_array().unwrap().len(), 4);
}

#[test]
fn load_reports_node_and_device_failures_and_exits_zero() {
    let s = Server::start();
    s.mock.fail(
        heqet_executor::mock::MockOp::DeviceSetup,
        Some("node2"),
        Some(1),
    );
    let file = s.write("topo.json", &topology_json(2));
    let r = s.ok(&["topology", "load", &format!("--json={file}")]);
    assert!(
        r.stdout
            .contains("\t\tAdding device /dev/sdb ... Unable to add device: "),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches("... OK\n").count(), 3, "{}", r.stdout);
    // The re-run adds the device that failed and finds the rest.
    let again = s.ok(&["topology", "load", &format!("--json={file}")]);
    assert_eq!(
        again
            .stdout
            .matches("\t\tAdding device /dev/sdb ... OK\n")
            .count(),
        1,
        "{}",
        again.stdout
    );
    assert_eq!(again.stdout.matches("Found device").count(), 3);
}

#[test]
fn a_cluster_left_empty_by_a_failed_load_is_deleted() {
    let s = Server::start();
    s.mock
        .fail(heqet_executor::mock::MockOp::GlusterdCheck, None, None);
    let file = s.write("topo.json", &topology_json(1));
    let r = s.ok(&["topology", "load", &format!("--json={file}")]);
    assert!(
        r.stdout
            .contains("\tCreating node node1 ... Unable to create node: "),
        "{}",
        r.stdout
    );
    assert!(s.cluster_ids().is_empty());
}

fn rejected(s: &Server, text: &str, want: &str) {
    let file = s.write("bad.json", text);
    let r = s.run(&["topology", "load", &format!("--json={file}")]);
    assert_eq!(r.code, 255, "{text}\n{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.starts_with("Error: Unable to parse config file: "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(want), "want {want:?} in {}", r.stderr);
    assert!(
        s.cluster_ids().is_empty(),
        "something was created for {text}"
    );
}

#[test]
fn bad_files_are_rejected_before_anything_is_sent() {
    let s = Server::start();
    rejected(&s, "{\"clusters\": [\n  {\"nodes\": [}\n]}", "line 2");
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":[]},"zone":1},"devices":[]}]}]}"#,
        "storage",
    );
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"]},"zone":1},"devices":[]}]}]}"#,
        "storage",
    );
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":["10.0.0.1"]},"zone":1},"devices":["/dev/sdb",{"name":"/dev/sdb"}]}]}]}"#,
        "/dev/sdb",
    );
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":["10.0.0.1"]},"zone":1,"zonee":2},"devices":[]}]}]}"#,
        "zonee",
    );
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":["10.0.0.1"]},"zone":0},"devices":[]}]}]}"#,
        "zone",
    );
    rejected(
        &s,
        r#"{"clusters":[{"nodes":[{"node":{"hostnames":{"manage":["n1"],"storage":["10.0.0.1"]},"zone":-3},"devices":[]}]}]}"#,
        "zone",
    );
}

#[test]
fn missing_and_unreadable_files() {
    let s = Server::start();
    let r = s.run(&["topology", "load"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "Error: Missing configuration file\n")
    );
    let r = s.run(&["topology", "load", "--json=/nonexistent/topo.json"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with("Error: Unable to open config file"),
        "{}",
        r.stderr
    );
}

#[test]
fn topology_info_text_and_json() {
    let s = Server::start();
    let empty = s.ok(&["topology", "info"]);
    assert_eq!(empty.stdout, "\n");
    // One node with one device: the output order does not depend on random ids.
    let file = s.write(
        "topo.json",
        r#"{"clusters":[{"block":false,"nodes":[{"node":{"hostnames":{"manage":["node1"],"storage":["10.0.0.1"]},"zone":1},
            "devices":[{"name":"/dev/sdb","tags":{"disk":"ssd"}}]}]}]}"#,
    );
    s.ok(&["topology", "load", &format!("--json={file}")]);
    let node = s.json(&["topology", "info"])["clusters"][0]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(&["node", "settags", &node, "rack:a"]);
    s.ok(&[
        "volume",
        "create",
        "--size=1",
        "--durability=none",
        "--name=vol1",
    ]);
    let text = s.ok(&["topology", "info"]);
    golden("topology-info.txt", &text.stdout);
    let j = s.ok(&["topology", "info", "--json"]);
    assert!(!j.stdout.ends_with('\n'));
    let v = j.json();
    assert_eq!(v["clusters"][0]["volumes"][0]["name"], "vol1");
    assert_eq!(
        v["clusters"][0]["nodes"][0]["devices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = s.run(&["topology", "info", "--template={{.Id}}"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.contains("--template is not supported"),
        "{}",
        r.stderr
    );
}

#[test]
fn topology_route_matches_the_assembled_topology() {
    use heqet_api::client::{Client, TlsOptions};
    let s = Server::start();
    let file = s.write("topo.json", &topology_json(3));
    s.ok(&["topology", "load", &format!("--json={file}")]);
    s.ok(&["volume", "create", "--size=1"]);
    let client = Client::new(&s.url, "", "", &TlsOptions::default()).unwrap();
    let (route, assembled) = s.rt.block_on(async {
        (
            client.topology().await.unwrap(),
            client.topology_assembled().await.unwrap(),
        )
    });
    assert_eq!(route, assembled);
}
