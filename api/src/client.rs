//! Async client of the heketi REST API, behaving like heketi's Go client (the one heketi-cli
//! and the in-tree provisioner use): a fresh HS256 JWT per request (qsh of `METHOD&PATH`),
//! the `/queue` protocol for async routes (202 → poll while `X-Pending: true` → 303/204/500),
//! and retries of 429 answers after a random pause.
//!
//! Redirects are followed by hand, never by reqwest, because the token's qsh must be computed
//! for the redirect target's path.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::jwt;
use crate::types::*;

/// Everything that can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an unexpected status; `message` is its trimmed plain-text
    /// body, or heketi's placeholder when the body is empty.
    #[error("{message}")]
    Http { status: u16, message: String },
    /// No answer at all (connection refused, DNS, TLS handshake, …). `message` is already
    /// formatted like Go's `Get "<url>": <cause>`.
    #[error("{message}")]
    Transport { url: String, message: String },
    /// The answer was not the JSON we expected.
    #[error("cannot decode the response of {url}: {message}")]
    Decode { url: String, message: String },
    /// The server broke the `/queue` protocol (e.g. 202 without `Location`).
    #[error("{0}")]
    Protocol(String),
    /// Bad client setup: server URL, TLS certificate files, token signing.
    #[error("{0}")]
    Setup(String),
}

impl ClientError {
    /// HTTP status of a server error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// How to verify the server's certificate.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Accept any certificate (heketi-cli `--insecure-tls`).
    pub insecure: bool,
    /// PEM files of trusted CA or server certificates (heketi-cli `--tls-cert`). When set,
    /// only these are trusted, as in heketi-cli.
    pub ca_files: Vec<PathBuf>,
}

/// Timing knobs; the defaults are heketi's Go client's.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Pause between two polls of `/queue/<id>`.
    pub poll_interval: Duration,
    /// How many times a 429 answer is retried.
    pub retry_limit: u32,
    /// A 429 retry waits a random time in `[retry_min, retry_max]`.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            poll_interval: Duration::from_millis(400),
            retry_limit: 6,
            retry_min: Duration::from_secs(10),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// What an async route ended with.
enum AsyncOutcome {
    /// 204: done, nothing to fetch.
    Done,
    /// 303 followed (or a plain 200): the resource.
    Resource(Box<Reply>),
}

/// A buffered response.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    url: Url,
    body: Vec<u8>,
}

impl Reply {
    fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Decode {
            url: self.url.to_string(),
            message: e.to_string(),
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error a Go client makes of an unexpected answer.
    fn into_error(self) -> ClientError {
        let message = String::from_utf8_lossy(&self.body).trim().to_string();
        let message = if message.is_empty() {
            format!(
                "server did not provide a message (status {}: {})",
                self.status.as_u16(),
                self.status.canonical_reason().unwrap_or("")
            )
        } else {
            message
        };
        ClientError::Http {
            status: self.status.as_u16(),
            message,
        }
    }

    fn expect(self, status: StatusCode) -> Result<Reply> {
        if self.status == status {
            Ok(self)
        } else {
            Err(self.into_error())
        }
    }
}

/// A heketi API client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    user: String,
    secret: String,
    opts: ClientOptions,
}

impl Client {
    /// A client for `server` (e.g. `http://localhost:8080`), signing tokens as `user` with
    /// `secret` (both may be empty: heketi-cli always sends a token).
    pub fn new(server: &str, user: &str, secret: &str, tls: &TlsOptions) -> Result<Client> {
        Self::with_options(server, user, secret, tls, ClientOptions::default())
    }

    pub fn with_options(
        server: &str,
        user: &str,
        secret: &str,
        tls: &TlsOptions,
        opts: ClientOptions,
    ) -> Result<Client> {
        // Paths are appended to the base; a trailing slash would double it.
        let trimmed = server.trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| ClientError::Setup(format!("invalid server URL {server:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::Setup(format!(
                "invalid server URL {server:?}: scheme must be http or https"
            )));
        }
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if tls.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if !tls.ca_files.is_empty() {
            builder = builder.tls_built_in_root_certs(false);
            for path in &tls.ca_files {
                let pem = std::fs::read(path).map_err(|e| {
                    ClientError::Setup(format!("cannot read {}: {e}", path.display()))
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    ClientError::Setup(format!("invalid certificate {}: {e}", path.display()))
                })?;
                if certs.is_empty() {
                    return Err(ClientError::Setup(format!(
                        "no certificate found in {}",
                        path.display()
                    )));
                }
                for c in certs {
                    builder = builder.add_root_certificate(c);
                }
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            user: user.to_string(),
            secret: secret.to_string(),
            opts,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// The server URL without a trailing slash.
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn url(&self, path: &str) -> Result<Url> {
        let s = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        Url::parse(&s).map_err(|e| ClientError::Setup(format!("invalid URL {s:?}: {e}")))
    }

    fn token(&self, method: &Method, url: &Url) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        jwt::client_token(&self.user, &self.secret, method.as_str(), url.path(), now)
            .map_err(|e| ClientError::Setup(format!("cannot sign the JWT: {e}")))
    }

    /// One request with a fresh token, retrying 429 answers like the Go client.
    async fn send(&self, method: Method, url: Url, body: Option<&[u8]>) -> Result<Reply> {
        let mut attempt = 0;
        loop {
            let reply = self.send_once(method.clone(), url.clone(), body).await?;
            if reply.status != StatusCode::TOO_MANY_REQUESTS || attempt >= self.opts.retry_limit {
                return Ok(reply);
            }
            attempt += 1;
            tokio::time::sleep(self.retry_pause()).await;
        }
    }

    fn retry_pause(&self) -> Duration {
        let (min, max) = (self.opts.retry_min, self.opts.retry_max);
        if max <= min {
            return min;
        }
        let spread = (max - min).as_millis() as u64;
        min + Duration::from_millis(rand::thread_rng().gen_range(0..=spread))
    }

    async fn send_once(&self, method: Method, url: Url, body: Option<&[u8]>) -> Result<Reply> {
        let token = self.token(&method, &url)?;
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, format!("bearer {token}"));
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&method, &url, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(&method, &url, &e))?
            .to_vec();
        Ok(Reply {
            status,
            headers,
            url,
            body,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Reply> {
        let url = self.url(path)?;
        self.send(method, url, body).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None)
            .await?
            .expect(StatusCode::OK)?
            .json()
    }

    async fn get_text(&self, path: &str) -> Result<String> {
        Ok(self
            .call(Method::GET, path, None)
            .await?
            .expect(StatusCode::OK)?
            .text())
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        expect: StatusCode,
    ) -> Result<T> {
        let b = encode(body)?;
        self.call(Method::POST, path, Some(&b))
            .await?
            .expect(expect)?
            .json()
    }

    async fn post_no_content<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        accept: &[StatusCode],
    ) -> Result<()> {
        let b = encode(body)?;
        let r = self.call(Method::POST, path, Some(&b)).await?;
        if accept.contains(&r.status) {
            Ok(())
        } else {
            Err(r.into_error())
        }
    }

    /// Start an async operation and follow the `/queue` protocol to its end.
    async fn run_async(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<AsyncOutcome> {
        let first = self.call(method, path, body).await?;
        if first.status != StatusCode::ACCEPTED {
            return Err(first.into_error());
        }
        let mut queue = location(&first)?;
        loop {
            let r = self.send(Method::GET, queue.clone(), None).await?;
            let pending = r
                .headers
                .get("X-Pending")
                .is_some_and(|v| v.as_bytes() == b"true");
            if pending {
                if r.status != StatusCode::OK {
                    return Err(r.into_error());
                }
                tokio::time::sleep(self.opts.poll_interval).await;
                continue;
            }
            match r.status {
                StatusCode::NO_CONTENT => return Ok(AsyncOutcome::Done),
                // Any redirect: re-sign for the target's path and fetch it.
                s if s.is_redirection() => {
                    queue = location(&r)?;
                    let target = self.send(Method::GET, queue.clone(), None).await?;
                    if target.status.is_redirection() {
                        // A redirect chain (e.g. a 301 for a trailing slash): keep going.
                        let next = location(&target)?;
                        let t2 = self.send(Method::GET, next, None).await?;
                        return Ok(AsyncOutcome::Resource(Box::new(t2.expect(StatusCode::OK)?)));
                    }
                    return Ok(AsyncOutcome::Resource(Box::new(
                        target.expect(StatusCode::OK)?,
                    )));
                }
                StatusCode::OK => return Ok(AsyncOutcome::Resource(Box::new(r))),
                _ => return Err(r.into_error()),
            }
        }
    }

    async fn async_resource<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<T> {
        match self.run_async(method, path, body).await? {
            AsyncOutcome::Resource(r) => r.json(),
            AsyncOutcome::Done => Err(ClientError::Protocol(format!(
                "{path}: the operation finished without a result (204), expected a redirect to it"
            ))),
        }
    }

    async fn async_done(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<()> {
        self.run_async(method, path, body).await.map(|_| ())
    }

    // ------------------------------------------------------------ misc

    /// `GET /hello` (no auth needed, a token is sent anyway).
    pub async fn hello(&self) -> Result<String> {
        self.get_text("/hello").await
    }

    // ------------------------------------------------------------ clusters

    pub async fn cluster_create(&self, req: &ClusterCreateRequest) -> Result<ClusterInfoResponse> {
        self.post_json("/clusters", req, StatusCode::CREATED).await
    }

    pub async fn cluster_info(&self, id: &str) -> Result<ClusterInfoResponse> {
        self.get_json(&format!("/clusters/{id}")).await
    }

    pub async fn cluster_list(&self) -> Result<ClusterListResponse> {
        self.get_json("/clusters").await
    }

    pub async fn cluster_delete(&self, id: &str) -> Result<()> {
        let r = self
            .call(Method::DELETE, &format!("/clusters/{id}"), None)
            .await?;
        r.expect(StatusCode::OK).map(|_| ())
    }

    pub async fn cluster_set_flags(&self, id: &str, req: &ClusterSetFlagsRequest) -> Result<()> {
        self.post_no_content(&format!("/clusters/{id}/flags"), req, &[StatusCode::OK])
            .await
    }

    // ------------------------------------------------------------ nodes

    pub async fn node_add(&self, req: &NodeAddRequest) -> Result<NodeInfoResponse> {
        let b = encode(req)?;
        self.async_resource(Method::POST, "/nodes", Some(&b)).await
    }

    pub async fn node_info(&self, id: &str) -> Result<NodeInfoResponse> {
        self.get_json(&format!("/nodes/{id}")).await
    }

    pub async fn node_delete(&self, id: &str) -> Result<()> {
        self.async_done(Method::DELETE, &format!("/nodes/{id}"), None)
            .await
    }

    pub async fn node_state(&self, id: &str, req: &StateRequest) -> Result<()> {
        let b = encode(req)?;
        self.async_done(Method::POST, &format!("/nodes/{id}/state"), Some(&b))
            .await
    }

    pub async fn node_set_tags(&self, id: &str, req: &TagsChangeRequest) -> Result<Tags> {
        self.post_json(&format!("/nodes/{id}/tags"), req, StatusCode::OK)
            .await
    }

    // ------------------------------------------------------------ devices

    pub async fn device_add(&self, req: &DeviceAddRequest) -> Result<()> {
        let b = encode(req)?;
        self.async_done(Method::POST, "/devices", Some(&b)).await
    }

    pub async fn device_info(&self, id: &str) -> Result<DeviceInfoResponse> {
        self.get_json(&format!("/devices/{id}")).await
    }

    pub async fn device_delete(&self, id: &str, opts: &DeviceDeleteOptions) -> Result<()> {
        let b = encode(opts)?;
        self.async_done(Method::DELETE, &format!("/devices/{id}"), Some(&b))
            .await
    }

    pub async fn device_state(&self, id: &str, req: &StateRequest) -> Result<()> {
        let b = encode(req)?;
        self.async_done(Method::POST, &format!("/devices/{id}/state"), Some(&b))
            .await
    }

    pub async fn device_resync(&self, id: &str) -> Result<()> {
        self.async_done(Method::GET, &format!("/devices/{id}/resync"), None)
            .await
    }

    pub async fn device_set_tags(&self, id: &str, req: &TagsChangeRequest) -> Result<Tags> {
        self.post_json(&format!("/devices/{id}/tags"), req, StatusCode::OK)
            .await
    }

    // ------------------------------------------------------------ volumes

    pub async fn volume_create(&self, req: &VolumeCreateRequest) -> Result<VolumeInfoResponse> {
        let b = encode(req)?;
        self.async_resource(Method::POST, "/volumes", Some(&b))
            .await
    }

    pub async fn volume_info(&self, id: &str) -> Result<VolumeInfoResponse> {
        self.get_json(&format!("/volumes/{id}")).await
    }

    pub async fn volume_list(&self) -> Result<VolumeListResponse> {
        self.get_json("/volumes").await
    }

    pub async fn volume_delete(&self, id: &str) -> Result<()> {
        self.async_done(Method::DELETE, &format!("/volumes/{id}"), None)
            .await
    }

    pub async fn volume_expand(
        &self,
        id: &str,
        req: &VolumeExpandRequest,
    ) -> Result<VolumeInfoResponse> {
        let b = encode(req)?;
        self.async_resource(Method::POST, &format!("/volumes/{id}/expand"), Some(&b))
            .await
    }

    pub async fn volume_clone(
        &self,
        id: &str,
        req: &VolumeCloneRequest,
    ) -> Result<VolumeInfoResponse> {
        let b = encode(req)?;
        self.async_resource(Method::POST, &format!("/volumes/{id}/clone"), Some(&b))
            .await
    }

    pub async fn volume_set_block_restriction(
        &self,
        id: &str,
        req: &VolumeBlockRestrictionRequest,
    ) -> Result<VolumeInfoResponse> {
        let b = encode(req)?;
        self.async_resource(
            Method::POST,
            &format!("/volumes/{id}/block-restriction"),
            Some(&b),
        )
        .await
    }

    // ------------------------------------------------------------ bricks

    /// `POST /bricks/to-evict/{id}`; `healcheck` is `""`, `enable` or `disable`.
    pub async fn brick_evict(&self, id: &str, healcheck: &str) -> Result<()> {
        let body = if healcheck.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({ "healcheck": healcheck })
        };
        let b = encode(&body)?;
        self.async_done(Method::POST, &format!("/bricks/to-evict/{id}"), Some(&b))
            .await
    }

    // ------------------------------------------------------------ topology

    /// The whole topology: heqet's `GET /topology` when the server has it, else assembled
    /// from the cluster, volume and node routes as heketi's Go client does.
    pub async fn topology(&self) -> Result<TopologyInfoResponse> {
        match self.get_json::<TopologyInfoResponse>("/topology").await {
            Err(ClientError::Http {
                status: 404,
                message,
            }) if message == "Invalid path or request" => self.topology_assembled().await,
            other => other,
        }
    }

    /// The topology from heketi's standard routes only.
    pub async fn topology_assembled(&self) -> Result<TopologyInfoResponse> {
        let mut topo = TopologyInfoResponse::default();
        for cid in self.cluster_list().await?.clusters {
            let c = self.cluster_info(&cid).await?;
            let mut ct = ClusterTopology {
                id: c.id.clone(),
                block: c.block,
                file: c.file,
                ..Default::default()
            };
            for vid in &c.volumes {
                ct.volumes.push(self.volume_info(vid).await?);
            }
            for nid in &c.nodes {
                ct.nodes.push(self.node_info(nid).await?);
            }
            topo.clusters.push(ct);
        }
        Ok(topo)
    }

    // ------------------------------------------------------------ db, admin, logging

    /// `GET /db/dump`, the body verbatim.
    pub async fn db_dump(&self) -> Result<String> {
        self.get_text("/db/dump").await
    }

    /// `GET /db/check`, the body verbatim.
    pub async fn db_check(&self) -> Result<String> {
        self.get_text("/db/check").await
    }

    /// `GET /backup/db`: the raw database file.
    pub async fn backup_db(&self) -> Result<Vec<u8>> {
        Ok(self
            .call(Method::GET, "/backup/db", None)
            .await?
            .expect(StatusCode::OK)?
            .body)
    }

    /// `GET /internal/state/examine/gluster`, the body verbatim.
    pub async fn state_examine_gluster(&self) -> Result<String> {
        self.get_text("/internal/state/examine/gluster").await
    }

    pub async fn admin_status_get(&self) -> Result<AdminStatus> {
        self.get_json("/admin").await
    }

    pub async fn admin_status_set(&self, req: &AdminStatus) -> Result<()> {
        self.post_no_content("/admin", req, &[StatusCode::OK, StatusCode::NO_CONTENT])
            .await
    }

    pub async fn log_level_get(&self) -> Result<LogLevelInfo> {
        self.get_json("/internal/logging").await
    }

    pub async fn log_level_set(&self, req: &LogLevelInfo) -> Result<()> {
        self.post_no_content("/internal/logging", req, &[StatusCode::OK])
            .await
    }

    // ------------------------------------------------------------ operations

    pub async fn operations_info(&self) -> Result<OperationsInfo> {
        self.get_json("/operations").await
    }

    pub async fn pending_operations_list(&self) -> Result<PendingOperationListResponse> {
        self.get_json("/operations/pending").await
    }

    pub async fn pending_operation_details(&self, id: &str) -> Result<PendingOperationDetails> {
        self.get_json(&format!("/operations/pending/{id}")).await
    }

    pub async fn pending_operations_cleanup(
        &self,
        req: &PendingOperationsCleanRequest,
    ) -> Result<()> {
        let b = encode(req)?;
        self.async_done(Method::POST, "/operations/pending/cleanup", Some(&b))
            .await
    }
}

fn encode<B: Serialize>(body: &B) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| ClientError::Setup(format!("cannot encode request: {e}")))
}

/// The `Location` of a reply, resolved against the request URL (heketi sends a path).
fn location(r: &Reply) -> Result<Url> {
    let loc = r
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ClientError::Protocol(format!(
                "{}: status {} without a Location header",
                r.url,
                r.status.as_u16()
            ))
        })?;
    r.url
        .join(loc)
        .map_err(|e| ClientError::Protocol(format!("{}: invalid Location {loc:?}: {e}", r.url)))
}

/// Go's wording: `Get "http://host:8080/clusters": dial tcp host:8080: connect: connection refused`.
fn transport_error(method: &Method, url: &Url, err: &reqwest::Error) -> ClientError {
    let verb = go_method(method);
    let cause = transport_cause(url, err);
    ClientError::Transport {
        url: url.to_string(),
        message: format!("{verb} \"{url}\": {cause}"),
    }
}

fn go_method(m: &Method) -> String {
    let s = m.as_str();
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn transport_cause(url: &Url, err: &reqwest::Error) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port_or_known_default().unwrap_or(0);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut deepest = err.to_string();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    format!("dial tcp {host}:{port}: connect: connection refused")
                }
                _ => format!("dial tcp {host}:{port}: {io}"),
            };
        }
        deepest = e.to_string();
        source = e.source();
    }
    if err.is_timeout() {
        return format!("timeout: {deepest}");
    }
    deepest
}

#[cfg(test)]
mod tests {
    //! Protocol edge cases against a tiny stub server; real behaviour is tested against the
    //! real server in the CLI's integration tests.

    use super::*;
    use axum::http::{HeaderMap as AxHeaders, StatusCode as AxStatus};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use axum::Router;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    fn fast() -> ClientOptions {
        ClientOptions {
            poll_interval: Duration::from_millis(5),
            retry_limit: 6,
            retry_min: Duration::from_millis(1),
            retry_max: Duration::from_millis(3),
        }
    }

    fn client(url: &str) -> Client {
        Client::with_options(url, "admin", "secret", &TlsOptions::default(), fast()).unwrap()
    }

    /// Checks the token's qsh against the path the server sees.
    fn qsh_ok(headers: &AxHeaders, method: &str, path: &str) -> bool {
        let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(tok) = h.strip_prefix("bearer ") else {
            return false;
        };
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        let Ok(data) = jsonwebtoken::decode::<jwt::Claims>(
            tok,
            &jsonwebtoken::DecodingKey::from_secret(b"secret"),
            &v,
        ) else {
            return false;
        };
        data.claims.iss == "admin" && data.claims.qsh == jwt::qsh(method, path)
    }

    fn volume_json() -> String {
        r#"{"size":1,"name":"vol_a","durability":{"type":"none","replicate":{},"disperse":{}},"snapshot":{"enable":false,"factor":1},"id":"aa","cluster":"cc","mount":{"glusterfs":{"hosts":[],"device":"","options":{}}},"blockinfo":{},"bricks":[]}"#.to_string()
    }

    #[tokio::test]
    async fn pending_then_303_is_followed_with_a_new_token() {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let app = Router::new()
            .route(
                "/volumes",
                post(|h: AxHeaders| async move {
                    assert!(qsh_ok(&h, "POST", "/volumes"));
                    (AxStatus::ACCEPTED, [("Location", "/queue/q1")]).into_response()
                }),
            )
            .route(
                "/queue/q1",
                get(move |h: AxHeaders| {
                    let p = p.clone();
                    async move {
                        assert!(qsh_ok(&h, "GET", "/queue/q1"));
                        if p.fetch_add(1, Ordering::SeqCst) < 2 {
                            (AxStatus::OK, [("X-Pending", "true")]).into_response()
                        } else {
                            (AxStatus::SEE_OTHER, [("Location", "/volumes/aa")]).into_response()
                        }
                    }
                }),
            )
            .route(
                "/volumes/aa",
                get(|h: AxHeaders| async move {
                    if qsh_ok(&h, "GET", "/volumes/aa") {
                        (AxStatus::OK, volume_json()).into_response()
                    } else {
                        (AxStatus::UNAUTHORIZED, "Invalid qsh claim in token").into_response()
                    }
                }),
            );
        let url = serve(app).await;
        let v = client(&url)
            .volume_create(&VolumeCreateRequest::default())
            .await
            .unwrap();
        assert_eq!(v.id, "aa");
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn queue_204_is_done_and_500_is_the_body_text() {
        let app = Router::new()
            .route(
                "/volumes/{id}",
                axum::routing::delete(
                    |axum::extract::Path(id): axum::extract::Path<String>| async move {
                        (AxStatus::ACCEPTED, [("Location", format!("/queue/{id}"))]).into_response()
                    },
                ),
            )
            .route("/queue/ok", get(|| async { AxStatus::NO_CONTENT }))
            .route(
                "/queue/bad",
                get(|| async { (AxStatus::INTERNAL_SERVER_ERROR, "gluster said no\n") }),
            );
        let url = serve(app).await;
        let c = client(&url);
        c.volume_delete("ok").await.unwrap();
        match c.volume_delete("bad").await {
            Err(ClientError::Http { status, message }) => {
                assert_eq!(status, 500);
                assert_eq!(message, "gluster said no");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn empty_error_body_gets_go_placeholder() {
        let app = Router::new().route("/clusters", get(|| async { AxStatus::METHOD_NOT_ALLOWED }));
        let url = serve(app).await;
        let err = client(&url).cluster_list().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "server did not provide a message (status 405: Method Not Allowed)"
        );
    }

    #[tokio::test]
    async fn too_many_requests_is_retried_then_reported() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let app = Router::new().route(
            "/clusters",
            get(move || {
                let h = h.clone();
                async move {
                    if h.fetch_add(1, Ordering::SeqCst) < 3 {
                        (
                            AxStatus::TOO_MANY_REQUESTS,
                            "Server busy. Retry operation later.",
                        )
                            .into_response()
                    } else {
                        (AxStatus::OK, r#"{"clusters":["c1"]}"#).into_response()
                    }
                }
            }),
        );
        let url = serve(app).await;
        let l = client(&url).cluster_list().await.unwrap();
        assert_eq!(l.clusters, vec!["c1".to_string()]);
        assert_eq!(hits.load(Ordering::SeqCst), 4);

        let always = Router::new().route(
            "/clusters",
            get(|| async {
                (
                    AxStatus::TOO_MANY_REQUESTS,
                    "Server busy. Retry operation later.",
                )
            }),
        );
        let url = serve(always).await;
        let err = client(&url).cluster_list().await.unwrap_err();
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.to_string(), "Server busy. Retry operation later.");
    }

    #[tokio::test]
    async fn topology_falls_back_when_the_route_is_unknown() {
        let app = Router::new()
            .route(
                "/topology",
                get(|| async { (AxStatus::NOT_FOUND, "Invalid path or request\n") }),
            )
            .route("/clusters", get(|| async { r#"{"clusters":["cc"]}"# }))
            .route(
                "/clusters/cc",
                get(|| async {
                    r#"{"id":"cc","nodes":[],"volumes":["aa"],"block":true,"file":false,"blockvolumes":[]}"#
                }),
            )
            .route("/volumes/aa", get(|| async { volume_json() }));
        let url = serve(app).await;
        let t = client(&url).topology().await.unwrap();
        assert_eq!(t.clusters.len(), 1);
        assert_eq!(t.clusters[0].volumes[0].id, "aa");
        assert!(t.clusters[0].block && !t.clusters[0].file);
    }

    #[tokio::test]
    async fn connection_refused_reads_like_go() {
        // Bind then drop to get a port nobody listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let err = client(&format!("http://127.0.0.1:{port}"))
            .cluster_list()
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Transport { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "Get \"http://127.0.0.1:{port}/clusters\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )
        );
    }

    #[test]
    fn bad_server_url_is_a_setup_error() {
        assert!(matches!(
            Client::new("localhost:8080", "", "", &TlsOptions::default()),
            Err(ClientError::Setup(_))
        ));
    }
}
