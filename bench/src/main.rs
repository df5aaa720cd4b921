//! `cargo run --release -p heqet-bench`: heqet's performance figures with the mock executor,
//! on the topology of issue 2 (100 nodes x 10 devices x 1 TiB). The server runs as a child
//! process (this same binary, `server` subcommand) so its memory and start-up are its own.
//! Prints numbers; asserts nothing.
//!
//! `cargo run --release -p heqet-bench -- csi`: heqet-csi's controller instead, in-process on
//! a unix socket and spoken to over gRPC, against the same server child: CreateVolume latency
//! next to the same create straight on the REST API, and a burst of concurrent CreateVolume.

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
    /// heqet-csi's controller (in-process, on a unix socket) against the server child, on
    /// the topology of --nodes and --devices.
    Csi(CsiArgs),
}

#[derive(clap::Args)]
struct CsiArgs {
    /// Creates measured at concurrency 1, each way (CSI and straight REST).
    #[arg(long, default_value_t = 200)]
    creates: usize,
    /// CreateVolume calls started at once (the external-provisioner's default worker count).
    #[arg(long, default_value_t = 100)]
    concurrent: usize,
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
        Some(Cmd::Csi(c)) => rt.block_on(csi::bench(&args, c)),
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

fn http_client() -> Result<Client, String> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())
}

async fn bench(a: &Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("heqet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join("bench.db");
    let http = http_client()?;
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

/// The `csi` benchmark.
mod csi {
    use std::collections::HashSet;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use heqet_api::client::{Client as RestClient, ClientOptions, TlsOptions};
    use heqet_api::types::{
        ReplicaDurability, VolumeCreateRequest, VolumeDurabilityInfo, VolumeSnapshot,
    };
    use heqet_csi::controller::servers::Defaults;
    use heqet_csi::controller::ControllerService;
    use heqet_csi::identity::{AlwaysReady, IdentityService, DEFAULT_DRIVER_NAME};
    use heqet_csi::proto::csi::v1 as proto;
    use heqet_csi::proto::csi::v1::controller_client::ControllerClient;
    use heqet_csi::server::Absent;
    use tonic::transport::Channel;

    use super::{load_topology, percentile, spawn_server, Args, CsiArgs};

    const GIB: i64 = 1 << 30;

    pub async fn bench(a: &Args, c: &CsiArgs) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("heqet-bench-csi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let result = bench_in(a, c, &dir).await;
        if std::env::var_os("HEQET_BENCH_KEEP").is_some() {
            println!("kept: {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    /// A 1 GiB replica-3 RWX CreateVolume, as the external-provisioner sends it.
    fn create_request(name: String) -> proto::CreateVolumeRequest {
        use proto::volume_capability::{access_mode::Mode, AccessMode, AccessType, MountVolume};
        proto::CreateVolumeRequest {
            name,
            capacity_range: Some(proto::CapacityRange {
                required_bytes: GIB,
                limit_bytes: 0,
            }),
            volume_capabilities: vec![proto::VolumeCapability {
                access_mode: Some(AccessMode {
                    mode: Mode::MultiNodeMultiWriter as i32,
                }),
                access_type: Some(AccessType::Mount(MountVolume::default())),
            }],
            ..Default::default()
        }
    }

    /// The same volume straight on the REST API: what heqet-csi sends, minus its lookups.
    fn rest_request(name: String, gid: i64) -> VolumeCreateRequest {
        VolumeCreateRequest {
            size: 1,
            name: name.clone(),
            durability: VolumeDurabilityInfo {
                kind: "replicate".into(),
                replicate: ReplicaDurability { replica: 3 },
                ..Default::default()
            },
            gid,
            // Same shape as heqet-csi's request, but not its marker: these stay foreign.
            glustervolumeoptions: vec![format!("user.bench {name}")],
            snapshot: VolumeSnapshot {
                enable: true,
                factor: 1.0,
            },
            ..Default::default()
        }
    }

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1e3
    }

    async fn bench_in(a: &Args, c: &CsiArgs, dir: &Path) -> Result<(), String> {
        let http = super::http_client()?;
        let (server, _) = spawn_server(&dir.join("bench.db"), &http).await?;
        let url = server.url.clone();
        println!(
            "heqet-csi benchmark: controller in-process on a unix socket, heqet serve child with the mock executor, {} nodes x {} devices x 1 TiB",
            a.nodes, a.devices
        );
        load_topology(&http, &url, a.nodes, a.devices).await?;

        let controller = ControllerService::new(Defaults {
            url: Some(url.clone()),
            user: "admin".into(),
            key: None,
        })
        .map_err(|e| format!("controller: {e}"))?;
        let socket = dir.join("csi.sock");
        let bound = heqet_csi::server::bind(&format!("unix://{}", socket.display()))
            .await
            .map_err(|e| e.to_string())?;
        let identity = IdentityService::new(DEFAULT_DRIVER_NAME, true, AlwaysReady);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving =
            tokio::spawn(
                bound.serve(identity, Some(controller), None::<Absent>, async {
                    let _ = stopped.await;
                }),
            );
        let channel = heqet_csi::client::connect(&socket)
            .await
            .map_err(|e| format!("connect {}: {e}", socket.display()))?;
        let mut grpc = ControllerClient::new(channel);
        // The controller's own REST client polls every 200 ms; the direct one does too.
        let rest = RestClient::with_options(
            &url,
            "admin",
            "",
            &TlsOptions::default(),
            ClientOptions {
                poll_interval: Duration::from_millis(200),
                ..ClientOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;

        let result = measure(c, &mut grpc, &rest).await;
        let _ = stop.send(());
        match serving.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(e.to_string()),
        }
        drop(server);
        result
    }

    /// The volume ids the REST server lists.
    async fn volume_ids(rest: &RestClient) -> Result<HashSet<String>, String> {
        Ok(rest
            .volume_list()
            .await
            .map_err(|e| e.to_string())?
            .volumes
            .into_iter()
            .collect())
    }

    async fn csi_create(
        grpc: &mut ControllerClient<Channel>,
        name: String,
    ) -> Result<proto::Volume, String> {
        let what = format!("CreateVolume {name}");
        grpc.create_volume(create_request(name))
            .await
            .map_err(|s| format!("{what}: {:?}: {}", s.code(), s.message()))?
            .into_inner()
            .volume
            .ok_or(format!("{what}: no volume in the answer"))
    }

    async fn measure(
        c: &CsiArgs,
        grpc: &mut ControllerClient<Channel>,
        rest: &RestClient,
    ) -> Result<(), String> {
        // Warm-up: connections, the controller's first index scan.
        csi_create(grpc, "warmup-csi".into()).await?;
        rest.volume_create(&rest_request("warmup-rest".into(), 1_000_000))
            .await
            .map_err(|e| format!("REST create: {e}"))?;

        // (a) Alternating, so both see the same store size and server state.
        let mut csi_lat = Vec::with_capacity(c.creates);
        let mut rest_lat = Vec::with_capacity(c.creates);
        for i in 0..c.creates {
            let t = Instant::now();
            rest.volume_create(&rest_request(format!("rest-{i}"), 1_000_001 + i as i64))
                .await
                .map_err(|e| format!("REST create rest-{i}: {e}"))?;
            rest_lat.push(t.elapsed());
            let t = Instant::now();
            csi_create(grpc, format!("pvc-serial-{i}")).await?;
            csi_lat.push(t.elapsed());
        }
        csi_lat.sort();
        rest_lat.sort();
        let (c50, c99) = (percentile(&csi_lat, 0.50), percentile(&csi_lat, 0.99));
        let (r50, r99) = (percentile(&rest_lat, 0.50), percentile(&rest_lat, 0.99));
        let overhead = |csi: Duration, rest: Duration| {
            (csi.as_secs_f64() - rest.as_secs_f64()) / rest.as_secs_f64() * 100.0
        };
        println!(
            "create -> ready, 3-way replicate 1 GiB, concurrency 1, {} creates each:",
            c.creates
        );
        println!(
            "  REST volume_create (POST /volumes + /queue + GET):  p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(r50),
            ms(r99)
        );
        println!(
            "  heqet-csi CreateVolume (gRPC -> controller -> REST): p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(c50),
            ms(c99)
        );
        println!(
            "  overhead of heqet-csi: p50 {:+.2} ms ({:+.1} %), p99 {:+.2} ms ({:+.1} %)",
            ms(c50) - ms(r50),
            overhead(c50, r50),
            ms(c99) - ms(r99),
            overhead(c99, r99)
        );

        // CreateVolume with no other creator: the controller's name lookup then lists the
        // volume ids but fetches no new volume.
        let mut alone = Vec::with_capacity(c.creates);
        for i in 0..c.creates {
            let t = Instant::now();
            csi_create(grpc, format!("pvc-alone-{i}")).await?;
            alone.push(t.elapsed());
        }
        alone.sort();
        // And REST creates back to back, on a store of the same size, to show the drift.
        let mut rest_alone = Vec::with_capacity(c.creates);
        for i in 0..c.creates {
            let t = Instant::now();
            rest.volume_create(&rest_request(
                format!("rest-alone-{i}"),
                3_000_000 + i as i64,
            ))
            .await
            .map_err(|e| format!("REST create rest-alone-{i}: {e}"))?;
            rest_alone.push(t.elapsed());
        }
        rest_alone.sort();
        println!(
            "then {} of each back to back (no other creator between two):",
            c.creates
        );
        println!(
            "  heqet-csi CreateVolume:                              p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(percentile(&alone, 0.50)),
            ms(percentile(&alone, 0.99))
        );
        println!(
            "  REST volume_create:                                  p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(percentile(&rest_alone, 0.50)),
            ms(percentile(&rest_alone, 0.99))
        );

        // What every CreateVolume's name lookup costs at least: one list of all volume ids.
        let mut lists = Vec::with_capacity(50);
        let mut listed = 0;
        for _ in 0..50 {
            let t = Instant::now();
            listed = rest
                .volume_list()
                .await
                .map_err(|e| e.to_string())?
                .volumes
                .len();
            lists.push(t.elapsed());
        }
        lists.sort();
        println!(
            "  GET /volumes ({listed} ids), the lookup each CreateVolume makes: p50 {:.2} ms",
            ms(percentile(&lists, 0.50))
        );

        // (b) A burst, as the external-provisioner's workers send it: one connection.
        let before = volume_ids(rest).await?;
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(c.concurrent);
        for i in 0..c.concurrent {
            let mut g = grpc.clone();
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = csi_create(&mut g, format!("pvc-burst-{i}")).await;
                (r, t.elapsed())
            }));
        }
        let mut ok = 0;
        let mut errors = Vec::new();
        let mut ids = HashSet::new();
        let mut lat = Vec::with_capacity(c.concurrent);
        for t in tasks {
            let (r, took) = t.await.map_err(|e| e.to_string())?;
            lat.push(took);
            match r {
                Ok(v) => {
                    ok += 1;
                    ids.insert(v.volume_id);
                }
                Err(e) => errors.push(e),
            }
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort();
        let after = volume_ids(rest).await?;
        let new: HashSet<&String> = after.difference(&before).collect();
        let mut gids = HashSet::new();
        for id in &ids {
            let info = rest.volume_info(id).await.map_err(|e| e.to_string())?;
            gids.insert(info.gid);
        }
        println!(
            "{} concurrent CreateVolume (one gRPC connection): all done in {:.2} s, {:.1} creates/s, {}/{} succeeded; per call p50 {:.0} ms, max {:.0} ms; {} new heketi volumes, {} distinct gids",
            c.concurrent,
            secs,
            c.concurrent as f64 / secs,
            ok,
            c.concurrent,
            ms(percentile(&lat, 0.5)),
            ms(lat.last().copied().unwrap_or_default()),
            new.len(),
            gids.len()
        );
        for e in errors.iter().take(5) {
            println!("  failed: {e}");
        }

        // The same burst straight on the REST API, for comparison.
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(c.concurrent);
        for i in 0..c.concurrent {
            let rest = rest.clone();
            tasks.push(tokio::spawn(async move {
                rest.volume_create(&rest_request(
                    format!("rest-burst-{i}"),
                    2_000_000 + i as i64,
                ))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            }));
        }
        let mut rest_ok = 0;
        for t in tasks {
            if t.await.map_err(|e| e.to_string())?.is_ok() {
                rest_ok += 1;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{} concurrent REST volume_create, for comparison: all done in {:.2} s, {:.1} creates/s, {}/{} succeeded",
            c.concurrent,
            secs,
            c.concurrent as f64 / secs,
            rest_ok,
            c.concurrent
        );
        Ok(())
    }
}
