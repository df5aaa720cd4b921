//! heqet-csi: a CSI (v1) driver for GlusterFS volumes managed through the heketi REST API.
//!
//! The controller side turns CSI calls into heketi API calls (so it works against heqet and
//! against an unmodified heketi); the node side mounts volumes with the glusterfs FUSE client,
//! started outside the plugin's own process tree so that application mounts outlive the plugin.

pub mod args;
pub mod client;
pub mod controller;
pub mod error;
pub mod identity;
pub mod node;
pub mod proto;
pub mod server;
