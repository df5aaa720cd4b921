//! heqet against a real 3-node GlusterFS cluster (issue 3, "Real executors").
//!
//! One test, so the one cluster per machine is used by one scenario at a time: bring the
//! cluster up (`tests/e2e/cluster.sh up`), start `heqet serve` with the ssh executor, run the
//! scenarios in order, print a summary with timings and the benchmark, tear everything down
//! (also on failure: drop guards). Needs root; never skips.
//!
//!     cargo test -p heqet-e2e -- --test-threads=1 --nocapture
//!
//! The summary (verdicts, timings, benchmark) is also written to `$STATE/e2e-summary.txt`.
//! `HEQET_E2E_KEEP=1` leaves the cluster up after the run (debugging only).
//! `HEQET_E2E_ONLY=<text>` runs only the scenarios whose name contains the text, after the
//! topology load the others need (for iterating on one scenario). Such a run is announced as
//! FILTERED at the start and in the summary, and always fails: the skipped scenarios count
//! as not run.

mod scenarios;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use heqet_e2e::cluster::{state_dir, Cluster};
use heqet_e2e::lock::{require_root, SuiteLock};
use heqet_e2e::Result;

use scenarios::Suite;

type Scenario = fn(&mut Suite) -> Result<()>;

const SCENARIOS: &[(&str, Scenario)] = &[
    (
        "1 topology load: clean, GPT-labelled and xfs disks",
        scenarios::topology::run,
    ),
    (
        "2 replica-3 volume: create, mount, file in all bricks",
        scenarios::replica::create_and_mount,
    ),
    (
        "3 expand, df shows the new size, delete leaves nothing",
        scenarios::replica::expand_and_delete,
    ),
    (
        "4 arbiter and disperse 2+1 volumes",
        scenarios::layouts::run,
    ),
    (
        "5 delete while a node's glusterd is stopped",
        scenarios::glusterd_down::run,
    ),
    (
        "6 kill -9 of heqet serve mid-create, restart, cleanup",
        scenarios::crash::run,
    ),
    (
        "7 device remove migrates bricks (replace-brick)",
        scenarios::device_remove::run,
    ),
    (
        "8 heqet-csi: create, stage, publish, expand, plugin crash, broken mount, delete",
        scenarios::csi::lifecycle,
    ),
    (
        "bench heqet-csi: CreateVolume vs the same REST create",
        scenarios::csi::bench,
    ),
    (
        "bench: create overhead and parallel creates",
        scenarios::bench::run,
    ),
];

/// `HEQET_E2E_ONLY`, when set and not empty.
fn filter() -> Option<String> {
    std::env::var("HEQET_E2E_ONLY")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The scenarios to run: all of them, or the topology load plus those matching `only`.
fn selected(only: Option<&str>) -> Vec<(&'static str, Scenario)> {
    SCENARIOS
        .iter()
        .enumerate()
        .filter(|(i, (name, _))| *i == 0 || only.is_none_or(|o| name.contains(o)))
        .map(|(_, s)| *s)
        .collect()
}

fn run_one(suite: &mut Suite, f: Scenario) -> Result<()> {
    match catch_unwind(AssertUnwindSafe(|| f(suite))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(heqet_e2e::Error(format!("panicked: {msg}")))
        }
    }
}

#[test]
fn real_cluster_end_to_end() {
    let t0 = Instant::now();
    let only = filter();
    let plan = selected(only.as_deref());
    if let Some(o) = &only {
        assert!(
            plan.len() > 1,
            "HEQET_E2E_ONLY={o:?} matches no scenario besides the topology load"
        );
        eprintln!(
            "[e2e] !!!!! FILTERED RUN: HEQET_E2E_ONLY={o:?} runs {} of {} scenarios; this is NOT \
             the full suite and the test FAILS at the end because of it",
            plan.len(),
            SCENARIOS.len()
        );
    }
    require_root().expect("root");
    // Machine-wide: the namespaces and addresses are the machine's, whatever the checkout.
    let lock_path = heqet_e2e::lock::suite_lock_path();
    let _lock = (!heqet_e2e::lock::held_by_parent(&lock_path))
        .then(|| SuiteLock::acquire(&lock_path, Duration::from_secs(3600)).expect("suite lock"));
    let bin = heqet_e2e::cli::heqet_binary().expect("heqet binary");
    eprintln!(
        "[e2e] heqet binary ready after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    // Only the CSI scenarios need it: a failed build fails them, not the suite.
    let csi_bin = heqet_e2e::csi::heqet_csi_binary();
    match &csi_bin {
        Ok(_) => eprintln!(
            "[e2e] heqet-csi binary ready after {:.1}s",
            t0.elapsed().as_secs_f64()
        ),
        Err(e) => eprintln!("[e2e] heqet-csi binary NOT available: {e}"),
    }
    let cluster = Cluster::up().expect("cluster up");
    let mut suite = Suite::start(cluster, bin, csi_bin).expect("heqet serve starts");
    let mut results: Vec<(&str, Result<()>, Duration)> = Vec::new();
    for (i, (name, f)) in plan.iter().enumerate() {
        eprintln!("\n[e2e] === scenario {name}");
        let started = Instant::now();
        let mut r = run_one(&mut suite, *f);
        // Leave the next scenario a clean cluster, and say if this one did not.
        if let Err(e) = suite.reset() {
            let note = format!("reset after the scenario failed: {e}");
            r = match r {
                Ok(()) => Err(heqet_e2e::Error(note)),
                Err(prev) => Err(heqet_e2e::Error(format!("{prev}\n{note}"))),
            };
        }
        let took = started.elapsed();
        match &r {
            Ok(()) => eprintln!("[e2e] --- ok ({:.1}s)", took.as_secs_f64()),
            Err(e) => eprintln!("[e2e] --- FAILED ({:.1}s): {e}", took.as_secs_f64()),
        }
        let fatal = i == 0 && r.is_err();
        results.push((name, r, took));
        if fatal {
            eprintln!("[e2e] topology load failed: the other scenarios need it; stopping");
            break;
        }
    }
    let log = suite.server.log_path().display().to_string();
    drop(suite);
    let mut summary = vec![format!(
        "===== heqet-e2e summary ({:.1}s in all)",
        t0.elapsed().as_secs_f64()
    )];
    for (name, r, took) in &results {
        let verdict = if r.is_ok() { "ok    " } else { "FAILED" };
        summary.push(format!("{verdict} {:>6.1}s  {name}", took.as_secs_f64()));
    }
    if let Some(o) = &only {
        let skipped: Vec<&str> = SCENARIOS
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !plan.iter().any(|(p, _)| p == n))
            .collect();
        summary.push(format!(
            "!!!!! FILTERED RUN (HEQET_E2E_ONLY={o:?}): {} scenario(s) NOT run: {}",
            skipped.len(),
            skipped.join("; ")
        ));
    }
    summary.extend(suite_notes());
    eprintln!();
    for line in &summary {
        eprintln!("[e2e] {line}");
    }
    // Also on disk: `cargo test` without --nocapture shows a passing test's output nowhere.
    let file = state_dir().join("e2e-summary.txt");
    if let Err(e) = std::fs::write(&file, summary.join("\n") + "\n") {
        eprintln!("[e2e] cannot write {}: {e}", file.display());
    }
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(n, r, _)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    let missing = SCENARIOS.len() - results.len();
    let filtered = only
        .as_ref()
        .map(|o| format!(" (FILTERED RUN: HEQET_E2E_ONLY={o:?})"))
        .unwrap_or_default();
    assert!(
        failed.is_empty() && missing == 0,
        "{} scenario(s) failed, {missing} not run{filtered} (server log: {log}):\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

fn suite_notes() -> Vec<String> {
    scenarios::bench::REPORT
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default()
}
