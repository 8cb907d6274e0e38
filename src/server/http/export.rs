//! Plain GET endpoints: `GET /inboxes/export?format=instantly&batch=…` (or `domain`,
//! `status`, `ids`), the credentials file as a download (signed-in members of the tenant
//! only; every export is audited by the service); `GET /settings/export`, the workspace
//! archive; `GET /api/auth/me`, who is signed in.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::domain::inboxes::{ExportFormat, InboxFilter};
use crate::error::AppError;
use crate::server::auth::{TypedSession, guard};
use crate::server::db::audit::{Actor, Origin};
use crate::server::http::middleware::ClientIp;
use crate::server::services::inboxes;
use crate::server::state::AppState;

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(flatten)]
    filter: InboxFilter,
}

fn error(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match &e {
        AppError::Invalid(errors) => errors
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_else(|| e.to_string()),
        AppError::NotFound => "No inboxes match this export.".to_string(),
        _ => e.to_string(),
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

pub async fn download(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    admitted: Option<Extension<guard::Admission>>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> Response {
    let admitted = admitted.map(|Extension(a)| a);
    let ctx = match guard::require_tenant(&state, &TypedSession(session), admitted.as_ref()).await {
        Ok(ctx) => ctx,
        Err(e) => return error(e),
    };
    let Some(format) = ExportFormat::parse(q.format.as_deref().unwrap_or("generic")) else {
        return error(AppError::Invalid(vec![crate::error::FieldError::new(
            "format",
            "Choose generic, instantly, smartlead or salesforge.",
        )]));
    };
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let actor = Actor::user(ctx.user_id().0, "", &Origin::new(Some(ip), ua));
    match inboxes::export(&state, &ctx, &q.filter, format, &actor).await {
        Ok((name, csv)) => {
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment"));
            (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/csv; charset=utf-8"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                csv,
            )
                .into_response()
        }
        Err(e) => error(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ArchiveQuery {
    #[serde(default)]
    id: String,
    #[serde(default)]
    token: String,
}

/// `GET /settings/export?id=…&token=…`: the workspace export a mailed link names, for the
/// workspace's owner (the door's role table), while the link lives. A visitor is sent to log
/// in first and comes back here.
pub async fn archive(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    admitted: Option<Extension<guard::Admission>>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<ArchiveQuery>,
) -> Response {
    let admitted = admitted.map(|Extension(a)| a);
    let ctx = match guard::require_tenant(&state, &TypedSession(session), admitted.as_ref()).await {
        Ok(ctx) => ctx,
        Err(AppError::Unauthorized) => {
            let next = uri
                .path_and_query()
                .map_or("/settings/export", |pq| pq.as_str());
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            return axum::response::Redirect::to(&format!("/login?{query}")).into_response();
        }
        Err(e) => return error(e),
    };
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let actor = Actor::user(ctx.user_id().0, "", &Origin::new(Some(ip), ua));
    match crate::server::services::workspace_export::download(&state, &ctx, &q.id, &q.token, &actor)
        .await
    {
        Ok((name, bytes)) => {
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment"));
            (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            let e: AppError = e.into();
            let message = match &e {
                AppError::Invalid(_) => "This download link has expired or is not for this workspace. Ask for a new export.".to_string(),
                other => other.to_string(),
            };
            (
                StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                message,
            )
                .into_response()
        }
    }
}

/// `GET /api/auth/me`: the signed-in user, the current workspace and role, and every
/// workspace they belong to, as JSON; 401 without a live session.
pub async fn me(State(state): State<AppState>, session: tower_sessions::Session) -> Response {
    let auth = TypedSession(session).auth().await.ok().flatten();
    match crate::server::services::team::me_of_session(&state, auth).await {
        Ok(view) => axum::Json(view).into_response(),
        Err(e) => {
            let e: AppError = e.into();
            (
                StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(e),
            )
                .into_response()
        }
    }
}
