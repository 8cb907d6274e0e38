//! `/v1/inboxes`: provision a batch (with an `Idempotency-Key`), list with a cursor and
//! filters, get, update, suspend, resume, delete, and export the credentials in each format.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiResult, Caller, Page, Problem, fail, json_body, page_size, path_id, query,
};
use crate::domain::api::Scope;
use crate::domain::inboxes::{BatchForm, ExportFormat, InboxFilter};
use crate::permissions::Need;
use crate::server::auth::TenantCtx;
use crate::server::db::inboxes::InboxRow;
use crate::server::services::inboxes::{self as svc, Change};
use crate::server::state::AppState;

/// A mailbox (its password is only in exports).
#[derive(Serialize, ToSchema)]
pub struct Inbox {
    pub id: String,
    pub address: String,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    pub domain_id: String,
    pub domain: String,
    /// `provisioning`, `active`, `suspended`, …
    pub status: String,
    /// The most it sends a day (warm-up allows fewer while it lasts).
    pub daily_cap: i32,
    /// The batch that made it.
    pub batch_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&InboxRow> for Inbox {
    fn from(r: &InboxRow) -> Self {
        Self {
            id: r.id.to_string(),
            address: r.address(),
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            display_name: r.display_name.clone(),
            domain_id: r.domain_id.to_string(),
            domain: r.domain.clone(),
            status: r.status.as_str().into(),
            daily_cap: r.daily_cap,
            batch_id: r.batch_id.map(|b| b.to_string()),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this domain's inboxes (its id).
    pub domain: Option<String>,
    /// Only inboxes with this status.
    pub status: Option<String>,
    /// Only this batch's inboxes.
    pub batch: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 200).
    pub limit: Option<i64>,
}

fn filter(q: &ListQuery) -> InboxFilter {
    InboxFilter {
        domain: q.domain.clone(),
        status: q.status.clone(),
        batch: q.batch.clone(),
        ids: None,
    }
}

/// The workspace's inboxes, by id, filtered.
#[utoipa::path(get, path = "/v1/inboxes", tag = "inboxes", params(ListQuery),
    responses((status = 200, body = Page<Inbox>), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Page<Inbox>>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let q: ListQuery = query(raw.as_deref())?;
    let limit = page_size(&state, q.limit)?;
    let after = match q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            uuid::Uuid::parse_str(c)
                .map_err(|_| ApiError::invalid("cursor", "This cursor is not one we gave."))?,
        ),
    };
    // One more than the page: whether there is a next one, without counting.
    let mut rows = svc::page(&state, &ctx, &filter(&q), after, limit + 1)
        .await
        .map_err(fail)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok(Json(Page {
        next_cursor: more
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten(),
        data: rows.iter().map(Inbox::from).collect(),
    }))
}

/// A batch to provision: `per_domain` inboxes on each domain, named by a convention.
#[derive(Deserialize, ToSchema)]
pub struct NewBatch {
    /// The active domains to put them on (ids).
    pub domains: Vec<String>,
    pub per_domain: u32,
    /// `first`, `first.last`, `flast`, `roles` or `personas`.
    pub convention: String,
    /// For `personas`: one "First Last" per line.
    #[serde(default)]
    pub personas: String,
    /// The display name: `full`, `first` or `company` ("James from Acme").
    #[serde(default = "full")]
    pub display: String,
    /// For `company`.
    #[serde(default)]
    pub company: String,
}

fn full() -> String {
    "full".into()
}

#[derive(Serialize, ToSchema)]
pub struct Batch {
    pub batch_id: String,
    pub count: usize,
    /// True when this `Idempotency-Key` had already made the batch: nothing new was made.
    pub existing: bool,
}

/// Provisions a batch. Send a unique `Idempotency-Key` header: repeating the request with the
/// same key returns the same batch (`existing: true`) and creates nothing twice.
#[utoipa::path(post, path = "/v1/inboxes", tag = "inboxes", request_body = NewBatch,
    params(("Idempotency-Key" = String, Header, description = "Unique per batch, up to 200 characters")),
    responses((status = 201, body = Batch), (status = 200, body = Batch, description = "The same key's batch, already made"),
        (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn provision(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ctx = caller.allow(Scope::InboxesWrite, Need::Manage)?;
    ctx.require_verified().map_err(fail)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Idempotency-Key required",
                "Send an `Idempotency-Key` header (unique per batch, up to 200 printable ASCII characters), so a retried request never makes the batch twice.",
            )
        })?
        .to_string();
    let b: NewBatch = json_body(&body)?;
    let form = BatchForm {
        domains: b.domains.join(","),
        per_domain: b.per_domain.to_string(),
        convention: b.convention,
        personas: b.personas,
        display: b.display,
        company: b.company,
    };
    // Any key the caller likes, stored as its hash under a prefix of its own: the web
    // wizard's keys and the API's never meet.
    let stored: String = crate::server::crypto::token_hash(&key)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let done = svc::provision(
        &state,
        &ctx,
        &form,
        &format!("api-{stored}"),
        &caller.actor(),
    )
    .await
    .map_err(fail)?;
    let status = if done.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Batch {
            batch_id: done.batch_id,
            count: done.count,
            existing: done.existing,
        }),
    )
        .into_response())
}

/// One inbox with its SMTP and IMAP settings.
#[derive(Serialize, ToSchema)]
pub struct InboxDetails {
    #[serde(flatten)]
    pub inbox: InboxSummary,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub imap_host: String,
    pub imap_port: u16,
    /// What it may send today (warm-up or its cap, whichever is lower).
    pub allowance_today: i32,
    pub warmup_day: i32,
}

#[derive(Serialize, ToSchema)]
pub struct InboxSummary {
    pub id: String,
    pub address: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub domain: String,
    pub status: String,
    pub daily_cap: i32,
}

async fn details(
    state: &AppState,
    ctx: &crate::server::auth::TenantCtx,
    id: uuid::Uuid,
) -> ApiResult<InboxDetails> {
    let d = svc::detail(state, ctx, id).await.map_err(fail)?;
    Ok(InboxDetails {
        inbox: InboxSummary {
            id: d.item.id,
            address: d.item.address,
            display_name: d.item.display_name,
            first_name: d.first_name,
            last_name: d.last_name,
            domain: d.item.domain,
            status: d.item.status,
            daily_cap: d.item.daily_cap,
        },
        smtp_host: d.smtp_host,
        smtp_port: d.smtp_port,
        imap_host: d.imap_host,
        imap_port: d.imap_port,
        allowance_today: d.allowance_today,
        warmup_day: d.warmup_day,
    })
}

#[utoipa::path(get, path = "/v1/inboxes/{id}", tag = "inboxes",
    params(("id" = String, Path, description = "The inbox's id")),
    responses((status = 200, body = InboxDetails), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxDetails>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    Ok(Json(details(&state, &ctx, path_id(&id)?).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct InboxChange {
    /// The name recipients see; unchanged when absent.
    pub display_name: Option<String>,
    /// Messages a day; unchanged when absent.
    pub daily_cap: Option<i32>,
}

/// Changes an inbox's display name or daily cap.
#[utoipa::path(patch, path = "/v1/inboxes/{id}", tag = "inboxes", request_body = InboxChange,
    params(("id" = String, Path, description = "The inbox's id")),
    responses((status = 200, body = InboxDetails), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<InboxDetails>> {
    let ctx = caller.allow(Scope::InboxesWrite, Need::Manage)?;
    let id = path_id(&id)?;
    let b: InboxChange = json_body(&body)?;
    let now = svc::detail(&state, &ctx, id).await.map_err(fail)?;
    let name = b.display_name.unwrap_or(now.item.display_name);
    let cap = b.daily_cap.unwrap_or(now.item.daily_cap).to_string();
    svc::update(&state, &ctx, id, &name, &cap, &caller.actor())
        .await
        .map_err(fail)?;
    Ok(Json(details(&state, &ctx, id).await?))
}

async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: Change,
) -> ApiResult<(TenantCtx, uuid::Uuid)> {
    let ctx = caller.allow(Scope::InboxesWrite, Need::Manage)?;
    let id = path_id(id)?;
    svc::change(state, &ctx, id, change, &caller.actor())
        .await
        .map_err(fail)?;
    Ok((ctx, id))
}

/// Stops the inbox sending (the relay refuses its mail) until resumed.
#[utoipa::path(post, path = "/v1/inboxes/{id}/suspend", tag = "inboxes",
    params(("id" = String, Path, description = "The inbox's id")),
    responses((status = 200, body = InboxDetails), (status = 404, body = Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxDetails>> {
    let (ctx, id) = change(&state, &caller, &id, Change::Suspend).await?;
    Ok(Json(details(&state, &ctx, id).await?))
}

#[utoipa::path(post, path = "/v1/inboxes/{id}/resume", tag = "inboxes",
    params(("id" = String, Path, description = "The inbox's id")),
    responses((status = 200, body = InboxDetails), (status = 404, body = Problem)))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxDetails>> {
    let (ctx, id) = change(&state, &caller, &id, Change::Resume).await?;
    Ok(Json(details(&state, &ctx, id).await?))
}

/// Deletes the inbox: its login stops working at once.
#[utoipa::path(delete, path = "/v1/inboxes/{id}", tag = "inboxes",
    params(("id" = String, Path, description = "The inbox's id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    change(&state, &caller, &id, Change::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `generic`, `instantly`, `smartlead` or `salesforge`.
    pub format: Option<String>,
    pub domain: Option<String>,
    pub status: Option<String>,
    pub batch: Option<String>,
    /// Comma-separated inbox ids.
    pub ids: Option<String>,
}

/// The credentials (passwords included) as CSV in a cold-email tool's import format. Needs
/// the `credentials:read` scope; every export is in the audit trail.
#[utoipa::path(get, path = "/v1/inboxes/export", tag = "inboxes", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let ctx = caller.allow(Scope::CredentialsRead, Need::Manage)?;
    let q: ExportQuery = query(raw.as_deref())?;
    let format =
        ExportFormat::parse(q.format.as_deref().unwrap_or("generic")).ok_or_else(|| {
            ApiError::invalid(
                "format",
                "Choose generic, instantly, smartlead or salesforge.",
            )
        })?;
    let filter = InboxFilter {
        domain: q.domain,
        status: q.status,
        batch: q.batch,
        ids: q.ids,
    };
    let (name, csv) = svc::export(&state, &ctx, &filter, format, &caller.actor())
        .await
        .map_err(fail)?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
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
        .into_response())
}
