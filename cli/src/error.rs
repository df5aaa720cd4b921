//! The CLI's error: printed as `Error: <message>`, exit status 255.

use heqet_api::client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server's (or the transport's) message, verbatim.
    #[error("{0}")]
    Api(#[from] ClientError),
    /// A client-side message, worded as heketi-cli words it.
    #[error("{0}")]
    Msg(String),
}

impl CliError {
    pub fn msg(s: impl Into<String>) -> CliError {
        CliError::Msg(s.into())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::Msg(format!("cannot encode JSON: {e}"))
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;
