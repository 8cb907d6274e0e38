//! Per-process request limits (governor, GCRA, in memory): per signed-in tenant (a minute's
//! and an hour's budget, bursts allowed up to the limit) and per client IP on login and signup.
//! The state lives in `AppState`; `http::rate_limit` is the middleware that applies it.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use uuid::Uuid;

use crate::server::config::RateLimitSettings;

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

    /// The per-minute budget of one tenant (the `RateLimit-Limit` header).
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Forgets keys whose buckets are full again (bounded memory).
    pub fn shrink(&self) {
        self.minute.retain_recent();
        self.hour.retain_recent();
        self.auth.retain_recent();
    }
}
