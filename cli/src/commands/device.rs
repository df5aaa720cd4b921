//! `device add|delete|remove|info|enable|disable|resync|settags|rmtags`.

use heqet_api::{DeviceAddRequest, DeviceDeleteOptions, StateRequest, Tags};

use super::{heal_check_warning, need, tags, Ctx};
use crate::args::DeviceCmd;
use crate::error::{CliError, CliResult};
use crate::output::out;
use crate::render;

const MISSING: &str = "device id missing";

async fn set_state(ctx: &Ctx, id: &str, state: &str, healcheck: &str, shown: &str) -> CliResult {
    let req = StateRequest {
        state: state.into(),
        healcheck: healcheck.into(),
    };
    ctx.client.device_state(id, &req).await?;
    out(&format!("Device {id} is now {shown}\n"));
    Ok(())
}

pub async fn run(ctx: &Ctx, cmd: DeviceCmd) -> CliResult {
    match cmd {
        DeviceCmd::Add(a) => {
            if a.name.is_empty() {
                return Err(CliError::msg("Missing device name"));
            }
            if a.node.is_empty() {
                return Err(CliError::msg("Missing node id"));
            }
            let req = DeviceAddRequest {
                node: a.node,
                name: a.name,
                destroydata: a.destroy_existing_data,
                tags: Tags::new(),
            };
            ctx.client.device_add(&req).await?;
            out("Device added successfully\n");
            Ok(())
        }
        DeviceCmd::Delete {
            id, force_forget, ..
        } => {
            let id = need(&id, MISSING)?;
            let opts = DeviceDeleteOptions {
                forceforget: force_forget,
            };
            ctx.client.device_delete(id, &opts).await?;
            out(&format!("Device {id} deleted\n"));
            Ok(())
        }
        DeviceCmd::Remove {
            id,
            disable_heal_check,
            ..
        } => {
            let id = need(&id, MISSING)?;
            let healcheck = if disable_heal_check {
                heal_check_warning().await;
                "disable"
            } else {
                ""
            };
            set_state(ctx, id, "failed", healcheck, "removed").await
        }
        DeviceCmd::Info(a) => {
            let id = need(&a.id, MISSING)?;
            let d = ctx.client.device_info(id).await?;
            ctx.print(&d, render::device::info)
        }
        DeviceCmd::Enable(a) => {
            let id = need(&a.id, MISSING)?;
            set_state(ctx, id, "online", "", "online").await
        }
        DeviceCmd::Disable(a) => {
            let id = need(&a.id, MISSING)?;
            set_state(ctx, id, "offline", "", "offline").await
        }
        DeviceCmd::Resync { id, cluster, .. } => {
            let id = need(&id, "object/cluster id missing")?;
            if cluster {
                resync_cluster(ctx, id).await
            } else {
                ctx.client.device_resync(id).await?;
                out(&format!("Device {id} updated\n"));
                Ok(())
            }
        }
        DeviceCmd::Settags(a) => {
            let (id, req) = tags::set_request(&a)?;
            ctx.client.device_set_tags(&id, &req).await?;
            Ok(())
        }
        DeviceCmd::Rmtags(a) => {
            let (id, req) = tags::rm_request(&a)?;
            ctx.client.device_set_tags(&id, &req).await?;
            Ok(())
        }
    }
}

/// `device resync --cluster <cluster id>`: every device of every node; per-device errors
/// are ignored, as in heketi-cli.
async fn resync_cluster(ctx: &Ctx, cluster: &str) -> CliResult {
    out("Cluster-wide resync operation requested. Using object_id as cluster_id.\n");
    let c = ctx.client.cluster_info(cluster).await?;
    for node in &c.nodes {
        let Ok(n) = ctx.client.node_info(node).await else {
            continue;
        };
        for d in &n.devices {
            out(&format!("Now resyncing device {}..\n", d.id));
            let _ = ctx.client.device_resync(&d.id).await;
            out(&format!(
                "Device {} (node {}) in cluster {} updated\n",
                d.id, n.id, c.id
            ));
        }
    }
    Ok(())
}
