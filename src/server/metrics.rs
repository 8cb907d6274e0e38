//! Prometheus metrics (`prometheus-client`, the Prometheus project's Rust client): one registry
//! per [`AppState`](crate::server::state::AppState), scraped at `/metrics` (see
//! `server::http::metrics`). Every series is prefixed `inboxgrove_`.
//!
//! Label sets are bounded by construction: routes are the router's matched patterns (never a
//! raw path), methods are folded into a fixed set, job kinds and provider names come from code,
//! outcomes and steps are `&'static str`. No id, email, domain or tenant ever becomes a label.
//! Counters and histograms live in this process (each replica has its own, and Prometheus sums
//! them); the queue, pool, relay and suspension gauges are read from the database at scrape.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Latency buckets (seconds) for requests and provider calls: 1 ms to 30 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Job kinds beyond this many get no gauge of their own (they come from code: a guard
/// against a bug, not a limit anyone should reach).
pub const MAX_KINDS: usize = 64;

type FloatGauge = Gauge<f64, AtomicU64>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub source: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub step: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

/// Which limit refused a request: set as a response extension by whoever answers 429, read by
/// the request tracker (`middleware::track`).
#[derive(Clone, Copy, Debug)]
pub struct RefusedBy(pub &'static str);

/// What the database says at scrape time (`db::ops`).
#[derive(Clone, Debug, Default)]
pub struct QueueKind {
    pub kind: String,
    /// Pending jobs whose time has come, and how long the oldest of them has waited.
    pub due: i64,
    pub oldest_due_secs: f64,
    /// Pending jobs not yet due (retries waiting out their backoff, scheduled work).
    pub scheduled: i64,
    pub running: i64,
    /// Jobs that failed for good in the last hour.
    pub failed_last_hour: i64,
}

#[derive(Clone, Debug, Default)]
pub struct OpenWork {
    pub relay_pending: i64,
    pub relay_oldest_pending_secs: f64,
    pub suspensions_open: i64,
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    http_in_flight: Gauge,
    db_pool_connections: Gauge,
    db_pool_idle: Gauge,
    db_pool_max: Gauge,
    jobs_finished: Family<JobLabels, Counter>,
    jobs_due: Family<KindLabels, Gauge>,
    jobs_oldest_due: Family<KindLabels, FloatGauge>,
    jobs_scheduled: Family<KindLabels, Gauge>,
    jobs_running: Family<KindLabels, Gauge>,
    jobs_failed_last_hour: Family<KindLabels, Gauge>,
    webhooks: Family<WebhookLabels, Counter>,
    saga_steps: Histograms<StepLabels>,
    provider_calls: Family<ProviderLabels, Counter>,
    provider_errors: Family<ProviderLabels, Counter>,
    provider_duration: Histograms<ProviderLabels>,
    relay_publish_lag: Histogram,
    relay_pending: Gauge,
    relay_oldest_pending: FloatGauge,
    rate_limit_refusals: Family<LimitLabels, Counter>,
    suspensions_open: Gauge,
    scrape_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The methods a route label may carry; anything else is `other` (a client picks the method).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Decrements the in-flight gauge when the request it counts is done (or dropped).
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("inboxgrove");
        let m = Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            http_in_flight: Gauge::default(),
            db_pool_connections: Gauge::default(),
            db_pool_idle: Gauge::default(),
            db_pool_max: Gauge::default(),
            jobs_finished: Family::default(),
            jobs_due: Family::default(),
            jobs_oldest_due: Family::default(),
            jobs_scheduled: Family::default(),
            jobs_running: Family::default(),
            jobs_failed_last_hour: Family::default(),
            webhooks: Family::default(),
            saga_steps: Family::new_with_constructor(latency_histogram),
            provider_calls: Family::default(),
            provider_errors: Family::default(),
            provider_duration: Family::new_with_constructor(latency_histogram),
            relay_publish_lag: latency_histogram(),
            relay_pending: Gauge::default(),
            relay_oldest_pending: FloatGauge::default(),
            rate_limit_refusals: Family::default(),
            suspensions_open: Gauge::default(),
            scrape_errors: Counter::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (headers), by method and matched route",
            m.http_duration.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "HTTP requests being answered now",
            m.http_in_flight.clone(),
        );
        r.register(
            "db_pool_connections",
            "Connections open in the database pool",
            m.db_pool_connections.clone(),
        );
        r.register(
            "db_pool_idle_connections",
            "Open pool connections not in use",
            m.db_pool_idle.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The pool's connection limit",
            m.db_pool_max.clone(),
        );
        r.register(
            "jobs_finished",
            "Job attempts finished by this process, by kind and outcome (done, deferred, retried, failed)",
            m.jobs_finished.clone(),
        );
        r.register(
            "jobs_due",
            "Pending jobs whose run time has come, by kind (all replicas)",
            m.jobs_due.clone(),
        );
        r.register(
            "jobs_oldest_due_seconds",
            "How long the oldest due job of each kind has waited (all replicas)",
            m.jobs_oldest_due.clone(),
        );
        r.register(
            "jobs_scheduled",
            "Pending jobs not yet due (backoff, schedules), by kind",
            m.jobs_scheduled.clone(),
        );
        r.register(
            "jobs_running",
            "Jobs held under a lease now, by kind",
            m.jobs_running.clone(),
        );
        r.register(
            "jobs_failed_last_hour",
            "Jobs that failed for good in the last hour, by kind",
            m.jobs_failed_last_hour.clone(),
        );
        r.register(
            "webhooks_received",
            "Webhooks received, by source (stripe, kumomta) and outcome",
            m.webhooks.clone(),
        );
        r.register(
            "saga_step_duration_seconds",
            "Domain purchase saga steps, by step and outcome",
            m.saga_steps.clone(),
        );
        r.register(
            "provider_calls",
            "Calls to external providers, by provider",
            m.provider_calls.clone(),
        );
        r.register(
            "provider_errors",
            "Provider calls that failed or timed out, by provider",
            m.provider_errors.clone(),
        );
        r.register(
            "provider_call_duration_seconds",
            "Provider call latency, by provider",
            m.provider_duration.clone(),
        );
        r.register(
            "relay_publish_lag_seconds",
            "From a change the relay must know to its successful publish",
            m.relay_publish_lag.clone(),
        );
        r.register(
            "relay_publications_pending",
            "Workspaces whose relay data waits to be published",
            m.relay_pending.clone(),
        );
        r.register(
            "relay_publication_oldest_pending_seconds",
            "How long the oldest pending relay publication has waited",
            m.relay_oldest_pending.clone(),
        );
        r.register(
            "rate_limit_refusals",
            "Requests refused by a rate limit, by limit",
            m.rate_limit_refusals.clone(),
        );
        r.register(
            "suspensions_open",
            "Workspaces with an open suspension (the kill switch)",
            m.suspensions_open.clone(),
        );
        r.register(
            "metrics_scrape_errors",
            "Scrapes whose database gauges could not be read",
            m.scrape_errors.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts a request in flight until the returned guard drops.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.http_in_flight.inc();
        InFlight(&self.http_in_flight)
    }

    pub fn request(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limit_refusals
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    pub fn job_finished(&self, kind: &str, outcome: &'static str) {
        self.jobs_finished
            .get_or_create(&JobLabels {
                kind: kind.to_string(),
                outcome,
            })
            .inc();
    }

    pub fn webhook(&self, source: &'static str, outcome: &'static str) {
        self.webhooks
            .get_or_create(&WebhookLabels { source, outcome })
            .inc();
    }

    pub fn saga_step(&self, step: &'static str, outcome: &'static str, elapsed: Duration) {
        self.saga_steps
            .get_or_create(&StepLabels { step, outcome })
            .observe(elapsed.as_secs_f64());
    }

    pub fn provider_call(&self, provider: &str, elapsed: Duration, ok: bool) {
        let labels = ProviderLabels {
            provider: provider.to_string(),
        };
        self.provider_calls.get_or_create(&labels).inc();
        if !ok {
            self.provider_errors.get_or_create(&labels).inc();
        }
        self.provider_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn relay_published(&self, lag: Duration) {
        self.relay_publish_lag.observe(lag.as_secs_f64());
    }

    pub fn pool(&self, size: u32, idle: usize, max: u32) {
        self.db_pool_connections.set(i64::from(size));
        self.db_pool_idle
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        self.db_pool_max.set(i64::from(max));
    }

    /// The queue as the database saw it: kinds no longer present drop out.
    pub fn queue(&self, kinds: &[QueueKind]) {
        for family in [
            &self.jobs_due,
            &self.jobs_scheduled,
            &self.jobs_running,
            &self.jobs_failed_last_hour,
        ] {
            family.clear();
        }
        self.jobs_oldest_due.clear();
        for k in kinds.iter().take(MAX_KINDS) {
            let labels = KindLabels {
                kind: k.kind.clone(),
            };
            self.jobs_due.get_or_create(&labels).set(k.due);
            self.jobs_oldest_due
                .get_or_create(&labels)
                .set(k.oldest_due_secs);
            self.jobs_scheduled.get_or_create(&labels).set(k.scheduled);
            self.jobs_running.get_or_create(&labels).set(k.running);
            self.jobs_failed_last_hour
                .get_or_create(&labels)
                .set(k.failed_last_hour);
        }
    }

    pub fn open_work(&self, work: &OpenWork) {
        self.relay_pending.set(work.relay_pending);
        self.relay_oldest_pending
            .set(work.relay_oldest_pending_secs);
        self.suspensions_open.set(work.suspensions_open);
    }

    pub fn scrape_failed(&self) {
        self.scrape_errors.inc();
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
    }

    #[test]
    fn requests_are_counted_by_route_pattern_method_and_status() {
        let m = Metrics::new();
        m.request("GET", "/domains/{id}", 200, Duration::from_millis(3));
        m.request("GET", "/domains/{id}", 200, Duration::from_millis(40));
        m.request("POST", "/api/dashboard", 403, Duration::from_millis(1));
        let text = m.encode();
        assert_eq!(
            value_of(
                &text,
                r#"inboxgrove_http_requests_total{method="GET",route="/domains/{id}",status="200"}"#
            ),
            Some("2"),
            "{text}"
        );
        assert_eq!(
            value_of(
                &text,
                r#"inboxgrove_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/domains/{id}"}"#
            ),
            Some("1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    }

    #[test]
    fn queue_gauges_follow_the_latest_scrape_only() {
        let m = Metrics::new();
        m.queue(&[QueueKind {
            kind: "domain_saga".into(),
            due: 3,
            oldest_due_secs: 12.5,
            ..QueueKind::default()
        }]);
        let text = m.encode();
        assert_eq!(
            value_of(&text, r#"inboxgrove_jobs_due{kind="domain_saga"}"#),
            Some("3")
        );
        assert_eq!(
            value_of(
                &text,
                r#"inboxgrove_jobs_oldest_due_seconds{kind="domain_saga"}"#
            ),
            Some("12.5")
        );
        m.queue(&[]);
        assert!(
            !m.encode().contains("domain_saga"),
            "an empty kind drops out"
        );
    }

    #[test]
    fn odd_methods_fold_into_other() {
        let odd = axum::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }

    #[test]
    fn in_flight_counts_until_dropped() {
        let m = Metrics::new();
        let a = m.in_flight();
        let _b = m.in_flight();
        assert_eq!(
            value_of(&m.encode(), "inboxgrove_http_requests_in_flight"),
            Some("2")
        );
        drop(a);
        assert_eq!(
            value_of(&m.encode(), "inboxgrove_http_requests_in_flight"),
            Some("1")
        );
    }

    /// The dashboard and the alert rules in deploy/ ask only for series this registry has.
    #[test]
    fn deploy_dashboard_and_alerts_use_series_that_exist() {
        let m = Metrics::new();
        m.request("GET", "/", 200, Duration::ZERO);
        m.job_finished("k", "done");
        m.webhook("stripe", "applied");
        m.saga_step("register", "done", Duration::ZERO);
        m.provider_call("dns:sandbox", Duration::ZERO, false);
        m.rate_limited("tenant");
        m.queue(&[QueueKind {
            kind: "k".into(),
            ..QueueKind::default()
        }]);
        let text = m.encode();
        let known: std::collections::HashSet<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
        let root = env!("CARGO_MANIFEST_DIR");
        let mut checked = 0;
        for file in [
            "deploy/grafana/inboxgrove.json",
            "deploy/prometheus/alerts.yml",
        ] {
            let body = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            let mut rest = body.as_str();
            while let Some(at) = rest.find("inboxgrove_") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                let name = &tail[..end];
                rest = &tail[end..];
                if name == "inboxgrove_" {
                    continue;
                }
                assert!(
                    known.contains(name),
                    "{file} uses {name}, which is not exported"
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 10,
            "the dashboard and alerts use the metrics ({checked})"
        );
    }
}
