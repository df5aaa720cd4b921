//! `brick evict`, `topology info`, `db`, `loglevel`, `server …`.

use std::collections::BTreeMap;

use heqet_api::{AdminStatus, LogLevelInfo, PendingOperationsCleanRequest};

use super::{heal_check_warning, Ctx};
use crate::args::{
    BrickCmd, DbCmd, ExamineCmd, LoglevelCmd, ModeCmd, OperationsCmd, ServerCmd, StateCmd,
};
use crate::error::{CliError, CliResult};
use crate::output::{err, out};
use crate::render;

pub async fn brick(ctx: &Ctx, cmd: BrickCmd) -> CliResult {
    let BrickCmd::Evict {
        args,
        disable_heal_check,
    } = cmd;
    let id = match args.as_slice() {
        [] => return Err(CliError::msg("Brick id missing")),
        [id] => id,
        _ => return Err(CliError::msg("Too many arguments provided")),
    };
    let healcheck = if disable_heal_check {
        heal_check_warning().await;
        "disable"
    } else {
        ""
    };
    ctx.client.brick_evict(id, healcheck).await?;
    out(&format!("Brick {id} evicted\n"));
    Ok(())
}

pub async fn topology_info(ctx: &Ctx, template: Option<String>) -> CliResult {
    if template.is_some() {
        return Err(CliError::msg(format!(
            "--template is not supported by {}: Go text/template output is not implemented; use --json",
            ctx.prog
        )));
    }
    let t = ctx.client.topology().await?;
    ctx.print(&t, render::topology::info)
}

pub async fn db(ctx: &Ctx, cmd: DbCmd) -> CliResult {
    let body = match cmd {
        DbCmd::Dump => ctx.client.db_dump().await?,
        DbCmd::Check => ctx.client.db_check().await?,
        // Offline commands, dispatched before a client exists.
        DbCmd::Import(_) | DbCmd::Export(_) => return Ok(()),
    };
    out(&body);
    Ok(())
}

/// Exactly one argument, with heketi-cli's messages for none and too many.
fn one_arg<'a>(args: &'a [String], missing: &str) -> CliResult<&'a str> {
    match args {
        [] => Err(CliError::msg(missing)),
        [a] => Ok(a),
        _ => Err(CliError::msg("too many arguments")),
    }
}

pub async fn loglevel(ctx: &Ctx, cmd: LoglevelCmd) -> CliResult {
    match cmd {
        LoglevelCmd::Get => {
            let l = ctx.client.log_level_get().await?;
            let level = l.loglevel.get("glusterfs").cloned().unwrap_or_default();
            out(&format!("{level}\n"));
        }
        LoglevelCmd::Set { args } => {
            let level = one_arg(&args, "missing log-level argument")?;
            let mut loglevel = BTreeMap::new();
            loglevel.insert("glusterfs".to_string(), level.to_string());
            ctx.client.log_level_set(&LogLevelInfo { loglevel }).await?;
            out("Server log level updated\n");
        }
    }
    Ok(())
}

pub async fn server(ctx: &Ctx, cmd: ServerCmd) -> CliResult {
    match cmd {
        ServerCmd::Mode(ModeCmd::Get) => {
            let s = ctx.client.admin_status_get().await?;
            out(&format!("{}\n", s.state));
        }
        ServerCmd::Mode(ModeCmd::Set { args }) => {
            let mode = one_arg(&args, "missing mode argument")?;
            ctx.client
                .admin_status_set(&AdminStatus {
                    state: mode.to_string(),
                })
                .await?;
        }
        ServerCmd::State(StateCmd::Examine(ExamineCmd::Gluster)) => {
            out(&ctx.client.state_examine_gluster().await?);
        }
        ServerCmd::Operations(OperationsCmd::Info { id: None }) => {
            let o = ctx.client.operations_info().await?;
            out(&render::operations::counts(&o));
        }
        ServerCmd::Operations(OperationsCmd::Info { id: Some(id) }) => {
            let o = ctx.client.pending_operation_details(&id).await?;
            out(&render::operations::details(&o));
        }
        ServerCmd::Operations(OperationsCmd::List) => {
            let l = ctx.client.pending_operations_list().await?;
            out(&render::operations::list(&l.pendingoperations));
        }
        ServerCmd::Operations(OperationsCmd::Cleanup { ids }) => {
            ctx.client
                .pending_operations_cleanup(&PendingOperationsCleanRequest { operations: ids })
                .await?;
            err(&format!(
                "Note: Operation clean up is a batch operation.\n\
                 * The results of individual operation clean ups are not reported here.\n\
                 * Use '{} server operations [list|info]' to view operations.\n",
                ctx.prog
            ));
        }
    }
    Ok(())
}
