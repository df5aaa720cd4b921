//! A gRPC channel to a CSI socket, for tests and the e2e suite.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use heqet_csi::proto::csi::v1::{identity_client::IdentityClient, ProbeRequest};
//! let channel = heqet_csi::client::connect(std::path::Path::new("/csi/csi.sock")).await?;
//! let ready = IdentityClient::new(channel).probe(ProbeRequest {}).await?;
//! # Ok(()) }
//! ```

use std::path::Path;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Connects to the CSI server listening on `socket_path`.
pub async fn connect(socket_path: &Path) -> Result<Channel, tonic::transport::Error> {
    let path = socket_path.to_path_buf();
    // The URI only satisfies the HTTP/2 layer (it becomes the :authority); the connector
    // below ignores it and always dials the socket.
    Endpoint::from_static("http://csi.sock")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { UnixStream::connect(path).await.map(TokioIo::new) }
        }))
        .await
}
