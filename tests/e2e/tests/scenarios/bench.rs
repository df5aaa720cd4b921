//! Benchmark (printed, not asserted):
//! 1. a replica-3 volume create end to end (POST to 303) vs. the same node commands, taken
//!    from heqet's debug log, run by hand over ssh (one multiplexed connection per node, one
//!    session per command, as heqet does); heqet's overhead = end to end - critical path of
//!    the hand-run commands (bricks on the three nodes side by side, then the gluster steps);
//! 2. whether creates on disjoint nodes run in parallel: two single-brick volumes pinned to
//!    node 1 and node 2 by device tags, alone and at the same time.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use heqet_e2e::bench::{logged_commands, ms, LoggedCommand, SshMux};
use heqet_e2e::{ensure, Result};
use reqwest::Method;
use serde_json::json;

use super::{replica3, Suite};

/// Lines printed in the suite summary.
pub static REPORT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn report(line: String) {
    eprintln!("[e2e] bench: {line}");
    if let Ok(mut r) = REPORT.lock() {
        r.push(format!("bench: {line}"));
    }
}

/// Create a volume, return it with the wall time and the node commands heqet logged for it.
fn timed_create(
    suite: &Suite,
    req: serde_json::Value,
) -> Result<(heqet_e2e::volume::Volume, Duration, Vec<LoggedCommand>)> {
    let offset = suite.server.log_len();
    let start = Instant::now();
    let vol = suite.api.create_volume(&req)?;
    let took = start.elapsed();
    // The log line of the last command may trail the HTTP answer by a moment.
    std::thread::sleep(Duration::from_millis(200));
    let cmds = logged_commands(&suite.server.log_since(offset)?);
    Ok((vol, took, cmds))
}

fn delete_commands(suite: &Suite, vol: &heqet_e2e::volume::Volume) -> Result<Vec<LoggedCommand>> {
    let offset = suite.server.log_len();
    suite.delete_checked(vol)?;
    std::thread::sleep(Duration::from_millis(200));
    Ok(logged_commands(&suite.server.log_since(offset)?))
}

/// Replay `cmds` in their logged order; the hand-run duration of each.
fn replay(mux: &SshMux, cmds: &[LoggedCommand]) -> Result<Vec<(LoggedCommand, Duration)>> {
    let mut timed = Vec::new();
    for c in cmds {
        let (took, status) = mux.time(&c.host, &c.command)?;
        ensure!(
            status == c.status,
            "{}: `{}` exited {status} by hand, {} under heqet",
            c.host,
            c.command,
            c.status
        );
        timed.push((c.clone(), took));
    }
    Ok(timed)
}

/// Critical path: brick commands of the nodes side by side, then the gluster commands.
fn critical_path(timed: &[(LoggedCommand, Duration)]) -> Duration {
    let mut per_host: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut gluster = Duration::ZERO;
    for (c, d) in timed {
        if c.command.starts_with("gluster ") {
            gluster += *d;
        } else {
            *per_host.entry(&c.host).or_default() += *d;
        }
    }
    per_host.values().max().copied().unwrap_or_default() + gluster
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
    let timed = replay(&mux, &cmds)?;
    // Undo by hand with heqet's own delete commands, then check the nodes.
    replay(&mux, &del)?;
    heqet_e2e::node::all_clean(&suite.cluster)?;

    let by_hand: Duration = timed.iter().map(|(_, d)| *d).sum();
    let critical = critical_path(&timed);
    let over = e2e.as_secs_f64() - critical.as_secs_f64();
    report(format!(
        "replica-3 1 GiB create: heqet end to end {}; {} node commands: heqet's own timing sum {heqet_sum} ms; \
         by hand over ssh: sum {}, critical path (3 nodes side by side) {}",
        ms(e2e),
        cmds.len(),
        ms(by_hand),
        ms(critical)
    ));
    report(format!(
        "heqet overhead vs. critical path: {:+.1} ms = {:+.1}% (target < 10%); vs. serial sum: {:+.1}%",
        over * 1000.0,
        100.0 * over / critical.as_secs_f64(),
        100.0 * (e2e.as_secs_f64() - by_hand.as_secs_f64()) / by_hand.as_secs_f64()
    ));
    let mut slowest: Vec<&(LoggedCommand, Duration)> = timed.iter().collect();
    slowest.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    for (c, d) in slowest.iter().take(4) {
        let head: String = c.command.chars().take(60).collect();
        report(format!(
            "  slowest: {} on {} (heqet {} ms): {head}...",
            ms(*d),
            c.host,
            c.elapsed_ms
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
    suite.delete_checked(&a)?;
    suite.delete_checked(&b)?;
    let sum = alone[0] + alone[1];
    let max = alone[0].max(alone[1]);
    report(format!(
        "disjoint creates (node 1, node 2): alone {} and {}; together {} (serial would be ~{}, parallel ~{}): {}",
        ms(alone[0]),
        ms(alone[1]),
        ms(both),
        ms(sum),
        ms(max),
        if both.as_secs_f64() < (sum.as_secs_f64() + max.as_secs_f64()) / 2.0 {
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
