//! Generates the CSI wire types and tonic service code from `proto/csi.proto`.
//!
//! protox parses the file in pure Rust (it bundles the google.protobuf well-known types), so
//! building needs no system `protoc`.

use std::process::ExitCode;

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=proto/csi.proto");
    let fds = match protox::compile(["csi.proto"], ["proto"]) {
        Ok(fds) => fds,
        Err(e) => {
            // protox's Display names the file, line and column of the problem.
            eprintln!("error: proto/csi.proto: {e}");
            return ExitCode::FAILURE;
        }
    };
    let generated = tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Unimplemented RPCs answer UNIMPLEMENTED, which is what CSI asks of a plugin; the
        // services then only write the RPCs they support.
        .generate_default_stubs(true)
        .compile_fds(fds);
    if let Err(e) = generated {
        eprintln!("error: generating code from proto/csi.proto: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
