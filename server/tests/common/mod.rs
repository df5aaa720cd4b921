//! In-process server + a plain HTTP client that does not follow redirects, so tests see the
//! `/queue` protocol exactly as clients do.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use heqet_executor::mock::MockExecutor;
use heqet_server::{Config, Running};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestServer {
    pub running: Option<Running>,
    pub mock: Arc<MockExecutor>,
    pub http: reqwest::Client,
    pub url: String,
    pub dir: tempfile::TempDir,
    /// (user, key) to sign requests with; None = no Authorization header.
    pub auth: Option<(String, String)>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn text(&self) -> &str {
        self.body.trim_end()
    }
}

pub fn config(dir: &std::path::Path) -> Config {
    Config::for_test(&dir.join("heqet.db"))
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        Self::start_with(dir, cfg, Arc::new(MockExecutor::default())).await
    }

    pub async fn start_with(
        dir: tempfile::TempDir,
        cfg: Config,
        mock: Arc<MockExecutor>,
    ) -> TestServer {
        let auth = cfg
            .use_auth
            .then(|| ("admin".to_string(), cfg.jwt_admin_key.clone()));
        let running = heqet_server::start_with(cfg, mock.clone(), None)
            .await
            .expect("server starts");
        let url = running.url();
        TestServer {
            running: Some(running),
            mock,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            url,
            dir,
            auth,
        }
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub async fn raw(&self, method: Method, path: &str, body: Option<&str>) -> Resp {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some((user, key)) = &self.auth {
            let p = path.split('?').next().unwrap_or(path);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let t = heqet_api::jwt::client_token(user, key, method.as_str(), p, now).unwrap();
            req = req.header("Authorization", format!("bearer {t}"));
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let r = req.send().await.expect("request sent");
        Resp {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.raw(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.raw(Method::POST, path, Some(&body.to_string())).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.raw(Method::DELETE, path, None).await
    }

    /// Poll a queue location until it is done; returns the final response.
    pub async fn wait(&self, location: &str) -> Resp {
        for _ in 0..2000 {
            let r = self.get(location).await;
            if r.status == StatusCode::OK && r.header("X-Pending") == Some("true") {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            return r;
        }
        panic!("{location} never finished");
    }

    /// Send an async request, expect 202, wait; returns the final queue response.
    pub async fn run(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let b = body.map(|b| b.to_string());
        let r = self.raw(method, path, b.as_deref()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{path}: {}", r.body);
        let loc = r.header("Location").expect("Location").to_string();
        assert!(loc.starts_with("/queue/"), "{loc}");
        self.wait(&loc).await
    }

    pub async fn create_cluster(&self) -> String {
        let r = self
            .post("/clusters", json!({"block": true, "file": true}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }

    pub async fn add_node(&self, cluster: &str, host: &str, zone: i64) -> String {
        let r = self
            .run(
                Method::POST,
                "/nodes",
                Some(json!({"zone": zone, "cluster": cluster,
                    "hostnames": {"manage": [host], "storage": [host]}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let loc = r.header("Location").unwrap();
        loc.trim_start_matches("/nodes/").to_string()
    }

    pub async fn add_device(&self, node: &str, name: &str) -> String {
        let r = self
            .run(
                Method::POST,
                "/devices",
                Some(json!({"node": node, "name": name})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        let info = self.get(&format!("/nodes/{node}")).await.json();
        info["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A cluster of `nodes` nodes (one zone each, cycling over `zones`) with `devices` each.
    pub async fn topology(&self, nodes: usize, zones: i64, devices: usize) -> String {
        let c = self.create_cluster().await;
        for i in 0..nodes {
            let n = self
                .add_node(
                    &c,
                    &format!("10.0.{}.{}", i / 250, i % 250 + 1),
                    (i as i64 % zones) + 1,
                )
                .await;
            for d in 0..devices {
                self.add_device(&n, &format!("/dev/sd{}", (b'b' + d as u8) as char))
                    .await;
            }
        }
        c
    }

    pub async fn create_volume(&self, body: Value) -> Resp {
        self.run(Method::POST, "/volumes", Some(body)).await
    }

    pub async fn create_volume_ok(&self, body: Value) -> Value {
        let r = self.create_volume(body).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let loc = r.header("Location").unwrap().to_string();
        let v = self.get(&loc).await;
        assert_eq!(v.status, StatusCode::OK);
        v.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Runtime-less drop: the server task ends with the test's runtime.
        self.running.take();
    }
}
