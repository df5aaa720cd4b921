//! `volume create|delete|expand|info|list|clone|set-block-hosting-restriction|endpoint patch`.

use heqet_api::{
    DisperseDurability, ReplicaDurability, VolumeBlockRestrictionRequest, VolumeCloneRequest,
    VolumeCreateRequest, VolumeDurabilityInfo, VolumeExpandRequest, VolumeSnapshot,
};

use super::{need, Ctx};
use crate::args::{EndpointCmd, RestrictionCmd, VolumeCmd, VolumeCreateArgs};
use crate::error::{CliError, CliResult};
use crate::output::{err, out};
use crate::render;

const MISSING: &str = "Volume id missing";

/// Comma-separated flag value to a list; empty → empty list.
fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(String::from).collect()
    }
}

/// The request heketi-cli sends: replica/data/redundancy always, snapshot enabled only for a
/// factor above 1.
pub fn create_request(a: &VolumeCreateArgs) -> VolumeCreateRequest {
    let snapshot = if a.snapshot_factor > 1.0 {
        VolumeSnapshot {
            enable: true,
            factor: a.snapshot_factor,
        }
    } else {
        VolumeSnapshot {
            enable: false,
            factor: 0.0,
        }
    };
    VolumeCreateRequest {
        size: a.size,
        clusters: split_list(&a.clusters),
        name: a.name.clone(),
        durability: VolumeDurabilityInfo {
            kind: a.durability.clone(),
            replicate: ReplicaDurability { replica: a.replica },
            disperse: DisperseDurability {
                data: a.disperse_data,
                redundancy: a.redundancy,
            },
        },
        gid: a.gid,
        glustervolumeoptions: split_list(&a.gluster_volume_options),
        block: a.block,
        snapshot,
    }
}

async fn create(ctx: &Ctx, a: &VolumeCreateArgs) -> CliResult {
    if a.size == 0 {
        return Err(CliError::msg("Missing volume size"));
    }
    if a.persistent_volume && a.persistent_volume_endpoint.is_empty() {
        err("--persistent-volume-endpoint must be provided when using --persistent-volume\n");
        return Err(CliError::msg("Missing endpoint"));
    }
    let v = ctx.client.volume_create(&create_request(a)).await?;
    if a.persistent_volume || !a.persistent_volume_file.is_empty() {
        let pv = render::pv::persistent_volume(&v, &a.persistent_volume_endpoint);
        if a.persistent_volume_file.is_empty() {
            out(&pv);
        } else {
            std::fs::write(&a.persistent_volume_file, pv).map_err(|e| {
                CliError::msg(format!(
                    "Unable to write persistent volume file {}: {e}",
                    a.persistent_volume_file
                ))
            })?;
        }
        return Ok(());
    }
    ctx.print(&v, render::volume::block)
}

pub async fn run(ctx: &Ctx, cmd: VolumeCmd) -> CliResult {
    match cmd {
        VolumeCmd::Create(a) => create(ctx, &a).await,
        VolumeCmd::Delete(a) => {
            let id = need(&a.id, MISSING)?;
            ctx.client.volume_delete(id).await?;
            out(&format!("Volume {id} deleted\n"));
            Ok(())
        }
        VolumeCmd::Expand {
            id,
            expand_size,
            volume,
            ..
        } => {
            if expand_size == 0 {
                return Err(CliError::msg("Missing volume amount to expand"));
            }
            let id = match id {
                Some(id) if !id.is_empty() => id,
                _ if !volume.is_empty() => volume,
                _ => return Err(CliError::msg("Missing volume id")),
            };
            let v = ctx
                .client
                .volume_expand(&id, &VolumeExpandRequest { expand_size })
                .await?;
            ctx.print(&v, render::volume::block)
        }
        VolumeCmd::Info(a) => {
            let id = need(&a.id, MISSING)?;
            let v = ctx.client.volume_info(id).await?;
            ctx.print(&v, render::volume::block)
        }
        VolumeCmd::List => {
            let list = ctx.client.volume_list().await?;
            if ctx.json {
                return ctx.print(&list, |_| String::new());
            }
            let mut infos = Vec::with_capacity(list.volumes.len());
            for id in &list.volumes {
                infos.push(ctx.client.volume_info(id).await?);
            }
            out(&render::volume::list(&infos));
            Ok(())
        }
        VolumeCmd::Clone { id, name, .. } => {
            let id = need(&id, MISSING)?;
            let v = ctx
                .client
                .volume_clone(id, &VolumeCloneRequest { name })
                .await?;
            ctx.print(&v, render::volume::block)
        }
        VolumeCmd::SetBlockHostingRestriction(r) => {
            let (a, restriction) = match r {
                RestrictionCmd::Locked(a) => (a, "locked"),
                RestrictionCmd::Unlocked(a) => (a, ""),
            };
            let id = need(&a.id, MISSING)?;
            let req = VolumeBlockRestrictionRequest {
                restriction: restriction.into(),
            };
            let v = ctx.client.volume_set_block_restriction(id, &req).await?;
            ctx.print(&v, render::volume::block)
        }
        VolumeCmd::Endpoint(EndpointCmd::Patch(a)) => {
            let id = need(&a.id, MISSING)?;
            let v = ctx.client.volume_info(id).await?;
            out(&render::volume::endpoint_patch(&v));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn request_matches_heketi_cli_defaults() {
        let cli =
            crate::args::Cli::try_parse_from(["heqet", "volume", "create", "--size=10"]).unwrap();
        let Some(crate::args::Command::Volume(VolumeCmd::Create(a))) = cli.command else {
            panic!("not a volume create");
        };
        assert_eq!(
            serde_json::to_string(&create_request(&a)).unwrap(),
            r#"{"size":10,"name":"","durability":{"type":"replicate","replicate":{"replica":3},"disperse":{"data":4,"redundancy":2}},"snapshot":{"enable":false,"factor":0}}"#
        );
    }

    #[test]
    fn options_clusters_and_snapshot() {
        let cli = crate::args::Cli::try_parse_from([
            "heqet",
            "volume",
            "create",
            "--size=1",
            "--clusters=a,b",
            "--gluster-volume-options=performance.quick-read off,x y",
            "--snapshot-factor=1.5",
            "--gid=2001",
            "--block",
        ])
        .unwrap();
        let Some(crate::args::Command::Volume(VolumeCmd::Create(a))) = cli.command else {
            panic!("not a volume create");
        };
        let r = create_request(&a);
        assert_eq!(r.clusters, vec!["a", "b"]);
        assert_eq!(
            r.glustervolumeoptions,
            vec!["performance.quick-read off", "x y"]
        );
        assert!(r.snapshot.enable && r.block);
        assert_eq!(r.gid, 2001);
    }
}
