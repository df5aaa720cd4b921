//! Benchmark (printed, not asserted):
//! 1. a replica-3 volume create end to end (POST to 303) vs. the same node commands, taken
//!    from heqet's debug log, run by hand over ssh (one multiplexed connection per node, one
//!    session per command, as heqet does), with heqet's parallelism: the brick commands of
//!    the three nodes side by side (one thread per node), the gluster commands one after the
//!    other. heqet's overhead = its end-to-end time - the wall time of that replay. (The
//!    serial sum is printed too; on 2 cores, parallel node commands slow each other down.)
//! 2. whether creates on disjoint nodes run in parallel: two single-brick volumes pinned to
//!    node 1 and node 2 by node tags, alone and at the same time; the verdict comes from
//!    heqet's log (do the two nodes' command spans overlap?), since on 2 cores the wall time
//!    of two parallel creates is close to the sum anyway.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use heqet_e2e::bench::{logged_commands, ms, overlap, span, LoggedCommand, SshMux};
use heqet_e2e::{ensure, Result};
use reqwest::Method;
use serde_json::json;

use super::{replica3, Suite};

/// Lines printed in the suite summary.
pub static REPORT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Print a benchmark line and keep it for the suite summary.
pub fn report(line: String) {
    eprintln!("[e2e] bench: {line}");
    if let Ok(mut r) = REPORT.lock() {
        r.push(format!("bench: {line}"));
    }
}

/// Run `f`; return its result with its wall time and the node commands heqet logged
/// meanwhile.
pub fn timed_with_commands<T>(
    suite: &Suite,
    f: impl FnOnce() -> Result<T>,
) -> Result<(T, Duration, Vec<LoggedCommand>)> {
    let offset = suite.server.log_len();
    let start = Instant::now();
    let v = f()?;
    let took = start.elapsed();
    // The log line of the last command may trail the answer by a moment.
    std::thread::sleep(Duration::from_millis(200));
    let cmds = logged_commands(&suite.server.log_since(offset)?);
    Ok((v, took, cmds))
}

/// Create a volume, return it with the wall time and the node commands heqet logged for it.
fn timed_create(
    suite: &Suite,
    req: serde_json::Value,
) -> Result<(heqet_e2e::volume::Volume, Duration, Vec<LoggedCommand>)> {
    timed_with_commands(suite, || suite.api.create_volume(&req))
}

fn delete_commands(suite: &Suite, vol: &heqet_e2e::volume::Volume) -> Result<Vec<LoggedCommand>> {
    let offset = suite.server.log_len();
    suite.delete_checked(vol)?;
    std::thread::sleep(Duration::from_millis(200));
    Ok(logged_commands(&suite.server.log_since(offset)?))
}

/// Run one command by hand; it must end as it did under heqet.
fn replay_one(mux: &SshMux, c: &LoggedCommand) -> Result<Duration> {
    let (took, status) = mux.time(&c.host, &c.command)?;
    ensure!(
        status == c.status,
        "{}: `{}` exited {status} by hand, {} under heqet",
        c.host,
        c.command,
        c.status
    );
    Ok(took)
}

/// Run a batch of node commands by hand: each node's commands in order, nodes side by side.
fn replay_parallel(mux: &SshMux, batch: &[LoggedCommand]) -> Result<Vec<Duration>> {
    let mut per_host: BTreeMap<&str, Vec<&LoggedCommand>> = BTreeMap::new();
    for c in batch {
        per_host.entry(&c.host).or_default().push(c);
    }
    let results: Vec<Result<Vec<Duration>>> = std::thread::scope(|s| {
        let handles: Vec<_> = per_host
            .values()
            .map(|cmds| s.spawn(move || cmds.iter().map(|c| replay_one(mux, c)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(heqet_e2e::Error("replay thread panicked".into())))
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Replay `cmds` with heqet's parallelism: runs of non-gluster commands per node side by
/// side, gluster commands one by one. Returns (wall time, sum of the command times).
fn replay(mux: &SshMux, cmds: &[LoggedCommand]) -> Result<(Duration, Duration)> {
    let start = Instant::now();
    let mut sum = Duration::ZERO;
    let mut batch: Vec<LoggedCommand> = Vec::new();
    for c in cmds {
        if c.command.starts_with("gluster ") {
            sum += replay_parallel(mux, &batch)?.iter().sum::<Duration>();
            batch.clear();
            sum += replay_one(mux, c)?;
        } else {
            batch.push(c.clone());
        }
    }
    sum += replay_parallel(mux, &batch)?.iter().sum::<Duration>();
    Ok((start.elapsed(), sum))
}

fn overhead(suite: &Suite) -> Result<()> {
    let (vol, e2e, cmds) = timed_create(suite, replica3(1))?;
    ensure!(!cmds.is_empty(), "no node commands in heqet's debug log");
    let heqet_sum: u64 = cmds.iter().map(|c| c.elapsed_ms).sum();
    let del = delete_commands(suite, &vol)?;

    let hosts: Vec<String> = {
        let mut h: Vec<String> = cmds.iter().map(|c| c.host.clone()).collect();
        h.sort();
        h.dedup();
        h
    };
    let mux = SshMux::open(
        suite.cluster.ssh_opts()?,
        suite.cluster.env("HEQET_E2E_SSH_USER")?,
        &suite.work.join("ssh"),
        &hosts,
    )?;
    let (wall, by_hand) = replay(&mux, &cmds)?;
    // Undo by hand with heqet's own delete commands, then check the nodes.
    let (del_wall, _) = replay(&mux, &del)?;
    heqet_e2e::node::all_clean(&suite.cluster)?;

    let over = e2e.as_secs_f64() - wall.as_secs_f64();
    report(format!(
        "replica-3 1 GiB create, {} node commands: heqet end to end {}; the same commands by hand \
         over ssh: {} wall with heqet's parallelism (serial sum {}); heqet's own command timings sum {heqet_sum} ms",
        cmds.len(),
        ms(e2e),
        ms(wall),
        ms(by_hand),
    ));
    report(format!(
        "heqet overhead on create: {:+.1} ms = {:+.1}% of the command time (issue target < 10%)",
        over * 1000.0,
        100.0 * over / wall.as_secs_f64(),
    ));
    report(format!(
        "delete: {} node commands by hand {} wall",
        del.len(),
        ms(del_wall)
    ));
    let mut slowest: Vec<&LoggedCommand> = cmds.iter().collect();
    slowest.sort_by_key(|c| std::cmp::Reverse(c.elapsed_ms));
    for c in slowest.iter().take(3) {
        let head: String = c.command.chars().take(70).collect();
        report(format!(
            "  slowest under heqet: {} ms on {}: {head}...",
            c.elapsed_ms, c.host
        ));
    }
    Ok(())
}

fn tag_node(suite: &Suite, node_id: &str, value: &str) -> Result<()> {
    let r = suite.api.request(
        Method::POST,
        &format!("/nodes/{node_id}/tags"),
        Some(&json!({"change_type": "set", "tags": {"e2e-bench": value}})),
    )?;
    ensure!(
        r.status == 200 || r.status == 204,
        "tag node: HTTP {} {}",
        r.status,
        r.body
    );
    Ok(())
}

fn pinned(tag: &str) -> serde_json::Value {
    json!({
        "size": 1,
        "durability": {"type": "none"},
        "glustervolumeoptions": [format!("user.heketi.device-tag-match e2e-bench={tag}")],
    })
}

fn parallel(suite: &Suite) -> Result<()> {
    let hosts = suite.api.node_hosts()?;
    let mut ids = Vec::new();
    for n in [1, 2] {
        let addr = suite.cluster.addr(n)?;
        let id = hosts
            .iter()
            .find(|(_, h)| **h == addr)
            .map(|(id, _)| id.clone())
            .ok_or_else(|| heqet_e2e::Error(format!("node {addr} not in the API")))?;
        tag_node(suite, &id, &format!("n{n}"))?;
        ids.push(id);
    }
    let mut alone = Vec::new();
    for tag in ["n1", "n2"] {
        let (vol, took, _) = timed_create(suite, pinned(tag))?;
        alone.push(took);
        suite.delete_checked(&vol)?;
    }
    let offset = suite.server.log_len();
    let start = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| suite.api.create_volume(&pinned("n1")));
        let b = s.spawn(|| suite.api.create_volume(&pinned("n2")));
        (a.join(), b.join())
    });
    let both = start.elapsed();
    let a = a.map_err(|_| heqet_e2e::Error("create thread panicked".into()))??;
    let b = b.map_err(|_| heqet_e2e::Error("create thread panicked".into()))??;
    let on = |v: &heqet_e2e::volume::Volume| -> Result<usize> {
        suite.node_of(v.bricks.first().ok_or("no brick")?)
    };
    ensure!(
        on(&a)? == 1 && on(&b)? == 2,
        "tag pinning failed: bricks on nodes {} and {}",
        on(&a)?,
        on(&b)?
    );
    std::thread::sleep(Duration::from_millis(200));
    let cmds = logged_commands(&suite.server.log_since(offset)?);
    suite.delete_checked(&a)?;
    suite.delete_checked(&b)?;
    let (h1, h2) = (suite.cluster.addr(1)?, suite.cluster.addr(2)?);
    let s1 = span(&cmds, &h1).ok_or("no commands on node 1 in the log")?;
    let s2 = span(&cmds, &h2).ok_or("no commands on node 2 in the log")?;
    let shared = overlap(s1, s2);
    report(format!(
        "disjoint creates (node 1, node 2): alone {} and {}, both at once {} wall; \
         node commands on the two nodes overlap {:.0}% of the shorter span: {}",
        ms(alone[0]),
        ms(alone[1]),
        ms(both),
        shared * 100.0,
        if shared > 0.5 {
            "PARALLEL"
        } else {
            "SERIALIZED"
        }
    ));
    for id in ids {
        let _ = suite.api.request(
            Method::POST,
            &format!("/nodes/{id}/tags"),
            Some(&json!({"change_type": "delete", "tags": {"e2e-bench": ""}})),
        );
    }
    Ok(())
}

pub fn run(suite: &mut Suite) -> Result<()> {
    overhead(suite)?;
    parallel(suite)
}
