//! Parse the command line, run the command, turn the outcome into heketi-cli's exit status
//! (0, or 255 with `Error: <message>` on stderr).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use heqet_api::client::{Client, ClientOptions, TlsOptions};

use crate::args::{Cli, Command, DbCmd, GlobalArgs, TopologyCmd};
use crate::commands::{self, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{err, out};

pub const EXIT_ERROR: i32 = 255;

/// What `heqet --help` says of itself (as `heketi-cli` it keeps heketi-cli's text).
const HEQET_SHORT: &str =
    "heqet: a heketi-compatible GlusterFS volume manager (the server and a heketi-cli client)";
const HEQET_ABOUT: &str = "heqet: a heketi-compatible GlusterFS volume manager.\n\n\
`heqet serve` runs the REST server; every other command is a heketi-cli compatible client of \
that server (or of a heketi) at --server, $HEKETI_CLI_SERVER or http://localhost:8080. \
Linked or copied as `heketi-cli`, this binary behaves as heketi-cli.";

const SERVE_SHORT: &str = "Run the REST server (heketi's API)";
const SERVE_ABOUT: &str = "Run the REST server (heketi's API).\n\n\
Without --config: port 8080 ($HEKETI_HTTP_PORT), the SQLite database heketi.db in the working \
directory ($HEKETI_DB_PATH), the mock executor (no node is touched), no authentication. \
With --config FILE: heketi.json's settings (executor ssh or kubernetes, db, port, auth; see \
the README). The client options (--server, --user, --secret, --json, TLS) do not apply here.";

/// The clap command, named as invoked.
pub fn command(prog: &'static str) -> clap::Command {
    let mut cmd = Cli::command().name(prog).bin_name(prog);
    if prog == "heketi-cli" {
        cmd = cmd.mut_subcommand("serve", |s| s.hide(true));
    } else {
        cmd = cmd
            .about(HEQET_SHORT)
            .long_about(HEQET_ABOUT)
            .mut_subcommand("serve", |s| s.about(SERVE_SHORT).long_about(SERVE_ABOUT));
    }
    cmd
}

/// Run with the full argv (argv[0] included); returns the exit status.
pub fn run(prog: &'static str, args: Vec<OsString>) -> i32 {
    let mut cmd = command(prog);
    if args.len() <= 1 {
        err(&format!("{}\n", cmd.render_help()));
        return 0;
    }
    let matches = match cmd.try_get_matches_from_mut(args.clone()) {
        Ok(m) => m,
        Err(e) => return clap_error(prog, &args, e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(prog, &args, e),
    };
    if cli.version {
        out(&format!("{prog} v{}\n", env!("CARGO_PKG_VERSION")));
        return 0;
    }
    let Some(command) = cli.command else {
        err(&format!("{}\n", cmd.render_help()));
        return 0;
    };
    if prog == "heketi-cli" && matches!(command, Command::Serve(_)) {
        // heketi-cli has no `serve`: answer as cobra does for an unknown command.
        err("Error: unknown command \"serve\" for \"heketi-cli\"\nRun 'heketi-cli --help' for usage.\n");
        return EXIT_ERROR;
    }
    match dispatch(prog, cli.global, command) {
        Ok(()) => 0,
        Err(e) => {
            let msg = e.to_string();
            err(&format!("Error: {msg}\n"));
            if prog != "heketi-cli" {
                if let Some(h) = hint(&msg) {
                    err(&format!("Hint: {h}\n"));
                }
            }
            EXIT_ERROR
        }
    }
}

/// What to do about a server answer whose text (heketi's, kept for clients that parse it)
/// does not say it. Only under the name `heqet`: heketi-cli's output stays heketi-cli's.
fn hint(msg: &str) -> Option<&'static str> {
    if msg.contains("Token missing iss claim") {
        Some("the server wants a signed token: give --user (admin or user) with --secret, or set HEKETI_CLI_USER and HEKETI_CLI_KEY")
    } else if msg.contains("Required authorization token not found") {
        Some("the server has authentication on: give --user and --secret (or HEKETI_CLI_USER and HEKETI_CLI_KEY)")
    } else if msg.contains("minimum supported volume size") {
        Some("the minimum is in KiB: it is the server's brick_min_size_gb times the number of data bricks of the layout")
    } else {
        None
    }
}

/// clap's errors, reworded like cobra's where scripts might look.
fn clap_error(prog: &str, args: &[OsString], e: clap::Error) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            out(&e.render().to_string());
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            err(&e.render().to_string());
            0
        }
        ErrorKind::InvalidSubcommand => {
            let bad = context(&e, ContextKind::InvalidSubcommand).unwrap_or_default();
            let path = command_path(prog, args, &bad);
            err(&format!(
                "Error: unknown command \"{bad}\" for \"{path}\"\nRun '{path} --help' for usage.\n"
            ));
            EXIT_ERROR
        }
        ErrorKind::UnknownArgument => {
            let bad = context(&e, ContextKind::InvalidArg).unwrap_or_default();
            let flag = bad.split('=').next().unwrap_or_default().to_string();
            if flag.starts_with("--") || !flag.starts_with('-') {
                err(&format!("Error: unknown flag: {flag}\n"));
            } else {
                let c = flag.trim_start_matches('-').chars().next().unwrap_or('?');
                err(&format!("Error: unknown shorthand flag: '{c}' in {flag}\n"));
            }
            EXIT_ERROR
        }
        _ => {
            // clap's first line, without its own "error: " prefix.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            let msg = first.strip_prefix("error: ").unwrap_or(first);
            err(&format!("Error: {msg}\n"));
            EXIT_ERROR
        }
    }
}

fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        other => Some(other.to_string()),
    }
}

/// `prog` plus the subcommands typed before the unknown one (`heketi-cli cluster`).
fn command_path(prog: &str, args: &[OsString], bad: &str) -> String {
    let mut path = vec![prog.to_string()];
    for a in args.iter().skip(1) {
        let s = a.to_string_lossy();
        if s == bad {
            break;
        }
        if !s.starts_with('-') {
            path.push(s.into_owned());
        }
    }
    path.join(" ")
}

/// Flag, else environment variable, else default; an empty flag falls back.
fn pick(flag: &Option<String>, env: &str, default: &str) -> String {
    if let Some(v) = flag.as_deref().filter(|v| !v.is_empty()) {
        return v.to_string();
    }
    std::env::var(env)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub(crate) fn client(g: &GlobalArgs) -> CliResult<Client> {
    let server = pick(&g.server, "HEKETI_CLI_SERVER", "http://localhost:8080");
    let user = pick(&g.user, "HEKETI_CLI_USER", "");
    let secret = pick(&g.secret, "HEKETI_CLI_KEY", "");
    let tls = TlsOptions {
        insecure: g.insecure_tls,
        ca_files: g.tls_cert.clone(),
    };
    let mut opts = ClientOptions::default();
    // Undocumented knob for tests: the /queue poll interval in milliseconds.
    if let Some(ms) = std::env::var("HEQET_POLL_INTERVAL_MS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.poll_interval = std::time::Duration::from_millis(ms);
    }
    Ok(Client::with_options(&server, &user, &secret, &tls, opts)?)
}

fn unsupported(what: &str) -> CliError {
    CliError::msg(format!("{what} is not supported yet by heqet"))
}

fn dispatch(prog: &'static str, g: GlobalArgs, command: Command) -> CliResult {
    match command {
        Command::Serve(a) => return crate::serve::run(a),
        Command::Migrate(c) => return crate::migrate::run(c, &g),
        Command::Completion { shell } => {
            let mut cmd = command_for_completion(prog);
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, prog, &mut buf);
            out(&String::from_utf8_lossy(&buf));
            return Ok(());
        }
        Command::Db(DbCmd::Import(a)) => return commands::db_file::import(&g, a),
        Command::Db(DbCmd::Export(a)) => return commands::db_file::export(a),
        Command::Blockvolume(_) => return Err(unsupported("blockvolume (gluster-block)")),
        Command::SetupOpenshiftHeketiStorage(_) => {
            return Err(unsupported("setup-openshift-heketi-storage"))
        }
        _ => {}
    }
    let ctx = Ctx {
        client: client(&g)?,
        json: g.json,
        prog,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("cannot start the runtime: {e}")))?;
    rt.block_on(run_api_command(&ctx, command))
}

fn command_for_completion(prog: &'static str) -> clap::Command {
    command(prog)
}

async fn run_api_command(ctx: &Ctx, command: Command) -> CliResult {
    match command {
        Command::Cluster(c) => commands::cluster::run(ctx, c).await,
        Command::Node(c) => commands::node::run(ctx, c).await,
        Command::Device(c) => commands::device::run(ctx, c).await,
        Command::Volume(c) => commands::volume::run(ctx, c).await,
        Command::Brick(c) => commands::admin::brick(ctx, c).await,
        Command::Topology(TopologyCmd::Info { template }) => {
            commands::admin::topology_info(ctx, template).await
        }
        Command::Topology(TopologyCmd::Load { file }) => topology_load(ctx, &file).await,
        Command::Db(c) => commands::admin::db(ctx, c).await,
        Command::Loglevel(c) => commands::admin::loglevel(ctx, c).await,
        Command::Server(c) => commands::admin::server(ctx, c).await,
        Command::Serve(_)
        | Command::Migrate(_)
        | Command::Completion { .. }
        | Command::Blockvolume(_)
        | Command::SetupOpenshiftHeketiStorage(_) => Ok(()),
    }
}

async fn topology_load(ctx: &Ctx, file: &str) -> CliResult {
    if file.is_empty() {
        return Err(CliError::msg("Missing configuration file"));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::msg(format!("Unable to open config file: {file}: {e}")))?;
    // Validate everything before the first request.
    let plan = crate::topofile::parse(&text)
        .map_err(|e| CliError::msg(format!("Unable to parse config file: {e}")))?;
    let mut progress = commands::load::progress_for_stdout();
    commands::load::load(&ctx.client, &plan, progress.as_mut()).await
}
