//! What is on a storage node, read on the node itself: LVs (through the LVM stand-in),
//! brick mounts, fstab lines, brick directories, gluster volumes, VG free space.

use crate::cluster::Cluster;
use crate::volume::Brick;
use crate::{bail, Context, Error, Result};

/// Where heketi (and heqet) mount bricks.
pub const MOUNTS: &str = "/var/lib/heketi/mounts";

/// Everything brick-related found on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub node: usize,
    /// `vg/lv` of every LV (thin pools and thin LVs).
    pub lvs: Vec<String>,
    /// Mount points under [`MOUNTS`] in the node's `/proc/mounts`.
    pub brick_mounts: Vec<String>,
    /// fstab lines that mention [`MOUNTS`].
    pub fstab_lines: Vec<String>,
    /// `brick_*` directories under [`MOUNTS`]`/vg_*`.
    pub brick_dirs: Vec<String>,
    /// `gluster volume list` as this node's glusterd sees it.
    pub gluster_volumes: Vec<String>,
}

impl NodeView {
    /// Read node `n`. Gluster's view is skipped (empty) when `with_gluster` is false, e.g.
    /// while its glusterd is stopped.
    pub fn read(cluster: &Cluster, n: usize, with_gluster: bool) -> Result<NodeView> {
        Ok(NodeView {
            node: n,
            lvs: lvs(cluster, n)?,
            brick_mounts: brick_mounts(cluster, n)?,
            fstab_lines: fstab_brick_lines(cluster, n)?,
            brick_dirs: brick_dirs(cluster, n)?,
            gluster_volumes: if with_gluster {
                gluster_volumes(cluster, n)?
            } else {
                Vec::new()
            },
        })
    }

    /// No brick of any kind and no gluster volume left.
    pub fn is_clean(&self) -> bool {
        self.lvs.is_empty()
            && self.brick_mounts.is_empty()
            && self.fstab_lines.is_empty()
            && self.brick_dirs.is_empty()
            && self.gluster_volumes.is_empty()
    }

    /// Lines of this view that mention `needle` (a brick or volume id).
    pub fn mentions(&self, needle: &str) -> Vec<String> {
        self.lvs
            .iter()
            .chain(&self.brick_mounts)
            .chain(&self.fstab_lines)
            .chain(&self.brick_dirs)
            .chain(&self.gluster_volumes)
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }
}

/// Every LV of node `n` as `vg/lv`.
pub fn lvs(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let out = cluster.lvm(
        n,
        &["lvs", "--reportformat", "json", "-o", "vg_name,lv_name"],
    )?;
    let v: serde_json::Value =
        serde_json::from_str(&out).context(format!("node {n}: lvs JSON {out:?}"))?;
    let mut list = Vec::new();
    for report in v["report"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        for lv in report["lv"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let vg = lv["vg_name"].as_str().unwrap_or("?");
            let name = lv["lv_name"].as_str().unwrap_or("?");
            list.push(format!("{vg}/{name}"));
        }
    }
    Ok(list)
}

/// Mount points under [`MOUNTS`] on node `n`.
pub fn brick_mounts(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let text = cluster.exec(n, &["cat", "/proc/self/mounts"])?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(MOUNTS))
        .map(str::to_string)
        .collect())
}

/// fstab lines of node `n` that mention [`MOUNTS`].
pub fn fstab_brick_lines(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let fstab = cluster.env("HEQET_E2E_FSTAB")?.to_string();
    let text = cluster.exec(n, &["cat", &fstab])?;
    Ok(text
        .lines()
        .filter(|l| l.contains(MOUNTS))
        .map(str::to_string)
        .collect())
}

/// `brick_*` directories on node `n`.
pub fn brick_dirs(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let out = cluster.sh(
        n,
        &format!("find {MOUNTS} -mindepth 2 -maxdepth 2 -name 'brick_*' 2>/dev/null || true"),
    )?;
    Ok(out.lines().map(str::to_string).collect())
}

/// Volume names node `n`'s glusterd knows.
pub fn gluster_volumes(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let out = cluster.gluster(n, &["volume", "list"])?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("No volumes present"))
        .map(str::to_string)
        .collect())
}

/// Every node holds no brick and no gluster volume. The error lists what is left where.
pub fn all_clean(cluster: &Cluster) -> Result<()> {
    let mut dirty = Vec::new();
    for n in cluster.nodes()? {
        let v = NodeView::read(cluster, n, true)?;
        if !v.is_clean() {
            dirty.push(format!("{v:#?}"));
        }
    }
    if !dirty.is_empty() {
        bail!("leftovers on the nodes:\n{}", dirty.join("\n"));
    }
    Ok(())
}

/// The brick is complete on node `n`: LV, mount, fstab line, brick directory.
pub fn brick_present(cluster: &Cluster, n: usize, b: &Brick) -> Result<()> {
    let v = NodeView::read(cluster, n, false)?;
    let lv = format!("{}/brick_{}", b.vg(), b.id);
    if !v.lvs.contains(&lv) {
        bail!("node {n}: LV {lv} missing; LVs: {:?}", v.lvs);
    }
    let mp = b.mount_point();
    if !v.brick_mounts.iter().any(|m| m == mp) {
        bail!("node {n}: {mp} not mounted; mounts: {:?}", v.brick_mounts);
    }
    if !v.fstab_lines.iter().any(|l| l.contains(mp)) {
        bail!(
            "node {n}: no fstab line for {mp}; fstab: {:?}",
            v.fstab_lines
        );
    }
    cluster
        .exec(n, &["test", "-d", &b.path])
        .context(format!("node {n}: brick dir {} missing", b.path))?;
    Ok(())
}

/// Nothing of the brick is left on node `n`.
pub fn brick_absent(cluster: &Cluster, n: usize, b: &Brick) -> Result<()> {
    let v = NodeView::read(cluster, n, false)?;
    let left = v.mentions(&format!("brick_{}", b.id));
    if !left.is_empty() {
        bail!("node {n}: brick {} left behind: {left:?}", b.id);
    }
    Ok(())
}

/// Free KiB of `vg` on node `n`, as LVM counts it.
pub fn vg_free_kib(cluster: &Cluster, n: usize, vg: &str) -> Result<u64> {
    let out = cluster.lvm(
        n,
        &[
            "vgs",
            "--noheadings",
            "--units",
            "k",
            "--nosuffix",
            "-o",
            "vg_free",
            vg,
        ],
    )?;
    let t = out.trim();
    let f: f64 = t
        .parse()
        .map_err(|e| Error(format!("node {n}: vg_free of {vg} {t:?}: {e}")))?;
    Ok(f.round() as u64)
}

/// PV names (devices) of node `n`.
pub fn pvs(cluster: &Cluster, n: usize) -> Result<Vec<String>> {
    let out = cluster.lvm(n, &["pvs", "--noheadings", "-o", "pv_name,vg_name"])?;
    Ok(out.lines().map(|l| l.trim().to_string()).collect())
}

/// Signatures `wipefs` finds on `disk` (type names, e.g. `xfs`, `LVM2_member`).
pub fn signatures(cluster: &Cluster, n: usize, disk: &str) -> Result<Vec<String>> {
    let out = cluster.exec(n, &["wipefs", "--no-act", "--json", disk])?;
    if out.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(&out).context(format!("wipefs JSON {out:?}"))?;
    Ok(v["signatures"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| s["type"].as_str().map(str::to_string))
        .collect())
}

/// `gluster volume info NAME` on node `n`.
pub fn volume_info(cluster: &Cluster, n: usize, name: &str) -> Result<String> {
    cluster.gluster(n, &["volume", "info", name])
}

/// Pending heal entries per brick (`gluster volume heal NAME info`): `(brick, entries)`;
/// entries is `None` when gluster cannot tell (brick down).
pub fn heal_entries(cluster: &Cluster, n: usize, name: &str) -> Result<Vec<(String, Option<u64>)>> {
    let out = cluster.gluster(n, &["volume", "heal", name, "info"])?;
    let mut list = Vec::new();
    let mut brick = String::new();
    for line in out.lines() {
        if let Some(b) = line.strip_prefix("Brick ") {
            brick = b.trim().to_string();
        } else if let Some(c) = line.strip_prefix("Number of entries:") {
            list.push((brick.clone(), c.trim().parse().ok()));
        }
    }
    if list.is_empty() {
        bail!("node {n}: no bricks in heal info of {name}: {out}");
    }
    Ok(list)
}
