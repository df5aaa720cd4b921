//! Brick placement for volume create and expand (docs/node-commands.md §12.3–12.4).
//!
//! heketi's algorithm, made deterministic for a given rng: the ring of eligible devices
//! (see [`crate::ring`]) is rotated per set by a random placement id, and each brick takes
//! the first device in ring order that is on a node the set does not use yet, passes the
//! zone and tag filters and has room. One refinement over heketi: without strict zone
//! checking a brick first looks for a device in a zone the set does not use yet, and only
//! then takes any device, so a set spans as many zones as its eligible devices allow.
//! Space taken by earlier bricks of the same attempt is tracked, so a device is never
//! over-committed. Cost: O(d log d) to index plus O(bricks × d) worst case per attempt.

use crate::error::{PlacementError, SpaceShortage};
use crate::ring::DeviceIndex;
use crate::sizing::{
    arbiter_brick_size, brick_reservation, brick_size_candidates, volume_kib, Candidate,
    Reservation, DEFAULT_EXTENT_KIB,
};
use crate::tags::{ArbiterRole, TagMatch};
use heqet_api::layout::Layout;
use rand::Rng;
use std::collections::BTreeMap;

pub use crate::sizing::Limits;

/// A device the placer may use, with what placement needs to know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceCandidate {
    /// Device id (32 hex).
    pub id: String,
    /// Id of the device's node.
    pub node_id: String,
    /// Zone of the device's node (1 or more).
    pub zone: i64,
    /// Free space, KiB.
    pub free_kib: u64,
    /// LVM extent size of the device's volume group, KiB (normally 4096).
    pub extent_kib: u64,
    /// Device online AND node online AND node healthy.
    pub online: bool,
    /// Effective tags: node tags overlaid by device tags.
    pub tags: BTreeMap<String, String>,
}

/// Whether bricks of a set must be in distinct zones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZoneChecking {
    /// Distinct zones are preferred, distinct nodes required.
    #[default]
    None,
    /// Distinct zones required.
    Strict,
}

/// A volume create or expand, as placement sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeRequest {
    /// Requested (or expansion) size in GiB.
    pub size_gib: u64,
    /// Shape of the brick sets.
    pub layout: Layout,
    /// 1.0 when snapshots are disabled.
    pub snapshot_factor: f32,
    /// Bricks the volume already has (expand), counted against the brick limit.
    pub existing_bricks: usize,
    /// Whether sets must span distinct zones.
    pub zone_checking: ZoneChecking,
    /// `user.heketi.device-tag-match` rule, if any.
    pub tag_match: Option<TagMatch>,
    /// `user.heketi.average-file-size` in KiB (64 by default); used by arbiter sizing.
    pub average_file_kib: u64,
}

/// One brick to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedBrick {
    /// 32 lowercase hex characters.
    pub id: String,
    /// Device that holds the brick.
    pub device_id: String,
    /// Node of that device.
    pub node_id: String,
    /// Brick (thin LV virtual) size, KiB.
    pub size_kib: u64,
    /// Thin pool size, KiB.
    pub tp_kib: u64,
    /// Thin pool metadata size, KiB.
    pub metadata_kib: u64,
    /// `tp_<x>`; for the first brick of a set x is not the brick id (heketi's caveat).
    pub thin_pool: String,
    /// Whether this is the arbiter brick of its set.
    pub arbiter: bool,
    /// Index of the brick set (0-based, within this placement).
    pub set: usize,
    /// Position within the set; the arbiter is position 2.
    pub position: usize,
}

impl PlannedBrick {
    /// What the brick takes from its device's free space.
    pub fn reserved_kib(&self) -> u64 {
        self.tp_kib.saturating_add(self.metadata_kib)
    }
}

/// The result of [`place_volume`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// In gluster order: set by set, positions ascending (arbiter last in its set).
    pub bricks: Vec<PlannedBrick>,
    /// Number of brick sets.
    pub sets: usize,
    /// Size of the data bricks, KiB.
    pub brick_size_kib: u64,
}

/// A random heketi id: 32 lowercase hex characters.
pub(crate) fn random_id(rng: &mut impl Rng) -> u128 {
    rng.gen()
}

pub(crate) fn hex_id(id: u128) -> String {
    format!("{id:032x}")
}

/// heketi rotates the ring to `int(R[0:7], 16)`: the top 28 bits of the id.
pub(crate) fn rotation(id: u128) -> usize {
    (id >> 100) as usize
}

/// A ring and the position to start walking it from.
pub(crate) struct Segment<'r> {
    pub ring: &'r [usize],
    pub start: usize,
}

impl<'r> Segment<'r> {
    pub fn new(ring: &'r [usize], rotation: usize) -> Self {
        let start = if ring.is_empty() {
            0
        } else {
            rotation % ring.len()
        };
        Segment { ring, start }
    }

    fn walk(&self) -> impl Iterator<Item = usize> + '_ {
        let (head, tail) = self.ring.split_at(self.start);
        tail.iter().chain(head).copied()
    }
}

/// Space and set bookkeeping of one placement attempt.
pub(crate) struct Attempt<'a> {
    pub devices: &'a [DeviceCandidate],
    pub index: &'a DeviceIndex,
    /// KiB reserved per device (by input position) by this attempt.
    pub taken: Vec<u64>,
    pub factor: f32,
    pub strict: bool,
}

/// The brick id and the id in its thin pool name.
pub(crate) struct BrickIds {
    pub id: u128,
    pub pool: u128,
}

/// Where a brick goes in the volume and how big it is.
pub(crate) struct Slot {
    pub size_kib: u64,
    pub arbiter: bool,
    pub set: usize,
    pub position: usize,
}

/// Nodes and zones already used by the set being placed.
#[derive(Default)]
pub(crate) struct SetUse {
    pub nodes: Vec<usize>,
    pub zones: Vec<i64>,
}

impl SetUse {
    fn clear(&mut self) {
        self.nodes.clear();
        self.zones.clear();
    }
}

impl<'a> Attempt<'a> {
    pub fn new(
        devices: &'a [DeviceCandidate],
        index: &'a DeviceIndex,
        factor: f32,
        strict: bool,
    ) -> Self {
        Attempt {
            devices,
            index,
            taken: vec![0; devices.len()],
            factor,
            strict,
        }
    }

    fn reset(&mut self) {
        self.taken.fill(0);
    }

    /// The first device along `segments` that may take a brick of `size_kib` for a set
    /// using `used`; a device in a zone the set does not use wins over one in a used zone.
    pub fn pick(
        &self,
        segments: &[Segment<'_>],
        size_kib: u64,
        used: &SetUse,
    ) -> Option<(usize, Reservation)> {
        let mut fallback = None;
        for d in segments.iter().flat_map(Segment::walk) {
            let Some(node) = self.index.node_of(d) else {
                continue;
            };
            if used.nodes.contains(&node) {
                continue;
            }
            let zone = self.index.nodes[node].zone;
            let new_zone = !used.zones.contains(&zone);
            if self.strict && !new_zone {
                continue;
            }
            if !new_zone && fallback.is_some() {
                continue;
            }
            let device = &self.devices[d];
            let reservation = brick_reservation(size_kib, self.factor, device.extent_kib);
            let free = device.free_kib.saturating_sub(self.taken[d]);
            if !reservation.fits_in(free) {
                continue;
            }
            if new_zone {
                return Some((d, reservation));
            }
            fallback = Some((d, reservation));
        }
        fallback
    }

    /// Records the brick on device `d` for the set and the attempt.
    pub fn take(&mut self, d: usize, reservation: Reservation, used: &mut SetUse) {
        self.taken[d] = self.taken[d].saturating_add(reservation.total_kib);
        if let Some(node) = self.index.node_of(d) {
            used.nodes.push(node);
            used.zones.push(self.index.nodes[node].zone);
        }
    }

    /// The planned brick on device `d`.
    pub fn brick(
        &self,
        d: usize,
        ids: BrickIds,
        reservation: Reservation,
        slot: Slot,
    ) -> PlannedBrick {
        let device = &self.devices[d];
        let Slot {
            size_kib,
            arbiter,
            set,
            position,
        } = slot;
        PlannedBrick {
            id: hex_id(ids.id),
            device_id: device.id.clone(),
            node_id: device.node_id.clone(),
            size_kib,
            tp_kib: reservation.tp_kib,
            metadata_kib: reservation.metadata_kib,
            thin_pool: format!("tp_{}", hex_id(ids.pool)),
            arbiter,
            set,
            position,
        }
    }
}

/// The rings a placement walks.
enum Rings {
    /// One ring of all eligible devices.
    Standard(Vec<usize>),
    /// Arbiter volumes: devices by their `arbiter` tag.
    Arbiter {
        arbiter_only: Vec<usize>,
        data_only: Vec<usize>,
        both: Vec<usize>,
    },
}

impl Rings {
    fn build(index: &DeviceIndex, devices: &[DeviceCandidate], layout: Layout) -> Rings {
        if layout != Layout::Arbiter {
            return Rings::Standard(index.ring(|_| true));
        }
        let role = |d: usize| ArbiterRole::from_tags(&devices[d].tags);
        Rings::Arbiter {
            arbiter_only: index.ring(|d| role(d) == ArbiterRole::ArbiterOnly),
            data_only: index.ring(|d| role(d) == ArbiterRole::DataOnly),
            both: index.ring(|d| role(d) == ArbiterRole::Both),
        }
    }
}

/// Sizes of one candidate: data bricks and (for arbiter volumes) the arbiter brick.
struct BrickSizes {
    data_kib: u64,
    arbiter_kib: u64,
}

/// Places the bricks of a new volume (or of an expansion) on `devices`.
///
/// Tries heketi's candidates (1, 2, 4, … sets) in order and returns the first that fits
/// entirely. Ids and ring rotations come from `rng`, so a seeded rng gives reproducible
/// placements.
pub fn place_volume(
    devices: &[DeviceCandidate],
    req: &VolumeRequest,
    limits: &Limits,
    rng: &mut impl Rng,
) -> Result<Placement, PlacementError> {
    let set_size = req.layout.set_size();
    if set_size == 0 || req.layout.data_bricks() == 0 {
        return Err(PlacementError::InvalidLayout(format!("{:?}", req.layout)));
    }
    if !devices.iter().any(|d| d.online) {
        return Err(PlacementError::NoOnlineDevices);
    }
    let index = DeviceIndex::new(devices, |d| {
        d.online && req.tag_match.as_ref().is_none_or(|t| t.matches(&d.tags))
    });
    let rings = Rings::build(&index, devices, req.layout);
    let strict = req.zone_checking == ZoneChecking::Strict;
    let mut attempt = Attempt::new(devices, &index, req.snapshot_factor, strict);
    let mut bricks = Vec::new();
    let mut used = SetUse::default();
    let mut first: Option<Candidate> = None;
    let mut last: Option<Candidate> = None;

    let candidates = brick_size_candidates(
        volume_kib(req.size_gib)?,
        req.layout,
        req.existing_bricks,
        *limits,
    );
    for candidate in candidates {
        let candidate = match candidate {
            Ok(c) => c,
            Err(stop) if first.is_none() => return Err(stop.into()),
            Err(_) => break,
        };
        let sizes = BrickSizes {
            data_kib: candidate.brick_kib,
            arbiter_kib: match req.layout {
                Layout::Arbiter => arbiter_brick_size(candidate.brick_kib, req.average_file_kib)?,
                _ => 0,
            },
        };
        first.get_or_insert(candidate);
        last = Some(candidate);
        attempt.reset();
        bricks.clear();
        let placed = (0..candidate.sets).all(|set| {
            used.clear();
            place_set(
                &mut attempt,
                &rings,
                &sizes,
                set,
                set_size,
                &mut used,
                &mut bricks,
                rng,
            )
        });
        if placed {
            return Ok(Placement {
                bricks,
                sets: candidate.sets,
                brick_size_kib: candidate.brick_kib,
            });
        }
    }
    let Some(first) = first else {
        return Err(PlacementError::MaxBricks);
    };
    Err(PlacementError::NoSpace(Box::new(shortage(
        devices,
        &index,
        req,
        first,
        last.filter(|l| *l != first),
    ))))
}

/// Places one set; appends its bricks in gluster order. False if a brick found no device.
#[allow(clippy::too_many_arguments)]
fn place_set(
    attempt: &mut Attempt<'_>,
    rings: &Rings,
    sizes: &BrickSizes,
    set: usize,
    set_size: usize,
    used: &mut SetUse,
    bricks: &mut Vec<PlannedBrick>,
    rng: &mut impl Rng,
) -> bool {
    let placement_id = random_id(rng);
    let rot = rotation(placement_id);
    match rings {
        Rings::Standard(ring) => {
            let segments = [Segment::new(ring, rot)];
            for position in 0..set_size {
                let Some((d, r)) = attempt.pick(&segments, sizes.data_kib, used) else {
                    return false;
                };
                attempt.take(d, r, used);
                let own_id = random_id(rng);
                // heketi: the first brick takes the placement id but keeps tp_<own id>.
                let id = if position == 0 { placement_id } else { own_id };
                let ids = BrickIds { id, pool: own_id };
                let slot = Slot {
                    size_kib: sizes.data_kib,
                    arbiter: false,
                    set,
                    position,
                };
                bricks.push(attempt.brick(d, ids, r, slot));
            }
        }
        Rings::Arbiter {
            arbiter_only,
            data_only,
            both,
        } => {
            let arbiter_segments = [Segment::new(arbiter_only, rot), Segment::new(both, rot)];
            let data_segments = [Segment::new(data_only, rot), Segment::new(both, rot)];
            let start = bricks.len();
            // Arbiter first, then data bricks 1 and 0 (§12.4); ids stay random.
            for position in (0..set_size).rev() {
                let arbiter = position == 2;
                let (segments, size) = if arbiter {
                    (&arbiter_segments, sizes.arbiter_kib)
                } else {
                    (&data_segments, sizes.data_kib)
                };
                let Some((d, r)) = attempt.pick(segments, size, used) else {
                    return false;
                };
                attempt.take(d, r, used);
                let id = random_id(rng);
                let slot = Slot {
                    size_kib: size,
                    arbiter,
                    set,
                    position,
                };
                bricks.push(attempt.brick(d, BrickIds { id, pool: id }, r, slot));
            }
            bricks[start..].reverse();
        }
    }
    true
}

/// The numbers for a `No space` error.
fn shortage(
    devices: &[DeviceCandidate],
    index: &DeviceIndex,
    req: &VolumeRequest,
    first: Candidate,
    smallest: Option<Candidate>,
) -> SpaceShortage {
    let largest = index
        .devices()
        .iter()
        .map(|&d| &devices[d])
        .max_by_key(|d| d.free_kib);
    let extent = largest.map_or(DEFAULT_EXTENT_KIB, |d| d.extent_kib);
    let set_size = req.layout.set_size();
    SpaceShortage {
        bricks: first.sets.saturating_mul(set_size),
        set_size,
        requested_kib_per_brick: first.brick_kib,
        reserved_kib_per_brick: brick_reservation(first.brick_kib, req.snapshot_factor, extent)
            .total_kib,
        smallest_tried: smallest.map(|c| (c.sets, c.brick_kib)),
        strict_zones: req.zone_checking == ZoneChecking::Strict,
        tag_match: req.tag_match.clone(),
        eligible_devices: index.devices().len(),
        largest_free_kib: largest.map_or(0, |d| d.free_kib),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing::GIB_KIB;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn dev(id: &str, node: &str, zone: i64, free_kib: u64) -> DeviceCandidate {
        DeviceCandidate {
            id: id.into(),
            node_id: node.into(),
            zone,
            free_kib,
            extent_kib: DEFAULT_EXTENT_KIB,
            online: true,
            tags: BTreeMap::new(),
        }
    }

    fn tagged(mut d: DeviceCandidate, k: &str, v: &str) -> DeviceCandidate {
        d.tags.insert(k.into(), v.into());
        d
    }

    fn req(size_gib: u64, layout: Layout) -> VolumeRequest {
        VolumeRequest {
            size_gib,
            layout,
            snapshot_factor: 1.0,
            existing_bricks: 0,
            zone_checking: ZoneChecking::None,
            tag_match: None,
            average_file_kib: 64,
        }
    }

    const R3: Layout = Layout::Replicate { replica: 3 };
    const BIG: u64 = 1 << 40;

    fn place(
        devices: &[DeviceCandidate],
        r: &VolumeRequest,
        seed: u64,
    ) -> Result<Placement, PlacementError> {
        place_volume(
            devices,
            r,
            &Limits::default(),
            &mut StdRng::seed_from_u64(seed),
        )
    }

    fn is_id(s: &str) -> bool {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    #[test]
    fn replica_three_on_three_nodes() {
        let devices = [
            dev("d1", "n1", 1, BIG),
            dev("d2", "n2", 1, BIG),
            dev("d3", "n3", 1, BIG),
        ];
        let Ok(p) = place(&devices, &req(10, R3), 1) else {
            panic!("must place")
        };
        assert_eq!(
            (p.sets, p.brick_size_kib, p.bricks.len()),
            (1, 10 * GIB_KIB, 3)
        );
        let nodes: BTreeSet<_> = p.bricks.iter().map(|b| b.node_id.as_str()).collect();
        assert_eq!(nodes.len(), 3);
        for (i, b) in p.bricks.iter().enumerate() {
            assert_eq!((b.set, b.position, b.arbiter), (0, i, false));
            assert_eq!(
                (b.tp_kib, b.metadata_kib, b.reserved_kib()),
                (10485760, 53248, 10539008)
            );
            assert!(is_id(&b.id), "{}", b.id);
            let pool = b.thin_pool.strip_prefix("tp_").unwrap_or("");
            assert!(is_id(pool));
            // heketi's caveat: only the first brick of a set has a pool named after another id.
            assert_eq!(pool == b.id, i != 0, "brick {i}");
        }
    }

    #[test]
    fn seeded_rng_gives_the_same_placement() {
        let devices: Vec<_> = (0..30)
            .map(|i| {
                dev(
                    &format!("d{i:02}"),
                    &format!("n{}", i / 3),
                    i as i64 % 4 + 1,
                    BIG,
                )
            })
            .collect();
        let a = place(
            &devices,
            &req(
                100,
                Layout::Disperse {
                    data: 4,
                    redundancy: 2,
                },
            ),
            7,
        );
        let mut shuffled = devices.clone();
        shuffled.reverse();
        let b = place(
            &shuffled,
            &req(
                100,
                Layout::Disperse {
                    data: 4,
                    redundancy: 2,
                },
            ),
            7,
        );
        assert!(a.is_ok());
        assert_eq!(a, b);
        let c = place(
            &devices,
            &req(
                100,
                Layout::Disperse {
                    data: 4,
                    redundancy: 2,
                },
            ),
            8,
        );
        assert_ne!(a, c);
    }

    #[test]
    fn too_few_nodes_is_no_space_with_numbers() {
        let devices = [
            dev("d1", "n1", 1, BIG),
            dev("d2", "n1", 1, BIG),
            dev("d3", "n2", 1, 9650000),
        ];
        let err = place(&devices, &req(10, R3), 1).err();
        let Some(PlacementError::NoSpace(s)) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (s.bricks, s.set_size, s.eligible_devices, s.largest_free_kib),
            (3, 3, 3, BIG)
        );
        assert_eq!(s.smallest_tried, Some((8, 1310720)));
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("No space: need 3 bricks of 10.0 GiB"),
            "{text}"
        );
    }

    #[test]
    fn space_of_one_attempt_is_tracked_per_device_and_strict() {
        let one = brick_reservation(GIB_KIB, 1.0, DEFAULT_EXTENT_KIB).total_kib;
        // Distribute 2 GiB with 1 GiB maximum bricks: 2 × 1 GiB on the only device fits only
        // if free > 2 × r.
        let limits = Limits {
            max_brick_kib: GIB_KIB,
            ..Limits::default()
        };
        let place = |free: u64| {
            let devices = [dev("d1", "n1", 1, free)];
            place_volume(
                &devices,
                &req(2, Layout::None),
                &limits,
                &mut StdRng::seed_from_u64(3),
            )
        };
        let Ok(p) = place(2 * one + 1) else {
            panic!("must place")
        };
        assert_eq!((p.sets, p.bricks.len()), (2, 2));
        assert!(p.bricks.iter().all(|b| b.device_id == "d1"));
        let err = place(2 * one).err();
        assert!(matches!(err, Some(PlacementError::NoSpace(_))), "{err:?}");
    }

    #[test]
    fn strict_zones_need_enough_zones() {
        let devices = [
            dev("d1", "n1", 1, BIG),
            dev("d2", "n2", 1, BIG),
            dev("d3", "n3", 2, BIG),
        ];
        let mut r = req(10, R3);
        assert!(place(&devices, &r, 1).is_ok());
        r.zone_checking = ZoneChecking::Strict;
        let err = place(&devices, &r, 1).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("on distinct nodes in distinct zones"),
            "{text}"
        );
    }

    #[test]
    fn zones_are_spread_whenever_possible() {
        // Zone 1 has many nodes, zones 2 and 3 one small node each: every set must still
        // span all three zones.
        let mut devices: Vec<_> = (0..8)
            .map(|i| dev(&format!("a{i}"), &format!("za{i}"), 1, BIG))
            .collect();
        devices.push(dev("b0", "zb0", 2, 11 * GIB_KIB));
        devices.push(dev("c0", "zc0", 3, 11 * GIB_KIB));
        for seed in 0..50 {
            let Ok(p) = place(&devices, &req(10, R3), seed) else {
                panic!("must place")
            };
            let zones: BTreeSet<_> = p
                .bricks
                .iter()
                .filter_map(|b| devices.iter().find(|d| d.id == b.device_id).map(|d| d.zone))
                .collect();
            assert_eq!(zones.len(), 3, "seed {seed}");
        }
    }

    #[test]
    fn offline_devices_are_never_used() {
        let mut devices = [
            dev("d1", "n1", 1, BIG),
            dev("d2", "n2", 1, BIG),
            dev("d3", "n3", 1, BIG),
        ];
        devices[1].online = false;
        let err = place(&devices, &req(10, R3), 1).err();
        let Some(PlacementError::NoSpace(s)) = err else {
            panic!("{err:?}")
        };
        assert_eq!(s.eligible_devices, 2);
        for d in &mut devices {
            d.online = false;
        }
        assert_eq!(
            place(&devices, &req(10, R3), 1),
            Err(PlacementError::NoOnlineDevices)
        );
        assert_eq!(
            place(&[], &req(10, R3), 1),
            Err(PlacementError::NoOnlineDevices)
        );
    }

    #[test]
    fn tag_filter_is_respected() {
        let devices = [
            tagged(dev("d1", "n1", 1, BIG), "tier", "gold"),
            tagged(dev("d2", "n1", 1, BIG), "tier", "silver"),
            tagged(dev("d3", "n2", 1, BIG), "tier", "gold"),
            dev("d4", "n2", 1, BIG),
        ];
        let mut r = req(10, Layout::Replicate { replica: 2 });
        r.tag_match = TagMatch::parse("tier=gold").ok();
        for seed in 0..20 {
            let Ok(p) = place(&devices, &r, seed) else {
                panic!("must place")
            };
            let used: BTreeSet<_> = p.bricks.iter().map(|b| b.device_id.as_str()).collect();
            assert_eq!(used, BTreeSet::from(["d1", "d3"]));
        }
        r.tag_match = TagMatch::parse("tier!=gold").ok();
        let Ok(p) = place(&devices, &r, 1) else {
            panic!("must place")
        };
        let used: BTreeSet<_> = p.bricks.iter().map(|b| b.device_id.as_str()).collect();
        assert_eq!(used, BTreeSet::from(["d2", "d4"]));
        r.tag_match = TagMatch::parse("tier=platinum").ok();
        let text = place(&devices, &r, 1)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            text.contains("eligible devices (matching tier=platinum): 0"),
            "{text}"
        );
    }

    #[test]
    fn arbiter_volume_uses_arbiter_tags() {
        let devices = [
            tagged(dev("a1", "n1", 1, GIB_KIB), "arbiter", "required"),
            tagged(dev("d1", "n1", 1, BIG), "arbiter", "disabled"),
            tagged(dev("d2", "n2", 1, BIG), "arbiter", "disabled"),
            tagged(dev("d3", "n3", 1, BIG), "arbiter", "disabled"),
        ];
        for seed in 0..20 {
            let Ok(p) = place(&devices, &req(10, Layout::Arbiter), seed) else {
                panic!("must place")
            };
            assert_eq!(p.bricks.len(), 3);
            let arb = &p.bricks[2];
            assert_eq!(
                (arb.position, arb.arbiter, arb.device_id.as_str()),
                (2, true, "a1")
            );
            assert_eq!((arb.size_kib, arb.reserved_kib()), (307200, 311296));
            assert!(p.bricks[..2]
                .iter()
                .all(|b| !b.arbiter && b.size_kib == 10 * GIB_KIB));
            assert!(p.bricks[..2].iter().all(|b| b.node_id != "n1"));
            // No placement id for arbiter volumes: every pool is named after its brick.
            assert!(p
                .bricks
                .iter()
                .all(|b| b.thin_pool == format!("tp_{}", b.id)));
        }
        let mut r = req(10, Layout::Arbiter);
        r.average_file_kib = 0;
        assert!(matches!(
            place(&devices, &r, 1),
            Err(PlacementError::Sizing(_))
        ));
    }

    #[test]
    fn stop_errors_before_any_attempt() {
        let devices = [dev("d1", "n1", 1, BIG)];
        let disperse = Layout::Disperse {
            data: 4,
            redundancy: 2,
        };
        assert_eq!(
            place(&devices, &req(1, disperse), 1),
            Err(PlacementError::MinBrickSize)
        );
        let mut r = req(10, R3);
        r.existing_bricks = 30;
        assert_eq!(place(&devices, &r, 1), Err(PlacementError::MaxBricks));
        let bad = req(10, Layout::Replicate { replica: 0 });
        assert!(matches!(
            place(&devices, &bad, 1),
            Err(PlacementError::InvalidLayout(_))
        ));
        let bad = req(
            10,
            Layout::Disperse {
                data: 0,
                redundancy: 2,
            },
        );
        assert!(matches!(
            place(&devices, &bad, 1),
            Err(PlacementError::InvalidLayout(_))
        ));
        assert!(matches!(
            place(&devices, &req(u64::MAX, R3), 1),
            Err(PlacementError::Sizing(_))
        ));
    }

    #[test]
    fn large_volumes_use_more_sets() {
        let devices: Vec<_> = (0..9)
            .map(|i| {
                dev(
                    &format!("d{i}"),
                    &format!("n{i}"),
                    i % 3 + 1,
                    3 * 1024 * GIB_KIB,
                )
            })
            .collect();
        let Ok(p) = place(&devices, &req(5 * 1024, R3), 2) else {
            panic!("must place")
        };
        assert_eq!(
            (p.sets, p.bricks.len(), p.brick_size_kib),
            (2, 6, 2684354560)
        );
        for (i, b) in p.bricks.iter().enumerate() {
            assert_eq!((b.set, b.position), (i / 3, i % 3));
        }
    }
}
