//! `heqet`: heketi-cli compatible command line, and `heqet serve`, the REST server.
//! Invoked as `heketi-cli` (e.g. through a symlink) it presents itself as heketi-cli.

mod app;
mod args;
mod argv;
mod commands;
mod error;
mod migrate;
mod output;
mod render;
mod serve;
mod topofile;

fn main() {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let prog = argv::program_name(raw.first());
    let args = argv::rewrite_topology_load(raw);
    std::process::exit(app::run(prog, args));
}
