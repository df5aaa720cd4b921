//! The route table (docs/heketi-api.md §5, and heqet's `GET /topology`), the router built from it,
//! and the router's own answers: 404 for unknown paths, 405 for wrong methods, 301 for a
//! trailing slash.

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use super::gate::gate;
use super::route_table::{self, Access, Endpoint, Verb};
use super::{admin, clusters, devices, metrics, nodes, queue, volumes, SharedState};
use crate::error::ApiError;

/// Makes an endpoint's handler for the router, given the endpoint's method.
type Handler = fn(MethodFilter) -> MethodRouter<SharedState>;

const fn ep(
    verb: Verb,
    pattern: &'static str,
    access: Access,
    handler: Handler,
) -> Endpoint<Handler> {
    Endpoint {
        verb,
        pattern,
        access,
        handler,
    }
}

/// Every endpoint. A path's endpoints are listed in the order a 405's `Allow` header names
/// them. `user` tokens reach `/volumes` (as in heketi) and follow their own requests
/// (`/queue/{id}`, `GET /volumes/{id}`): those handlers check the object's owner.
#[rustfmt::skip]
static ROUTES: &[Endpoint<Handler>] = {
    use Access::{Admin, Public, User};
    use Verb::{Delete, Get, Post};
    &[
        ep(Get, "/hello", Public, |m| on(m, admin::hello)),
        ep(Get, "/metrics", Public, |m| on(m, metrics::metrics)),
        ep(Get, "/topology", Admin, |m| on(m, admin::topology)),
        ep(Get, "/queue/{id}", User, |m| on(m, queue::poll)),
        ep(Post, "/clusters", Admin, |m| on(m, clusters::create)),
        ep(Get, "/clusters", Admin, |m| on(m, clusters::list)),
        ep(Get, "/clusters/{id}", Admin, |m| on(m, clusters::info)),
        ep(Delete, "/clusters/{id}", Admin, |m| on(m, clusters::delete)),
        ep(Post, "/clusters/{id}/flags", Admin, |m| on(m, clusters::set_flags)),
        ep(Post, "/nodes", Admin, |m| on(m, nodes::add)),
        ep(Get, "/nodes/{id}", Admin, |m| on(m, nodes::info)),
        ep(Delete, "/nodes/{id}", Admin, |m| on(m, nodes::delete)),
        ep(Post, "/nodes/{id}/state", Admin, |m| on(m, nodes::set_state)),
        ep(Post, "/nodes/{id}/tags", Admin, |m| on(m, nodes::set_tags)),
        ep(Post, "/devices", Admin, |m| on(m, devices::add)),
        ep(Get, "/devices/{id}", Admin, |m| on(m, devices::info)),
        ep(Delete, "/devices/{id}", Admin, |m| on(m, devices::delete)),
        ep(Post, "/devices/{id}/state", Admin, |m| on(m, devices::set_state)),
        ep(Get, "/devices/{id}/resync", Admin, |m| on(m, devices::resync)),
        ep(Post, "/devices/{id}/tags", Admin, |m| on(m, devices::set_tags)),
        ep(Post, "/volumes", User, |m| on(m, volumes::create)),
        ep(Get, "/volumes", User, |m| on(m, volumes::list)),
        ep(Get, "/volumes/{id}", User, |m| on(m, volumes::info)),
        ep(Delete, "/volumes/{id}", Admin, |m| on(m, volumes::delete)),
        ep(Post, "/volumes/{id}/expand", Admin, |m| on(m, volumes::expand)),
        ep(Post, "/volumes/{id}/clone", Admin, |m| on(m, volumes::clone)),
        ep(Post, "/volumes/{id}/block-restriction", Admin, |m| on(m, volumes::block_restriction)),
        ep(Post, "/blockvolumes", Admin, |m| on(m, block_volumes_unsupported)),
        ep(Get, "/blockvolumes", Admin, |m| on(m, block_volumes_unsupported)),
        ep(Get, "/blockvolumes/{id}", Admin, |m| on(m, block_volumes_unsupported)),
        ep(Delete, "/blockvolumes/{id}", Admin, |m| on(m, block_volumes_unsupported)),
        ep(Post, "/blockvolumes/{id}/expand", Admin, |m| on(m, block_volumes_unsupported)),
        ep(Post, "/bricks/to-evict/{id}", Admin, |m| on(m, devices::evict_brick)),
        ep(Get, "/backup/db", Admin, |m| on(m, admin::backup_db)),
        ep(Get, "/db/dump", Admin, |m| on(m, admin::db_dump)),
        ep(Get, "/db/check", Admin, |m| on(m, admin::db_check)),
        ep(Get, "/internal/logging", Admin, |m| on(m, admin::get_logging)),
        ep(Post, "/internal/logging", Admin, |m| on(m, admin::set_logging)),
        ep(Get, "/internal/state/examine/gluster", Admin, |m| on(m, admin::examine_gluster)),
        ep(Get, "/operations", Admin, |m| on(m, admin::operations_info)),
        ep(Get, "/operations/pending", Admin, |m| on(m, admin::operations_list)),
        ep(Get, "/operations/pending/{id}", Admin, |m| on(m, admin::operation_details)),
        ep(Post, "/operations/pending/cleanup", Admin, |m| on(m, admin::operations_cleanup)),
        ep(Get, "/admin", Admin, |m| on(m, admin::get_mode)),
        ep(Post, "/admin", Admin, |m| on(m, admin::set_mode)),
    ]
};

/// Who may send `method` to `path` (see [`route_table::access`]).
pub fn access(method: &Method, path: &str) -> Access {
    route_table::access(ROUTES, method, path)
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') {
        let canonical = path.trim_end_matches('/');
        if route_table::is_route(ROUTES, canonical) {
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
    ROUTES
        .iter()
        .fold(Router::new(), |r, e| {
            r.route(e.pattern, (e.handler)(e.verb.filter()))
        })
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(super::access_log::access_log))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::is_hex_id;

    /// Whether some path matches both patterns (`{id}` against `{id}` or a hex literal).
    fn overlap(a: &str, b: &str) -> bool {
        let (a, b): (Vec<_>, Vec<_>) = (a.split('/').collect(), b.split('/').collect());
        a.len() == b.len()
            && a.iter().zip(&b).all(|(x, y)| {
                x == y
                    || (*x == "{id}" && (*y == "{id}" || is_hex_id(y)))
                    || (*y == "{id}" && is_hex_id(x))
            })
    }

    #[test]
    fn one_endpoint_per_method_and_path() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                if a.pattern != b.pattern {
                    assert!(
                        !overlap(a.pattern, b.pattern),
                        "{} and {} overlap",
                        a.pattern,
                        b.pattern
                    );
                } else {
                    assert_ne!(a.verb, b.verb, "{} twice", a.pattern);
                }
            }
        }
    }

    #[test]
    fn redirect_targets_are_routes() {
        assert!(route_table::is_route(ROUTES, "/clusters"));
        assert!(route_table::is_route(ROUTES, "/volumes/abcDEF0123/expand"));
        assert!(route_table::is_route(ROUTES, "/operations/pending/cleanup"));
        assert!(!route_table::is_route(ROUTES, "/volumes/xyz"));
        assert!(!route_table::is_route(ROUTES, "/nothing"));
    }

    /// docs/heketi-api.md §2: unauthenticated `/hello` and `/metrics`; a `user` token reaches
    /// `/volumes` with any method, and in heqet also `/queue/{id}` (any method) and
    /// `GET /volumes/{id}`; everything else, unknown paths included, needs admin.
    #[test]
    fn who_may_call_what() {
        let id = "0123456789abcdef0123456789abcdef";
        let cases: &[(Method, String, Access)] = &[
            (Method::GET, "/hello".into(), Access::Public),
            (Method::POST, "/hello".into(), Access::Public),
            (Method::HEAD, "/metrics".into(), Access::Public),
            (Method::GET, "/hello/".into(), Access::Admin),
            (Method::GET, "/volumes".into(), Access::User),
            (Method::POST, "/volumes".into(), Access::User),
            (Method::PUT, "/volumes".into(), Access::User),
            (Method::HEAD, "/volumes".into(), Access::User),
            (Method::GET, "/volumes/".into(), Access::Admin),
            (Method::GET, format!("/volumes/{id}"), Access::User),
            (Method::HEAD, format!("/volumes/{id}"), Access::Admin),
            (Method::DELETE, format!("/volumes/{id}"), Access::Admin),
            (Method::POST, format!("/volumes/{id}/expand"), Access::Admin),
            (Method::GET, format!("/queue/{id}"), Access::User),
            (Method::DELETE, format!("/queue/{id}"), Access::User),
            (Method::HEAD, format!("/queue/{id}"), Access::User),
            (Method::GET, "/queue/xyz".into(), Access::Admin),
            (Method::GET, format!("/queue/{id}/"), Access::Admin),
            (Method::GET, "/clusters".into(), Access::Admin),
            (Method::GET, "/admin".into(), Access::Admin),
            (Method::GET, "/nothing".into(), Access::Admin),
            (Method::GET, "/".into(), Access::Admin),
        ];
        for (m, p, want) in cases {
            assert_eq!(access(m, p), *want, "{m} {p}");
        }
        // Only the three user endpoints and the two public ones differ from admin.
        let open: Vec<_> = ROUTES
            .iter()
            .filter(|e| e.access != Access::Admin)
            .map(|e| format!("{:?} {}", e.verb, e.pattern))
            .collect();
        assert_eq!(
            open,
            [
                "Get /hello",
                "Get /metrics",
                "Get /queue/{id}",
                "Post /volumes",
                "Get /volumes",
                "Get /volumes/{id}"
            ]
        );
    }
}
