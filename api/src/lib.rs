//! Wire types of the heketi REST API (docs/heketi-api.md), shared by the server, the CLI
//! and the CSI driver. Field names, key order and omit-when-empty rules follow heketi's Go
//! structs, because clients in the field parse them.

#[cfg(feature = "client")]
pub mod client;
pub mod id;
pub mod jwt;
pub mod layout;
pub mod serde_util;
pub mod types;

pub use types::*;
