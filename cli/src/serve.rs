//! `heqet serve`: logging setup and the server's entry point.

#[cfg(feature = "server")]
use std::sync::Arc;

#[cfg(feature = "server")]
use heqet_server::{LogLevelSetter, ServeOptions};
#[cfg(feature = "server")]
use tracing_subscriber::{fmt, layer::SubscriberExt, reload, util::SubscriberInitExt, EnvFilter};

use crate::args::ServeArgs;
use crate::error::{CliError, CliResult};

/// heketi's log level names as tracing filter directives.
#[cfg(any(feature = "server", test))]
pub fn directive(level: &str) -> Result<&'static str, String> {
    Ok(match level {
        "none" => "off",
        "critical" | "error" => "error",
        "warning" => "warn",
        "info" => "info",
        "debug" => "debug",
        other => return Err(format!("invalid log level: {other}")),
    })
}

#[cfg(not(feature = "server"))]
pub fn run(_args: ServeArgs) -> CliResult {
    Err(CliError::msg(
        "this heqet was built without the server (feature \"server\")",
    ))
}

#[cfg(feature = "server")]
pub fn run(args: ServeArgs) -> CliResult {
    // RUST_LOG wins; default info. `POST /internal/logging` swaps the filter at runtime.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                // No colour codes in log files and journald.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    let setter: LogLevelSetter = Arc::new(move |level: &str| {
        let d = directive(level)?;
        handle
            .reload(EnvFilter::new(d))
            .map_err(|e| format!("cannot change the log level: {e}"))
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("cannot start the runtime: {e}")))?;
    let opts = ServeOptions {
        config: args.config,
        disable_auth: args.disable_auth,
    };
    rt.block_on(heqet_server::run(opts, Some(setter)))
        .map_err(|e| CliError::msg(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heketi_levels_map_to_tracing() {
        assert_eq!(directive("warning"), Ok("warn"));
        assert_eq!(directive("none"), Ok("off"));
        assert!(directive("loud").is_err());
    }
}
