//! `/clusters` handlers (docs/heketi-api.md §6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heqet_api::{ClusterCreateRequest, ClusterListResponse, ClusterSetFlagsRequest};

use super::extract::{HexId, JsonBody};
use super::{json, SharedState};
use crate::error::{ApiError, ApiResult};

pub async fn create(
    State(st): State<SharedState>,
    JsonBody(req): JsonBody<ClusterCreateRequest>,
) -> ApiResult<Response> {
    let id = heqet_api::id::new_id();
    {
        let mut w = st.engine.store.writer().await;
        let mut tx = w.begin().await?;
        tx.insert_cluster(&id, req.block, req.file).await?;
        tx.commit().await?;
    }
    let info = st
        .engine
        .store
        .read()
        .cluster_info(&id)
        .await?
        .ok_or_else(|| ApiError::Internal("cluster vanished after create".into()))?;
    Ok(json(StatusCode::CREATED, &info))
}

pub async fn list(State(st): State<SharedState>) -> ApiResult<Response> {
    let clusters = st.engine.store.read().cluster_ids().await?;
    Ok(json(StatusCode::OK, &ClusterListResponse { clusters }))
}

pub async fn info(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let info = st
        .engine
        .store
        .read()
        .cluster_info(&id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let mut w = st.engine.store.writer().await;
    let mut tx = w.begin().await?;
    // Checked and deleted in one transaction, so a node add cannot slip in between.
    let used = tx
        .cluster_contents(&id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    if used > 0 {
        return Err(ApiError::Conflict(format!(
            "Unable to delete cluster [{id}] because it contains volumes and/or nodes"
        )));
    }
    tx.delete_cluster(&id).await?;
    tx.commit().await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn set_flags(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<ClusterSetFlagsRequest>,
) -> ApiResult<Response> {
    let mut w = st.engine.store.writer().await;
    let mut tx = w.begin().await?;
    if !tx.set_cluster_flags(&id, req.block, req.file).await? {
        return Err(ApiError::IdNotFound);
    }
    tx.commit().await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Ok(resp)
}
