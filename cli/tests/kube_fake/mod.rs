//! A small fake of the Kubernetes API server for `heqet migrate pvs`: PersistentVolumes
//! (list, get, create, JSON merge patch, delete) and pod lists, over real HTTP on 127.0.0.1,
//! with the semantics the command depends on:
//!
//! - a merge patch or delete with a `resourceVersion` (or uid) precondition that does not
//!   match is refused with 409 Conflict;
//! - deleting an object with finalizers only sets `deletionTimestamp`; it goes when the last
//!   finalizer is removed. Nothing here removes `kubernetes.io/pv-protection` by itself, as
//!   the real pv-protection controller never does for a Bound PV;
//! - a create adds `kubernetes.io/pv-protection` (the PV admission plugin), a uid and a
//!   resourceVersion; `?dryRun=All` validates and stores nothing.
//!
//! Every request is recorded (method, path with query, body) for order checks.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const TOKEN: &str = "heqet-migrate-token";

#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// Path and query, e.g. `/api/v1/persistentvolumes?dryRun=All`.
    pub path: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
pub struct FakeState {
    pub pvs: BTreeMap<String, Value>,
    pub pods: Vec<Value>,
    pub requests: Vec<Req>,
    /// Verbs refused with 403 on persistentvolumes: "create", "patch", "delete", "list".
    pub forbid: HashSet<&'static str>,
    /// Real (not dry-run) creates are refused, as an admission webhook could.
    pub refuse_real_create: bool,
    /// A finalizer some other controller adds when a PV is deleted.
    pub hold_on_delete: Option<&'static str>,
    /// Pods that start right after the first pod list was answered.
    pub late_pods: Vec<Value>,
    rv: u64,
    uids: u64,
}

type Shared = Arc<Mutex<FakeState>>;

pub struct FakeKube {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    state: Shared,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl FakeKube {
    pub fn start(pvs: Vec<Value>, pods: Vec<Value>) -> FakeKube {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut st = FakeState {
            pods,
            rv: 1000,
            ..FakeState::default()
        };
        for pv in pvs {
            let name = pv["metadata"]["name"].as_str().unwrap().to_string();
            st.pvs.insert(name, pv);
        }
        let state: Shared = Arc::new(Mutex::new(st));
        let app = Router::new()
            .route("/api/v1/persistentvolumes", get(list_pvs).post(create_pv))
            .route(
                "/api/v1/persistentvolumes/{name}",
                get(get_pv).patch(patch_pv).delete(delete_pv),
            )
            .route("/api/v1/namespaces/{ns}/pods", get(list_pods))
            .with_state(state.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
                 contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: admin\n\
                 current-context: fake\nusers:\n- name: admin\n  user:\n    token: {TOKEN}\n"
            ),
        )
        .unwrap();
        FakeKube {
            addr,
            kubeconfig,
            state,
            _dir: dir,
            rt,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn pvs(&self) -> BTreeMap<String, Value> {
        self.with(|s| s.pvs.clone())
    }

    pub fn pv(&self, name: &str) -> Option<Value> {
        self.with(|s| s.pvs.get(name).cloned())
    }

    pub fn requests(&self) -> Vec<Req> {
        self.with(|s| s.requests.clone())
    }

    /// Requests that change something (dry runs excluded).
    pub fn changes(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path.contains("dryRun"))
            .collect()
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }
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

fn forbidden(verb: &str) -> Response {
    status(
        403,
        "Forbidden",
        format!(
            "persistentvolumes is forbidden: User \"migrator\" cannot {verb} resource \
             \"persistentvolumes\" in API group \"\" at the cluster scope"
        ),
    )
}

fn not_found(name: &str) -> Response {
    status(
        404,
        "NotFound",
        format!("persistentvolumes \"{name}\" not found"),
    )
}

fn conflict(name: &str, why: &str) -> Response {
    status(
        409,
        "Conflict",
        format!("Operation cannot be fulfilled on persistentvolumes \"{name}\": {why}"),
    )
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

fn record(s: &mut FakeState, method: Method, path: String, headers: &HeaderMap, body: &Bytes) {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = serde_json::from_slice(body).unwrap_or(Value::Null);
    s.requests.push(Req {
        method: method.to_string(),
        path,
        content_type,
        body,
    });
}

fn full_path(path: &str, q: &Option<String>) -> String {
    match q.as_deref() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn has_finalizers(pv: &Value) -> bool {
    pv["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

fn bump(s: &mut FakeState, pv: &mut Value) {
    s.rv += 1;
    pv["metadata"]["resourceVersion"] = json!(s.rv.to_string());
}

async fn list_pvs(State(st): State<Shared>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let mut s = st.lock().unwrap();
    let path = full_path("/api/v1/persistentvolumes", &q);
    record(&mut s, Method::GET, path, &headers, &Bytes::new());
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    if s.forbid.contains("list") {
        return forbidden("list");
    }
    let items: Vec<Value> = s.pvs.values().cloned().collect();
    Json(json!({
        "kind": "PersistentVolumeList", "apiVersion": "v1",
        "metadata": {"resourceVersion": s.rv.to_string()},
        "items": items,
    }))
    .into_response()
}

async fn get_pv(
    State(st): State<Shared>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = format!("/api/v1/persistentvolumes/{name}");
    record(&mut s, Method::GET, path, &headers, &Bytes::new());
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    match s.pvs.get(&name) {
        Some(pv) => Json(pv.clone()).into_response(),
        None => not_found(&name),
    }
}

async fn create_pv(
    State(st): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = full_path("/api/v1/persistentvolumes", &q);
    let dry_run = path.contains("dryRun=All");
    record(&mut s, Method::POST, path, &headers, &body);
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    if s.forbid.contains("create") {
        return forbidden("create");
    }
    let Ok(mut pv) = serde_json::from_slice::<Value>(&body) else {
        return status(400, "BadRequest", "the body is not JSON".into());
    };
    if pv["kind"] != "PersistentVolume" || pv["apiVersion"] != "v1" {
        return status(400, "BadRequest", "not a v1 PersistentVolume".into());
    }
    let name = match (
        pv["metadata"]["name"].as_str(),
        pv["metadata"]["generateName"].as_str(),
    ) {
        (Some(n), _) => n.to_string(),
        (None, Some(g)) => format!("{g}x7k2q"),
        (None, None) => {
            return status(422, "Invalid", "metadata.name: Required value".into());
        }
    };
    if pv["metadata"]["resourceVersion"].is_string() {
        return status(
            422,
            "Invalid",
            "metadata.resourceVersion: must be empty on create".into(),
        );
    }
    if s.pvs.contains_key(&name) {
        return status(
            409,
            "AlreadyExists",
            format!("persistentvolumes \"{name}\" already exists"),
        );
    }
    if s.refuse_real_create && !dry_run {
        return status(
            400,
            "BadRequest",
            "admission webhook \"pv-policy.example.com\" denied the request: not now".into(),
        );
    }
    pv["metadata"]["name"] = json!(name);
    if !pv["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "kubernetes.io/pv-protection"))
    {
        let mut f = pv["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        f.push(json!("kubernetes.io/pv-protection"));
        pv["metadata"]["finalizers"] = json!(f);
    }
    s.uids += 1;
    pv["metadata"]["uid"] = json!(format!("new-uid-{}", s.uids));
    pv["metadata"]["creationTimestamp"] = json!("2026-02-03T04:05:06Z");
    pv["status"] = json!({"phase": "Pending"});
    bump(&mut s, &mut pv);
    if !dry_run {
        s.pvs.insert(name, pv.clone());
    }
    (StatusCode::CREATED, Json(pv)).into_response()
}

async fn patch_pv(
    State(st): State<Shared>,
    UrlPath(name): UrlPath<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = full_path(&format!("/api/v1/persistentvolumes/{name}"), &q);
    record(&mut s, Method::PATCH, path, &headers, &body);
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    if s.forbid.contains("patch") {
        return forbidden("patch");
    }
    let ct = s.requests.last().map(|r| r.content_type.clone());
    if ct.as_deref() != Some("application/merge-patch+json") {
        return status(
            415,
            "UnsupportedMediaType",
            format!("the fake only speaks merge patches, not {ct:?}"),
        );
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return status(400, "BadRequest", "the body is not JSON".into());
    };
    let Some(current) = s.pvs.get(&name).cloned() else {
        return not_found(&name);
    };
    if let Some(rv) = patch["metadata"]["resourceVersion"].as_str() {
        if Some(rv) != current["metadata"]["resourceVersion"].as_str() {
            return conflict(
                &name,
                "the object has been modified; please apply your changes to the latest \
                 version and try again",
            );
        }
    }
    let mut pv = current.clone();
    merge(&mut pv, &patch);
    pv["metadata"]["name"] = current["metadata"]["name"].clone();
    pv["metadata"]["uid"] = current["metadata"]["uid"].clone();
    bump(&mut s, &mut pv);
    if pv["metadata"]["deletionTimestamp"].is_string() && !has_finalizers(&pv) {
        s.pvs.remove(&name);
    } else {
        s.pvs.insert(name, pv.clone());
    }
    Json(pv).into_response()
}

async fn delete_pv(
    State(st): State<Shared>,
    UrlPath(name): UrlPath<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = full_path(&format!("/api/v1/persistentvolumes/{name}"), &q);
    record(&mut s, Method::DELETE, path, &headers, &body);
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    if s.forbid.contains("delete") {
        return forbidden("delete");
    }
    let opts: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(mut pv) = s.pvs.get(&name).cloned() else {
        return not_found(&name);
    };
    let pre = &opts["preconditions"];
    if let Some(uid) = pre["uid"].as_str() {
        if Some(uid) != pv["metadata"]["uid"].as_str() {
            return conflict(
                &name,
                "Precondition failed: UID in precondition does not match",
            );
        }
    }
    if let Some(rv) = pre["resourceVersion"].as_str() {
        if Some(rv) != pv["metadata"]["resourceVersion"].as_str() {
            return conflict(
                &name,
                "Precondition failed: ResourceVersion in precondition does not match",
            );
        }
    }
    if let Some(hold) = s.hold_on_delete {
        let mut f = pv["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        f.push(json!(hold));
        pv["metadata"]["finalizers"] = json!(f);
    }
    if has_finalizers(&pv) {
        if !pv["metadata"]["deletionTimestamp"].is_string() {
            pv["metadata"]["deletionTimestamp"] = json!("2026-02-03T04:05:00Z");
            pv["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            bump(&mut s, &mut pv);
            s.pvs.insert(name, pv.clone());
        }
    } else {
        s.pvs.remove(&name);
    }
    Json(pv).into_response()
}

async fn list_pods(
    State(st): State<Shared>,
    UrlPath(ns): UrlPath<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = full_path(&format!("/api/v1/namespaces/{ns}/pods"), &q);
    record(&mut s, Method::GET, path, &headers, &Bytes::new());
    if !authorized(&headers) {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    let items: Vec<Value> = s
        .pods
        .iter()
        .filter(|p| p["metadata"]["namespace"].as_str() == Some(ns.as_str()))
        .cloned()
        .collect();
    let late = std::mem::take(&mut s.late_pods);
    s.pods.extend(late);
    Json(json!({
        "kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": s.rv.to_string()},
        "items": items,
    }))
    .into_response()
}
