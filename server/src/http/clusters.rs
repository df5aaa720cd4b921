//! `/clusters` handlers (heketi-api.md §6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heqet_api::{ClusterCreateRequest, ClusterListResponse, ClusterSetFlagsRequest};

use super::extract::{HexId, JsonBody};
use super::{json, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store::{self, resources};

pub async fn create(
    State(st): State<SharedState>,
    JsonBody(req): JsonBody<ClusterCreateRequest>,
) -> ApiResult<Response> {
    let id = heqet_api::id::new_id();
    {
        let mut w = st.engine.store.writer().await;
        resources::insert_cluster(&mut w.conn, &id, req.block, req.file).await?;
    }
    let info = store::cluster_info(&st.engine.store.read, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("cluster vanished after create".into()))?;
    Ok(json(StatusCode::CREATED, &info))
}

pub async fn list(State(st): State<SharedState>) -> ApiResult<Response> {
    let clusters = store::cluster_ids(&st.engine.store.read).await?;
    Ok(json(StatusCode::OK, &ClusterListResponse { clusters }))
}

pub async fn info(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let info = store::cluster_info(&st.engine.store.read, &id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let mut w = st.engine.store.writer().await;
    if store::cluster_row(&mut w.conn, &id).await?.is_none() {
        return Err(ApiError::IdNotFound);
    }
    // Checked and deleted under the writer, so a node add cannot slip in between.
    if resources::cluster_member_count(&mut w.conn, &id).await? > 0 {
        return Err(ApiError::Conflict(format!(
            "Unable to delete cluster [{id}] because it contains volumes and/or nodes"
        )));
    }
    resources::delete_cluster(&mut w.conn, &id).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn set_flags(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<ClusterSetFlagsRequest>,
) -> ApiResult<Response> {
    let mut w = st.engine.store.writer().await;
    if !resources::set_cluster_flags(&mut w.conn, &id, req.block, req.file).await? {
        return Err(ApiError::IdNotFound);
    }
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Ok(resp)
}
