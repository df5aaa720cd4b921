//! The route table (heketi-api.md §5) and the router's own answers: 404 for unknown paths,
//! 405 for wrong methods, 301 for a trailing slash.

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::extract::is_hex_id;
use super::{admin, clusters, devices, gate, metrics, nodes, queue, volumes, SharedState};
use crate::error::ApiError;

/// Route patterns, for the trailing-slash redirect.
const PATTERNS: &[&str] = &[
    "/hello",
    "/metrics",
    "/topology",
    "/queue/{id}",
    "/clusters",
    "/clusters/{id}",
    "/clusters/{id}/flags",
    "/nodes",
    "/nodes/{id}",
    "/nodes/{id}/state",
    "/nodes/{id}/tags",
    "/devices",
    "/devices/{id}",
    "/devices/{id}/state",
    "/devices/{id}/resync",
    "/devices/{id}/tags",
    "/volumes",
    "/volumes/{id}",
    "/volumes/{id}/expand",
    "/volumes/{id}/clone",
    "/volumes/{id}/block-restriction",
    "/blockvolumes",
    "/blockvolumes/{id}",
    "/blockvolumes/{id}/expand",
    "/bricks/to-evict/{id}",
    "/backup/db",
    "/db/dump",
    "/db/check",
    "/internal/logging",
    "/internal/state/examine/gluster",
    "/operations",
    "/operations/pending",
    "/operations/pending/{id}",
    "/operations/pending/cleanup",
    "/admin",
];

fn matches_pattern(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    PATTERNS.iter().any(|p| {
        let ps: Vec<&str> = p.split('/').collect();
        ps.len() == segs.len()
            && ps
                .iter()
                .zip(&segs)
                .all(|(p, s)| p == s || (*p == "{id}" && is_hex_id(s)))
    })
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') {
        let canonical = path.trim_end_matches('/');
        if matches_pattern(canonical) {
            let target = match uri.query() {
                Some(q) => format!("{canonical}?{q}"),
                None => canonical.to_string(),
            };
            let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(v) = HeaderValue::from_str(&target) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
    }
    ApiError::InvalidPath.into_response()
}

async fn method_not_allowed() -> Response {
    StatusCode::METHOD_NOT_ALLOWED.into_response()
}

async fn block_volumes_unsupported() -> ApiError {
    ApiError::Internal(
        "Block volumes (gluster-block) are not supported by heqet; use file volumes".into(),
    )
}

pub fn router(state: SharedState, body_limit: usize) -> Router {
    Router::new()
        .route("/hello", get(admin::hello))
        .route("/metrics", get(metrics::metrics))
        .route("/topology", get(admin::topology))
        .route("/queue/{id}", get(queue::poll))
        .route("/clusters", post(clusters::create).get(clusters::list))
        .route(
            "/clusters/{id}",
            get(clusters::info).delete(clusters::delete),
        )
        .route("/clusters/{id}/flags", post(clusters::set_flags))
        .route("/nodes", post(nodes::add))
        .route("/nodes/{id}", get(nodes::info).delete(nodes::delete))
        .route("/nodes/{id}/state", post(nodes::set_state))
        .route("/nodes/{id}/tags", post(nodes::set_tags))
        .route("/devices", post(devices::add))
        .route("/devices/{id}", get(devices::info).delete(devices::delete))
        .route("/devices/{id}/state", post(devices::set_state))
        .route("/devices/{id}/resync", get(devices::resync))
        .route("/devices/{id}/tags", post(devices::set_tags))
        .route("/volumes", post(volumes::create).get(volumes::list))
        .route("/volumes/{id}", get(volumes::info).delete(volumes::delete))
        .route("/volumes/{id}/expand", post(volumes::expand))
        .route("/volumes/{id}/clone", post(volumes::clone))
        .route(
            "/volumes/{id}/block-restriction",
            post(volumes::block_restriction),
        )
        .route(
            "/blockvolumes",
            post(block_volumes_unsupported).get(block_volumes_unsupported),
        )
        .route(
            "/blockvolumes/{id}",
            get(block_volumes_unsupported).delete(block_volumes_unsupported),
        )
        .route("/blockvolumes/{id}/expand", post(block_volumes_unsupported))
        .route("/bricks/to-evict/{id}", post(devices::evict_brick))
        .route("/backup/db", get(admin::backup_db))
        .route("/db/dump", get(admin::db_dump))
        .route("/db/check", get(admin::db_check))
        .route(
            "/internal/logging",
            get(admin::get_logging).post(admin::set_logging),
        )
        .route(
            "/internal/state/examine/gluster",
            get(admin::examine_gluster),
        )
        .route("/operations", get(admin::operations_info))
        .route("/operations/pending", get(admin::operations_list))
        .route("/operations/pending/{id}", get(admin::operation_details))
        .route(
            "/operations/pending/cleanup",
            post(admin::operations_cleanup),
        )
        .route("/admin", get(admin::get_mode).post(admin::set_mode))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_hex_ids_only() {
        assert!(matches_pattern("/clusters"));
        assert!(matches_pattern("/volumes/abcDEF0123/expand"));
        assert!(!matches_pattern("/volumes/xyz"));
        assert!(!matches_pattern("/nothing"));
    }
}
