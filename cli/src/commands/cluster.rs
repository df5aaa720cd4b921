//! `cluster create|delete|info|list|setflags`.

use heqet_api::{ClusterCreateRequest, ClusterListResponse};

use super::{need, Ctx};
use crate::args::{ClusterCmd, ClusterFlags};
use crate::error::{CliError, CliResult};
use crate::output::out;
use crate::render;

pub async fn run(ctx: &Ctx, cmd: ClusterCmd) -> CliResult {
    match cmd {
        ClusterCmd::Create(ClusterFlags { block, file }) => {
            let c = ctx
                .client
                .cluster_create(&ClusterCreateRequest { block, file })
                .await?;
            ctx.print(&c, render::cluster::created)
        }
        ClusterCmd::Delete(a) => {
            let id = need(&a.id, "Cluster id missing")?;
            ctx.client.cluster_delete(id).await?;
            out(&format!("Cluster {id} deleted\n"));
            Ok(())
        }
        ClusterCmd::Info(a) => {
            let id = need(&a.id, "Cluster id missing")?;
            let c = ctx.client.cluster_info(id).await?;
            ctx.print(&c, render::cluster::info)
        }
        ClusterCmd::List => {
            let list: ClusterListResponse = ctx.client.cluster_list().await?;
            if ctx.json {
                return ctx.print(&list, |_| String::new());
            }
            let mut infos = Vec::with_capacity(list.clusters.len());
            for id in &list.clusters {
                infos.push(ctx.client.cluster_info(id).await?);
            }
            out(&render::cluster::list(&infos));
            Ok(())
        }
        ClusterCmd::Setflags {
            id, block, file, ..
        } => {
            let id = need(&id, "Cluster id missing")?;
            if block.is_none() && file.is_none() {
                return Err(CliError::msg(
                    "At least one of --file or --block must be specified.",
                ));
            }
            // Unspecified flags keep their current value.
            let current = ctx.client.cluster_info(id).await?;
            let req = ClusterCreateRequest {
                block: block.unwrap_or(current.block),
                file: file.unwrap_or(current.file),
            };
            ctx.client.cluster_set_flags(id, &req).await?;
            Ok(())
        }
    }
}
