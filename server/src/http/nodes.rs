//! `/nodes` handlers (docs/heketi-api.md §7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use heqet_api::{NodeAddRequest, StateRequest, TagsChangeRequest};

use super::extract::{HexId, JsonBody};
use super::tags::change_tags;
use super::{accepted, json, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store::Tagged;
use crate::validate;

pub async fn add(
    State(st): State<SharedState>,
    JsonBody(req): JsonBody<NodeAddRequest>,
) -> ApiResult<Response> {
    validate::node_add(&req)?;
    let qid = st.engine.node_add(req).await?;
    Ok(accepted(&qid))
}

pub async fn info(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let info = st
        .engine
        .store
        .read()
        .node_info_by_id(&id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let qid = st.engine.node_delete(&id).await?;
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
        .node_state(&id, to, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}

pub async fn set_tags(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<TagsChangeRequest>,
) -> ApiResult<Response> {
    change_tags(&st, Tagged::Node, &id, &req).await
}
