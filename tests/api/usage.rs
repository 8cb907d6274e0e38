//! Usage and overage: usage events recorded once per workspace and day however often the job
//! runs (and on the days an advanced sandbox clock skipped); a plan with an overage price lets
//! an active subscription provision past its inboxes while one without stays refused; the
//! extra inboxes reach Stripe's billing meter once per period and peak, and the next sandbox
//! invoice bills them; the real client's meter events and metered Checkout item, against a
//! fake Stripe; and another workspace's usage never shows in a workspace's figures.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use inboxgrove::server::providers::payments::stripe::StripeClient;
use inboxgrove::server::providers::payments::{
    CheckoutMode, CheckoutRequest, MeterEvent, Payments, PaymentsError,
};
use inboxgrove::server::services::billing::usage;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Signup, TestApp, browser, pay, spawn_app};
use crate::inboxes::{app_with, customer_with_domains, provision};

async fn tenant_of(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// `n` live inboxes on a new domain of `tenant` (straight into the tables).
async fn inboxes(app: &TestApp, tenant: Uuid, domain: &str, n: i32) {
    sqlx::query(
        "WITH d AS (INSERT INTO domains (id, tenant_id, name, status)
                    VALUES (gen_random_uuid(), $1, $2, 'active') RETURNING id, tenant_id)
         INSERT INTO inboxes (id, tenant_id, domain_id, local_part, status)
         SELECT gen_random_uuid(), d.tenant_id, d.id, 'u' || n, 'active'
           FROM d, generate_series(1, $3) n",
    )
    .bind(tenant)
    .bind(domain)
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Adds to the workspace's delivery figures of today (wall clock), as the relay's log does.
async fn sent(app: &TestApp, tenant: Uuid, delivered: i64, hard_bounces: i64) {
    sqlx::query(
        "INSERT INTO delivery_daily (tenant_id, domain_id, inbox_id, day, delivered, hard_bounces, soft_bounces)
         VALUES ($1, $2, $2, (now() AT TIME ZONE 'UTC')::date, $3, $4, 1000)
         ON CONFLICT (tenant_id, domain_id, inbox_id, day) DO UPDATE
            SET delivered = delivery_daily.delivered + EXCLUDED.delivered,
                hard_bounces = delivery_daily.hard_bounces + EXCLUDED.hard_bounces",
    )
    .bind(tenant)
    .bind(Uuid::nil())
    .bind(delivered)
    .bind(hard_bounces)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Adds API calls to this month's meter total, as the meter's flush does.
async fn calls(app: &TestApp, tenant: Uuid, n: i64) {
    sqlx::query(
        "INSERT INTO api_usage (tenant_id, month, calls)
         VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2)
         ON CONFLICT (tenant_id, month) DO UPDATE SET calls = api_usage.calls + EXCLUDED.calls",
    )
    .bind(tenant)
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// (source_key, quantity) of the tenant's events of `kind`, by key.
async fn events(app: &TestApp, tenant: Uuid, kind: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT source_key, quantity FROM usage_events WHERE tenant_id = $1 AND kind = $2
          ORDER BY source_key",
    )
    .bind(tenant)
    .bind(kind)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn billing_view(app: &TestApp, client: &Client) -> Value {
    let res = client.post(app.url("/api/billing")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn key(kind: &str, tenant: Uuid, day: NaiveDate) -> String {
    format!("{kind}:{tenant}:{}", day.format("%Y-%m-%d"))
}

#[sqlx::test]
async fn usage_is_recorded_once_per_workspace_and_day_however_often_the_job_runs(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (ann, bob) = (browser(), browser());
    assert!(
        app.signup_with(&ann, &Signup::valid("ann@alpha.io"))
            .await
            .status()
            .is_success()
    );
    let mut b = Signup::valid("bob@beta.io");
    b.company = "Beta Co";
    assert!(app.signup_with(&bob, &b).await.status().is_success());
    let (a, b) = (
        tenant_of(&app, "ann@alpha.io").await,
        tenant_of(&app, "bob@beta.io").await,
    );
    inboxes(&app, a, "alpha.io", 4).await;
    inboxes(&app, b, "beta.io", 9).await;
    sent(&app, a, 100, 3).await;
    sent(&app, b, 5_000, 0).await;
    calls(&app, a, 12).await;
    calls(&app, b, 900).await;
    let today = Utc::now().date_naive();

    for _ in 0..3 {
        usage::run(&app.state).await.unwrap();
    }
    assert_eq!(
        events(&app, a, "inbox_days").await,
        [(key("inbox_days", a, today), 4)]
    );
    // Sent: delivered and hard-bounced (a soft bounce is tried again, not sent).
    assert_eq!(
        events(&app, a, "emails_sent").await,
        [(key("emails_sent", a, today), 103)]
    );
    assert_eq!(
        events(&app, a, "api_calls").await,
        [(key("api_calls", a, today), 12)]
    );
    assert_eq!(
        events(&app, b, "inbox_days").await,
        [(key("inbox_days", b, today), 9)]
    );
    assert_eq!(
        events(&app, b, "emails_sent").await,
        [(key("emails_sent", b, today), 5_000)]
    );
    assert_eq!(app.count("usage_events").await, 6);

    // More during the day: the same events grow by what was added, once.
    sent(&app, a, 5, 0).await;
    calls(&app, a, 3).await;
    inboxes(&app, a, "alpha2.io", 2).await;
    // Two runs at once (two processes, or staff's clock and the hourly job) count it once.
    let (first, second) = tokio::join!(usage::run(&app.state), usage::run(&app.state));
    first.unwrap();
    second.unwrap();
    usage::run(&app.state).await.unwrap();
    assert_eq!(
        events(&app, a, "emails_sent").await,
        [(key("emails_sent", a, today), 108)]
    );
    assert_eq!(
        events(&app, a, "api_calls").await,
        [(key("api_calls", a, today), 15)]
    );
    assert_eq!(
        events(&app, a, "inbox_days").await,
        [(key("inbox_days", a, today), 6)]
    );
    // A day's inbox count is the most seen that day: deleting some does not lower it.
    sqlx::query(
        "UPDATE inboxes SET status = 'deleted'
          WHERE domain_id = (SELECT id FROM domains WHERE name = 'alpha2.io')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    usage::run(&app.state).await.unwrap();
    assert_eq!(
        events(&app, a, "inbox_days").await,
        [(key("inbox_days", a, today), 6)]
    );
    assert_eq!(app.count("usage_events").await, 6);

    // The billing page shows the workspace's own month, none of the other's.
    let view = billing_view(&app, &ann).await;
    let month = &view["this_month"];
    assert_eq!(month["inbox_days"], 6, "{month}");
    assert_eq!(month["emails_sent"], 108);
    assert_eq!(month["api_calls"], 15);
    assert_eq!(
        month["overage_price"],
        Value::Null,
        "a trial's limit is firm"
    );
    let view = billing_view(&app, &bob).await;
    assert_eq!(
        (
            &view["this_month"]["inbox_days"],
            &view["this_month"]["emails_sent"],
            &view["this_month"]["api_calls"]
        ),
        (&json!(9), &json!(5_000), &json!(900))
    );
    let html = bob
        .get(app.url("/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("This month") && html.contains("5,000"),
        "{html}"
    );

    // The sandbox clock moves on two days: those days get their inbox-days, and what was sent
    // meanwhile lands on the billing clock's today.
    let sandbox = app.state.stripe_sandbox.clone().unwrap();
    sandbox.advance(2).await.unwrap();
    sent(&app, a, 7, 0).await;
    usage::run(&app.state).await.unwrap();
    usage::run(&app.state).await.unwrap();
    let (d1, d2) = (today + Duration::days(1), today + Duration::days(2));
    assert_eq!(
        events(&app, a, "inbox_days").await,
        [
            (key("inbox_days", a, today), 6),
            (key("inbox_days", a, d1), 4),
            (key("inbox_days", a, d2), 4),
        ]
    );
    assert_eq!(
        events(&app, a, "emails_sent").await,
        [
            (key("emails_sent", a, today), 108),
            (key("emails_sent", a, d2), 7),
        ]
    );
    assert_eq!(events(&app, b, "emails_sent").await.len(), 1);
    let month: NaiveDate =
        sqlx::query_scalar("SELECT month FROM usage_events WHERE source_key = $1")
            .bind(key("emails_sent", a, d2))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(month, d2.with_day(1).unwrap());
}

#[sqlx::test]
async fn staff_moving_the_sandbox_clock_plays_usage_out_for_the_days_it_skips(pool: PgPool) {
    let app = spawn_app(pool).await;
    inboxgrove::server::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let staff = browser();
    let res = app
        .login_with(
            &staff,
            inboxgrove::server::seed::STAFF_EMAIL,
            inboxgrove::server::seed::STAFF_PASSWORD,
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert!(
        app.signup(&Signup::valid("ann@alpha.io"))
            .await
            .status()
            .is_success()
    );
    let a = tenant_of(&app, "ann@alpha.io").await;
    inboxes(&app, a, "alpha.io", 3).await;
    let today = Utc::now().date_naive();

    let res = staff
        .post(app.url("/api/staff/sandbox-clock"))
        .form(&[("days", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let days: Vec<(String, i64)> = (0..=3)
        .map(|n| (key("inbox_days", a, today + Duration::days(n)), 3))
        .collect();
    assert_eq!(events(&app, a, "inbox_days").await, days);
}

/// Chooses `plan` on Checkout and pays with the card that pays (a 7-day trial).
async fn subscribe(app: &TestApp, client: &Client, plan: &str) {
    let res = client
        .post(app.url("/api/billing/plan"))
        .header("accept", "text/html")
        .form(&[("plan", plan)])
        .send()
        .await
        .unwrap();
    let checkout = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(pay(app, &checkout, "4242424242424242").await.status(), 303);
}

/// Growth and Starter include 3 inboxes here; Growth bills extra ones at $1.50.
const SMALL_PLANS: &[(&str, &str)] = &[
    ("INBOXGROVE_PLANS__GROWTH__MAX_INBOXES", "3"),
    ("INBOXGROVE_PLANS__STARTER__MAX_INBOXES", "3"),
];

/// A workspace with a bought domain, subscribed to `plan` (trialing until the sandbox clock
/// moves past the trial).
async fn active_on(app: &TestApp, email: &str, domain: &str, plan: &str) -> (Client, Uuid) {
    let client = browser();
    let domains = customer_with_domains(app, &client, email, &[domain]).await;
    subscribe(app, &client, plan).await;
    (client, domains[0])
}

async fn meter_events(app: &TestApp) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT customer_id, identifier, value FROM sandbox_stripe_meter_events ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn customer(app: &TestApp, tenant: Uuid) -> String {
    sqlx::query_scalar("SELECT customer_id FROM billing_customers WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_plan_with_an_overage_price_provisions_past_its_inboxes_and_one_without_is_refused(
    pool: PgPool,
) {
    let (app, _dir) = app_with(pool, SMALL_PLANS).await;
    let (ann, ann_domain) = active_on(&app, "ann@alpha.io", "overage-alpha.com", "growth").await;
    let (bob, bob_domain) = active_on(&app, "bob@beta.io", "overage-beta.com", "starter").await;
    let sandbox = app.state.stripe_sandbox.clone().unwrap();
    // Still trialing: the trial's caps are hard, whatever the plan.
    assert_eq!(
        provision(
            &app,
            &ann,
            &[ann_domain],
            "51",
            "first.last",
            "key-trial-0001"
        )
        .await
        .status(),
        409
    );
    sandbox.advance(8).await.unwrap();
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_subscriptions WHERE status = 'active'")
            .await,
        2
    );

    let res = provision(
        &app,
        &ann,
        &[ann_domain],
        "5",
        "first.last",
        "key-over-0001",
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Overage has a ceiling: twice what the plan includes (3), so 2 more than 5 is refused.
    let res = provision(
        &app,
        &ann,
        &[ann_domain],
        "2",
        "first.last",
        "key-over-ceil",
    )
    .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("(with extra inboxes) plan allows 6 inboxes"),
        "{body}"
    );
    let res = provision(
        &app,
        &bob,
        &[bob_domain],
        "5",
        "first.last",
        "key-over-0002",
    )
    .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("allows 3 inboxes; you have 0, so 5 more would go over by 2"),
        "{body}"
    );
    let res = provision(
        &app,
        &bob,
        &[bob_domain],
        "3",
        "first.last",
        "key-over-0003",
    )
    .await;
    assert_eq!(res.status(), 200);
    let (a, b) = (
        tenant_of(&app, "ann@alpha.io").await,
        tenant_of(&app, "bob@beta.io").await,
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM inboxes WHERE tenant_id = '{a}'"
        ))
        .await,
        5
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM inboxes WHERE tenant_id = '{b}'"
        ))
        .await,
        3
    );

    // Only the overage plan's extra inboxes reach the meter, under its own customer.
    usage::run(&app.state).await.unwrap();
    let sent = meter_events(&app).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, customer(&app, a).await);
    assert_eq!(sent[0].2, 2);
    let view = billing_view(&app, &bob).await;
    assert_eq!(view["this_month"]["overage_price"], Value::Null);
    assert_eq!(view["this_month"]["extra_inboxes"], 0);
    assert_eq!(view["this_month"]["expected_bill"], "$49");
    let view = billing_view(&app, &ann).await;
    assert_eq!(view["this_month"]["overage_price"], "$1.50");
    assert_eq!(view["this_month"]["extra_inboxes"], 2);
    // The wizard offers more than the plan includes only where it is billed as overage.
    let wizard = |client: Client| {
        let url = app.url("/api/inboxes/wizard");
        async move {
            client
                .post(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let w = wizard(ann.clone()).await;
    assert_eq!(
        (&w["limit"], &w["overage_price"]),
        (&json!(3), &json!("$1.50"))
    );
    let w = wizard(bob.clone()).await;
    assert_eq!(
        (&w["limit"], &w["overage_price"]),
        (&json!(3), &Value::Null)
    );
}

#[sqlx::test]
async fn overage_is_reported_once_per_period_again_for_a_higher_peak_and_billed_on_the_next_invoice(
    pool: PgPool,
) {
    let (app, _dir) = app_with(pool, SMALL_PLANS).await;
    let (ann, domain) = active_on(&app, "ann@alpha.io", "overage-peak.com", "growth").await;
    let sandbox = app.state.stripe_sandbox.clone().unwrap();
    sandbox.advance(8).await.unwrap(); // the trial ends: Growth's first $149, no overage
    let tenant = tenant_of(&app, "ann@alpha.io").await;
    let cus = customer(&app, tenant).await;
    let sub: String = sqlx::query_scalar("SELECT id FROM billing_subscriptions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    usage::run(&app.state).await.unwrap();
    assert!(meter_events(&app).await.is_empty(), "nothing extra yet");

    assert_eq!(
        provision(&app, &ann, &[domain], "5", "first.last", "key-peak-0001")
            .await
            .status(),
        200
    );
    for _ in 0..3 {
        usage::run(&app.state).await.unwrap();
    }
    let sent = meter_events(&app).await;
    assert_eq!(sent.len(), 1, "a steady overage is reported once: {sent:?}");
    let (customer_id, identifier, value) = &sent[0];
    assert_eq!((customer_id, *value), (&cus, 2));
    assert!(
        identifier.starts_with(&format!("overage:{sub}:")) && identifier.ends_with(":2"),
        "{identifier}"
    );
    assert_eq!(
        app.scalar("SELECT peak FROM usage_overage_reports").await,
        2
    );

    // A higher peak is reported again (once); going back down reports nothing.
    assert_eq!(
        provision(&app, &ann, &[domain], "1", "roles", "key-peak-0002")
            .await
            .status(),
        200
    );
    usage::run(&app.state).await.unwrap();
    usage::run(&app.state).await.unwrap();
    sqlx::query(
        "UPDATE inboxes SET status = 'deleted'
          WHERE id = (SELECT id FROM inboxes WHERE tenant_id = $1 ORDER BY created_at LIMIT 1)",
    )
    .bind(tenant)
    .execute(&app.pool)
    .await
    .unwrap();
    usage::run(&app.state).await.unwrap();
    let values: Vec<i64> = meter_events(&app).await.iter().map(|e| e.2).collect();
    assert_eq!(values, [2, 3]);
    // The page bills the period's peak, not just what is extra now.
    let view = billing_view(&app, &ann).await;
    let month = &view["this_month"];
    assert_eq!(month["extra_inboxes"], 3, "{month}");
    assert_eq!(month["expected_bill"], "$153.50");
    let note = month["bill_note"].as_str().unwrap();
    assert!(
        note.contains("Growth $149 + 3 extra inboxes × $1.50 = $153.50"),
        "{note}"
    );

    // The period ends: its invoice bills Growth for the new month and the 3 extra inboxes.
    sandbox.advance(31).await.unwrap();
    let (id, amount_due, quantity): (String, i64, i64) = sqlx::query_as(
        "SELECT id, amount_due, overage_quantity FROM sandbox_stripe_invoices
          WHERE billing_reason = 'subscription_cycle' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((amount_due, quantity), (14_900 + 3 * 150, 3));
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM billing_invoices WHERE status = 'paid' AND amount_paid = 15350"
        )
        .await,
        1,
        "the mirror has the paid invoice with the overage"
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM billing_invoices WHERE status = 'paid' AND amount_paid = 14900"
        )
        .await,
        1,
        "the first invoice, at the trial's end, had no overage"
    );
    let page = sandbox.invoice_page(&id).await.unwrap().unwrap();
    let lines = page["lines"]["data"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{page}");
    assert_eq!(lines[0]["amount"], 14_900);
    assert_eq!(lines[1]["description"], "Extra inboxes × 3");
    assert_eq!(lines[1]["amount"], 450);
    assert_eq!(lines[1]["quantity"], 3);
    let doc = sandbox.invoice_document(&id).await.unwrap().unwrap();
    assert_eq!(doc.lines.len(), 2);
    assert_eq!(doc.lines[1].description, "Extra inboxes × 3");
    assert_eq!(doc.total(), 15_350);

    // A new period: the overage that is still there is reported once more, for it.
    for _ in 0..3 {
        usage::run(&app.state).await.unwrap();
    }
    let sent = meter_events(&app).await;
    assert_eq!(sent.iter().map(|e| e.2).collect::<Vec<_>>(), [2, 3, 2]);
    assert_ne!(
        sent[2].1.split(':').nth(2),
        sent[0].1.split(':').nth(2),
        "another period"
    );
    assert_eq!(app.count("usage_overage_reports").await, 2);
}

#[sqlx::test]
async fn a_failed_report_is_not_remembered_and_the_next_run_sends_it(pool: PgPool) {
    let (app, _dir) = app_with(pool, SMALL_PLANS).await;
    let (ann, domain) = active_on(&app, "ann@alpha.io", "overage-retry.com", "growth").await;
    let sandbox = app.state.stripe_sandbox.clone().unwrap();
    sandbox.advance(8).await.unwrap();
    assert_eq!(
        provision(&app, &ann, &[domain], "4", "first.last", "key-retry-0001")
            .await
            .status(),
        200
    );
    // The sandbox refuses a customer it does not know: the report fails and is not kept.
    sqlx::query("UPDATE billing_subscriptions SET customer_id = 'cus_gone'")
        .execute(&app.pool)
        .await
        .unwrap();
    let outcome = usage::run(&app.state).await.unwrap();
    assert_eq!((outcome.reported, outcome.failed), (0, 1));
    assert_eq!(app.count("usage_overage_reports").await, 0);
    let tenant = tenant_of(&app, "ann@alpha.io").await;
    let real = customer(&app, tenant).await;
    sqlx::query("UPDATE billing_subscriptions SET customer_id = $1")
        .bind(&real)
        .execute(&app.pool)
        .await
        .unwrap();
    let outcome = usage::run(&app.state).await.unwrap();
    assert_eq!((outcome.reported, outcome.failed), (1, 0));
    assert_eq!(meter_events(&app).await.len(), 1);
}

// ---- the real client against a fake Stripe ----------------------------------------------

const FIXTURES: &str = include_str!("fixtures/stripe_objects.json");

fn sorted_form(body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn a_meter_event_sends_the_customer_value_identifier_and_time_with_its_idempotency_key() {
    let server = MockServer::start().await;
    let client = StripeClient::new(&"sk_test_x".into(), &format!("{}/", server.uri())).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/billing/meter_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "billing.meter_event",
            "created": 1_767_225_600,
            "event_name": "inboxgrove_extra_inboxes",
            "identifier": "overage:sub_1:1764547200:7",
            "livemode": false,
            "payload": {"stripe_customer_id": "cus_QXg1o8vcGmoR32", "value": "7"},
            "timestamp": 1_767_225_600,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let at = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    client
        .report_usage(&MeterEvent {
            event_name: "inboxgrove_extra_inboxes".into(),
            customer_id: "cus_QXg1o8vcGmoR32".into(),
            value: 7,
            identifier: "overage:sub_1:1764547200:7".into(),
            timestamp: at,
        })
        .await
        .expect("Stripe took the meter event");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        "ig:overage:sub_1:1764547200:7"
    );
    assert_eq!(
        sorted_form(&request.body),
        pairs(&[
            ("event_name", "inboxgrove_extra_inboxes"),
            ("payload[stripe_customer_id]", "cus_QXg1o8vcGmoR32"),
            ("payload[value]", "7"),
            ("identifier", "overage:sub_1:1764547200:7"),
            ("timestamp", "1767225600"),
        ])
    );
}

#[tokio::test]
async fn a_meter_event_stripe_refuses_is_a_rejection_with_its_message() {
    let server = MockServer::start().await;
    let client = StripeClient::new(&"sk_test_x".into(), &format!("{}/", server.uri())).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/billing/meter_events"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": "No active meter found for event_name 'inboxgrove_extra_inboxes'.",
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .report_usage(&MeterEvent {
            event_name: "inboxgrove_extra_inboxes".into(),
            customer_id: "cus_1".into(),
            value: 1,
            identifier: "overage:sub_1:1:1".into(),
            timestamp: Utc::now(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PaymentsError::Rejected { code, message }
            if code.as_deref() == Some("resource_missing") && message.contains("No active meter")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_plan_with_an_overage_price_checks_out_with_its_metered_item_and_no_quantity() {
    let server = MockServer::start().await;
    let client = StripeClient::new(&"sk_test_x".into(), &format!("{}/", server.uri())).unwrap();
    let all: Value = serde_json::from_str(FIXTURES).unwrap();
    let mut session = all["checkout.session"].clone();
    session["id"] = json!("cs_test_over_1");
    session["mode"] = json!("subscription");
    session["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_over_1");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session))
        .expect(1)
        .mount(&server)
        .await;
    let tenant = Uuid::new_v4();
    client
        .create_checkout(&CheckoutRequest {
            tenant_id: tenant,
            customer_id: "cus_QXg1o8vcGmoR32".into(),
            mode: CheckoutMode::Subscription {
                price_id: "price_growth_monthly".into(),
                trial_period_days: None,
                card_required: true,
                overage_price_id: Some("price_growth_extra_inbox".into()),
            },
            success_url: "https://app.inboxgrove.test/billing/success".into(),
            cancel_url: "https://app.inboxgrove.test/billing".into(),
            idempotency_key: format!("ig:checkout:{tenant}"),
        })
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let form = sorted_form(&requests[0].body);
    let items: Vec<&(String, String)> = form
        .iter()
        .filter(|(k, _)| k.starts_with("line_items"))
        .collect();
    assert_eq!(
        items,
        [
            &(
                "line_items[0][price]".to_string(),
                "price_growth_monthly".to_string()
            ),
            &("line_items[0][quantity]".to_string(), "1".to_string()),
            &(
                "line_items[1][price]".to_string(),
                "price_growth_extra_inbox".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn the_sandbox_settings_give_growth_an_overage_price_and_leave_the_others_hard() {
    let s = crate::helpers::settings(&[]);
    assert_eq!(s.plans["growth"].overage_cents_per_inbox, Some(150));
    assert_eq!(s.plans["starter"].overage_cents_per_inbox, None);
    assert_eq!(s.plans["scale"].overage_cents_per_inbox, None);
    assert_eq!(s.billing.overage_meter_event, "inboxgrove_extra_inboxes");
    let views = s.plan_views();
    let growth = views.iter().find(|p| p.id == "growth").unwrap();
    assert_eq!(growth.overage_cents_per_inbox.map(|c| c.0), Some(150));
    // A negative or absurd overage price is refused at start-up.
    let bad = inboxgrove::server::config::Settings::load_from(
        &format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR")),
        [(
            "INBOXGROVE_PLANS__GROWTH__OVERAGE_CENTS_PER_INBOX".to_string(),
            "-5".to_string(),
        )],
    );
    assert!(bad.is_err());
}
