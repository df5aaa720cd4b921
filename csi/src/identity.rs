//! The CSI Identity service: who the plugin is, what it offers, whether it is ready.
//!
//! Readiness is a hook: the controller passes a check that its REST server answers, the node
//! one that the glusterfs mount helper is installed. Probe answers `ready: true` when the check
//! passes and the check's own error otherwise.

use std::future::Future;

use tonic::{Request, Response, Status};

use crate::proto::csi::v1::identity_server::Identity;
use crate::proto::csi::v1::plugin_capability::{self, service, volume_expansion};
use crate::proto::csi::v1::{
    GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse, GetPluginInfoRequest,
    GetPluginInfoResponse, PluginCapability, ProbeRequest, ProbeResponse,
};

/// The name the driver registers under unless `--drivername` says otherwise.
pub const DEFAULT_DRIVER_NAME: &str = "glusterfs.heqet.io";

/// Whether the plugin can serve calls right now; run on every Probe.
///
/// Implement it with `async fn check(&self) -> Result<(), tonic::Status>`. The error is what
/// Probe answers, so make its code and message say what is wrong (e.g. `unavailable("GET
/// http://h:8080/hello: connection refused")`).
pub trait Readiness: Send + Sync + 'static {
    fn check(&self) -> impl Future<Output = Result<(), Status>> + Send;
}

/// Always ready: for a plugin with nothing to wait for.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysReady;

impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), Status> {
        Ok(())
    }
}

/// A closure as a readiness check: `ReadinessFn(|| async { Ok(()) })`.
#[derive(Clone)]
pub struct ReadinessFn<F>(pub F);

impl<F, Fut> Readiness for ReadinessFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send,
{
    fn check(&self) -> impl Future<Output = Result<(), Status>> + Send {
        (self.0)()
    }
}

/// A driver name CSI would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid driver name {name:?}: {reason}")]
pub struct DriverNameError {
    pub name: String,
    pub reason: &'static str,
}

/// CSI's rule for plugin names: at most 63 characters, alphanumeric at both ends, and only
/// alphanumerics, `-`, `_` and `.` between.
pub fn validate_driver_name(name: &str) -> Result<(), DriverNameError> {
    let fail = |reason| {
        Err(DriverNameError {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > 63 {
        return fail("it is longer than 63 characters");
    }
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends_ok(name.chars().next()) || !ends_ok(name.chars().last()) {
        return fail("it must begin and end with a letter or digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return fail("only letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(())
}

/// The Identity service of one plugin process.
pub struct IdentityService<R> {
    driver_name: String,
    controller: bool,
    readiness: R,
}

impl<R: Readiness> IdentityService<R> {
    /// `controller`: whether this process also serves the Controller service (mode
    /// `controller` or `all`), which GetPluginCapabilities then announces.
    pub fn new(driver_name: impl Into<String>, controller: bool, readiness: R) -> Self {
        IdentityService {
            driver_name: driver_name.into(),
            controller,
            readiness,
        }
    }
}

fn capabilities(controller: bool) -> Vec<PluginCapability> {
    let mut caps = Vec::new();
    if controller {
        caps.push(PluginCapability {
            r#type: Some(plugin_capability::Type::Service(
                plugin_capability::Service {
                    r#type: service::Type::ControllerService as i32,
                },
            )),
        });
    }
    // GlusterFS volumes grow while mounted: the FUSE clients pick up the new bricks.
    caps.push(PluginCapability {
        r#type: Some(plugin_capability::Type::VolumeExpansion(
            plugin_capability::VolumeExpansion {
                r#type: volume_expansion::Type::Online as i32,
            },
        )),
    });
    caps
}

#[tonic::async_trait]
impl<R: Readiness> Identity for IdentityService<R> {
    async fn get_plugin_info(
        &self,
        _request: Request<GetPluginInfoRequest>,
    ) -> Result<Response<GetPluginInfoResponse>, Status> {
        Ok(Response::new(GetPluginInfoResponse {
            name: self.driver_name.clone(),
            vendor_version: env!("CARGO_PKG_VERSION").to_string(),
            manifest: Default::default(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _request: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities: capabilities(self.controller),
        }))
    }

    async fn probe(
        &self,
        _request: Request<ProbeRequest>,
    ) -> Result<Response<ProbeResponse>, Status> {
        self.readiness.check().await?;
        Ok(Response::new(ProbeResponse { ready: Some(true) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_names() {
        for ok in [DEFAULT_DRIVER_NAME, "a", "org.example_x-1", &"a".repeat(63)] {
            assert_eq!(validate_driver_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-glusterfs.heqet.io",
            "glusterfs.heqet.io.",
            "gluster fs",
            "glusterfs/heqet",
            "glüsterfs",
            &"a".repeat(64),
        ] {
            assert!(validate_driver_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn controller_capability_only_with_a_controller() {
        let has_controller = |caps: &[PluginCapability]| {
            caps.iter().any(|c| {
                matches!(&c.r#type, Some(plugin_capability::Type::Service(s))
                    if s.r#type == service::Type::ControllerService as i32)
            })
        };
        assert!(has_controller(&capabilities(true)));
        assert!(!has_controller(&capabilities(false)));
        assert_eq!(
            capabilities(false).len(),
            1,
            "online expansion is always offered"
        );
    }
}
