//! The mock executor: runs nothing, answers like heketi's mock (devices of 500 GiB), and lets
//! tests inject failures and delays. For API tests and development only.
//!
//! It keeps a model of what the nodes would hold after each call ([`MockExecutor::nodes`]),
//! logs the calls it was asked ([`MockExecutor::calls`]), and can hold one call to stand for a
//! crash at that step ([`MockExecutor::hold`]). The model answers the cases where the real
//! command layer (`commands/`) is idempotent or refuses the same way that layer does, so that
//! a test on the mock says something true about the real thing; each such rule names the
//! place in `commands/*.rs` it mirrors.
//!
//! What is modelled: per management host, the devices set up (by device id) and the bricks
//! (by brick id); cluster-wide, as gluster sees them, the volumes (by name) and the trusted
//! pool's peers. One pool for all clusters: the mock does not keep heqet clusters apart.
//! Not modelled: free space (every report says the device is empty, as heketi's mock does),
//! fstab lines, the existence of block devices (every device path exists), volume options,
//! snapshots, and whether a brick's node is in the pool; the option and brick-address word
//! checks of `commands::gluster` are not repeated.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use heqet_api::layout::Layout;
use tokio::sync::watch;

use crate::commands::gluster::add_brick_chunk;
use crate::commands::{check_device, check_name};
// The command layer's own check: a brick it would refuse, the mock refuses too.
use crate::commands::brick::check_brick;
use crate::{
    vg_name, BrickAddr, BrickHeal, BrickSpec, DeviceRef, DeviceReport, DeviceSetup, ExecError,
    ExecResult, Executor, HealInfo, NodeTarget, VolumeSpec, VolumeStatus,
};

pub const DEFAULT_DEVICE_SIZE_GIB: u64 = 500;
const EXTENT_KIB: u64 = 4096;

/// Which call a failure rule (or a logged call) is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// One call as it entered the mock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockCall {
    pub op: MockOp,
    /// Management hostname the call ran on.
    pub host: String,
    /// Brick id (brick calls), volume name (volume calls; the clone's name for a clone),
    /// device id (device calls), the peer's storage hostname (peer calls), empty for
    /// `glusterd_check`.
    pub subject: String,
}

/// Where a held call stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldPoint {
    /// Before its effect: the node never did it.
    Before,
    /// After its effect, before answering: the node did it, the answer was lost.
    After,
}

/// A device as set up on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockDevice {
    /// Device path it was set up on.
    pub name: String,
    /// What `device_setup` reported.
    pub report: DeviceReport,
}

/// A gluster volume as the pool knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockVolume {
    /// Gluster's volume UUID (made up by the mock, unique per mock).
    pub id: String,
    /// Management hostname the create (or clone) ran on.
    pub on: String,
    pub layout: Layout,
    /// Bricks in gluster order.
    pub bricks: Vec<BrickAddr>,
}

/// A snapshot of what the nodes hold. Hosts with nothing left are absent, so a snapshot
/// taken before an operation compares equal to one taken after its complete undo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockNodes {
    /// Management host -> device id -> device.
    pub devices: BTreeMap<String, BTreeMap<String, MockDevice>>,
    /// Management host -> brick id -> brick as created. Clone bricks, which gluster makes
    /// before heqet gives them ids, are keyed by their LV name (`<uuid>_<n>`).
    pub bricks: BTreeMap<String, BTreeMap<String, BrickSpec>>,
    /// Volume name -> volume (cluster-wide, as in gluster).
    pub volumes: BTreeMap<String, MockVolume>,
    /// Storage hostnames in the trusted pool: the probing node and the probed one join on a
    /// probe; a node left alone by a detach is no pool, and the set empties.
    pub peers: BTreeSet<String>,
}

impl MockNodes {
    /// Ids of the bricks on `host`.
    pub fn brick_ids(&self, host: &str) -> BTreeSet<String> {
        self.bricks
            .get(host)
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Ids of the devices set up on `host`.
    pub fn device_ids(&self, host: &str) -> BTreeSet<String> {
        self.devices
            .get(host)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The two sides of a hold: the held call says it got there; the test lets it go.
struct HoldShared {
    reached: watch::Sender<bool>,
    released: watch::Sender<bool>,
}

impl HoldShared {
    /// Tell the test the call is here, then wait for a release (forever if none comes).
    async fn stop_here(&self) {
        self.reached.send_replace(true);
        let mut rx = self.released.subscribe();
        // The sender lives in `self`, so this only returns on a release.
        let _ = rx.wait_for(|r| *r).await;
    }
}

/// A test's handle on a held call (see [`MockExecutor::hold`]).
pub struct Hold {
    shared: Arc<HoldShared>,
}

impl Hold {
    /// Resolves once the held call got to its hold point.
    pub async fn reached(&self) {
        let mut rx = self.shared.reached.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Let the held call go on (also before it got there: it then does not stop).
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }
}

/// A hold waiting for its call.
struct Armed {
    /// Call number (as counted by `call_count`) to hold.
    at: usize,
    point: HoldPoint,
    shared: Arc<HoldShared>,
}

#[derive(Clone, Debug)]
struct FailRule {
    op: MockOp,
    /// Management hostname the rule applies to; `None` = every node.
    host: Option<String>,
    /// How many more calls fail; `None` = all.
    remaining: Option<u32>,
}

/// The nodes' side: the snapshot plus what the effects need to resolve addresses.
#[derive(Default)]
struct World {
    nodes: MockNodes,
    /// Management host -> storage host, as seen in calls (brick addresses use the latter).
    storage_of: BTreeMap<String, String>,
    /// Source of made-up gluster UUIDs.
    next_uuid: u64,
}

#[derive(Default)]
struct State {
    fail: Vec<FailRule>,
    delay: Duration,
    calls: Vec<MockCall>,
    /// Calls made since the mock was created (not reset by `clear_calls`).
    count: usize,
    hold: Option<Armed>,
    world: World,
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

    /// Make `op` fail on `host` (or everywhere) `times` times (or always). A failing call
    /// has no effect on the nodes and is still logged.
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

    /// What the nodes hold now.
    pub fn nodes(&self) -> MockNodes {
        self.lock().world.nodes.clone()
    }

    /// The calls made since creation or the last [`MockExecutor::clear_calls`], in the order
    /// they entered.
    pub fn calls(&self) -> Vec<MockCall> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Calls made since the mock was created; `clear_calls` does not reset it.
    pub fn call_count(&self) -> usize {
        self.lock().count
    }

    /// Hold the `nth` call from now (1 = the next one) at `point`, to simulate a crash there:
    /// it waits until [`Hold::release`], or forever (the test aborts its task). One hold at a
    /// time: a new hold replaces one whose call has not come yet.
    pub fn hold(&self, nth: usize, point: HoldPoint) -> Hold {
        assert!(nth >= 1, "hold: nth counts from 1 (the next call)");
        let shared = Arc::new(HoldShared {
            reached: watch::channel(false).0,
            released: watch::channel(false).0,
        });
        let mut st = self.lock();
        st.hold = Some(Armed {
            at: st.count + nth,
            point,
            shared: shared.clone(),
        });
        Hold { shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a test; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One call: log it, sleep the delay, maybe hold, then either the injected failure
    /// (outer `Err`, nothing done) or the effect on the nodes (inner result).
    async fn run<T>(
        &self,
        op: MockOp,
        node: &NodeTarget,
        subject: &str,
        effect: impl FnOnce(&mut World) -> ExecResult<T> + Send,
    ) -> Result<ExecResult<T>, ExecError> {
        let host = node.manage.as_str();
        let (delay, failed, held) = {
            let mut st = self.lock();
            st.calls.push(MockCall {
                op,
                host: host.to_string(),
                subject: subject.to_string(),
            });
            st.count += 1;
            st.world
                .storage_of
                .insert(host.to_string(), node.storage.clone());
            let held = match &st.hold {
                Some(a) if a.at == st.count => st.hold.take().map(|a| (a.point, a.shared)),
                _ => None,
            };
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
            (st.delay, failed, held)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some((HoldPoint::Before, shared)) = &held {
            shared.stop_here().await;
        }
        let res = if failed {
            Err(ExecError::Command {
                host: host.to_string(),
                command: format!("mock {op:?}"),
                status: 1,
                stderr: "injected failure".to_string(),
            })
        } else {
            Ok(effect(&mut self.lock().world))
        };
        if let Some((HoldPoint::After, shared)) = &held {
            shared.stop_here().await;
        }
        res
    }

    /// [`MockExecutor::run`] with an injected failure as the answer.
    async fn call<T>(
        &self,
        op: MockOp,
        node: &NodeTarget,
        subject: &str,
        effect: impl FnOnce(&mut World) -> ExecResult<T> + Send,
    ) -> ExecResult<T> {
        self.run(op, node, subject, effect).await.and_then(|r| r)
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

/// A command that ran and failed, as the command layer reports it.
fn failed(host: &str, command: String, status: i32, stderr: String) -> ExecError {
    ExecError::Command {
        host: host.to_string(),
        command,
        status,
        stderr,
    }
}

/// `commands::gluster::check_volume`'s name and whole-set rules.
fn check_volume(host: &str, v: &VolumeSpec) -> ExecResult<()> {
    check_name(host, "volume name", &v.name)?;
    let set = v.layout.set_size();
    if set == 0 || v.bricks.is_empty() || !v.bricks.len().is_multiple_of(set) {
        return Err(ExecError::Other(format!(
            "{host}: volume {}: {} bricks do not make whole sets of {set}",
            v.name,
            v.bricks.len()
        )));
    }
    Ok(())
}

fn gluster(args: &str) -> String {
    format!("gluster --mode=script {args}")
}

fn no_such_volume(host: &str, command: String, name: &str) -> ExecError {
    failed(host, command, 1, format!("Volume {name} does not exist"))
}

impl World {
    fn prune(&mut self) {
        self.nodes.devices.retain(|_, d| !d.is_empty());
        self.nodes.bricks.retain(|_, b| !b.is_empty());
    }

    fn bricks_on(&self, host: &str) -> impl Iterator<Item = &BrickSpec> {
        self.nodes
            .bricks
            .get(host)
            .into_iter()
            .flat_map(|b| b.values())
    }

    /// The host and brick behind a gluster brick address.
    fn brick_at(&self, addr: &BrickAddr) -> Option<(&str, &BrickSpec)> {
        self.storage_of
            .iter()
            .filter(|(_, storage)| **storage == addr.host)
            .find_map(|(manage, _)| {
                self.bricks_on(manage)
                    .find(|b| b.path == addr.path)
                    .map(|b| (manage.as_str(), b))
            })
    }

    /// The volume a brick address belongs to.
    fn volume_of(&self, addr: &BrickAddr) -> Option<&str> {
        self.nodes
            .volumes
            .iter()
            .find(|(_, v)| v.bricks.contains(addr))
            .map(|(n, _)| n.as_str())
    }

    fn new_uuid(&mut self) -> String {
        self.next_uuid += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next_uuid)
    }

    /// Would gluster take this brick into a volume? It must be a brick a brick_create made
    /// (else gluster refuses it as lying on the root partition; heqet never passes `force`)
    /// and in no volume yet.
    fn usable_brick(&self, host: &str, command: &str, addr: &BrickAddr) -> ExecResult<()> {
        if self.volume_of(addr).is_some() {
            return Err(failed(
                host,
                gluster(command),
                1,
                format!("{command}: failed: {addr} is already part of a volume"),
            ));
        }
        if self.brick_at(addr).is_none() {
            return Err(failed(
                host,
                gluster(command),
                1,
                format!(
                    "{command}: failed: The brick {addr} is being created in the root partition. \
                     It is recommended that you don't use the system's root partition for \
                     storage backend. Or use 'force' at the end of the command if you want to \
                     override this behavior."
                ),
            ));
        }
        Ok(())
    }

    fn device_setup(
        &mut self,
        host: &str,
        dev: &DeviceSetup,
        report: DeviceReport,
    ) -> ExecResult<DeviceReport> {
        // device.rs setup_device/probe_device: names first.
        check_name(host, "device id", &dev.id)?;
        check_device(host, &dev.name)?;
        let same_path = self
            .nodes
            .devices
            .get(host)
            .and_then(|d| d.iter().find(|(_, d)| d.name == dev.name))
            .map(|(id, d)| (id.clone(), d.report.pv_uuid.clone()));
        if let Some((old_id, pv_uuid)) = same_path {
            if !dev.destroydata {
                // device.rs:244: the probe finds the PV (text of classify, device.rs:162).
                return Err(ExecError::DeviceHasData {
                    host: host.into(),
                    device: dev.name.clone(),
                    found: format!("LVM2_member (PV {pv_uuid} of VG {})", vg_name(&old_id)),
                });
            }
            // device.rs:251-257 wipes with destroydata. Choice: with thin LVs active on it,
            // wipefs cannot open the disk exclusively and fails.
            if self.bricks_on(host).any(|b| b.device_id == old_id) {
                return Err(failed(
                    host,
                    format!("wipefs --all {}", dev.name),
                    1,
                    format!(
                        "wipefs: error: {}: probing initialization failed: Device or resource busy",
                        dev.name
                    ),
                ));
            }
            if let Some(d) = self.nodes.devices.get_mut(host) {
                d.remove(&old_id);
            }
        }
        let vg = vg_name(&dev.id);
        if self.nodes.device_ids(host).contains(&dev.id) {
            // device.rs:260-262: vgcreate fails, the new PV is removed again.
            self.prune();
            return Err(failed(
                host,
                format!("/usr/sbin/lvm vgcreate -qq {vg} {}", dev.name),
                5,
                format!("A volume group called {vg} already exists."),
            ));
        }
        self.nodes
            .devices
            .entry(host.to_string())
            .or_default()
            .insert(
                dev.id.clone(),
                MockDevice {
                    name: dev.name.clone(),
                    report: report.clone(),
                },
            );
        Ok(report)
    }

    /// device.rs:331-339: a missing PV UUID is read from the node.
    fn with_uuid(&self, host: &str, d: &DeviceRef) -> DeviceRef {
        let mut d = d.clone();
        if d.pv_uuid.is_empty() {
            if let Some(dev) = self.nodes.devices.get(host).and_then(|m| m.get(&d.id)) {
                d.pv_uuid = dev.report.pv_uuid.clone();
            }
        }
        d
    }

    fn device_teardown(&mut self, host: &str, d: &DeviceRef, force: bool) -> ExecResult<()> {
        // device.rs:360-365: names before anything, forced or not.
        check_name(host, "device id", &d.id)?;
        check_device(host, &self.with_uuid(host, d).pv_path())?;
        if !self.nodes.device_ids(host).contains(&d.id) {
            // device.rs:372-377 (not found is done) and 366-370 (forced: errors ignored).
            return Ok(());
        }
        let vg = vg_name(&d.id);
        if let Some(b) = self.bricks_on(host).find(|b| b.device_id == d.id) {
            if force {
                // device.rs:366-370: vgremove refuses a VG with a mounted LV, pvremove a PV
                // still in a VG; both errors are ignored and the device stays.
                return Ok(());
            }
            // device.rs:375: the vgremove error ends the teardown.
            return Err(failed(
                host,
                format!("/usr/sbin/lvm vgremove -qq {vg}"),
                5,
                format!("Logical volume {vg}/{} contains a filesystem in use.", b.lv),
            ));
        }
        if let Some(devs) = self.nodes.devices.get_mut(host) {
            devs.remove(&d.id);
        }
        self.prune();
        Ok(())
    }

    fn device_resync(&self, host: &str, d: &DeviceRef) -> ExecResult<(String, Vec<String>)> {
        check_name(host, "device id", &d.id)?;
        let Some(dev) = self.nodes.devices.get(host).and_then(|m| m.get(&d.id)) else {
            // device.rs:348-351, 292: pvs does not find the PV.
            let path = d.pv_path();
            check_device(host, &path)?;
            return Err(failed(
                host,
                format!("/usr/sbin/lvm pvs -o pv_name,pv_uuid,vg_name --reportformat=json {path}"),
                5,
                format!("Failed to find physical volume \"{path}\"."),
            ));
        };
        Ok((dev.report.pv_uuid.clone(), dev.report.paths.clone()))
    }

    fn brick_create(&mut self, host: &str, b: &BrickSpec) -> ExecResult<()> {
        check_brick(host, b)?;
        let vg = b.vg();
        let lvcreate = format!(
            "/usr/sbin/lvm lvcreate -qq --thin {vg}/{} --name {}",
            b.thin_pool, b.lv
        );
        // brick.rs:228: lvcreate is the first step that can fail on node state; the undo
        // (brick.rs:267-282) only removes the mount directory it made.
        if !self
            .nodes
            .devices
            .get(host)
            .is_some_and(|d| d.contains_key(&b.device_id))
        {
            return Err(failed(
                host,
                lvcreate,
                5,
                format!("Volume group \"{vg}\" not found"),
            ));
        }
        let in_vg: Vec<&BrickSpec> = self
            .bricks_on(host)
            .filter(|o| o.device_id == b.device_id)
            .collect();
        // An LV of that name exists: lvcreate refuses. Choice: so does a thin pool of that
        // name (`--size … --thin vg/tp` asks LVM to create the pool anew).
        for name in [&b.lv, &b.thin_pool] {
            if in_vg.iter().any(|o| &o.lv == name || &o.thin_pool == name) {
                return Err(failed(
                    host,
                    lvcreate,
                    5,
                    format!("Logical Volume \"{name}\" already exists in volume group \"{vg}\""),
                ));
            }
        }
        // brick.rs:235: the mount fails when the mount point is taken.
        let mount_point = b.mount_point();
        if self
            .bricks_on(host)
            .any(|o| o.path.strip_suffix("/brick").unwrap_or(&o.path) == mount_point)
        {
            return Err(failed(
                host,
                format!("mount {} {}", b.dm_device(), b.mount_point()),
                32,
                format!(
                    "mount: {}: {} already mounted or mount point busy.",
                    b.mount_point(),
                    b.dm_device()
                ),
            ));
        }
        if self.bricks_on(host).any(|o| o.id == b.id) {
            // Mock only: a second brick under a used id (never an ordinary `brick_<id>` LV,
            // which the checks above refuse) cannot be kept apart in the model.
            return Err(ExecError::Other(format!(
                "{host}: mock: brick id {} already used",
                b.id
            )));
        }
        self.nodes
            .bricks
            .entry(host.to_string())
            .or_default()
            .insert(b.id.clone(), b.clone());
        Ok(())
    }

    fn brick_destroy(&mut self, host: &str, b: &BrickSpec) -> ExecResult<bool> {
        check_brick(host, b)?;
        // LVM knows the brick by VG and LV, not by heqet's id (clone bricks have other ids).
        let found = self
            .bricks_on(host)
            .find(|o| o.device_id == b.device_id && o.lv == b.lv)
            .map(|o| o.id.clone());
        if let Some(id) = found {
            let addr = BrickAddr {
                host: self.storage_of.get(host).cloned().unwrap_or_default(),
                path: b.path.clone(),
            };
            if self.volume_of(&addr).is_some() {
                // brick.rs:327-349: glusterfsd holds the mount, umount fails, the destroy
                // ends there (the fstab line, not modelled, is gone by then).
                let mp = b.mount_point();
                return Err(failed(
                    host,
                    format!("umount {mp}"),
                    32,
                    format!("umount: {mp}: target is busy."),
                ));
            }
            if let Some(bricks) = self.nodes.bricks.get_mut(host) {
                bricks.remove(&id);
            }
            self.prune();
        }
        // brick.rs:289-314: an LV already gone is fine; the pool goes (space reclaimed)
        // unless another thin LV (a clone's) still lives in it; a pool already gone counts
        // as reclaimed.
        let pool_in_use = self
            .bricks_on(host)
            .any(|o| o.device_id == b.device_id && o.thin_pool == b.thin_pool);
        Ok(!pool_in_use)
    }

    fn volume_create(&mut self, host: &str, v: &VolumeSpec) -> ExecResult<()> {
        check_volume(host, v)?;
        if self.nodes.volumes.contains_key(&v.name) {
            // gluster.rs:346: the create command fails; the existing volume is untouched.
            return Err(failed(
                host,
                gluster(&format!("volume create {}", v.name)),
                1,
                format!(
                    "volume create: {0}: failed: Volume {0} already exists",
                    v.name
                ),
            ));
        }
        let set = v.layout.set_size();
        for (i, addr) in v.bricks.iter().enumerate() {
            // gluster.rs:346-361: a refusal by create or a later add-brick leaves no volume
            // (after the create, the volume is stopped and deleted again).
            let command = if i < set {
                "volume create"
            } else {
                "volume add-brick"
            };
            self.usable_brick(host, command, addr)?;
        }
        let id = self.new_uuid();
        self.nodes.volumes.insert(
            v.name.clone(),
            MockVolume {
                id,
                on: host.to_string(),
                layout: v.layout,
                bricks: v.bricks.clone(),
            },
        );
        Ok(())
    }

    fn volume_expand(&mut self, host: &str, v: &VolumeSpec) -> ExecResult<()> {
        check_volume(host, v)?;
        if !self.nodes.volumes.contains_key(&v.name) {
            return Err(failed(
                host,
                gluster(&format!("volume add-brick {}", v.name)),
                1,
                format!("volume add-brick: failed: Volume {} does not exist", v.name),
            ));
        }
        // gluster.rs:335-340: add-brick in chunks; the chunks before a refused one stay.
        for chunk in v.bricks.chunks(add_brick_chunk(&v.layout)) {
            for addr in chunk {
                self.usable_brick(host, "volume add-brick", addr)?;
            }
            if let Some(vol) = self.nodes.volumes.get_mut(&v.name) {
                vol.bricks.extend(chunk.iter().cloned());
            }
        }
        Ok(())
    }

    fn volume_destroy(&mut self, host: &str, name: &str) -> ExecResult<()> {
        check_name(host, "volume name", name)?;
        // gluster.rs:389: "does not exist" counts as done.
        self.nodes.volumes.remove(name);
        Ok(())
    }

    fn volume(&self, host: &str, name: &str) -> ExecResult<&MockVolume> {
        check_name(host, "volume name", name)?;
        // gluster.rs:235-256: opRet -1, "Volume does not exist" (testdata volinfo-missing).
        self.nodes.volumes.get(name).ok_or_else(|| {
            failed(
                host,
                gluster(&format!("volume info {name} --xml")),
                -1,
                "Volume does not exist".to_string(),
            )
        })
    }

    fn volume_info(&self, host: &str, name: &str) -> ExecResult<VolumeStatus> {
        let v = self.volume(host, name)?;
        Ok(VolumeStatus {
            name: name.to_string(),
            id: v.id.clone(),
            bricks: v.bricks.clone(),
        })
    }

    fn volume_clone(&mut self, host: &str, origin: &str, clone: &str) -> ExecResult<VolumeStatus> {
        check_name(host, "volume name", origin)?;
        check_name(host, "volume name", clone)?;
        // gluster.rs:439: the origin's info comes first.
        let o = self.volume(host, origin)?.clone();
        if self.nodes.volumes.contains_key(clone) {
            // gluster.rs:478-481: snapshot clone refuses; the temporary snapshot goes (455-464).
            return Err(failed(
                host,
                gluster(&format!("--xml snapshot clone {clone}")),
                -1,
                format!("Volume with name {clone} already exists"),
            ));
        }
        // Each clone brick is a thin snapshot LV in its origin brick's pool, mounted under
        // gluster's snaps dir; LV `<uuid>_<n>` as gluster names it (the server relies on it).
        let mut made = Vec::new();
        for addr in &o.bricks {
            let Some((manage, ob)) = self.brick_at(addr) else {
                return Err(failed(
                    host,
                    gluster(&format!("--xml snapshot create {origin}")),
                    -1,
                    format!("brick {addr} of {origin} is not available"),
                ));
            };
            made.push((manage.to_string(), ob.clone()));
        }
        let id = self.new_uuid();
        let plain = id.replace('-', "");
        let mut bricks = Vec::new();
        for (i, (manage, ob)) in made.into_iter().enumerate() {
            let lv = format!("{plain}_{i}");
            let path = format!("/run/gluster/snaps/{plain}/brick{}/brick", i + 1);
            bricks.push(BrickAddr {
                host: o.bricks[i].host.clone(),
                path: path.clone(),
            });
            let spec = BrickSpec {
                id: lv.clone(),
                lv,
                tp_size_kib: 0,
                pool_metadata_kib: 0,
                path,
                ..ob
            };
            self.nodes
                .bricks
                .entry(manage)
                .or_default()
                .insert(spec.id.clone(), spec);
        }
        self.nodes.volumes.insert(
            clone.to_string(),
            MockVolume {
                id: id.clone(),
                on: host.to_string(),
                layout: o.layout,
                bricks: bricks.clone(),
            },
        );
        Ok(VolumeStatus {
            name: clone.to_string(),
            id,
            bricks,
        })
    }

    fn heal_info(&self, host: &str, name: &str) -> ExecResult<HealInfo> {
        let v = self.volume(host, name)?;
        // Every brick connected, nothing to heal.
        Ok(HealInfo {
            bricks: v
                .bricks
                .iter()
                .map(|b| BrickHeal {
                    brick: b.clone(),
                    connected: true,
                    pending_entries: Some(0),
                })
                .collect(),
        })
    }

    fn replace_brick(
        &mut self,
        host: &str,
        name: &str,
        old: &BrickAddr,
        new: &BrickAddr,
    ) -> ExecResult<()> {
        check_name(host, "volume name", name)?;
        let command = gluster(&format!(
            "volume replace-brick {name} {old} {new} commit force"
        ));
        let Some(v) = self.nodes.volumes.get(name) else {
            return Err(no_such_volume(host, command, name));
        };
        let Some(pos) = v.bricks.iter().position(|b| b == old) else {
            return Err(failed(
                host,
                command,
                1,
                format!(
                    "volume replace-brick: failed: brick: {old} does not exist in volume: {name}"
                ),
            ));
        };
        // Choice: the new brick must be one brick_create made, as for volume create.
        self.usable_brick(host, "volume replace-brick", new)?;
        if let Some(v) = self.nodes.volumes.get_mut(name) {
            v.bricks[pos] = new.clone();
        }
        Ok(())
    }

    fn peer_probe(&mut self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        check_name(&on.manage, "peer hostname", storage)?;
        // gluster.rs:319-327: only the exit status counts, and gluster exits 0 for a host
        // already in the pool and for the node itself.
        if on.storage != storage {
            self.nodes.peers.insert(on.storage.clone());
            self.nodes.peers.insert(storage.to_string());
        }
        Ok(())
    }

    fn peer_detach(&mut self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        let host = on.manage.as_str();
        check_name(host, "peer hostname", storage)?;
        let command = gluster(&format!("peer detach {storage}"));
        // gluster.rs:331: any refusal is the call's error.
        if on.storage == storage {
            return Err(failed(
                host,
                command,
                1,
                format!("peer detach: failed: {storage} is localhost"),
            ));
        }
        if !self.nodes.peers.contains(storage) {
            return Err(failed(
                host,
                command,
                1,
                format!("peer detach: failed: {storage} is not part of cluster"),
            ));
        }
        if self
            .nodes
            .volumes
            .values()
            .any(|v| v.bricks.iter().any(|b| b.host == storage))
        {
            return Err(failed(
                host,
                command,
                1,
                format!("peer detach: failed: Peer {storage} hosts one or more bricks. If the peer is in not recoverable state then use either replace-brick or remove-brick command with force to remove all bricks from the peer and attempt the peer detach again."),
            ));
        }
        self.nodes.peers.remove(storage);
        if self.nodes.peers.len() < 2 {
            self.nodes.peers.clear();
        }
        Ok(())
    }
}

#[async_trait]
impl Executor for MockExecutor {
    fn name(&self) -> &'static str {
        "mock"
    }

    async fn glusterd_check(&self, node: &NodeTarget) -> ExecResult<()> {
        self.call(MockOp::GlusterdCheck, node, "", |_| Ok(())).await
    }

    async fn peer_probe(&self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        self.call(MockOp::PeerProbe, on, storage, |w| {
            w.peer_probe(on, storage)
        })
        .await
    }

    async fn peer_detach(&self, on: &NodeTarget, storage: &str) -> ExecResult<()> {
        self.call(MockOp::PeerDetach, on, storage, |w| {
            w.peer_detach(on, storage)
        })
        .await
    }

    async fn device_setup(
        &self,
        node: &NodeTarget,
        device: &DeviceSetup,
    ) -> ExecResult<DeviceReport> {
        let report = self.report(format!("mock-pv-{}", &device.id), vec![device.name.clone()]);
        self.call(MockOp::DeviceSetup, node, &device.id, |w| {
            w.device_setup(&node.manage, device, report)
        })
        .await
    }

    async fn device_teardown(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
        force: bool,
    ) -> ExecResult<()> {
        let r = self
            .run(MockOp::DeviceTeardown, node, &device.id, |w| {
                w.device_teardown(&node.manage, device, force)
            })
            .await;
        match r {
            // device.rs:366-370: forced, command failures are ignored (and nothing was done).
            Err(_) if force => Ok(()),
            other => other.and_then(|r| r),
        }
    }

    async fn device_resync(
        &self,
        node: &NodeTarget,
        device: &DeviceRef,
    ) -> ExecResult<DeviceReport> {
        let (pv_uuid, paths) = self
            .call(MockOp::DeviceResync, node, &device.id, |w| {
                w.device_resync(&node.manage, device)
            })
            .await?;
        Ok(self.report(pv_uuid, paths))
    }

    async fn brick_create(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<()> {
        self.call(MockOp::BrickCreate, node, &brick.id, |w| {
            w.brick_create(&node.manage, brick)
        })
        .await
    }

    async fn brick_destroy(&self, node: &NodeTarget, brick: &BrickSpec) -> ExecResult<bool> {
        self.call(MockOp::BrickDestroy, node, &brick.id, |w| {
            w.brick_destroy(&node.manage, brick)
        })
        .await
    }

    async fn volume_create(&self, on: &NodeTarget, volume: &VolumeSpec) -> ExecResult<()> {
        self.call(MockOp::VolumeCreate, on, &volume.name, |w| {
            w.volume_create(&on.manage, volume)
        })
        .await
    }

    async fn volume_expand(
        &self,
        on: &NodeTarget,
        volume: &VolumeSpec,
        _rebalance: bool,
    ) -> ExecResult<()> {
        self.call(MockOp::VolumeExpand, on, &volume.name, |w| {
            w.volume_expand(&on.manage, volume)
        })
        .await
    }

    async fn volume_destroy(&self, on: &NodeTarget, name: &str) -> ExecResult<()> {
        self.call(MockOp::VolumeDestroy, on, name, |w| {
            w.volume_destroy(&on.manage, name)
        })
        .await
    }

    async fn volume_info(&self, on: &NodeTarget, name: &str) -> ExecResult<VolumeStatus> {
        self.call(MockOp::VolumeInfo, on, name, |w| {
            w.volume_info(&on.manage, name)
        })
        .await
    }

    async fn volume_clone(
        &self,
        on: &NodeTarget,
        origin: &str,
        clone: &str,
    ) -> ExecResult<VolumeStatus> {
        self.call(MockOp::VolumeClone, on, clone, |w| {
            w.volume_clone(&on.manage, origin, clone)
        })
        .await
    }

    async fn heal_info(&self, on: &NodeTarget, name: &str) -> ExecResult<HealInfo> {
        self.call(MockOp::HealInfo, on, name, |w| {
            w.heal_info(&on.manage, name)
        })
        .await
    }

    async fn replace_brick(
        &self,
        on: &NodeTarget,
        name: &str,
        old: &BrickAddr,
        new: &BrickAddr,
    ) -> ExecResult<()> {
        self.call(MockOp::ReplaceBrick, on, name, |w| {
            w.replace_brick(&on.manage, name, old, new)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brick_path;

    const GIB: u64 = 1024 * 1024;

    fn node(h: &str) -> NodeTarget {
        NodeTarget {
            manage: h.into(),
            storage: format!("{h}.storage"),
        }
    }

    fn setup(id: &str, name: &str, destroydata: bool) -> DeviceSetup {
        DeviceSetup {
            id: id.into(),
            name: name.into(),
            destroydata,
        }
    }

    fn dref(id: &str, name: &str) -> DeviceRef {
        DeviceRef {
            id: id.into(),
            name: name.into(),
            pv_uuid: format!("mock-pv-{id}"),
            paths: vec![name.into()],
        }
    }

    fn brick(device: &str, id: &str) -> BrickSpec {
        BrickSpec {
            id: id.into(),
            device_id: device.into(),
            thin_pool: format!("tp_{id}"),
            lv: format!("brick_{id}"),
            size_kib: GIB,
            tp_size_kib: GIB,
            pool_metadata_kib: 8192,
            arbiter: false,
            gid: 0,
            path: brick_path(device, id),
        }
    }

    fn addr(host: &str, b: &BrickSpec) -> BrickAddr {
        BrickAddr {
            host: node(host).storage,
            path: b.path.clone(),
        }
    }

    fn vspec(name: &str, layout: Layout, bricks: Vec<BrickAddr>) -> VolumeSpec {
        VolumeSpec {
            name: name.into(),
            id: format!("id-{name}"),
            layout,
            bricks,
            options: vec![],
        }
    }

    fn r3() -> Layout {
        Layout::Replicate { replica: 3 }
    }

    fn command_status(r: ExecResult<impl std::fmt::Debug>) -> (i32, String) {
        match r {
            Err(ExecError::Command { status, stderr, .. }) => (status, stderr),
            other => panic!("expected a command failure, got {other:?}"),
        }
    }

    /// Hosts a, b, c with device `d<host>` each and brick `<host><n>` for n in `bricks`.
    async fn three_nodes(m: &MockExecutor, bricks: &[u32]) -> Vec<(String, BrickSpec)> {
        let mut out = Vec::new();
        for h in ["a", "b", "c"] {
            let dev = format!("d{h}");
            m.device_setup(&node(h), &setup(&dev, "/dev/sdb", false))
                .await
                .unwrap();
            for n in bricks {
                let b = brick(&dev, &format!("{h}{n}"));
                m.brick_create(&node(h), &b).await.unwrap();
                out.push((h.to_string(), b));
            }
        }
        out
    }

    /// Replica 3 volume over brick `<host><n>` of a, b, c.
    async fn replica_volume(m: &MockExecutor, name: &str, n: u32) -> VolumeSpec {
        let bricks = ["a", "b", "c"]
            .iter()
            .map(|h| addr(h, &brick(&format!("d{h}"), &format!("{h}{n}"))))
            .collect();
        let v = vspec(name, r3(), bricks);
        m.volume_create(&node("a"), &v).await.unwrap();
        v
    }

    async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .expect("timed out")
    }

    #[tokio::test]
    async fn reports_heketi_mock_sizes() {
        let m = MockExecutor::default();
        let r = m
            .device_setup(&node("a"), &setup("d", "/dev/sdb", false))
            .await
            .unwrap();
        assert_eq!(r.total_kib, 500 * 1024 * 1024);
        assert_eq!(r.free_kib, r.total_kib);
        assert_eq!(r.extent_size_kib, 4096);
        assert_eq!(r.pv_uuid, "mock-pv-d");
        assert_eq!(r.paths, vec!["/dev/sdb"]);
        let again = m
            .device_resync(&node("a"), &dref("d", "/dev/sdb"))
            .await
            .unwrap();
        assert_eq!(again, r);
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

    #[tokio::test]
    async fn device_setup_and_teardown_change_the_node() {
        let m = MockExecutor::default();
        let r = m
            .device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let n = m.nodes();
        assert_eq!(n.device_ids("a"), BTreeSet::from(["d1".to_string()]));
        assert_eq!(
            n.devices["a"]["d1"],
            MockDevice {
                name: "/dev/sdb".into(),
                report: r
            }
        );
        assert!(n.device_ids("b").is_empty());

        m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), false)
            .await
            .unwrap();
        assert_eq!(m.nodes(), MockNodes::default());
        // Already gone is done, forced or not (device.rs:372-377).
        m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), false)
            .await
            .unwrap();
        m.device_teardown(&node("a"), &dref("d9", "/dev/sdz"), true)
            .await
            .unwrap();
        // Without a recorded PV UUID the node's is used, as device.rs:331-339 does.
        m.device_setup(&node("a"), &setup("d2", "/dev/sdc", false))
            .await
            .unwrap();
        let mut no_uuid = dref("d2", "/dev/sdc");
        no_uuid.pv_uuid.clear();
        m.device_teardown(&node("a"), &no_uuid, false)
            .await
            .unwrap();
        assert_eq!(m.nodes(), MockNodes::default());
    }

    #[tokio::test]
    async fn device_setup_refuses_what_the_real_layer_refuses() {
        let m = MockExecutor::default();
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let before = m.nodes();
        // The same disk again: the probe finds our PV.
        let err = m
            .device_setup(&node("a"), &setup("d2", "/dev/sdb", false))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ExecError::DeviceHasData {
                host: "a".into(),
                device: "/dev/sdb".into(),
                found: "LVM2_member (PV mock-pv-d1 of VG vg_d1)".into(),
            }
        );
        assert_eq!(m.nodes(), before);
        // The same id on another disk: vgcreate finds the VG.
        let (status, stderr) = command_status(
            m.device_setup(&node("a"), &setup("d1", "/dev/sdc", false))
                .await,
        );
        assert_eq!(status, 5);
        assert_eq!(stderr, "A volume group called vg_d1 already exists.");
        assert_eq!(m.nodes(), before);
        // The same path on another node is another disk.
        m.device_setup(&node("b"), &setup("d3", "/dev/sdb", false))
            .await
            .unwrap();
        // destroydata wipes the old PV: the old device is gone, the new one there.
        m.device_setup(&node("a"), &setup("d2", "/dev/sdb", true))
            .await
            .unwrap();
        assert_eq!(m.nodes().device_ids("a"), BTreeSet::from(["d2".into()]));
        // ... but not while bricks of it are mounted.
        m.brick_create(&node("a"), &brick("d2", "b1"))
            .await
            .unwrap();
        let before = m.nodes();
        let (_, stderr) = command_status(
            m.device_setup(&node("a"), &setup("d4", "/dev/sdb", true))
                .await,
        );
        assert!(stderr.contains("Device or resource busy"), "{stderr}");
        assert_eq!(m.nodes(), before);
        // Names are refused before anything runs (ExecError::Other, as check_name does).
        assert!(matches!(
            m.device_setup(&node("a"), &setup("x; rm", "/dev/sdd", false))
                .await,
            Err(ExecError::Other(_))
        ));
        assert!(matches!(
            m.device_setup(&node("a"), &setup("d5", "sdd", false)).await,
            Err(ExecError::Other(_))
        ));
        assert_eq!(m.nodes(), before);
    }

    #[tokio::test]
    async fn device_teardown_with_bricks_keeps_the_device() {
        let m = MockExecutor::default();
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let b = brick("d1", "b1");
        m.brick_create(&node("a"), &b).await.unwrap();
        let before = m.nodes();
        let (status, stderr) = command_status(
            m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), false)
                .await,
        );
        assert_eq!(status, 5);
        assert!(stderr.contains("vg_d1/brick_b1"), "{stderr}");
        assert_eq!(m.nodes(), before);
        // Forced: the errors are ignored, and the device is still there.
        m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), true)
            .await
            .unwrap();
        assert_eq!(m.nodes(), before);
        assert!(m.brick_destroy(&node("a"), &b).await.unwrap());
        m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), false)
            .await
            .unwrap();
        assert_eq!(m.nodes(), MockNodes::default());
    }

    #[tokio::test]
    async fn resync_of_a_device_the_node_lacks_fails() {
        let m = MockExecutor::default();
        let (status, stderr) =
            command_status(m.device_resync(&node("a"), &dref("d1", "/dev/sdb")).await);
        assert_eq!(status, 5);
        assert!(
            stderr.starts_with("Failed to find physical volume"),
            "{stderr}"
        );
    }

    #[tokio::test]
    async fn brick_create_and_destroy() {
        let m = MockExecutor::default();
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let b = brick("d1", "b1");
        m.brick_create(&node("a"), &b).await.unwrap();
        let n = m.nodes();
        assert_eq!(n.brick_ids("a"), BTreeSet::from(["b1".to_string()]));
        assert_eq!(n.bricks["a"]["b1"], b);
        assert!(n.brick_ids("b").is_empty());

        // Twice: lvcreate refuses, the brick there stays.
        let (status, stderr) = command_status(m.brick_create(&node("a"), &b).await);
        assert_eq!(status, 5);
        assert!(stderr.contains("\"brick_b1\" already exists"), "{stderr}");
        assert_eq!(m.nodes(), n);
        // A pool that exists.
        let mut shared = brick("d1", "b2");
        shared.thin_pool = b.thin_pool.clone();
        assert_eq!(
            command_status(m.brick_create(&node("a"), &shared).await).0,
            5
        );
        // No such device on the node (its VG is elsewhere or gone).
        let (status, stderr) = command_status(m.brick_create(&node("b"), &b).await);
        assert_eq!(status, 5);
        assert_eq!(stderr, "Volume group \"vg_d1\" not found");
        assert_eq!(m.nodes(), n);
        // Hostile fields are refused before anything.
        let mut bad = brick("d1", "b3");
        bad.path = "/x\n/dev/sda / xfs".into();
        assert!(matches!(
            m.brick_create(&node("a"), &bad).await,
            Err(ExecError::Other(_))
        ));
        assert_eq!(m.nodes(), n);

        assert!(m.brick_destroy(&node("a"), &b).await.unwrap());
        assert!(m.nodes().bricks.is_empty());
        // Already gone, pool gone: done and reclaimed (brick.rs:289-314).
        assert!(m.brick_destroy(&node("a"), &b).await.unwrap());
        // The device itself gone: the same.
        m.device_teardown(&node("a"), &dref("d1", "/dev/sdb"), false)
            .await
            .unwrap();
        assert!(m.brick_destroy(&node("a"), &b).await.unwrap());
        assert_eq!(m.nodes(), MockNodes::default());
    }

    #[tokio::test]
    async fn volume_create_expand_destroy() {
        let m = MockExecutor::default();
        let made = three_nodes(&m, &[1, 2, 3]).await;
        let v = replica_volume(&m, "vol1", 1).await;
        let n = m.nodes();
        let vol = &n.volumes["vol1"];
        assert_eq!(vol.bricks, v.bricks);
        assert_eq!(vol.on, "a");
        assert_eq!(vol.layout, r3());
        assert!(!vol.id.is_empty());

        // Same name again: refused, the first one untouched.
        let (_, stderr) = command_status(m.volume_create(&node("b"), &v).await);
        assert_eq!(
            stderr,
            "volume create: vol1: failed: Volume vol1 already exists"
        );
        assert_eq!(m.nodes(), n);
        // A brick already in a volume.
        let taken = vspec("vol2", Layout::None, vec![v.bricks[1].clone()]);
        let (_, stderr) = command_status(m.volume_create(&node("a"), &taken).await);
        assert!(stderr.contains("is already part of a volume"), "{stderr}");
        // A brick no brick_create made (in a later set: add-brick's refusal, no volume).
        let mut ghost = vspec(
            "vol3",
            Layout::Replicate { replica: 1 },
            vec![addr("a", &made[2].1), addr("b", &brick("db", "never"))],
        );
        let (_, stderr) = command_status(m.volume_create(&node("a"), &ghost).await);
        assert!(
            stderr.starts_with("volume add-brick: failed: The brick b.storage:"),
            "{stderr}"
        );
        assert_eq!(m.nodes(), n);
        // Not whole sets: refused before any command.
        ghost.layout = r3();
        assert!(matches!(
            m.volume_create(&node("a"), &ghost).await,
            Err(ExecError::Other(_))
        ));
        assert_eq!(m.nodes(), n);

        // Bricks of a started volume are busy.
        let (status, stderr) = command_status(m.brick_destroy(&node("a"), &made[0].1).await);
        assert_eq!(status, 32);
        assert!(stderr.ends_with("target is busy."), "{stderr}");
        assert_eq!(m.nodes(), n);

        // Expand by one set.
        let more: Vec<BrickAddr> = ["a", "b", "c"]
            .iter()
            .map(|h| addr(h, &brick(&format!("d{h}"), &format!("{h}2"))))
            .collect();
        m.volume_expand(&node("a"), &vspec("vol1", r3(), more.clone()), true)
            .await
            .unwrap();
        let mut all = v.bricks.clone();
        all.extend(more.clone());
        assert_eq!(m.nodes().volumes["vol1"].bricks, all);
        let (_, stderr) = command_status(
            m.volume_expand(&node("a"), &vspec("nope", r3(), more), false)
                .await,
        );
        assert!(stderr.contains("Volume nope does not exist"), "{stderr}");

        m.volume_destroy(&node("b"), "vol1").await.unwrap();
        assert!(m.nodes().volumes.is_empty());
        // Does not exist: done (gluster.rs:384-385).
        m.volume_destroy(&node("b"), "vol1").await.unwrap();
        for (h, b) in &made {
            assert!(m.brick_destroy(&node(h), b).await.unwrap());
        }
        assert!(m.nodes().bricks.is_empty());
    }

    #[tokio::test]
    async fn expand_keeps_the_chunks_before_a_refused_one() {
        let m = MockExecutor::default();
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let mut addrs = Vec::new();
        for i in 0..17 {
            let b = brick("d1", &format!("b{i}"));
            if i < 16 {
                m.brick_create(&node("a"), &b).await.unwrap();
            }
            addrs.push(addr("a", &b));
        }
        m.volume_create(
            &node("a"),
            &vspec("dist", Layout::None, addrs[..1].to_vec()),
        )
        .await
        .unwrap();
        // 16 new bricks: 15 in the first add-brick, the 16th (never made) refused.
        let err = m
            .volume_expand(
                &node("a"),
                &vspec("dist", Layout::None, addrs[1..].to_vec()),
                false,
            )
            .await;
        command_status(err);
        assert_eq!(m.nodes().volumes["dist"].bricks, addrs[..16].to_vec());
    }

    #[tokio::test]
    async fn clone_bricks_live_in_the_origin_pools() {
        let m = MockExecutor::default();
        let made = three_nodes(&m, &[1]).await;
        replica_volume(&m, "vol1", 1).await;
        let st = m.volume_clone(&node("a"), "vol1", "c1").await.unwrap();
        assert_eq!(st.name, "c1");
        let plain = st.id.replace('-', "");
        assert_eq!(st.bricks.len(), 3);
        for (i, b) in st.bricks.iter().enumerate() {
            assert_eq!(b.host, made[i].0.clone() + ".storage");
            assert_eq!(
                b.path,
                format!("/run/gluster/snaps/{plain}/brick{}/brick", i + 1)
            );
        }
        let n = m.nodes();
        assert_eq!(n.volumes["c1"].bricks, st.bricks);
        let lv0 = format!("{plain}_0");
        assert_eq!(
            n.brick_ids("a"),
            BTreeSet::from(["a1".to_string(), lv0.clone()])
        );
        let cb = &n.bricks["a"][&lv0];
        assert_eq!(
            (cb.device_id.as_str(), cb.thin_pool.as_str()),
            ("da", "tp_a1")
        );
        assert_eq!(
            m.volume_info(&node("c"), "c1").await.unwrap(),
            VolumeStatus {
                name: "c1".into(),
                id: st.id.clone(),
                bricks: st.bricks.clone()
            }
        );

        // Refusals: the name is taken, the origin does not exist.
        assert!(m.volume_clone(&node("a"), "vol1", "c1").await.is_err());
        let (_, stderr) = command_status(m.volume_clone(&node("a"), "nope", "c2").await);
        assert_eq!(stderr, "Volume does not exist");
        assert_eq!(m.nodes(), n);

        // Origin first: its pool still holds the clone's LV, so no space comes back.
        m.volume_destroy(&node("a"), "vol1").await.unwrap();
        assert!(!m.brick_destroy(&node("a"), &made[0].1).await.unwrap());
        // The clone's brick as the server knows it: its own id, the origin's pool.
        m.volume_destroy(&node("a"), "c1").await.unwrap();
        let server_view = BrickSpec {
            id: "serverid".into(),
            lv: lv0,
            path: st.bricks[0].path.clone(),
            tp_size_kib: 0,
            pool_metadata_kib: 0,
            ..made[0].1.clone()
        };
        assert!(m.brick_destroy(&node("a"), &server_view).await.unwrap());
        assert!(m.nodes().brick_ids("a").is_empty());
    }

    #[tokio::test]
    async fn replace_brick_swaps_in_place() {
        let m = MockExecutor::default();
        let made = three_nodes(&m, &[1, 2]).await;
        let v = replica_volume(&m, "vol1", 1).await;
        let new = addr("b", &brick("db", "b2"));
        m.replace_brick(&node("c"), "vol1", &v.bricks[1], &new)
            .await
            .unwrap();
        let mut want = v.bricks.clone();
        want[1] = new.clone();
        assert_eq!(m.nodes().volumes["vol1"].bricks, want);
        // The old brick is out of the volume: it can go.
        assert!(m.brick_destroy(&node("b"), &made[2].1).await.unwrap());
        let n = m.nodes();
        // Not in the volume any more, a missing volume, a new brick never made.
        let (_, stderr) = command_status(
            m.replace_brick(&node("c"), "vol1", &v.bricks[1], &new)
                .await,
        );
        assert!(
            stderr.contains("does not exist in volume: vol1"),
            "{stderr}"
        );
        assert!(m
            .replace_brick(&node("c"), "nope", &new, &v.bricks[1])
            .await
            .is_err());
        let ghost = addr("c", &brick("dc", "ghost"));
        assert!(m
            .replace_brick(&node("c"), "vol1", &new, &ghost)
            .await
            .is_err());
        assert_eq!(m.nodes(), n);
    }

    #[tokio::test]
    async fn heal_info_answers_from_the_volume() {
        let m = MockExecutor::default();
        three_nodes(&m, &[1]).await;
        let v = replica_volume(&m, "vol1", 1).await;
        let h = m.heal_info(&node("b"), "vol1").await.unwrap();
        let bricks: Vec<BrickAddr> = h.bricks.iter().map(|b| b.brick.clone()).collect();
        assert_eq!(bricks, v.bricks);
        assert!(h
            .bricks
            .iter()
            .all(|b| b.connected && b.pending_entries == Some(0)));
        assert!(m.heal_info(&node("b"), "nope").await.is_err());
        assert!(m.volume_info(&node("b"), "nope").await.is_err());
    }

    #[tokio::test]
    async fn peers_join_and_leave_the_pool() {
        let m = MockExecutor::default();
        let set = |v: &[&str]| {
            v.iter()
                .map(|h| format!("{h}.storage"))
                .collect::<BTreeSet<_>>()
        };
        m.peer_probe(&node("a"), "b.storage").await.unwrap();
        assert_eq!(m.nodes().peers, set(&["a", "b"]));
        // Already a peer, or the node itself: gluster says success.
        m.peer_probe(&node("b"), "a.storage").await.unwrap();
        m.peer_probe(&node("a"), "a.storage").await.unwrap();
        m.peer_probe(&node("a"), "c.storage").await.unwrap();
        assert_eq!(m.nodes().peers, set(&["a", "b", "c"]));

        assert!(m.peer_detach(&node("a"), "z.storage").await.is_err());
        assert!(m.peer_detach(&node("a"), "a.storage").await.is_err());
        // A peer hosting bricks of a volume stays.
        m.device_setup(&node("c"), &setup("dc", "/dev/sdb", false))
            .await
            .unwrap();
        let b = brick("dc", "c1");
        m.brick_create(&node("c"), &b).await.unwrap();
        m.volume_create(&node("a"), &vspec("v", Layout::None, vec![addr("c", &b)]))
            .await
            .unwrap();
        let (_, stderr) = command_status(m.peer_detach(&node("a"), "c.storage").await);
        assert!(stderr.contains("hosts one or more bricks"), "{stderr}");
        m.volume_destroy(&node("a"), "v").await.unwrap();
        m.peer_detach(&node("a"), "c.storage").await.unwrap();
        assert_eq!(m.nodes().peers, set(&["a", "b"]));
        // A node left alone is no pool.
        m.peer_detach(&node("a"), "b.storage").await.unwrap();
        assert!(m.nodes().peers.is_empty());
        assert!(matches!(
            m.peer_probe(&node("a"), "--remote-host=x").await,
            Err(ExecError::Other(_))
        ));
    }

    #[tokio::test]
    async fn calls_are_logged_in_order_with_their_subjects() {
        let m = MockExecutor::default();
        m.glusterd_check(&node("a")).await.unwrap();
        m.peer_probe(&node("a"), "b.storage").await.unwrap();
        m.device_setup(&node("b"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        m.brick_create(&node("b"), &brick("d1", "x1"))
            .await
            .unwrap();
        m.brick_create(&node("b"), &brick("d1", "x2"))
            .await
            .unwrap();
        let _ = m
            .volume_create(&node("b"), &vspec("v", Layout::None, vec![]))
            .await;
        m.brick_destroy(&node("b"), &brick("d1", "x2"))
            .await
            .unwrap();
        m.brick_destroy(&node("b"), &brick("d1", "x1"))
            .await
            .unwrap();
        m.volume_clone(&node("a"), "o", "c").await.unwrap_err();
        let call = |op, host: &str, subject: &str| MockCall {
            op,
            host: host.into(),
            subject: subject.into(),
        };
        assert_eq!(
            m.calls(),
            vec![
                call(MockOp::GlusterdCheck, "a", ""),
                call(MockOp::PeerProbe, "a", "b.storage"),
                call(MockOp::DeviceSetup, "b", "d1"),
                call(MockOp::BrickCreate, "b", "x1"),
                call(MockOp::BrickCreate, "b", "x2"),
                call(MockOp::VolumeCreate, "b", "v"),
                call(MockOp::BrickDestroy, "b", "x2"),
                call(MockOp::BrickDestroy, "b", "x1"),
                call(MockOp::VolumeClone, "a", "c"),
            ]
        );
        assert_eq!(m.call_count(), 9);
        m.clear_calls();
        assert!(m.calls().is_empty());
        m.heal_info(&node("c"), "v").await.unwrap_err();
        assert_eq!(m.calls(), vec![call(MockOp::HealInfo, "c", "v")]);
        assert_eq!(m.call_count(), 10);
    }

    #[tokio::test]
    async fn a_call_held_before_its_effect_did_nothing() {
        let m = Arc::new(MockExecutor::default());
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let before = m.nodes();
        let hold = m.hold(1, HoldPoint::Before);
        let task = {
            let m = m.clone();
            tokio::spawn(async move { m.brick_create(&node("a"), &brick("d1", "b1")).await })
        };
        within(hold.reached()).await;
        assert_eq!(m.nodes(), before);
        assert_eq!(m.calls().last().unwrap().op, MockOp::BrickCreate);
        // The crash: the task goes, the node never did it.
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(m.nodes(), before);
        // The hold was used up: the next call goes through.
        m.brick_create(&node("a"), &brick("d1", "b1"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_call_held_after_its_effect_did_it() {
        let m = Arc::new(MockExecutor::default());
        m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
            .await
            .unwrap();
        let hold = m.hold(1, HoldPoint::After);
        let task = {
            let m = m.clone();
            tokio::spawn(async move { m.brick_create(&node("a"), &brick("d1", "b1")).await })
        };
        within(hold.reached()).await;
        assert_eq!(m.nodes().brick_ids("a"), BTreeSet::from(["b1".to_string()]));
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        // The answer was lost, the brick is there.
        assert_eq!(m.nodes().brick_ids("a"), BTreeSet::from(["b1".to_string()]));
    }

    #[tokio::test]
    async fn hold_counts_from_now_and_release_lets_go() {
        let m = Arc::new(MockExecutor::default());
        m.glusterd_check(&node("a")).await.unwrap();
        let hold = m.hold(2, HoldPoint::Before);
        let task = {
            let m = m.clone();
            tokio::spawn(async move {
                m.device_setup(&node("a"), &setup("d1", "/dev/sdb", false))
                    .await?;
                m.device_setup(&node("a"), &setup("d2", "/dev/sdc", false))
                    .await
            })
        };
        within(hold.reached()).await;
        assert_eq!(m.call_count(), 3);
        assert_eq!(m.nodes().device_ids("a"), BTreeSet::from(["d1".into()]));
        // Held for real: it does not finish by itself.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!task.is_finished());
        hold.release();
        within(task).await.unwrap().unwrap();
        assert_eq!(
            m.nodes().device_ids("a"),
            BTreeSet::from(["d1".into(), "d2".into()])
        );
    }

    #[tokio::test]
    async fn a_failed_call_changes_nothing_and_is_logged() {
        let m = MockExecutor::default();
        three_nodes(&m, &[1]).await;
        replica_volume(&m, "vol1", 1).await;
        let before = m.nodes();
        m.clear_calls();
        m.fail(MockOp::BrickCreate, Some("a"), Some(1));
        m.fail(MockOp::VolumeDestroy, None, Some(1));
        m.fail(MockOp::DeviceTeardown, None, Some(2));
        m.fail(MockOp::PeerDetach, None, Some(1));
        let (_, stderr) = command_status(m.brick_create(&node("a"), &brick("da", "a2")).await);
        assert_eq!(stderr, "injected failure");
        assert!(m.volume_destroy(&node("a"), "vol1").await.is_err());
        // Forced, the injected failure is ignored as the real layer ignores command errors,
        // and still nothing happened.
        m.device_setup(&node("z"), &setup("dz", "/dev/sdb", false))
            .await
            .unwrap();
        let with_z = m.nodes();
        m.device_teardown(&node("z"), &dref("dz", "/dev/sdb"), true)
            .await
            .unwrap();
        assert!(m
            .device_teardown(&node("z"), &dref("dz", "/dev/sdb"), false)
            .await
            .is_err());
        assert_eq!(m.nodes(), with_z);
        m.device_teardown(&node("z"), &dref("dz", "/dev/sdb"), false)
            .await
            .unwrap();
        assert_eq!(m.nodes(), before);
        let ops: Vec<MockOp> = m.calls().iter().map(|c| c.op).collect();
        assert_eq!(
            ops,
            vec![
                MockOp::BrickCreate,
                MockOp::VolumeDestroy,
                MockOp::DeviceSetup,
                MockOp::DeviceTeardown,
                MockOp::DeviceTeardown,
                MockOp::DeviceTeardown,
            ]
        );
        // The rules are used up: the same calls now work.
        m.brick_create(&node("a"), &brick("da", "a2"))
            .await
            .unwrap();
        m.volume_destroy(&node("a"), "vol1").await.unwrap();
        assert!(m.nodes().volumes.is_empty());
    }
}
