//! Every error a handler can return, and the one place that maps them to HTTP. Bodies are
//! plain text (`message\n`), as heketi sends them; clients show them verbatim.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Body is not JSON of the expected shape (422 on most routes).
    #[error("request unable to be parsed")]
    Unparsable,
    /// Admin and logging routes answer bad JSON with 400 and a detail.
    #[error("request unable to be parsed: {0}")]
    UnparsableDetail(String),
    #[error("validation failed: {0}")]
    Validation(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("Authorization header format must be Bearer {{token}}")]
    AuthHeaderFormat,
    #[error("Id not found")]
    IdNotFound,
    #[error("{0}")]
    NotFound(String),
    /// The router's 404 for paths that match no route.
    #[error("Invalid path or request")]
    InvalidPath,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("request body too large (limit {0} bytes)")]
    TooLarge(usize),
    #[error("Server busy. Retry operation later.")]
    Busy,
    #[error("Service disabled for maintenance")]
    Maintenance,
    /// Allocation and node failures: heketi answers these with 500.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unparsable | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnparsableDetail(_)
            | ApiError::Validation(_)
            | ApiError::BadRequest(_)
            | ApiError::AuthHeaderFormat => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::IdNotFound | ApiError::NotFound(_) | ApiError::InvalidPath => {
                StatusCode::NOT_FOUND
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Busy => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Maintenance => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn admin_required() -> Self {
        ApiError::Unauthorized("Administrator access required".into())
    }
}

/// The one mapping of the engine's errors to heketi's statuses.
impl From<crate::engine::EngineError> for ApiError {
    fn from(e: crate::engine::EngineError) -> Self {
        use crate::engine::EngineError as E;
        match e {
            E::Busy => ApiError::Busy,
            E::IdNotFound => ApiError::IdNotFound,
            E::Missing(m) => ApiError::NotFound(m),
            E::Invalid(m) => ApiError::BadRequest(m),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Failed(m) => ApiError::Internal(m),
            E::Store(s) => s.into(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError::Internal(e.to_string())
    }
}

/// A plain-text response the way heketi's `http.Error` writes it.
pub fn text_response(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, format!("{message}\n")).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(%status, error = %self, "request failed");
        }
        text_response(status, &self.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
