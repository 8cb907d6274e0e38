//! Request-level protections that apply to every route.

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::net::{IpAddr, SocketAddr};

use server_fn::error::SERVER_FN_ERROR_HEADER;

use crate::error::AppError;
use crate::routes::{self, Access, under};
use crate::server::auth::{SessionAuth, TypedSession, guard};
use crate::server::http::rate_limit::Limit;
use crate::server::state::AppState;

/// The client's IP, as far as this server can tell.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = if state.settings.server.trust_forwarded_for {
        forwarded_for(req.headers()).unwrap_or(peer)
    } else {
        peer
    };
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// Every request runs to its end on a task of its own, even when its client hangs up: hyper
/// drops a request's future when the connection closes, and a future dropped half-way leaves
/// half-done work (sqlx's BEGIN, cut short, even hands its connection back to the pool inside
/// the transaction). The response of a request nobody waits for is thrown away.
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let run = next.run(req).instrument(tracing::Span::current());
    match tokio::spawn(run).await {
        Ok(res) => res,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            tracing::error!(error = %e, "a request's task ended early");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Request ids (`x-request-id`, in every log line of the request): this process's random
/// prefix and a counter. Unique like a v4 uuid, without asking the kernel for randomness on
/// every request.
#[derive(Clone, Copy, Debug)]
pub struct RequestIds;

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        use std::sync::LazyLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static PREFIX: LazyLock<u64> = LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0);
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:016x}-{n:x}", *PREFIX))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The right-most `X-Forwarded-For` entry: the one our own proxy appended. Entries to its
/// left come from the client and can say anything.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Refuses state-changing requests that a browser sent from another origin: the `Origin`
/// (or, failing that, `Referer`) must name this host, or the configured public URL (for a
/// proxy that rewrites `Host`). `Sec-Fetch-Site: cross-site` is refused
/// outright. Requests with neither header (non-browser clients) cannot carry a victim's
/// cookies cross-site, so they pass.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_safe_method(req.method()) || req.uri().path().starts_with("/webhooks/") {
        return next.run(req).await;
    }
    let public = authority_of(&state.settings.server.public_url);
    match origin_verdict(req.headers(), public) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(
                reason = why,
                path = req.uri().path(),
                "cross-origin request refused"
            );
            (
                StatusCode::FORBIDDEN,
                "Cross-origin request refused: this action must come from InboxGrove itself.",
            )
                .into_response()
        }
    }
}

fn is_safe_method(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn origin_verdict(h: &HeaderMap, public: Option<&str>) -> Result<(), &'static str> {
    if h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err("sec-fetch-site is cross-site");
    }
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or("no host header")?;
    let source = h
        .get(header::ORIGIN)
        .or_else(|| h.get(header::REFERER))
        .map(|v| v.to_str().unwrap_or("null"));
    match source {
        None => Ok(()),
        Some(src) if authority_of(src) == Some(host) => Ok(()),
        Some(src) if public.is_some() && authority_of(src) == public => Ok(()),
        Some(_) => Err("origin does not match host"),
    }
}

/// `http://host:port/path` → `host:port`.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The one place server-function errors get their HTTP status. server_fn sends every error
/// (a wrong password, a throttle, a body it could not decode) as a 500 tagged with its error
/// header and the `AppError` as JSON; this gives each the status that error names, plus
/// `Retry-After` when throttled. `Internal` stays 500. Other statuses (a plain form post
/// redirected back to its form) pass untouched.
async fn server_fn_errors(res: Response) -> Response {
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = match &err {
            // The body limit tripped while server_fn was still reading a streamed body.
            AppError::Transport(msg) if msg.contains("length limit exceeded") => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            other => StatusCode::from_u16(other.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        if let AppError::RateLimited { retry_after_secs } = err {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Security headers on every response; a page that set its own CSP (with a nonce) keeps it.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    res
}

const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; frame-ancestors 'none'";

/// The CSP for a rendered page: scripts only from this site or carrying this response's nonce.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; frame-ancestors 'none'"
    )
}

/// `Strict-Transport-Security` when the public URL is https: a year, this host and below.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The session's identity, read once per request by [`session_lifetime`] (after the absolute
/// lifetime check) for the guards below it: none of them decodes the session again.
#[derive(Clone, Copy, Debug)]
pub struct SignedIn(pub SessionAuth);

/// Who is signed in on this request, as the door read it.
pub fn signed_in(req: &Request) -> Option<SessionAuth> {
    req.extensions().get::<SignedIn>().map(|s| s.0)
}

/// The absolute session lifetime: a session signed in more than `server.session_max_days`
/// ago is ended here, before any guard reads it, however active it has been (the store's own
/// expiry only counts idle time). Downstream it is simply signed out: 401 or the login page.
/// A live session's identity goes into the request's extensions ([`SignedIn`]).
async fn session_lifetime(state: &AppState, req: &mut Request) -> Result<(), Response> {
    if let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() {
        let session = TypedSession(session);
        let auth = match session.auth().await {
            Ok(auth) => auth,
            // The store could not be read (the database is unreachable): answering as if
            // signed out would send a signed-in user to the login page, so say it is brief.
            // A record that does not decode is simply no sign-in, as before.
            Err(e)
                if matches!(
                    e.downcast_ref::<tower_sessions::session::Error>(),
                    Some(tower_sessions::session::Error::Store(_))
                ) =>
            {
                tracing::warn!(error = format!("{e:#}"), "reading the session failed");
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, "5")],
                    "InboxGrove is briefly unavailable. Please try again in a moment.",
                )
                    .into_response());
            }
            Err(_) => None,
        };
        if let Some(auth) = auth {
            let now = chrono::Utc::now().timestamp();
            if auth.outlived(state.settings.server.session_max_days, now) {
                tracing::info!(user_id = %auth.user_id, "session ended: absolute lifetime reached");
                if let Err(e) = session.sign_out().await {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "ending an outlived session failed"
                    );
                    return Err(
                        (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
                    );
                }
            } else {
                req.extensions_mut().insert(SignedIn(auth));
            }
        }
    }
    Ok(())
}

/// The areas whose pages need a signed-in user (`routes::Access::needs_sign_in`): a visitor's
/// GET there is redirected to `/login?next=…` before rendering. The endpoints inside those
/// areas that are not pages (`routes::AREA_ENDPOINTS`) answer a visitor themselves.
fn signed_in_page(path: &str) -> bool {
    routes::in_area(path, Access::needs_sign_in) && !routes::AREA_ENDPOINTS.contains(&path)
}

fn login_redirect(req: &Request) -> Option<Response> {
    let path = req.uri().path();
    let protected = req.method() == Method::GET && signed_in_page(path);
    if !protected || signed_in(req).is_some() {
        return None;
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or(path.to_string(), |pq| pq.as_str().to_string());
    let query = serde_urlencoded::to_string([("next", target)]).unwrap_or_default();
    Some(Redirect::to(&format!("/login?{query}")).into_response())
}

/// `/admin` pages exist only for staff: anyone else (a customer, a visitor) gets a plain 404,
/// never the page or its data.
async fn staff_only(state: &AppState, path: &str, user: Option<SessionAuth>) -> Option<Response> {
    if !staff_page(path) {
        return None;
    }
    let staff = match user {
        Some(auth) => {
            let user = crate::domain::UserId(auth.user_id);
            let must = crate::server::services::two_factor::staff_must(state);
            crate::server::db::accounts::staff_email(&state.pool, user, auth.sid, must)
                .await
                .ok()
                .flatten()
                .is_some()
        }
        None => false,
    };
    (!staff).then(|| {
        (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><title>Not found</title><h1>Not found</h1>"),
        )
            .into_response()
    })
}

/// Staff areas (`routes::Access::Staff`): `/admin`.
fn staff_page(path: &str) -> bool {
    routes::in_area(path, |a| a == Access::Staff)
}

/// Customer areas (`routes::Access::Customer`): a suspended tenant gets the suspension notice
/// (403) instead of any page or endpoint there.
fn customer_page(path: &str) -> bool {
    routes::in_area(path, |a| a == Access::Customer)
}

/// Which requests the kill switch covers: every customer page and every server function but
/// the open ones. A `payment` suspension keeps the billing pages, so the customer can pay.
pub fn kill_switch_covers(path: &str, category: &str) -> bool {
    if category == "payment" && (under(path, "/billing") || under(path, "/api/billing")) {
        return false;
    }
    is_customer_request(path)
}

/// A signed-in customer's request: its pages and server functions but the open ones (the
/// kill switch and the rate limits cover exactly these).
pub fn is_customer_request(path: &str) -> bool {
    if path.starts_with("/api/") {
        return !routes::OPEN_API.iter().any(|p| under(path, p));
    }
    customer_page(path)
}

/// The kill switch at the door, and the door's admission: a signed-in member of a suspended
/// tenant gets 403 with the reason category and how to reach support, on every customer page
/// and server function. One query answers both "is this a member" and "is the tenant
/// suspended"; the answer stays in the request's extensions for the guard
/// (`fn_context::tenant_ctx`), so the page's server functions do not ask again.
async fn kill_switch(state: &AppState, req: &mut Request) -> Result<(), Response> {
    if !is_customer_request(req.uri().path()) {
        return Ok(());
    }
    // Staff sessions carry no tenant (unless viewing one); a visitor has no session: the
    // guards refuse them.
    let (Some(auth), Some(session)) = (
        signed_in(req).filter(|a| a.tenant_id.is_some() || a.view_as.is_some()),
        req.extensions().get::<tower_sessions::Session>().cloned(),
    ) else {
        return Ok(());
    };
    // Pages may be admitted from the auth cache; anything that may write is admitted fresh.
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let admission = match guard::admit(state, &TypedSession(session), auth, read).await {
        Ok(Some(admission)) => admission,
        // No membership: the guard answers (401) as for any session that lost its tenant.
        Ok(None) => return Ok(()),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "admitting the member failed");
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response());
        }
    };
    let path = req.uri().path();
    let Some(category) = admission
        .suspension()
        .filter(|c| kill_switch_covers(path, c))
        .map(str::to_string)
    else {
        if admission.read_only() {
            if let Some(refused) = view_as(state, &*req, &admission) {
                return Err(refused);
            }
            req.extensions_mut().insert(admission);
            return Ok(());
        }
        if let Some(refused) = role_refusal(path, &admission) {
            return Err(refused);
        }
        if admission.needs_2fa() && !two_factor_setup(path) {
            return Err(two_factor_first(path));
        }
        req.extensions_mut().insert(admission);
        return Ok(());
    };
    let notice = crate::server::services::suspensions::notice(&category);
    if path.starts_with("/api/") {
        let body = serde_json::to_string(&AppError::Forbidden(notice)).unwrap_or_default();
        return Err((
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    Err((
        StatusCode::FORBIDDEN,
        Html(suspended_page(state, &category, &notice)),
    )
        .into_response())
}

/// The door every request behind the session layer passes, in this order: the session's
/// absolute lifetime (and who is signed in), the login redirect for signed-in pages, staff
/// pages for staff only, the rate limits, then the kill switch and the member's admission;
/// on the way out, server-function errors get their status. One middleware rather than six:
/// each layer cost a clone of the routes behind it and a boxed future on every request.
pub async fn door(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let res = checks(&state, req, next).await;
    server_fn_errors(res).await
}

async fn checks(state: &AppState, mut req: Request, next: Next) -> Response {
    if let Err(res) = session_lifetime(state, &mut req).await {
        return res;
    }
    if let Some(res) = login_redirect(&req) {
        return res;
    }
    if let Some(res) = staff_only(state, req.uri().path(), signed_in(&req)).await {
        return res;
    }
    let counted = match super::rate_limit::check(state, &req) {
        Limit::Free => None,
        Limit::Counted { remaining } => Some(remaining),
        Limit::Refused(res) => return res,
    };
    let mut res = match kill_switch(state, &mut req).await {
        Ok(()) => next.run(req).await,
        Err(res) => res,
    };
    if let Some(remaining) = counted {
        super::rate_limit::stamp(state, &mut res, remaining);
    }
    res
}

const READ_ONLY: &str = "You are viewing this workspace as its owner would see it: nothing \
    can be changed in this view.";

/// Staff viewing a tenant as its owner: a page is shown and its view audited (actor staff,
/// action `staff.view_as`, the path); a function that only reads passes; any other function
/// or endpoint is refused (403) before it runs.
fn view_as(state: &AppState, req: &Request, admission: &guard::Admission) -> Option<Response> {
    let path = req.uri().path();
    let action = path.starts_with("/api/") || routes::AREA_ENDPOINTS.contains(&path);
    if action {
        if crate::permissions::READS.contains(&path) {
            return None;
        }
        let body =
            serde_json::to_string(&AppError::Forbidden(READ_ONLY.into())).unwrap_or_default();
        return Some(
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response(),
        );
    }
    if req.method() != Method::GET {
        return Some((StatusCode::FORBIDDEN, READ_ONLY).into_response());
    }
    let (pool, ctx, path) = (state.pool.clone(), admission.ctx(), path.to_string());
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    tokio::spawn(async move {
        let actor = crate::server::db::audit::Actor {
            kind: crate::domain::ActorKind::Staff,
            id: Some(ctx.user_id().0),
            label: "viewing as the owner".into(),
            ip: ip.map(|i| i.to_string()),
            user_agent: None,
        };
        let written = crate::server::db::audit::ops(
            &pool,
            &actor,
            Some(ctx.tenant_id()),
            crate::server::db::audit::OpsAction::ViewAs,
            &path,
            crate::server::db::audit::Change::none(),
        )
        .await;
        if let Err(e) = written {
            tracing::error!(error = format!("{e:#}"), "auditing a staff view failed");
        }
    });
    None
}

/// The role table (`permissions`) at the door: a member's server-function call or endpoint
/// that their role may not use gets 403 with what it needs, before it runs. Pages are open to
/// every member (what they do goes through server functions).
fn role_refusal(path: &str, admission: &guard::Admission) -> Option<Response> {
    let action = path.starts_with("/api/") || routes::AREA_ENDPOINTS.contains(&path);
    if !action {
        return None;
    }
    let role = admission.ctx().role();
    let refusal = match crate::permissions::need_of(path) {
        Some(need) if need.allows(role) => return None,
        Some(need) => need.refusal(),
        None => crate::permissions::Need::Read.refusal(),
    };
    let body = serde_json::to_string(&AppError::Forbidden(refusal.into())).unwrap_or_default();
    Some(
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
    )
}

/// Where a member of a workspace that requires two-factor sign-in may go before setting it
/// up: the security page and their own account's functions.
fn two_factor_setup(path: &str) -> bool {
    under(path, "/settings/security") || under(path, "/api/account")
}

const TWO_FACTOR_FIRST: &str = "This workspace requires two-factor sign-in: turn it on in \
    Settings → Security first.";

/// A page goes to the security page; a function call gets 403 saying why.
fn two_factor_first(path: &str) -> Response {
    if path.starts_with("/api/") || routes::AREA_ENDPOINTS.contains(&path) {
        let body = serde_json::to_string(&AppError::Forbidden(TWO_FACTOR_FIRST.into()))
            .unwrap_or_default();
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    Redirect::to("/settings/security?required=2fa").into_response()
}

fn suspended_page(state: &AppState, category: &str, notice: &str) -> String {
    let css = format!(
        "/{}/{}.css",
        state.settings.server.site_pkg_dir, state.settings.server.output_name
    );
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Account suspended · InboxGrove</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body class=\"bg-stone-50 text-stone-900\"><main class=\"mx-auto max-w-xl space-y-4 px-4 py-16\">\
         <h1 class=\"text-2xl font-bold\">Your account is suspended</h1>\
         <p role=\"alert\" data-testid=\"suspension-notice\" data-category=\"{category}\" \
         class=\"rounded border border-red-300 bg-red-50 px-3 py-2\">{notice}</p>\
         <p>Reason: <strong data-testid=\"suspension-category\">{category}</strong>. \
         Write to <a class=\"text-emerald-800 underline\" href=\"mailto:support@inboxgrove.com\">support@inboxgrove.com</a> \
         from your account's email address; we answer within one business day.</p>\
         <form method=\"post\" action=\"/api/auth/logout\"><button class=\"rounded border border-stone-300 px-3 py-2 text-sm\" type=\"submit\">Log out</button></form>\
         </main></body></html>"
    )
}

/// True when the request carries `Authorization: Bearer <secret>` (compared in constant
/// time): machine callers such as KumoMTA's log hook and a Prometheus scraper.
pub fn bearer_is(headers: &HeaderMap, secret: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            bool::from(
                token
                    .trim()
                    .as_bytes()
                    .ct_eq(secret.expose_secret().as_bytes()),
            )
        })
}

/// Counts every request by method, matched route pattern (never the raw path: `/domains/{id}`,
/// not a domain's id) and status, with the time to its response's headers (`/metrics`). A
/// request no route matched (static files, 404s) is `fallback`. A 429 is also counted under
/// the limit that refused it.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let m = &state.metrics;
    let _in_flight = m.in_flight();
    let started = std::time::Instant::now();
    let method = crate::server::metrics::method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let res = next.run(req).await;
    let status = res.status();
    m.request(
        method,
        route.as_ref().map_or("fallback", MatchedPath::as_str),
        status.as_u16(),
        started.elapsed(),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        let limit = res
            .extensions()
            .get::<crate::server::metrics::RefusedBy>()
            .map_or("other", |r| r.0);
        m.rate_limited(limit);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_post_from_the_same_origin_passes() {
        let h = headers(&[
            ("host", "app.test:3000"),
            ("origin", "http://app.test:3000"),
        ]);
        assert!(origin_verdict(&h, None).is_ok());
    }

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let h = headers(&[("host", "app.test:3000"), ("origin", "http://evil.test")]);
        assert!(origin_verdict(&h, None).is_err());
    }

    #[test]
    fn a_referer_is_used_when_origin_is_missing() {
        let ok = headers(&[("host", "app.test"), ("referer", "https://app.test/signup")]);
        assert!(origin_verdict(&ok, None).is_ok());
        let bad = headers(&[("host", "app.test"), ("referer", "https://app.test.evil/x")]);
        assert!(origin_verdict(&bad, None).is_err());
    }

    #[test]
    fn a_null_origin_is_refused() {
        let h = headers(&[("host", "app.test"), ("origin", "null")]);
        assert!(origin_verdict(&h, None).is_err());
    }

    #[test]
    fn sec_fetch_site_cross_site_is_refused_even_with_a_matching_origin() {
        let h = headers(&[
            ("host", "app.test"),
            ("origin", "http://app.test"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(origin_verdict(&h, None).is_err());
    }

    #[test]
    fn forwarded_for_takes_the_address_our_proxy_appended() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        assert_eq!(forwarded_for(&h), Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn the_public_url_origin_passes_when_a_proxy_rewrote_host() {
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://app.inboxgrove.com"),
        ]);
        assert!(origin_verdict(&h, Some("app.inboxgrove.com")).is_ok());
        assert!(origin_verdict(&h, None).is_err());
    }
}
