//! Billing over HTTP and against the database: webhook signatures, idempotent and
//! out-of-order-safe event application, the sandbox Stripe end to end, plan rules.

use inboxgrove::server::providers::payments::signature;
use inboxgrove::server::services::billing::events;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Signup, TestApp, settings, spawn_app_with};

const SECRET: &str = "whsec_test_inboxgrove";
pub(crate) const T0: i64 = 1_790_000_000;
pub(crate) const DAY: i64 = 86_400;

async fn app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, &[("STRIPE_WEBHOOK_SECRET", SECRET)]).await
}

/// Signs up a customer and gives its tenant the Stripe customer `customer`.
async fn customer(app: &TestApp, email: &str, customer: &str) -> Uuid {
    assert!(
        app.signup(&Signup::valid(email))
            .await
            .status()
            .is_success()
    );
    let tenant: Uuid = sqlx::query_scalar(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO billing_customers (tenant_id, customer_id) VALUES ($1, $2)")
        .bind(tenant)
        .bind(customer)
        .execute(&app.pool)
        .await
        .unwrap();
    tenant
}

pub(crate) fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": created,
        "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": kind,
    })
}

pub(crate) fn subscription(status: &str, price: &str, period_end: i64, cancel: bool) -> Value {
    json!({
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
        "items": {"object": "list", "data": [{"id": "si_1", "object": "subscription_item",
            "price": {"id": price, "object": "price"}, "current_period_end": period_end}]},
        "trial_start": T0, "trial_end": T0 + 7 * DAY, "cancel_at_period_end": cancel,
        "canceled_at": if status == "canceled" { json!(period_end) } else { Value::Null },
        "ended_at": if status == "canceled" { json!(period_end) } else { Value::Null },
        "metadata": {},
    })
}

fn invoice(id: &str, status: &str, amount: i64, attempts: i32, created: i64) -> Value {
    json!({
        "id": id, "object": "invoice", "number": format!("N-{id}"), "customer": "cus_1",
        "status": status, "amount_due": amount, "amount_paid": if status == "paid" { amount } else { 0 },
        "currency": "usd", "billing_reason": "subscription_cycle", "attempt_count": attempts,
        "created": created, "hosted_invoice_url": format!("https://invoice.stripe.com/i/{id}"),
        "status_transitions": {"paid_at": if status == "paid" { json!(created) } else { Value::Null }},
        "lines": {"data": [{"period": {"start": created, "end": created + 30 * DAY}}]},
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_1"}},
        "subscription": null,
    })
}

fn payment_intent(id: &str, purchase: Uuid, tenant: Uuid, status: &str) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": 1299, "amount_received": if status == "succeeded" { 1299 } else { 0 },
        "currency": "usd", "status": status, "customer": "cus_1",
        "metadata": {"purchase_id": purchase.to_string(), "tenant_id": tenant.to_string()},
        "last_payment_error": if status == "succeeded" { Value::Null } else { json!({"message": "Your card was declined."}) },
    })
}

fn charge(refunded: i64) -> Value {
    json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_buy", "customer": "cus_1",
           "amount": 1299, "amount_refunded": refunded, "refunded": refunded == 1299, "currency": "usd", "metadata": {}})
}

/// 30 events of one tenant's life: trial, three failed renewals, payment, a plan change, a
/// one-time purchase with two partial refunds, a failed purchase, an unknown type, and the
/// end of the subscription.
fn lifetime(tenant: Uuid) -> Vec<Value> {
    let buy = Uuid::from_u128(1);
    let failed_buy = Uuid::from_u128(2);
    let mut e = vec![
        event(
            "evt_01",
            "customer.subscription.created",
            T0,
            subscription("trialing", "price_growth_monthly", T0 + 7 * DAY, false),
        ),
        event(
            "evt_02",
            "invoice.paid",
            T0,
            invoice("in_0", "paid", 0, 0, T0),
        ),
        event(
            "evt_03",
            "invoice.payment_succeeded",
            T0,
            invoice("in_0", "paid", 0, 0, T0),
        ),
        event(
            "evt_04",
            "checkout.session.completed",
            T0,
            json!({"id": "cs_1", "object": "checkout.session", "mode": "subscription",
            "status": "complete", "payment_status": "no_payment_required", "customer": "cus_1", "subscription": "sub_1",
            "client_reference_id": tenant.to_string(), "metadata": {}}),
        ),
        event(
            "evt_05",
            "customer.subscription.trial_will_end",
            T0 + 4 * DAY,
            subscription("trialing", "price_growth_monthly", T0 + 7 * DAY, false),
        ),
        event(
            "evt_06",
            "invoice.payment_failed",
            T0 + 7 * DAY,
            invoice("in_1", "open", 14900, 1, T0 + 7 * DAY),
        ),
        event(
            "evt_07",
            "customer.subscription.updated",
            T0 + 7 * DAY,
            subscription("past_due", "price_growth_monthly", T0 + 37 * DAY, false),
        ),
        event(
            "evt_08",
            "invoice.payment_failed",
            T0 + 10 * DAY,
            invoice("in_1", "open", 14900, 2, T0 + 7 * DAY),
        ),
        event(
            "evt_09",
            "invoice.payment_failed",
            T0 + 13 * DAY,
            invoice("in_1", "open", 14900, 3, T0 + 7 * DAY),
        ),
        event(
            "evt_10",
            "invoice.paid",
            T0 + 14 * DAY,
            invoice("in_1", "paid", 14900, 4, T0 + 7 * DAY),
        ),
        event(
            "evt_11",
            "invoice.payment_succeeded",
            T0 + 14 * DAY,
            invoice("in_1", "paid", 14900, 4, T0 + 7 * DAY),
        ),
        event(
            "evt_12",
            "customer.subscription.updated",
            T0 + 14 * DAY,
            subscription("active", "price_growth_monthly", T0 + 37 * DAY, false),
        ),
        event(
            "evt_13",
            "customer.subscription.updated",
            T0 + 20 * DAY,
            subscription("active", "price_scale_monthly", T0 + 37 * DAY, false),
        ),
        event(
            "evt_14",
            "payment_intent.succeeded",
            T0 + 21 * DAY,
            payment_intent("pi_buy", buy, tenant, "succeeded"),
        ),
        event(
            "evt_15",
            "checkout.session.completed",
            T0 + 21 * DAY,
            json!({"id": "cs_2", "object": "checkout.session", "mode": "payment",
            "status": "complete", "payment_status": "paid", "customer": "cus_1", "payment_intent": "pi_buy",
            "amount_total": 1299, "currency": "usd", "client_reference_id": tenant.to_string(),
            "metadata": {"purchase_id": buy.to_string()}}),
        ),
        event(
            "evt_16",
            "payment_intent.payment_failed",
            T0 + 22 * DAY,
            payment_intent("pi_fail", failed_buy, tenant, "requires_payment_method"),
        ),
        event("evt_17", "charge.refunded", T0 + 23 * DAY, charge(500)),
        event("evt_18", "charge.refunded", T0 + 24 * DAY, charge(1299)),
        event(
            "evt_19",
            "customer.created",
            T0 + 24 * DAY,
            json!({"id": "cus_1", "object": "customer"}),
        ),
        event(
            "evt_20",
            "customer.subscription.updated",
            T0 + 25 * DAY,
            subscription("active", "price_scale_monthly", T0 + 37 * DAY, true),
        ),
        event(
            "evt_21",
            "invoice.paid",
            T0 + 37 * DAY,
            invoice("in_2", "paid", 49900, 1, T0 + 37 * DAY),
        ),
        event(
            "evt_22",
            "invoice.payment_succeeded",
            T0 + 37 * DAY,
            invoice("in_2", "paid", 49900, 1, T0 + 37 * DAY),
        ),
        event(
            "evt_23",
            "customer.subscription.updated",
            T0 + 30 * DAY,
            subscription("active", "price_scale_monthly", T0 + 37 * DAY, false),
        ),
        event(
            "evt_24",
            "customer.subscription.updated",
            T0 + 31 * DAY,
            subscription("active", "price_scale_monthly", T0 + 37 * DAY, true),
        ),
        event(
            "evt_25",
            "payment_intent.succeeded",
            T0 + 37 * DAY,
            json!({"id": "pi_sub", "object": "payment_intent", "amount": 49900,
            "currency": "usd", "status": "succeeded", "customer": "cus_1", "metadata": {}}),
        ),
        event(
            "evt_26",
            "invoice.payment_failed",
            T0 + 40 * DAY,
            invoice("in_3", "open", 49900, 1, T0 + 40 * DAY),
        ),
        event(
            "evt_27",
            "customer.subscription.deleted",
            T0 + 67 * DAY,
            subscription("canceled", "price_scale_monthly", T0 + 67 * DAY, true),
        ),
        event(
            "evt_28",
            "customer.subscription.updated",
            T0 + 60 * DAY,
            subscription("past_due", "price_scale_monthly", T0 + 67 * DAY, true),
        ),
        event("evt_29", "charge.refunded", T0 + 23 * DAY, charge(500)),
    ];
    // A redelivered copy with the same id is part of real traffic too.
    e.push(e[5].clone());
    assert_eq!(e.len(), 30);
    e
}

/// Everything the events decide, as comparable text.
async fn snapshot(pool: &PgPool, tenant: Uuid) -> Vec<String> {
    let mut out = Vec::new();
    let subs: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, status, plan_id, concat_ws(' ', cancel_at_period_end, current_period_end) FROM billing_subscriptions ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    out.extend(subs.into_iter().map(|s| format!("sub {s:?}")));
    let invoices: Vec<(String, String, i64, i32)> = sqlx::query_as(
        "SELECT id, status, amount_paid, attempt_count FROM billing_invoices ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    out.extend(invoices.into_iter().map(|i| format!("invoice {i:?}")));
    // Money per kind. Refunds arrive as a cumulative `amount_refunded`, so how a refunded
    // amount splits into rows depends on which notification arrives first; the sum cannot.
    let ledger: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT kind, sum(amount_cents)::bigint, currency FROM ledger_entries GROUP BY kind, currency ORDER BY kind",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    out.extend(ledger.into_iter().map(|l| format!("ledger {l:?}")));
    let payments: Vec<(String, String)> =
        sqlx::query_as("SELECT payment_intent_id, status FROM billing_payments ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    out.extend(payments.into_iter().map(|p| format!("payment {p:?}")));
    let checkouts: Vec<(String, String)> =
        sqlx::query_as("SELECT id, status FROM billing_checkouts ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    out.extend(checkouts.into_iter().map(|c| format!("checkout {c:?}")));
    let tenant_row: (Option<String>, String) =
        sqlx::query_as("SELECT plan_id, status FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_one(pool)
            .await
            .unwrap();
    out.push(format!("tenant {tenant_row:?}"));
    let open: Vec<String> =
        sqlx::query_scalar("SELECT category FROM suspensions WHERE lifted_at IS NULL ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    out.push(format!("open suspensions {open:?}"));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events")
        .fetch_one(pool)
        .await
        .unwrap();
    out.push(format!("events {events}"));
    out
}

async fn reset(pool: &PgPool) {
    sqlx::query(
        "TRUNCATE admin_refunds, ledger_entries, stripe_events, billing_subscriptions, billing_invoices, billing_payments, suspensions",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE billing_checkouts SET status = 'open'")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tenants SET plan_id = NULL, status = 'active'")
        .execute(pool)
        .await
        .unwrap();
}

async fn apply_all(pool: &PgPool, events_: &[Value]) {
    let s = settings(&[]);
    for e in events_ {
        events::apply(pool, &s, &serde_json::to_vec(e).unwrap())
            .await
            .unwrap();
    }
}

async fn insert_checkouts(pool: &PgPool, tenant: Uuid) {
    for (id, mode) in [("cs_1", "subscription"), ("cs_2", "payment")] {
        sqlx::query(
            "INSERT INTO billing_checkouts (id, tenant_id, mode, url) VALUES ($1, $2, $3, 'x')",
        )
        .bind(id)
        .bind(tenant)
        .bind(mode)
        .execute(pool)
        .await
        .unwrap();
    }
}

#[sqlx::test]
async fn thirty_events_twice_and_shuffled_end_in_the_same_state_as_in_order(pool: PgPool) {
    let app = app(pool.clone()).await;
    let tenant = customer(&app, "order@acme.io", "cus_1").await;
    insert_checkouts(&pool, tenant).await;
    let events_ = lifetime(tenant);

    apply_all(&pool, &events_).await;
    let in_order = snapshot(&pool, tenant).await;
    // What "in order" means, spelled out: canceled on Scale, both renewals paid, the
    // purchase charged and fully refunded in two steps, the open invoice of the canceled
    // subscription still counted, nothing suspended.
    let expected = [
        r#"sub ("sub_1", "canceled", Some("scale"), "t "#,
        r#"invoice ("in_1", "paid", 14900, 4)"#,
        r#"invoice ("in_3", "open", 0, 1)"#,
        r#"ledger ("one_time_charge", 1299, "usd")"#,
        r#"ledger ("refund", -1299, "usd")"#,
        r#"ledger ("subscription_payment", 64800, "usd")"#,
        r#"payment ("pi_buy", "succeeded")"#,
        r#"payment ("pi_fail", "failed")"#,
        r#"checkout ("cs_1", "complete")"#,
        r#"checkout ("cs_2", "complete")"#,
        r#"tenant (None, "active")"#,
        "open suspensions []",
        "events 29",
    ];
    for line in expected {
        assert!(
            in_order.iter().any(|l| l.starts_with(line)),
            "missing {line:?} in {in_order:#?}"
        );
    }

    for seed in 0..3 {
        reset(&pool).await;
        let mut twice: Vec<Value> = events_.iter().chain(events_.iter()).cloned().collect();
        twice.shuffle(&mut rand::rng());
        apply_all(&pool, &twice).await;
        assert_eq!(snapshot(&pool, tenant).await, in_order, "shuffle #{seed}");
    }
}

#[sqlx::test]
async fn a_webhook_without_a_valid_signature_is_refused_and_nothing_is_stored(pool: PgPool) {
    let app = app(pool).await;
    let body = serde_json::to_vec(&event(
        "evt_x",
        "customer.created",
        T0,
        json!({"id": "cus_x"}),
    ))
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("missing", None),
        (
            "wrong secret",
            Some(signature::sign("whsec_other", now, &body)),
        ),
        ("expired", Some(signature::sign(SECRET, now - 301, &body))),
        ("garbage", Some("t=abc,v1=zz".to_string())),
    ];
    for (name, header) in cases {
        let mut req = app
            .client
            .post(app.url("/webhooks/stripe"))
            .body(body.clone());
        if let Some(h) = header {
            req = req.header("stripe-signature", h);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 400, "{name}");
    }
    // A tampered body under a valid header for the original.
    let header = signature::sign(SECRET, now, &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let res = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", header)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("stripe_events").await, 0);
}

async fn post_signed(app: &TestApp, event: &Value) -> reqwest::Response {
    let body = serde_json::to_vec(event).unwrap();
    app.client
        .post(app.url("/webhooks/stripe"))
        .header(
            "stripe-signature",
            signature::sign(SECRET, chrono::Utc::now().timestamp(), &body),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_signed_event_is_applied_once_and_its_duplicate_changes_nothing(pool: PgPool) {
    let app = app(pool).await;
    customer(&app, "dup@acme.io", "cus_1").await;
    let e = event(
        "evt_paid",
        "invoice.paid",
        T0,
        invoice("in_9", "paid", 4900, 1, T0),
    );
    let first = post_signed(&app, &e).await;
    assert_eq!(first.status(), 200);
    assert_eq!(crate::helpers::json(first).await["outcome"], "applied");
    let again = post_signed(&app, &e).await;
    assert_eq!(again.status(), 200);
    assert_eq!(crate::helpers::json(again).await["outcome"], "duplicate");
    assert_eq!(app.count("stripe_events").await, 1);
    assert_eq!(app.count("ledger_entries").await, 1);
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries")
            .await,
        4900
    );
}

#[sqlx::test]
async fn an_unknown_event_type_is_recorded_and_ignored(pool: PgPool) {
    let app = app(pool).await;
    let res = post_signed(
        &app,
        &event(
            "evt_u",
            "customer.discount.created",
            T0,
            json!({"id": "di_1"}),
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(crate::helpers::json(res).await["outcome"], "ignored");
    assert_eq!(
        app.scalar("SELECT count(*) FROM stripe_events WHERE outcome = 'ignored'")
            .await,
        1
    );
}

#[sqlx::test]
async fn a_signed_body_that_is_not_an_event_is_a_400(pool: PgPool) {
    let app = app(pool).await;
    let res = post_signed(&app, &json!({"hello": "world"})).await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("stripe_events").await, 0);
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in [
        "billing_subscriptions",
        "billing_invoices",
        "billing_payments",
        "ledger_entries",
        "suspensions",
    ] {
        v.push(app.count(t).await);
    }
    v
}

#[sqlx::test]
async fn each_event_type_changes_exactly_its_own_rows(pool: PgPool) {
    let app = app(pool.clone()).await;
    let tenant = customer(&app, "types@acme.io", "cus_1").await;
    insert_checkouts(&pool, tenant).await;
    let s = settings(&[]);
    let apply = |e: Value| {
        let pool = pool.clone();
        let s = s.clone();
        async move {
            events::apply(&pool, &s, &serde_json::to_vec(&e).unwrap())
                .await
                .unwrap()
        }
    };

    // checkout.session.completed (subscription): only the checkout row.
    apply(event(
        "e1",
        "checkout.session.completed",
        T0,
        lifetime(tenant)[3]["data"]["object"].clone(),
    ))
    .await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_checkouts WHERE status = 'complete'")
            .await,
        1
    );
    assert_eq!(counts(&app).await, vec![0, 0, 0, 0, 0]);

    // customer.subscription.created: the mirror row and the tenant's plan.
    apply(event(
        "e2",
        "customer.subscription.created",
        T0,
        subscription("trialing", "price_growth_monthly", T0 + 7 * DAY, false),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 0, 0, 0, 0]);
    let plan: Option<String> = sqlx::query_scalar("SELECT plan_id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(plan.as_deref(), Some("growth"));

    // trial_will_end: same row, nothing new.
    apply(event(
        "e3",
        "customer.subscription.trial_will_end",
        T0 + 4 * DAY,
        subscription("trialing", "price_growth_monthly", T0 + 7 * DAY, false),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 0, 0, 0, 0]);

    // customer.subscription.updated: the status and plan change in place.
    apply(event(
        "e4",
        "customer.subscription.updated",
        T0 + 5 * DAY,
        subscription("active", "price_scale_monthly", T0 + 35 * DAY, true),
    ))
    .await;
    let (status, plan, cancel): (String, String, bool) =
        sqlx::query_as("SELECT status, plan_id, cancel_at_period_end FROM billing_subscriptions")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), plan.as_str(), cancel),
        ("active", "scale", true)
    );

    // invoice.payment_failed ×3: one invoice row, then a payment suspension.
    for n in 1..=3 {
        apply(event(
            &format!("f{n}"),
            "invoice.payment_failed",
            T0 + (6 + n) * DAY,
            invoice("in_1", "open", 49900, n as i32, T0 + 6 * DAY),
        ))
        .await;
        assert_eq!(
            counts(&app).await,
            vec![1, 1, 0, 0, if n < 3 { 0 } else { 1 }],
            "after failure {n}"
        );
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants WHERE status = 'suspended'")
            .await,
        1
    );

    // invoice.paid: a ledger row, and the payment suspension lifts (kept as history).
    apply(event(
        "e5",
        "invoice.paid",
        T0 + 10 * DAY,
        invoice("in_1", "paid", 49900, 4, T0 + 6 * DAY),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 1, 0, 1, 1]);
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM suspensions WHERE lifted_at IS NOT NULL AND lifted_by = 'system'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants WHERE status = 'active'")
            .await,
        1
    );

    // invoice.payment_succeeded for the same invoice: nothing more.
    apply(event(
        "e6",
        "invoice.payment_succeeded",
        T0 + 10 * DAY,
        invoice("in_1", "paid", 49900, 4, T0 + 6 * DAY),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 1, 0, 1, 1]);

    // payment_intent.payment_failed (our purchase): a failed payment row, no money.
    let purchase = Uuid::new_v4();
    apply(event(
        "e7",
        "payment_intent.payment_failed",
        T0 + 11 * DAY,
        payment_intent("pi_buy", purchase, tenant, "requires_payment_method"),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 1, 1, 1, 1]);
    // payment_intent.succeeded: the same row turns succeeded, one charge in the ledger.
    apply(event(
        "e8",
        "payment_intent.succeeded",
        T0 + 12 * DAY,
        payment_intent("pi_buy", purchase, tenant, "succeeded"),
    ))
    .await;
    assert_eq!(counts(&app).await, vec![1, 1, 1, 2, 1]);
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_payments WHERE status = 'succeeded'")
            .await,
        1
    );
    // A PaymentIntent we did not create (a subscription's): ignored.
    apply(event("e9", "payment_intent.succeeded", T0 + 12 * DAY, json!({"id": "pi_other", "amount": 100, "currency": "usd", "customer": "cus_1", "metadata": {}}))).await;
    assert_eq!(counts(&app).await, vec![1, 1, 1, 2, 1]);

    // charge.refunded: one negative ledger row for the newly refunded amount.
    apply(event("e10", "charge.refunded", T0 + 13 * DAY, charge(300))).await;
    assert_eq!(counts(&app).await, vec![1, 1, 1, 3, 1]);
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries WHERE kind = 'refund'")
            .await,
        -300
    );

    // customer.subscription.deleted: canceled, and the tenant has no plan any more.
    apply(event(
        "e11",
        "customer.subscription.deleted",
        T0 + 35 * DAY,
        subscription("canceled", "price_scale_monthly", T0 + 35 * DAY, true),
    ))
    .await;
    let plan: Option<String> = sqlx::query_scalar("SELECT plan_id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(plan, None);
    // An older update arriving late never revives it.
    apply(event(
        "e12",
        "customer.subscription.updated",
        T0 + 20 * DAY,
        subscription("active", "price_growth_monthly", T0 + 35 * DAY, false),
    ))
    .await;
    let status: String = sqlx::query_scalar("SELECT status FROM billing_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "canceled");
    let stale: String = sqlx::query_scalar("SELECT outcome FROM stripe_events WHERE id = 'e12'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stale, "stale");
}

#[sqlx::test]
async fn the_ledger_refuses_updates_and_deletes(pool: PgPool) {
    let app = app(pool.clone()).await;
    customer(&app, "ledger@acme.io", "cus_1").await;
    post_signed(
        &app,
        &event(
            "evt_l",
            "invoice.paid",
            T0,
            invoice("in_l", "paid", 4900, 1, T0),
        ),
    )
    .await;
    assert!(
        sqlx::query("UPDATE ledger_entries SET amount_cents = 1")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM ledger_entries")
            .execute(&pool)
            .await
            .is_err()
    );
    assert_eq!(app.count("ledger_entries").await, 1);
}

#[sqlx::test]
async fn a_suspended_tenants_stripe_events_are_still_applied(pool: PgPool) {
    let app = app(pool).await;
    let tenant = customer(&app, "held@acme.io", "cus_1").await;
    let staff = inboxgrove::server::db::audit::Actor::system("test");
    assert!(
        inboxgrove::server::services::suspensions::suspend(
            &app.state,
            inboxgrove::domain::TenantId(tenant),
            inboxgrove::domain::SuspensionCategory::Manual,
            "looking into it",
            &staff,
        )
        .await
        .unwrap()
    );
    let res = post_signed(
        &app,
        &event(
            "evt_held",
            "invoice.paid",
            T0,
            invoice("in_held", "paid", 4900, 1, T0),
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(crate::helpers::json(res).await["outcome"], "applied");
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries")
            .await,
        4900
    );
    // Still suspended: a payment does not lift a manual suspension.
    assert_eq!(
        app.scalar("SELECT count(*) FROM suspensions WHERE lifted_at IS NULL")
            .await,
        1
    );
}
