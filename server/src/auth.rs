//! heketi's JWT check: HS256/384/512, the key chosen by `iss` (admin or user), `exp` required,
//! `iat` with a leeway, `nbf`, and `qsh` = sha256hex(METHOD&PATH). Error texts are heketi's,
//! because clients display them.

use base64::Engine as _;
use heqet_api::jwt::{qsh, Claims};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuthKeys {
    pub admin: String,
    pub user: String,
    pub iat_leeway_secs: i64,
    pub exp_leeway_secs: i64,
}

#[derive(Deserialize)]
struct JwtHeader {
    #[serde(default)]
    alg: String,
}

fn invalid(reason: impl std::fmt::Display) -> ApiError {
    ApiError::Unauthorized(format!("Invalid JWT token: {reason}"))
}

fn decode_segment<T: for<'de> Deserialize<'de>>(seg: &str) -> Result<T, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seg.trim_end_matches('='))
        .map_err(|e| invalid(format!("illegal base64 data: {e}")))?;
    serde_json::from_slice(&bytes).map_err(invalid)
}

/// Go's `time.Duration` text for whole seconds, e.g. `1m30s`, as in heketi's messages.
fn go_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Check the `Authorization` header of a request; returns the caller's role.
pub fn verify(
    authorization: Option<&str>,
    method: &str,
    path: &str,
    keys: &AuthKeys,
    now: i64,
) -> Result<Role, ApiError> {
    let Some(value) = authorization else {
        return Err(ApiError::Unauthorized(
            "Required authorization token not found".into(),
        ));
    };
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [scheme, token] = parts.as_slice() else {
        return Err(ApiError::AuthHeaderFormat);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::AuthHeaderFormat);
    }
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() != 3 {
        return Err(invalid("token contains an invalid number of segments"));
    }
    let header: JwtHeader = decode_segment(segments[0])?;
    let alg = match header.alg.as_str() {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        other => return Err(invalid(format!("Unexpected signing method: {other}"))),
    };
    let unverified: Claims = decode_segment(segments[1])?;
    let (role, key) = match unverified.iss.as_str() {
        "" => return Err(invalid("Token missing iss claim")),
        "admin" => (Role::Admin, &keys.admin),
        "user" => (Role::User, &keys.user),
        _ => return Err(invalid("Unknown user")),
    };
    // Signature first (it wins over claim failures, as in heketi); claims are checked below
    // with heketi's own rules and messages.
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => {
            invalid("signature is invalid (client and server secrets may not match)")
        }
        _ => invalid(e),
    })?
    .claims;
    match claims.exp {
        None | Some(0) => return Err(invalid("Token is expired")),
        Some(exp) if now > exp + keys.exp_leeway_secs => {
            return Err(invalid(format!(
                "Token is expired by {}",
                go_duration(now - exp)
            )))
        }
        _ => {}
    }
    if let Some(iat) = claims.iat {
        if now < iat - keys.iat_leeway_secs {
            return Err(invalid(
                "Token used before issued (client and server clocks may differ)",
            ));
        }
    }
    if let Some(nbf) = claims.nbf {
        if now < nbf {
            return Err(invalid("token is not valid yet"));
        }
    }
    if claims.qsh != qsh(method, path) {
        return Err(ApiError::Unauthorized("Invalid qsh claim in token".into()));
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::jwt::client_token;
    use jsonwebtoken::{encode, EncodingKey, Header};

    fn keys() -> AuthKeys {
        AuthKeys {
            admin: "adminkey".into(),
            user: "userkey".into(),
            iat_leeway_secs: 120,
            exp_leeway_secs: 0,
        }
    }

    fn token(claims: &Claims, key: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    }

    fn check(t: &str, now: i64) -> Result<Role, String> {
        verify(
            Some(&format!("bearer {t}")),
            "GET",
            "/volumes",
            &keys(),
            now,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn client_tokens_pass() {
        let t = client_token("admin", "adminkey", "GET", "/volumes", 1000).unwrap();
        assert_eq!(check(&t, 1000), Ok(Role::Admin));
        let t = client_token("user", "userkey", "GET", "/volumes", 1000).unwrap();
        assert_eq!(check(&t, 1000), Ok(Role::User));
    }

    #[test]
    fn header_errors() {
        let k = keys();
        let e = verify(None, "GET", "/", &k, 0).unwrap_err();
        assert_eq!(e.to_string(), "Required authorization token not found");
        for h in ["bearer", "Basic abc", "bearer a b"] {
            let e = verify(Some(h), "GET", "/", &k, 0).unwrap_err();
            assert!(matches!(e, ApiError::AuthHeaderFormat), "{h}");
        }
        assert_eq!(
            check("abc", 0).unwrap_err(),
            "Invalid JWT token: token contains an invalid number of segments"
        );
    }

    #[test]
    fn claim_errors_use_heketi_texts() {
        let base = Claims {
            iss: "admin".into(),
            iat: Some(1000),
            exp: Some(1300),
            nbf: None,
            qsh: qsh("GET", "/volumes"),
        };
        assert_eq!(
            check(&token(&base, "wrong"), 1000).unwrap_err(),
            "Invalid JWT token: signature is invalid (client and server secrets may not match)"
        );
        assert_eq!(
            check(&token(&base, "adminkey"), 1390).unwrap_err(),
            "Invalid JWT token: Token is expired by 1m30s"
        );
        let c = Claims {
            exp: None,
            ..base.clone()
        };
        assert_eq!(
            check(&token(&c, "adminkey"), 1000).unwrap_err(),
            "Invalid JWT token: Token is expired"
        );
        assert_eq!(
            check(&token(&base, "adminkey"), 800).unwrap_err(),
            "Invalid JWT token: Token used before issued (client and server clocks may differ)"
        );
        // Within the iat leeway.
        assert!(check(&token(&base, "adminkey"), 900).is_ok());
        let c = Claims {
            nbf: Some(1100),
            ..base.clone()
        };
        assert_eq!(
            check(&token(&c, "adminkey"), 1000).unwrap_err(),
            "Invalid JWT token: token is not valid yet"
        );
        let c = Claims {
            iss: "".into(),
            ..base.clone()
        };
        assert_eq!(
            check(&token(&c, ""), 1000).unwrap_err(),
            "Invalid JWT token: Token missing iss claim"
        );
        let c = Claims {
            iss: "bob".into(),
            ..base.clone()
        };
        assert_eq!(
            check(&token(&c, "adminkey"), 1000).unwrap_err(),
            "Invalid JWT token: Unknown user"
        );
        let c = Claims {
            qsh: qsh("POST", "/volumes"),
            ..base.clone()
        };
        assert_eq!(
            check(&token(&c, "adminkey"), 1000).unwrap_err(),
            "Invalid qsh claim in token"
        );
    }

    #[test]
    fn non_hmac_algorithms_are_refused() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(r#"{"iss":"admin","exp":99999999999}"#)
        );
        assert_eq!(
            check(&t, 1000).unwrap_err(),
            "Invalid JWT token: Unexpected signing method: none"
        );
    }

    #[test]
    fn fractional_numbers_are_decode_errors() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(r#"{"iss":"admin","exp":1.5}"#)
        );
        assert!(check(&t, 1000)
            .unwrap_err()
            .starts_with("Invalid JWT token: "));
    }
}
