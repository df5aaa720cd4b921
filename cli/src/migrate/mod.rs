//! `heqet migrate pvs`: replaces the PersistentVolumes of the removed in-tree glusterfs
//! plugin (which kubelets of Kubernetes >= 1.26 cannot mount) by equivalent heqet-csi PVs
//! (docs/cli.md §13).
//!
//! Read everything, plan (pure: [`plan`], [`mapping`]), print the plan; with `--apply`,
//! migrate the planned PVs one by one ([`apply`]) and stop at the first failure.

pub mod args;

#[cfg(feature = "migrate")]
mod access;
#[cfg(feature = "migrate")]
mod apply;
#[cfg(feature = "migrate")]
mod claims;
#[cfg(feature = "migrate")]
mod cluster;
#[cfg(feature = "migrate")]
mod error;
#[cfg(feature = "migrate")]
mod mapping;
#[cfg(feature = "migrate")]
mod plan;
#[cfg(feature = "migrate")]
mod report;
#[cfg(feature = "migrate")]
mod volumes;

pub use args::MigrateCmd;

use crate::args::GlobalArgs;
use crate::error::{CliError, CliResult};

#[cfg(not(feature = "migrate"))]
pub fn run(_cmd: MigrateCmd, _g: &GlobalArgs) -> CliResult {
    Err(CliError::msg(
        "this heqet was built without `migrate` (feature \"migrate\")",
    ))
}

/// The command's edge: builds the clients, runs, and turns the typed error into the CLI's.
#[cfg(feature = "migrate")]
pub fn run(cmd: MigrateCmd, g: &GlobalArgs) -> CliResult {
    let MigrateCmd::Pvs(a) = cmd;
    let mut g = g.clone();
    if let Some(url) = a.resturl.clone().filter(|u| !u.is_empty()) {
        g.server = Some(url);
    }
    let heketi = crate::app::client(&g)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("cannot start the runtime: {e}")))?;
    rt.block_on(pvs(&a, &heketi, g.json))
        .map_err(|e| CliError::msg(e.to_string()))
}

#[cfg(feature = "migrate")]
async fn pvs(
    a: &args::PvsArgs,
    heketi: &heqet_api::client::Client,
    json: bool,
) -> Result<(), error::MigrateError> {
    use crate::output::{err, out};
    use error::MigrateError;
    use plan::Action;

    let target = mapping::Target::new(&a.driver, a.csi_resturl.as_deref())?;
    let access = access::connect(a).await?;
    let cluster = cluster::Cluster::new(access.client.clone());
    let raw = cluster.list_pvs().await?;
    let volumes = volumes::load(heketi).await?;
    let in_use = cluster.in_use(&plan::claim_namespaces(&raw)).await?;
    let entries = plan::make(&raw, &volumes, &in_use, &target);
    let counts = report::counts(&entries);

    // In JSON mode stdout holds the plan document only; progress goes to stderr.
    let say: fn(&str) = if json { err } else { out };
    if json {
        out(&report::json(&entries, !a.apply, &target.driver).to_string());
    } else {
        let mode = if a.apply {
            "applying"
        } else {
            "dry run, nothing is changed"
        };
        out(&format!(
            "Kubernetes {} ({}), heketi {}, driver {} ({mode})\n\n",
            access.server, access.source, volumes.server, target.driver
        ));
        out(&report::table(&entries, &target.driver));
        out(&format!("\n{}\n", report::summary(&counts, &target.driver)));
    }
    if !a.apply {
        if !json && counts.migrate > 0 {
            out("Run again with --apply to migrate.\n");
        }
        return Ok(());
    }

    let timeout = std::time::Duration::from_secs(a.timeout);
    for e in &entries {
        let Action::Migrate(m) = &e.action else {
            continue;
        };
        let new = apply::migrate(&cluster, m, timeout).await?;
        let handle = new
            .spec
            .as_ref()
            .and_then(|s| s.csi.as_ref())
            .map(|c| c.volume_handle.as_str())
            .unwrap_or_default();
        say(&format!(
            "{}: migrated: reclaim policy Retain, in-tree PV deleted, {} PV created (volumeHandle \
             {handle}, reclaim policy {})\n",
            e.pv, target.driver, m.reclaim_policy
        ));
    }
    let left: Vec<&str> = entries
        .iter()
        .filter(|e| e.left_in_tree())
        .map(|e| e.pv.as_str())
        .collect();
    if !left.is_empty() {
        return Err(MigrateError::Incomplete {
            count: left.len(),
            names: left.join(", "),
        });
    }
    say(&format!(
        "done: {} migrated, {} already {}\n",
        counts.migrate, counts.skip, target.driver
    ));
    Ok(())
}
