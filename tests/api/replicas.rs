//! Several replicas: two `inboxgrove serve` processes (the real binary, as deployed) on one
//! database. Each job runs once, a webhook delivered to both applies once, the sandbox's
//! redelivery loops never post an event twice, a session works on both, and the rate limits
//! are per process, as the README says (N replicas admit up to N times the limit).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use inboxgrove::server::providers::payments::signature;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::billing::{DAY, T0, event, subscription};
use crate::helpers::{Signup, TestApp, browser, settings};

const SECRET: &str = "whsec_replicas_test";

/// A running `inboxgrove serve`; killed when dropped.
pub struct Replica {
    child: Child,
    /// Its main address and metrics listener, and the test's own handle on the database
    /// (`app.state` is the test's, not the process's).
    pub app: TestApp,
    pub log: std::path::PathBuf,
}

impl Replica {
    /// Sends the process SIGTERM, as an orchestrator stopping it does.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
    }

    /// Waits up to `limit` for the process to exit; its status, if it did.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The URL of the test's own database (`#[sqlx::test]` made it) for another process.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("tests run with DATABASE_URL");
    let mut url = reqwest::Url::parse(&base).unwrap();
    let db = pool.connect_options().get_database().unwrap().to_string();
    url.set_path(&format!("/{db}"));
    url.to_string()
}

/// The environment every replica of one test shares (one secret key, one webhook secret, one
/// relay directory), and what tests always set (cheap hashing, free ports).
pub fn shared_env(relay_dir: &str) -> Vec<(String, String)> {
    [
        ("INBOXGROVE_SECURITY__ARGON2_MEMORY_KIB", "8192"),
        ("INBOXGROVE_SECURITY__ARGON2_ITERATIONS", "1"),
        ("INBOXGROVE_DNS__RESOLVER", "127.0.0.1:0"),
        ("INBOXGROVE_RELAY__POLICY_DIR", relay_dir),
        ("INBOXGROVE_DELIVERABILITY__SANDBOX_TRAFFIC", "false"),
        ("INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE", "100000"),
        ("INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE", "1000000"),
        ("INBOXGROVE_RATE_LIMITS__TENANT_PER_HOUR", "10000000"),
        ("INBOXGROVE_JOBS__POLL_INTERVAL_MS", "100"),
        ("INBOXGROVE_LOG__FORMAT", "text"),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        (
            "INBOXGROVE_SECRET_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Starts the binary on `pool`'s database with `env`, and waits until it is ready.
pub async fn start(pool: &PgPool, env: &[(String, String)]) -> Replica {
    start_on(&database_url(pool), pool, env).await
}

/// Starts the binary on the database at `url` (`pool` is the test's own handle on it).
pub async fn start_on(url: &str, pool: &PgPool, env: &[(String, String)]) -> Replica {
    let port = free_port();
    let metrics_port = free_port();
    let log = std::env::temp_dir().join(format!("ig-replica-{port}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_inboxgrove"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "INBOXGROVE_METRICS__LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        )
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("the inboxgrove binary starts");
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        pool: pool.clone(),
        state: inboxgrove::server::state::AppState::new(settings(&[]), pool.clone()).unwrap(),
        client: browser(),
        metrics: Some(format!("http://127.0.0.1:{metrics_port}")),
    };
    let replica = Replica { child, app, log };
    for _ in 0..600 {
        if let Ok(r) = reqwest::get(replica.app.url("/health/ready")).await
            && r.status() == StatusCode::OK
        {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the replica did not become ready:\n{}",
        std::fs::read_to_string(&replica.log).unwrap_or_default()
    );
}

/// The environment of one replica for `pool`'s test, with `extra` on top.
pub fn env_with(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let relay = std::env::temp_dir().join(format!("ig-replicas-{}", uuid::Uuid::new_v4().simple()));
    let mut env = shared_env(&relay.to_string_lossy());
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// Two replicas, started one after the other (each migrates at start).
pub async fn two(pool: &PgPool, extra: &[(&str, &str)]) -> (Replica, Replica) {
    let env = env_with(extra);
    let a = start(pool, &env).await;
    let b = start(pool, &env).await;
    (a, b)
}

/// Sums every line of `series` (any labels matching `labels`) in `replica`'s /metrics.
pub async fn metric_sum(replica: &Replica, series: &str, labels: &[&str]) -> f64 {
    let base = replica.app.metrics.as_ref().unwrap();
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(series) && l[series.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Stripe webhooks received by both replicas together, any outcome.
async fn stripe_received(a: &Replica, b: &Replica) -> f64 {
    let labels = [r#"source="stripe""#];
    metric_sum(a, "inboxgrove_webhooks_received_total", &labels).await
        + metric_sum(b, "inboxgrove_webhooks_received_total", &labels).await
}

pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[sqlx::test]
async fn two_processes_run_each_job_once_and_share_sessions(pool: PgPool) {
    let (a, b) = two(&pool, &[("INBOXGROVE_JOBS__WORKERS", "2")]).await;

    // A session made on A works on B, and a sign-out on B ends it on A.
    let res = a.app.signup(&Signup::valid("rep-ann@acme.test")).await;
    assert!(res.status().is_success(), "{}", res.status());
    let client = &a.app.client;
    for r in [&a, &b] {
        let res = client.get(r.app.url("/dashboard")).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "signed in on {}",
            r.app.address
        );
    }
    let out = b.app.call(client, "/api/auth/logout").await;
    assert!(out.status().is_success() || out.status().is_redirection());
    let res = client.get(a.app.url("/dashboard")).send().await.unwrap();
    assert!(
        res.status().is_redirection(),
        "signed out on A too: {}",
        res.status()
    );

    // 400 jobs due at once, four workers in two processes: each runs exactly once.
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO jobs (id, kind, max_attempts)
         SELECT gen_random_uuid(), 'trial_reminder_scan', 3 FROM generate_series(1, 400)
         RETURNING id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    wait_until("every job done", async || {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE id = ANY($1) AND status <> 'done'")
                .bind(&ids)
                .fetch_one(&pool)
                .await
                .unwrap();
        open == 0
    })
    .await;
    let twice: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE id = ANY($1) AND attempts <> 1")
            .bind(&ids)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(twice, 0, "a job was claimed more than once");
    let done_in_db: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'trial_reminder_scan' AND status = 'done'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let labels = [r#"kind="trial_reminder_scan""#, r#"outcome="done""#];
    let (by_a, by_b) = (
        metric_sum(&a, "inboxgrove_jobs_finished_total", &labels).await,
        metric_sum(&b, "inboxgrove_jobs_finished_total", &labels).await,
    );
    assert_eq!(by_a + by_b, done_in_db as f64, "runs counted = jobs done");
    assert!(
        by_a > 0.0 && by_b > 0.0,
        "both processes worked: {by_a} + {by_b}"
    );
}

#[sqlx::test]
async fn a_webhook_delivered_to_both_applies_once_and_redelivery_never_double_sends(pool: PgPool) {
    let (a, b) = two(
        &pool,
        &[("INBOXGROVE_BILLING__SANDBOX_REDELIVER_MS", "100")],
    )
    .await;
    let res = a.app.signup(&Signup::valid("rep-bea@acme.test")).await;
    assert!(res.status().is_success());
    sqlx::query(
        "INSERT INTO billing_customers (tenant_id, customer_id) SELECT tenant_id, 'cus_1' FROM memberships",
    )
    .execute(&pool)
    .await
    .unwrap();

    // The same signed event to both at once: one applies it, the other finds it done.
    let body = serde_json::to_vec(&event(
        "evt_replicas_1",
        "customer.subscription.created",
        T0,
        subscription("active", "price_starter_monthly", T0 + 30 * DAY, false),
    ))
    .unwrap();
    let post = |r: &Replica| {
        reqwest::Client::new()
            .post(r.app.url("/webhooks/stripe"))
            .header(
                "stripe-signature",
                signature::sign(SECRET, chrono::Utc::now().timestamp(), &body),
            )
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let (ra, rb) = tokio::join!(post(&a), post(&b));
    let mut outcomes = Vec::new();
    for res in [ra.unwrap(), rb.unwrap()] {
        assert_eq!(res.status(), StatusCode::OK);
        let v: Value = res.json().await.unwrap();
        outcomes.push(v["outcome"].as_str().unwrap().to_string());
    }
    outcomes.sort();
    assert_eq!(outcomes, ["applied", "duplicate"]);
    let subs: i64 = sqlx::query_scalar("SELECT count(*) FROM billing_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(subs, 1);

    // 150 undelivered sandbox events; both processes' redelivery loops run every 100 ms.
    let before = stripe_received(&a, &b).await;
    let mut tx = pool.begin().await.unwrap();
    for i in 0..150 {
        let id = format!("evt_sbx_replicas_{i}");
        let payload = event(
            &id,
            "customer.updated",
            T0,
            serde_json::json!({"id": "cus_1"}),
        );
        sqlx::query("INSERT INTO sandbox_stripe_events (id, type, payload) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind("customer.updated")
            .bind(payload)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    wait_until("every sandbox event delivered", async || {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sandbox_stripe_events WHERE delivered_at IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        left == 0
    })
    .await;
    let posted_twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sandbox_stripe_events WHERE id LIKE 'evt_sbx_replicas_%' AND attempts <> 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(posted_twice, 0);
    let after = stripe_received(&a, &b).await;
    assert_eq!(after - before, 150.0, "each event reached the app once");
}

#[sqlx::test]
async fn each_replica_enforces_the_tenant_limit_on_its_own(pool: PgPool) {
    let (a, b) = two(
        &pool,
        &[("INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE", "30")],
    )
    .await;
    let res = a.app.signup(&Signup::valid("rep-cy@acme.test")).await;
    assert!(res.status().is_success());
    let client = &a.app.client;
    let admitted_until_refused = async |r: &Replica| {
        for n in 0..100 {
            let res = client.get(r.app.url("/dashboard")).send().await.unwrap();
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(res.headers().contains_key("retry-after"));
                return n;
            }
            assert_eq!(res.status(), StatusCode::OK);
        }
        panic!("never refused");
    };
    // B has not seen this workspace: it admits exactly its own 30 a minute.
    assert_eq!(admitted_until_refused(&b).await, 30);
    // A counted the signup's requests already; it admits the rest of its own 30.
    let on_a = admitted_until_refused(&a).await;
    assert!((1..=30).contains(&on_a), "{on_a}");
    for r in [&a, &b] {
        assert!(
            metric_sum(
                r,
                "inboxgrove_rate_limit_refusals_total",
                &[r#"limit="tenant""#]
            )
            .await
                >= 1.0
        );
    }
}
