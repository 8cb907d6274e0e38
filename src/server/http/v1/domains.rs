//! `/v1/domains`: search, list, get (records and health), connect, buy (a Checkout URL),
//! recheck, delete.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, Caller, Page, Problem, fail, json_body, page_size, path_id, query};
use crate::domain::api::Scope;
use crate::domain::domains::{DomainDetail, DomainListItem};
use crate::permissions::Need;
use crate::server::services::domains as svc;
use crate::server::state::AppState;

/// A sending domain.
#[derive(Serialize, ToSchema)]
pub struct Domain {
    pub id: String,
    pub name: String,
    /// `pending`, `registering`, `configuring_dns`, `verifying`, `active`, `failed`, …
    pub status: String,
    /// `ok`, `broken` or `unknown`: the last check of its DNS records.
    pub health: String,
    pub health_summary: String,
    /// When the registration ends (`YYYY-MM-DD`), for domains bought here.
    pub expires: Option<String>,
    /// Connected (the customer's own) rather than bought here.
    pub connected: bool,
}

impl From<DomainListItem> for Domain {
    fn from(d: DomainListItem) -> Self {
        Self {
            id: d.id,
            name: d.name,
            status: d.status,
            health: d.health,
            health_summary: d.health_label,
            expires: d.expires,
            connected: d.byod,
        }
    }
}

/// One DNS record we set or expect, and what the last check found.
#[derive(Serialize, ToSchema)]
pub struct Record {
    /// `mx`, `spf`, `dkim`, `dmarc`, …
    pub purpose: String,
    /// `MX`, `TXT`, `CNAME`, …
    pub kind: String,
    pub name: String,
    pub value: String,
    /// `ok`, `missing`, `invalid` or `unknown` (not checked yet).
    pub status: String,
    pub found: Vec<String>,
    /// What to change, when it is not right.
    pub fix: Option<String>,
}

/// A domain with its records and health.
#[derive(Serialize, ToSchema)]
pub struct DomainDetails {
    pub id: String,
    pub name: String,
    pub status: String,
    pub health: String,
    pub connected: bool,
    /// Its zone is in our DNS account: records are set and repaired for you.
    pub managed: bool,
    pub failure_reason: Option<String>,
    pub expires: Option<String>,
    /// Where the domain must delegate (connected domains).
    pub nameservers: Vec<String>,
    pub last_checked: Option<String>,
    pub records: Vec<Record>,
    /// Still being set up.
    pub in_progress: bool,
    /// The health score (0–100), once computed.
    pub score: Option<u8>,
}

impl From<DomainDetail> for DomainDetails {
    fn from(d: DomainDetail) -> Self {
        Self {
            id: d.id,
            name: d.name,
            status: d.status,
            health: d.health,
            connected: d.byod,
            managed: d.managed,
            failure_reason: d.failure_reason,
            expires: d.expires,
            nameservers: d.nameservers,
            last_checked: d.last_checked,
            records: d
                .records
                .into_iter()
                .map(|r| Record {
                    purpose: r.purpose,
                    kind: r.kind,
                    name: r.name,
                    value: r.value,
                    status: r.status,
                    found: r.found,
                    fix: r.fix,
                })
                .collect(),
            in_progress: d.in_progress,
            score: d.score.map(|s| s.0),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 200).
    pub limit: Option<i64>,
}

/// The workspace's domains, by id.
#[utoipa::path(get, path = "/v1/domains", tag = "domains", params(ListQuery),
    responses((status = 200, body = Page<Domain>), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Page<Domain>>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let q: ListQuery = query(raw.as_deref())?;
    let limit = page_size(&state, q.limit)? as usize;
    // A workspace's domains are bounded by its plan (hundreds at most): read whole, paged here.
    let mut all = svc::list(&state, &ctx).await.map_err(fail)?.domains;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let after = q.cursor.unwrap_or_default();
    let mut rest: Vec<DomainListItem> = all.into_iter().filter(|d| d.id > after).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next_cursor = more.then(|| rest.last().map(|d| d.id.clone())).flatten();
    Ok(Json(Page {
        data: rest.into_iter().map(Domain::from).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// A name (`acme-mail.com`) or a keyword (`acme`, tried on several extensions).
    pub q: String,
}

/// One search result.
#[derive(Serialize, ToSchema)]
pub struct Availability {
    pub name: String,
    pub available: bool,
    /// The first year's price, e.g. `$13.98`.
    pub price: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub data: Vec<Availability>,
    /// Set when the plan's domain limit stops any purchase now.
    pub limit: Option<String>,
}

/// Availability and price of a name, or of a keyword on several extensions.
#[utoipa::path(get, path = "/v1/domains/search", tag = "domains", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<SearchResults>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let q: SearchQuery = query(raw.as_deref())?;
    let view = svc::search(&state, &ctx, &q.q).await.map_err(fail)?;
    Ok(Json(SearchResults {
        data: view
            .results
            .into_iter()
            .map(|r| Availability {
                name: r.name,
                available: r.available,
                price: r.price,
                note: r.note,
            })
            .collect(),
        limit: view.limit,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NameBody {
    /// The domain name, e.g. `acme-mail.com`.
    pub name: String,
}

/// Connects a domain the customer already owns: its records are set (managed zone) or listed
/// to set, and checked.
#[utoipa::path(post, path = "/v1/domains", tag = "domains", request_body = NameBody,
    responses((status = 201, body = DomainDetails), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn connect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let ctx = caller.allow(Scope::DomainsWrite, Need::Manage)?;
    ctx.require_verified().map_err(fail)?;
    let b: NameBody = json_body(&body)?;
    let id = svc::add_own(&state, &ctx, &b.name, &caller.actor())
        .await
        .map_err(fail)?;
    let detail = svc::detail(&state, &ctx, id).await.map_err(fail)?;
    Ok((StatusCode::CREATED, Json(DomainDetails::from(detail))).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Checkout {
    /// Open this Stripe Checkout page to pay; the domain is bought once it is paid.
    pub checkout_url: String,
}

/// Starts buying a domain: the answer is the Checkout page to pay it on.
#[utoipa::path(post, path = "/v1/domains/purchase", tag = "domains", request_body = NameBody,
    responses((status = 201, body = Checkout), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn purchase(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let ctx = caller.allow(Scope::DomainsWrite, Need::Manage)?;
    ctx.require_verified().map_err(fail)?;
    let b: NameBody = json_body(&body)?;
    let url = svc::buy(&state, &ctx, &b.name, &caller.actor())
        .await
        .map_err(fail)?;
    Ok((StatusCode::CREATED, Json(Checkout { checkout_url: url })).into_response())
}

/// One domain with its records and health.
#[utoipa::path(get, path = "/v1/domains/{id}", tag = "domains",
    params(("id" = String, Path, description = "The domain's id")),
    responses((status = 200, body = DomainDetails), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<DomainDetails>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let detail = svc::detail(&state, &ctx, path_id(&id)?)
        .await
        .map_err(fail)?;
    Ok(Json(detail.into()))
}

/// Checks every record again now.
#[utoipa::path(post, path = "/v1/domains/{id}/recheck", tag = "domains",
    params(("id" = String, Path, description = "The domain's id")),
    responses((status = 200, body = DomainDetails), (status = 404, body = Problem)))]
pub async fn recheck(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<DomainDetails>> {
    let ctx = caller.allow(Scope::DomainsWrite, Need::Manage)?;
    let id = path_id(&id)?;
    svc::recheck(&state, &ctx, id).await.map_err(fail)?;
    let detail = svc::detail(&state, &ctx, id).await.map_err(fail)?;
    Ok(Json(detail.into()))
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    /// What happened to it (a bought domain stays registered until it expires).
    pub note: String,
}

/// Removes a domain, its records and its inboxes.
#[utoipa::path(delete, path = "/v1/domains/{id}", tag = "domains",
    params(("id" = String, Path, description = "The domain's id")),
    responses((status = 200, body = Deleted), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    let ctx = caller.allow(Scope::DomainsWrite, Need::Manage)?;
    let note = svc::delete(&state, &ctx, path_id(&id)?, &caller.actor())
        .await
        .map_err(fail)?;
    Ok(Json(Deleted { note }))
}
