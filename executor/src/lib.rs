//! The executor: everything heqet does on storage nodes, behind one trait.
//!
//! The server calls [`Executor`] with plain descriptions of what it wants (a device to set up,
//! a brick to create, a volume to build). Implementations:
//! - [`mock::MockExecutor`]: touches nothing, for API tests and development;
//! - [`commands::CommandExecutor`]: the command layer over a [`transport::Transport`] (ssh,
//!   kube), which turns each call into the node commands of docs/node-commands.md.
//!
//! Commands in flight per node are bounded in one place: every transport is a
//! [`transport::Limited`] wire, which takes a [`limits::HostLimits`] permit per command. The
//! server adds no limiter of its own.

pub mod commands;
pub mod kube;
pub mod limits;
pub mod mock;
pub mod model;
pub mod ssh;
pub mod transport;

use async_trait::async_trait;

pub use model::*;

/// What went wrong on a node. Every variant names the node; command failures also name the
/// command and carry its stderr, so the API's 500 bodies say exactly what failed where.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ExecError {
    #[error("{host}: command `{command}` failed (exit {status}): {stderr}")]
    Command {
        host: String,
        command: String,
        status: i32,
        stderr: String,
    },
    #[error("{host}: command `{command}` timed out after {seconds} s")]
    Timeout {
        host: String,
        command: String,
        seconds: u64,
    },
    #[error("{host}: cannot reach node: {message}")]
    Unreachable { host: String, message: String },
    /// The device carries data heqet will not destroy without `destroydata`.
    #[error("Initializing device {device} failed on {host}: {found}. Nothing was changed. If the data on it may be destroyed, add the device again with destroydata (heketi-cli: --destroy-existing-data)")]
    DeviceHasData {
        host: String,
        device: String,
        found: String,
    },
    #[error("{host}: device {device} does not exist")]
    NoSuchDevice { host: String, device: String },
    #[error("{host}: glusterd is not running: {message}")]
    GlusterdDown { host: String, message: String },
    #[error("{host}: unexpected output of `{command}`: {message}")]
    Parse {
        host: String,
        command: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

impl ExecError {
    /// The node this error is about, if any.
    pub fn host(&self) -> Option<&str> {
        match self {
            ExecError::Command { host, .. }
            | ExecError::Timeout { host, .. }
            | ExecError::Unreachable { host, .. }
            | ExecError::DeviceHasData { host, .. }
            | ExecError::NoSuchDevice { host, .. }
            | ExecError::GlusterdDown { host, .. }
            | ExecError::Parse { host, .. } => Some(host),
            ExecError::Other(_) => None,
        }
    }
}

pub type ExecResult<T> = Result<T, ExecError>;

/// Everything the server asks of storage nodes. `node` is where the command runs (its
/// management hostname); brick and peer addresses inside the arguments use storage hostnames.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Executor name for logs and `/metrics`: `mock`, `ssh`, `kubernetes`.
    fn name(&self) -> &'static str;

    /// Is glusterd running on the node?
    async fn glusterd_check(&self, node: &NodeTarget) -> ExecResult<()>;

    /// `gluster peer probe <storage>` run on `on`.
    async fn peer_probe(&self, on: &NodeTarget, storage: &str) -> ExecResult<()>;

    /// `gluster peer detach <storage>` run on `on`.
    async fn peer_detach(&self, on: &NodeTarget, storage: &str) -> ExecResult<()>;

    /// Inspect, (wipe an empty label,) pvcreate, vgcreate; report the real size.
    async fn device_setup(
        &self,
        node: &NodeTarget,
        device: &DeviceSetup,
    ) -> ExecResult<DeviceReport>;

    /// vgremove + pvremove (+ rmdir of the mount parent). With `force`, errors are ignored.
    async fn device_teardown(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
        force: bool,
    ) -> ExecResult<()>;

    /// Re-read the VG's sizes and the PV's identity.
    async fn device_resync(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
    ) -> ExecResult<DeviceReport>;

    /// Thin pool + LV, mkfs, fstab, mount, brick dir, gid. Undoes itself on failure.
    async fn brick_create(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<()>;

    /// Reverse of [`Executor::brick_create`]; tolerates a half-made brick. Returns whether the
    /// thin pool was removed (its space reclaimed).
    async fn brick_destroy(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<bool>;

    /// `gluster volume create` (+ add-brick for further sets), options, start.
    async fn volume_create(&self, on: &NodeTarget, volume: &VolumeSpec) -> ExecResult<()>;

    /// add-brick of `volume.bricks` (the new bricks only), then rebalance if asked.
    async fn volume_expand(
        &self,
        on: &NodeTarget,
        volume: &VolumeSpec,
        rebalance: bool,
    ) -> ExecResult<()>;

    /// `volume stop force` (errors ignored) + `volume delete`; "does not exist" is success.
    async fn volume_destroy(&self, on: &NodeTarget, name: &str) -> ExecResult<()>;

    /// Bricks of a volume in gluster order, as `host:path`.
    async fn volume_info(&self, on: &NodeTarget, name: &str) -> ExecResult<VolumeStatus>;

    /// Snapshot + clone + start; the clone's bricks in gluster order.
    async fn volume_clone(
        &self,
        on: &NodeTarget,
        origin: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus>;

    /// Pending heal entries per brick.
    async fn heal_info(&self, on: &NodeTarget, name: &str) -> ExecResult<HealInfo>;

    /// `gluster volume replace-brick <vol> <old> <new> commit force`.
    async fn replace_brick(
        &self,
        on: &NodeTarget,
        name: &str,
        old: &BrickAddr,
        new: &BrickAddr,
    ) -> ExecResult<()>;
}
