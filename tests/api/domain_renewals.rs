//! Renewing bought domains across the sandbox clock: charged once off-session and renewed once
//! at the registrar, a declined card retried with a new key and the owner told, a registrar
//! that refuses refunded, a worker killed after the registrar renewed resumed without a second
//! renewal, auto-renew off never charged, and the switch closed to other tenants and members.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::sync::atomic::Ordering;
use std::time::Duration;
use uuid::Uuid;

use crate::domains::{
    Scripted, another_customer, app, bought, customer, detail, post, retries_due, tenant_of,
    with_registrar, worker,
};
use crate::helpers::{TestApp, spawn_app_with};
use inboxgrove::server::services::domains::renewal;
use inboxgrove::server::state::AppState;

/// Bought and active, through the real purchase path.
async fn active_domain(app: &TestApp, email: &str, name: &str) -> Uuid {
    customer(app, email).await;
    let id = bought(app, name).await;
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM domains WHERE id = '{id}' AND status = 'active'"
        ))
        .await,
        1
    );
    id
}

/// Moves the sandbox clock and lets the scan and the workers play out what fell due.
async fn advance(app: &TestApp, state: &AppState, days: i64) {
    app.state
        .stripe_sandbox
        .as_ref()
        .expect("the sandbox Stripe")
        .advance(days)
        .await
        .unwrap();
    renewal::scan(state).await.unwrap();
    worker(state).run_until_idle().await.unwrap();
}

/// The new expiry is the registry's: a year on from its own, which the purchase set within
/// the same second as ours.
fn one_year_more(before: DateTime<Utc>, after: DateTime<Utc>) -> bool {
    (after - before - chrono::Duration::days(365))
        .num_seconds()
        .abs()
        < 60
}

async fn expires(app: &TestApp, id: Uuid) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT expires_at FROM domains WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn registry_expiry(app: &TestApp, name: &str) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT expires FROM sandbox_registrar_domains WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn renewal_charges(app: &TestApp) -> i64 {
    app.scalar(
        "SELECT count(*) FROM ledger_entries WHERE kind = 'one_time_charge' AND description LIKE 'Domain renewal%'",
    )
    .await
}

async fn mails(app: &TestApp, like: &str) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM mail_outbox WHERE subject LIKE '{like}'"
    ))
    .await
}

async fn card_fails(app: &TestApp, fails: bool) {
    sqlx::query("UPDATE sandbox_stripe_customers SET card = $1")
        .bind(if fails { "fails_charges" } else { "succeeds" })
        .execute(&app.pool)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_year_on_the_sandbox_clock_renews_once_charges_once_and_writes_the_ledger(pool: PgPool) {
    let app = app(pool).await;
    let id = active_domain(&app, "renew@acme.io", "renew-me.com").await;
    let before = expires(&app, id).await;
    let registry_before = registry_expiry(&app, "renew-me.com").await;

    // 20 days before expiry: the 30-day reminder, no renewal yet.
    advance(&app, &app.state, 345).await;
    assert_eq!(mails(&app, "renew-me.com renews in 30 days").await, 1);
    assert_eq!(renewal_charges(&app).await, 0);
    // Within the 14-day lead: renewed.
    advance(&app, &app.state, 10).await;
    assert_eq!(renewal_charges(&app).await, 1);
    let after = expires(&app, id).await;
    assert!(one_year_more(before, after), "{before} → {after}");
    assert_eq!(
        (registry_expiry(&app, "renew-me.com").await - registry_before).num_days(),
        365
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'one_time_charge'
              AND description = 'Domain renewal: renew-me.com (1 year)' AND amount_cents = 1398"
        )
        .await,
        1
    );
    assert_eq!(mails(&app, "renew-me.com renewed until %").await, 1);
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'domain.renewed'")
            .await,
        1
    );
    let d = detail(&app, id).await;
    assert_eq!(d["renewal"]["state"], "ok");
    assert_eq!(d["renewal"]["auto_renew"], true);
    assert_eq!(d["renewal"]["history"][0]["status"], "renewed");

    // The scan, the job and the webhook again: nothing more happens for that year.
    renewal::scan(&app.state).await.unwrap();
    let again = inboxgrove::server::jobs::NewJob::new(
        renewal::RENEW_KIND,
        &renewal::RenewJob {
            tenant_id: tenant_of(&app, id).await,
            domain_id: id,
            expires_from: before,
        },
    );
    app.state.jobs.enqueue(again).await.unwrap();
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(renewal_charges(&app).await, 1);
    assert_eq!(expires(&app, id).await, after);
    assert_eq!(app.scalar("SELECT count(*) FROM domain_renewals").await, 1);
}

#[sqlx::test]
async fn a_declined_card_marks_the_domain_expiring_tells_the_owner_and_a_retry_with_a_new_key_renews(
    pool: PgPool,
) {
    let app = app(pool).await;
    let id = active_domain(&app, "declined@acme.io", "declined.com").await;
    let before = expires(&app, id).await;
    card_fails(&app, true).await;

    advance(&app, &app.state, 355).await;
    assert_eq!(renewal_charges(&app).await, 0, "nothing charged");
    assert_eq!(expires(&app, id).await, before, "nothing renewed");
    let d = detail(&app, id).await;
    assert_eq!(d["renewal"]["state"], "expiring");
    assert_eq!(
        d["renewal"]["note"],
        "The renewal payment failed: Your card was declined."
    );
    assert_eq!(
        mails(&app, "Action needed: the renewal of declined.com failed").await,
        1
    );
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, charge_attempts FROM domain_renewals")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));

    // The customer fixes the card; the retry uses the next key and goes through.
    card_fails(&app, false).await;
    retries_due(&app).await;
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(renewal_charges(&app).await, 1);
    assert!(one_year_more(before, expires(&app, id).await));
    assert_eq!(detail(&app, id).await["renewal"]["state"], "ok");
    let keys = app
        .scalar("SELECT count(*) FROM sandbox_stripe_idempotency WHERE key LIKE 'ig:renewal:%'")
        .await;
    assert_eq!(keys, 2, "one key per declined try");
}

#[sqlx::test]
async fn a_card_declined_on_every_attempt_gives_up_without_charging(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_DOMAINS__RENEWAL_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    let id = active_domain(&app, "broke@acme.io", "broke.com").await;
    card_fails(&app, true).await;
    advance(&app, &app.state, 355).await;
    retries_due(&app).await;
    worker(&app.state).run_until_idle().await.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM domain_renewals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(renewal_charges(&app).await, 0);
    assert_eq!(mails(&app, "broke.com could not be renewed").await, 1);
    assert_eq!(detail(&app, id).await["renewal"]["state"], "expiring");
    // The 7-day reminder still goes out for a failed renewal.
    advance(&app, &app.state, 5).await;
    assert_eq!(mails(&app, "broke.com renews in 7 days").await, 1);

    // The owner fixes the card and presses "Try the renewal again": renewed, charged once.
    card_fails(&app, false).await;
    let res = post(
        &app,
        &app.client,
        "/api/domains/auto-renew",
        &[("id", &id.to_string()), ("on", "on")],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(renewal_charges(&app).await, 1);
    assert_eq!(detail(&app, id).await["renewal"]["state"], "ok");
    assert_eq!(
        detail(&app, id).await["renewal"]["history"][0]["status"],
        "renewed"
    );
}

#[sqlx::test]
async fn a_registrar_that_refuses_the_renewal_refunds_the_charge_exactly_once(pool: PgPool) {
    let app = app(pool).await;
    let id = active_domain(&app, "refused@acme.io", "acme-fail-renew.com").await;
    let before = expires(&app, id).await;
    advance(&app, &app.state, 355).await;
    // Charged, then refused, then refunded in full.
    assert_eq!(renewal_charges(&app).await, 1);
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'refund' AND amount_cents = -1398"
        )
        .await,
        1
    );
    assert_eq!(expires(&app, id).await, before);
    let d = detail(&app, id).await;
    assert_eq!(d["renewal"]["state"], "expiring");
    assert_eq!(d["renewal"]["history"][0]["status"], "refunded");
    assert_eq!(
        mails(&app, "acme-fail-renew.com could not be renewed — refunded").await,
        1
    );
    // Nothing more on another run.
    renewal::scan(&app.state).await.unwrap();
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        1
    );
}

#[sqlx::test]
async fn a_worker_killed_after_the_registrar_renewed_is_resumed_without_a_second_renewal(
    pool: PgPool,
) {
    let app = app(pool).await;
    let id = active_domain(&app, "killed@acme.io", "killed-renew.com").await;
    let registry_before = registry_expiry(&app, "killed-renew.com").await;
    let dying_registrar = Scripted {
        hang_after_renew: true,
        ..Scripted::around(&app.state)
    };
    let calls = dying_registrar.renew_calls.clone();
    let dying = with_registrar(&app.state, dying_registrar);
    app.state
        .stripe_sandbox
        .as_ref()
        .unwrap()
        .advance(355)
        .await
        .unwrap();
    renewal::scan(&app.state).await.unwrap();
    let w = worker(&dying);
    let first = tokio::spawn(async move { w.run_once().await });
    for _ in 0..200 {
        if calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    first.abort();
    let _ = first.await;
    // Its lease runs out; another worker takes the job.
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE status = 'running'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let counting = Scripted::around(&app.state);
    let second_calls = counting.renew_calls.clone();
    worker(&with_registrar(&app.state, counting))
        .run_until_idle()
        .await
        .unwrap();
    assert_eq!(
        second_calls.load(Ordering::SeqCst),
        0,
        "the registrar said it was renewed"
    );
    assert_eq!(
        (registry_expiry(&app, "killed-renew.com").await - registry_before).num_days(),
        365
    );
    assert_eq!(renewal_charges(&app).await, 1);
    assert_eq!(
        detail(&app, id).await["renewal"]["history"][0]["status"],
        "renewed"
    );
}

#[sqlx::test]
async fn with_auto_renew_off_nothing_is_charged_the_owner_is_reminded_and_it_is_marked_expired(
    pool: PgPool,
) {
    let app = app(pool).await;
    let id = active_domain(&app, "off@acme.io", "let-it-go.com").await;
    let owner = app.client.clone();
    let res = post(
        &app,
        &owner,
        "/api/domains/auto-renew",
        &[("id", &id.to_string()), ("on", "off")],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(detail(&app, id).await["renewal"]["auto_renew"], false);

    advance(&app, &app.state, 340).await;
    assert_eq!(mails(&app, "let-it-go.com expires in 30 days").await, 1);
    assert_eq!(detail(&app, id).await["renewal"]["state"], "expiring");
    advance(&app, &app.state, 20).await;
    assert_eq!(mails(&app, "let-it-go.com expires in 7 days").await, 1);
    advance(&app, &app.state, 10).await;
    assert_eq!(detail(&app, id).await["renewal"]["state"], "expired");
    assert_eq!(renewal_charges(&app).await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM domain_renewals").await, 0);
    // Reminders went once each, however often the scan ran.
    assert_eq!(mails(&app, "let-it-go.com expires in %").await, 2);
}

#[sqlx::test]
async fn the_auto_renew_switch_is_closed_to_other_tenants_members_and_odd_values(pool: PgPool) {
    let app = app(pool).await;
    let id = active_domain(&app, "mine@acme.io", "mine-only.com").await;
    let stranger = another_customer(&app, "stranger@evil.io").await;
    let res = post(
        &app,
        &stranger,
        "/api/domains/auto-renew",
        &[("id", &id.to_string()), ("on", "off")],
    )
    .await;
    assert_eq!(res.status(), 404);
    for odd in ["", "maybe", "1; DROP TABLE domains", &"x".repeat(10_000)] {
        let res = post(
            &app,
            &app.client,
            "/api/domains/auto-renew",
            &[("id", &id.to_string()), ("on", odd)],
        )
        .await;
        assert_eq!(res.status(), 422, "{odd:.20}");
    }
    let member = app.invite(&app.client, "member@acme.io", "member").await;
    let member = app.join(&member).await;
    let res = post(
        &app,
        &member,
        "/api/domains/auto-renew",
        &[("id", &id.to_string()), ("on", "off")],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(detail(&app, id).await["renewal"]["auto_renew"], true);
}

#[sqlx::test]
async fn a_charge_that_lands_after_the_renewal_gave_up_is_refunded_not_kept(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_DOMAINS__RENEWAL_MAX_ATTEMPTS", "1"),
        ],
    )
    .await;
    active_domain(&app, "late@acme.io", "late-answer.com").await;
    card_fails(&app, true).await;
    advance(&app, &app.state, 355).await;
    let (renewal, tenant, customer): (Uuid, Uuid, String) = sqlx::query_as(
        "SELECT r.id, r.tenant_id, c.customer_id FROM domain_renewals r
           JOIN billing_customers c ON c.tenant_id = r.tenant_id WHERE r.status = 'failed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // The provider charged after all (an answer lost on the way): its webhook arrives.
    card_fails(&app, false).await;
    app.state
        .payments
        .charge_saved_card(&inboxgrove::server::providers::payments::SavedCardCharge {
            tenant_id: tenant,
            customer_id: customer,
            amount_cents: 1398,
            currency: "usd".into(),
            description: "late".into(),
            metadata: vec![("renewal_id".into(), renewal.to_string())],
            idempotency_key: "late-answer".into(),
        })
        .await
        .unwrap();
    worker(&app.state).run_until_idle().await.unwrap();
    assert_eq!(renewal_charges(&app).await, 1, "in the ledger");
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'refund' AND amount_cents = -1398"
        )
        .await,
        1,
        "and given back"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM domain_renewals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "refunded");
}

#[sqlx::test]
async fn the_expiry_is_the_registrars_a_renewal_made_there_is_taken_and_not_charged_again(
    pool: PgPool,
) {
    let app = app(pool).await;
    let id = active_domain(&app, "synced@acme.io", "synced.com").await;
    assert_eq!(
        expires(&app, id).await,
        registry_expiry(&app, "synced.com").await,
        "set from the registrar at registration"
    );
    // Renewed by hand at the registrar for two more years.
    sqlx::query(
        "UPDATE sandbox_registrar_domains SET expires = expires + interval '730 days' WHERE name = 'synced.com'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(renewal::sync_expiries(&app.state).await.unwrap(), 1);
    assert_eq!(renewal::sync_expiries(&app.state).await.unwrap(), 0, "once");
    assert_eq!(
        expires(&app, id).await,
        registry_expiry(&app, "synced.com").await
    );
    advance(&app, &app.state, 355).await;
    assert_eq!(renewal_charges(&app).await, 0, "nothing due for two years");
}
