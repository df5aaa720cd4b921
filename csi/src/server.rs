//! Serving the CSI services over the unix socket the container orchestrator talks to.
//!
//! [`serve`] does everything in one call; [`bind`] + [`BoundSocket::serve`] split it so that a
//! caller (or a test) knows the socket exists before it connects. The socket file is removed
//! when serving ends, however it ends.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::codegen::http;
use tonic::transport::Server;
use tower::{Layer, Service};

use crate::proto::csi::v1::controller_server::{Controller, ControllerServer};
use crate::proto::csi::v1::identity_server::{Identity, IdentityServer};
use crate::proto::csi::v1::node_server::{Node, NodeServer};

/// Why the CSI endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("unsupported CSI endpoint {endpoint:?}: {reason} (expected unix:///path/to/csi.sock, unix:/path/to/csi.sock or an absolute path)")]
    Endpoint {
        endpoint: String,
        reason: &'static str,
    },
    #[error("cannot create the socket directory {}: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot inspect {}: {source}", .path.display())]
    Inspect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Something other than a socket sits where the socket goes; it is never deleted.
    #[error("{} exists and is {kind}, not a socket; refusing to remove it (choose another --endpoint or remove it yourself)", .path.display())]
    NotASocket { path: PathBuf, kind: &'static str },
    #[error("{} is in use by another running server", .path.display())]
    InUse { path: PathBuf },
    #[error("cannot remove the stale socket {}: {source}", .path.display())]
    RemoveStale {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {}: {source}", .path.display())]
    Bind {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("serving gRPC on {}: {source}", .path.display())]
    Serve {
        path: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
}

/// Turns a CSI endpoint into the socket path: `unix:///p`, `unix:/p` or a bare absolute `/p`.
pub fn socket_path(endpoint: &str) -> Result<PathBuf, ServeError> {
    let fail = |reason| ServeError::Endpoint {
        endpoint: endpoint.to_string(),
        reason,
    };
    let path = if let Some(rest) = endpoint.strip_prefix("unix://") {
        // `unix://relative` would read as a host name in URI terms; only `unix:///abs` is meant.
        if !rest.starts_with('/') {
            return Err(fail("the socket path after unix:// must be absolute"));
        }
        rest
    } else if let Some(rest) = endpoint.strip_prefix("unix:") {
        rest
    } else if endpoint.contains("://") {
        return Err(fail("only unix sockets are supported"));
    } else {
        endpoint
    };
    if path.is_empty() {
        return Err(fail("the socket path is empty"));
    }
    if !path.starts_with('/') {
        return Err(fail("the socket path must be absolute"));
    }
    if path.ends_with('/') {
        return Err(fail("the socket path names a directory"));
    }
    Ok(PathBuf::from(path))
}

/// A listening socket, created by [`bind`]; removed again when this (or the server using it)
/// is dropped.
pub struct BoundSocket {
    listener: UnixListener,
    guard: SocketGuard,
}

/// Creates the socket of `endpoint`: makes its directory, replaces a stale socket file left by
/// a previous run (but nothing that is not a socket, and no socket a live server answers on),
/// and listens. Needs a Tokio runtime, hence `async`.
pub async fn bind(endpoint: &str) -> Result<BoundSocket, ServeError> {
    let path = socket_path(endpoint)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ServeError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    remove_stale_socket(&path)?;
    let listener = UnixListener::bind(&path).map_err(|source| ServeError::Bind {
        path: path.clone(),
        source,
    })?;
    let guard = match SocketGuard::new(path.clone()) {
        Ok(guard) => guard,
        Err(e) => {
            // Without a guard nothing would remove the socket just created.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    Ok(BoundSocket { listener, guard })
}

fn remove_stale_socket(path: &Path) -> Result<(), ServeError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ServeError::Inspect {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let file_type = meta.file_type();
    if !file_type.is_socket() {
        let kind = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_symlink() {
            "a symbolic link"
        } else if file_type.is_file() {
            "a regular file"
        } else {
            "a special file"
        };
        return Err(ServeError::NotASocket {
            path: path.to_path_buf(),
            kind,
        });
    }
    // A socket someone still accepts on belongs to a running instance: taking it over would
    // silently cut that instance off from the orchestrator.
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ServeError::InUse {
            path: path.to_path_buf(),
        });
    }
    std::fs::remove_file(path).map_err(|source| ServeError::RemoveStale {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes the socket file on drop, but only if it is still the one this process created:
/// a newer instance may already have replaced it.
struct SocketGuard {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketGuard {
    fn new(path: PathBuf) -> Result<Self, ServeError> {
        let meta = std::fs::symlink_metadata(&path).map_err(|source| ServeError::Inspect {
            path: path.clone(),
            source,
        })?;
        Ok(SocketGuard {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .map(|m| m.file_type().is_socket() && m.dev() == self.dev && m.ino() == self.ino)
            .unwrap_or(false);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the CSI socket");
            }
        }
    }
}

impl BoundSocket {
    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.guard.path
    }

    /// Serves Identity, and Controller and Node when given, until `shutdown` completes; then
    /// removes the socket. GroupController and SnapshotMetadata are not served, so their RPCs
    /// answer UNIMPLEMENTED.
    pub async fn serve<I, C, N>(
        self,
        identity: I,
        controller: Option<C>,
        node: Option<N>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError>
    where
        I: Identity,
        C: Controller,
        N: Node,
    {
        let BoundSocket { listener, guard } = self;
        let result = Server::builder()
            .layer(RpcLogLayer)
            .add_service(IdentityServer::new(identity))
            .add_optional_service(controller.map(ControllerServer::new))
            .add_optional_service(node.map(NodeServer::new))
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
            .await;
        result.map_err(|source| ServeError::Serve {
            path: guard.path.clone(),
            source,
        })
        // `guard` drops here: the socket goes away on every way out.
    }
}

/// Binds `endpoint` (see [`bind`]) and serves on it until `shutdown` completes.
///
/// Pass `None::<Absent>` for a service that does not run in this mode.
pub async fn serve<I, C, N>(
    endpoint: &str,
    identity: I,
    controller: Option<C>,
    node: Option<N>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError>
where
    I: Identity,
    C: Controller,
    N: Node,
{
    bind(endpoint)
        .await?
        .serve(identity, controller, node, shutdown)
        .await
}

/// A service that cannot exist, to name the type of an absent controller or node service:
/// `serve(ep, identity, None::<Absent>, None::<Absent>, shutdown)`.
pub enum Absent {}

impl Controller for Absent {}
impl Node for Absent {}

/// Logs every RPC once it is answered: method, duration and gRPC code. Requests are never
/// printed, as CSI requests carry secrets.
#[derive(Clone, Copy)]
struct RpcLogLayer;

impl<S> Layer<S> for RpcLogLayer {
    type Service = RpcLog<S>;

    fn layer(&self, inner: S) -> RpcLog<S> {
        RpcLog { inner }
    }
}

#[derive(Clone)]
struct RpcLog<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcLog<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The path is `/csi.v1.Service/Method`: no request content.
        let method = request.uri().path().to_string();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            match &result {
                // An error answer carries its status in the headers ("trailers-only"); a
                // success carries OK in the trailers, after the body.
                Ok(response) => match tonic::Status::from_header_map(response.headers()) {
                    Some(status) if status.code() != tonic::Code::Ok => tracing::info!(
                        method = %method,
                        elapsed_ms,
                        code = ?status.code(),
                        message = %status.message(),
                        "CSI call failed"
                    ),
                    _ => tracing::debug!(method = %method, elapsed_ms, code = "Ok", "CSI call"),
                },
                Err(e) => {
                    tracing::info!(method = %method, elapsed_ms, error = %e, "CSI call broke off")
                }
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        for ok in [
            "unix:///csi/csi.sock",
            "unix:/csi/csi.sock",
            "/csi/csi.sock",
        ] {
            assert_eq!(
                socket_path(ok).ok(),
                Some(PathBuf::from("/csi/csi.sock")),
                "{ok}"
            );
        }
    }

    #[test]
    fn rejected_endpoints_say_why() {
        for (bad, why) in [
            ("tcp://127.0.0.1:10000", "only unix sockets"),
            ("http://localhost/csi.sock", "only unix sockets"),
            ("unix://csi.sock", "after unix:// must be absolute"),
            ("unix:csi.sock", "must be absolute"),
            ("csi.sock", "must be absolute"),
            ("", "empty"),
            ("unix://", "must be absolute"),
            ("unix:", "empty"),
            ("/csi/", "directory"),
        ] {
            let err = match socket_path(bad) {
                Ok(p) => panic!("{bad:?} was accepted as {}", p.display()),
                Err(e) => e.to_string(),
            };
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
