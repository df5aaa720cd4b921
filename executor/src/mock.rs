//! The mock executor: runs nothing, answers like heketi's mock (devices of 500 GiB), and lets
//! tests inject failures and delays. For API tests and development only.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    BrickAddr, BrickSpec, DeviceRef, DeviceReport, DeviceSetup, ExecError, ExecResult, Executor,
    HealInfo, NodeTarget, VolumeSpec, VolumeStatus,
};

pub const DEFAULT_DEVICE_SIZE_GIB: u64 = 500;
const EXTENT_KIB: u64 = 4096;

/// Which call a failure rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockOp {
    GlusterdCheck,
    PeerProbe,
    PeerDetach,
    DeviceSetup,
    DeviceTeardown,
    DeviceResync,
    BrickCreate,
    BrickDestroy,
    VolumeCreate,
    VolumeExpand,
    VolumeDestroy,
    VolumeInfo,
    VolumeClone,
    HealInfo,
    ReplaceBrick,
}

#[derive(Clone, Debug)]
struct FailRule {
    op: MockOp,
    /// Management hostname the rule applies to; `None` = every node.
    host: Option<String>,
    /// How many more calls fail; `None` = all.
    remaining: Option<u32>,
}

#[derive(Default)]
struct State {
    fail: Vec<FailRule>,
    delay: Duration,
}

pub struct MockExecutor {
    device_size_kib: u64,
    state: Mutex<State>,
}

impl MockExecutor {
    pub fn new(device_size_gib: u64) -> Self {
        MockExecutor {
            device_size_kib: device_size_gib * 1024 * 1024,
            state: Mutex::new(State::default()),
        }
    }

    /// Make `op` fail on `host` (or everywhere) `times` times (or always).
    pub fn fail(&self, op: MockOp, host: Option<&str>, times: Option<u32>) {
        self.lock().fail.push(FailRule {
            op,
            host: host.map(str::to_string),
            remaining: times,
        });
    }

    pub fn clear_failures(&self) {
        self.lock().fail.clear();
    }

    /// Every call sleeps this long first (to hold operations in flight in tests).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a test; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn enter(&self, op: MockOp, host: &str) -> ExecResult<()> {
        let (delay, failed) = {
            let mut st = self.lock();
            let mut failed = false;
            for rule in st.fail.iter_mut() {
                let host_matches = rule.host.as_deref().is_none_or(|h| h == host);
                if rule.op == op && host_matches && rule.remaining != Some(0) {
                    if let Some(n) = rule.remaining.as_mut() {
                        *n -= 1;
                    }
                    failed = true;
                    break;
                }
            }
            (st.delay, failed)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if failed {
            return Err(ExecError::Command {
                host: host.to_string(),
                command: format!("mock {op:?}"),
                status: 1,
                stderr: "injected failure".to_string(),
            });
        }
        Ok(())
    }

    fn report(&self, pv_uuid: String, paths: Vec<String>) -> DeviceReport {
        DeviceReport {
            total_kib: self.device_size_kib,
            free_kib: self.device_size_kib,
            used_kib: 0,
            extent_size_kib: EXTENT_KIB,
            pv_uuid,
            paths,
        }
    }
}

impl Default for MockExecutor {
    fn default() -> Self {
        MockExecutor::new(DEFAULT_DEVICE_SIZE_GIB)
    }
}

#[async_trait]
impl Executor for MockExecutor {
    fn name(&self) -> &'static str {
        "mock"
    }

    async fn glusterd_check(&self, node: &NodeTarget) -> ExecResult<()> {
        self.enter(MockOp::GlusterdCheck, &node.manage).await
    }

    async fn peer_probe(&self, on: &NodeTarget, _storage: &str) -> ExecResult<()> {
        self.enter(MockOp::PeerProbe, &on.manage).await
    }

    async fn peer_detach(&self, on: &NodeTarget, _storage: &str) -> ExecResult<()> {
        self.enter(MockOp::PeerDetach, &on.manage).await
    }

    async fn device_setup(
        &self,
        node: &NodeTarget,
        device: &DeviceSetup,
    ) -> ExecResult<DeviceReport> {
        self.enter(MockOp::DeviceSetup, &node.manage).await?;
        Ok(self.report(format!("mock-pv-{}", &device.id), vec![device.name.clone()]))
    }

    async fn device_teardown(
        &self,
        node: &NodeTarget,
        _device: &DeviceRef,
        force: bool,
    ) -> ExecResult<()> {
        let r = self.enter(MockOp::DeviceTeardown, &node.manage).await;
        if force {
            Ok(())
        } else {
            r
        }
    }

    async fn device_resync(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
    ) -> ExecResult<DeviceReport> {
        self.enter(MockOp::DeviceResync, &node.manage).await?;
        Ok(self.report(device.pv_uuid.clone(), device.paths.clone()))
    }

    async fn brick_create(&self, node: &NodeTarget, _brick: &BrickSpec) -> ExecResult<()> {
        self.enter(MockOp::BrickCreate, &node.manage).await
    }

    async fn brick_destroy(&self, node: &NodeTarget, _brick: &BrickSpec) -> ExecResult<bool> {
        self.enter(MockOp::BrickDestroy, &node.manage).await?;
        Ok(true)
    }

    async fn volume_create(&self, on: &NodeTarget, _volume: &VolumeSpec) -> ExecResult<()> {
        self.enter(MockOp::VolumeCreate, &on.manage).await
    }

    async fn volume_expand(
        &self,
        on: &NodeTarget,
        _volume: &VolumeSpec,
        _rebalance: bool,
    ) -> ExecResult<()> {
        self.enter(MockOp::VolumeExpand, &on.manage).await
    }

    async fn volume_destroy(&self, on: &NodeTarget, _name: &str) -> ExecResult<()> {
        self.enter(MockOp::VolumeDestroy, &on.manage).await
    }

    async fn volume_info(&self, on: &NodeTarget, name: &str) -> ExecResult<VolumeStatus> {
        self.enter(MockOp::VolumeInfo, &on.manage).await?;
        Ok(VolumeStatus {
            name: name.to_string(),
            ..Default::default()
        })
    }

    async fn volume_clone(
        &self,
        on: &NodeTarget,
        _origin: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus> {
        self.enter(MockOp::VolumeClone, &on.manage).await?;
        Ok(VolumeStatus {
            name: clone.to_string(),
            ..Default::default()
        })
    }

    async fn heal_info(&self, on: &NodeTarget, _name: &str) -> ExecResult<HealInfo> {
        self.enter(MockOp::HealInfo, &on.manage).await?;
        Ok(HealInfo::default())
    }

    async fn replace_brick(
        &self,
        on: &NodeTarget,
        _name: &str,
        _old: &BrickAddr,
        _new: &BrickAddr,
    ) -> ExecResult<()> {
        self.enter(MockOp::ReplaceBrick, &on.manage).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(h: &str) -> NodeTarget {
        NodeTarget {
            manage: h.into(),
            storage: h.into(),
        }
    }

    #[tokio::test]
    async fn reports_heketi_mock_sizes() {
        let m = MockExecutor::default();
        let r = m
            .device_setup(
                &node("a"),
                &DeviceSetup {
                    id: "d".into(),
                    name: "/dev/sdb".into(),
                    destroydata: false,
                },
            )
            .await
            .unwrap();
        assert_eq!(r.total_kib, 500 * 1024 * 1024);
        assert_eq!(r.free_kib, r.total_kib);
    }

    #[tokio::test]
    async fn injected_failures_are_counted_and_host_scoped() {
        let m = MockExecutor::default();
        m.fail(MockOp::GlusterdCheck, Some("a"), Some(1));
        assert!(m.glusterd_check(&node("b")).await.is_ok());
        let err = m.glusterd_check(&node("a")).await.unwrap_err();
        assert_eq!(err.host(), Some("a"));
        assert!(m.glusterd_check(&node("a")).await.is_ok());
    }
}
