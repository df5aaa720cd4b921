//! The HTTP layer: router, the request gate (auth, role, admin mode), and response helpers.
//! Handlers live in one module per resource.

mod admin;
mod clusters;
mod devices;
mod extract;
mod metrics;
mod mode;
mod nodes;
mod queue;
mod routes;
mod tags;
mod volumes;

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::{self, AuthKeys, Role};
use crate::engine::Engine;
use crate::error::ApiError;

pub use mode::{AdminMode, UnknownMode};
pub use routes::router;

/// Sets the server's log level (installed by the binary that owns the subscriber).
pub type LogLevelSetter = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub struct AppState {
    pub engine: Arc<Engine>,
    /// `None` = auth disabled.
    pub keys: Option<AuthKeys>,
    pub mode: RwLock<AdminMode>,
    pub loglevel: RwLock<String>,
    pub log_setter: Option<LogLevelSetter>,
}

impl AppState {
    /// The current admin mode. A panic elsewhere cannot have left a half-written value (it
    /// is one `Copy` word), so a poisoned lock still holds the real mode.
    pub fn mode(&self) -> AdminMode {
        *self.mode.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_mode(&self, mode: AdminMode) {
        *self.mode.write().unwrap_or_else(PoisonError::into_inner) = mode;
    }
}

pub type SharedState = Arc<AppState>;

/// A JSON body the way heketi writes it: streaming encoder, trailing newline.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            );
            r
        }
        Err(e) => ApiError::Internal(format!("cannot encode response: {e}")).into_response(),
    }
}

/// `202 Accepted` with the queue entry to poll.
pub fn accepted(queue_id: &str) -> Response {
    let mut r = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/queue/{queue_id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn now() -> i64 {
    crate::model::now_secs()
}

/// Which paths a `user` token may reach. heketi allowed exactly `/volumes`; heqet also lets
/// it follow its own requests (`/queue/{id}`, `GET /volumes/{id}`), checked per object.
fn user_may_request(method: &Method, path: &str) -> bool {
    if path == "/volumes" {
        return true;
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["queue", id] => extract::is_hex_id(id),
        ["volumes", id] => *method == Method::GET && extract::is_hex_id(id),
        _ => false,
    }
}

/// Authentication, role check and admin mode, in heketi's order (before routing).
pub async fn gate(State(st): State<SharedState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == "/hello" || path == "/metrics" {
        return next.run(req).await;
    }
    let role = match &st.keys {
        None => Role::Admin,
        Some(keys) => {
            let authz = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match auth::verify(authz, req.method().as_str(), &path, keys, now()) {
                Ok(role) => role,
                Err(e) => return e.into_response(),
            }
        }
    };
    if role == Role::User && !user_may_request(req.method(), &path) {
        return ApiError::admin_required().into_response();
    }
    let from_loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ci| ci.0.ip().is_loopback());
    if !st.mode().allows(req.method(), from_loopback) {
        return ApiError::Maintenance.into_response();
    }
    req.extensions_mut().insert(role);
    next.run(req).await
}
