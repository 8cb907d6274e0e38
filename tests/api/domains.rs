//! Domains over HTTP with the sandbox providers: search, buy through the sandbox Checkout, the
//! purchase saga run by job workers (happy path, refused registration → one refund, a worker
//! killed mid-saga, a webhook delivered twice), bring your own domain, re-check, repair,
//! delete, limits and tenant isolation.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;

use crate::helpers::{Signup, TestApp, browser, json, local, pay, spawn_app_with};
use inboxgrove::server::jobs::Worker;
use inboxgrove::server::providers::dns::{DnsRecord, RecordType};
use inboxgrove::server::providers::registrar::{
    Availability, DomainInfo, RegisterRequest, Registrar, RegistrarError, Registration, Renewal,
};
use inboxgrove::server::services::domains::{health, saga};
use inboxgrove::server::startup;
use inboxgrove::server::state::AppState;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The app without background workers: each test runs the jobs itself, step by step.
pub(crate) async fn app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await
}

pub(crate) async fn customer(app: &TestApp, email: &str) {
    let res = app.signup(&Signup::valid(email)).await;
    assert!(res.status().is_success(), "{}", res.status());
}

/// A second customer, signed in on their own client.
pub(crate) async fn another_customer(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let res = app.signup_with(&client, &Signup::valid(email)).await;
    assert!(res.status().is_success(), "{}", res.status());
    client
}

async fn connect(app: &TestApp, client: &reqwest::Client, name: &str) -> reqwest::Response {
    post(app, client, "/api/domains/connect", &[("name", name)]).await
}

pub(crate) async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(app.url(path)).form(form).send().await.unwrap()
}

/// `action` (repair, recheck, delete) on domain `id`, as `client`.
async fn on_domain(
    app: &TestApp,
    client: &reqwest::Client,
    action: &str,
    id: Uuid,
) -> reqwest::Response {
    post(
        app,
        client,
        &format!("/api/domains/{action}"),
        &[("id", &id.to_string())],
    )
    .await
}

/// Buys `name` as a plain HTML form does and returns the Checkout URL it is sent to.
pub(crate) async fn checkout_for(app: &TestApp, name: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/domains/buy"))
        .header("accept", "text/html")
        .form(&[("name", name)])
        .send()
        .await
        .unwrap();
    let status = res.status();
    match res.headers().get("location") {
        Some(l) => l.to_str().unwrap().to_string(),
        None => panic!("no redirect: {status} {}", res.text().await.unwrap()),
    }
}

/// Buys and pays for `name`; the payment webhook has landed when this returns.
pub(crate) async fn bought(app: &TestApp, name: &str) -> Uuid {
    let url = checkout_for(app, name).await;
    let paid = pay(app, &url, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    domain_id(app, name).await
}

/// The workspace that holds domain `id`.
pub(crate) async fn tenant_of(app: &TestApp, id: Uuid) -> inboxgrove::domain::TenantId {
    inboxgrove::domain::TenantId(
        sqlx::query_scalar("SELECT tenant_id FROM domains WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap(),
    )
}

pub(crate) async fn domain_id(app: &TestApp, name: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM domains WHERE name = $1 ORDER BY created_at DESC LIMIT 1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn status(app: &TestApp, id: Uuid) -> (String, String) {
    sqlx::query_as("SELECT status, health FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub(crate) fn worker(state: &AppState) -> Worker<AppState> {
    Worker::new(state.clone(), startup::app_registry(&state.settings))
}

pub(crate) async fn detail(app: &TestApp, id: Uuid) -> Value {
    let res = post(
        app,
        &app.client,
        "/api/domains/detail",
        &[("id", &id.to_string())],
    )
    .await;
    assert_eq!(res.status(), 200);
    json(res).await
}

fn step_statuses(d: &Value) -> Vec<(String, String)> {
    d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn record_statuses(d: &Value) -> Vec<(String, String)> {
    d["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["purpose"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const ALL_OK: [(&str, &str); 5] = [
    ("MX", "ok"),
    ("MX", "ok"),
    ("SPF", "ok"),
    ("DKIM", "ok"),
    ("DMARC", "ok"),
];

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[sqlx::test]
async fn a_keyword_search_prices_each_extension_at_cost_plus_margin_and_marks_taken_names(
    pool: PgPool,
) {
    let app = app(pool).await;
    customer(&app, "search@acme.io").await;
    let res = post(
        &app,
        &app.client,
        "/api/domains/search",
        &[("query", "taken")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    let rows: Vec<(String, bool, Option<String>)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["available"].as_bool().unwrap(),
                r["price"].as_str().map(String::from),
            )
        })
        .collect();
    // Sandbox costs: com 10.98, io 34.98 (taken.io is reserved), co 25.98, net 12.98; +3.00.
    assert_eq!(
        rows,
        vec![
            ("taken.com".into(), true, Some("$13.98".into())),
            ("taken.io".into(), false, None),
            ("taken.co".into(), true, Some("$28.98".into())),
            ("taken.net".into(), true, Some("$15.98".into())),
        ]
    );
    assert_eq!(body["limit"], Value::Null);

    // Invalid input is refused before any registrar call, with the reason.
    let res = post(
        &app,
        &app.client,
        "/api/domains/search",
        &[("query", "-bad-.com")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("hyphen"));
}

#[sqlx::test]
async fn buying_a_domain_runs_the_saga_to_active_with_every_record_ok(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "buyer@acme.io").await;
    let id = bought(&app, "acme-outreach.com").await;
    // Paid: the webhook moved it on and enqueued exactly one saga.
    assert_eq!(status(&app, id).await.0, "registering");
    assert_eq!(
        app.scalar("SELECT count(*) FROM jobs WHERE kind = 'domain_purchase'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'one_time_charge' AND amount_cents = 1398")
            .await,
        1
    );

    worker(&app.state).run_until_idle().await.unwrap();

    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    let d = detail(&app, id).await;
    assert_eq!(
        step_statuses(&d),
        owned(&[
            ("register", "done"),
            ("create_zone", "done"),
            ("set_nameservers", "done"),
            ("create_records", "done"),
            ("publish", "done"),
            ("verify", "done"),
        ])
    );
    assert_eq!(record_statuses(&d), owned(&ALL_OK));
    assert_eq!(d["in_progress"], false);
    assert_eq!(d["price"], "$13.98");
    // Registered once, pointed at the zone's nameservers; the DKIM key is sealed at rest.
    let (registered_ns,): (Vec<String>,) = sqlx::query_as(
        "SELECT nameservers FROM sandbox_registrar_domains WHERE name = 'acme-outreach.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        registered_ns,
        vec!["ns1.sandbox.inboxgrove.net", "ns2.sandbox.inboxgrove.net"]
    );
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT dkim_private_key FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE KEY"));
    // The list shows it, with its health and expiry.
    let list = json(app.call(&app.client, "/api/domains").await).await;
    let row = &list["domains"][0];
    assert_eq!(row["name"], "acme-outreach.com");
    assert_eq!(row["status_label"], "Active");
    assert_eq!(row["health_label"], "5 of 5 records OK");
    assert!(row["expires"].as_str().is_some());
    // Bought names are no longer offered.
    let again = json(
        post(
            &app,
            &app.client,
            "/api/domains/search",
            &[("query", "acme-outreach.com")],
        )
        .await,
    )
    .await;
    assert_eq!(again["results"][0]["available"], false);
}

#[sqlx::test]
async fn a_refused_registration_refunds_exactly_once_marks_the_domain_failed_and_tells_the_customer(
    pool: PgPool,
) {
    let app = app(pool).await;
    customer(&app, "unlucky@acme.io").await;
    let id = bought(&app, "fail-register-now.com").await;
    let w = worker(&app.state);
    w.run_until_idle().await.unwrap();

    assert_eq!(status(&app, id).await.0, "failed");
    let d = detail(&app, id).await;
    assert!(
        d["failure_reason"]
            .as_str()
            .unwrap()
            .contains("registry refused"),
        "{d}"
    );
    assert_eq!(
        step_statuses(&d),
        owned(&[
            ("register", "failed"),
            ("create_zone", "pending"),
            ("set_nameservers", "pending"),
            ("create_records", "pending"),
            ("publish", "pending"),
            ("verify", "pending"),
            ("refund", "done"),
        ])
    );
    assert_eq!(d["refund"], "Refunded $13.98 to your card.");
    assert_eq!(d["in_progress"], false);

    // The refund job and Stripe's idempotency both stop a second refund.
    let job = inboxgrove::server::jobs::NewJob::new(
        saga::REFUND_KIND,
        &saga::SagaJob {
            tenant_id: tenant_of(&app, id).await,
            domain_id: id,
        },
    );
    // A second refund job with its own key runs the refund again: Stripe's key makes it a no-op.
    app.state.jobs.enqueue(job).await.unwrap();
    w.run_until_idle().await.unwrap();

    let refunded: i64 = sqlx::query_scalar("SELECT amount_refunded FROM sandbox_stripe_payments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refunded, 1398);
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'refund' AND amount_cents = -1398"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM stripe_events WHERE type = 'charge.refunded'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains")
            .await,
        0
    );
    let (subject, body): (String, String) = sqlx::query_as(
        "SELECT subject, body_text FROM mail_outbox WHERE subject LIKE '%could not be registered%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(subject.contains("fail-register-now.com"));
    assert!(body.contains("$13.98"), "{body}");
    // A failed purchase does not use up a domain slot.
    let search = json(
        post(
            &app,
            &app.client,
            "/api/domains/search",
            &[("query", "fine")],
        )
        .await,
    )
    .await;
    assert_eq!(search["limit"], Value::Null);
}

/// The app's sandbox registrar, scripted: counts calls to register (a refused second one
/// too), is unavailable for the first `outages` of them, and can hang right after a
/// registration succeeded, as a worker process killed at that moment would.
pub(crate) struct Scripted {
    pub(crate) inner: Arc<dyn Registrar>,
    pub(crate) register_calls: Arc<AtomicUsize>,
    pub(crate) outages: AtomicUsize,
    pub(crate) hang_after_register: bool,
    /// Refuses to point the nameservers (a permanent failure after registering).
    pub(crate) refuse_nameservers: bool,
    pub(crate) renew_calls: Arc<AtomicUsize>,
    /// Hangs right after a renewal went through (a worker killed at that moment).
    pub(crate) hang_after_renew: bool,
    /// Waits this long before registering (a slow registrar).
    pub(crate) register_delay: Duration,
}

impl Scripted {
    pub(crate) fn around(state: &AppState) -> Self {
        Self {
            inner: state.registrar.clone(),
            register_calls: Arc::new(AtomicUsize::new(0)),
            outages: AtomicUsize::new(0),
            hang_after_register: false,
            refuse_nameservers: false,
            renew_calls: Arc::new(AtomicUsize::new(0)),
            hang_after_renew: false,
            register_delay: Duration::ZERO,
        }
    }
}

pub(crate) fn with_registrar(state: &AppState, registrar: Scripted) -> AppState {
    let mut s = state.clone();
    s.edit().registrar = Arc::new(registrar);
    s
}

#[async_trait]
impl Registrar for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    async fn check(&self, names: &[String]) -> Result<Vec<Availability>, RegistrarError> {
        self.inner.check(names).await
    }
    async fn register(&self, r: &RegisterRequest) -> Result<Registration, RegistrarError> {
        self.register_calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.register_delay).await;
        if self
            .outages
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(RegistrarError::Unavailable(anyhow::anyhow!(
                "503 from the registrar"
            )));
        }
        let done = self.inner.register(r).await?;
        if self.hang_after_register {
            std::future::pending::<()>().await;
        }
        Ok(done)
    }
    async fn set_nameservers(&self, name: &str, ns: &[String]) -> Result<(), RegistrarError> {
        if self.refuse_nameservers {
            return Err(RegistrarError::Refused {
                code: Some("2019166".into()),
                message: "The domain is locked at the registry.".into(),
            });
        }
        self.inner.set_nameservers(name, ns).await
    }
    async fn renew(&self, name: &str, years: u32) -> Result<Renewal, RegistrarError> {
        self.renew_calls.fetch_add(1, Ordering::SeqCst);
        if self
            .outages
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(RegistrarError::Unavailable(anyhow::anyhow!(
                "503 from the registrar"
            )));
        }
        let done = self.inner.renew(name, years).await?;
        if self.hang_after_renew {
            std::future::pending::<()>().await;
        }
        Ok(done)
    }
    async fn info(&self, name: &str) -> Result<Option<DomainInfo>, RegistrarError> {
        self.inner.info(name).await
    }
    async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError> {
        self.inner.list().await
    }
}

#[sqlx::test]
async fn a_worker_killed_after_registering_is_resumed_by_another_without_a_second_registration(
    pool: PgPool,
) {
    let app = app(pool).await;
    customer(&app, "crash@acme.io").await;
    let id = bought(&app, "crash-safe.io").await;
    let registered = Arc::new(AtomicUsize::new(0));
    let dying = with_registrar(
        &app.state,
        Scripted {
            register_calls: registered.clone(),
            hang_after_register: true,
            ..Scripted::around(&app.state)
        },
    );
    let first = tokio::spawn(async move { worker(&dying).run_once().await });
    // The name is registered at the registrar, but the worker never records it: kill it.
    for _ in 0..200 {
        if registered.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(registered.load(Ordering::SeqCst), 1);
    first.abort();
    let _ = first.await;
    let (step, step_status): (String, String) =
        sqlx::query_as("SELECT step, status FROM domain_saga_steps WHERE domain_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (step.as_str(), step_status.as_str()),
        ("register", "running")
    );

    // Its lease runs out; another process's worker takes the job over.
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE status = 'running'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let other = with_registrar(
        &app.state,
        Scripted {
            register_calls: registered.clone(),
            ..Scripted::around(&app.state)
        },
    );
    worker(&other).run_until_idle().await.unwrap();

    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(registered.load(Ordering::SeqCst), 1, "registered twice");
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM domain_saga_steps WHERE domain_id = $1 AND step = 'register'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        0
    );
}

/// Two replicas' workers on one saga at once: the first's lease ran out while the registrar
/// was slow to answer (its process cut off from the database, say), so the second took the
/// job. The second must not register the name again beside it.
#[sqlx::test]
async fn two_workers_racing_one_purchase_saga_register_the_name_once(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "race@acme.io").await;
    let id = bought(&app, "saga-race.io").await;
    let registered = Arc::new(AtomicUsize::new(0));
    let slow = with_registrar(
        &app.state,
        Scripted {
            register_calls: registered.clone(),
            register_delay: Duration::from_millis(1500),
            ..Scripted::around(&app.state)
        },
    );
    let first = tokio::spawn(async move { worker(&slow).run_once().await });
    for _ in 0..200 {
        if registered.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        registered.load(Ordering::SeqCst),
        1,
        "the first worker is registering"
    );
    // Its lease runs out under it; the second replica's worker takes the job now.
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE status = 'running'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let second = with_registrar(
        &app.state,
        Scripted {
            register_calls: registered.clone(),
            ..Scripted::around(&app.state)
        },
    );
    let ran = worker(&second).run_until_idle().await.unwrap();
    assert!(ran >= 1, "the second worker took the job");
    let (status_, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM jobs WHERE kind = $1")
            .bind(saga::SAGA_KIND)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status_, "pending", "deferred while the first runs");
    assert!(error.unwrap_or_default().contains("another worker"));

    first.await.unwrap().unwrap();
    // Whatever is left runs once the deferral is over.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE status = 'pending'")
        .execute(&app.pool)
        .await
        .unwrap();
    worker(&second).run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(registered.load(Ordering::SeqCst), 1, "registered twice");
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        0,
        "nothing refunded for a purchase that went through"
    );
}

#[sqlx::test]
async fn a_payment_webhook_delivered_twice_starts_one_saga(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "twice@acme.io").await;
    let id = bought(&app, "twice.net").await;
    // Both checkout.session.completed and payment_intent.succeeded started it: one job.
    assert_eq!(
        app.scalar("SELECT count(*) FROM jobs WHERE kind = 'domain_purchase'")
            .await,
        1
    );
    // Stripe delivers the payment event again, signed: a duplicate, nothing new.
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM stripe_events WHERE type = 'payment_intent.succeeded'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let body = serde_json::to_vec(&payload).unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&app.state.webhook_secret).to_string();
    let now = chrono::Utc::now().timestamp();
    let header = inboxgrove::server::providers::payments::signature::sign(&secret, now, &body);
    let res = browser()
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", header)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["outcome"], "duplicate");
    // Even started again by hand, the saga exists once.
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let purchase: Uuid = sqlx::query_scalar("SELECT purchase_id FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let started = saga::start_in(
        &mut conn,
        &app.state.settings,
        inboxgrove::domain::TenantId(tenant),
        purchase,
    )
    .await
    .unwrap();
    assert!(!started);
    drop(conn);
    // The one saga, then what its activation asked for: the relay publish and the first
    // blocklist check (which asks for the scores).
    assert_eq!(worker(&app.state).run_until_idle().await.unwrap(), 4);
    assert_eq!(
        app.scalar("SELECT count(*) FROM jobs WHERE kind = 'domain_purchase'")
            .await,
        1
    );
    assert_eq!(status(&app, id).await.0, "active");
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains")
            .await,
        1
    );
}

#[sqlx::test]
async fn the_trial_cap_is_checked_before_checkout_with_a_clear_message(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "cap@acme.io").await;
    for name in ["own-one.com", "own-two.com"] {
        let res = connect(&app, &app.client, name).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let search = json(
        post(
            &app,
            &app.client,
            "/api/domains/search",
            &[("query", "third")],
        )
        .await,
    )
    .await;
    assert!(
        search["limit"]
            .as_str()
            .unwrap()
            .contains("allows 2 domains"),
        "{search}"
    );
    let res = post(
        &app,
        &app.client,
        "/api/domains/buy",
        &[("name", "third.com")],
    )
    .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("allows 2 domains"));
    assert_eq!(app.count("billing_checkouts").await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM domains WHERE name = 'third.com'")
            .await,
        0
    );
}

#[sqlx::test]
async fn another_tenant_can_neither_see_nor_touch_a_domain(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "owner@acme.io").await;
    let res = connect(&app, &app.client, "private.io").await;
    assert_eq!(res.status(), 200);
    let id = domain_id(&app, "private.io").await.to_string();

    let other = another_customer(&app, "other@rival.io").await;
    for path in [
        "/api/domains/detail",
        "/api/domains/recheck",
        "/api/domains/repair",
        "/api/domains/delete",
    ] {
        let res = post(&app, &other, path, &[("id", &id)]).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let list = json(app.call(&other, "/api/domains").await).await;
    assert_eq!(list["domains"], serde_json::json!([]));
    // The owner's claim is untouched.
    assert_eq!(
        status(&app, Uuid::parse_str(&id).unwrap()).await.0,
        "verifying"
    );
}

/// Creates, in a sandbox zone standing in for the customer's DNS host, exactly the records the
/// domain page shows for `id`.
async fn publish_shown_records(app: &TestApp, client: &reqwest::Client, id: Uuid, zone: &str) {
    let res = post(
        app,
        client,
        "/api/domains/detail",
        &[("id", &id.to_string())],
    )
    .await;
    let d = json(res).await;
    for r in d["records"].as_array().unwrap() {
        let (kind, value) = (r["kind"].as_str().unwrap(), r["value"].as_str().unwrap());
        let (kind, priority, content) = match kind {
            "MX" => {
                let (p, h) = value.split_once(' ').unwrap();
                (RecordType::Mx, Some(p.parse().unwrap()), h.to_string())
            }
            "TXT" => (RecordType::Txt, None, value.to_string()),
            _ => (RecordType::Cname, None, value.to_string()),
        };
        app.state
            .dns
            .upsert_record(
                zone,
                &DnsRecord {
                    id: None,
                    kind,
                    name: r["name"].as_str().unwrap().into(),
                    content,
                    priority,
                    ttl: 300,
                },
            )
            .await
            .unwrap();
    }
}

#[sqlx::test]
async fn a_squatters_unverified_claim_does_not_lock_the_real_owner_out(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "squatter@rival.io").await;
    let res = connect(&app, &app.client, "victim.io").await;
    assert_eq!(res.status(), 200);
    let squat = domain_id(&app, "victim.io").await;

    // The real owner connects the same name, and publishes the records shown to them.
    let owner = another_customer(&app, "owner@victim.io").await;
    let res = connect(&app, &owner, "victim.io").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let real = domain_id(&app, "victim.io").await;
    assert_ne!(real, squat);
    // Connecting it twice in one account is refused.
    let res = connect(&app, &owner, "victim.io").await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("already in your domains")
    );

    let zone = app.state.dns.create_zone("victim.io").await.unwrap();
    publish_shown_records(&app, &owner, real, &zone.id).await;
    on_domain(&app, &owner, "recheck", real).await;
    assert_eq!(status(&app, real).await, ("active".into(), "ok".into()));

    // The squatter's claim cannot verify: its DKIM key is not the one published.
    on_domain(&app, &app.client, "recheck", squat).await;
    assert_eq!(
        status(&app, squat).await,
        ("verifying".into(), "broken".into())
    );
    let d = detail(&app, squat).await;
    let dkim = d["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["purpose"] == "DKIM")
        .unwrap()
        .clone();
    assert_eq!(dkim["status"], "invalid");
    // Once the owner's domain is active the name is taken for everyone else.
    let third = another_customer(&app, "third@else.io").await;
    let res = connect(&app, &third, "victim.io").await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("already on InboxGrove"));
}

#[sqlx::test]
async fn an_own_domain_shows_its_records_and_becomes_active_once_they_are_created(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "byod@acme.io").await;
    let res = connect(&app, &app.client, "MyCompany.io").await;
    assert_eq!(res.status(), 200);
    let id = domain_id(&app, "mycompany.io").await;
    let d = detail(&app, id).await;
    assert_eq!(d["status"], "verifying");
    assert_eq!(d["managed"], false);
    let records = d["records"].as_array().unwrap();
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r["status"] == "unknown"));
    let dkim = records.iter().find(|r| r["purpose"] == "DKIM").unwrap();
    assert_eq!(dkim["name"], "ig1._domainkey.mycompany.io");
    assert!(
        dkim["value"]
            .as_str()
            .unwrap()
            .starts_with("v=DKIM1; k=rsa; p=MII")
    );

    // The customer has created nothing at their DNS host yet.
    let zone = app.state.dns.create_zone("mycompany.io").await.unwrap();
    let res = on_domain(&app, &app.client, "recheck", id).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let d = detail(&app, id).await;
    assert!(
        record_statuses(&d).iter().all(|(_, s)| s == "missing"),
        "{d}"
    );
    assert!(
        d["records"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("mx1.inboxgrove.net")
    );
    assert_eq!(d["status"], "verifying");

    // They create exactly what was shown; Verify makes it active.
    publish_shown_records(&app, &app.client, id, &zone.id).await;
    on_domain(&app, &app.client, "recheck", id).await;
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
}

#[sqlx::test]
async fn a_broken_record_is_found_by_the_scheduled_check_reported_and_repaired(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "repair@acme.io").await;
    let id = bought(&app, "fixme.co").await;
    let w = worker(&app.state);
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));

    // Someone deletes the DKIM record and adds a second SPF record in the zone.
    sqlx::query("DELETE FROM sandbox_dns_records WHERE name = 'ig1._domainkey.fixme.co'")
        .execute(&app.pool)
        .await
        .unwrap();
    let zone: String = sqlx::query_scalar("SELECT zone_id FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sandbox_dns_records (id, zone_id, kind, name, content) VALUES ('x1', $1, 'TXT', 'fixme.co', 'v=spf1 -all')",
    )
    .bind(&zone)
    .execute(&app.pool)
    .await
    .unwrap();
    // The scheduled scan finds it due, and its check marks both records and tells the owner.
    sqlx::query("UPDATE domains SET last_checked_at = now() - interval '2 days' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(health::scan(&app.state).await.unwrap(), 1);
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await, ("active".into(), "broken".into()));
    let d = detail(&app, id).await;
    assert_eq!(
        record_statuses(&d),
        owned(&[
            ("MX", "ok"),
            ("MX", "ok"),
            ("SPF", "invalid"),
            ("DKIM", "missing"),
            ("DMARC", "ok"),
        ])
    );
    assert!(
        d["records"][2]["fix"]
            .as_str()
            .unwrap()
            .contains("2 SPF records"),
        "{d}"
    );
    let subject: String =
        sqlx::query_scalar("SELECT subject FROM mail_outbox WHERE subject LIKE 'A DNS record of%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(subject, "A DNS record of fixme.co is broken");

    let res = on_domain(&app, &app.client, "repair", id).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(record_statuses(&detail(&app, id).await), owned(&ALL_OK));
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_dns_records WHERE content = 'v=spf1 -all'")
            .await,
        0
    );
}

#[sqlx::test]
async fn removing_a_bought_domain_says_the_registration_runs_until_expiry(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "remove@acme.io").await;
    let id = bought(&app, "goodbye.net").await;
    worker(&app.state).run_until_idle().await.unwrap();
    let res = on_domain(&app, &app.client, "delete", id).await;
    assert_eq!(res.status(), 200);
    let note: String = res.json().await.unwrap();
    assert!(
        note.contains("runs until") && note.contains("not be renewed"),
        "{note}"
    );
    assert_eq!(status(&app, id).await.0, "deleted");
    let list = json(app.call(&app.client, "/api/domains").await).await;
    assert_eq!(list["domains"], serde_json::json!([]));
    let res = post(
        &app,
        &app.client,
        "/api/domains/detail",
        &[("id", &id.to_string())],
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[sqlx::test]
async fn a_purchase_canceled_before_its_payment_lands_is_refunded_not_registered(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "late@acme.io").await;
    let url = checkout_for(&app, "toolate.com").await;
    let id = domain_id(&app, "toolate.com").await;
    let res = on_domain(&app, &app.client, "delete", id).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Nothing was charged"));
    // The customer pays anyway in the tab still open.
    assert_eq!(pay(&app, &url, "4242424242424242").await.status(), 303);
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await.0, "deleted");
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains")
            .await,
        0
    );
    let refunded: i64 = sqlx::query_scalar("SELECT amount_refunded FROM sandbox_stripe_payments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refunded, 1398);
}

#[sqlx::test]
async fn the_sandbox_checkout_page_shows_the_domain_and_its_price(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "page@acme.io").await;
    let url = checkout_for(&app, "shiny.io").await;
    let html = app
        .client
        .get(local(&app, &url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("shiny.io") && html.contains("$37.98"),
        "{html}"
    );
    // A second click within minutes opens the same Checkout, not a second purchase.
    assert_eq!(checkout_for(&app, "shiny.io").await, url);
    assert_eq!(app.scalar("SELECT count(*) FROM domains").await, 1);
}

fn flaky(state: &AppState, outages: usize) -> AppState {
    with_registrar(
        state,
        Scripted {
            outages: AtomicUsize::new(outages),
            ..Scripted::around(state)
        },
    )
}

/// Makes every scheduled retry due now (instead of waiting out the backoff).
pub(crate) async fn retries_due(app: &TestApp) {
    sqlx::query("UPDATE jobs SET run_at = now() WHERE status = 'pending'")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_registrar_outage_is_retried_with_backoff_and_the_saga_then_finishes(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "outage@acme.io").await;
    let id = bought(&app, "patience.com").await;
    let w = worker(&flaky(&app.state, 2));
    w.run_until_idle().await.unwrap();
    // Failed once, rescheduled about backoff_base (10 s) later, not run again yet.
    let (attempts, delay): (i32, f64) = sqlx::query_as(
        "SELECT attempts, EXTRACT(EPOCH FROM run_at - now())::float8 FROM jobs WHERE kind = 'domain_purchase'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!((5.0..=10.5).contains(&delay), "{delay}");
    assert_eq!(status(&app, id).await.0, "registering");
    let d = detail(&app, id).await;
    assert_eq!(d["steps"][0]["status"], "failed");
    assert_eq!(
        d["steps"][0]["error"],
        "The registrar did not answer; retrying."
    );
    assert_eq!(d["in_progress"], true);

    retries_due(&app).await;
    w.run_until_idle().await.unwrap();
    retries_due(&app).await;
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(detail(&app, id).await["steps"][0]["attempts"], 3);
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        0
    );
}

#[sqlx::test]
async fn an_outage_outlasting_every_attempt_refunds_instead_of_keeping_the_money(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_DOMAINS__SAGA_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    customer(&app, "down@acme.io").await;
    let id = bought(&app, "never.net").await;
    let w = worker(&flaky(&app.state, 100));
    w.run_until_idle().await.unwrap();
    retries_due(&app).await;
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await.0, "failed");
    let d = detail(&app, id).await;
    assert_eq!(
        d["failure_reason"],
        "Register the domain kept failing: The registrar did not answer; retrying."
    );
    assert_eq!(d["refund"], "Refunded $15.98 to your card.");
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'refund' AND amount_cents = -1598"
        )
        .await,
        1
    );
}

#[sqlx::test]
async fn create_for_me_writes_nothing_into_a_zone_of_ours_until_the_claim_is_verified(
    pool: PgPool,
) {
    let app = app(pool).await;
    customer(&app, "hosted@acme.io").await;
    // A zone in our DNS account with someone's DKIM key in it (an earlier holder's).
    let zone = app.state.dns.create_zone("hosted-here.io").await.unwrap();
    app.state
        .dns
        .upsert_record(
            &zone.id,
            &DnsRecord {
                id: None,
                kind: RecordType::Txt,
                name: "ig1._domainkey.hosted-here.io".into(),
                content: "v=DKIM1; k=rsa; p=EARLIERHOLDERSKEY".into(),
                priority: None,
                ttl: 300,
            },
        )
        .await
        .unwrap();
    let res = connect(&app, &app.client, "hosted-here.io").await;
    assert_eq!(res.status(), 200);
    let id = domain_id(&app, "hosted-here.io").await;
    let d = detail(&app, id).await;
    assert_eq!(d["managed"], true);
    assert_eq!(d["status"], "verifying");

    // Neither bought here nor verified: "Create the records for me" writes nothing.
    let before = zone_records(&app, "hosted-here.io").await;
    let res = on_domain(&app, &app.client, "repair", id).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("only write DNS records for a domain you bought here or have verified")
    );
    assert_eq!(zone_records(&app, "hosted-here.io").await, before);
    assert_eq!(status(&app, id).await.0, "verifying");

    // Once the claim is verified (the records shown are in its DNS), repair may write.
    publish_shown_records(&app, &app.client, id, &zone.id).await;
    on_domain(&app, &app.client, "recheck", id).await;
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    sqlx::query("DELETE FROM sandbox_dns_records WHERE name = '_dmarc.hosted-here.io'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = on_domain(&app, &app.client, "repair", id).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(record_statuses(&detail(&app, id).await), owned(&ALL_OK));

    // A zone elsewhere cannot be written: the customer is told to create the records.
    connect(&app, &app.client, "elsewhere.io").await;
    let other = domain_id(&app, "elsewhere.io").await;
    let res = on_domain(&app, &app.client, "repair", other).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("create the records shown at your DNS host")
    );
}

/// Every record of the sandbox zone `zone`: (type, name, content), sorted.
async fn zone_records(app: &TestApp, zone: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT r.kind, r.name, r.content FROM sandbox_dns_records r
           JOIN sandbox_dns_zones z ON z.id = r.zone_id
          WHERE z.name = $1 ORDER BY 1, 2, 3",
    )
    .bind(zone)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// The relay files (paths and contents) under the test app's policy directory that mention
/// `name`.
fn relay_files_mentioning(app: &TestApp, name: &str) -> Vec<String> {
    fn walk(dir: &std::path::Path, name: &str, hits: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.to_string_lossy().contains(name) {
                hits.push(path.to_string_lossy().into_owned());
            }
            if path.is_dir() {
                walk(&path, name, hits);
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(name)) {
                hits.push(path.to_string_lossy().into_owned());
            }
        }
    }
    let mut hits = Vec::new();
    walk(
        std::path::Path::new(&app.state.settings.relay.policy_dir),
        name,
        &mut hits,
    );
    hits
}

#[sqlx::test]
async fn a_removed_bought_domain_leaves_nothing_behind_and_stays_its_buyers(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "buyer@acme.io").await;
    let id = bought(&app, "keepme.com").await;
    let w = worker(&app.state);
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await, ("active".into(), "ok".into()));
    assert_eq!(zone_records(&app, "keepme.com").await.len(), 5);
    assert!(!relay_files_mentioning(&app, "keepme.com").is_empty());

    // The buyer removes it: our records leave the zone, its key and data leave the relay.
    let res = on_domain(&app, &app.client, "delete", id).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    w.run_until_idle().await.unwrap();
    assert_eq!(zone_records(&app, "keepme.com").await, vec![]);
    assert_eq!(
        relay_files_mentioning(&app, "keepme.com"),
        Vec::<String>::new()
    );

    // Another account connects the name: refused with a sentence, before any key is made.
    let keys_made = app.state.keygen.generated();
    let thief = another_customer(&app, "thief@rival.io").await;
    let res = connect(&app, &thief, "keepme.com").await;
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "keepme.com was bought through InboxGrove by another account and stays theirs until its registration ends."
        ),
        "{text}"
    );
    assert_eq!(app.state.keygen.generated(), keys_made);
    assert_eq!(
        app.scalar("SELECT count(*) FROM domains WHERE name = 'keepme.com'")
            .await,
        1
    );
    assert_eq!(zone_records(&app, "keepme.com").await, vec![]);

    // Its buyer may add it back, and have its records created for them.
    let res = connect(&app, &app.client, "keepme.com").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let again = domain_id(&app, "keepme.com").await;
    assert_ne!(again, id);
    let res = on_domain(&app, &app.client, "repair", again).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(status(&app, again).await, ("active".into(), "ok".into()));
}

#[sqlx::test]
async fn a_name_whose_purchase_failed_after_registering_stays_its_buyers(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "buyer@acme.io").await;
    let id = bought(&app, "halfway.com").await;
    let w = worker(&with_registrar(
        &app.state,
        Scripted {
            refuse_nameservers: true,
            ..Scripted::around(&app.state)
        },
    ));
    w.run_until_idle().await.unwrap();
    assert_eq!(status(&app, id).await.0, "failed");
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_registrar_domains WHERE name = 'halfway.com'")
            .await,
        1
    );
    let zone_before = zone_records(&app, "halfway.com").await;

    let thief = another_customer(&app, "thief@rival.io").await;
    let res = connect(&app, &thief, "halfway.com").await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("bought through InboxGrove by another account")
    );
    assert_eq!(zone_records(&app, "halfway.com").await, zone_before);
    assert_eq!(
        app.scalar("SELECT count(*) FROM domains WHERE name = 'halfway.com'")
            .await,
        1
    );

    // The buyer may add it back.
    let res = connect(&app, &app.client, "halfway.com").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// An app whose DNS provider (a fake Cloudflare) and registrar (a fake Namecheap) must never be
/// called.
#[sqlx::test]
async fn connect_and_buy_refuse_a_bad_name_or_a_full_plan_before_any_provider_call_or_key(
    pool: PgPool,
) {
    let cloudflare = MockServer::start().await;
    let namecheap = MockServer::start().await;
    // A real registrar runs only beside real payments (the sandbox's test card would buy real
    // names): a fake Stripe, which must not be asked either.
    let stripe = MockServer::start().await;
    for server in [&cloudflare, &namecheap, &stripe] {
        Mock::given(any())
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(server)
            .await;
    }
    let cloudflare_base = format!("{}/client/v4", cloudflare.uri());
    let namecheap_base = format!("{}/xml.response", namecheap.uri());
    let stripe_base = format!("{}/", stripe.uri());
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
            ("INBOXGROVE_BILLING__STRIPE_API_BASE", &stripe_base),
            ("INBOXGROVE_TRIAL__MAX_DOMAINS", "0"),
            ("CLOUDFLARE_API_TOKEN", "cf-test-token"),
            ("INBOXGROVE_CLOUDFLARE__API_BASE", &cloudflare_base),
            ("INBOXGROVE_CLOUDFLARE__ACCOUNT_ID", "acct0123"),
            ("NAMECHEAP_API_KEY", "52b4c87ef7fd49cb96a915c0db68124"),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_BASE", &namecheap_base),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_USER", "apiexample"),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__USER_NAME", "inboxgrove"),
            (
                "INBOXGROVE_REGISTRAR__NAMECHEAP__CLIENT_IP",
                "192.168.1.109",
            ),
        ],
    )
    .await;
    assert_eq!(app.state.dns.name(), "cloudflare");
    assert_eq!(app.state.registrar.name(), "namecheap");
    customer(&app, "full@acme.io").await;
    let res = post(
        &app,
        &app.client,
        "/api/domains/buy",
        &[("name", "one-too-many.com")],
    )
    .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("allows 0 domains"));

    let res = connect(&app, &app.client, "-bad-.com").await;
    assert_eq!(res.status(), 422);
    let res = connect(&app, &app.client, "one-too-many.com").await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("allows 0 domains"));

    assert_eq!(
        app.state.keygen.generated(),
        0,
        "a key was made for nothing"
    );
    assert_eq!(app.count("domains").await, 0);
    cloudflare.verify().await;
    namecheap.verify().await;
}

#[sqlx::test]
async fn searching_a_name_again_within_the_cache_time_does_not_ask_the_registrar_again(
    pool: PgPool,
) {
    let namecheap = MockServer::start().await;
    let taken = std::fs::read_to_string(format!(
        "{}/tests/api/fixtures/namecheap/check_taken.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(taken, "text/xml; charset=utf-8"))
        .expect(2)
        .mount(&namecheap)
        .await;
    let api_base = format!("{}/xml.response", namecheap.uri());
    // A real registrar runs only beside real payments; searching never asks Stripe.
    let stripe = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&stripe)
        .await;
    let stripe_base = format!("{}/", stripe.uri());
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_DOMAINS__SEARCH_CACHE_SECS", "1"),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
            ("INBOXGROVE_BILLING__STRIPE_API_BASE", &stripe_base),
            ("NAMECHEAP_API_KEY", "52b4c87ef7fd49cb96a915c0db68124"),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_BASE", &api_base),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_USER", "apiexample"),
            ("INBOXGROVE_REGISTRAR__NAMECHEAP__USER_NAME", "inboxgrove"),
            (
                "INBOXGROVE_REGISTRAR__NAMECHEAP__CLIENT_IP",
                "192.168.1.109",
            ),
        ],
    )
    .await;
    assert_eq!(app.state.registrar.name(), "namecheap");
    customer(&app, "search@acme.io").await;
    let search = || async {
        let res = post(
            &app,
            &app.client,
            "/api/domains/search",
            &[("query", "TestAPI.xyz")],
        )
        .await;
        assert_eq!(res.status(), 200);
        let body = json(res).await;
        assert_eq!(body["results"][0]["name"], "testapi.xyz");
        assert_eq!(body["results"][0]["note"], "Taken");
    };
    search().await;
    search().await;
    assert_eq!(namecheap.received_requests().await.unwrap().len(), 1);
    // Past the cache time the registrar is asked again.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    search().await;
    assert_eq!(namecheap.received_requests().await.unwrap().len(), 2);
}
