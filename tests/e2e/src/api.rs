//! heketi's REST API as a blocking client that does not follow redirects, so the `/queue`
//! protocol is seen exactly as clients see it (202 + Location, 200 + X-Pending, 303/204/500).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::Value;

use crate::volume::Volume;
use crate::{bail, Context, Error, Result};

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub location: Option<String>,
    pub pending: bool,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).context(format!("body is not JSON: {:?}", self.body))
    }

    /// The id at the end of `Location`.
    pub fn location_id(&self) -> Result<String> {
        let loc = self.location.as_deref().context("no Location header")?;
        loc.rsplit('/')
            .next()
            .map(str::to_string)
            .context(format!("no id in Location {loc}"))
    }

    fn expect(self, status: u16, what: &str) -> Result<Resp> {
        if self.status != status {
            bail!(
                "{what}: expected HTTP {status}, got {}: {}",
                self.status,
                self.body.trim()
            );
        }
        Ok(self)
    }
}

/// A client of one heqet server. Blocking calls over reqwest's async client on a runtime of
/// its own (so the suite needs no other reqwest features than the workspace's); it may be
/// used from several threads at once.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: Client,
    rt: Arc<tokio::runtime::Runtime>,
    /// How long an asynchronous operation may take.
    pub op_timeout: Duration,
}

impl Api {
    pub fn new(base: &str) -> Result<Api> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the HTTP client runtime")?;
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            http,
            rt: Arc::new(rt),
            op_timeout: Duration::from_secs(300),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    pub fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Resp> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        self.rt.block_on(async move {
            let r = req.send().await.context(format!("{method} {path}"))?;
            let header = |name: &str| {
                r.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let location = header("Location");
            let pending = header("X-Pending").as_deref() == Some("true");
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            Ok(Resp {
                status,
                location,
                pending,
                body,
            })
        })
    }

    pub fn get(&self, path: &str) -> Result<Resp> {
        self.request(Method::GET, path, None)
    }

    /// GET that must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        self.get(path)?.expect(200, &format!("GET {path}"))?.json()
    }

    /// Poll a `/queue/<id>` location until the operation is done; returns the final answer
    /// (303 with Location, 204, or an error status with heketi's plain-text message).
    pub fn wait(&self, location: &str) -> Result<Resp> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(20);
        loop {
            let r = self.get(location)?;
            if !(r.status == 200 && r.pending) {
                return Ok(r);
            }
            if start.elapsed() > self.op_timeout {
                bail!("{location} still pending after {:?}", self.op_timeout);
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }

    /// Start an asynchronous operation (expects 202 + Location) and wait for it.
    pub fn run(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Resp> {
        let what = format!("{method} {path}");
        let r = self.request(method, path, body)?.expect(202, &what)?;
        let loc = r
            .location
            .clone()
            .context(format!("{what}: 202 without Location"))?;
        self.wait(&loc).context(what)
    }

    /// `POST /volumes`; the new volume on success, heqet's message otherwise.
    pub fn create_volume(&self, req: &Value) -> Result<Volume> {
        let r = self.run(Method::POST, "/volumes", Some(req))?;
        let r = r.expect(303, &format!("volume create {req}"))?;
        self.volume(&r.location_id()?)
    }

    pub fn volume(&self, id: &str) -> Result<Volume> {
        Volume::from_json(&self.get_json(&format!("/volumes/{id}"))?)
    }

    /// Ids of all volumes.
    pub fn volume_ids(&self) -> Result<Vec<String>> {
        let v = self.get_json("/volumes")?;
        Ok(v["volumes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect())
    }

    /// `DELETE /volumes/<id>` and wait: the final answer (204 on success).
    pub fn delete_volume(&self, id: &str) -> Result<Resp> {
        self.run(Method::DELETE, &format!("/volumes/{id}"), None)
    }

    /// `POST /volumes/<id>/expand`; the volume after expansion.
    pub fn expand_volume(&self, id: &str, gib: u64) -> Result<Volume> {
        let path = format!("/volumes/{id}/expand");
        let r = self.run(
            Method::POST,
            &path,
            Some(&serde_json::json!({ "expand_size": gib })),
        )?;
        r.expect(303, &path)?;
        self.volume(id)
    }

    /// `POST /devices/<id>/state`; the final answer (204 on success).
    pub fn set_device_state(&self, id: &str, state: &str) -> Result<Resp> {
        let path = format!("/devices/{id}/state");
        self.run(
            Method::POST,
            &path,
            Some(&serde_json::json!({ "state": state })),
        )
    }

    /// Delete every volume (best effort reset between scenarios); errors are collected.
    pub fn delete_all_volumes(&self) -> Result<()> {
        let mut errors = Vec::new();
        for id in self.volume_ids()? {
            match self.delete_volume(&id) {
                Ok(r) if r.status == 204 => {}
                Ok(r) => errors.push(format!("{id}: HTTP {} {}", r.status, r.body.trim())),
                Err(e) => errors.push(format!("{id}: {e}")),
            }
        }
        if !errors.is_empty() {
            bail!("deleting leftover volumes: {}", errors.join("; "));
        }
        Ok(())
    }

    /// `GET /db/check`: the total of inconsistencies and the whole report.
    pub fn db_check(&self) -> Result<(u64, Value)> {
        let v = self.get_json("/db/check")?;
        let total = v["totalinconsistencies"]
            .as_u64()
            .context(format!("no totalinconsistencies in {v}"))?;
        Ok((total, v))
    }

    /// Pending operations as `/operations/pending` lists them.
    pub fn pending_operations(&self) -> Result<Vec<Value>> {
        let v = self.get_json("/operations/pending")?;
        Ok(v["pendingoperations"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Every device of the topology: id -> (node id, device JSON).
    pub fn devices(&self) -> Result<HashMap<String, (String, Value)>> {
        let topo = self.get_json("/topology")?;
        let mut map = HashMap::new();
        for c in topo["clusters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            for n in c["nodes"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let node = n["id"].as_str().unwrap_or_default().to_string();
                for d in n["devices"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    let id = d["id"]
                        .as_str()
                        .context(format!("device without id: {d}"))?;
                    map.insert(id.to_string(), (node.clone(), d.clone()));
                }
            }
        }
        Ok(map)
    }

    /// Node id -> storage hostname.
    pub fn node_hosts(&self) -> Result<HashMap<String, String>> {
        let topo = self.get_json("/topology")?;
        let mut map = HashMap::new();
        for c in topo["clusters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            for n in c["nodes"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let id = n["id"].as_str().context(format!("node without id: {n}"))?;
                let host = n["hostnames"]["storage"][0]
                    .as_str()
                    .context(format!("node {id} without storage hostname"))?;
                map.insert(id.to_string(), host.to_string());
            }
        }
        Ok(map)
    }
}

impl From<Resp> for Error {
    fn from(r: Resp) -> Self {
        Error(format!("HTTP {}: {}", r.status, r.body.trim()))
    }
}
