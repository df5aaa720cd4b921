//! The HTTP layer: router, the request gate (auth, role, admin mode), and response helpers.
//! Handlers live in one module per resource.

mod admin;
mod clusters;
mod devices;
mod extract;
mod metrics;
mod nodes;
mod queue;
mod routes;
mod tags;
mod volumes;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::{self, AuthKeys, Role};
use crate::engine::Engine;
use crate::error::ApiError;

pub use routes::router;

/// Sets the server's log level (installed by the binary that owns the subscriber).
pub type LogLevelSetter = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub struct AppState {
    pub engine: Arc<Engine>,
    /// `None` = auth disabled.
    pub keys: Option<AuthKeys>,
    pub mode: RwLock<String>,
    pub loglevel: RwLock<String>,
    pub log_setter: Option<LogLevelSetter>,
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
    let mode = st
        .mode
        .read()
        .map(|m| m.clone())
        .unwrap_or_else(|_| "normal".into());
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let allowed = match mode.as_str() {
        "read-only" => safe,
        "local-client" => {
            safe || req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|ci| ci.0.ip().is_loopback())
        }
        _ => true,
    };
    if !allowed {
        return ApiError::Maintenance.into_response();
    }
    req.extensions_mut().insert(role);
    next.run(req).await
}
