//! Scenario 4: a disperse 2+1 volume and arbiter volumes (replica 3 arbiter 1), each
//! created, checked in gluster and on the nodes, used through a mount, deleted.
//!
//! Arbiter bricks are sized `max(16 MiB, data brick / average file size)` (heketi's rule), but
//! mkfs.xfs >= 5.19 refuses filesystems under 300 MiB. The first arbiter volume asks for an
//! average file size that makes its arbiter brick 341 MiB (so the arbiter path itself is
//! tested); the second is a plain request with heketi's defaults, as users send it.

use heqet_e2e::{ensure, node, Result};
use serde_json::json;

use super::{brick_file, read_back, write_file, Suite};

const FILE: &str = "layout.txt";

fn arbiter(suite: &Suite, options: &[&str]) -> Result<()> {
    let mut opts = vec!["user.heketi.arbiter true"];
    opts.extend_from_slice(options);
    let vol = suite.create_checked(json!({
        "size": 1,
        "durability": {"type": "replicate", "replicate": {"replica": 3}},
        "glustervolumeoptions": opts,
    }))?;
    let info = suite.gluster_info(&vol)?;
    ensure!(
        info.contains("Number of Bricks: 1 x (2 + 1) = 3") && info.contains("(arbiter)"),
        "arbiter volume in gluster:\n{info}"
    );
    // The arbiter brick (third in gluster's order) is the small one.
    let sizes: Vec<u64> = vol.bricks.iter().map(|b| b.size).collect();
    let small = sizes.iter().filter(|s| **s < 1024 * 1024).count();
    ensure!(
        small == 1,
        "expected exactly one small arbiter brick, sizes {sizes:?}"
    );
    let text = "arbiter keeps names, not data\n";
    let m = suite.mount(&vol)?;
    write_file(&m, FILE, text)?;
    read_back(&m, FILE, text)?;
    for b in &vol.bricks {
        let n = suite.node_of(b)?;
        let got = brick_file(suite, n, b, FILE)?;
        let expect = if b.size < 1024 * 1024 {
            Some("")
        } else {
            Some(text)
        };
        ensure!(
            got.as_deref() == expect,
            "node {n} brick {} (size {} KiB): {FILE} holds {got:?}",
            b.path,
            b.size
        );
    }
    drop(m);
    suite.delete_checked(&vol)
}

fn disperse(suite: &Suite) -> Result<()> {
    let vol = suite.create_checked(json!({
        "size": 2,
        "durability": {"type": "disperse", "disperse": {"data": 2, "redundancy": 1}},
    }))?;
    ensure!(vol.bricks.len() == 3, "{} bricks", vol.bricks.len());
    let info = suite.gluster_info(&vol)?;
    ensure!(
        info.contains("Type: Disperse") && info.contains("Number of Bricks: 1 x (2 + 1) = 3"),
        "disperse volume in gluster:\n{info}"
    );
    let text = "erasure coded over three bricks\n".repeat(100);
    let m = suite.mount(&vol)?;
    write_file(&m, FILE, &text)?;
    read_back(&m, FILE, &text)?;
    // Each brick holds a fragment: the file exists on all three, none holds it whole.
    for b in &vol.bricks {
        let n = suite.node_of(b)?;
        let got = brick_file(suite, n, b, FILE)?;
        ensure!(
            got.is_some(),
            "node {n} brick {}: no fragment of {FILE}",
            b.path
        );
    }
    drop(m);
    suite.delete_checked(&vol)
}

pub fn run(suite: &mut Suite) -> Result<()> {
    disperse(suite)?;
    // 1 GiB / 3 KiB average file size = a 341 MiB arbiter brick.
    arbiter(suite, &["user.heketi.average-file-size 3"])?;
    arbiter(suite, &[])
        .map_err(|e| heqet_e2e::Error(format!("arbiter volume with default sizing: {e}")))?;
    node::all_clean(&suite.cluster)?;
    suite.space_matches()
}
