//! `/devices` handlers (heketi-api.md §8) and brick eviction.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use heqet_api::{DeviceAddRequest, DeviceDeleteOptions, StateRequest};

use super::{accepted, hex_id, json, nodes::change_tags, parse, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::resources::Tagged;
use crate::validate;

pub async fn add(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: DeviceAddRequest = parse(&body)?;
    validate::device_add(&req)?;
    let qid = st.engine.device_add(req).await?;
    Ok(accepted(&qid))
}

pub async fn info(State(st): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let info = store::device_info_by_id(&st.engine.store.read, id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    // The body is optional; heketi reads it only when one was sent.
    let opts: DeviceDeleteOptions = if body.is_empty() {
        DeviceDeleteOptions::default()
    } else {
        parse(&body)?
    };
    let qid = st.engine.device_delete(id, opts.forceforget).await?;
    Ok(accepted(&qid))
}

pub async fn set_state(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let req: StateRequest = parse(&body)?;
    validate::state(&req.state, &req.healcheck)?;
    let qid = st
        .engine
        .device_state(id, &req.state, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}

pub async fn resync(State(st): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let qid = st.engine.device_resync(id).await?;
    Ok(accepted(&qid))
}

pub async fn set_tags(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    change_tags(&st, Tagged::Device, id, &body).await
}

#[derive(serde::Deserialize, Default)]
struct EvictRequest {
    #[serde(default)]
    healcheck: String,
}

pub async fn evict_brick(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let req: EvictRequest = if body.is_empty() {
        EvictRequest::default()
    } else {
        parse(&body)?
    };
    if !matches!(req.healcheck.as_str(), "" | "enable" | "disable") {
        return Err(ApiError::Validation(
            "healcheck: must be a valid value.".into(),
        ));
    }
    let qid = st
        .engine
        .brick_evict(id, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}
