//! Scenario 7: a device holding a brick goes offline, then `failed` (device remove): the
//! brick is replaced (gluster replace-brick) on another device of the same node, the old
//! brick disappears from the node, and the volume stays healthy (gluster shows the new brick,
//! heal info drains to zero, files stay readable).

use std::time::Duration;

use heqet_e2e::volume::{Brick, Volume};
use heqet_e2e::{bail, ensure, node, poll, Context, Result};

use super::{brick_file, read_back, replica3, write_file, Suite};

const FILES: usize = 20;

fn text(i: usize) -> String {
    format!("file {i} must survive the brick move\n")
}

/// A brick of `vol` whose node has another online device with room for it.
fn movable_brick(suite: &Suite, vol: &Volume) -> Result<Brick> {
    let devices = suite.api.devices()?;
    for b in &vol.bricks {
        let Some((node_id, _)) = devices.get(&b.device) else {
            continue;
        };
        let room = devices.iter().any(|(id, (n, d))| {
            id != &b.device
                && n == node_id
                && d["state"] == "online"
                && d["storage"]["free"].as_u64().unwrap_or(0) > b.size + b.size / 50
        });
        if room {
            return Ok(b.clone());
        }
    }
    bail!(
        "no brick of {} can move to another device of its node",
        vol.name
    )
}

/// Heal info of the volume drains to zero entries on every brick.
fn heal_clean(suite: &Suite, vol: &Volume) -> Result<()> {
    poll(
        "heal info shows no pending entries",
        Duration::from_secs(90),
        Duration::from_secs(1),
        || {
            let entries = node::heal_entries(&suite.cluster, 1, &vol.name)?;
            if entries.iter().all(|(_, n)| *n == Some(0)) {
                Ok(Some(()))
            } else {
                Err(heqet_e2e::Error(format!("heal info: {entries:?}")))
            }
        },
    )
}

pub fn run(suite: &mut Suite) -> Result<()> {
    let vol = suite.create_checked(replica3(1))?;
    let m = suite.mount(&vol)?;
    for i in 0..FILES {
        write_file(&m, &format!("f{i}.txt"), &text(i))?;
    }
    let old = movable_brick(suite, &vol)?;
    let n = suite.node_of(&old)?;
    eprintln!(
        "[e2e] removing device {} (node {n}) with brick {}",
        old.device, old.id
    );

    let r = suite.api.set_device_state(&old.device, "offline")?;
    ensure!(
        r.status == 204,
        "device offline: HTTP {} {}",
        r.status,
        r.body.trim()
    );
    let r = suite.api.set_device_state(&old.device, "failed")?;
    ensure!(
        r.status == 204,
        "device remove: HTTP {} {}",
        r.status,
        r.body.trim()
    );

    // The API: the brick moved off the device, to another device of the same node.
    let moved = suite.api.volume(&vol.id)?;
    ensure!(
        moved.bricks.len() == 3,
        "bricks after remove: {:?}",
        moved.bricks
    );
    ensure!(
        moved.brick(&old.id).is_none(),
        "brick {} still in the volume",
        old.id
    );
    ensure!(
        moved.bricks.iter().all(|b| b.device != old.device),
        "a brick is still on the removed device: {:?}",
        moved.bricks
    );
    let new = moved
        .bricks
        .iter()
        .find(|b| vol.brick(&b.id).is_none())
        .context("no new brick in the volume")?
        .clone();
    ensure!(
        suite.node_of(&new)? == n,
        "the new brick is not on node {n}: {new:?}"
    );
    let dev = suite.api.get_json(&format!("/devices/{}", old.device))?;
    ensure!(
        dev["bricks"].as_array().is_some_and(|b| b.is_empty()),
        "the removed device still holds bricks: {dev}"
    );

    // The nodes and gluster.
    node::brick_absent(&suite.cluster, n, &old)?;
    node::brick_present(&suite.cluster, n, &new)?;
    let info = suite.gluster_matches_api(&moved)?;
    ensure!(
        !info.contains(&old.path),
        "gluster still lists the old brick:\n{info}"
    );
    heal_clean(suite, &moved)?;
    for i in 0..FILES {
        let name = format!("f{i}.txt");
        read_back(&m, &name, &text(i))?;
        let got = brick_file(suite, n, &new, &name)?;
        ensure!(
            got.as_deref() == Some(text(i).as_str()),
            "the new brick lacks {name} after heal: {got:?}"
        );
    }
    drop(m);

    // The failed device can go now; its VG and PV leave the node.
    let r = suite.api.run(
        reqwest::Method::DELETE,
        &format!("/devices/{}", old.device),
        None,
    )?;
    ensure!(
        r.status == 204,
        "device delete: HTTP {} {}",
        r.status,
        r.body.trim()
    );
    let pvs = node::pvs(&suite.cluster, n)?;
    ensure!(
        !pvs.iter().any(|p| p.contains(&old.device)),
        "vg_{} still on node {n}: {pvs:?}",
        old.device
    );
    suite.delete_checked(&moved)?;
    node::all_clean(&suite.cluster)?;
    suite.space_matches()
}
