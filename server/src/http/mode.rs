//! The server's admin mode (docs/heketi-api.md §10.1): which requests it lets through.

use std::fmt;
use std::str::FromStr;

use axum::http::Method;
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::{Deserialize, Serialize};

/// Spelled on the wire (`GET`/`POST /admin`, `default_state`) by its serde name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminMode {
    /// Everything allowed.
    Normal,
    /// Only GET and HEAD; even `POST /admin` is refused, so only SIGUSR2 or a restart leaves it.
    ReadOnly,
    /// GET and HEAD from anywhere, other methods from a loopback address only.
    LocalClient,
}

/// A mode name that is none of the three; displays as heketi's validation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a valid state", self.0)
    }
}

impl std::error::Error for UnknownMode {}

impl AdminMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminMode::Normal => "normal",
            AdminMode::ReadOnly => "read-only",
            AdminMode::LocalClient => "local-client",
        }
    }

    /// Whether a request with `method`, from a loopback address or not, may go on.
    pub fn allows(self, method: &Method, from_loopback: bool) -> bool {
        let safe = matches!(*method, Method::GET | Method::HEAD);
        match self {
            AdminMode::Normal => true,
            AdminMode::ReadOnly => safe,
            AdminMode::LocalClient => safe || from_loopback,
        }
    }
}

impl FromStr for AdminMode {
    type Err = UnknownMode;

    /// By the serde names, so the wire spelling is written down once.
    fn from_str(s: &str) -> Result<Self, UnknownMode> {
        AdminMode::deserialize(StrDeserializer::<ValueError>::new(s))
            .map_err(|_| UnknownMode(s.to_string()))
    }
}

impl fmt::Display for AdminMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [AdminMode; 3] = [
        AdminMode::Normal,
        AdminMode::ReadOnly,
        AdminMode::LocalClient,
    ];

    #[test]
    fn names_are_the_serde_names() {
        for m in ALL {
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
            assert_eq!(m.as_str().parse::<AdminMode>(), Ok(m));
        }
        assert_eq!("read-only".parse(), Ok(AdminMode::ReadOnly));
    }

    #[test]
    fn unknown_names_are_errors_not_normal() {
        for bad in ["", "Normal", "readonly", "read_only", " normal", "off"] {
            assert_eq!(
                bad.parse::<AdminMode>(),
                Err(UnknownMode(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            UnknownMode("off".into()).to_string(),
            "off is not a valid state"
        );
    }

    #[test]
    fn what_each_mode_allows() {
        let cases = [
            (Method::GET, false, [true, true, true]),
            (Method::HEAD, false, [true, true, true]),
            (Method::POST, false, [true, false, false]),
            (Method::POST, true, [true, false, true]),
            (Method::DELETE, false, [true, false, false]),
            (Method::DELETE, true, [true, false, true]),
            (Method::PUT, true, [true, false, true]),
        ];
        for (method, local, want) in cases {
            for (m, w) in ALL.into_iter().zip(want) {
                assert_eq!(m.allows(&method, local), w, "{m} {method} local={local}");
            }
        }
    }
}
