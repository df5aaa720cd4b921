//! Scenario 5: a node's glusterd is stopped while a volume is deleted. The delete must fail
//! with a message naming that node, and leave the volume listed and working; once glusterd
//! is back, the delete succeeds and leaves nothing behind.

use heqet_e2e::{ensure, Result};

use super::{read_back, replica3, write_file, Suite};

const DOWN: usize = 2;
/// A node whose glusterd stays up, to look at the volume from.
const UP: usize = 1;
const FILE: &str = "survivor.txt";
const TEXT: &str = "still here after a failed delete\n";

pub fn run(suite: &mut Suite) -> Result<()> {
    let vol = suite.create_checked(replica3(1))?;
    {
        let m = suite.mount(&vol)?;
        write_file(&m, FILE, TEXT)?;
    }
    suite.cluster.fault("glusterd-stop", DOWN)?;
    let down_addr = suite.cluster.addr(DOWN)?;

    let r = suite.api.delete_volume(&vol.id)?;
    eprintln!(
        "[e2e] delete with glusterd stopped on {down_addr}: HTTP {} {}",
        r.status,
        r.body.trim()
    );
    ensure!(
        r.status >= 400,
        "delete succeeded although glusterd of {down_addr} is stopped"
    );
    ensure!(
        r.body.contains(&down_addr),
        "the error does not name the node whose glusterd is down ({down_addr}): {}",
        r.body.trim()
    );

    // Still listed, still in gluster, still usable.
    ensure!(
        suite.api.volume_ids()?.contains(&vol.id),
        "{} is no longer listed after the failed delete",
        vol.id
    );
    let still = suite.api.volume(&vol.id)?;
    ensure!(
        still.bricks.len() == 3,
        "bricks after failed delete: {:?}",
        still.bricks
    );
    suite.bricks_present(&still)?;
    let info = suite.gluster_info_on(&still, UP)?;
    ensure!(
        info.contains("Status: Started"),
        "the volume is not started after the failed delete:\n{info}"
    );
    {
        let m = suite.mount(&still)?;
        read_back(&m, FILE, TEXT)?;
    }

    suite.cluster.fault("glusterd-start", DOWN)?;
    // Wait until the peers see each other again, or the delete would fail once more.
    suite.wait_peers_connected()?;
    suite.delete_checked(&still)?;
    heqet_e2e::node::all_clean(&suite.cluster)?;
    suite.space_matches()
}
