//! heketi's JWT scheme: HS256, claims `iss`, `iat`, `exp`, and `qsh` = sha256hex(METHOD&PATH).
//! The client side lives here; the server's verification is in `heqet-server::auth`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of a token made by [`client_token`], as heketi-cli makes them.
pub const CLIENT_TOKEN_SECONDS: i64 = 300;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    #[serde(default)]
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub qsh: String,
}

/// Query string hash: lowercase hex SHA-256 of `METHOD&PATH` (no query string, no body).
pub fn qsh(method: &str, path: &str) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"&");
    h.update(path.as_bytes());
    hex::encode(h.finalize())
}

/// A token for one request, as heketi-cli and the Go client make it.
pub fn client_token(
    user: &str,
    key: &str,
    method: &str,
    path: &str,
    now: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = Claims {
        iss: user.to_string(),
        iat: Some(now),
        exp: Some(now + CLIENT_TOKEN_SECONDS),
        nbf: None,
        qsh: qsh(method, path),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsh_matches_known_vector() {
        assert_eq!(
            qsh("GET", "/volumes"),
            "c162acc9024272120bacfff7709c932cc252337d0a30fa15b025010066662bea"
        );
        assert_ne!(qsh("GET", "/volumes"), qsh("POST", "/volumes"));
    }
}
