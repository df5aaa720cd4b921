//! The scenarios of the real-cluster suite and what they share ([`Suite`]).

pub mod bench;
pub mod crash;
pub mod csi;
pub mod device_remove;
pub mod glusterd_down;
pub mod layouts;
pub mod replica;
pub mod topology;

use std::path::{Path, PathBuf};

use heqet_e2e::api::Api;
use heqet_e2e::cli::Cli;
use heqet_e2e::cluster::Cluster;
use heqet_e2e::mount::FuseMount;
use heqet_e2e::server::Server;
use heqet_e2e::volume::{Brick, Volume};
use heqet_e2e::{bail, node, Context, Result};
use serde_json::{json, Value};

/// The server, its clients and the cluster. Field order = drop order: the server stops
/// before the cluster goes down.
pub struct Suite {
    pub server: Server,
    pub api: Api,
    pub cli: Cli,
    /// Scratch space on the host (mount points, files).
    pub work: PathBuf,
    /// A volume handed from scenario 2 to scenario 3, with its mount.
    pub carried: Option<(Volume, FuseMount)>,
    /// The `heqet-csi` binary, or why it could not be built (only the CSI scenarios need it).
    pub csi_bin: Result<PathBuf>,
    pub cluster: Cluster,
}

impl Suite {
    pub fn start(cluster: Cluster, bin: PathBuf, csi_bin: Result<PathBuf>) -> Result<Suite> {
        let work = cluster.state().join("heqet");
        let _ = std::fs::remove_dir_all(&work);
        let server = Server::start(&bin, &work, cluster.sshexec()?)?;
        let api = Api::new(&server.url())?;
        let cli = Cli {
            bin,
            server: server.url(),
        };
        eprintln!(
            "[e2e] heqet serve at {} (log {})",
            server.url(),
            server.log_path().display()
        );
        Ok(Suite {
            server,
            api,
            cli,
            work,
            carried: None,
            csi_bin,
            cluster,
        })
    }

    /// Between scenarios: all glusterds running, no volume left, nodes clean.
    pub fn reset(&mut self) -> Result<()> {
        if self.carried.is_some() {
            return Ok(()); // scenario 3 continues with it
        }
        for n in self.cluster.nodes()? {
            self.cluster.fault("glusterd-start", n)?;
        }
        let left = self.api.volume_ids()?;
        self.api.delete_all_volumes()?;
        node::all_clean(&self.cluster)?;
        if !left.is_empty() {
            bail!("the scenario left volumes behind: {left:?}");
        }
        Ok(())
    }

    /// Where to mount a volume on the host.
    pub fn mount_dir(&self, name: &str) -> PathBuf {
        self.work.join("mnt").join(name)
    }

    /// Mount `vol` on the host with its API mount info.
    pub fn mount(&self, vol: &Volume) -> Result<FuseMount> {
        FuseMount::mount(vol, &self.mount_dir(&vol.name), &self.work.join("logs"))
    }

    /// The cluster node (1-based) holding `brick`.
    pub fn node_of(&self, brick: &Brick) -> Result<usize> {
        let hosts = self.api.node_hosts()?;
        let host = hosts
            .get(&brick.node)
            .context(format!("brick {} on unknown node {}", brick.id, brick.node))?;
        self.cluster.node_of(host)
    }

    /// Every brick of `vol` is complete on its node.
    pub fn bricks_present(&self, vol: &Volume) -> Result<()> {
        for b in &vol.bricks {
            node::brick_present(&self.cluster, self.node_of(b)?, b)?;
        }
        Ok(())
    }

    /// `gluster volume info` of `vol` on the node of its first brick.
    pub fn gluster_info(&self, vol: &Volume) -> Result<String> {
        let first = vol.bricks.first().context("volume without bricks")?;
        node::volume_info(&self.cluster, self.node_of(first)?, &vol.name)
    }

    /// `gluster volume info` of `vol` on node `n`.
    pub fn gluster_info_on(&self, vol: &Volume, n: usize) -> Result<String> {
        node::volume_info(&self.cluster, n, &vol.name)
    }

    /// `gluster volume info` lists exactly the bricks the API reports, and the volume runs.
    pub fn gluster_matches_api(&self, vol: &Volume) -> Result<String> {
        let info = self.gluster_info(vol)?;
        heqet_e2e::ensure!(
            info.contains("Status: Started"),
            "{} is not started:\n{info}",
            vol.name
        );
        let hosts = self.api.node_hosts()?;
        let listed = info
            .lines()
            .filter(|l| l.starts_with("Brick") && l.contains(": "))
            .count();
        heqet_e2e::ensure!(
            listed == vol.bricks.len(),
            "gluster lists {listed} bricks, the API {}:\n{info}",
            vol.bricks.len()
        );
        for b in &vol.bricks {
            let host = hosts.get(&b.node).context("brick node")?;
            let spec = format!("{host}:{}", b.path);
            heqet_e2e::ensure!(
                info.contains(&spec),
                "gluster volume info lacks {spec}:\n{info}"
            );
        }
        Ok(info)
    }

    /// Create a volume and check it on the nodes and in gluster.
    pub fn create_checked(&self, req: Value) -> Result<Volume> {
        let vol = self.api.create_volume(&req)?;
        self.bricks_present(&vol)?;
        self.gluster_matches_api(&vol)?;
        Ok(vol)
    }

    /// Delete a volume (must succeed) and check that nothing of it is left on any node.
    pub fn delete_checked(&self, vol: &Volume) -> Result<()> {
        let r = self.api.delete_volume(&vol.id)?;
        heqet_e2e::ensure!(
            r.status == 204,
            "deleting {}: HTTP {} {}",
            vol.name,
            r.status,
            r.body.trim()
        );
        self.volume_gone(vol)
    }

    /// No brick of `vol` on its node, no gluster volume of that name anywhere, API 404.
    pub fn volume_gone(&self, vol: &Volume) -> Result<()> {
        for b in &vol.bricks {
            node::brick_absent(&self.cluster, self.node_of(b)?, b)?;
        }
        for n in self.cluster.nodes()? {
            let names = node::gluster_volumes(&self.cluster, n)?;
            heqet_e2e::ensure!(
                !names.contains(&vol.name),
                "node {n} still has gluster volume {}",
                vol.name
            );
        }
        let r = self.api.get(&format!("/volumes/{}", vol.id))?;
        heqet_e2e::ensure!(
            r.status == 404,
            "GET /volumes/{} after delete: HTTP {}",
            vol.id,
            r.status
        );
        Ok(())
    }

    /// Poll until every node's glusterd sees all its peers connected (after a glusterd
    /// restart; until then volume commands fail).
    pub fn wait_peers_connected(&self) -> Result<()> {
        let nodes = self.cluster.nodes()?;
        let others = nodes.len().saturating_sub(1);
        for &n in &nodes {
            heqet_e2e::poll(
                &format!("node {n} sees its {others} peers connected"),
                std::time::Duration::from_secs(60),
                std::time::Duration::from_millis(500),
                || {
                    let s = self.cluster.gluster(n, &["peer", "status"])?;
                    Ok((s.matches("Peer in Cluster (Connected)").count() == others).then_some(()))
                },
            )?;
        }
        Ok(())
    }

    /// Every device's free space in the API equals its VG's free space on the node.
    pub fn space_matches(&self) -> Result<()> {
        let hosts = self.api.node_hosts()?;
        let mut wrong = Vec::new();
        for (id, (node_id, dev)) in self.api.devices()? {
            let host = hosts.get(&node_id).context("device node")?;
            let n = self.cluster.node_of(host)?;
            let api_free = dev["storage"]["free"].as_u64().context("storage.free")?;
            let vg_free = node::vg_free_kib(&self.cluster, n, &format!("vg_{id}"))?;
            if api_free != vg_free {
                wrong.push(format!(
                    "device {id} ({} on node {n}): API free {api_free} KiB, VG free {vg_free} KiB",
                    dev["name"]
                ));
            }
        }
        heqet_e2e::ensure!(
            wrong.is_empty(),
            "space accounting differs:\n{}",
            wrong.join("\n")
        );
        Ok(())
    }
}

/// A replica-3 volume request of `gib` GiB.
pub fn replica3(gib: u64) -> Value {
    json!({"size": gib, "durability": {"type": "replicate", "replicate": {"replica": 3}}})
}

/// Write `text` into `name` on the mount and sync it.
pub fn write_file(m: &FuseMount, name: &str, text: &str) -> Result<()> {
    write_synced(&m.path(name), text)
}

/// Read `name` from the mount; must equal `text`.
pub fn read_back(m: &FuseMount, name: &str, text: &str) -> Result<()> {
    read_expect(&m.path(name), text)
}

/// Write `text` into the file `p` and sync it.
pub fn write_synced(p: &Path, text: &str) -> Result<()> {
    std::fs::write(p, text).context(format!("writing {}", p.display()))?;
    let f = std::fs::File::open(p).context(format!("opening {}", p.display()))?;
    f.sync_all().context(format!("fsync {}", p.display()))?;
    Ok(())
}

/// Read the file `p`; must equal `text`.
pub fn read_expect(p: &Path, text: &str) -> Result<()> {
    let got = std::fs::read_to_string(p).context(format!("reading {}", p.display()))?;
    heqet_e2e::ensure!(got == text, "{} holds {got:?}, wrote {text:?}", p.display());
    Ok(())
}

/// The content of `name` in a brick directory on node `n` (None if absent).
pub fn brick_file(suite: &Suite, n: usize, brick: &Brick, name: &str) -> Result<Option<String>> {
    let path = format!("{}/{name}", brick.path);
    let out = suite.cluster.exec_output(n, &["cat", &path])?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}
