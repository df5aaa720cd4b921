//! `/volumes` handlers (docs/heketi-api.md §9).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use heqet_api::{
    VolumeBlockRestrictionRequest, VolumeCloneRequest, VolumeCreateRequest, VolumeExpandRequest,
    VolumeListResponse,
};

use super::extract::{HexId, JsonBody};
use super::{accepted, json, SharedState};
use crate::auth::Role;
use crate::engine::NewVolume;
use crate::error::{ApiError, ApiResult};
use crate::validate;

pub async fn create(
    State(st): State<SharedState>,
    Extension(role): Extension<Role>,
    JsonBody(req): JsonBody<VolumeCreateRequest>,
) -> ApiResult<Response> {
    let plan = validate::volume_create(&req)?;
    let qid = st
        .engine
        .volume_create(NewVolume {
            req,
            plan,
            owner: role,
        })
        .await?;
    Ok(accepted(&qid))
}

pub async fn list(State(st): State<SharedState>) -> ApiResult<Response> {
    let volumes = st.engine.store.read().volume_ids().await?;
    Ok(json(StatusCode::OK, &VolumeListResponse { volumes }))
}

pub async fn info(
    State(st): State<SharedState>,
    Extension(role): Extension<Role>,
    HexId(id): HexId,
) -> ApiResult<Response> {
    let (info, owner) = st
        .engine
        .store
        .read()
        .volume_info_by_id(&id)
        .await?
        .ok_or(ApiError::IdNotFound)?;
    if role == Role::User && owner != "user" {
        return Err(ApiError::admin_required());
    }
    Ok(json(StatusCode::OK, &info))
}

pub async fn delete(State(st): State<SharedState>, HexId(id): HexId) -> ApiResult<Response> {
    let qid = st.engine.volume_delete(&id).await?;
    Ok(accepted(&qid))
}

pub async fn expand(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<VolumeExpandRequest>,
) -> ApiResult<Response> {
    let mut f = validate::Fields::default();
    if req.expand_size == 0 {
        f.add("expand_size", "cannot be blank");
    } else if req.expand_size < 1 {
        f.add("expand_size", "must be no less than 1");
    }
    f.finish()?;
    let qid = st.engine.volume_expand(&id, req.expand_size).await?;
    Ok(accepted(&qid))
}

pub async fn clone(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<VolumeCloneRequest>,
) -> ApiResult<Response> {
    if !req.name.is_empty() && !validate::is_volume_name(&req.name) {
        return Err(ApiError::Validation(
            "name: must be in a valid format.".into(),
        ));
    }
    let qid = st.engine.volume_clone(&id, &req.name).await?;
    Ok(accepted(&qid))
}

pub async fn block_restriction(
    State(st): State<SharedState>,
    HexId(id): HexId,
    JsonBody(req): JsonBody<VolumeBlockRestrictionRequest>,
) -> ApiResult<Response> {
    if !matches!(req.restriction.as_str(), "" | "locked") {
        return Err(ApiError::Validation(
            "restriction: must be a valid value.".into(),
        ));
    }
    let Some((info, _)) = st.engine.store.read().volume_info_by_id(&id).await? else {
        return Err(ApiError::IdNotFound);
    };
    if !info.block {
        return Err(ApiError::Internal(
            "Failed to set block restriction: Block restrictions can only be set on block hosting volumes"
                .into(),
        ));
    }
    let qid = st
        .engine
        .volume_block_restriction(&id, &req.restriction)
        .await?;
    Ok(accepted(&qid))
}
