//! topology.json model and validation, brick sizing and placement. Pure logic, no I/O.
//!
//! - [`sizing`]: heketi's brick space rules and the (sets, brick size) candidates;
//! - [`placement`]: which devices get the bricks of a new volume or expansion;
//! - [`replacement`]: which device gets a brick evicted from a failed device;
//! - [`tags`]: the device tag filter and the `arbiter` tag;
//! - [`model`]: the topology.json file of `topology load`, parsed and validated;
//! - [`error`]: placement errors with the numbers behind them.

#![warn(missing_docs)]

pub mod error;
pub mod model;
pub mod placement;
pub mod replacement;
mod ring;
pub mod sizing;
pub mod tags;

pub use error::{PlacementError, SpaceShortage};
pub use model::{parse_topology, TopologyError, TopologyFile};
pub use placement::{
    place_volume, DeviceCandidate, Limits, Placement, PlannedBrick, VolumeRequest, ZoneChecking,
};
pub use replacement::{place_replacement, ReplacementRequest};
pub use sizing::{brick_reservation, Reservation, SizingError};
pub use tags::{ArbiterRole, TagMatch, TagMatchError};
