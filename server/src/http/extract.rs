//! Extractors that answer the way heketi does when a request is not usable, so handlers only
//! see valid input: a hex object id from the path, and JSON bodies.
//!
//! Each wraps axum's own extractor and replaces the rejections heketi words differently; the
//! ones it has no rule for (a path that is not UTF-8 once decoded, a body over the size
//! limit) keep axum's answer, as they had before these extractors existed.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Object ids in paths match `[A-Fa-f0-9]+`; anything else is not a route at all.
pub fn is_hex_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a request did not get past an extractor.
#[derive(Debug)]
pub enum Rejection {
    /// heketi's answer, e.g. 404 `Invalid path or request` or 422 `request unable to be parsed`.
    Api(ApiError),
    /// axum's answer for a path parameter it cannot decode.
    Path(PathRejection),
    /// axum's answer for a body it cannot read (413 over the limit).
    Body(BytesRejection),
}

impl From<ApiError> for Rejection {
    fn from(e: ApiError) -> Self {
        Rejection::Api(e)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Api(e) => e.into_response(),
            Rejection::Path(r) => r.into_response(),
            Rejection::Body(r) => r.into_response(),
        }
    }
}

/// The `{id}` of a route, percent-decoded, checked to be hex: anything else is the router's
/// 404 `Invalid path or request`, as heketi's routes only match hex ids.
#[derive(Debug)]
pub struct HexId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for HexId {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(Rejection::Path)?;
        if is_hex_id(&id) {
            Ok(HexId(id))
        } else {
            Err(ApiError::InvalidPath.into())
        }
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Rejection> {
    Bytes::from_request(req, state)
        .await
        .map_err(Rejection::Body)
}

/// A JSON body as heketi reads it: empty or malformed = 422 `request unable to be parsed`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let body = body_bytes(req, state).await?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|_| ApiError::Unparsable.into())
    }
}

/// A JSON body the client may leave out (empty = `T::default()`); one that is sent is read as
/// [`JsonBody`] reads it.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let body = body_bytes(req, state).await?;
        if body.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        serde_json::from_slice(&body)
            .map(OptionalJsonBody)
            .map_err(|_| ApiError::Unparsable.into())
    }
}

/// The admin and logging routes' JSON body: malformed = 400 `request unable to be parsed:
/// <the parser's detail>`, as heketi answers there.
#[derive(Debug)]
pub struct DetailedJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for DetailedJsonBody<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let body = body_bytes(req, state).await?;
        serde_json::from_slice(&body)
            .map(DetailedJsonBody)
            .map_err(|e| ApiError::UnparsableDetail(e.to_string()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::http::{Method, StatusCode};
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    #[derive(serde::Deserialize, Default, Debug)]
    struct Req {
        #[serde(default)]
        n: u32,
    }

    fn app() -> Router {
        Router::new()
            .route("/x/{id}", get(|HexId(id): HexId| async move { id }))
            .route(
                "/x/{id}/json",
                post(|HexId(id): HexId, JsonBody(r): JsonBody<Req>| async move {
                    format!("{id} {}", r.n)
                }),
            )
            .route(
                "/optional",
                post(|OptionalJsonBody(r): OptionalJsonBody<Req>| async move { r.n.to_string() }),
            )
            .route(
                "/detailed",
                post(|DetailedJsonBody(r): DetailedJsonBody<Req>| async move { r.n.to_string() }),
            )
            .layer(DefaultBodyLimit::max(16))
    }

    async fn call(method: Method, uri: &str, body: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = app().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn not_found() -> (StatusCode, String) {
        (StatusCode::NOT_FOUND, "Invalid path or request\n".into())
    }

    #[test]
    fn hex_ids() {
        assert!(is_hex_id("0123456789abcdefABCDEF"));
        for bad in ["", "xyz", "abc-1", "ab c", "ä"] {
            assert!(!is_hex_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn hex_id_or_the_routers_404() {
        assert_eq!(
            call(Method::GET, "/x/aB09", "").await,
            (StatusCode::OK, "aB09".into())
        );
        // Percent-decoding comes first, as with axum's `Path`.
        assert_eq!(
            call(Method::GET, "/x/%61bc", "").await,
            (StatusCode::OK, "abc".into())
        );
        assert_eq!(call(Method::GET, "/x/xyz", "").await, not_found());
        assert_eq!(call(Method::GET, "/x/%20", "").await, not_found());
        // Not UTF-8 once decoded: axum's own 400.
        let (status, body) = call(Method::GET, "/x/%FF", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.starts_with("Invalid URL"), "{body}");
    }

    #[tokio::test]
    async fn json_body_is_422_when_unparsable() {
        assert_eq!(
            call(Method::POST, "/x/ab/json", r#"{"n":7}"#).await,
            (StatusCode::OK, "ab 7".into())
        );
        for bad in ["", "{", "1", r#"{"n":"x"}"#, "null"] {
            assert_eq!(
                call(Method::POST, "/x/ab/json", bad).await,
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "request unable to be parsed\n".into()
                ),
                "{bad}"
            );
        }
        // The id is checked before the body is read.
        assert_eq!(call(Method::POST, "/x/xyz/json", "{").await, not_found());
        assert_eq!(
            call(Method::POST, "/x/xyz/json", &"1".repeat(17)).await,
            not_found()
        );
        let (status, _) = call(Method::POST, "/x/ab/json", &"1".repeat(17)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn optional_body_defaults_only_when_empty() {
        assert_eq!(
            call(Method::POST, "/optional", "").await,
            (StatusCode::OK, "0".into())
        );
        assert_eq!(
            call(Method::POST, "/optional", r#"{"n":3}"#).await,
            (StatusCode::OK, "3".into())
        );
        for bad in ["{", " ", "null"] {
            assert_eq!(
                call(Method::POST, "/optional", bad).await.0,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn detailed_body_is_400_with_the_parsers_words() {
        assert_eq!(
            call(Method::POST, "/detailed", r#"{"n":1}"#).await,
            (StatusCode::OK, "1".into())
        );
        assert_eq!(
            call(Method::POST, "/detailed", "{").await,
            (
                StatusCode::BAD_REQUEST,
                "request unable to be parsed: EOF while parsing an object at line 1 column 1\n"
                    .into()
            )
        );
        let (status, body) = call(Method::POST, "/detailed", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.starts_with("request unable to be parsed: EOF"),
            "{body}"
        );
    }
}
