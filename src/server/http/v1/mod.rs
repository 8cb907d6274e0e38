//! The public `/v1` JSON API: separate from the app's server functions, stable, documented by
//! an OpenAPI 3.1 document generated from these handlers (`/v1/openapi.json`, read by
//! `/docs/api`).
//!
//! Every `/v1` request passes [`door`]: the key (`Authorization: Bearer igk_…`) is admitted
//! (one query: the key, its creator's membership and role, the workspace's suspension), then
//! the tenant's rate limits, then the month's metered allowance. A handler gets its
//! `TenantCtx` only through [`Caller::allow`], which checks the key's scope and its creator's
//! role. Errors are RFC 9457 problem details (`application/problem+json`) with a stable
//! `type` per error; every list is paginated with a cursor and a bounded page size.

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::api::Scope;
use crate::error::AppError;
use crate::permissions::Need;
use crate::server::auth::TenantCtx;
use crate::server::auth::guard::{self, KeyAdmission};
use crate::server::db::audit::{Actor, Origin};
use crate::server::http::middleware::ClientIp;
use crate::server::metrics::RefusedBy;
use crate::server::state::AppState;

pub mod account;
pub mod docs;
pub mod domains;
pub mod inboxes;

/// Where every problem `type` lives: `{PROBLEMS}{slug}` (listed on `/docs/api`).
pub const PROBLEMS: &str = "https://inboxgrove.com/problems/";

/// An RFC 9457 problem: what went wrong, for people (`title`, `detail`) and programs (`type`,
/// `status`, the fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI that names this kind of error; stable.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For `invalid-request`: each field's message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// An error answered as a problem.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldProblem>,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "Invalid request",
            message.clone(),
        );
        e.errors.push(FieldProblem {
            field: field.into(),
            message,
        });
        e
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "There is no such object in this workspace.",
        )
    }
}

/// Every problem `type` this API answers with, and when (the reference page lists them).
pub const PROBLEM_TYPES: &[(&str, u16, &str)] = &[
    (
        "unauthorized",
        401,
        "No API key, or not as `Authorization: Bearer igk_…`.",
    ),
    (
        "invalid-key",
        401,
        "The key does not exist, was revoked or has expired, or its creator left the workspace.",
    ),
    (
        "insufficient-scope",
        403,
        "The key lacks the scope this endpoint needs.",
    ),
    (
        "forbidden",
        403,
        "The key's creator's role does not allow this, or the workspace cannot do it now.",
    ),
    (
        "workspace-suspended",
        403,
        "The workspace is suspended; `detail` says why and how to reach support.",
    ),
    (
        "not-found",
        404,
        "No such object in this workspace (another workspace's ids are not found either).",
    ),
    (
        "conflict",
        409,
        "The request conflicts with existing data (a name taken, a limit reached).",
    ),
    (
        "invalid-request",
        422,
        "A field is missing or wrong; `errors` names each.",
    ),
    (
        "bad-request",
        400,
        "The body is not JSON of the documented shape, or a header is missing.",
    ),
    (
        "rate-limited",
        429,
        "Too many requests this minute or hour; wait `Retry-After` seconds.",
    ),
    (
        "quota-exhausted",
        429,
        "The plan's API calls for this month are spent; `RateLimit-Reset` says when they renew.",
    ),
    (
        "upstream",
        502,
        "A provider (registrar, payments) failed; `detail` says what to do.",
    ),
    ("internal", 500, "Something failed on our side; try again."),
];

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let detail = e.to_string();
        match e {
            AppError::Invalid(fields) => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-request",
                    "Invalid request",
                    fields.first().map_or(detail, |f| f.message.clone()),
                );
                err.errors = fields
                    .into_iter()
                    .map(|f| FieldProblem {
                        field: f.field,
                        message: f.message,
                    })
                    .collect();
                err
            }
            AppError::Conflict(f) => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail);
                err.errors.push(FieldProblem {
                    field: f.field,
                    message: f.message,
                });
                err
            }
            AppError::InvalidCredentials | AppError::Unauthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid-key",
                "Invalid API key",
                "This API key is not valid.",
            ),
            AppError::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            AppError::NotFound => ApiError::not_found(),
            AppError::RateLimited { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                detail,
            )
            .header("retry-after", retry_after_secs),
            AppError::Internal => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                detail,
            ),
            AppError::Upstream(_) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream",
                "Provider error",
                detail,
            ),
            AppError::Transport(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                detail,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("{PROBLEMS}{}", self.slug),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let mut res = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            serde_json::to_vec(&body).unwrap_or_default(),
        )
            .into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Any service error, through the app's one error type.
pub fn fail(e: impl Into<AppError>) -> ApiError {
    ApiError::from(e.into())
}

/// The admitted key of this request, where it came from, and the tenant context behind it.
#[derive(Clone)]
pub struct Caller {
    key: KeyAdmission,
    origin: Origin,
}

impl Caller {
    /// The tenant context for an endpoint that needs `scope` (of the key) and `need` (of its
    /// creator's current role).
    pub fn allow(&self, scope: Scope, need: Need) -> ApiResult<TenantCtx> {
        if !self.key.scopes.contains(&scope) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "Insufficient scope",
                format!("This API key lacks the “{}” scope.", scope.as_str()),
            ));
        }
        self.key.allow(scope, need).map_err(ApiError::from)
    }

    /// Who did it, for the audit trail: the key's creator, through this key.
    pub fn actor(&self) -> Actor {
        Actor::user(
            self.key.user_id().0,
            &format!("api key {}", self.key.prefix),
            &self.origin,
        )
    }
}

/// A JSON body of the documented shape, or a `bad-request` problem saying what is wrong.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            format!("The body is not the JSON this endpoint takes: {e}."),
        )
    })
}

/// The query string as `T`, or a `bad-request` problem.
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            format!("The query string is not valid: {e}."),
        )
    })
}

/// The page size asked for, bounded by `api.max_page_size` (the default when none).
pub fn page_size(state: &AppState, limit: Option<i64>) -> ApiResult<i64> {
    let api = &state.settings.api;
    match limit {
        None => Ok(api.page_size),
        Some(n) if (1..=api.max_page_size).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "limit",
            format!("Ask for 1 to {} items per page.", api.max_page_size),
        )),
    }
}

/// An id from the path: one that is not a UUID names nothing here (404).
pub fn path_id(raw: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found())
}

/// A page of a list and the cursor of the next one (`null` on the last page).
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The door of every `/v1` endpoint (see the module's documentation).
async fn door(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(token) = bearer(req.headers()).map(str::to_string) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API key required",
            "Send your API key as `Authorization: Bearer igk_…` (make one on Settings → API).",
        )
        .header("www-authenticate", "Bearer")
        .into_response();
    };
    let key = match guard::admit_key(&state, &token).await {
        Ok(Some(key)) => key,
        Ok(None) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid-key",
                "Invalid API key",
                "This API key does not exist, was revoked or has expired.",
            )
            .header("www-authenticate", "Bearer error=\"invalid_token\"")
            .into_response();
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "admitting an API key failed");
            return fail(AppError::Internal).into_response();
        }
    };
    if let Some(category) = &key.suspension {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "workspace-suspended",
            "Workspace suspended",
            crate::server::services::suspensions::notice(category),
        )
        .into_response();
    }
    let tenant = key.tenant_id();
    if let Err(l) = state.rate_limits.tenant(tenant.0) {
        let mut res = fail(AppError::RateLimited {
            retry_after_secs: l.retry_after_secs,
        })
        .into_response();
        res.extensions_mut().insert(RefusedBy("tenant"));
        return res;
    }
    let reading = match state
        .api_meter
        .count(&state.pool, &state.settings, tenant)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "metering an API call failed");
            return fail(AppError::Internal).into_response();
        }
    };
    let stamp = |h: &mut HeaderMap| {
        h.insert("ratelimit-limit", HeaderValue::from(reading.allowed));
        h.insert("ratelimit-remaining", HeaderValue::from(reading.remaining));
        h.insert("ratelimit-reset", HeaderValue::from(reading.reset_secs));
        if let Ok(v) =
            HeaderValue::from_str(&format!("{};w={}", reading.allowed, reading.reset_secs))
        {
            h.insert("ratelimit-policy", v);
        }
    };
    if !reading.admitted {
        let mut res = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "quota-exhausted",
            "Monthly API calls spent",
            format!(
                "This workspace's {} API calls for this month are spent. They renew on the 1st (UTC); a larger plan has more.",
                reading.allowed
            ),
        )
        .header("retry-after", reading.reset_secs)
        .into_response();
        res.extensions_mut().insert(RefusedBy("api_quota"));
        stamp(res.headers_mut());
        return res;
    }
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    if key.stale
        && let Some(ip) = ip
    {
        let (pool, id) = (state.pool.clone(), key.key_id);
        tokio::spawn(async move {
            if let Err(e) = crate::server::db::api::touch_key(&pool, id, &ip.to_string()).await {
                tracing::warn!(error = format!("{e:#}"), "recording a key's use failed");
            }
        });
    }
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let origin = Origin::new(ip, ua);
    req.extensions_mut().insert(Caller { key, origin });
    let mut res = next.run(req).await;
    stamp(res.headers_mut());
    res
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "InboxGrove API",
        version = "1",
        description = "Domains, inboxes, usage, the audit trail and deliverability of one workspace, \
            with a scoped API key sent as `Authorization: Bearer igk_…`. Errors are RFC 9457 \
            problem details; lists are paginated with `cursor` and `limit`. Every call counts \
            against the plan's monthly API calls (`RateLimit-*` headers)."
    ),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    components(schemas(Problem, FieldProblem)),
    tags(
        (name = "domains", description = "Buy, connect and check sending domains."),
        (name = "inboxes", description = "Provision, manage and export mailboxes."),
        (name = "account", description = "Usage, the audit trail and deliverability."),
    )
)]
struct ApiDoc;

/// The `/v1` routes (behind [`door`]) and the OpenAPI document they make.
pub fn routes(state: &AppState) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(domains::list, domains::connect))
        .routes(routes!(domains::search))
        .routes(routes!(domains::purchase))
        .routes(routes!(domains::get, domains::delete))
        .routes(routes!(domains::recheck))
        .routes(routes!(inboxes::list, inboxes::provision))
        .routes(routes!(inboxes::export))
        .routes(routes!(inboxes::get, inboxes::update, inboxes::delete))
        .routes(routes!(inboxes::suspend))
        .routes(routes!(inboxes::resume))
        .routes(routes!(account::usage))
        .routes(routes!(account::audit))
        .routes(routes!(account::deliverability))
        .split_for_parts();
    // Unknown `/v1` paths answer as problems too (the app's own fallback serves pages).
    let router = router
        .route("/v1/{*rest}", axum::routing::any(unknown))
        .layer(from_fn_with_state(state.clone(), door));
    (router, api)
}

/// Everything under `/v1` plus the reference page: the API behind its door, the document
/// and `/docs/api` open to anyone.
pub fn router(state: &AppState) -> anyhow::Result<axum::Router<AppState>> {
    let (api, doc) = routes(state);
    let doc = std::sync::Arc::new(doc.to_json()?);
    let open = axum::Router::new()
        .route("/v1/openapi.json", axum::routing::get(openapi_json))
        .route("/docs/api", axum::routing::get(reference))
        .layer(Extension(doc));
    Ok(api
        .merge(open)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.settings.server.body_limit_bytes,
        )))
}

async fn unknown() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "There is no such endpoint: see /docs/api.",
    )
}

/// `GET /v1/openapi.json` (no key needed).
pub async fn openapi_json(Extension(doc): Extension<std::sync::Arc<String>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_string(),
    )
        .into_response()
}

/// `GET /docs/api`: the reference, rendered here from the same document.
pub async fn reference(
    State(state): State<AppState>,
    Extension(doc): Extension<std::sync::Arc<String>>,
) -> Html<String> {
    Html(docs::render(&state, &doc))
}
