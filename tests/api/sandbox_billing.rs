//! The sandbox Stripe end to end over HTTP: choose a plan → hosted Checkout → signed
//! webhooks delivered to our own endpoint → the mirror; the clock; the portal; plan rules.

use reqwest::Client;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, Signup, TestApp, browser, local, pay, spawn_app};
use inboxgrove::server::seed;

async fn customer(app: &TestApp, email: &str) {
    assert!(
        app.signup(&Signup::valid(email))
            .await
            .status()
            .is_success()
    );
}

/// Chooses `plan` as the hydrated page does (errors come back with their status code).
async fn choose(app: &TestApp, plan: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/billing/plan"))
        .form(&[("plan", plan)])
        .send()
        .await
        .unwrap()
}

/// Chooses `plan` with a plain HTML form post (no JavaScript) and returns the Checkout URL
/// it is redirected to.
async fn checkout_url(app: &TestApp, plan: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/billing/plan"))
        .header("accept", "text/html")
        .form(&[("plan", plan)])
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let status = res.status();
    match location {
        Some(l) => l,
        None => panic!("no redirect: {status} {}", res.text().await.unwrap()),
    }
}

/// A customer who chose `plan` and paid on Checkout with the card that pays.
async fn subscribed(app: &TestApp, email: &str, plan: &str) {
    customer(app, email).await;
    let url = checkout_url(app, plan).await;
    assert_eq!(pay(app, &url, "4242424242424242").await.status(), 303);
}

async fn staff(app: &TestApp) -> Client {
    seed::seed_demo(
        &inboxgrove::server::state::AppState::new(crate::helpers::settings(&[]), app.pool.clone())
            .unwrap(),
    )
    .await
    .unwrap();
    let staff = browser();
    let res = app
        .login_with(&staff, seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    staff
}

async fn advance(app: &TestApp, staff: &Client, days: i64) {
    let res = staff
        .post(app.url("/api/staff/sandbox-clock"))
        .form(&[("days", days.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn sub_state(app: &TestApp) -> (String, Option<String>) {
    sqlx::query_as(
        "SELECT status, plan_id FROM billing_subscriptions ORDER BY src_created DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn checkout_with_a_good_card_starts_a_trial_through_signed_webhooks(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "trial@acme.io").await;
    let url = checkout_url(&app, "growth").await;
    assert!(
        url.contains("/sandbox/stripe/checkout/cs_test_sbx"),
        "{url}"
    );

    let page = app.client.get(local(&app, &url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("InboxGrove Growth") && html.contains("7 days free, then $149 per month"),
        "{html}"
    );
    assert!(html.contains("/billing/cancel"), "cancel link back");

    let res = pay(&app, &url, "4242 4242 4242 4242").await;
    assert_eq!(res.status(), 303);
    let success = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        success.contains("/billing/success?session_id=cs_test_sbx"),
        "{success}"
    );
    assert!(!success.contains("{CHECKOUT_SESSION_ID}"));

    // The events went through /webhooks/stripe (stored there), in Stripe's shape.
    assert_eq!(
        sub_state(&app).await,
        ("trialing".into(), Some("growth".into()))
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM sandbox_stripe_events WHERE delivered_at IS NULL")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM stripe_events WHERE type IN ('checkout.session.completed', 'customer.subscription.created')").await,
        2
    );
    let session = success.split("session_id=").nth(1).unwrap();
    let status = app
        .client
        .post(app.url("/api/billing/checkout-status"))
        .form(&[("session_id", session)])
        .send()
        .await
        .unwrap();
    let body = status.text().await.unwrap();
    assert!(
        body.contains("Complete") && body.contains("Growth") && body.contains("Trialing"),
        "{body}"
    );
    // A trial charges nothing.
    assert_eq!(app.count("ledger_entries").await, 0);
}

#[sqlx::test]
async fn a_declined_card_gets_a_clear_message_and_no_subscription(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "declined@acme.io").await;
    let url = checkout_url(&app, "starter").await;
    let res = pay(&app, &url, "4000 0000 0000 0002").await;
    assert_eq!(res.status(), 402);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    assert_eq!(app.count("billing_subscriptions").await, 0);
    assert_eq!(app.count("sandbox_stripe_subscriptions").await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_checkouts WHERE status = 'open'")
            .await,
        1
    );
}

#[sqlx::test]
async fn choosing_twice_reuses_the_open_checkout_and_one_customer(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "twice@acme.io").await;
    let a = checkout_url(&app, "growth").await;
    let b = checkout_url(&app, "growth").await;
    assert_eq!(a, b);
    assert_eq!(app.count("billing_customers").await, 1);
    assert_eq!(app.count("sandbox_stripe_customers").await, 1);
    assert_eq!(app.count("sandbox_stripe_checkout_sessions").await, 1);
}

#[sqlx::test]
async fn an_unknown_plan_is_a_422_and_a_member_cannot_choose(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "plans@acme.io").await;
    let res = choose(&app, "platinum").await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("There is no plan called")
    );
}

#[sqlx::test]
async fn the_clock_ends_the_trial_with_a_paid_invoice_then_failures_suspend_and_a_new_card_lifts_it(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    subscribed(&app, "clock@acme.io", "starter").await;
    let staff = staff(&app).await;

    advance(&app, &staff, 5).await;
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM stripe_events WHERE type = 'customer.subscription.trial_will_end'"
        )
        .await,
        1
    );
    assert_eq!(sub_state(&app).await.0, "trialing");

    advance(&app, &staff, 3).await;
    assert_eq!(
        sub_state(&app).await,
        ("active".into(), Some("starter".into()))
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM billing_invoices WHERE status = 'paid' AND amount_paid = 4900"
        )
        .await,
        1
    );
    assert_eq!(app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries WHERE kind = 'subscription_payment'").await, 4900);
    let billing = app
        .client
        .post(app.url("/api/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        billing.contains("SBX-") && billing.contains("$49"),
        "invoice listed: {billing}"
    );

    // Switch to a card whose charges fail, then let the next renewal and its retries fail.
    let portal = app.call(&app.client, "/api/billing/portal").await;
    assert_eq!(portal.status(), 200);
    let portal_url: String = portal.json().await.unwrap();
    let res = pay(&app, &format!("{portal_url}/card"), "4000000000000341").await;
    assert_eq!(res.status(), 303);
    advance(&app, &staff, 31).await; // renewal fails (1) — past due
    assert_eq!(sub_state(&app).await.0, "past_due");
    assert_eq!(app.count("suspensions").await, 0);
    let billing = app
        .client
        .post(app.url("/api/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        billing.contains("Your last payment failed"),
        "past-due banner: {billing}"
    );
    advance(&app, &staff, 3).await; // retry fails (2)
    assert_eq!(app.count("suspensions").await, 0);
    advance(&app, &staff, 3).await; // retry fails (3): suspended for payment
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM suspensions WHERE category = 'payment' AND lifted_at IS NULL"
        )
        .await,
        1
    );
    let billing = app
        .client
        .post(app.url("/api/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(billing.contains("suspended (payment)"), "{billing}");

    // A card that pays: the open invoice is paid and the suspension lifts itself.
    let res = pay(&app, &format!("{portal_url}/card"), "4242424242424242").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.scalar("SELECT count(*) FROM suspensions WHERE lifted_at IS NULL")
            .await,
        0
    );
    assert_eq!(sub_state(&app).await.0, "active");
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries")
            .await,
        2 * 4900
    );
}

#[sqlx::test]
async fn upgrade_cancel_and_reactivate_change_the_live_subscription(pool: PgPool) {
    let app = spawn_app(pool).await;
    subscribed(&app, "change@acme.io", "starter").await;

    let res = choose(&app, "growth").await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    assert_eq!(sub_state(&app).await.1.as_deref(), Some("growth"));
    assert_eq!(
        app.count("sandbox_stripe_subscriptions").await,
        1,
        "changed in place, not a second one"
    );

    let cancel = |v: &'static str| {
        app.client
            .post(app.url("/api/billing/cancel"))
            .form(&[("cancel", v)])
            .send()
    };
    assert!(!cancel("true").await.unwrap().status().is_client_error());
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_subscriptions WHERE cancel_at_period_end")
            .await,
        1
    );
    assert!(!cancel("false").await.unwrap().status().is_client_error());
    assert_eq!(
        app.scalar("SELECT count(*) FROM billing_subscriptions WHERE cancel_at_period_end")
            .await,
        0
    );
}

#[sqlx::test]
async fn a_downgrade_below_current_usage_is_refused_with_what_to_remove(pool: PgPool) {
    let app = spawn_app(pool).await;
    subscribed(&app, "down@acme.io", "growth").await;
    sqlx::query(
        "INSERT INTO domains (id, tenant_id, name, status)
         SELECT gen_random_uuid(), tenant_id, 'd' || g || '.com', 'active'
           FROM memberships, generate_series(1, 8) g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let res = choose(&app, "starter").await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Starter allows 5 domains") && body.contains("Remove 3 domains first"),
        "{body}"
    );
    assert_eq!(sub_state(&app).await.1.as_deref(), Some("growth"));
}

#[sqlx::test]
async fn billing_pages_need_a_login(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/billing").await;
    assert_eq!(res.status(), 303);
    let res = app.call(&browser(), "/api/billing").await;
    assert_eq!(res.status(), 401);
    let _ = PASSWORD;
}

#[sqlx::test]
async fn a_hydrated_page_gets_the_checkout_url_as_the_result_not_a_redirect(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "js@acme.io").await;
    let res = app
        .client
        .post(app.url("/api/billing/plan"))
        .form(&[("plan", "growth")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let url: Option<String> = res.json().await.unwrap();
    assert!(
        url.unwrap()
            .contains("/sandbox/stripe/checkout/cs_test_sbx")
    );
}

#[sqlx::test]
async fn only_staff_can_advance_the_sandbox_clock(pool: PgPool) {
    let app = spawn_app(pool).await;
    customer(&app, "notstaff@acme.io").await;
    let res = app
        .client
        .post(app.url("/api/staff/sandbox-clock"))
        .form(&[("days", "8")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = browser()
        .post(app.url("/api/staff/sandbox-clock"))
        .form(&[("days", "8")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        app.scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .await,
        0
    );
}

#[sqlx::test]
async fn staff_refund_part_of_a_paid_subscription_invoice_once_with_a_reason_into_the_ledger(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    subscribed(&app, "refund-sub@acme.io", "starter").await;
    let staff = staff(&app).await;
    advance(&app, &staff, 8).await; // the trial ends: a $49 invoice is paid
    let (entry, tenant): (i64, uuid::Uuid) = sqlx::query_as(
        "SELECT id, tenant_id FROM ledger_entries WHERE kind = 'subscription_payment' AND amount_cents = 4900",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (entry, tenant) = (entry.to_string(), tenant.to_string());
    let refund = |amount: &'static str, reason: &'static str| {
        let (staff, url, entry, tenant) = (
            staff.clone(),
            app.url("/api/admin/tenants/refund"),
            entry.clone(),
            tenant.clone(),
        );
        async move {
            staff
                .post(url)
                .form(&[
                    ("tenant", tenant.as_str()),
                    ("entry", entry.as_str()),
                    ("amount", amount),
                    ("reason", reason),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // More than was paid, nothing, or not an amount: refused before the provider is asked.
    for bad in ["49.01", "0", "-5", "12.345", "1e9", "ten"] {
        let res = refund(bad, "goodwill").await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    assert_eq!(app.count("admin_refunds").await, 0);

    let res = refund("12.50", "the first week was down").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries WHERE kind = 'refund'")
            .await,
        -1250
    );
    assert_eq!(
        app.scalar(
            "SELECT sum(amount_refunded)::bigint FROM sandbox_stripe_payments WHERE invoice_id IS NOT NULL"
        )
        .await,
        1250
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'billing.refund'
               AND after->>'reason' = 'the first week was down' AND after->>'partial' = 'true'"
        )
        .await,
        1
    );
    // Once per invoice, whatever the amount.
    let again = refund("", "and the rest").await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        1
    );
}
