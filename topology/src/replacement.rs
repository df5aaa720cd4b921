//! Placement of one replacement brick for brick eviction (docs/node-commands.md §10
//! step 4): same size, another device, a node the other bricks of the set do not use, the
//! same zone, tag and arbiter rules as volume placement.

use crate::error::{PlacementError, SpaceShortage};
use crate::placement::{
    random_id, rotation, Attempt, BrickIds, DeviceCandidate, PlannedBrick, Segment, SetUse, Slot,
    ZoneChecking,
};
use crate::ring::DeviceIndex;
use crate::sizing::{brick_reservation, DEFAULT_EXTENT_KIB};
use crate::tags::{ArbiterRole, TagMatch};
use heqet_api::layout::Layout;
use rand::Rng;

/// What to place instead of an evicted brick.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplacementRequest {
    /// Size of the brick being replaced (already the arbiter size for an arbiter brick).
    pub brick_kib: u64,
    /// Layout of the volume; with `position` it says whether this is an arbiter brick.
    pub layout: Layout,
    /// Set of the old brick; copied to the result.
    pub set: usize,
    /// Position of the old brick in its set; copied to the result.
    pub position: usize,
    /// Snapshot factor of the volume (1.0 when snapshots are disabled).
    pub snapshot_factor: f32,
    /// Devices that must not be used (at least the old brick's device).
    pub avoid_devices: Vec<String>,
    /// Nodes of the other bricks of the set.
    pub avoid_nodes: Vec<String>,
    /// Zones of the other bricks of the set: excluded with strict zone checking, avoided
    /// when possible otherwise.
    pub avoid_zones: Vec<i64>,
    /// Whether the set must span distinct zones.
    pub zone_checking: ZoneChecking,
    /// `user.heketi.device-tag-match` rule of the volume, if any.
    pub tag_match: Option<TagMatch>,
}

/// Picks a device for a replacement brick. Like heketi, the new brick takes the placement
/// id and keeps `tp_<its own random id>` as thin pool.
pub fn place_replacement(
    devices: &[DeviceCandidate],
    req: &ReplacementRequest,
    rng: &mut impl Rng,
) -> Result<PlannedBrick, PlacementError> {
    if !devices.iter().any(|d| d.online) {
        return Err(PlacementError::NoOnlineDevices);
    }
    let index = DeviceIndex::new(devices, |d| {
        d.online
            && !req.avoid_devices.contains(&d.id)
            && !req.avoid_nodes.contains(&d.node_id)
            && req.tag_match.as_ref().is_none_or(|t| t.matches(&d.tags))
    });
    let arbiter = req.layout.is_arbiter_position(req.position);
    let role = |d: usize| ArbiterRole::from_tags(&devices[d].tags);
    let (first_ring, second_ring) = if req.layout != Layout::Arbiter {
        (index.ring(|_| true), Vec::new())
    } else if arbiter {
        (
            index.ring(|d| role(d) == ArbiterRole::ArbiterOnly),
            index.ring(|d| role(d) == ArbiterRole::Both),
        )
    } else {
        (
            index.ring(|d| role(d) == ArbiterRole::DataOnly),
            index.ring(|d| role(d) == ArbiterRole::Both),
        )
    };

    let placement_id = random_id(rng);
    let rot = rotation(placement_id);
    let segments = [
        Segment::new(&first_ring, rot),
        Segment::new(&second_ring, rot),
    ];
    let strict = req.zone_checking == ZoneChecking::Strict;
    let attempt = Attempt::new(devices, &index, req.snapshot_factor, strict);
    // Avoided nodes are already out of the index; their zones count as used by the set.
    let used = SetUse {
        nodes: Vec::new(),
        zones: req.avoid_zones.clone(),
    };
    match attempt.pick(&segments, req.brick_kib, &used) {
        Some((d, r)) => {
            let ids = BrickIds {
                id: placement_id,
                pool: random_id(rng),
            };
            let slot = Slot {
                size_kib: req.brick_kib,
                arbiter,
                set: req.set,
                position: req.position,
            };
            Ok(attempt.brick(d, ids, r, slot))
        }
        None => {
            let largest = index
                .devices()
                .iter()
                .map(|&d| &devices[d])
                .max_by_key(|d| d.free_kib);
            let extent = largest.map_or(DEFAULT_EXTENT_KIB, |d| d.extent_kib);
            Err(PlacementError::NoReplacement(Box::new(SpaceShortage {
                bricks: 1,
                set_size: 1,
                requested_kib_per_brick: req.brick_kib,
                reserved_kib_per_brick: brick_reservation(
                    req.brick_kib,
                    req.snapshot_factor,
                    extent,
                )
                .total_kib,
                smallest_tried: None,
                strict_zones: strict,
                tag_match: req.tag_match.clone(),
                eligible_devices: index.devices().len(),
                largest_free_kib: largest.map_or(0, |d| d.free_kib),
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    const GIB: u64 = crate::sizing::GIB_KIB;

    fn dev(id: &str, node: &str, zone: i64, role: Option<&str>) -> DeviceCandidate {
        let mut tags = BTreeMap::new();
        if let Some(r) = role {
            tags.insert("arbiter".to_string(), r.to_string());
        }
        DeviceCandidate {
            id: id.into(),
            node_id: node.into(),
            zone,
            free_kib: 100 * GIB,
            extent_kib: DEFAULT_EXTENT_KIB,
            online: true,
            tags,
        }
    }

    fn req() -> ReplacementRequest {
        ReplacementRequest {
            brick_kib: 10 * GIB,
            layout: Layout::Replicate { replica: 3 },
            set: 1,
            position: 0,
            snapshot_factor: 1.0,
            avoid_devices: vec!["old".into()],
            avoid_nodes: vec!["n2".into(), "n3".into()],
            avoid_zones: vec![2, 3],
            zone_checking: ZoneChecking::None,
            tag_match: None,
        }
    }

    fn place(
        devices: &[DeviceCandidate],
        r: &ReplacementRequest,
    ) -> Result<PlannedBrick, PlacementError> {
        place_replacement(devices, r, &mut StdRng::seed_from_u64(5))
    }

    #[test]
    fn avoids_old_device_and_set_nodes() {
        let devices = [
            dev("old", "n1", 1, None),
            dev("x2", "n2", 2, None),
            dev("x3", "n3", 3, None),
            dev("new", "n1", 1, None),
        ];
        let Ok(b) = place(&devices, &req()) else {
            panic!("must place")
        };
        assert_eq!(
            (b.device_id.as_str(), b.set, b.position, b.size_kib),
            ("new", 1, 0, 10 * GIB)
        );
        // Replacement bricks take the placement id and keep their own pool name.
        assert_ne!(b.thin_pool, format!("tp_{}", b.id));
    }

    #[test]
    fn prefers_an_unused_zone_and_strict_requires_it() {
        let devices = [dev("a", "n4", 2, None), dev("b", "n5", 4, None)];
        for seed in 0..20 {
            let got = place_replacement(&devices, &req(), &mut StdRng::seed_from_u64(seed));
            assert_eq!(got.map(|b| b.device_id).ok().as_deref(), Some("b"));
        }
        let devices = [dev("a", "n4", 2, None)];
        assert!(place(&devices, &req()).is_ok());
        let mut strict = req();
        strict.zone_checking = ZoneChecking::Strict;
        let err = place(&devices, &strict).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("No Replacement was found for resource requested to be removed: need 1 brick of 10.0 GiB"),
            "{text}"
        );
    }

    #[test]
    fn arbiter_positions_follow_arbiter_tags() {
        let devices = [
            dev("arb", "n4", 1, Some("required")),
            dev("data", "n5", 1, Some("disabled")),
        ];
        let mut r = req();
        r.layout = Layout::Arbiter;
        r.position = 2;
        r.brick_kib = 163840;
        let Ok(b) = place(&devices, &r) else {
            panic!("must place")
        };
        assert_eq!((b.device_id.as_str(), b.arbiter), ("arb", true));
        r.position = 1;
        let Ok(b) = place(&devices, &r) else {
            panic!("must place")
        };
        assert_eq!((b.device_id.as_str(), b.arbiter), ("data", false));
    }

    #[test]
    fn nothing_online() {
        let mut d = dev("a", "n4", 1, None);
        d.online = false;
        assert_eq!(place(&[d], &req()), Err(PlacementError::NoOnlineDevices));
    }
}
