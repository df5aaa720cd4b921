//! The CSI node service: glusterfs FUSE mounts that outlive the plugin.

pub mod health;
pub mod launcher;
pub mod mountinfo;
pub mod service;

pub use service::{NodeConfig, NodeService};
