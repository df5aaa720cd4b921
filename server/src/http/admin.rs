//! Administration and diagnostics (docs/heketi-api.md §10) and heqet's `GET /topology`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use heqet_api::{
    AdminStatus, LogLevelInfo, OperationsInfo, PendingChangeInfo, PendingOperationDetails,
    PendingOperationInfo, PendingOperationListResponse, PendingOperationsCleanRequest,
};

use super::extract::{DetailedJsonBody, HexId, OptionalJsonBody};
use super::{accepted, json, AdminMode, SharedState, UnknownMode};
use crate::error::{ApiError, ApiResult};
use crate::model::OpStatus;
use crate::model::OperationRow;
use crate::store;

pub async fn hello() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
        "Hello from Heketi",
    )
        .into_response()
}

pub async fn topology(State(st): State<SharedState>) -> ApiResult<Response> {
    // Read first (errors still get a proper status), then stream the document.
    let snap = st.engine.store.read().topology().await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    tokio::spawn(store::render_topology(snap, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| {
            (
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(chunk)),
                rx,
            )
        })
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

pub async fn backup_db(State(st): State<SharedState>) -> ApiResult<Response> {
    let bytes = st.engine.store.backup_bytes().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"heketi.db\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

fn indented<T: serde::Serialize>(value: &T) -> ApiResult<Response> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value
        .serialize(&mut ser)
        .map_err(|e| ApiError::Internal(format!("cannot encode: {e}")))?;
    buf.push(b'\n');
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        buf,
    )
        .into_response())
}

pub async fn db_dump(State(st): State<SharedState>) -> ApiResult<Response> {
    let dump = st.engine.store.read().db_dump().await?;
    indented(&dump)
}

pub async fn db_check(State(st): State<SharedState>) -> ApiResult<Response> {
    let report = st.engine.store.read().db_check().await?;
    indented(&report)
}

pub async fn get_logging(State(st): State<SharedState>) -> ApiResult<Response> {
    let level = st
        .loglevel
        .read()
        .map(|l| l.clone())
        .unwrap_or_else(|_| "info".into());
    let mut info = LogLevelInfo::default();
    info.loglevel.insert("glusterfs".into(), level);
    Ok(json(StatusCode::OK, &info))
}

pub async fn set_logging(
    State(st): State<SharedState>,
    DetailedJsonBody(req): DetailedJsonBody<LogLevelInfo>,
) -> ApiResult<Response> {
    let Some(level) = req.loglevel.get("glusterfs") else {
        return Err(ApiError::Unprocessable(
            "Only \"glusterfs\" logger may be modified".into(),
        ));
    };
    if !matches!(
        level.as_str(),
        "none" | "critical" | "error" | "warning" | "info" | "debug"
    ) {
        return Err(ApiError::Unprocessable(format!(
            "invalid log level: {level}"
        )));
    }
    if let Some(set) = &st.log_setter {
        set(level).map_err(ApiError::Internal)?;
    }
    if let Ok(mut l) = st.loglevel.write() {
        *l = level.clone();
    }
    get_logging(State(st)).await
}

pub async fn examine_gluster() -> ApiError {
    ApiError::Internal(
        "State examination is not supported by heqet; use GET /db/check and the node commands"
            .into(),
    )
}

fn info_of(st: &SharedState, op: &OperationRow) -> PendingOperationInfo {
    PendingOperationInfo {
        id: op.id.clone(),
        type_name: op.kind.clone(),
        status: op.status.as_str().to_string(),
        sub_status: if st.engine.is_in_flight(&op.id) {
            "in-flight".into()
        } else {
            String::new()
        },
    }
}

pub async fn operations_info(State(st): State<SharedState>) -> ApiResult<Response> {
    let ops = st.engine.store.read().operation_rows().await?;
    let count = |s: OpStatus| ops.iter().filter(|o| o.status == s).count() as u64;
    Ok(json(
        StatusCode::OK,
        &OperationsInfo {
            total: ops.len() as u64,
            in_flight: st.engine.in_flight_count() as u64,
            stale: count(OpStatus::Stale),
            failed: count(OpStatus::Failed),
            new: count(OpStatus::New),
        },
    ))
}

pub async fn operations_list(State(st): State<SharedState>) -> ApiResult<Response> {
    let ops = st.engine.store.read().operation_rows().await?;
    Ok(json(
        StatusCode::OK,
        &PendingOperationListResponse {
            pendingoperations: ops.iter().map(|o| info_of(&st, o)).collect(),
        },
    ))
}

pub async fn operation_details(
    State(st): State<SharedState>,
    HexId(id): HexId,
) -> ApiResult<Response> {
    let op = st
        .engine
        .store
        .read()
        .operation_row(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Id not found: {id}")))?;
    let info = info_of(&st, &op);
    Ok(json(
        StatusCode::OK,
        &PendingOperationDetails {
            id: info.id,
            type_name: info.type_name,
            status: info.status,
            sub_status: info.sub_status,
            changes: op
                .changes
                .0
                .iter()
                .map(|c| PendingChangeInfo {
                    id: c.id.clone(),
                    description: c.description.clone(),
                })
                .collect(),
        },
    ))
}

pub async fn operations_cleanup(
    State(st): State<SharedState>,
    OptionalJsonBody(req): OptionalJsonBody<PendingOperationsCleanRequest>,
) -> ApiResult<Response> {
    let mut f = crate::validate::Fields::default();
    if req.operations.len() > 32 {
        f.add("operations", "the length must be no more than 32");
    }
    for id in &req.operations {
        if !crate::validate::is_uuid(id) {
            f.add("operations", format!("{id} is not a valid UUID"));
        }
    }
    f.finish()?;
    let queue_id = st.engine.start_cleanup(req.operations).await?;
    Ok(accepted(&queue_id))
}

pub async fn get_mode(State(st): State<SharedState>) -> ApiResult<Response> {
    let state = st.mode().to_string();
    Ok(json(StatusCode::OK, &AdminStatus { state }))
}

pub async fn set_mode(
    State(st): State<SharedState>,
    DetailedJsonBody(req): DetailedJsonBody<AdminStatus>,
) -> ApiResult<Response> {
    let mode: AdminMode = req
        .state
        .parse()
        .map_err(|e: UnknownMode| ApiError::Validation(format!("state: {e}.")))?;
    st.set_mode(mode);
    Ok(StatusCode::NO_CONTENT.into_response())
}
