//! Why a placement failed, with the numbers an operator needs to act on it.
//!
//! The server prefixes these with `Failed to allocate new volume: `; heketi's wire text for
//! every "does not fit" case is `No space`, so [`PlacementError::NoSpace`] displays with that
//! prefix, and [`PlacementError::is_no_space`] tells the server which errors heketi would
//! have reported as `No space`.

use crate::sizing::{SizingError, GIB_KIB};
use crate::tags::TagMatch;
use std::fmt;
use thiserror::Error;

/// KiB as GiB with one decimal, e.g. `10.0 GiB`.
pub(crate) struct Gib(pub u64);

impl fmt::Display for Gib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} GiB", self.0 as f64 / GIB_KIB as f64)
    }
}

/// What did not fit (shared by volume and replacement errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceShortage {
    /// Bricks of one attempt (all sets).
    pub bricks: usize,
    /// Bricks per set (they must be on distinct nodes).
    pub set_size: usize,
    /// Brick size asked for (S), KiB.
    pub requested_kib_per_brick: u64,
    /// What such a brick reserves with thin pool metadata and snapshot factor, KiB.
    pub reserved_kib_per_brick: u64,
    /// Set when smaller bricks in more sets were tried as well: (sets, brick KiB) of the last.
    pub smallest_tried: Option<(usize, u64)>,
    /// With strict zone checking, the bricks of a set must also be in distinct zones.
    pub strict_zones: bool,
    /// The device tag rule in force, if any (shown so a too-narrow rule is obvious).
    pub tag_match: Option<TagMatch>,
    /// Online devices passing the filters.
    pub eligible_devices: usize,
    /// The largest free space among them, KiB.
    pub largest_free_kib: u64,
}

impl fmt::Display for SpaceShortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sets = self.bricks / self.set_size.max(1);
        write!(f, "need {} brick", self.bricks)?;
        if self.bricks != 1 {
            write!(f, "s")?;
        }
        if sets > 1 {
            write!(f, " ({sets} sets of {})", self.set_size)?;
        }
        write!(
            f,
            " of {} ({} KiB with thin pool metadata each)",
            Gib(self.requested_kib_per_brick),
            self.reserved_kib_per_brick
        )?;
        if self.set_size > 1 {
            let place = if self.strict_zones {
                "distinct nodes in distinct zones"
            } else {
                "distinct nodes"
            };
            write!(f, " on {place}")?;
        }
        if let Some((sets, kib)) = self.smallest_tried {
            write!(
                f,
                " (also tried down to {sets} sets of {} bricks)",
                Gib(kib)
            )?;
        }
        write!(f, "; eligible devices")?;
        if let Some(rule) = &self.tag_match {
            write!(f, " (matching {rule})")?;
        }
        write!(
            f,
            ": {}, largest free: {} ({} KiB)",
            self.eligible_devices,
            Gib(self.largest_free_kib),
            self.largest_free_kib
        )
    }
}

/// Why a volume or a replacement brick could not be placed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlacementError {
    /// No online device on an online, healthy node (heketi's wording).
    #[error("No online storage devices in cluster")]
    NoOnlineDevices,
    /// Not enough space on enough distinct nodes.
    #[error("No space: {0}")]
    NoSpace(Box<SpaceShortage>),
    /// The first candidate already needed more bricks than allowed.
    #[error("Maximum number of bricks reached.")]
    MaxBricks,
    /// The first candidate's bricks were already below the minimum brick size.
    #[error("Minimum brick size limit reached.  Out of space.")]
    MinBrickSize,
    /// Arbiter sizing or an over-large request.
    #[error("{0}")]
    Sizing(SizingError),
    /// The layout cannot be placed at all (e.g. a set of zero bricks).
    #[error("invalid layout: {0}")]
    InvalidLayout(String),
    /// heketi's wording for brick eviction without a target.
    #[error("No Replacement was found for resource requested to be removed: {0}")]
    NoReplacement(Box<SpaceShortage>),
}

impl PlacementError {
    /// Errors heketi reports as `No space` on volume create.
    pub fn is_no_space(&self) -> bool {
        matches!(
            self,
            PlacementError::NoSpace(_) | PlacementError::MaxBricks | PlacementError::MinBrickSize
        )
    }
}

impl From<SizingError> for PlacementError {
    fn from(e: SizingError) -> Self {
        match e {
            SizingError::MaxBricks => PlacementError::MaxBricks,
            SizingError::MinBrickSize => PlacementError::MinBrickSize,
            other => PlacementError::Sizing(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_space_message_says_numbers() {
        let e = PlacementError::NoSpace(Box::new(SpaceShortage {
            bricks: 3,
            set_size: 3,
            requested_kib_per_brick: 10 * GIB_KIB,
            reserved_kib_per_brick: 10539008,
            smallest_tried: None,
            strict_zones: false,
            tag_match: None,
            eligible_devices: 7,
            largest_free_kib: 9650000,
        }));
        assert_eq!(
            e.to_string(),
            "No space: need 3 bricks of 10.0 GiB (10539008 KiB with thin pool metadata each) \
             on distinct nodes; eligible devices: 7, largest free: 9.2 GiB (9650000 KiB)"
        );
        assert!(e.is_no_space());
    }

    #[test]
    fn no_space_message_with_smaller_attempts_and_zones() {
        let e = PlacementError::NoSpace(Box::new(SpaceShortage {
            bricks: 6,
            set_size: 3,
            requested_kib_per_brick: 5 * GIB_KIB,
            reserved_kib_per_brick: 5275648,
            smallest_tried: Some((4, 1310720)),
            strict_zones: true,
            tag_match: TagMatch::parse("tier=gold").ok(),
            eligible_devices: 2,
            largest_free_kib: 0,
        }));
        assert_eq!(
            e.to_string(),
            "No space: need 6 bricks (2 sets of 3) of 5.0 GiB (5275648 KiB with thin pool \
             metadata each) on distinct nodes in distinct zones (also tried down to 4 sets of \
             1.2 GiB bricks); eligible devices (matching tier=gold): 2, largest free: 0.0 GiB (0 KiB)"
        );
    }

    #[test]
    fn fixed_messages() {
        assert_eq!(
            PlacementError::MaxBricks.to_string(),
            "Maximum number of bricks reached."
        );
        assert_eq!(
            PlacementError::MinBrickSize.to_string(),
            "Minimum brick size limit reached.  Out of space."
        );
        assert!(!PlacementError::NoOnlineDevices.is_no_space());
        assert_eq!(
            PlacementError::from(SizingError::MaxBricks),
            PlacementError::MaxBricks
        );
    }
}
