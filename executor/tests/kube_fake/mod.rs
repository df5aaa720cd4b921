//! A small fake of the Kubernetes API server, enough for heqet's kube transport: pod list
//! (label and field selectors), pod get, and the `pods/exec` subresource speaking the
//! WebSocket channel protocol (`v5.channel.k8s.io` / `v4.channel.k8s.io`: stdout on channel 1,
//! stderr on 2, a `Status` with the exit code on 3). It runs the requested argv for real: on
//! this machine, or inside a node of the e2e cluster (`tests/e2e/cluster.sh exec N …`).
//!
//! Plain HTTP on 127.0.0.1: kube's client speaks http:// as well as https://, and the
//! kubeconfig the tests write points at it with a bearer token the server checks.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const TOKEN: &str = "heqet-test-token";

/// Where exec'd commands run.
#[derive(Clone, Debug)]
pub enum Runner {
    /// On this machine, argv exec'd directly (no shell).
    Local,
    /// In the e2e cluster: pod name -> node number for `cluster.sh exec N argv…`.
    Cluster {
        script: PathBuf,
        nodes: HashMap<String, u32>,
    },
}

/// One exec the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub argv: Vec<String>,
    pub protocol: String,
}

pub struct FakeState {
    pub pods: Vec<Value>,
    /// Verbs refused with 403: "list", "get", "exec".
    pub forbid: HashSet<&'static str>,
    pub execs: Vec<ExecRecord>,
    /// Subprotocol to pick; `None` = the client's first choice.
    pub protocol: Option<&'static str>,
    pub runner: Runner,
    /// Execs running now / at most at once, per pod.
    pub running: HashMap<String, usize>,
    pub max_running: HashMap<String, usize>,
    /// Requests seen, as "METHOD path?query".
    pub requests: Vec<String>,
}

pub type Shared = Arc<Mutex<FakeState>>;

pub struct FakeApi {
    pub addr: SocketAddr,
    pub state: Shared,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A pod as the API returns it.
pub fn pod(ns: &str, name: &str, node: &str, phase: &str, containers: &[&str]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": format!("uid-{name}"),
            "labels": {"glusterfs-node": node, "glusterfs": "pod"},
        },
        "spec": {
            "nodeName": node,
            "containers": containers.iter().map(|c| json!({"name": c, "image": "gluster"})).collect::<Vec<_>>(),
        },
        "status": {"phase": phase},
    })
}

impl FakeApi {
    pub async fn start(pods: Vec<Value>, runner: Runner) -> FakeApi {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            pods,
            forbid: HashSet::new(),
            execs: Vec::new(),
            protocol: None,
            runner,
            running: HashMap::new(),
            max_running: HashMap::new(),
            requests: Vec::new(),
        }));
        let app = Router::new()
            .route("/api/v1/namespaces/{ns}/pods", get(list_pods))
            .route("/api/v1/namespaces/{ns}/pods/{name}", get(get_pod))
            .route(
                "/api/v1/namespaces/{ns}/pods/{name}/exec",
                get(exec).post(exec),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        write_kubeconfig(&kubeconfig, &format!("http://{addr}"), TOKEN, "glusterfs");
        FakeApi {
            addr,
            state,
            kubeconfig,
            _dir: dir,
            task,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn execs(&self) -> Vec<ExecRecord> {
        self.with(|s| s.execs.clone())
    }
}

pub fn write_kubeconfig(path: &Path, server: &str, token: &str, namespace: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: heqet\n    namespace: {namespace}\n\
             current-context: fake\nusers:\n- name: heqet\n  user:\n    token: {token}\n"
        ),
    )
    .unwrap();
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn forbidden(verb: &str, resource: &str, ns: &str) -> Response {
    status(
        403,
        "Forbidden",
        format!(
            "{resource} is forbidden: User \"system:serviceaccount:{ns}:heketi\" cannot {verb} \
             resource \"{resource}\" in API group \"\" in the namespace \"{ns}\""
        ),
    )
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

fn unauthorized() -> Response {
    status(401, "Unauthorized", "Unauthorized".into())
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn label<'a>(pod: &'a Value, key: &str) -> Option<&'a str> {
    pod["metadata"]["labels"][key].as_str()
}

/// Kubernetes label selector terms: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma = and.
fn labels_match(pod: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                label(pod, k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                label(pod, k.trim()) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                label(pod, k.trim()).is_none()
            } else {
                label(pod, term).is_some()
            }
        })
}

fn fields_match(pod: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|t| !t.is_empty())
        .all(|term| match term.split_once('=') {
            Some(("spec.nodeName", v)) => pod["spec"]["nodeName"].as_str() == Some(v),
            Some(("metadata.name", v)) => pod["metadata"]["name"].as_str() == Some(v),
            _ => false,
        })
}

async fn list_pods(
    State(st): State<Shared>,
    UrlPath(ns): UrlPath<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut s = st.lock().unwrap();
    s.requests.push(format!(
        "GET /api/v1/namespaces/{ns}/pods?{}",
        q.clone().unwrap_or_default()
    ));
    if !authorized(&headers) {
        return unauthorized();
    }
    if s.forbid.contains("list") {
        return forbidden("list", "pods", &ns);
    }
    let pairs = query_pairs(&q);
    let find = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let labels = find("labelSelector").unwrap_or_default();
    let fields = find("fieldSelector").unwrap_or_default();
    let items: Vec<Value> = s
        .pods
        .iter()
        .filter(|p| p["metadata"]["namespace"].as_str() == Some(ns.as_str()))
        .filter(|p| labels_match(p, &labels) && fields_match(p, &fields))
        .cloned()
        .collect();
    Json(json!({
        "kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": items,
    }))
    .into_response()
}

fn find_pod(s: &FakeState, ns: &str, name: &str) -> Option<Value> {
    s.pods
        .iter()
        .find(|p| {
            p["metadata"]["namespace"].as_str() == Some(ns)
                && p["metadata"]["name"].as_str() == Some(name)
        })
        .cloned()
}

async fn get_pod(
    State(st): State<Shared>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = st.lock().unwrap();
    s.requests
        .push(format!("GET /api/v1/namespaces/{ns}/pods/{name}"));
    if !authorized(&headers) {
        return unauthorized();
    }
    if s.forbid.contains("get") {
        return forbidden("get", "pods", &ns);
    }
    match find_pod(&s, &ns, &name) {
        Some(p) => Json(p).into_response(),
        None => status(404, "NotFound", format!("pods \"{name}\" not found")),
    }
}

async fn exec(
    State(st): State<Shared>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    RawQuery(q): RawQuery,
    mut req: Request,
) -> Response {
    let pairs = query_pairs(&q);
    let argv: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let container = pairs
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.clone());
    let headers = req.headers().clone();
    let (runner, protocol) = {
        let mut s = st.lock().unwrap();
        s.requests.push(format!(
            "{} /api/v1/namespaces/{ns}/pods/{name}/exec?{}",
            req.method(),
            q.clone().unwrap_or_default()
        ));
        if !authorized(&headers) {
            return unauthorized();
        }
        if s.forbid.contains("exec") {
            return forbidden("create", "pods/exec", &ns);
        }
        let Some(pod) = find_pod(&s, &ns, &name) else {
            return status(404, "NotFound", format!("pods \"{name}\" not found"));
        };
        let containers: Vec<String> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        let container = match container {
            Some(c) => c,
            None if containers.len() == 1 => containers[0].clone(),
            None => {
                return status(
                    400,
                    "BadRequest",
                    format!("a container name must be specified for pod {name}"),
                )
            }
        };
        if !containers.contains(&container) {
            return status(
                400,
                "BadRequest",
                format!("container {container} is not valid for pod {name}"),
            );
        }
        if pod["status"]["phase"].as_str() != Some("Running") {
            return status(400, "BadRequest", format!("pod {name} is not running"));
        }
        if argv.is_empty() {
            return status(
                400,
                "BadRequest",
                "you must specify at least 1 command".into(),
            );
        }
        let offered: Vec<String> = headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let protocol = match s.protocol {
            Some(p) if offered.iter().any(|o| o == p) => p.to_string(),
            Some(p) => {
                return status(
                    400,
                    "BadRequest",
                    format!("client does not offer subprotocol {p}: {offered:?}"),
                )
            }
            None => match offered.first() {
                Some(p) => p.clone(),
                None => return status(400, "BadRequest", "no channel subprotocol".into()),
            },
        };
        s.execs.push(ExecRecord {
            namespace: ns.clone(),
            pod: name.clone(),
            container,
            argv: argv.clone(),
            protocol: protocol.clone(),
        });
        (s.runner.clone(), protocol)
    };
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return status(400, "BadRequest", "not a WebSocket upgrade".into());
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let pod_name = name.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        {
            let mut s = st.lock().unwrap();
            let n = s.running.entry(pod_name.clone()).or_default();
            *n += 1;
            let now = *n;
            let m = s.max_running.entry(pod_name.clone()).or_default();
            *m = (*m).max(now);
        }
        run_exec(ws, runner, &st, &pod_name, argv).await;
    });
    let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&derive_accept_key(key.as_bytes())).unwrap(),
    );
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&protocol).unwrap(),
    );
    res
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::binary(v)
}

/// Run the command and stream it back the way the kubelet does.
async fn run_exec<S>(
    mut ws: WebSocketStream<S>,
    runner: Runner,
    st: &Shared,
    pod: &str,
    argv: Vec<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut cmd = match &runner {
        Runner::Local => {
            let mut c = tokio::process::Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        Runner::Cluster { script, nodes } => {
            let n = nodes.get(pod).copied().unwrap_or(0);
            let mut c = tokio::process::Command::new(script);
            c.arg("exec").arg(n.to_string()).args(&argv);
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The apiserver opens each channel with a 1-byte frame.
    let _ = ws.send(Message::binary(vec![1u8])).await;
    let _ = ws.send(Message::binary(vec![2u8])).await;
    // Counted as running until the process is gone (not until the socket is).
    let finished = || {
        if let Some(n) = st.lock().unwrap().running.get_mut(pod) {
            *n -= 1;
        }
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            finished();
            let st = json!({
                "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
                "message": format!("OCI runtime exec failed: exec failed: exec: {:?}: {e}", argv[0]),
            });
            let _ = ws.send(frame(3, st.to_string().as_bytes())).await;
            let _ = ws.close(None).await;
            return;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(16);
    let pump = |ch: u8, mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 || tx.send((ch, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        })
    };
    let out = pump(1, Box::new(child.stdout.take().unwrap()));
    let err = pump(2, Box::new(child.stderr.take().unwrap()));
    drop(tx);
    while let Some((ch, data)) = rx.recv().await {
        if ws.send(frame(ch, &data)).await.is_err() {
            // Client gone: the child is killed on drop.
            drop(child);
            finished();
            return;
        }
    }
    let _ = (out.await, err.await);
    let code = match child.wait().await {
        Ok(s) => s.code().unwrap_or(137),
        Err(_) => 1,
    };
    finished();
    let st = if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command {argv:?}, exit code {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    let _ = ws.send(frame(3, st.to_string().as_bytes())).await;
    let _ = ws.close(None).await;
    // Drain until the client closes, as a server should.
    while let Some(Ok(_)) = ws.next().await {}
}
