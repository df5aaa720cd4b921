//! heketi's brick space rules (docs/node-commands.md §12.2): how much a brick reserves on a
//! device, how big an arbiter brick is, and which (sets, brick size) candidates a volume
//! request tries in order. Everything is in KiB.

use heqet_api::layout::Layout;
use thiserror::Error;

/// 1 GiB in KiB.
pub const GIB_KIB: u64 = 1_048_576;
/// Thin pool metadata is never larger than this (heketi's 16 GiB cap).
pub const MAX_POOL_METADATA_KIB: u64 = 16 * GIB_KIB;
/// Arbiter bricks are never smaller than this. heketi used 16 MiB, but mkfs.xfs 5.19 and later
/// (Debian 12 ships 6.1) refuses filesystems under 300 MiB, so every arbiter volume under
/// ~18.75 GiB would fail on current nodes.
pub const MIN_ARBITER_BRICK_KIB: u64 = 300 * 1024;
/// LVM's usual physical extent size.
pub const DEFAULT_EXTENT_KIB: u64 = 4096;

/// What one brick takes from a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Thin pool `--size` (P).
    pub tp_kib: u64,
    /// Thin pool `--poolmetadatasize` (M).
    pub metadata_kib: u64,
    /// P + M: taken from the device's free space.
    pub total_kib: u64,
}

impl Reservation {
    /// heketi's rule: the device must have strictly more free space than the reservation.
    pub fn fits_in(&self, free_kib: u64) -> bool {
        free_kib > self.total_kib
    }
}

/// Rounds `value` up to a multiple of `extent_kib` (an extent of 0 means no alignment).
fn round_up(value: u64, extent_kib: u64) -> u64 {
    if extent_kib == 0 {
        return value;
    }
    match value % extent_kib {
        0 => value,
        rest => value.saturating_add(extent_kib - rest),
    }
}

/// Space a brick of `size_kib` needs on a device with extents of `extent_kib`.
///
/// P = floor(S × F) rounded up to the extent; M = floor(P × 0.005), capped at 16 GiB,
/// rounded up to the extent. The product is computed in f64 from the f32 factor, as heketi
/// does (`uint64(float64(amount) * snapFactor)`), so e.g. 1.2 behaves as 1.2000000476837158.
pub fn brick_reservation(size_kib: u64, snapshot_factor: f32, extent_kib: u64) -> Reservation {
    // `as` saturates for out-of-range floats and maps NaN to 0: no panic on any input.
    let tp_raw = (size_kib as f64 * f64::from(snapshot_factor)) as u64;
    let tp_kib = round_up(tp_raw, extent_kib);
    let metadata_raw = ((tp_kib as f64 * 0.005) as u64).min(MAX_POOL_METADATA_KIB);
    let metadata_kib = round_up(metadata_raw, extent_kib);
    Reservation {
        tp_kib,
        metadata_kib,
        total_kib: tp_kib.saturating_add(metadata_kib),
    }
}

/// Errors of the sizing rules.
#[allow(missing_docs)] // fields are named for what they hold; Display says the rest
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SizingError {
    /// heketi's wording; for volume create it is reported as `No space`.
    #[error("Minimum brick size limit reached.  Out of space.")]
    MinBrickSize,
    /// heketi's wording; for volume create it is reported as `No space`.
    #[error("Maximum number of bricks reached.")]
    MaxBricks,
    /// The arbiter brick would hold less than one average file.
    #[error(
        "arbiter brick size cannot be computed: data brick size {brick_kib} KiB is smaller \
         than the average file size {average_file_kib} KiB (user.heketi.average-file-size)"
    )]
    ArbiterAverageFileSize {
        brick_kib: u64,
        average_file_kib: u64,
    },
    /// The average file size must be at least 1 KiB.
    #[error("average file size must be at least 1 KiB, got {0}")]
    InvalidAverageFileSize(u64),
    /// The requested size does not fit in 64 bits of KiB.
    #[error("volume size {0} GiB is too large")]
    VolumeTooLarge(u64),
}

/// Size of the arbiter brick of a set whose data bricks are `data_brick_kib`:
/// max(16 MiB, floor(S / A)); an error if S < A.
pub fn arbiter_brick_size(data_brick_kib: u64, average_file_kib: u64) -> Result<u64, SizingError> {
    if average_file_kib == 0 {
        return Err(SizingError::InvalidAverageFileSize(average_file_kib));
    }
    if data_brick_kib < average_file_kib {
        return Err(SizingError::ArbiterAverageFileSize {
            brick_kib: data_brick_kib,
            average_file_kib,
        });
    }
    Ok((data_brick_kib / average_file_kib).max(MIN_ARBITER_BRICK_KIB))
}

/// Volume-wide brick limits (heketi's `brick_min_size_gb`, `brick_max_size_gb`,
/// `max_bricks_per_volume`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Smallest brick allowed, KiB (`brick_min_size_gb`).
    pub min_brick_kib: u64,
    /// Largest brick allowed, KiB (`brick_max_size_gb`).
    pub max_brick_kib: u64,
    /// Most bricks one volume may have (`max_bricks_per_volume`).
    pub max_bricks_per_volume: usize,
}

impl Default for Limits {
    /// heketi's defaults: 1 GiB, 4 TiB, 32 bricks.
    fn default() -> Self {
        Limits {
            min_brick_kib: GIB_KIB,
            max_brick_kib: 4 * 1024 * GIB_KIB,
            max_bricks_per_volume: 32,
        }
    }
}

/// One (sets, brick size) combination to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Number of brick sets (n).
    pub sets: usize,
    /// Size of each data brick (S), KiB.
    pub brick_kib: u64,
}

/// Converts a request size in GiB to KiB.
pub fn volume_kib(size_gib: u64) -> Result<u64, SizingError> {
    size_gib
        .checked_mul(GIB_KIB)
        .ok_or(SizingError::VolumeTooLarge(size_gib))
}

/// The candidates heketi tries for a volume (or expansion) of `volume_kib`, in order:
/// n = 1, 2, 4, … sets of S = floor(floor(V / n) / data) KiB. Sizes above the maximum are
/// skipped; the sequence ends with `Err(MinBrickSize)` or `Err(MaxBricks)` (then stops).
pub fn brick_size_candidates(
    volume_kib: u64,
    layout: Layout,
    existing_bricks: usize,
    limits: Limits,
) -> CandidateIter {
    CandidateIter {
        volume_kib,
        data: layout.data_bricks().max(1),
        set_size: layout.set_size(),
        existing_bricks,
        limits,
        sets: Some(1),
    }
}

/// Iterator returned by [`brick_size_candidates`].
#[derive(Clone, Debug)]
pub struct CandidateIter {
    volume_kib: u64,
    data: u64,
    set_size: usize,
    existing_bricks: usize,
    limits: Limits,
    /// Next n to look at; None once the sequence has ended.
    sets: Option<u64>,
}

impl Iterator for CandidateIter {
    type Item = Result<Candidate, SizingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let sets = self.sets?;
            self.sets = sets.checked_mul(2);
            let brick_kib = (self.volume_kib / sets) / self.data;
            if brick_kib < self.limits.min_brick_kib {
                self.sets = None;
                return Some(Err(SizingError::MinBrickSize));
            }
            if brick_kib > self.limits.max_brick_kib {
                continue;
            }
            let total_bricks = usize::try_from(sets)
                .ok()
                .and_then(|n| n.checked_mul(self.set_size))
                .and_then(|b| b.checked_add(self.existing_bricks));
            let sets_usize = usize::try_from(sets).ok();
            match (total_bricks, sets_usize) {
                (Some(total), Some(sets)) if total <= self.limits.max_bricks_per_volume => {
                    return Some(Ok(Candidate { sets, brick_kib }));
                }
                _ => {
                    self.sets = None;
                    return Some(Err(SizingError::MaxBricks));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIB: u64 = 1024 * GIB_KIB;

    fn first_ok(v: u64, layout: Layout) -> Candidate {
        match brick_size_candidates(v, layout, 0, Limits::default()).next() {
            Some(Ok(c)) => c,
            other => panic!("expected a candidate, got {other:?}"),
        }
    }

    /// A row of the worked-examples table (§12.2): GiB, layout, factor, sets, S, P, M, reserved.
    type Row = (u64, Layout, f32, usize, u64, u64, u64, u64);

    #[test]
    fn worked_examples_table() {
        let rows: [Row; 7] = [
            (
                1,
                Layout::Replicate { replica: 3 },
                1.0,
                1,
                1048576,
                1048576,
                8192,
                1056768,
            ),
            (
                10,
                Layout::Replicate { replica: 3 },
                1.0,
                1,
                10485760,
                10485760,
                53248,
                10539008,
            ),
            (
                10,
                Layout::Replicate { replica: 3 },
                1.5,
                1,
                10485760,
                15728640,
                81920,
                15810560,
            ),
            (
                3,
                Layout::Replicate { replica: 3 },
                1.2,
                1,
                3145728,
                3776512,
                20480,
                3796992,
            ),
            (
                100,
                Layout::Disperse {
                    data: 4,
                    redundancy: 2,
                },
                1.0,
                1,
                26214400,
                26214400,
                131072,
                26345472,
            ),
            (
                5 * 1024,
                Layout::Replicate { replica: 3 },
                1.0,
                2,
                2684354560,
                2684354560,
                13422592,
                2697777152,
            ),
            (
                20 * 1024,
                Layout::Replicate { replica: 3 },
                1.0,
                8,
                2684354560,
                2684354560,
                13422592,
                2697777152,
            ),
        ];
        for (gib, layout, factor, sets, s, p, m, total) in rows {
            let c = first_ok(gib * GIB_KIB, layout);
            assert_eq!((c.sets, c.brick_kib), (sets, s), "{gib} GiB {layout:?}");
            let r = brick_reservation(c.brick_kib, factor, DEFAULT_EXTENT_KIB);
            assert_eq!(
                r,
                Reservation {
                    tp_kib: p,
                    metadata_kib: m,
                    total_kib: total
                },
                "{gib} GiB {layout:?} factor {factor}"
            );
        }
    }

    #[test]
    fn arbiter_row_of_the_table() {
        // heketi's table gives 163840 KiB; heqet's floor (mkfs.xfs minimum) lifts it.
        assert_eq!(arbiter_brick_size(10485760, 64), Ok(MIN_ARBITER_BRICK_KIB));
        let r = brick_reservation(163840, 1.0, DEFAULT_EXTENT_KIB);
        assert_eq!(
            r,
            Reservation {
                tp_kib: 163840,
                metadata_kib: 4096,
                total_kib: 167936
            }
        );
        // Above the floor the rule is heketi's: S / average file size.
        assert_eq!(arbiter_brick_size(40 * GIB_KIB, 64), Ok(655360));
    }

    #[test]
    fn arbiter_size_has_a_floor_and_rejects_small_bricks() {
        assert_eq!(arbiter_brick_size(GIB_KIB, 64), Ok(MIN_ARBITER_BRICK_KIB));
        assert_eq!(
            arbiter_brick_size(63, 64),
            Err(SizingError::ArbiterAverageFileSize {
                brick_kib: 63,
                average_file_kib: 64
            })
        );
        assert_eq!(arbiter_brick_size(64, 64), Ok(MIN_ARBITER_BRICK_KIB));
        assert_eq!(
            arbiter_brick_size(64, 0),
            Err(SizingError::InvalidAverageFileSize(0))
        );
    }

    #[test]
    fn fits_is_strict() {
        let r = brick_reservation(GIB_KIB, 1.0, DEFAULT_EXTENT_KIB);
        assert!(!r.fits_in(r.total_kib));
        assert!(r.fits_in(r.total_kib + 1));
    }

    #[test]
    fn metadata_is_capped_at_16_gib() {
        // 0.5% of 4 PiB would be ~21 TiB of metadata.
        let r = brick_reservation(4 * 1024 * TIB, 1.0, DEFAULT_EXTENT_KIB);
        assert_eq!(r.metadata_kib, MAX_POOL_METADATA_KIB);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let r = brick_reservation(u64::MAX, 100.0, 0);
        assert_eq!(r.total_kib, u64::MAX);
        let r = brick_reservation(1, f32::NAN, 4096);
        assert_eq!(r.tp_kib, 0);
        assert_eq!(
            volume_kib(u64::MAX),
            Err(SizingError::VolumeTooLarge(u64::MAX))
        );
    }

    #[test]
    fn candidate_sequence_halves_until_min_size() {
        let got: Vec<_> = brick_size_candidates(
            4 * GIB_KIB,
            Layout::Replicate { replica: 3 },
            0,
            Limits::default(),
        )
        .collect();
        assert_eq!(
            got,
            vec![
                Ok(Candidate {
                    sets: 1,
                    brick_kib: 4 * GIB_KIB
                }),
                Ok(Candidate {
                    sets: 2,
                    brick_kib: 2 * GIB_KIB
                }),
                Ok(Candidate {
                    sets: 4,
                    brick_kib: GIB_KIB
                }),
                Err(SizingError::MinBrickSize),
            ]
        );
    }

    #[test]
    fn candidate_sequence_stops_on_max_bricks_counting_existing() {
        let got: Vec<_> = brick_size_candidates(
            100 * GIB_KIB,
            Layout::Replicate { replica: 3 },
            24,
            Limits::default(),
        )
        .collect();
        // 24 + 3 = 27, 24 + 6 = 30, 24 + 12 > 32.
        assert_eq!(
            got,
            vec![
                Ok(Candidate {
                    sets: 1,
                    brick_kib: 100 * GIB_KIB
                }),
                Ok(Candidate {
                    sets: 2,
                    brick_kib: 50 * GIB_KIB
                }),
                Err(SizingError::MaxBricks),
            ]
        );
    }

    #[test]
    fn candidate_sequence_skips_oversized_bricks() {
        let mut it = brick_size_candidates(
            20 * TIB,
            Layout::Replicate { replica: 3 },
            0,
            Limits::default(),
        );
        assert_eq!(
            it.next(),
            Some(Ok(Candidate {
                sets: 8,
                brick_kib: 2560 * GIB_KIB
            }))
        );
        // 16 × 3 = 48 bricks > 32.
        assert_eq!(it.next(), Some(Err(SizingError::MaxBricks)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn candidate_sequence_below_minimum_at_once() {
        let mut it = brick_size_candidates(
            GIB_KIB,
            Layout::Disperse {
                data: 4,
                redundancy: 2,
            },
            0,
            Limits::default(),
        );
        assert_eq!(it.next(), Some(Err(SizingError::MinBrickSize)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn candidate_sequence_with_zero_limits_terminates() {
        let limits = Limits {
            min_brick_kib: 0,
            max_brick_kib: 0,
            max_bricks_per_volume: 32,
        };
        let n = brick_size_candidates(u64::MAX, Layout::None, 0, limits).count();
        assert!(n <= 70);
    }
}
