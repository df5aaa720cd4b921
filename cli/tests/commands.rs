//! Every heketi-cli command, text and `--json`, against the real server.

mod common;
use common::*;

fn line_value(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        .trim()
        .to_string()
}

/// One node (`node1`, 10.0.0.1, zone 1) with one device /dev/sdb; returns (cluster, node, device).
fn one_node(s: &Server) -> (String, String, String) {
    let cluster = line_value(&s.ok(&["cluster", "create"]).stdout, "Cluster id:");
    let node = s.json(&[
        "node",
        "add",
        "--zone=1",
        &format!("--cluster={cluster}"),
        "--management-host-name=node1",
        "--storage-host-name=10.0.0.1",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(&[
        "device",
        "add",
        "--name=/dev/sdb",
        &format!("--node={node}"),
    ]);
    let device = s.json(&["node", "info", &node])["devices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (cluster, node, device)
}

fn err(r: &Run) -> &str {
    assert_eq!(r.code, 255, "expected failure, got stdout {:?}", r.stdout);
    assert!(r.stdout.is_empty(), "stdout on error: {:?}", r.stdout);
    &r.stderr
}

#[test]
fn cluster_commands() {
    let s = Server::start();
    let created = s.ok(&["cluster", "create"]);
    golden("cluster-create.txt", &created.stdout);
    let id = line_value(&created.stdout, "Cluster id:");
    golden(
        "cluster-info-empty.txt",
        &s.ok(&["cluster", "info", &id]).stdout,
    );

    let j = s.ok(&["cluster", "create", "--json", "--block=false"]);
    assert!(!j.stdout.ends_with('\n'));
    let second = j.json();
    assert_eq!(second["block"], false);
    assert_eq!(second["file"], true);
    let id2 = second["id"].as_str().unwrap();

    let list = s.ok(&["cluster", "list"]).stdout;
    assert!(list.starts_with("Clusters:\n"));
    assert!(list.contains(&format!("Id:{id} [file][block]\n")), "{list}");
    assert!(list.contains(&format!("Id:{id2} [file]\n")), "{list}");
    let lj = s.json(&["cluster", "list"]);
    assert_eq!(lj["clusters"].as_array().unwrap().len(), 2);
    assert_eq!(s.json(&["cluster", "info", id2])["id"], id2);

    // setflags keeps unspecified flags.
    s.ok(&["cluster", "setflags", id2, "--file=false"]);
    let c = s.json(&["cluster", "info", id2]);
    assert_eq!(
        (c["block"].as_bool(), c["file"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(s
        .ok(&["cluster", "list"])
        .stdout
        .contains(&format!("Id:{id2} []\n")));
    s.ok(&["cluster", "setflags", id2, "--block"]);
    assert_eq!(s.json(&["cluster", "info", id2])["block"], true);
    assert_eq!(
        err(&s.run(&["cluster", "setflags", id2])),
        "Error: At least one of --file or --block must be specified.\n"
    );

    assert_eq!(
        s.ok(&["cluster", "delete", id2]).stdout,
        format!("Cluster {id2} deleted\n")
    );
    assert_eq!(
        err(&s.run(&["cluster", "info"])),
        "Error: Cluster id missing\n"
    );
    assert_eq!(
        err(&s.run(&["cluster", "info", "00000000000000000000000000000000"])),
        "Error: Id not found\n"
    );
    // Extra arguments are ignored, as in heketi-cli.
    s.ok(&["cluster", "info", &id, "extra"]);
}

#[test]
fn node_commands() {
    let s = Server::start();
    let cluster = line_value(&s.ok(&["cluster", "create"]).stdout, "Cluster id:");
    let c = format!("--cluster={cluster}");
    assert_eq!(err(&s.run(&["node", "add", &c])), "Error: Missing zone\n");
    assert_eq!(
        err(&s.run(&["node", "add", "--zone=1", &c])),
        "Error: Missing management hostname\n"
    );
    assert_eq!(
        err(&s.run(&["node", "add", "--zone=1", "--management-host-name=a", &c])),
        "Error: Missing storage hostname\n"
    );
    assert_eq!(
        err(&s.run(&[
            "node",
            "add",
            "--zone=1",
            "--management-host-name=a",
            "--storage-host-name=10.0.0.1"
        ])),
        "Error: Missing cluster id\n"
    );
    let added = s.ok(&[
        "node",
        "add",
        "--zone=1",
        &c,
        "--management-host-name=node1",
        "--storage-host-name=10.0.0.1",
    ]);
    golden("node-add.txt", &format!("{cluster}\n{}", added.stdout));
    let node = line_value(&added.stdout, "Node Id:");
    let j = s.json(&[
        "node",
        "add",
        "--zone=2",
        &c,
        "--management-host-name=node2",
        "--storage-host-name=10.0.0.2",
    ]);
    assert_eq!(j["hostnames"]["manage"][0], "node2");
    let node2 = j["id"].as_str().unwrap().to_string();

    s.ok(&[
        "device",
        "add",
        "--name=/dev/sdb",
        &format!("--node={node}"),
    ]);
    s.ok(&["node", "settags", &node, "rack:a", "arbiter:supported"]);
    golden(
        "node-info.txt",
        &format!(
            "{cluster}\n{node}\n{}",
            s.ok(&["node", "info", &node]).stdout
        ),
    );
    assert_eq!(s.json(&["node", "info", &node])["tags"]["rack"], "a");
    s.ok(&["node", "rmtags", &node, "arbiter"]);
    assert_eq!(
        s.json(&["node", "info", &node])["tags"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    s.ok(&["node", "settags", &node, "-e", "x:y"]);
    assert_eq!(
        s.json(&["node", "info", &node])["tags"],
        serde_json::json!({"x": "y"})
    );
    s.ok(&["node", "deltags", &node, "--all"]);
    assert!(s.json(&["node", "info", &node]).get("tags").is_none());
    assert_eq!(
        err(&s.run(&["node", "settags", &node, "nocolon"])),
        "Error: expected colon (:) between tag name and value, got: nocolon\n"
    );

    let list = s.ok(&["node", "list"]).stdout;
    assert_eq!(list.lines().count(), 2);
    assert!(list.contains(&format!("Id:{node}\tCluster:{cluster}\n")));
    assert!(list.contains(&format!("Id:{node2}\tCluster:{cluster}\n")));

    assert_eq!(
        s.ok(&["node", "disable", &node2]).stdout,
        format!("Node {node2} is now offline\n")
    );
    assert_eq!(
        s.ok(&["node", "enable", &node2]).stdout,
        format!("Node {node2} is now online\n")
    );
    s.ok(&["node", "disable", &node2]);
    assert_eq!(
        s.ok(&["node", "remove", &node2]).stdout,
        format!("Node {node2} is now removed\n")
    );
    assert!(s
        .ok(&["node", "info", &node2])
        .stdout
        .contains("State: removed\n"));
    assert_eq!(s.json(&["node", "info", &node2])["state"], "failed");
    assert_eq!(
        s.ok(&["node", "delete", &node2]).stdout,
        format!("Node {node2} deleted\n")
    );
    assert_eq!(err(&s.run(&["node", "enable"])), "Error: Node id missing\n");
}

#[test]
fn device_commands() {
    let s = Server::start();
    let (cluster, node, device) = one_node(&s);
    assert_eq!(
        err(&s.run(&["device", "add", "--node=x"])),
        "Error: Missing device name\n"
    );
    assert_eq!(
        err(&s.run(&["device", "add", "--name=/dev/sdc"])),
        "Error: Missing node id\n"
    );
    assert_eq!(
        s.ok(&[
            "device",
            "add",
            "--name=/dev/sdc",
            &format!("--node={node}"),
            "--destroy-existing-data"
        ])
        .stdout,
        "Device added successfully\n"
    );
    s.ok(&["device", "settags", &device, "disk:ssd"]);
    golden(
        "device-info.txt",
        &s.ok(&["device", "info", &device]).stdout,
    );
    let j = s.ok(&["device", "info", &device, "--json"]);
    assert!(!j.stdout.ends_with('\n'));
    assert_eq!(j.json()["name"], "/dev/sdb");
    s.ok(&["device", "rmtags", &device, "disk"]);
    assert!(s.json(&["device", "info", &device]).get("tags").is_none());

    assert_eq!(
        s.ok(&["device", "resync", &device]).stdout,
        format!("Device {device} updated\n")
    );
    let all = s.ok(&["device", "resync", &cluster, "--cluster"]).stdout;
    assert!(all
        .starts_with("Cluster-wide resync operation requested. Using object_id as cluster_id.\n"));
    assert_eq!(all.matches(" updated\n").count(), 2, "{all}");
    assert!(all.contains(&format!("Now resyncing device {device}..\n")));
    assert!(all.contains(&format!(
        "Device {device} (node {node}) in cluster {cluster} updated\n"
    )));

    assert_eq!(
        s.ok(&["device", "disable", &device]).stdout,
        format!("Device {device} is now offline\n")
    );
    assert_eq!(
        s.ok(&["device", "enable", &device]).stdout,
        format!("Device {device} is now online\n")
    );
    s.ok(&["device", "disable", &device]);
    let removed = s.ok(&[
        "device",
        "remove",
        &device,
        "--expert-option-disable-heal-check",
    ]);
    assert_eq!(
        removed.stdout,
        format!(
            "Skipping the heal check may be dangerous and increase the risk of data loss.\n \
             Press CTRL-C within 10 seconds to cancel this action.\nDevice {device} is now removed\n"
        )
    );
    assert!(s
        .ok(&["device", "info", &device])
        .stdout
        .contains("State: removed\n"));
    assert_eq!(
        s.ok(&["device", "delete", &device, "--force-forget"])
            .stdout,
        format!("Device {device} deleted\n")
    );
    assert_eq!(
        err(&s.run(&["device", "enable"])),
        "Error: device id missing\n"
    );
    assert_eq!(
        err(&s.run(&["device", "resync"])),
        "Error: object/cluster id missing\n"
    );
}

#[test]
fn volume_commands() {
    let s = Server::start();
    let (_cluster, _node, _device) = one_node(&s);
    assert_eq!(
        err(&s.run(&["volume", "create"])),
        "Error: Missing volume size\n"
    );
    let r = s.run(&["volume", "create", "--size=1", "--persistent-volume"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "--persistent-volume-endpoint must be provided when using --persistent-volume\nError: Missing endpoint\n"
        )
    );

    let created = s.ok(&[
        "volume",
        "create",
        "--size=1",
        "--durability=none",
        "--name=v1",
        "--gid=2001",
    ]);
    golden("volume-create.txt", &created.stdout);
    let id = line_value(&created.stdout, "Volume Id:");
    assert_eq!(s.ok(&["volume", "info", &id]).stdout, created.stdout);
    golden("volume-list.txt", &s.ok(&["volume", "list"]).stdout);
    assert_eq!(s.json(&["volume", "list"])["volumes"][0], id.as_str());
    let j = s.ok(&["volume", "info", &id, "--json"]);
    assert!(!j.stdout.ends_with('\n'));
    assert_eq!(j.json()["gid"], 2001);

    let expanded = s.ok(&["volume", "expand", "--volume", &id, "--expand-size=2"]);
    assert!(
        expanded.stdout.contains("\nSize: 3\n"),
        "{}",
        expanded.stdout
    );
    assert_eq!(
        s.json(&["volume", "expand", &id, "--expand-size=1"])["size"],
        4
    );
    assert_eq!(
        err(&s.run(&["volume", "expand", &id])),
        "Error: Missing volume amount to expand\n"
    );
    assert_eq!(
        err(&s.run(&["volume", "expand", "--expand-size=1"])),
        "Error: Missing volume id\n"
    );

    assert_eq!(
        s.ok(&["volume", "endpoint", "patch", &id]).stdout,
        r#"{"subsets": [{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":1}]}]}"#
    );

    let clone = s.ok(&["volume", "clone", &id, "--name=v1clone"]);
    assert!(
        clone.stdout.starts_with("Name: v1clone\n"),
        "{}",
        clone.stdout
    );
    let cj = s.json(&["volume", "clone", &id]);
    assert!(cj["name"].as_str().unwrap().starts_with("vol_"));

    let snap = s.ok(&[
        "volume",
        "create",
        "--size=1",
        "--durability=none",
        "--snapshot-factor=1.5",
    ]);
    assert!(
        snap.stdout.ends_with("Snapshot Factor: 1.50\n\n"),
        "{}",
        snap.stdout
    );

    let pv = s.ok(&[
        "volume",
        "create",
        "--size=2",
        "--durability=none",
        "--name=pvvol",
        "--persistent-volume",
        "--persistent-volume-endpoint=heketi-storage-endpoints",
    ]);
    // The PV name carries the first 8 characters of the (random) volume id.
    let name = pv.json()["metadata"]["name"].as_str().unwrap().to_string();
    let pvid = s.json(&["volume", "list"])["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .find(|v| s.json(&["volume", "info", v])["name"] == "pvvol")
        .unwrap();
    assert_eq!(name, format!("glusterfs-{}", &pvid[..8]));
    golden(
        "volume-create-pv.json",
        &pv.stdout.replace(&name, "glusterfs-00000000"),
    );
    let pvfile = s.path("pv.json");
    let r = s.ok(&[
        "volume",
        "create",
        "--size=1",
        "--durability=none",
        &format!("--persistent-volume-file={}", pvfile.display()),
    ]);
    assert!(r.stdout.is_empty());
    let pvtext = std::fs::read_to_string(&pvfile).unwrap();
    assert!(
        pvtext.contains("\"endpoints\": \"TYPE ENDPOINT HERE\""),
        "{pvtext}"
    );

    let block = s.json(&[
        "volume",
        "create",
        "--size=2",
        "--durability=none",
        "--block",
    ]);
    let bid = block["id"].as_str().unwrap().to_string();
    let locked = s.ok(&["volume", "set-block-hosting-restriction", "locked", &bid]);
    assert!(
        locked
            .stdout
            .contains("Block Hosting Restriction: locked\n"),
        "{}",
        locked.stdout
    );
    let unlocked = s.json(&["volume", "set-block-hosting-restriction", "unlocked", &bid]);
    assert!(unlocked["blockinfo"].get("restriction").is_none());
    assert!(s.ok(&["volume", "list"]).stdout.contains(" [block]\n"));
    let r = s.run(&["volume", "set-block-hosting-restriction", "locked", &id]);
    assert!(
        err(&r).starts_with("Error: Failed to set block restriction"),
        "{}",
        r.stderr
    );

    assert_eq!(
        s.ok(&["volume", "delete", &bid]).stdout,
        format!("Volume {bid} deleted\n")
    );
    assert_eq!(
        err(&s.run(&["volume", "delete"])),
        "Error: Volume id missing\n"
    );
    assert_eq!(
        err(&s.run(&["volume", "info", &bid])),
        "Error: Id not found\n"
    );
}

#[test]
fn replica_three_volume_and_brick_evict() {
    let s = Server::start();
    let file = s.write("topo.json", &topology_json(4));
    s.ok(&["topology", "load", &format!("--json={file}")]);
    let v = s.json(&["volume", "create", "--size=2"]);
    assert_eq!(v["durability"]["replicate"]["replica"], 3);
    let id = v["id"].as_str().unwrap().to_string();
    let text = s.ok(&["volume", "info", &id]).stdout;
    assert!(
        text.contains("Durability Type: replicate\nDistribute Count: 1\nReplica Count: 3\n"),
        "{text}"
    );
    assert!(
        text.contains("Mount Options: backup-volfile-servers="),
        "{text}"
    );
    let brick = v["bricks"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        err(&s.run(&["brick", "evict"])),
        "Error: Brick id missing\n"
    );
    assert_eq!(
        err(&s.run(&["brick", "evict", &brick, "x"])),
        "Error: Too many arguments provided\n"
    );
    assert_eq!(
        s.ok(&["brick", "evict", &brick]).stdout,
        format!("Brick {brick} evicted\n")
    );
    let after = s.json(&["volume", "info", &id]);
    assert!(after["bricks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["id"] != brick.as_str()));
}

#[test]
fn admin_commands() {
    let s = Server::start();
    let dump = s.ok(&["db", "dump"]).stdout;
    assert!(dump.ends_with('\n'));
    let v: serde_json::Value = serde_json::from_str(&dump).unwrap();
    assert!(v.get("clusterentries").is_some());
    let check: serde_json::Value = serde_json::from_str(&s.ok(&["db", "check"]).stdout).unwrap();
    assert!(check.get("totalinconsistencies").is_some());

    assert_eq!(s.ok(&["loglevel", "get"]).stdout, "info\n");
    assert_eq!(
        s.ok(&["loglevel", "set", "debug"]).stdout,
        "Server log level updated\n"
    );
    assert_eq!(s.ok(&["loglevel", "get"]).stdout, "debug\n");
    assert_eq!(
        err(&s.run(&["loglevel", "set"])),
        "Error: missing log-level argument\n"
    );
    assert_eq!(
        err(&s.run(&["loglevel", "set", "a", "b"])),
        "Error: too many arguments\n"
    );
    assert_eq!(
        err(&s.run(&["loglevel", "set", "loud"])),
        "Error: invalid log level: loud\n"
    );

    assert_eq!(s.ok(&["server", "mode", "get"]).stdout, "normal\n");
    assert_eq!(s.ok(&["server", "mode", "set", "local-client"]).stdout, "");
    assert_eq!(s.ok(&["server", "mode", "get"]).stdout, "local-client\n");
    s.ok(&["server", "mode", "set", "normal"]);
    assert_eq!(
        err(&s.run(&["server", "mode", "set"])),
        "Error: missing mode argument\n"
    );

    golden(
        "operations-info.txt",
        &s.ok(&["server", "operations", "info"]).stdout,
    );
    assert_eq!(s.ok(&["server", "operations", "list"]).stdout, "");
    let cleanup = s.ok(&["server", "operations", "cleanup"]);
    assert_eq!(cleanup.stdout, "");
    assert_eq!(
        cleanup.stderr,
        "Note: Operation clean up is a batch operation.\n\
         * The results of individual operation clean ups are not reported here.\n\
         * Use 'heqet server operations [list|info]' to view operations.\n"
    );
    let r = s.run(&[
        "server",
        "operations",
        "info",
        "0123456789abcdef0123456789abcdef",
    ]);
    assert!(err(&r).starts_with("Error: Id not found"), "{}", r.stderr);
    // Whatever the server answers, the CLI passes it through.
    let r = s.run(&["server", "state", "examine", "gluster"]);
    assert!(
        r.code == 0 || r.stderr.starts_with("Error: "),
        "{}",
        r.stderr
    );
}

#[test]
fn read_only_mode_is_reported() {
    let s = Server::start();
    s.ok(&["server", "mode", "set", "read-only"]);
    assert_eq!(
        err(&s.run(&["cluster", "create"])),
        "Error: Service disabled for maintenance\n"
    );
    s.ok(&["cluster", "list"]);
}

#[test]
fn unsupported_commands_say_so() {
    let s = Server::start();
    for args in [
        &["blockvolume", "list"][..],
        &["blockvolume", "create", "--size=1"][..],
        &["setup-openshift-heketi-storage"][..],
        &["setup-heketi-db-storage", "--listfile=x"][..],
    ] {
        let r = s.run(args);
        assert!(
            err(&r).contains("not supported yet"),
            "{args:?}: {}",
            r.stderr
        );
    }
}
