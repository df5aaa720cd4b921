//! `topology load --json=FILE`: idempotent, as heketi-cli's (docs/cli.md §9.1). Nodes are
//! identified by their first management hostname, devices by name; what exists is reported
//! as found, only what is missing is added. Per-node and per-device failures are printed and
//! skipped (exit 0).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use heqet_api::client::Client;
use heqet_api::{ClusterCreateRequest, DeviceAddRequest, NodeAddRequest, NodeInfoResponse, Tags};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{CliError, CliResult};
use crate::output::out;

/// A validated topology file, in the shape the loader needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCluster {
    pub block: bool,
    pub file: bool,
    pub nodes: Vec<PlanNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanNode {
    /// A node-add request without `cluster` (set when the cluster is known).
    pub request: NodeAddRequest,
    pub devices: Vec<PlanDevice>,
}

impl PlanNode {
    pub fn manage(&self) -> &str {
        self.request
            .hostnames
            .manage
            .first()
            .map(String::as_str)
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanDevice {
    pub name: String,
    pub destroydata: bool,
    pub tags: Tags,
}

/// Where the loader's messages go. The text is heketi-cli's; a terminal additionally gets a
/// spinner while a node or device is being added.
pub trait Progress {
    /// The start of a line whose end depends on the outcome (`\tCreating node x ... `).
    fn begin(&mut self, text: &str);
    /// The rest of that line.
    fn end(&mut self, text: &str);
    /// A whole line.
    fn line(&mut self, text: &str);
}

/// Plain lines, exactly heketi-cli's output (pipes, files, tests).
pub struct Plain;

impl Progress for Plain {
    fn begin(&mut self, text: &str) {
        out(text);
    }
    fn end(&mut self, text: &str) {
        out(text);
    }
    fn line(&mut self, text: &str) {
        out(text);
    }
}

/// A spinner on a terminal; each finished line is printed as heketi-cli prints it.
#[derive(Default)]
pub struct Spinner {
    bar: Option<ProgressBar>,
    pending: String,
}

impl Progress for Spinner {
    fn begin(&mut self, text: &str) {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        bar.set_message(text.trim().trim_end_matches("...").trim().to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bar = Some(bar);
        self.pending = text.to_string();
    }
    fn end(&mut self, text: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        out(&format!("{}{}", std::mem::take(&mut self.pending), text));
    }
    fn line(&mut self, text: &str) {
        out(text);
    }
}

/// The reporter for stdout: a spinner on a terminal, plain lines otherwise.
pub fn progress_for_stdout() -> Box<dyn Progress> {
    if std::io::stdout().is_terminal() {
        Box::new(Spinner::default())
    } else {
        Box::new(Plain)
    }
}

/// Run the load. Clusters this run created and left empty are deleted at the end, whatever
/// happened.
pub async fn load(client: &Client, plan: &[PlanCluster], p: &mut dyn Progress) -> CliResult {
    let mut created = Vec::new();
    let result = load_inner(client, plan, p, &mut created).await;
    for id in created {
        if let Ok(c) = client.cluster_info(&id).await {
            if c.nodes.is_empty() && c.volumes.is_empty() {
                let _ = client.cluster_delete(&id).await;
            }
        }
    }
    result
}

async fn load_inner(
    client: &Client,
    plan: &[PlanCluster],
    p: &mut dyn Progress,
    created: &mut Vec<String>,
) -> CliResult {
    let topo = client
        .topology()
        .await
        .map_err(|e| CliError::msg(format!("Unable to get topology information: {e}")))?;
    // Existing nodes by first management hostname.
    let existing: HashMap<String, NodeInfoResponse> = topo
        .clusters
        .into_iter()
        .flat_map(|c| c.nodes)
        .filter_map(|n| n.hostnames.manage.first().cloned().map(|m| (m, n)))
        .collect();

    for fc in plan {
        let mut cluster: Option<String> = None;
        // A file cluster one of whose nodes exists lives in that node's cluster.
        for node in &fc.nodes {
            if let Some(n) = existing.get(node.manage()) {
                if client.cluster_info(&n.cluster).await.is_err() {
                    p.line("Unable to get cluster information\n");
                    return Err(CliError::msg("Unable to get cluster information"));
                }
                cluster = Some(n.cluster.clone());
                break;
            }
        }
        for node in &fc.nodes {
            if let Some(n) = existing.get(node.manage()) {
                p.line(&format!(
                    "\tFound node {} on cluster {}\n",
                    node.manage(),
                    n.cluster
                ));
                add_devices(client, p, &n.id, node, Some(n)).await;
                continue;
            }
            let cluster_id = match &cluster {
                Some(c) => c.clone(),
                None => {
                    let id = create_cluster(client, p, fc).await?;
                    created.push(id.clone());
                    cluster = Some(id.clone());
                    id
                }
            };
            p.begin(&format!("\tCreating node {} ... ", node.manage()));
            let mut req = node.request.clone();
            req.cluster = cluster_id;
            match client.node_add(&req).await {
                Ok(info) => {
                    p.end(&format!("ID: {}\n", info.id));
                    add_devices(client, p, &info.id, node, None).await;
                }
                Err(e) => p.end(&format!("Unable to create node: {e}\n")),
            }
        }
    }
    Ok(())
}

async fn create_cluster(
    client: &Client,
    p: &mut dyn Progress,
    fc: &PlanCluster,
) -> CliResult<String> {
    let req = ClusterCreateRequest {
        block: fc.block,
        file: fc.file,
    };
    p.begin("Creating cluster ... ");
    let c = match client.cluster_create(&req).await {
        Ok(c) => c,
        Err(e) => {
            p.end("\n");
            return Err(e.into());
        }
    };
    p.end(&format!("ID: {}\n", c.id));
    if req.file {
        p.line("\tAllowing file volumes on cluster.\n");
    }
    if req.block {
        p.line("\tAllowing block volumes on cluster.\n");
    }
    Ok(c.id)
}

/// Add the node's devices that `existing` (the node as read before the run) does not have.
async fn add_devices(
    client: &Client,
    p: &mut dyn Progress,
    node_id: &str,
    node: &PlanNode,
    existing: Option<&NodeInfoResponse>,
) {
    for d in &node.devices {
        let found = existing.is_some_and(|n| n.devices.iter().any(|x| x.name == d.name));
        if found {
            p.line(&format!("\t\tFound device {}\n", d.name));
            continue;
        }
        p.begin(&format!("\t\tAdding device {} ... ", d.name));
        let req = DeviceAddRequest {
            node: node_id.to_string(),
            name: d.name.clone(),
            destroydata: d.destroydata,
            tags: d.tags.clone(),
        };
        match client.device_add(&req).await {
            Ok(()) => p.end("OK\n"),
            Err(e) => p.end(&format!("Unable to add device: {e}\n")),
        }
    }
}
