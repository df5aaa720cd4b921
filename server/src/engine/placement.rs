//! Placement policy of volume operations: the server's limits, the options a volume carries
//! (zone checking, device tags, average file size), and turning a placement into brick rows.
//! No I/O.

use heqet_api::layout::Layout;
use heqet_api::VolumeCreateRequest;
use heqet_executor::brick_path;
use heqet_topology::placement::{self, DeviceCandidate, Limits, Placement, VolumeRequest};
use heqet_topology::TagMatch;

use super::Engine;
use crate::model::{BrickRow, Change, VolumeRow};
use crate::validate;

pub(super) const GIB_KIB: u64 = 1024 * 1024;
pub(super) const NO_DEVICES: &str = "No online storage devices in cluster";

impl Engine {
    pub(super) fn limits(&self) -> Limits {
        Limits {
            min_brick_kib: self.config.brick_min_size_gb * GIB_KIB,
            max_brick_kib: self.config.brick_max_size_gb * GIB_KIB,
            max_bricks_per_volume: self.config.max_bricks_per_volume,
        }
    }

    /// What placement is asked for, from a size, a layout and the volume's options.
    pub(super) fn placement_request(
        &self,
        size_gib: u64,
        layout: Layout,
        factor: f32,
        existing_bricks: usize,
        options: &[(String, String)],
    ) -> Result<VolumeRequest, String> {
        let opt = |k: &str| {
            options
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let zone_checking = match opt("user.heketi.zone-checking") {
            Some("strict") => placement::ZoneChecking::Strict,
            Some("none") => placement::ZoneChecking::None,
            Some(other) => return Err(format!("Invalid zone checking value: {other}")),
            None => self.config.zone_checking,
        };
        let tag_match = match opt("user.heketi.device-tag-match") {
            Some(v) => Some(TagMatch::parse(v).map_err(|e| e.to_string())?),
            None => None,
        };
        let average_file_kib = match opt("user.heketi.average-file-size") {
            Some(v) => v
                .parse()
                .map_err(|_| format!("Invalid average file size: {v}"))?,
            None => self.config.average_file_size_kb,
        };
        Ok(VolumeRequest {
            size_gib,
            layout,
            snapshot_factor: factor,
            existing_bricks,
            zone_checking,
            tag_match,
            average_file_kib,
        })
    }

    /// The placement request for more bricks of an existing volume.
    pub(super) fn request_for(
        &self,
        vol: &VolumeRow,
        size_gib: u64,
        existing_bricks: usize,
    ) -> Result<VolumeRequest, String> {
        self.placement_request(
            size_gib,
            vol.layout.0,
            vol.snapshot_factor as f32,
            existing_bricks,
            &parsed_options(&vol.options),
        )
    }

    /// Options stored with a volume, as heketi stores them: server pre-request options,
    /// block-hosting options, the request's options, server post-request options.
    pub(super) fn stored_options(&self, req: &VolumeCreateRequest) -> Vec<String> {
        let mut opts = self.config.pre_request_volume_options.clone();
        if req.block {
            opts.push("group gluster-block".to_string());
        }
        opts.extend(req.glustervolumeoptions.iter().cloned());
        opts.extend(self.config.post_request_volume_options.iter().cloned());
        opts
    }
}

/// The stored option strings as `(key, value)` pairs; entries that do not parse (empty ones)
/// are skipped.
pub(super) fn parsed_options(opts: &[String]) -> Vec<(String, String)> {
    opts.iter()
        .filter_map(|o| validate::parse_option(o).ok())
        .collect()
}

pub(super) fn place(
    devices: &[DeviceCandidate],
    req: &VolumeRequest,
    limits: &Limits,
) -> Result<Placement, String> {
    if !devices.iter().any(|d| d.online) {
        return Err(NO_DEVICES.into());
    }
    let mut rng = rand::thread_rng();
    placement::place_volume(devices, req, limits, &mut rng).map_err(|e| e.to_string())
}

/// Brick rows for a placement, owned by `op_id` until it finishes.
pub(super) fn brick_rows(
    p: &Placement,
    volume_id: &str,
    op_id: &str,
    first_position: i64,
) -> Vec<BrickRow> {
    p.bricks
        .iter()
        .enumerate()
        .map(|(i, b)| BrickRow {
            id: b.id.clone(),
            volume_id: volume_id.to_string(),
            device_id: b.device_id.clone(),
            node_id: b.node_id.clone(),
            path: brick_path(&b.device_id, &b.id),
            size: b.size_kib as i64,
            tp_size: b.tp_kib as i64,
            pool_metadata_size: b.metadata_kib as i64,
            thin_pool: b.thin_pool.clone(),
            lv: format!("brick_{}", b.id),
            arbiter: b.arbiter,
            position: first_position + i as i64,
            pending_op: Some(op_id.to_string()),
        })
        .collect()
}

/// The journal's change list for bricks added to a volume, then the volume itself.
pub(super) fn brick_changes(bricks: &[BrickRow], volume_id: &str, what: &str) -> Vec<Change> {
    bricks
        .iter()
        .map(|b| change(&b.id, "Add brick"))
        .chain(std::iter::once(change(volume_id, what)))
        .collect()
}

pub(super) fn change(id: &str, description: &str) -> Change {
    Change {
        id: id.to_string(),
        description: description.to_string(),
    }
}

/// An f32 as the f64 with the same shortest decimal (1.2f32 -> 1.2, not 1.2000000476…).
pub(super) fn f32_as_f64(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}
