//! One log line per request (method, path, status, time), so a working server does not look
//! idle: at info for changes and failures, at debug for successful reads (a client polling
//! `/queue` would drown everything else). Never the body, the query or the token.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

pub async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let read = matches!(method, Method::GET | Method::HEAD);
    if read && status < 400 {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    resp
}
