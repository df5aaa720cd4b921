//! JWT authentication and the user role, through HTTP.

mod common;

use std::sync::Arc;

use common::TestServer;
use heqet_executor::mock::MockExecutor;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::config(dir.path());
    cfg.use_auth = true;
    cfg.jwt_admin_key = "adminsecret".into();
    cfg.jwt_user_key = "usersecret".into();
    TestServer::start_with(dir, cfg, Arc::new(MockExecutor::default())).await
}

#[tokio::test]
async fn tokens_are_checked() {
    let mut s = server().await;
    // Unauthenticated routes.
    s.auth = None;
    assert_eq!(s.get("/hello").await.status, StatusCode::OK);
    assert_eq!(s.get("/metrics").await.status, StatusCode::OK);
    let r = s.get("/clusters").await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::UNAUTHORIZED,
            "Required authorization token not found"
        )
    );
    // Auth comes before routing: unknown paths are 401 too.
    assert_eq!(s.get("/nothing").await.status, StatusCode::UNAUTHORIZED);
    let r = s
        .http
        .get(format!("{}/clusters", s.url))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await.unwrap(),
        "Authorization header format must be Bearer {token}\n"
    );

    s.auth = Some(("admin".into(), "wrong".into()));
    let r = s.get("/clusters").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.text(),
        "Invalid JWT token: signature is invalid (client and server secrets may not match)"
    );

    // A token for another path fails the qsh check.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = heqet_api::jwt::client_token("admin", "adminsecret", "GET", "/volumes", now).unwrap();
    let r = s
        .http
        .get(format!("{}/clusters", s.url))
        .header("Authorization", format!("bearer {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await.unwrap(), "Invalid qsh claim in token\n");

    s.auth = Some(("admin".into(), "adminsecret".into()));
    assert_eq!(s.get("/clusters").await.status, StatusCode::OK);
}

#[tokio::test]
async fn user_role_reaches_only_its_volumes() {
    let mut s = server().await;
    s.auth = Some(("admin".into(), "adminsecret".into()));
    s.topology(3, 1, 1).await;
    let admin_vol = s.create_volume_ok(json!({"size": 1})).await;

    s.auth = Some(("user".into(), "usersecret".into()));
    let r = s.get("/clusters").await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::UNAUTHORIZED, "Administrator access required")
    );
    assert_eq!(s.get("/volumes/").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/volumes").await.status, StatusCode::OK);
    // The user can follow its own create to the end (heketi's user could not).
    let r = s
        .run(Method::POST, "/volumes", Some(json!({"size": 1})))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let v = s.get(r.header("location").unwrap()).await;
    assert_eq!(v.status, StatusCode::OK);
    // But not the admin's volume, nor deletes.
    let r = s
        .get(&format!("/volumes/{}", admin_vol["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = s
        .delete(&format!("/volumes/{}", v.json()["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Nor an admin's queue entry.
    s.auth = Some(("admin".into(), "adminsecret".into()));
    let r = s.post("/clusters", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = s
        .raw(
            Method::POST,
            "/volumes",
            Some(&json!({"size": 1}).to_string()),
        )
        .await;
    let loc = r.header("location").unwrap().to_string();
    s.auth = Some(("user".into(), "usersecret".into()));
    assert_eq!(s.get(&loc).await.status, StatusCode::UNAUTHORIZED);
}
