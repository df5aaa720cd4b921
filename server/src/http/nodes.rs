//! `/nodes` handlers (heketi-api.md §7).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use heqet_api::{NodeAddRequest, StateRequest, Tags, TagsChangeRequest};

use super::{accepted, hex_id, json, parse, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::resources::{self, Tagged};
use crate::validate;

pub async fn add(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: NodeAddRequest = parse(&body)?;
    validate::node_add(&req)?;
    let qid = st.engine.node_add(req).await?;
    Ok(accepted(&qid))
}

pub async fn info(State(st): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let info = store::node_info_by_id(&st.engine.store.read, id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(State(st): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    let qid = st.engine.node_delete(id).await?;
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
        .node_state(id, &req.state, req.healcheck != "disable")
        .await?;
    Ok(accepted(&qid))
}

/// Apply a tag change request to `current` (heketi's set/update/delete semantics).
pub fn apply_tags(current: &mut Tags, req: &TagsChangeRequest) -> Result<(), ApiError> {
    let mut f = validate::Fields::default();
    if !matches!(req.change_type.as_str(), "set" | "update" | "delete") {
        f.add("change_type", "must be a valid value");
    }
    validate::check_tags(&mut f, "tags", &req.tags);
    f.finish()?;
    match req.change_type.as_str() {
        "set" => *current = req.tags.clone(),
        "update" => current.extend(req.tags.clone()),
        _ => {
            for k in req.tags.keys() {
                current.remove(k);
            }
        }
    }
    if current.len() > 32 {
        return Err(ApiError::Validation(format!(
            "tags: too many tags specified ({}), up to 32 supported.",
            current.len()
        )));
    }
    Ok(())
}

/// Shared by node and device tag routes: read, change, write under the writer lock.
pub async fn change_tags(
    st: &SharedState,
    of: Tagged,
    id: &str,
    body: &Bytes,
) -> ApiResult<Response> {
    let req: TagsChangeRequest = parse(body)?;
    let mut w = st.engine.store.writer().await;
    let mut tags = resources::live_tags(&mut w.conn, of, id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    apply_tags(&mut tags, &req)?;
    resources::set_tags(&mut w.conn, of, id, &tags).await?;
    w.devices.invalidate();
    Ok(json(StatusCode::OK, &tags))
}

pub async fn set_tags(
    State(st): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = hex_id(&id)?;
    change_tags(&st, Tagged::Node, id, &body).await
}
