//! Property tests of volume and replacement placement on random small topologies.
//!
//! Checked on every successful placement: shape and gluster order, distinct nodes per set,
//! distinct zones per set with strict zone checking, zone spread without it (see
//! `zone_spread`), offline devices never used, tag rule and arbiter tags respected, every
//! reservation consistent with the sizing rules, no device over-committed (strictly less
//! than its free space), sizes and set counts following heketi's candidate sequence, ids well
//! formed and unique, and determinism for a seed. On failure: NoOnlineDevices exactly when
//! nothing is online, and for `No space` with a one-set first candidate (non-arbiter), an
//! exhaustive check that no single set of that size could have been placed.

use heqet_api::layout::Layout;
use heqet_topology::placement::{
    place_volume, DeviceCandidate, Limits, Placement, VolumeRequest, ZoneChecking,
};
use heqet_topology::replacement::{place_replacement, ReplacementRequest};
use heqet_topology::sizing::{arbiter_brick_size, brick_reservation, volume_kib, GIB_KIB};
use heqet_topology::tags::{ArbiterRole, TagMatch};
use heqet_topology::PlacementError;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const LAYOUTS: [Layout; 8] = [
    Layout::None,
    Layout::Replicate { replica: 2 },
    Layout::Replicate { replica: 3 },
    Layout::Arbiter,
    Layout::Disperse {
        data: 2,
        redundancy: 1,
    },
    Layout::Disperse {
        data: 4,
        redundancy: 2,
    },
    Layout::Disperse {
        data: 8,
        redundancy: 3,
    },
    Layout::Disperse {
        data: 8,
        redundancy: 4,
    },
];

fn tag_value(choice: u8, values: &[&str]) -> Option<String> {
    values.get(choice as usize).map(|v| v.to_string())
}

prop_compose! {
    fn device(node: usize, zone: i64, index: usize)(
        free_gib_tenths in 0u64..600,
        online in prop::bool::weighted(0.85),
        extent in prop::sample::select(vec![4096u64, 4096, 1024]),
        tier in 0u8..4,
        arbiter in 0u8..6,
    ) -> DeviceCandidate {
        let mut tags = BTreeMap::new();
        if let Some(t) = tag_value(tier, &["gold", "silver"]) {
            tags.insert("tier".to_string(), t);
        }
        if let Some(a) = tag_value(arbiter, &["required", "disabled", "supported"]) {
            tags.insert("arbiter".to_string(), a);
        }
        DeviceCandidate {
            id: format!("dev{node:02}{index}"),
            node_id: format!("node{node:02}"),
            zone,
            free_kib: free_gib_tenths * GIB_KIB / 10,
            extent_kib: extent,
            online,
            tags,
        }
    }
}

/// 1–6 zones, 1–12 nodes, 1–5 devices per node.
fn topology() -> impl Strategy<Value = Vec<DeviceCandidate>> {
    (1i64..=6, 1usize..=12)
        .prop_flat_map(|(zones, nodes)| prop::collection::vec((1..=zones, 1usize..=5), nodes))
        .prop_flat_map(|nodes| {
            let per_node: Vec<_> = nodes
                .iter()
                .enumerate()
                .map(|(n, &(zone, count))| {
                    (0..count)
                        .map(move |i| device(n, zone, i))
                        .collect::<Vec<_>>()
                })
                .collect();
            per_node.prop_map(|v| v.into_iter().flatten().collect::<Vec<_>>())
        })
}

fn request() -> impl Strategy<Value = (VolumeRequest, Limits)> {
    (
        prop::sample::select(LAYOUTS.to_vec()),
        1u64..=60,
        prop::sample::select(vec![1.0f32, 1.2, 1.5, 2.0]),
        0usize..=8,
        prop::bool::weighted(0.3),
        0u8..4,
        prop::bool::ANY,
    )
        .prop_map(
            |(layout, size_gib, factor, existing, strict, tag, small_bricks)| {
                let tag_match = match tag {
                    0 => TagMatch::parse("tier=gold").ok(),
                    1 => TagMatch::parse("tier!=gold").ok(),
                    _ => None,
                };
                let req = VolumeRequest {
                    size_gib,
                    layout,
                    snapshot_factor: factor,
                    existing_bricks: existing,
                    zone_checking: if strict {
                        ZoneChecking::Strict
                    } else {
                        ZoneChecking::None
                    },
                    tag_match,
                    average_file_kib: 64,
                };
                // Small maximum bricks make several sets common.
                let limits = if small_bricks {
                    Limits {
                        max_brick_kib: 8 * GIB_KIB,
                        ..Limits::default()
                    }
                } else {
                    Limits::default()
                };
                (req, limits)
            },
        )
}

fn eligible(d: &DeviceCandidate, req: &VolumeRequest) -> bool {
    d.online && req.tag_match.as_ref().is_none_or(|t| t.matches(&d.tags))
}

fn check_success(
    devices: &[DeviceCandidate],
    req: &VolumeRequest,
    limits: &Limits,
    p: &Placement,
) -> Result<(), TestCaseError> {
    let by_id: HashMap<&str, &DeviceCandidate> =
        devices.iter().map(|d| (d.id.as_str(), d)).collect();
    let set_size = req.layout.set_size();
    let strict = req.zone_checking == ZoneChecking::Strict;

    // Sizes and set count follow the candidate sequence.
    let v = volume_kib(req.size_gib).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(p.sets.is_power_of_two());
    prop_assert_eq!(
        p.brick_size_kib,
        v / p.sets as u64 / req.layout.data_bricks()
    );
    prop_assert!(
        p.brick_size_kib >= limits.min_brick_kib && p.brick_size_kib <= limits.max_brick_kib
    );
    prop_assert!(p.sets * set_size + req.existing_bricks <= limits.max_bricks_per_volume);
    prop_assert_eq!(p.bricks.len(), p.sets * set_size);

    let mut taken: HashMap<&str, u64> = HashMap::new();
    let mut ids = BTreeSet::new();
    for (i, b) in p.bricks.iter().enumerate() {
        prop_assert_eq!((b.set, b.position), (i / set_size, i % set_size));
        prop_assert_eq!(b.arbiter, req.layout.is_arbiter_position(b.position));
        let Some(d) = by_id.get(b.device_id.as_str()) else {
            return Err(TestCaseError::fail(format!(
                "unknown device {}",
                b.device_id
            )));
        };
        prop_assert_eq!(&b.node_id, &d.node_id);
        prop_assert!(eligible(d, req), "device {} not eligible", d.id);
        let size = if b.arbiter {
            arbiter_brick_size(p.brick_size_kib, req.average_file_kib)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
        } else {
            p.brick_size_kib
        };
        prop_assert_eq!(b.size_kib, size);
        let r = brick_reservation(size, req.snapshot_factor, d.extent_kib);
        prop_assert_eq!((b.tp_kib, b.metadata_kib), (r.tp_kib, r.metadata_kib));
        *taken.entry(d.id.as_str()).or_default() += r.total_kib;
        if req.layout == Layout::Arbiter {
            let role = ArbiterRole::from_tags(&d.tags);
            let allowed = if b.arbiter {
                ArbiterRole::ArbiterOnly
            } else {
                ArbiterRole::DataOnly
            };
            prop_assert!(
                role == allowed || role == ArbiterRole::Both,
                "{role:?} for {b:?}"
            );
        }
        let is_id =
            |s: &str| s.len() == 32 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        prop_assert!(is_id(&b.id));
        prop_assert!(b.thin_pool.strip_prefix("tp_").is_some_and(is_id));
        prop_assert!(ids.insert(b.id.clone()), "duplicate id {}", b.id);
    }
    for (id, total) in &taken {
        let free = by_id.get(id).map_or(0, |d| d.free_kib);
        prop_assert!(
            *total < free,
            "device {id}: reserved {total} of free {free}"
        );
    }

    for (s, set) in p.bricks.chunks(set_size).enumerate() {
        let nodes: BTreeSet<_> = set.iter().map(|b| b.node_id.as_str()).collect();
        prop_assert_eq!(nodes.len(), set_size, "set {} shares a node", s);
        let zones: BTreeSet<i64> = set
            .iter()
            .filter_map(|b| by_id.get(b.device_id.as_str()).map(|d| d.zone))
            .collect();
        if strict {
            prop_assert_eq!(zones.len(), set_size, "set {} shares a zone", s);
        } else if req.layout != Layout::Arbiter {
            zone_spread(devices, req, p, s, zones.len())?;
        }
    }
    Ok(())
}

/// Without strict zone checking, set `s` spans min(set size, Z) zones, where Z is the number
/// of zones holding an eligible device with room for a brick after the sets placed before
/// `s`. (Greedy proof: a zone the set has not used has no node used by the set, so while
/// such a zone has a fitting device the placer takes one; each pick removes one zone.)
fn zone_spread(
    devices: &[DeviceCandidate],
    req: &VolumeRequest,
    p: &Placement,
    s: usize,
    got: usize,
) -> Result<(), TestCaseError> {
    let set_size = req.layout.set_size();
    let mut taken: HashMap<&str, u64> = HashMap::new();
    for b in &p.bricks[..s * set_size] {
        *taken.entry(b.device_id.as_str()).or_default() += b.reserved_kib();
    }
    let zones_with_room: BTreeSet<i64> = devices
        .iter()
        .filter(|d| eligible(d, req))
        .filter(|d| {
            let left = d
                .free_kib
                .saturating_sub(taken.get(d.id.as_str()).copied().unwrap_or(0));
            brick_reservation(p.brick_size_kib, req.snapshot_factor, d.extent_kib).fits_in(left)
        })
        .map(|d| d.zone)
        .collect();
    let want = set_size.min(zones_with_room.len());
    prop_assert!(got >= want, "set {s} spans {got} zones, {want} possible");
    Ok(())
}

/// Whether one set of `brick_kib` bricks fits (exhaustive, by the matroid argument: pick
/// one fitting device per distinct node, or per distinct zone with strict checking).
fn one_set_fits(devices: &[DeviceCandidate], req: &VolumeRequest, brick_kib: u64) -> bool {
    let strict = req.zone_checking == ZoneChecking::Strict;
    let groups: BTreeSet<String> = devices
        .iter()
        .filter(|d| eligible(d, req))
        .filter(|d| {
            brick_reservation(brick_kib, req.snapshot_factor, d.extent_kib).fits_in(d.free_kib)
        })
        .map(|d| {
            if strict {
                d.zone.to_string()
            } else {
                d.node_id.clone()
            }
        })
        .collect();
    groups.len() >= req.layout.set_size()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn placement_properties(devices in topology(), (req, limits) in request(), seed in any::<u64>()) {
        let result = place_volume(&devices, &req, &limits, &mut StdRng::seed_from_u64(seed));
        let again = place_volume(&devices, &req, &limits, &mut StdRng::seed_from_u64(seed));
        prop_assert_eq!(&result, &again);
        match &result {
            Ok(p) => check_success(&devices, &req, &limits, p)?,
            Err(PlacementError::NoOnlineDevices) => {
                prop_assert!(devices.iter().all(|d| !d.online));
            }
            Err(PlacementError::NoSpace(s)) => {
                prop_assert!(devices.iter().any(|d| d.online));
                let one_set = s.bricks == s.set_size;
                if one_set && req.layout != Layout::Arbiter {
                    prop_assert!(
                        !one_set_fits(&devices, &req, s.requested_kib_per_brick),
                        "No space, yet one set of {} KiB fits", s.requested_kib_per_brick
                    );
                }
            }
            Err(PlacementError::MinBrickSize | PlacementError::MaxBricks) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn replacement_properties(
        devices in topology(),
        seed in any::<u64>(),
        avoid in prop::collection::vec(0usize..12, 0..3),
        strict in any::<bool>(),
        arbiter in any::<bool>(),
        position in 0usize..3,
    ) {
        let avoid_nodes: Vec<String> = avoid.iter().map(|n| format!("node{n:02}")).collect();
        let avoid_zones: Vec<i64> = devices
            .iter()
            .filter(|d| avoid_nodes.contains(&d.node_id))
            .map(|d| d.zone)
            .collect();
        let req = ReplacementRequest {
            brick_kib: GIB_KIB,
            layout: if arbiter { Layout::Arbiter } else { Layout::Replicate { replica: 3 } },
            set: 0,
            position,
            snapshot_factor: 1.0,
            avoid_devices: devices.first().map(|d| d.id.clone()).into_iter().collect(),
            avoid_nodes,
            avoid_zones,
            zone_checking: if strict { ZoneChecking::Strict } else { ZoneChecking::None },
            tag_match: None,
        };
        match place_replacement(&devices, &req, &mut StdRng::seed_from_u64(seed)) {
            Ok(b) => {
                let d = devices.iter().find(|d| d.id == b.device_id);
                let Some(d) = d else { return Err(TestCaseError::fail("unknown device")) };
                prop_assert!(d.online);
                prop_assert!(!req.avoid_devices.contains(&d.id));
                prop_assert!(!req.avoid_nodes.contains(&d.node_id));
                if strict {
                    prop_assert!(!req.avoid_zones.contains(&d.zone));
                }
                prop_assert!(brick_reservation(GIB_KIB, 1.0, d.extent_kib).fits_in(d.free_kib));
                let role = ArbiterRole::from_tags(&d.tags);
                if arbiter && position == 2 {
                    prop_assert!(role != ArbiterRole::DataOnly);
                } else if arbiter {
                    prop_assert!(role != ArbiterRole::ArbiterOnly);
                }
            }
            Err(PlacementError::NoReplacement(_) | PlacementError::NoOnlineDevices) => {
                // Exhaustive: no device satisfies every rule.
                let fits = devices.iter().any(|d| {
                    let role = ArbiterRole::from_tags(&d.tags);
                    let role_ok = !arbiter
                        || (position == 2 && role != ArbiterRole::DataOnly)
                        || (position != 2 && role != ArbiterRole::ArbiterOnly);
                    d.online
                        && !req.avoid_devices.contains(&d.id)
                        && !req.avoid_nodes.contains(&d.node_id)
                        && (!strict || !req.avoid_zones.contains(&d.zone))
                        && role_ok
                        && brick_reservation(GIB_KIB, 1.0, d.extent_kib).fits_in(d.free_kib)
                });
                prop_assert!(!fits, "a device would have fitted");
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
