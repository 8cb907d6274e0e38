//! Rate limits (governor, GCRA, in memory per process): per signed-in tenant on its pages,
//! server functions and exports (default 60 a minute and 1,000 an hour, bursts allowed up to
//! the limit), and per client IP on login and signup. Staff are exempt. Over a limit: 429 with
//! `Retry-After`; counted responses carry `RateLimit-Limit` / `RateLimit-Remaining`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::server::http::middleware::{ClientIp, is_customer_request, session_tenant};
use crate::server::limits::Limited;
pub use crate::server::limits::RateLimits;
use crate::server::state::AppState;

fn refused(path: &str, l: &Limited) -> Response {
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
    let h = res.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs));
    if l.limit > 0 {
        h.insert("ratelimit-limit", HeaderValue::from(l.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(0u32));
        h.insert("ratelimit-reset", HeaderValue::from(l.retry_after_secs));
    }
    res
}

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if matches!(path.as_str(), "/api/auth/login" | "/api/auth/signup") {
        let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
        if let Some(ip) = ip
            && let Err(l) = state.rate_limits.auth_attempt(ip)
        {
            return refused(&path, &l);
        }
        return next.run(req).await;
    }
    if !is_customer_request(&path) {
        return next.run(req).await;
    }
    // Staff sessions carry no tenant: exempt.
    let tenant = session_tenant(req.extensions().get::<tower_sessions::Session>().cloned()).await;
    let Some(tenant) = tenant else {
        return next.run(req).await;
    };
    match state.rate_limits.tenant(tenant) {
        Ok(remaining) => {
            let mut res = next.run(req).await;
            let h = res.headers_mut();
            h.insert(
                "ratelimit-limit",
                HeaderValue::from(state.rate_limits.per_minute()),
            );
            h.insert("ratelimit-remaining", HeaderValue::from(remaining));
            res
        }
        Err(l) => refused(&path, &l),
    }
}
