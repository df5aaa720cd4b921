//! The CSI v1 wire types and service traits, generated at build time from `proto/csi.proto`.
//!
//! Servers implement e.g. [`csi::v1::identity_server::Identity`]; clients (tests, the e2e suite)
//! use e.g. [`csi::v1::identity_client::IdentityClient`].
//!
//! The generated request types derive `Debug`, and many carry CSI secrets: never log a request
//! with `{:?}`.

pub mod csi {
    pub mod v1 {
        tonic::include_proto!("csi.v1");
    }
}
