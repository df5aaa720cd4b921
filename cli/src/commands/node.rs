//! `node add|delete|info|list|enable|disable|remove|settags|rmtags`.

use heqet_api::{HostAddresses, NodeAddRequest, StateRequest, Tags};

use super::{need, tags, Ctx};
use crate::args::NodeCmd;
use crate::error::{CliError, CliResult};
use crate::output::out;
use crate::render;

const MISSING: &str = "Node id missing";

async fn set_state(ctx: &Ctx, id: &Option<String>, state: &str, shown: &str) -> CliResult {
    let id = need(id, MISSING)?;
    let req = StateRequest {
        state: state.into(),
        healcheck: String::new(),
    };
    ctx.client.node_state(id, &req).await?;
    out(&format!("Node {id} is now {shown}\n"));
    Ok(())
}

pub async fn run(ctx: &Ctx, cmd: NodeCmd) -> CliResult {
    match cmd {
        NodeCmd::Add(a) => {
            // heketi-cli's checks, in its order.
            if a.zone == 0 {
                return Err(CliError::msg("Missing zone"));
            }
            if a.management_host_name.is_empty() {
                return Err(CliError::msg("Missing management hostname"));
            }
            if a.storage_host_name.is_empty() {
                return Err(CliError::msg("Missing storage hostname"));
            }
            if a.cluster.is_empty() {
                return Err(CliError::msg("Missing cluster id"));
            }
            let req = NodeAddRequest {
                zone: a.zone,
                hostnames: HostAddresses {
                    manage: vec![a.management_host_name],
                    storage: vec![a.storage_host_name],
                },
                cluster: a.cluster,
                tags: Tags::new(),
            };
            let n = ctx.client.node_add(&req).await?;
            ctx.print(&n, render::node::added)
        }
        NodeCmd::Delete(a) => {
            let id = need(&a.id, MISSING)?;
            ctx.client.node_delete(id).await?;
            out(&format!("Node {id} deleted\n"));
            Ok(())
        }
        NodeCmd::Info(a) => {
            let id = need(&a.id, MISSING)?;
            let n = ctx.client.node_info(id).await?;
            ctx.print(&n, render::node::info)
        }
        NodeCmd::List => {
            let list = ctx.client.cluster_list().await?;
            let mut infos = Vec::with_capacity(list.clusters.len());
            for id in &list.clusters {
                infos.push(ctx.client.cluster_info(id).await?);
            }
            out(&render::node::list(&infos));
            Ok(())
        }
        NodeCmd::Enable(a) => set_state(ctx, &a.id, "online", "online").await,
        NodeCmd::Disable(a) => set_state(ctx, &a.id, "offline", "offline").await,
        NodeCmd::Remove(a) => set_state(ctx, &a.id, "failed", "removed").await,
        NodeCmd::Settags(a) => {
            let (id, req) = tags::set_request(&a)?;
            ctx.client.node_set_tags(&id, &req).await?;
            Ok(())
        }
        NodeCmd::Rmtags(a) => {
            let (id, req) = tags::rm_request(&a)?;
            ctx.client.node_set_tags(&id, &req).await?;
            Ok(())
        }
    }
}
