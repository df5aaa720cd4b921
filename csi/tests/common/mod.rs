//! Shared set-up of the controller tests: an in-process heqet server (mock executor) with a
//! topology loaded through its REST API, and heqet-csi's controller served on a real unix
//! socket, spoken to with the generated gRPC client. Nothing is called in-process: every CSI
//! call crosses the socket and every heketi call crosses HTTP.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use heqet_api::client::{Client, TlsOptions};
use heqet_api::types::{
    ClusterCreateRequest, DeviceAddRequest, HostAddresses, NodeAddRequest, VolumeInfoResponse,
};
use heqet_csi::controller::servers::Defaults;
use heqet_csi::controller::ControllerService;
use heqet_csi::identity::{AlwaysReady, IdentityService};
use heqet_csi::proto::csi::v1 as csi;
use heqet_csi::proto::csi::v1::controller_client::ControllerClient;
use heqet_csi::server::{self, Absent, ServeError};
use heqet_executor::mock::MockExecutor;
use heqet_server::{Config, Running};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};

pub const GIB: i64 = 1 << 30;

/// The JWT admin key of servers started with auth on.
pub const ADMIN_KEY: &str = "heqet-test-admin-key";

/// How a heqet server is started.
#[derive(Clone)]
pub struct HeqetOptions {
    /// Size the mock executor gives each device.
    pub device_gib: u64,
    /// Turn JWT auth on with [`ADMIN_KEY`].
    pub auth: bool,
}

impl Default for HeqetOptions {
    fn default() -> Self {
        HeqetOptions {
            device_gib: 500,
            auth: false,
        }
    }
}

/// An in-process heqet server.
pub struct Heqet {
    running: Option<Running>,
    pub mock: Arc<MockExecutor>,
    pub url: String,
    /// A REST client with the admin key (the empty key when auth is off).
    pub rest: Client,
    _dir: tempfile::TempDir,
}

impl Heqet {
    pub async fn start(opts: HeqetOptions) -> Heqet {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Config::for_test(&dir.path().join("heqet.db"));
        let key = if opts.auth {
            cfg.use_auth = true;
            cfg.jwt_admin_key = ADMIN_KEY.to_string();
            cfg.jwt_user_key = "heqet-test-user-key".to_string();
            ADMIN_KEY
        } else {
            ""
        };
        let mock = Arc::new(MockExecutor::new(opts.device_gib));
        let running = heqet_server::start_with(cfg, mock.clone(), None)
            .await
            .expect("heqet server starts");
        let url = running.url();
        let rest = Client::new(&url, "admin", key, &TlsOptions::default()).expect("REST client");
        Heqet {
            running: Some(running),
            mock,
            url,
            rest,
            _dir: dir,
        }
    }

    /// A cluster of `nodes` nodes, each in a zone of its own, with `devices` devices each;
    /// returns the cluster id.
    pub async fn cluster(&self, nodes: usize, devices: usize) -> String {
        self.cluster_at(0, nodes, devices).await
    }

    /// As [`Heqet::cluster`]; `first` numbers the nodes' addresses so that several clusters
    /// of one server get distinct hosts.
    pub async fn cluster_at(&self, first: usize, nodes: usize, devices: usize) -> String {
        let c = self
            .rest
            .cluster_create(&ClusterCreateRequest {
                block: true,
                file: true,
            })
            .await
            .expect("cluster create");
        for i in first..first + nodes {
            let host = format!("10.0.{}.{}", i / 250, i % 250 + 1);
            let n = self
                .rest
                .node_add(&NodeAddRequest {
                    zone: i as i64 + 1,
                    hostnames: HostAddresses {
                        manage: vec![host.clone()],
                        storage: vec![host],
                    },
                    cluster: c.id.clone(),
                    ..Default::default()
                })
                .await
                .expect("node add");
            for d in 0..devices {
                self.rest
                    .device_add(&DeviceAddRequest {
                        node: n.id.clone(),
                        name: format!("/dev/sd{}", (b'b' + d as u8) as char),
                        ..Default::default()
                    })
                    .await
                    .expect("device add");
            }
        }
        c.id
    }

    pub async fn volumes(&self) -> Vec<String> {
        self.rest.volume_list().await.expect("volume list").volumes
    }

    pub async fn volume(&self, id: &str) -> VolumeInfoResponse {
        self.rest.volume_info(id).await.expect("volume info")
    }

    /// Free KiB summed over every device of every node.
    pub async fn free_kib(&self) -> u64 {
        let mut free = 0;
        for c in self.rest.cluster_list().await.expect("clusters").clusters {
            let c = self.rest.cluster_info(&c).await.expect("cluster info");
            for n in c.nodes {
                let n = self.rest.node_info(&n).await.expect("node info");
                free += n.devices.iter().map(|d| d.storage.free).sum::<u64>();
            }
        }
        free
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// heqet-csi's controller on a unix socket in a temporary directory, and a client for it.
pub struct Csi {
    pub client: ControllerClient<Channel>,
    pub socket: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    _dir: tempfile::TempDir,
}

impl Csi {
    /// The controller with `--resturl url` and `--restuser admin` (and `--restkey key`).
    pub async fn start(url: Option<&str>, key: Option<&str>) -> Csi {
        Self::with_defaults(Defaults {
            url: url.map(str::to_string),
            user: "admin".to_string(),
            key: key.map(str::to_string),
        })
        .await
    }

    pub async fn with_defaults(defaults: Defaults) -> Csi {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("csi.sock");
        let controller = match ControllerService::new(defaults) {
            Ok(c) => c,
            Err(e) => panic!("ControllerService::new: {e}"),
        };
        let identity = IdentityService::new("glusterfs.heqet.io", true, AlwaysReady);
        // bind first, so the socket exists before the client dials it; `serve` is the same
        // two steps in one call.
        let bound = server::bind(&format!("unix://{}", socket.display()))
            .await
            .expect("bind the CSI socket");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            bound.serve(identity, Some(controller), None::<Absent>, async {
                let _ = stopped.await;
            }),
        );
        let channel = heqet_csi::client::connect(&socket)
            .await
            .expect("connect to the CSI socket");
        Csi {
            client: ControllerClient::new(channel),
            socket,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// A client of its own (a fresh connection), for concurrent callers.
    pub async fn new_client(&self) -> ControllerClient<Channel> {
        ControllerClient::new(
            heqet_csi::client::connect(&self.socket)
                .await
                .expect("connect to the CSI socket"),
        )
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("serving ends cleanly");
        }
    }
}

/// A heqet server with one cluster of `nodes` nodes × 1 device of 500 GiB, and the
/// controller pointing at it.
pub async fn setup(nodes: usize) -> (Heqet, Csi) {
    setup_with(HeqetOptions::default(), nodes, 1).await
}

pub async fn setup_with(opts: HeqetOptions, nodes: usize, devices: usize) -> (Heqet, Csi) {
    let heqet = Heqet::start(opts).await;
    heqet.cluster(nodes, devices).await;
    // With auth on the controller gets no key of its own: tests pass it in the secrets.
    let csi = Csi::start(Some(&heqet.url), None).await;
    (heqet, csi)
}

pub fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A filesystem capability with access mode `mode`.
pub fn mount(mode: csi::volume_capability::access_mode::Mode) -> csi::VolumeCapability {
    csi::VolumeCapability {
        access_mode: Some(csi::volume_capability::AccessMode { mode: mode as i32 }),
        access_type: Some(csi::volume_capability::AccessType::Mount(
            csi::volume_capability::MountVolume::default(),
        )),
    }
}

pub fn rwx() -> csi::VolumeCapability {
    mount(csi::volume_capability::access_mode::Mode::MultiNodeMultiWriter)
}

pub fn block(mode: csi::volume_capability::access_mode::Mode) -> csi::VolumeCapability {
    csi::VolumeCapability {
        access_mode: Some(csi::volume_capability::AccessMode { mode: mode as i32 }),
        access_type: Some(csi::volume_capability::AccessType::Block(
            csi::volume_capability::BlockVolume::default(),
        )),
    }
}

/// A CreateVolume of `name`, RWX mount, `required` bytes (0 = no range), `params`.
pub fn create_req(name: &str, required: i64, params: &[(&str, &str)]) -> csi::CreateVolumeRequest {
    csi::CreateVolumeRequest {
        name: name.to_string(),
        capacity_range: (required > 0).then_some(csi::CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![rwx()],
        parameters: map(params),
        ..Default::default()
    }
}

/// The answer of a call that must succeed.
pub fn ok<T>(what: &str, r: Result<tonic::Response<T>, Status>) -> T {
    match r {
        Ok(resp) => resp.into_inner(),
        Err(s) => panic!("{what}: {:?}: {}", s.code(), s.message()),
    }
}

/// The status of a call that must fail with `code`, its message containing every one of
/// `needles`.
pub fn fails<T: std::fmt::Debug>(
    what: &str,
    r: Result<tonic::Response<T>, Status>,
    code: Code,
    needles: &[&str],
) -> Status {
    let s = match r {
        Ok(resp) => panic!(
            "{what}: succeeded, expected {code:?}: {:?}",
            resp.into_inner()
        ),
        Err(s) => s,
    };
    assert_eq!(
        s.code(),
        code,
        "{what}: expected {code:?}, got {:?}: {}",
        s.code(),
        s.message()
    );
    for n in needles {
        assert!(
            s.message().contains(n),
            "{what}: the message does not name {n:?}: {}",
            s.message()
        );
    }
    s
}

/// CreateVolume that must succeed; returns the volume.
pub async fn create(
    c: &mut ControllerClient<Channel>,
    req: csi::CreateVolumeRequest,
) -> csi::Volume {
    let what = format!("CreateVolume {}", req.name);
    ok(&what, c.create_volume(req).await)
        .volume
        .unwrap_or_else(|| panic!("{what}: no volume in the answer"))
}

pub fn is_heketi_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The value of the `user.heqet-csi.name` option in a stored option list.
pub fn marker(info: &VolumeInfoResponse) -> Option<String> {
    info.glustervolumeoptions.iter().find_map(|o| {
        o.strip_prefix("user.heqet-csi.name ")
            .map(|v| v.trim().to_string())
    })
}

/// A 127.0.0.1 URL where nothing listens (the port was just free).
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
