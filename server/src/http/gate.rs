//! The request gate, in heketi's order (docs/heketi-api.md §2): public routes pass untouched, then
//! authentication, the role check from the route table, and the admin mode. It answers for
//! unknown paths too, so a client without a valid token learns nothing from a 404.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::route_table::Access;
use super::{routes, AppState, SharedState};
use crate::auth::{self, Role};
use crate::error::ApiError;

pub async fn gate(State(st): State<SharedState>, mut req: Request, next: Next) -> Response {
    let access = routes::access(req.method(), req.uri().path());
    if access == Access::Public {
        return next.run(req).await;
    }
    let role = match authenticate(&st, &req) {
        Ok(role) => role,
        Err(e) => return e.into_response(),
    };
    if !access.admits(role) {
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

/// The caller's role from its JWT; with auth off everyone is admin.
fn authenticate(st: &AppState, req: &Request) -> Result<Role, ApiError> {
    let Some(keys) = &st.keys else {
        return Ok(Role::Admin);
    };
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (method, path) = (req.method().as_str(), req.uri().path());
    auth::verify(authz, method, path, keys, crate::model::now_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use heqet_executor::mock::MockExecutor;
    use reqwest::{Method, StatusCode};

    use crate::{Config, Running};

    struct Server {
        _dir: tempfile::TempDir,
        running: Running,
        http: reqwest::Client,
    }

    async fn server() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::for_test(&dir.path().join("t.db"));
        cfg.use_auth = true;
        cfg.jwt_admin_key = "adminkey".into();
        cfg.jwt_user_key = "userkey".into();
        let running = crate::start_with(cfg, Arc::new(MockExecutor::default()), None)
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            _dir: dir,
            running,
            http,
        }
    }

    impl Server {
        /// `(status, body)` of `method path` signed as `who` (`None`: no token).
        async fn send(
            &self,
            who: Option<&str>,
            method: Method,
            path: &str,
            body: &str,
        ) -> (StatusCode, String) {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.running.url()))
                .body(body.to_string());
            if let Some(who) = who {
                let key = if who == "admin" {
                    "adminkey"
                } else {
                    "userkey"
                };
                let now = crate::model::now_secs();
                let t = heqet_api::jwt::client_token(who, key, method.as_str(), path, now).unwrap();
                req = req.header("Authorization", format!("bearer {t}"));
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            (status, r.text().await.unwrap())
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    /// Who signs (`None`: no token), method, path, and the `(status, body)` expected.
    type Case<'a> = (Option<&'a str>, Method, &'a str, (StatusCode, String));

    fn text(status: StatusCode, body: &str) -> (StatusCode, String) {
        (status, format!("{body}\n"))
    }

    fn bare(status: StatusCode) -> (StatusCode, String) {
        (status, String::new())
    }

    #[tokio::test]
    async fn auth_then_role_then_routing() {
        let s = server().await;
        let no_token = text(
            StatusCode::UNAUTHORIZED,
            "Required authorization token not found",
        );
        let admin_only = text(StatusCode::UNAUTHORIZED, "Administrator access required");
        let invalid = text(StatusCode::NOT_FOUND, "Invalid path or request");
        let not_found = text(StatusCode::NOT_FOUND, "Id not found");
        let vol = format!("/volumes/{ID}");
        let queue = format!("/queue/{ID}");
        let slash_vol = format!("//volumes/{ID}");
        let cases: Vec<Case> = vec![
            // Public routes: no token needed, any method reaches the router.
            (
                None,
                Method::GET,
                "/hello",
                (StatusCode::OK, "Hello from Heketi".into()),
            ),
            (
                None,
                Method::POST,
                "/hello",
                bare(StatusCode::METHOD_NOT_ALLOWED),
            ),
            // Authentication before routing: unknown paths and redirects are 401 first.
            (None, Method::GET, "/nothing", no_token.clone()),
            (None, Method::GET, "/hello/", no_token.clone()),
            (None, Method::GET, "/clusters", no_token),
            // The role check before routing, for unknown paths too.
            (Some("user"), Method::GET, "/nothing", admin_only.clone()),
            (Some("user"), Method::GET, "/clusters", admin_only.clone()),
            (Some("user"), Method::GET, "/volumes/", admin_only.clone()),
            (
                Some("user"),
                Method::GET,
                "/volumes/xyz",
                admin_only.clone(),
            ),
            (Some("user"), Method::DELETE, &vol, admin_only.clone()),
            (
                Some("user"),
                Method::HEAD,
                &vol,
                bare(StatusCode::UNAUTHORIZED),
            ),
            (Some("user"), Method::PUT, &vol, admin_only.clone()),
            // Not a route (an empty first segment), though it ends like one.
            (Some("user"), Method::GET, &slash_vol, admin_only.clone()),
            // What a user may reach: the handler answers (owner checks are its job).
            (
                Some("user"),
                Method::GET,
                "/volumes",
                (StatusCode::OK, "{\"volumes\":[]}\n".into()),
            ),
            (
                Some("user"),
                Method::PUT,
                "/volumes",
                bare(StatusCode::METHOD_NOT_ALLOWED),
            ),
            (Some("user"), Method::GET, &vol, not_found.clone()),
            (Some("user"), Method::GET, &queue, not_found.clone()),
            (
                Some("user"),
                Method::DELETE,
                &queue,
                bare(StatusCode::METHOD_NOT_ALLOWED),
            ),
            // Admin: the router's answers.
            (Some("admin"), Method::GET, "/nothing", invalid.clone()),
            (Some("admin"), Method::GET, "/clusters/xyz", invalid),
            (
                Some("admin"),
                Method::GET,
                "/clusters/",
                bare(StatusCode::MOVED_PERMANENTLY),
            ),
            (
                Some("admin"),
                Method::PUT,
                "/clusters",
                bare(StatusCode::METHOD_NOT_ALLOWED),
            ),
            (Some("admin"), Method::GET, &vol, not_found),
        ];
        for (who, method, path, want) in cases {
            let got = s.send(who, method.clone(), path, "").await;
            assert_eq!(got, want, "{who:?} {method} {path}");
        }
        s.running.stop().await;
    }

    #[tokio::test]
    async fn admin_mode_after_auth_and_role_before_routing() {
        let s = server().await;
        let bad = s
            .send(
                Some("admin"),
                Method::POST,
                "/admin",
                r#"{"state":"bogus"}"#,
            )
            .await;
        assert_eq!(
            bad,
            text(
                StatusCode::BAD_REQUEST,
                "validation failed: state: bogus is not a valid state."
            )
        );
        // An unknown mode changed nothing.
        let mode = s.send(Some("admin"), Method::GET, "/admin", "").await;
        assert_eq!(mode, (StatusCode::OK, "{\"state\":\"normal\"}\n".into()));
        let set = s
            .send(
                Some("admin"),
                Method::POST,
                "/admin",
                r#"{"state":"read-only"}"#,
            )
            .await;
        assert_eq!(set.0, StatusCode::NO_CONTENT);
        let maintenance = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service disabled for maintenance",
        );
        let cases: Vec<Case> = vec![
            (
                None,
                Method::POST,
                "/clusters",
                text(
                    StatusCode::UNAUTHORIZED,
                    "Required authorization token not found",
                ),
            ),
            (
                Some("user"),
                Method::POST,
                "/clusters",
                text(StatusCode::UNAUTHORIZED, "Administrator access required"),
            ),
            (Some("user"), Method::POST, "/volumes", maintenance.clone()),
            (Some("admin"), Method::POST, "/nothing", maintenance.clone()),
            (Some("admin"), Method::POST, "/admin", maintenance),
            (
                Some("admin"),
                Method::GET,
                "/admin",
                (StatusCode::OK, "{\"state\":\"read-only\"}\n".into()),
            ),
            (
                None,
                Method::POST,
                "/hello",
                bare(StatusCode::METHOD_NOT_ALLOWED),
            ),
        ];
        for (who, method, path, want) in cases {
            let got = s.send(who, method.clone(), path, "{}").await;
            assert_eq!(got, want, "{who:?} {method} {path}");
        }
        s.running.stop().await;
    }
}
