//! How each external provider has been answering: every call's latency and outcome, counted
//! per provider (`registrar:namecheap`, `dns:sandbox`, …) in a ring of one-minute buckets
//! covering the last hour. In memory and bounded (60 buckets of fixed size per provider, at
//! most [`MAX_PROVIDERS`] providers); per process, so each replica has its own.
//!
//! The provider traits are wrapped when `AppState` is built ([`super::timed`]); code that
//! calls a provider some other way (payments) reports through [`ProviderStats::record`] or
//! [`ProviderStats::time`].

use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::provider_health::{MinuteTotals, ProviderHealth, ProvidersView, WINDOW_MINUTES};
use crate::server::metrics::Metrics;

const SLOTS: i64 = WINDOW_MINUTES as i64;

/// Upper edges of the latency buckets, in microseconds; one more bucket holds the rest.
const EDGES_US: [u64; 17] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
];
const BUCKETS: usize = EDGES_US.len() + 1;

/// Labels beyond this many are not recorded (the labels come from code, so this is a guard
/// against a bug, not a limit anyone should reach).
pub const MAX_PROVIDERS: usize = 64;

/// One provider's calls in one minute.
#[derive(Clone, Copy, Default)]
struct Minute {
    /// Minutes since the Unix epoch; the bucket is stale when it is not a recent one.
    minute: i64,
    calls: u64,
    errors: u64,
    total_us: u64,
    max_us: u64,
    histogram: [u32; BUCKETS],
}

impl Minute {
    fn add(&mut self, other: &Minute) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.max_us = self.max_us.max(other.max_us);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }

    /// The latency under which a share `q` of the calls fell: the upper edge of its bucket,
    /// never above the slowest call.
    fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.calls == 0 {
            return None;
        }
        let rank = ((q * self.calls as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, n) in self.histogram.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                let edge = EDGES_US.get(i).copied().unwrap_or(u64::MAX);
                return Some(edge.min(self.max_us));
            }
        }
        Some(self.max_us)
    }
}

struct Ring {
    slots: [Minute; SLOTS as usize],
    last_error: Option<DateTime<Utc>>,
}

impl Ring {
    fn new() -> Box<Self> {
        Box::new(Self {
            slots: [Minute::default(); SLOTS as usize],
            last_error: None,
        })
    }

    fn record(&mut self, at: DateTime<Utc>, elapsed: Duration, ok: bool) {
        let minute = at.timestamp().div_euclid(60);
        let slot = &mut self.slots[minute.rem_euclid(SLOTS) as usize];
        if slot.minute > minute {
            // Late news from a minute whose bucket already holds a newer one: over an hour old.
            return;
        }
        if slot.minute < minute {
            *slot = Minute {
                minute,
                ..Minute::default()
            };
        }
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        slot.calls += 1;
        slot.total_us = slot.total_us.saturating_add(us);
        slot.max_us = slot.max_us.max(us);
        slot.histogram[EDGES_US.partition_point(|edge| *edge < us)] += 1;
        if !ok {
            slot.errors += 1;
            self.last_error = Some(self.last_error.map_or(at, |t| t.max(at)));
        }
    }

    /// The bucket of `minute`, if it holds that minute.
    fn at(&self, minute: i64) -> Option<&Minute> {
        let slot = &self.slots[minute.rem_euclid(SLOTS) as usize];
        (slot.minute == minute).then_some(slot)
    }
}

/// Every provider's ring, behind one short lock.
#[derive(Default)]
pub struct ProviderStats {
    rings: Mutex<BTreeMap<String, Box<Ring>>>,
    /// Every recorded call is also counted here (`/metrics`), when set.
    metrics: Option<Arc<Metrics>>,
}

impl ProviderStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stats that also count every call in `metrics`.
    pub fn with_metrics(metrics: Arc<Metrics>) -> Self {
        Self {
            rings: Mutex::default(),
            metrics: Some(metrics),
        }
    }

    /// Lists `provider` (with no calls yet), so the page shows it before its first call.
    pub fn register(&self, provider: &str) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        if !rings.contains_key(provider) && rings.len() < MAX_PROVIDERS {
            rings.insert(provider.to_string(), Ring::new());
        }
    }

    /// One call to `provider` that took `elapsed` and succeeded (`ok`) or failed, ending now.
    pub fn record(&self, provider: &str, elapsed: Duration, ok: bool) {
        self.record_at(provider, Utc::now(), elapsed, ok);
    }

    /// [`record`](Self::record) for a call that ended at `at`.
    pub fn record_at(&self, provider: &str, at: DateTime<Utc>, elapsed: Duration, ok: bool) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        if !rings.contains_key(provider) {
            if rings.len() >= MAX_PROVIDERS {
                return;
            }
            rings.insert(provider.to_string(), Ring::new());
        }
        if let Some(ring) = rings.get_mut(provider) {
            ring.record(at, elapsed, ok);
        }
        drop(rings);
        if let Some(m) = &self.metrics {
            m.provider_call(provider, elapsed, ok);
        }
    }

    /// Awaits `call`, recording how long it took and whether it returned `Ok`.
    pub async fn time<T, E>(
        &self,
        provider: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.observe(provider, call, Result::is_ok).await
    }

    /// Awaits `call`, recording how long it took and whether `ok` finds its answer a success.
    /// A call dropped before it answered (a timeout around it gave up, or the request that
    /// made it went away) is recorded as a failure when it is dropped.
    pub async fn observe<T>(
        &self,
        provider: &str,
        call: impl Future<Output = T>,
        ok: impl FnOnce(&T) -> bool,
    ) -> T {
        let mut pending = Pending {
            stats: self,
            provider,
            start: Instant::now(),
            done: false,
        };
        let out = call.await;
        pending.done = true;
        self.record(provider, pending.start.elapsed(), ok(&out));
        out
    }

    /// Every provider over the hour up to now.
    pub fn snapshot(&self) -> ProvidersView {
        self.snapshot_at(Utc::now())
    }

    /// Every provider over the [`WINDOW_MINUTES`] minutes up to and including `now`'s.
    pub fn snapshot_at(&self, now: DateTime<Utc>) -> ProvidersView {
        let last = now.timestamp().div_euclid(60);
        let window = (last - SLOTS + 1)..=last;
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let mut minutes: Vec<MinuteTotals> = window
            .clone()
            .map(|m| MinuteTotals {
                minute: Utc
                    .timestamp_opt(m * 60, 0)
                    .single()
                    .map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_default(),
                calls: 0,
                errors: 0,
            })
            .collect();
        let providers = rings
            .iter()
            .map(|(provider, ring)| {
                let mut sum = Minute::default();
                for (i, m) in window.clone().enumerate() {
                    if let Some(slot) = ring.at(m) {
                        sum.add(slot);
                        minutes[i].calls += slot.calls;
                        minutes[i].errors += slot.errors;
                    }
                }
                let ms = |us: u64| us as f64 / 1000.0;
                let calls = (sum.calls > 0).then_some(sum.calls);
                ProviderHealth {
                    provider: provider.clone(),
                    calls: sum.calls,
                    errors: sum.errors,
                    error_rate: calls.map(|n| sum.errors as f64 / n as f64),
                    mean_ms: calls.map(|n| ms(sum.total_us) / n as f64),
                    p50_ms: sum.quantile_us(0.5).map(ms),
                    p95_ms: sum.quantile_us(0.95).map(ms),
                    max_ms: calls.map(|_| ms(sum.max_us)),
                    last_error: ring
                        .last_error
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                }
            })
            .collect();
        ProvidersView {
            as_of: now.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            window_minutes: WINDOW_MINUTES,
            providers,
            minutes,
        }
    }
}

/// Records a call that never finished as a failure when it is dropped.
struct Pending<'a> {
    stats: &'a ProviderStats,
    provider: &'a str,
    start: Instant,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.stats
                .record(self.provider, self.start.elapsed(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn at(minute: i64, second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 / 60 * 60 + minute * 60 + second, 0)
            .unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn one<'a>(view: &'a ProvidersView, provider: &str) -> &'a ProviderHealth {
        view.providers
            .iter()
            .find(|p| p.provider == provider)
            .unwrap()
    }

    #[test]
    fn calls_in_the_hour_give_the_error_rate_the_mean_and_the_last_error() {
        let stats = ProviderStats::new();
        stats.record_at("dns:sandbox", at(0, 5), ms(10), true);
        stats.record_at("dns:sandbox", at(0, 50), ms(30), false);
        stats.record_at("dns:sandbox", at(7, 0), ms(20), true);
        stats.record_at("dns:sandbox", at(9, 0), ms(40), true);
        let view = stats.snapshot_at(at(10, 0));
        let dns = one(&view, "dns:sandbox");
        assert_eq!((dns.calls, dns.errors), (4, 1));
        assert_eq!(dns.error_rate, Some(0.25));
        assert_eq!(dns.mean_ms, Some(25.0));
        assert_eq!(dns.max_ms, Some(40.0));
        assert_eq!(
            dns.last_error.as_deref(),
            Some(
                at(0, 50)
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()
                    .as_str()
            )
        );
        // Minute by minute, oldest first: the window ends with now's minute.
        assert_eq!(view.minutes.len(), 60);
        assert_eq!(
            view.minutes[59].minute,
            at(10, 0).format("%H:%M").to_string()
        );
        let by_minute: Vec<(u64, u64)> = view.minutes.iter().map(|m| (m.calls, m.errors)).collect();
        assert_eq!(by_minute[49], (2, 1));
        assert_eq!(by_minute[56], (1, 0));
        assert_eq!(by_minute[58], (1, 0));
        assert_eq!(by_minute.iter().map(|m| m.0).sum::<u64>(), 4);
    }

    #[test]
    fn minutes_older_than_the_hour_drop_out_and_a_reused_bucket_starts_from_zero() {
        let stats = ProviderStats::new();
        stats.record_at("relay:sandbox", at(0, 0), ms(5), false);
        stats.record_at("relay:sandbox", at(1, 0), ms(5), true);
        // 59 minutes on, minute 0 is still the oldest of the window.
        let r = stats.snapshot_at(at(59, 59));
        assert_eq!(
            (
                one(&r, "relay:sandbox").calls,
                one(&r, "relay:sandbox").errors
            ),
            (2, 1)
        );
        // An hour on, it is gone; minute 1 is still there.
        let r = stats.snapshot_at(at(60, 0));
        assert_eq!(
            (
                one(&r, "relay:sandbox").calls,
                one(&r, "relay:sandbox").errors
            ),
            (1, 0)
        );
        // A call in minute 60 takes minute 0's bucket, which starts again from nothing.
        stats.record_at("relay:sandbox", at(60, 1), ms(5), true);
        let r = stats.snapshot_at(at(60, 2));
        assert_eq!(
            (
                one(&r, "relay:sandbox").calls,
                one(&r, "relay:sandbox").errors
            ),
            (2, 0)
        );
        // Late news of a minute whose bucket moved on is dropped, not mixed in.
        stats.record_at("relay:sandbox", at(0, 30), ms(5), false);
        let r = stats.snapshot_at(at(60, 3));
        assert_eq!(
            (
                one(&r, "relay:sandbox").calls,
                one(&r, "relay:sandbox").errors
            ),
            (2, 0)
        );
        // Two hours on, nothing is left but the last error's time.
        let r = stats.snapshot_at(at(130, 0));
        let relay = one(&r, "relay:sandbox");
        assert_eq!(
            (relay.calls, relay.error_rate, relay.p50_ms),
            (0, None, None)
        );
        assert!(relay.last_error.is_some());
    }

    #[test]
    fn percentiles_are_bucket_edges_capped_at_the_slowest_call() {
        let stats = ProviderStats::new();
        for _ in 0..18 {
            stats.record_at("registrar:sandbox", at(0, 0), ms(3), true);
        }
        stats.record_at("registrar:sandbox", at(0, 0), ms(700), true);
        stats.record_at("registrar:sandbox", at(0, 0), ms(800), true);
        let r = stats.snapshot_at(at(0, 1));
        let p = one(&r, "registrar:sandbox");
        // 3 ms falls in (2.5, 5]; the 95th of 20 calls is the 19th, 700 ms, in (500, 1000].
        assert_eq!(p.p50_ms, Some(5.0));
        assert_eq!(p.p95_ms, Some(800.0));
        assert_eq!(p.max_ms, Some(800.0));
    }

    #[test]
    fn registered_providers_show_with_no_calls_and_their_number_is_bounded() {
        let stats = ProviderStats::new();
        stats.register("mail:sandbox");
        for i in 0..MAX_PROVIDERS + 5 {
            stats.record_at(&format!("p{i}"), at(0, 0), ms(1), true);
        }
        let r = stats.snapshot_at(at(0, 1));
        assert_eq!(r.providers.len(), MAX_PROVIDERS);
        assert_eq!(one(&r, "mail:sandbox").calls, 0);
    }

    #[test]
    fn timed_calls_record_their_outcome_and_a_dropped_call_is_a_failure() {
        let stats = ProviderStats::new();
        let ok = stats
            .time("tools:x", async { Ok::<_, ()>(1) })
            .now_or_never();
        assert_eq!(ok, Some(Ok(1)));
        let err = stats
            .time("tools:x", async { Err::<(), _>("no") })
            .now_or_never();
        assert_eq!(err, Some(Err("no")));
        let refused = stats
            .observe("tools:x", async { "refused" }, |a| *a != "refused")
            .now_or_never();
        assert_eq!(refused, Some("refused"));
        // Polled once, never answers, then dropped (as a timeout around it would).
        let hung = stats
            .time("tools:x", std::future::pending::<Result<(), ()>>())
            .now_or_never();
        assert_eq!(hung, None);
        let r = stats.snapshot();
        let x = one(&r, "tools:x");
        assert_eq!((x.calls, x.errors), (4, 3));
    }
}
