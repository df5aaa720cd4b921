//! The real server on a real unix socket, spoken to with the generated client.

use std::path::{Path, PathBuf};

use heqet_csi::client;
use heqet_csi::identity::{AlwaysReady, IdentityService, Readiness, ReadinessFn};
use heqet_csi::proto::csi::v1::identity_client::IdentityClient;
use heqet_csi::proto::csi::v1::plugin_capability::{self, service, volume_expansion};
use heqet_csi::proto::csi::v1::{GetPluginCapabilitiesRequest, GetPluginInfoRequest, ProbeRequest};
use heqet_csi::server::{self, Absent, ServeError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

/// A server running in the background; `stop` ends it and returns how serving ended.
struct Running {
    socket: PathBuf,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    async fn start<R: Readiness>(endpoint: &str, controller: bool, readiness: R) -> Running {
        let bound = match server::bind(endpoint).await {
            Ok(b) => b,
            Err(e) => panic!("bind {endpoint}: {e}"),
        };
        let socket = bound.path().to_path_buf();
        let identity = IdentityService::new("glusterfs.heqet.io", controller, readiness);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            bound.serve(identity, None::<Absent>, None::<Absent>, async {
                let _ = stopped.await;
            }),
        );
        Running { socket, stop, task }
    }

    async fn client(&self) -> IdentityClient<Channel> {
        match client::connect(&self.socket).await {
            Ok(channel) => IdentityClient::new(channel),
            Err(e) => panic!("connect {}: {e}", self.socket.display()),
        }
    }

    async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result,
            Err(e) => panic!("server task: {e}"),
        }
    }
}

fn unwrap_rpc<T>(what: &str, r: Result<tonic::Response<T>, Status>) -> T {
    match r {
        Ok(resp) => resp.into_inner(),
        Err(s) => panic!("{what}: {s}"),
    }
}

#[tokio::test]
async fn identity_rpcs_over_the_socket() {
    let dir = tempdir();
    // The socket's directory does not exist yet: serving creates it.
    let path = dir.path().join("plugins/csi.sock");
    let running = Running::start(&format!("unix://{}", path.display()), true, AlwaysReady).await;
    assert_eq!(running.socket, path);
    let mut c = running.client().await;

    let info = unwrap_rpc(
        "GetPluginInfo",
        c.get_plugin_info(GetPluginInfoRequest {}).await,
    );
    assert_eq!(info.name, "glusterfs.heqet.io");
    assert_eq!(info.vendor_version, env!("CARGO_PKG_VERSION"));

    let caps = unwrap_rpc(
        "GetPluginCapabilities",
        c.get_plugin_capabilities(GetPluginCapabilitiesRequest {})
            .await,
    )
    .capabilities;
    let services: Vec<i32> = caps
        .iter()
        .filter_map(|c| match &c.r#type {
            Some(plugin_capability::Type::Service(s)) => Some(s.r#type),
            _ => None,
        })
        .collect();
    assert_eq!(services, vec![service::Type::ControllerService as i32]);
    assert!(caps.iter().any(|c| matches!(&c.r#type,
        Some(plugin_capability::Type::VolumeExpansion(v))
            if v.r#type == volume_expansion::Type::Online as i32)));

    let probe = unwrap_rpc("Probe", c.probe(ProbeRequest {}).await);
    assert_eq!(probe.ready, Some(true));

    // Services this process does not run answer UNIMPLEMENTED, as CSI asks.
    let channel = match client::connect(&running.socket).await {
        Ok(ch) => ch,
        Err(e) => panic!("connect: {e}"),
    };
    let mut controller =
        heqet_csi::proto::csi::v1::controller_client::ControllerClient::new(channel);
    let err = controller
        .controller_get_capabilities(heqet_csi::proto::csi::v1::ControllerGetCapabilitiesRequest {})
        .await
        .err();
    assert_eq!(err.map(|s| s.code()), Some(Code::Unimplemented));

    assert!(running.stop().await.is_ok());
    assert!(!path.exists(), "the socket is removed on shutdown");
}

#[tokio::test]
async fn node_only_plugin_offers_no_controller_service() {
    let dir = tempdir();
    let path = dir.path().join("csi.sock");
    // A bare absolute path is accepted as the endpoint too.
    let running = Running::start(&path.display().to_string(), false, AlwaysReady).await;
    let mut c = running.client().await;
    let caps = unwrap_rpc(
        "GetPluginCapabilities",
        c.get_plugin_capabilities(GetPluginCapabilitiesRequest {})
            .await,
    )
    .capabilities;
    assert!(!caps
        .iter()
        .any(|c| matches!(&c.r#type, Some(plugin_capability::Type::Service(_)))));
    assert!(running.stop().await.is_ok());
}

#[tokio::test]
async fn failing_readiness_is_probes_answer() {
    let dir = tempdir();
    let path = dir.path().join("csi.sock");
    let not_ready = ReadinessFn(|| async {
        Err(Status::unavailable(
            "GET http://heketi:8080/hello: connection refused",
        ))
    });
    let running = Running::start(&format!("unix:{}", path.display()), true, not_ready).await;
    let mut c = running.client().await;
    match c.probe(ProbeRequest {}).await {
        Ok(r) => panic!("probe passed: ready={:?}", r.into_inner().ready),
        Err(s) => {
            assert_eq!(s.code(), Code::Unavailable);
            assert_eq!(
                s.message(),
                "GET http://heketi:8080/hello: connection refused"
            );
        }
    }
    // The other RPCs do not depend on readiness.
    unwrap_rpc(
        "GetPluginInfo",
        c.get_plugin_info(GetPluginInfoRequest {}).await,
    );
    assert!(running.stop().await.is_ok());
}

#[tokio::test]
async fn a_stale_socket_is_replaced() {
    let dir = tempdir();
    let path = dir.path().join("csi.sock");
    // A socket file whose server is gone, as a killed plugin leaves behind.
    match std::os::unix::net::UnixListener::bind(&path) {
        Ok(l) => drop(l),
        Err(e) => panic!("bind: {e}"),
    }
    assert!(path.exists());
    let running = Running::start(&format!("unix://{}", path.display()), true, AlwaysReady).await;
    let mut c = running.client().await;
    let probe = unwrap_rpc("Probe", c.probe(ProbeRequest {}).await);
    assert_eq!(probe.ready, Some(true));
    assert!(running.stop().await.is_ok());
}

#[tokio::test]
async fn a_live_socket_is_not_taken_over() {
    let dir = tempdir();
    let path = dir.path().join("csi.sock");
    let first = Running::start(&format!("unix://{}", path.display()), true, AlwaysReady).await;
    match server::bind(&format!("unix://{}", path.display())).await {
        Err(ServeError::InUse { path: p }) => assert_eq!(p, path),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a second server took over a live socket"),
    }
    // The first server still answers.
    let mut c = first.client().await;
    unwrap_rpc("Probe", c.probe(ProbeRequest {}).await);
    assert!(first.stop().await.is_ok());
}

fn serve_error(endpoint: &str) -> ServeError {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let identity = IdentityService::new("glusterfs.heqet.io", true, AlwaysReady);
    let result = rt.block_on(server::serve(
        endpoint,
        identity,
        None::<Absent>,
        None::<Absent>,
        std::future::ready(()),
    ));
    match result {
        Err(e) => e,
        Ok(()) => panic!("serving {endpoint} succeeded"),
    }
}

fn assert_intact(path: &Path, content: &str) {
    match std::fs::read_to_string(path) {
        Ok(s) => assert_eq!(s, content, "{} was changed", path.display()),
        Err(e) => panic!("{} is gone: {e}", path.display()),
    }
}

#[test]
fn a_regular_file_at_the_socket_path_is_refused_and_left_alone() {
    let dir = tempdir();
    let path = dir.path().join("csi.sock");
    if let Err(e) = std::fs::write(&path, "precious") {
        panic!("write: {e}");
    }
    let err = serve_error(&format!("unix://{}", path.display()));
    let text = err.to_string();
    assert!(
        matches!(&err, ServeError::NotASocket { path: p, .. } if *p == path),
        "{text}"
    );
    assert!(
        text.contains("a regular file") && text.contains("not a socket"),
        "{text}"
    );
    assert_intact(&path, "precious");
}

#[test]
fn unsupported_endpoints_are_clear_errors() {
    for endpoint in ["tcp://127.0.0.1:10000", "unix://csi.sock", "csi.sock"] {
        let err = serve_error(endpoint);
        let text = err.to_string();
        assert!(
            matches!(err, ServeError::Endpoint { .. }),
            "{endpoint}: {text}"
        );
        assert!(text.contains(endpoint), "{endpoint}: {text}");
        assert!(
            text.contains("unix:///path/to/csi.sock"),
            "{endpoint}: {text}"
        );
    }
}
