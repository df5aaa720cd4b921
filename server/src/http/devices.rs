//! `/devices` handlers (docs/heketi-api.md §8) and brick eviction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use heqet_api::{DeviceAddRequest, DeviceDeleteOptions, StateRequest, TagsChangeRequest};

use super::extract::{HexId, JsonBody, OptionalJsonBody};
use super::tags::change_tags;
use super::{accepted, json, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store::Tagged;
use crate::validate;

pub async fn add(
    State(st): State<SharedState>,
    JsonBody(req): JsonBody<DeviceAddRequest>,
) -> ApiResult<Response> {
    validate::device_add(&req)?;
    let qid = st.engine.device_add(req).await?;
    Ok(accepted(&qid))
}

pub async fn info(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let info = st
        .engine
        .store
        .read()
        .device_info_by_id(&id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

/// The body is optional; heketi reads it only when one was sent.
pub async fn delete(
    State(st): State<SharedState>,
    HexId(id): HexId,
    OptionalJsonBody(opts): OptionalJsonBody<DeviceDeleteOptions>,
) -> ApiResult<Response> {
    let qid = st.engine.device_delete(&id, opts.forceforget).await?;
    Ok(accepted(&qid))
}

pub async fn set_state(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<StateRequest>,
) -> ApiResult<Response> {
    let to = validate::state(&req.state, &req.healcheck)?;
    let qid = st
        .engine
        .device_state(&id, to, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}

pub async fn resync(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let qid = st.engine.device_resync(&id).await?;
    Ok(accepted(&qid))
}

pub async fn set_tags(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<TagsChangeRequest>,
) -> ApiResult<Response> {
    change_tags(&st, Tagged::Device, &id, &req).await
}

/// `POST /bricks/to-evict/{id}`'s optional body.
#[derive(serde::Deserialize, Default)]
pub struct EvictRequest {
    #[serde(default)]
    healcheck: String,
}

pub async fn evict_brick(
    State(st): State<SharedState>,
    HexId(id): HexId,
    OptionalJsonBody(req): OptionalJsonBody<EvictRequest>,
) -> ApiResult<Response> {
    if !matches!(req.healcheck.as_str(), "" | "enable" | "disable") {
        return Err(ApiError::Validation(
            "healcheck: must be a valid value.".into(),
        ));
    }
    let qid = st
        .engine
        .brick_evict(&id, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}
