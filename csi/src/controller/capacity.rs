//! GetCapacity: the largest volume of a class's type that a create could get, from the free
//! space heketi reports per device.
//!
//! The model follows heketi's allocator (docs/node-commands.md §12): a volume of G GiB is
//! tried as n = 1, 2, 4, … brick sets (at most 32 bricks, each brick 1 GiB … 4 TiB) of
//! S = G / n / data bricks; every brick of a set goes to a different node and lives on one
//! device, which must have strictly more free space than the brick's thin pool (S × snap
//! factor, rounded up to the 4 MiB extent) plus its pool metadata (0.5 % of the pool, at most
//! 16 GiB, rounded up to the extent). For a given n and S the sets fit exactly when
//! Σ over nodes of min(bricks the node's devices hold, n) ≥ width × n. With many sets this
//! approaches the node-total bound "largest x with Σ min(F_i, x) ≥ width × x"; the per-device
//! fit and the 32-brick limit make the answer smaller when devices are small.
//!
//! heketi places sets greedily in a randomly rotated device ring, so a create close to this
//! size can still fail; the answer is what the space allows, not a promise.

use heqet_api::types::{state, NodeInfoResponse, VolumeDurabilityInfo};

/// 1 GiB in KiB (heketi reports device space in KiB).
pub const GIB_KIB: u64 = 1 << 20;
/// LVM's default extent size; heketi's device info does not report the real one.
pub const EXTENT_KIB: u64 = 4096;
/// heketi's defaults (`brick_min_size_gb`, `brick_max_size_gb`, `max_bricks_per_volume`).
pub const MIN_BRICK_KIB: u64 = GIB_KIB;
pub const MAX_BRICK_KIB: u64 = 4096 * GIB_KIB;
pub const MAX_BRICKS_PER_VOLUME: u64 = 32;
/// heketi's cap on a thin pool's metadata.
pub const MAX_POOL_METADATA_KIB: u64 = 16 * GIB_KIB;

/// Free space of one cluster: for each node, the free KiB of each device a brick may go to
/// (online devices of online nodes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterFree {
    pub nodes: Vec<Vec<u64>>,
}

impl ClusterFree {
    /// From heketi's node infos (`GET /nodes/{id}`); offline or failed nodes and devices are
    /// left out, as heketi's placement leaves them out.
    pub fn from_nodes(nodes: &[NodeInfoResponse]) -> ClusterFree {
        ClusterFree {
            nodes: nodes
                .iter()
                .filter(|n| n.state == state::ONLINE)
                .map(|n| {
                    n.devices
                        .iter()
                        .filter(|d| d.state == state::ONLINE)
                        .map(|d| d.storage.free)
                        .collect()
                })
                .collect(),
        }
    }
}

/// (bricks per set, data bricks per set) as heketi builds the type; `None` for a type heketi
/// refuses.
fn shape(d: &VolumeDurabilityInfo) -> Option<(u64, u64)> {
    match d.kind.as_str() {
        "" | "none" => Some((1, 1)),
        // heketi builds replica 2 when the count is missing.
        "replicate" => match d.replicate.replica {
            0 => Some((2, 1)),
            r @ 1..=3 => Some((r as u64, 1)),
            _ => None,
        },
        // The only combinations heketi accepts.
        "disperse" => match (d.disperse.data, d.disperse.redundancy) {
            (data @ (2 | 4 | 8), r @ (1..=4))
                if matches!((data, r), (2, 1) | (4, 2) | (8, 3) | (8, 4)) =>
            {
                Some(((data + r) as u64, data as u64))
            }
            _ => None,
        },
        _ => None,
    }
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to).saturating_mul(to)
}

/// What a brick of `size_kib` takes from its device (thin pool + metadata), heketi's rule.
fn reservation_kib(size_kib: u64, factor: f32) -> u64 {
    // heketi multiplies in float64 by the float32 factor; `as` saturates, never panics.
    let pool = round_up((size_kib as f64 * f64::from(factor)) as u64, EXTENT_KIB);
    let metadata = round_up(
        ((pool as f64 * 0.005) as u64).min(MAX_POOL_METADATA_KIB),
        EXTENT_KIB,
    );
    pool.saturating_add(metadata)
}

/// Whether `sets` sets of `width` bricks costing `cost` KiB each fit on distinct nodes.
fn sets_fit(c: &ClusterFree, sets: u64, width: u64, cost: u64) -> bool {
    let need = sets * width;
    let mut have = 0u64;
    for node in &c.nodes {
        // heketi wants free > cost before each brick: a device of f KiB holds (f-1)/cost.
        let bricks: u64 = node
            .iter()
            .map(|&f| f.saturating_sub(1) / cost)
            .fold(0, u64::saturating_add);
        have = have.saturating_add(bricks.min(sets));
        if have >= need {
            return true;
        }
    }
    false
}

/// The largest volume, in GiB, that one cluster could create.
pub fn max_volume_gib(c: &ClusterFree, durability: &VolumeDurabilityInfo, snap_factor: f64) -> u64 {
    let Some((width, data)) = shape(durability) else {
        return 0;
    };
    // heketi takes the factor as float32; params allows 1–100, anything else counts as 1.
    let factor = if snap_factor.is_finite() && snap_factor >= 1.0 {
        snap_factor as f32
    } else {
        1.0
    };
    // Every GiB of volume needs at least a GiB of some device.
    let total_gib = c
        .nodes
        .iter()
        .flatten()
        .fold(0u64, |a, &f| a.saturating_add(f))
        / GIB_KIB;
    let mut best = 0;
    let mut sets = 1u64;
    while sets * width <= MAX_BRICKS_PER_VOLUME {
        let brick = |gib: u64| gib.saturating_mul(GIB_KIB) / sets / data;
        // For fixed n a larger volume means larger bricks, which fit nowhere a smaller one
        // did not: the sizes that fit form a prefix 1..=g. Find g.
        let fits = |gib: u64| {
            brick(gib) <= MAX_BRICK_KIB
                && sets_fit(c, sets, width, reservation_kib(brick(gib), factor))
        };
        let (mut lo, mut hi) = (0u64, total_gib);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if lo > 0 && brick(lo) >= MIN_BRICK_KIB {
            best = best.max(lo);
        }
        sets *= 2;
    }
    best
}

/// GetCapacity's answer in bytes: the largest volume any of `clusters` could create (a
/// create goes to one cluster). The caller passes only the clusters the class allows
/// (`clusterid`) and that take file volumes. A multiple of 1 GiB, at most `i64::MAX` (CSI's
/// field is int64).
pub fn max_volume_bytes(
    clusters: &[ClusterFree],
    durability: &VolumeDurabilityInfo,
    snap_factor: f64,
) -> u64 {
    const GIB_BYTES: u64 = 1 << 30;
    let gib = clusters
        .iter()
        .map(|c| max_volume_gib(c, durability, snap_factor))
        .max()
        .unwrap_or(0);
    // Largest whole GiB within int64.
    gib.min(i64::MAX as u64 / GIB_BYTES) * GIB_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::types::{
        DeviceInfoResponse, DisperseDurability, ReplicaDurability, StorageSize,
    };

    const G: u64 = GIB_KIB;

    fn replicate(n: i64) -> VolumeDurabilityInfo {
        VolumeDurabilityInfo {
            kind: "replicate".into(),
            replicate: ReplicaDurability { replica: n },
            ..Default::default()
        }
    }

    fn disperse(d: i64, r: i64) -> VolumeDurabilityInfo {
        VolumeDurabilityInfo {
            kind: "disperse".into(),
            disperse: DisperseDurability {
                data: d,
                redundancy: r,
            },
            ..Default::default()
        }
    }

    fn none() -> VolumeDurabilityInfo {
        VolumeDurabilityInfo {
            kind: "none".into(),
            ..Default::default()
        }
    }

    /// `n` nodes with the same devices.
    fn equal(n: usize, devices: &[u64]) -> ClusterFree {
        ClusterFree {
            nodes: vec![devices.to_vec(); n],
        }
    }

    fn cluster(nodes: &[&[u64]]) -> ClusterFree {
        ClusterFree {
            nodes: nodes.iter().map(|n| n.to_vec()).collect(),
        }
    }

    /// The node-total bound: largest x with Σ min(F_i, x) ≥ w·x, times the data bricks.
    fn node_total_bound(c: &ClusterFree, width: u64, data: u64) -> f64 {
        let totals: Vec<f64> = c
            .nodes
            .iter()
            .map(|n| n.iter().sum::<u64>() as f64)
            .collect();
        let ok = |x: f64| totals.iter().map(|f| f.min(x)).sum::<f64>() >= width as f64 * x;
        let (mut lo, mut hi) = (0.0, totals.iter().sum::<f64>());
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if ok(mid) {
                lo = mid
            } else {
                hi = mid
            }
        }
        lo * data as f64 / G as f64
    }

    /// A small deterministic generator for the property tests.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    #[test]
    fn reservations_match_heketis_worked_examples() {
        // docs/node-commands.md §12.2.
        assert_eq!(reservation_kib(1048576, 1.0), 1056768);
        assert_eq!(reservation_kib(10485760, 1.0), 10539008);
        assert_eq!(reservation_kib(10485760, 1.5), 15810560);
        assert_eq!(reservation_kib(3145728, 1.2), 3796992);
        assert_eq!(reservation_kib(26214400, 1.0), 26345472);
        assert_eq!(reservation_kib(2684354560, 1.0), 2697777152);
    }

    #[test]
    fn replica_3_on_three_equal_nodes_gets_one_nodes_worth() {
        let c = cluster(&[&[100 * G], &[100 * G], &[100 * G]]);
        // 100 GiB less the thin-pool metadata (0.5 %).
        assert_eq!(max_volume_gib(&c, &replicate(3), 1.0), 99);
        // Splitting each node's space over two devices changes nothing: two sets.
        let c2 = cluster(&[&[50 * G, 50 * G], &[50 * G, 50 * G], &[50 * G, 50 * G]]);
        assert_eq!(max_volume_gib(&c2, &replicate(3), 1.0), 99);
    }

    #[test]
    fn a_device_exactly_full_does_not_fit() {
        // heketi wants strictly more free space than the reservation.
        let exact = reservation_kib(10 * G, 1.0);
        assert_eq!(max_volume_gib(&equal(3, &[exact]), &replicate(3), 1.0), 9);
        assert_eq!(
            max_volume_gib(&equal(3, &[exact + 1]), &replicate(3), 1.0),
            10
        );
    }

    #[test]
    fn unequal_nodes() {
        // The big node cannot hold two bricks of one set.
        let c = cluster(&[&[200 * G], &[100 * G], &[100 * G]]);
        assert_eq!(max_volume_gib(&c, &replicate(3), 1.0), 99);
        // Four nodes, replica 3: sets spread over all four (the bound is 4/3 of a node).
        let c = equal(4, &[100 * G]);
        let got = max_volume_gib(&c, &replicate(3), 1.0);
        assert!((130..=133).contains(&got), "{got}");
        // Replica 2 over 100 + 50 + 50: the small nodes pair with the big one.
        let c = cluster(&[&[100 * G], &[50 * G], &[50 * G]]);
        let got = max_volume_gib(&c, &replicate(2), 1.0);
        assert!((97..=100).contains(&got), "{got}");
    }

    #[test]
    fn width_greater_than_node_count_gives_nothing() {
        let c = cluster(&[&[100 * G, 100 * G], &[100 * G]]);
        assert_eq!(max_volume_gib(&c, &replicate(3), 1.0), 0);
        assert_eq!(max_volume_gib(&c, &disperse(2, 1), 1.0), 0);
        assert_eq!(max_volume_gib(&cluster(&[]), &none(), 1.0), 0);
    }

    #[test]
    fn disperse_4_2_on_six_nodes() {
        let c = equal(6, &[100 * G]);
        // Four nodes' worth of data, less metadata.
        assert_eq!(max_volume_gib(&c, &disperse(4, 2), 1.0), 397);
        // Five nodes: no set fits.
        assert_eq!(
            max_volume_gib(&equal(5, &[100 * G]), &disperse(4, 2), 1.0),
            0
        );
    }

    #[test]
    fn distribute_only_uses_every_device() {
        let c = cluster(&[&[10 * G, 10 * G], &[10 * G]]);
        // Three devices would hold ~29.8 GiB, but sets come as n = 1, 2, 4, … equal bricks:
        // eight bricks of ~3.3 GiB (three per device) is the best split.
        assert_eq!(max_volume_gib(&c, &none(), 1.0), 26);
    }

    #[test]
    fn the_snap_factor_divides_the_space() {
        let c = equal(3, &[100 * G]);
        assert_eq!(max_volume_gib(&c, &replicate(3), 2.0), 49);
        assert_eq!(max_volume_gib(&c, &replicate(3), 100.0), 0);
        // Out-of-range factors count as 1 rather than inflating the answer.
        assert_eq!(max_volume_gib(&c, &replicate(3), f64::NAN), 99);
    }

    #[test]
    fn small_devices_and_the_brick_limit_cost_space() {
        // Ten 10 GiB devices per node: replica 3 can have at most 8 sets (32 bricks), so
        // bricks of ~9.95 GiB, 79 GiB, although each node has 100 GiB free.
        let small = [10 * G; 10];
        let c = equal(3, &small);
        assert_eq!(max_volume_gib(&c, &replicate(3), 1.0), 79);
        assert!(node_total_bound(&c, 3, 1) > 99.0);
    }

    #[test]
    fn the_brick_size_limit() {
        // 20 TiB per node, one device: one 4 TiB brick set is not the end, more sets are.
        let c = equal(3, &[20 * 1024 * G]);
        let got = max_volume_gib(&c, &replicate(3), 1.0);
        assert!(got > 16 * 1024 && got < 20 * 1024, "{got}");
    }

    #[test]
    fn less_than_a_minimum_brick_is_nothing() {
        let c = cluster(&[&[G], &[G], &[G]]);
        assert_eq!(max_volume_gib(&c, &replicate(3), 1.0), 0);
        // Disperse 4+2 bricks are a quarter of the volume and at least 1 GiB each (plus
        // 8 MiB of pool metadata): 4 GiB is the smallest volume, 1.1 GiB per node enough.
        assert_eq!(
            max_volume_gib(&equal(6, &[G + G / 10]), &disperse(4, 2), 1.0),
            4
        );
        assert_eq!(
            max_volume_gib(&equal(6, &[G + G / 2]), &disperse(4, 2), 1.0),
            5
        );
        assert_eq!(max_volume_gib(&equal(6, &[2 * G]), &disperse(4, 2), 1.0), 7);
        assert_eq!(max_volume_gib(&equal(6, &[G]), &disperse(4, 2), 1.0), 0);
    }

    #[test]
    fn types_heketi_refuses_have_no_capacity() {
        let c = equal(6, &[100 * G]);
        assert_eq!(max_volume_gib(&c, &replicate(4), 1.0), 0);
        assert_eq!(max_volume_gib(&c, &disperse(4, 3), 1.0), 0);
        let mut odd = none();
        odd.kind = "stripe".into();
        assert_eq!(max_volume_gib(&c, &odd, 1.0), 0);
        // Replica count missing: heketi builds replica 2.
        assert_eq!(
            max_volume_gib(&c, &replicate(0), 1.0),
            max_volume_gib(&c, &replicate(2), 1.0)
        );
        // An empty type is none.
        assert_eq!(
            max_volume_gib(&c, &VolumeDurabilityInfo::default(), 1.0),
            max_volume_gib(&c, &none(), 1.0)
        );
    }

    #[test]
    fn properties_over_random_clusters() {
        let mut rng = Lcg(7);
        let types: [(VolumeDurabilityInfo, u64, u64); 5] = [
            (replicate(3), 3, 1),
            (replicate(2), 2, 1),
            (none(), 1, 1),
            (disperse(2, 1), 3, 2),
            (disperse(4, 2), 6, 4),
        ];
        for _ in 0..150 {
            let nodes: Vec<Vec<u64>> = (0..1 + rng.next(7))
                .map(|_| (0..1 + rng.next(3)).map(|_| rng.next(300 * G)).collect())
                .collect();
            let c = ClusterFree { nodes };
            for (d, width, data) in &types {
                let got = max_volume_gib(&c, d, 1.0);
                // Never more than the node-total bound.
                assert!(
                    got as f64 <= node_total_bound(&c, *width, *data) + 1e-6,
                    "{c:?} {d:?}: {got}"
                );
                // Monotone: more free space on any device never lowers the answer.
                let mut more = c.clone();
                let n = rng.next(more.nodes.len() as u64) as usize;
                let k = rng.next(more.nodes[n].len() as u64) as usize;
                more.nodes[n][k] += rng.next(100 * G);
                assert!(max_volume_gib(&more, d, 1.0) >= got, "{c:?} {more:?} {d:?}");
                // An extra node never lowers it either.
                let mut bigger = c.clone();
                bigger.nodes.push(vec![rng.next(300 * G)]);
                assert!(max_volume_gib(&bigger, d, 1.0) >= got);
                // A larger snap factor never raises it.
                assert!(max_volume_gib(&c, d, 1.5) <= got);
                // The answer really fits: check the sets for some n directly.
                if got > 0 {
                    let fits_somehow = (0..6).map(|i| 1u64 << i).any(|n| {
                        let s = got * G / n / *data;
                        n * *width <= MAX_BRICKS_PER_VOLUME
                            && (MIN_BRICK_KIB..=MAX_BRICK_KIB).contains(&s)
                            && sets_fit(&c, n, *width, reservation_kib(s, 1.0))
                    });
                    assert!(fits_somehow, "{c:?} {d:?}: {got}");
                }
            }
        }
    }

    #[test]
    fn capacity_is_the_best_cluster_in_bytes() {
        let a = equal(3, &[100 * G]);
        let b = equal(3, &[50 * G]);
        assert_eq!(
            max_volume_bytes(&[a, b.clone()], &replicate(3), 1.0),
            99 << 30
        );
        assert_eq!(max_volume_bytes(&[b], &replicate(3), 1.0), 49 << 30);
        assert_eq!(max_volume_bytes(&[], &replicate(3), 1.0), 0);
        // Never beyond int64.
        let huge = equal(40, &[u64::MAX; 4]);
        let got = max_volume_bytes(&[huge], &none(), 1.0);
        assert!(got <= i64::MAX as u64 && got.is_multiple_of(1 << 30) && got > 0);
    }

    fn device(state: &str, free: u64) -> DeviceInfoResponse {
        DeviceInfoResponse {
            state: state.into(),
            storage: StorageSize {
                free,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn node(state: &str, devices: Vec<DeviceInfoResponse>) -> NodeInfoResponse {
        NodeInfoResponse {
            state: state.into(),
            devices,
            ..Default::default()
        }
    }

    #[test]
    fn only_online_nodes_and_devices_count() {
        let nodes = vec![
            node(
                "online",
                vec![
                    device("online", 5),
                    device("offline", 6),
                    device("failed", 7),
                ],
            ),
            node("offline", vec![device("online", 8)]),
            node("online", vec![]),
        ];
        assert_eq!(
            ClusterFree::from_nodes(&nodes),
            ClusterFree {
                nodes: vec![vec![5], vec![]]
            }
        );
    }
}
