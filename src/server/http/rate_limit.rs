//! Rate limits (governor, GCRA, in memory per process): per signed-in tenant on its pages,
//! server functions and exports (default 60 a minute and 1,000 an hour, bursts allowed up to
//! the limit), and per client IP on login and signup. Staff are exempt. Over a limit: 429 with
//! `Retry-After`; counted responses carry `RateLimit-Limit` / `RateLimit-Remaining`.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::server::http::middleware::{ClientIp, is_customer_request, signed_in};
use crate::server::limits::Limited;
pub use crate::server::limits::RateLimits;
use crate::server::metrics::RefusedBy;
use crate::server::state::AppState;

fn refused(path: &str, l: &Limited, limit: &'static str) -> Response {
    let err = AppError::RateLimited {
        retry_after_secs: l.retry_after_secs,
    };
    let mut res = if path.starts_with("/api/") {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&err).unwrap_or_default(),
        )
            .into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, err.to_string()).into_response()
    };
    res.extensions_mut().insert(RefusedBy(limit));
    let h = res.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs));
    if l.limit > 0 {
        h.insert("ratelimit-limit", HeaderValue::from(l.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(0u32));
        h.insert("ratelimit-reset", HeaderValue::from(l.retry_after_secs));
    }
    res
}

/// What the limits say about one request.
pub enum Limit {
    /// Not counted (not a customer's request, or staff).
    Free,
    /// Counted; its response gets [`stamp`]ed with what is left.
    Counted { remaining: u32 },
    /// Over a limit: the 429 to answer.
    Refused(Response),
}

/// The limits for one request, checked at the door (`middleware::door`).
pub fn check(state: &AppState, req: &Request) -> Limit {
    let path = req.uri().path();
    if matches!(path, "/api/auth/login" | "/api/auth/signup") {
        let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
        if let Some(ip) = ip
            && let Err(l) = state.rate_limits.auth_attempt(ip)
        {
            return Limit::Refused(refused(path, &l, "auth_ip"));
        }
        return Limit::Free;
    }
    if !is_customer_request(path) {
        return Limit::Free;
    }
    // Staff sessions carry no tenant: exempt.
    let Some(tenant) = signed_in(req).and_then(|a| a.tenant_id) else {
        return Limit::Free;
    };
    match state.rate_limits.tenant(tenant) {
        Ok(remaining) => Limit::Counted { remaining },
        Err(l) => Limit::Refused(refused(path, &l, "tenant")),
    }
}

/// A counted request's response says the limit and what is left of it.
pub fn stamp(state: &AppState, res: &mut Response, remaining: u32) {
    let h = res.headers_mut();
    h.insert(
        "ratelimit-limit",
        HeaderValue::from(state.rate_limits.per_minute()),
    );
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
}
