//! Command handlers: call the API, hand the response to a renderer, print.

pub mod admin;
pub mod cluster;
pub mod db_file;
pub mod device;
pub mod load;
pub mod node;
pub mod tags;
pub mod volume;

use std::time::Duration;

use heqet_api::client::Client;
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::output::out;

/// What every handler needs.
pub struct Ctx {
    pub client: Client,
    pub json: bool,
    /// Program name for messages (`heqet` or `heketi-cli`).
    pub prog: &'static str,
}

impl Ctx {
    /// `--json`: the response object, compact, without a trailing newline; else `text()`.
    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T) -> String) -> CliResult {
        if self.json {
            out(&crate::render::json(value)?);
        } else {
            out(&text(value));
        }
        Ok(())
    }
}

/// The id argument or heketi-cli's message for its absence.
pub fn need<'a>(id: &'a Option<String>, missing: &str) -> CliResult<&'a str> {
    match id.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CliError::msg(missing)),
    }
}

/// The pause heketi-cli makes before an operation that skips the heal check.
/// `HEQET_HEAL_CHECK_WAIT_SECS` shortens it (tests).
pub async fn heal_check_warning() {
    out("Skipping the heal check may be dangerous and increase the risk of data loss.\n");
    out(" Press CTRL-C within 10 seconds to cancel this action.\n");
    let secs = std::env::var("HEQET_HEAL_CHECK_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
