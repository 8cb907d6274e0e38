//! Rate limits (governor, GCRA, in memory per process): per signed-in tenant on its pages,
//! server functions and exports (default 60 a minute and 1,000 an hour, bursts allowed up to
//! the limit), and per client IP on login and signup. Staff are exempt. Over a limit: 429 with
//! `Retry-After`; counted responses carry `RateLimit-Limit` / `RateLimit-Remaining`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use uuid::Uuid;

use crate::error::AppError;
use crate::server::config::RateLimitSettings;
use crate::server::http::middleware::{ClientIp, is_customer_request, session_tenant};
use crate::server::state::AppState;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

pub struct RateLimits {
    minute: Keyed<Uuid>,
    hour: Keyed<Uuid>,
    auth: Keyed<IpAddr>,
    per_minute: u32,
    clock: DefaultClock,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(q: Quota) -> Keyed<K> {
    RateLimiter::keyed(q).with_middleware::<StateInformationMiddleware>()
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

/// Why a request was refused: wait this long.
pub struct Limited {
    pub retry_after_secs: u64,
    pub limit: u32,
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings) -> Self {
        Self {
            minute: keyed(Quota::per_minute(nz(s.tenant_per_minute))),
            hour: keyed(Quota::per_hour(nz(s.tenant_per_hour))),
            auth: keyed(Quota::per_minute(nz(s.ip_auth_per_minute))),
            per_minute: s.tenant_per_minute,
            clock: DefaultClock::default(),
        }
    }

    /// One request of `tenant`: the requests left this minute, or how long to wait.
    pub fn tenant(&self, tenant: Uuid) -> Result<u32, Limited> {
        let minute = self.minute.check_key(&tenant).map_err(|n| Limited {
            retry_after_secs: n.wait_time_from(self.clock.now()).as_secs().max(1),
            limit: self.per_minute,
        })?;
        self.hour.check_key(&tenant).map_err(|n| Limited {
            retry_after_secs: n.wait_time_from(self.clock.now()).as_secs().max(1),
            limit: self.per_minute,
        })?;
        Ok(minute.remaining_burst_capacity())
    }

    /// One login or signup attempt from `ip`.
    pub fn auth_attempt(&self, ip: IpAddr) -> Result<(), Limited> {
        self.auth.check_key(&ip).map(drop).map_err(|n| Limited {
            retry_after_secs: n.wait_time_from(self.clock.now()).as_secs().max(1),
            limit: 0,
        })
    }

    /// Forgets keys whose buckets are full again (bounded memory).
    pub fn shrink(&self) {
        self.minute.retain_recent();
        self.hour.retain_recent();
        self.auth.retain_recent();
    }
}

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
                HeaderValue::from(state.rate_limits.per_minute),
            );
            h.insert("ratelimit-remaining", HeaderValue::from(remaining));
            res
        }
        Err(l) => refused(&path, &l),
    }
}
