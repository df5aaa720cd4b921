//! Scenario 1: `heqet topology load --json=FILE` over raw disks, a disk with an empty GPT
//! label, and a disk holding an xfs filesystem with a file on it.
//!
//! Layout: every node's disks are loaded; node 2's second disk gets an empty GPT label first
//! (must be wiped and added), node 3's third disk gets xfs + a file (must be refused with a
//! message that names the xfs filesystem, and stay untouched).

use heqet_e2e::{bail, ensure, node, Context, Result};
use serde_json::json;

use super::Suite;

const PRECIOUS: &str = "precious.txt";
const PRECIOUS_TEXT: &str = "data that heqet must not destroy\n";

/// Node and disk of the GPT-labelled and of the xfs disk.
pub struct Special {
    pub gpt: (usize, String),
    pub xfs: (usize, String),
}

fn special(suite: &Suite) -> Result<Special> {
    let d2 = suite.cluster.disks(2)?;
    let d3 = suite.cluster.disks(3)?;
    ensure!(
        d2.len() >= 2 && d3.len() >= 3,
        "need 2 disks on node 2 and 3 on node 3"
    );
    Ok(Special {
        gpt: (2, d2[1].clone()),
        xfs: (3, d3[2].clone()),
    })
}

/// Write the file the xfs disk must keep, mounting it inside the node.
fn prepare_xfs(suite: &Suite, n: usize, disk: &str) -> Result<()> {
    let dir = suite.work.join("xfs-check");
    suite.cluster.sh(
        n,
        &format!(
            "set -e; mkfs.xfs -q -f {disk}; mkdir -p {d}; mount {disk} {d}; \
             printf %s '{PRECIOUS_TEXT}' > {d}/{PRECIOUS}; umount {d}",
            d = dir.display()
        ),
    )?;
    Ok(())
}

/// Mount the xfs disk again; the file must still be there.
fn xfs_untouched(suite: &Suite, n: usize, disk: &str) -> Result<()> {
    let dir = suite.work.join("xfs-check");
    let out = suite.cluster.sh(
        n,
        &format!(
            "set -e; mount -o ro {disk} {d}; cat {d}/{PRECIOUS}; umount {d}",
            d = dir.display()
        ),
    )?;
    ensure!(
        out == PRECIOUS_TEXT,
        "{disk} on node {n}: the file now holds {out:?}"
    );
    Ok(())
}

fn topology_file(suite: &Suite) -> Result<serde_json::Value> {
    let mut nodes = Vec::new();
    for n in suite.cluster.nodes()? {
        let addr = suite.cluster.addr(n)?;
        nodes.push(json!({
            "node": {"hostnames": {"manage": [addr], "storage": [addr]}, "zone": n},
            "devices": suite.cluster.disks(n)?.iter()
                .map(|d| json!({"name": d, "destroydata": false}))
                .collect::<Vec<_>>(),
        }));
    }
    Ok(json!({"clusters": [{"nodes": nodes}]}))
}

pub fn run(suite: &mut Suite) -> Result<()> {
    let sp = special(suite)?;
    suite
        .cluster
        .exec(sp.gpt.0, &["parted", "-s", &sp.gpt.1, "mklabel", "gpt"])?;
    let sigs = node::signatures(&suite.cluster, sp.gpt.0, &sp.gpt.1)?;
    ensure!(
        sigs.iter().any(|s| s == "gpt"),
        "no GPT label after parted: {sigs:?}"
    );
    prepare_xfs(suite, sp.xfs.0, &sp.xfs.1)?;

    let file = suite.work.join("topology.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&topology_file(suite)?)?)
        .context("writing topology.json")?;
    let out = suite
        .cli
        .run(&["topology", "load", &format!("--json={}", file.display())])?;
    eprintln!("{out}");

    // The xfs disk: refused, with a message naming the device and what is on it.
    let refusal = out
        .lines()
        .find(|l| l.contains(&format!("Adding device {} ", sp.xfs.1)))
        .context(format!("no line about {} in:\n{out}", sp.xfs.1))?;
    ensure!(
        refusal.contains("Unable to add device") && refusal.contains("xfs"),
        "the xfs disk was not refused with a message naming xfs: {refusal}"
    );
    ensure!(
        refusal.contains("destroydata") || refusal.contains("destroy-existing-data"),
        "the refusal does not say how to proceed: {refusal}"
    );
    let sigs = node::signatures(&suite.cluster, sp.xfs.0, &sp.xfs.1)?;
    ensure!(sigs == ["xfs"], "{} signatures now {sigs:?}", sp.xfs.1);
    xfs_untouched(suite, sp.xfs.0, &sp.xfs.1)?;

    // Every other disk: added, a PV + VG on its node, API sizes = LVM's.
    let devices = suite.api.devices()?;
    let hosts = suite.api.node_hosts()?;
    ensure!(
        hosts.len() == 3,
        "expected 3 nodes, the API has {}",
        hosts.len()
    );
    let mut expected = 0;
    for n in suite.cluster.nodes()? {
        let pvs = node::pvs(&suite.cluster, n)?;
        for disk in suite.cluster.disks(n)? {
            if (n, &disk) == (sp.xfs.0, &sp.xfs.1) {
                ensure!(
                    !pvs.iter().any(|p| p.starts_with(&disk)),
                    "node {n}: the refused {disk} became a PV: {pvs:?}"
                );
                continue;
            }
            expected += 1;
            let Some((id, _)) = devices.iter().find(|(_, (node_id, d))| {
                d["name"] == disk.as_str()
                    && hosts.get(node_id).map(String::as_str)
                        == Some(&suite.cluster.addr(n).unwrap_or_default())
            }) else {
                bail!("node {n}: {disk} is not in the topology:\n{out}");
            };
            let pv = pvs
                .iter()
                .find(|p| p.starts_with(&format!("{disk} ")))
                .context(format!("node {n}: {disk} is not a PV: {pvs:?}"))?;
            ensure!(
                pv.ends_with(&format!("vg_{id}")),
                "node {n}: {pv} is not in vg_{id}"
            );
        }
    }
    ensure!(
        devices.len() == expected,
        "the API has {} devices, {expected} expected",
        devices.len()
    );
    let sigs = node::signatures(&suite.cluster, sp.gpt.0, &sp.gpt.1)?;
    ensure!(
        sigs == ["LVM2_member"],
        "the GPT disk should now carry only the PV label: {sigs:?}"
    );
    suite.space_matches()?;

    // The trusted pool: every node sees the two others connected.
    for n in suite.cluster.nodes()? {
        let peers = suite.cluster.gluster(n, &["peer", "status"])?;
        let connected = peers.matches("Peer in Cluster (Connected)").count();
        ensure!(connected == 2, "node {n} peer status:\n{peers}");
    }
    Ok(())
}
