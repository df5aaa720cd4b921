//! The HTTP layer: the route table and router, the request gate (auth, role, admin mode),
//! extractors and response helpers. Handlers live in one module per resource.

mod access_log;
mod admin;
mod clusters;
mod devices;
mod extract;
mod gate;
mod metrics;
mod mode;
mod nodes;
mod queue;
mod route_table;
mod routes;
mod tags;
mod volumes;

use std::sync::{Arc, PoisonError, RwLock};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthKeys;
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
