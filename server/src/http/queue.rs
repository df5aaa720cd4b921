//! `GET /queue/{id}`: the asynchronous operation protocol (docs/heketi-api.md §4). Outcomes are
//! kept in the store, so a poll across a server restart gets the real result.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::extract::HexId;
use super::SharedState;
use crate::auth::Role;
use crate::error::{text_response, ApiError, ApiResult};
use crate::model::QueueState;

pub async fn poll(
    State(st): State<SharedState>,
    Extension(role): Extension<Role>,
    HexId(id): HexId,
) -> ApiResult<Response> {
    let id = id.as_str();
    // Register before reading, so an operation that ends in between still wakes us.
    let notify = st.engine.waiter(id);
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let mut row = st.engine.store.read().queue_row(id).await?;
    let wait = st.engine.config.queue_poll_wait;
    if row.as_ref().is_some_and(|r| r.state == QueueState::Pending) && !wait.is_zero() {
        // Hold a pending poll briefly: the client hears the outcome the moment it exists
        // instead of after its next poll interval (the answer is the same either way).
        let _ = tokio::time::timeout(wait, notified).await;
        row = st.engine.store.read().queue_row(id).await?;
    }
    if row.as_ref().is_none_or(|r| r.state != QueueState::Pending) {
        st.engine.forget_waiter(id);
    }
    let row = row.ok_or(ApiError::IdNotFound)?;
    if role == Role::User && row.owner != "user" {
        return Err(ApiError::admin_required());
    }
    Ok(match row.state {
        QueueState::Pending => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert("X-Pending", HeaderValue::from_static("true"));
            r
        }
        QueueState::Done if !row.location.is_empty() => {
            let mut r = (
                StatusCode::SEE_OTHER,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!("<a href=\"{}\">See Other</a>.\n\n", row.location),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&row.location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        QueueState::Done => StatusCode::NO_CONTENT.into_response(),
        QueueState::Failed => text_response(StatusCode::INTERNAL_SERVER_ERROR, &row.message),
    })
}
