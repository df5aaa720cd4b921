//! Scenarios 2 and 3: a replica-3 volume from create to delete, checked on the nodes and
//! through a FUSE mount on the host made from the API's mount info.

use std::time::Duration;

use heqet_e2e::{ensure, poll, Context, Result};

use super::{brick_file, read_back, replica3, write_file, Suite};

const FILE: &str = "hello.txt";
const TEXT: &str = "written through the FUSE mount\n";

/// Scenario 2: create, check bricks on the nodes, mount, write, find the file in all bricks.
pub fn create_and_mount(suite: &mut Suite) -> Result<()> {
    let vol = suite.create_checked(replica3(1))?;
    ensure!(
        vol.bricks.len() == 3,
        "{} bricks: {:?}",
        vol.bricks.len(),
        vol.bricks
    );
    let mut nodes: Vec<usize> = vol
        .bricks
        .iter()
        .map(|b| suite.node_of(b))
        .collect::<Result<_>>()?;
    nodes.sort();
    ensure!(
        nodes == [1, 2, 3],
        "replica set not on 3 distinct nodes: {nodes:?}"
    );
    let info = suite.gluster_info(&vol)?;
    ensure!(
        info.contains("Type: Replicate") && info.contains("Number of Bricks: 1 x 3 = 3"),
        "gluster volume info:\n{info}"
    );
    let addr = vol.mount_device.split(':').next().unwrap_or_default();
    let backups: Vec<&str> = vol.backup_volfile_servers.split(',').collect();
    ensure!(
        backups.len() == 2 && !backups.contains(&addr),
        "mount info: device {} backup-volfile-servers {:?}",
        vol.mount_device,
        vol.backup_volfile_servers
    );

    let m = suite.mount(&vol)?;
    write_file(&m, FILE, TEXT)?;
    read_back(&m, FILE, TEXT)?;
    for b in &vol.bricks {
        let n = suite.node_of(b)?;
        let got = brick_file(suite, n, b, FILE)?;
        ensure!(
            got.as_deref() == Some(TEXT),
            "node {n} brick {}: {FILE} holds {got:?}",
            b.path
        );
    }
    suite.carried = Some((vol, m));
    Ok(())
}

/// Scenario 3: expand by 1 GiB (df grows), then delete: nothing left on any node.
pub fn expand_and_delete(suite: &mut Suite) -> Result<()> {
    let (vol, mut m) = suite
        .carried
        .take()
        .context("scenario 2 did not leave its volume")?;
    let before = m.df_size()?;
    let grown = suite.api.expand_volume(&vol.id, 1)?;
    ensure!(grown.size == 2, "size after expand: {}", grown.size);
    ensure!(
        grown.bricks.len() == 6,
        "{} bricks after expand",
        grown.bricks.len()
    );
    suite.bricks_present(&grown)?;
    let info = suite.gluster_matches_api(&grown)?;
    ensure!(
        info.contains("Number of Bricks: 2 x 3 = 6"),
        "gluster volume info after expand:\n{info}"
    );
    // The client picks up the new graph on its own; df then sums both replica sets.
    let after = poll(
        "df on the mount shows the expanded size",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || {
            let s = m.df_size()?;
            Ok((s as f64 > before as f64 * 1.8).then_some(s))
        },
    )?;
    eprintln!("[e2e] df size: {before} bytes before expand, {after} after");
    read_back(&m, FILE, TEXT)?;
    m.umount()?;

    suite.delete_checked(&grown)?;
    heqet_e2e::node::all_clean(&suite.cluster)?;
    suite.space_matches()?;
    Ok(())
}
