//! `cargo run --release -p heqet-bench`: heqet's performance figures with the mock executor,
//! on the topology of issue 2 (100 nodes x 10 devices x 1 TiB). The server runs as a child
//! process (this same binary, `server` subcommand) so its memory and start-up are its own.
//! Prints numbers; asserts nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "heqet benchmarks (mock executor)")]
struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Nodes in the benchmark topology.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Devices per node.
    #[arg(long, default_value_t = 10)]
    devices: usize,
    /// Volumes in the store for the read benchmarks.
    #[arg(long, default_value_t = 10_000)]
    volumes: usize,
    /// Creates measured at concurrency 1.
    #[arg(long, default_value_t = 500)]
    serial_creates: usize,
    /// Creates measured at concurrency 32.
    #[arg(long, default_value_t = 5_000)]
    parallel_creates: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Internal: run the server (child process of the benchmark).
    Server {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        port: u16,
    },
}

fn main() {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = match &args.cmd {
        Some(Cmd::Server { db, port }) => rt.block_on(serve(db, *port)),
        None => rt.block_on(bench(&args)),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn serve(db: &Path, port: u16) -> Result<(), String> {
    let mut cfg = heqet_server::Config::for_test(db);
    cfg.port = port;
    cfg.mock_device_size_gib = 1024;
    cfg.max_volumes_per_cluster = -1;
    let running = heqet_server::start(cfg).await.map_err(|e| e.to_string())?;
    println!("ready {}", running.addr());
    // Runs until the benchmark kills it.
    std::future::pending::<()>().await;
    Ok(())
}

struct ServerProcess {
    child: Child,
    url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Start the server child; returns it once `/hello` answers, and how long that took.
async fn spawn_server(db: &Path, http: &Client) -> Result<(ServerProcess, Duration), String> {
    let port = free_port()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let child = Command::new(exe)
        .args(["server", "--db"])
        .arg(db)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let server = ServerProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..20_000 {
        if let Ok(r) = http.get(format!("{}/hello", server.url)).send().await {
            if r.status() == StatusCode::OK {
                return Ok((server, started.elapsed()));
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    Err("server did not answer /hello within 10 s".into())
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn send(
    http: &Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<reqwest::Response, String> {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    req.send().await.map_err(|e| format!("{url}: {e}"))
}

/// POST then poll the queue entry to its end; returns the final Location.
async fn run_async(
    http: &Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> Result<String, String> {
    let r = send(http, method, &format!("{base}{path}"), Some(body)).await?;
    if r.status() != StatusCode::ACCEPTED {
        let st = r.status();
        return Err(format!(
            "{path}: {st}: {}",
            r.text().await.unwrap_or_default()
        ));
    }
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location")?
        .to_string();
    let mut wait = Duration::from_micros(200);
    loop {
        let p = send(http, reqwest::Method::GET, &format!("{base}{loc}"), None).await?;
        match p.status() {
            StatusCode::OK => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(20));
            }
            StatusCode::SEE_OTHER => {
                return Ok(p
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string())
            }
            StatusCode::NO_CONTENT => return Ok(String::new()),
            s => {
                return Err(format!(
                    "{loc}: {s}: {}",
                    p.text().await.unwrap_or_default()
                ))
            }
        }
    }
}

async fn load_topology(
    http: &Client,
    base: &str,
    nodes: usize,
    devices: usize,
) -> Result<(), String> {
    let c: Value = send(
        http,
        reqwest::Method::POST,
        &format!("{base}/clusters"),
        Some(&json!({"file": true, "block": true})),
    )
    .await?
    .json()
    .await
    .map_err(|e| e.to_string())?;
    let cid = c["id"].as_str().ok_or("no cluster id")?.to_string();
    let mut tasks = Vec::new();
    for i in 0..nodes {
        let (http, base, cid) = (http.clone(), base.to_string(), cid.clone());
        tasks.push(tokio::spawn(async move {
            let host = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256 + 1);
            let loc = run_async(&http, &base, reqwest::Method::POST, "/nodes",
                &json!({"zone": (i % 4) + 1, "cluster": cid, "hostnames": {"manage": [host], "storage": [host]}})).await?;
            let node = loc.trim_start_matches("/nodes/").to_string();
            for d in 0..devices {
                run_async(&http, &base, reqwest::Method::POST, "/devices",
                    &json!({"node": node, "name": format!("/dev/disk{d}")})).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// `count` creates of 1 GiB replica-3 volumes with `concurrency` clients; returns
/// (seconds, created ids).
async fn creates(
    http: &Client,
    base: &str,
    count: usize,
    concurrency: usize,
) -> Result<(f64, Vec<String>), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, base, next) = (http.clone(), base.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let body = json!({"size": 1, "durability": {"type": "replicate", "replicate": {"replica": 3}}});
            while next.fetch_add(1, Ordering::SeqCst) < count {
                let loc = run_async(&http, &base, reqwest::Method::POST, "/volumes", &body).await?;
                ids.push(loc.trim_start_matches("/volumes/").to_string());
            }
            Ok::<Vec<String>, String>(ids)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok((started.elapsed().as_secs_f64(), all))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn bench(a: &Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("heqet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join("bench.db");
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let result = bench_in(a, &db, &http).await;
    if std::env::var_os("HEQET_BENCH_KEEP").is_some() {
        println!("database kept: {}", db.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn bench_in(a: &Args, db: &Path, http: &Client) -> Result<(), String> {
    let (server, _) = spawn_server(db, http).await?;
    let base = server.url.clone();
    println!(
        "heqet benchmark: mock executor, {} nodes x {} devices x 1 TiB, SQLite {}",
        a.nodes,
        a.devices,
        db.display()
    );
    let t = Instant::now();
    load_topology(http, &base, a.nodes, a.devices).await?;
    println!(
        "topology load ({} node adds, {} device adds): {:.2} s",
        a.nodes,
        a.nodes * a.devices,
        t.elapsed().as_secs_f64()
    );

    let (secs, _) = creates(http, &base, a.serial_creates, 1).await?;
    println!(
        "volume create, 3-way replicate 1 GiB, concurrency 1:  {:>8.1} creates/s ({} in {:.2} s)",
        a.serial_creates as f64 / secs,
        a.serial_creates,
        secs
    );
    let (secs, _) = creates(http, &base, a.parallel_creates, 32).await?;
    println!(
        "volume create, 3-way replicate 1 GiB, concurrency 32: {:>8.1} creates/s ({} in {:.2} s)",
        a.parallel_creates as f64 / secs,
        a.parallel_creates,
        secs
    );

    let have = a.serial_creates + a.parallel_creates;
    if a.volumes > have {
        creates(http, &base, a.volumes - have, 32).await?;
    }
    let ids: Vec<String> = send(http, reqwest::Method::GET, &format!("{base}/volumes"), None)
        .await?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())?["volumes"]
        .as_array()
        .ok_or("no volume list")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    println!("volumes in the store: {}", ids.len());

    let mut lat = Vec::with_capacity(5000);
    for i in 0..5000 {
        let id = &ids[(i * 7919) % ids.len()];
        let t = Instant::now();
        let r = send(
            http,
            reqwest::Method::GET,
            &format!("{base}/volumes/{id}"),
            None,
        )
        .await?;
        let st = r.status();
        r.bytes().await.map_err(|e| e.to_string())?;
        lat.push(t.elapsed());
        if st != StatusCode::OK {
            return Err(format!("GET /volumes/{id}: {st}"));
        }
    }
    lat.sort();
    println!(
        "GET /volumes/{{id}} ({} volumes, 5000 requests): p50 {:.3} ms, p99 {:.3} ms",
        ids.len(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );

    let mut topo = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = send(
            http,
            reqwest::Method::GET,
            &format!("{base}/topology"),
            None,
        )
        .await?;
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        topo.push((t.elapsed(), body.len()));
    }
    topo.sort();
    println!(
        "GET /topology ({} volumes): median {:.1} ms, best {:.1} ms, {} bytes",
        ids.len(),
        topo[topo.len() / 2].0.as_secs_f64() * 1e3,
        topo[0].0.as_secs_f64() * 1e3,
        topo[0].1
    );

    let pid = server.child.id();
    println!(
        "server resident memory after the above: {} MiB",
        rss_kib(pid).unwrap_or(0) / 1024
    );
    drop(server);

    let mut starts = Vec::new();
    let mut rss_after_load = 0;
    for _ in 0..5 {
        let (server, took) = spawn_server(db, http).await?;
        starts.push(took);
        // Touch every volume once, so memory reflects a server that has served them all.
        let r = send(
            http,
            reqwest::Method::GET,
            &format!("{}/topology", server.url),
            None,
        )
        .await?;
        r.bytes().await.map_err(|e| e.to_string())?;
        rss_after_load = rss_kib(server.child.id()).unwrap_or(0);
    }
    starts.sort();
    println!("start-up on that database (process start to first /hello answer): median {:.0} ms, best {:.0} ms",
        starts[starts.len() / 2].as_secs_f64() * 1e3, starts[0].as_secs_f64() * 1e3);
    println!(
        "resident memory of a fresh server after loading all {} volumes (GET /topology): {} MiB",
        ids.len(),
        rss_after_load / 1024
    );
    Ok(())
}
