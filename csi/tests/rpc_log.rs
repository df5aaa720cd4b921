//! The per-RPC log lines. Alone in its test binary: tracing caches per call site whether
//! anyone listens, and tests running in parallel without a subscriber would race with the
//! thread-local one installed here.

use std::sync::{Arc, Mutex};

use heqet_csi::client;
use heqet_csi::identity::{IdentityService, ReadinessFn};
use heqet_csi::proto::csi::v1::identity_client::IdentityClient;
use heqet_csi::proto::csi::v1::{GetPluginInfoRequest, ProbeRequest};
use heqet_csi::server::{self, Absent};
use tonic::Status;

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => v.extend_from_slice(buf),
            Err(p) => p.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        let bytes = match self.0.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[tokio::test]
async fn each_rpc_is_logged_with_method_and_code() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so the server's tasks log through this too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let socket = dir.path().join("csi.sock");
    let bound = match server::bind(&format!("unix://{}", socket.display())).await {
        Ok(b) => b,
        Err(e) => panic!("bind: {e}"),
    };
    let not_ready = ReadinessFn(|| async { Err(Status::unavailable("no heketi")) });
    let identity = IdentityService::new("glusterfs.heqet.io", true, not_ready);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(
        bound.serve(identity, None::<Absent>, None::<Absent>, async {
            let _ = stopped.await;
        }),
    );

    let mut c = match client::connect(&socket).await {
        Ok(ch) => IdentityClient::new(ch),
        Err(e) => panic!("connect: {e}"),
    };
    assert!(c.get_plugin_info(GetPluginInfoRequest {}).await.is_ok());
    assert!(c.probe(ProbeRequest {}).await.is_err());
    let _ = stop.send(());
    assert!(matches!(task.await, Ok(Ok(()))));

    let log = captured.text();
    let line = |method: &str| {
        log.lines()
            .find(|l| l.contains("heqet_csi::server") && l.contains(method))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no log line for {method} in:\n{log}"))
    };
    let info = line("/csi.v1.Identity/GetPluginInfo");
    assert!(
        info.contains("DEBUG") && info.contains("code=\"Ok\"") && info.contains("elapsed_ms="),
        "{info}"
    );
    let probe = line("/csi.v1.Identity/Probe");
    assert!(
        probe.contains("INFO") && probe.contains("code=Unavailable") && probe.contains("no heketi"),
        "{probe}"
    );
}
