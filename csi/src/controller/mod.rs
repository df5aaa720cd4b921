//! The CSI controller service: volumes through the heketi API.

pub mod capacity;
pub mod context;
pub mod inflight;
pub mod names;
pub mod params;
pub mod servers;
pub mod service;
pub mod volume_id;

pub use service::ControllerService;

/// heketi sizes volumes in GiB.
pub const GIB: u64 = 1 << 30;
