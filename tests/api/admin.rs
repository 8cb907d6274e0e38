//! The admin panel and the audit log: only staff reach any admin page or function (taken
//! from the app's route lists); every listed state change writes exactly one audit row with
//! the right actor and no secret in clear; the staff actions (trial extension, refund once,
//! queue purge with its confirm, notes) and the platform pages (Stripe events with replay,
//! jobs with retry, providers).

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{PASSWORD, Signup, TestApp, browser, json, pay, spawn_app_with};
use crate::inboxes::{customer_with_domains, provision, worker};
use crate::kill_switch::{admin, staff};

/// One form that satisfies every admin server function's arguments, so each is reached past
/// argument decoding and answers with its access check.
const ANY_ADMIN_ARGS: &[(&str, &str)] = &[
    ("tenant", "7d1c5e0e-3b2a-4c55-9a0e-1f2b3c4d5e6f"),
    ("category", "abuse"),
    ("reason", "r"),
    ("q", ""),
    ("status", ""),
    ("plan", ""),
    ("page", "1"),
    ("days", "1"),
    ("entry", "1"),
    ("confirm", "x"),
    ("body", "b"),
    ("actor", ""),
    ("action", ""),
    ("kind", ""),
    ("selected", ""),
    ("id", "7d1c5e0e-3b2a-4c55-9a0e-1f2b3c4d5e6f"),
    ("domain", "7d1c5e0e-3b2a-4c55-9a0e-1f2b3c4d5e6f"),
];

fn admin_pages(tenant: Uuid) -> Vec<String> {
    leptos_axum::generate_route_list(inboxgrove::app::App)
        .into_iter()
        .map(|r| {
            r.path()
                .replace(":id", &tenant.to_string())
                .replace("{id}", &tenant.to_string())
        })
        .filter(|p| p.starts_with("/admin"))
        .collect()
}

fn admin_functions() -> Vec<String> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with("/api/admin/") || p.starts_with("/api/staff/"))
        .collect()
}

#[sqlx::test]
async fn only_staff_reach_any_admin_page_or_function(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    assert!(
        app.signup_with(&customer, &Signup::valid("ann@acme.test"))
            .await
            .status()
            .is_success()
    );
    let tenant: Uuid = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let pages = admin_pages(tenant);
    assert!(pages.len() >= 6, "{pages:?}");
    let functions = admin_functions();
    assert!(functions.len() >= 14, "{functions:?}");
    let visitor = browser();
    for path in &pages {
        for (who, client) in [("customer", &customer), ("visitor", &visitor)] {
            let res = client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 404, "{who} {path}");
            assert!(!res.text().await.unwrap().contains("ann@acme.test"));
        }
    }
    let mut args: Vec<(&str, String)> = ANY_ADMIN_ARGS
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    args[0].1 = tenant.to_string();
    for f in &functions {
        let res = customer.post(app.url(f)).form(&args).send().await.unwrap();
        assert_eq!(res.status(), 404, "customer {f}");
        assert!(!res.text().await.unwrap().contains("ann@acme.test"), "{f}");
        let res = visitor.post(app.url(f)).form(&args).send().await.unwrap();
        assert_eq!(res.status(), 401, "visitor {f}");
    }
    // Nothing happened: no suspension, note, refund, trial change, clock move or bounce.
    assert_eq!(app.count("suspensions").await, 0);
    assert_eq!(app.count("tenant_notes").await, 0);
    assert_eq!(app.count("admin_refunds").await, 0);
    assert_eq!(
        app.scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .await,
        0
    );
    assert!(
        app.state
            .relay_sandbox
            .as_ref()
            .unwrap()
            .bounces()
            .is_empty()
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE actor_kind = 'staff'")
            .await,
        0
    );

    // Staff reach every page, and find the tenant by email, status and plan.
    let staff = staff(&app).await;
    for path in &pages {
        let res = staff.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "staff {path}");
    }
    let find = |q: &'static str, status: &'static str, plan: &'static str| {
        let form = [("q", q), ("status", status), ("plan", plan), ("page", "1")];
        let (staff, url) = (staff.clone(), app.url("/api/admin/tenants"));
        async move { post_json(&staff, url, &form).await }
    };
    let found = find("ANN@acme", "", "").await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["tenants"][0]["id"], tenant.to_string());
    assert_eq!(find("acme", "suspended", "").await["total"], 0);
    assert_eq!(find("acme", "", "trial").await["total"], 1);
    assert_eq!(find("acme", "", "growth").await["total"], 0);
    let d: Value = post_json(
        &staff,
        app.url("/api/admin/tenant"),
        &[("tenant", tenant.to_string())],
    )
    .await;
    assert_eq!(d["members"][0][0], "ann@acme.test");
}

/// Calls the staff function `/api/admin/tenants/<action>`; its status code.
async fn act(app: &TestApp, client: &reqwest::Client, action: &str, form: &[(&str, &str)]) -> u16 {
    admin(app, client, action, form).await.status().as_u16()
}

/// Rows of `action` in the log, with their actor kind.
async fn rows(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT actor_kind FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn post(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    client.post(url).form(form).send().await.unwrap()
}

/// The form of a function without arguments.
const NO_ARGS: [(&str, &str); 0] = [];

/// Posts the form and reads the JSON answer.
async fn post_json<F: serde::Serialize + ?Sized>(
    client: &reqwest::Client,
    url: String,
    form: &F,
) -> Value {
    client
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[sqlx::test]
async fn each_listed_action_writes_exactly_one_audit_row_with_the_right_actor_and_masked_secrets(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    // Signup, domain purchase (checkout, the Stripe events, the saga's activation).
    let domains = customer_with_domains(&app, &customer, "ann@acme.test", &["audit-me.com"]).await;
    let tenant: Uuid = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let domain = domains[0].to_string();
    // Logout, login.
    assert!(
        post(&customer, app.url("/api/auth/logout"), &[])
            .await
            .status()
            .is_success()
    );
    assert!(
        app.login_with(&customer, "ann@acme.test", PASSWORD)
            .await
            .status()
            .is_success()
    );
    // A failed purchase: the saga fails it and refunds.
    let res = customer
        .post(app.url("/api/domains/buy"))
        .header("accept", "text/html")
        .form(&[("name", "fail-register-now.com")])
        .send()
        .await
        .unwrap();
    let url = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(pay(&app, &url, "4242424242424242").await.status(), 303);
    worker(&app).run_until_idle().await.unwrap();
    // DNS repair; an inbox batch; reveal, export and a settings change of one inbox.
    assert!(
        post(
            &customer,
            app.url("/api/domains/repair"),
            &[("id", &domain)]
        )
        .await
        .status()
        .is_success()
    );
    assert_eq!(
        provision(&app, &customer, &domains, "2", "roles", "audit-key-1")
            .await
            .status(),
        200
    );
    let inbox: Uuid = sqlx::query_scalar("SELECT id FROM inboxes ORDER BY address LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let revealed = json(
        post(
            &customer,
            app.url("/api/inboxes/reveal"),
            &[("id", &inbox.to_string())],
        )
        .await,
    )
    .await;
    let revealed = revealed.as_str().unwrap().to_string();
    assert_eq!(revealed.len(), 24);
    let export = customer
        .get(app.url("/inboxes/export?format=instantly"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let res = post(
        &customer,
        app.url("/api/inboxes/update"),
        &[
            ("id", &inbox.to_string()),
            ("display_name", "Sales Team"),
            ("daily_cap", "25"),
        ],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    // Staff: trial extension, note, suspend, resume, purge, clock (before any plan).
    let staff = staff(&app).await;
    let t = tenant.to_string();
    for (action, field, value) in [
        ("extend-trial", "days", "7"),
        ("note", "body", "called them"),
        ("suspend", "reason", "check"),
        ("resume", "reason", "ok"),
        ("purge-queues", "confirm", "Acme Outreach"),
    ] {
        let form = [
            ("tenant", t.as_str()),
            ("category", "manual"),
            (field, value),
        ];
        assert_eq!(act(&app, &staff, action, &form).await, 200, "{action}");
    }
    // Refund the domain's charge.
    let entry: i64 = sqlx::query_scalar(
        "SELECT l.id FROM ledger_entries l JOIN domains d ON d.purchase_id = l.purchase_id
          WHERE d.name = 'audit-me.com' AND l.kind = 'one_time_charge'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let res = admin(
        &app,
        &staff,
        "refund",
        &[
            ("tenant", &t),
            ("entry", &entry.to_string()),
            ("reason", "goodwill"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // A plan: checkout, payment, a change of plan, cancel at period end.
    let res = customer
        .post(app.url("/api/billing/plan"))
        .header("accept", "text/html")
        .form(&[("plan", "starter")])
        .send()
        .await
        .unwrap();
    let url = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(pay(&app, &url, "4242424242424242").await.status(), 303);
    assert!(
        post(
            &customer,
            app.url("/api/billing/plan"),
            &[("plan", "growth")]
        )
        .await
        .status()
        .is_success()
    );
    assert!(
        post(
            &customer,
            app.url("/api/billing/cancel"),
            &[("cancel", "true")]
        )
        .await
        .status()
        .is_success()
    );
    // Domain removal.
    let res = post(
        &customer,
        app.url("/api/domains/delete"),
        &[("id", &domain)],
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());

    for (action, actor) in [
        ("account.signup", "user"),
        ("account.logout", "user"),
        ("domain.active", "system"),
        ("domain.failed", "system"),
        ("domain.refund", "system"),
        ("domain.repair", "user"),
        ("domain.delete", "user"),
        ("inboxes.provision", "user"),
        ("inbox.reveal_credentials", "user"),
        ("inboxes.export", "user"),
        ("inbox.update", "user"),
        ("tenant.trial_extend", "staff"),
        ("tenant.note", "staff"),
        ("tenant.suspend", "staff"),
        ("tenant.resume", "staff"),
        ("relay.purge", "staff"),
        ("billing.refund", "staff"),
        ("billing.checkout", "user"),
        ("billing.plan_change", "user"),
        ("billing.cancel_at_period_end", "user"),
    ] {
        assert_eq!(
            rows(&app, action).await,
            vec![actor.to_string()],
            "{action}"
        );
    }
    // Two purchases: the one that worked and the one the registry refused.
    assert_eq!(rows(&app, "domain.purchase").await, vec!["user", "user"]);
    // Logins: the customer's, then the staff member's.
    assert_eq!(rows(&app, "account.login").await, vec!["user", "staff"]);
    // Stripe's events, one row each, by the webhook.
    let stripe: Vec<(String, i64)> = sqlx::query_as(
        "SELECT actor_kind, count(*) FROM audit_log WHERE action LIKE 'stripe.%' GROUP BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(stripe.len(), 1, "{stripe:?}");
    assert_eq!(stripe[0].0, "webhook");
    assert_eq!(
        stripe[0].1,
        app.scalar(
            "SELECT count(*) FROM stripe_events WHERE outcome = 'applied' AND tenant_id IS NOT NULL"
        )
        .await
    );
    // Every row of a request carries its IP and user agent; who did it; the tenant.
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE actor_kind IN ('user', 'staff') AND (ip IS NULL OR user_agent IS NULL OR actor_id IS NULL)").await,
        0
    );
    let elsewhere: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action NOT IN ('account.login', 'sandbox.clock')
            AND tenant_id IS DISTINCT FROM $1",
    )
    .bind(tenant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(elsewhere, 0);
    // No secret in clear anywhere: not the account password, not the revealed SMTP password.
    let all: Vec<String> = sqlx::query_scalar("SELECT audit_log::text FROM audit_log")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for row in &all {
        assert!(!row.contains(PASSWORD), "{row}");
        assert!(!row.contains(&revealed), "{row}");
    }
    // The log is append-only.
    assert!(
        sqlx::query("UPDATE audit_log SET action = 'x'")
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&app.pool)
            .await
            .is_err()
    );

    // The customer's Activity shows their trail without the staff's note, names or IPs.
    let activity: Value = post_json(&customer, app.url("/api/activity"), &[("action", "")]).await;
    let entries = activity["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"tenant.suspend") && actions.contains(&"inboxes.provision"));
    assert!(!actions.contains(&"tenant.note"), "{actions:?}");
    for e in entries.iter().filter(|e| e["action"] == "tenant.suspend") {
        assert_eq!(e["actor"], "InboxGrove staff");
        assert_eq!(e["ip"], "");
    }
    // Staff filter the trail of every tenant by actor and action.
    let trail: Value = post_json(
        &staff,
        app.url("/api/admin/audit"),
        &[("actor", "staff"), ("action", "tenant."), ("tenant", "")],
    )
    .await;
    let mut got: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "tenant.note",
            "tenant.resume",
            "tenant.suspend",
            "tenant.trial_extend"
        ]
    );
}

#[sqlx::test]
async fn a_customer_sees_only_their_own_activity(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let (ann, bob) = (browser(), browser());
    assert!(
        app.signup_with(&ann, &Signup::valid("ann@acme.test"))
            .await
            .status()
            .is_success()
    );
    assert!(
        app.signup_with(&bob, &Signup::valid("bob@other.test"))
            .await
            .status()
            .is_success()
    );
    let mine: Value = post_json(&ann, app.url("/api/activity"), &[("action", "")]).await;
    let entries = mine["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "the signup and the verified address: {entries:?}"
    );
    assert!(entries.iter().all(|e| {
        let d = e["detail"].as_str().unwrap();
        d.contains("ann@acme.test") || e["action"].as_str() == Some("account.verify_email")
    }));
    assert!(!mine.to_string().contains("bob@other.test"));
}

#[sqlx::test]
async fn staff_refund_a_charge_once_extend_a_trial_and_purge_only_after_the_typed_confirm(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    customer_with_domains(&app, &customer, "ann@acme.test", &["refund-me.com"]).await;
    let t: Uuid = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let t = t.to_string();
    let staff = staff(&app).await;
    let (entry, charged): (i64, i64) = sqlx::query_as(
        "SELECT id, amount_cents FROM ledger_entries WHERE kind = 'one_time_charge'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let entry = entry.to_string();

    // A reason is required; then the refund goes through the provider and into the ledger.
    let res = admin(
        &app,
        &staff,
        "refund",
        &[("tenant", &t), ("entry", &entry), ("reason", " ")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = admin(
        &app,
        &staff,
        "refund",
        &[("tenant", &t), ("entry", &entry), ("reason", "goodwill")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        json(res).await,
        format!("Refunded ${}.{:02}.", charged / 100, charged % 100)
    );
    assert_eq!(
        app.scalar("SELECT sum(amount_cents)::bigint FROM ledger_entries WHERE kind = 'refund'")
            .await,
        -charged
    );
    assert_eq!(
        app.scalar("SELECT sum(amount_refunded)::bigint FROM sandbox_stripe_payments")
            .await,
        charged
    );
    // Once: a second attempt is refused and nothing moves.
    let again = admin(
        &app,
        &staff,
        "refund",
        &[("tenant", &t), ("entry", &entry), ("reason", "twice")],
    )
    .await;
    assert_eq!(again.status(), 409);
    assert!(json(again).await.to_string().contains("already refunded"));
    assert_eq!(app.count("admin_refunds").await, 1);
    assert_eq!(
        app.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
            .await,
        1
    );
    // Another tenant's entry id is not found through this tenant.
    let other = Uuid::new_v4().to_string();
    assert_eq!(
        act(
            &app,
            &staff,
            "refund",
            &[("tenant", &other), ("entry", &entry), ("reason", "x")]
        )
        .await,
        404
    );

    // Trial: 1–90 days, from the later of now and the current end.
    let trial_end = || {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "SELECT trial_ends_at FROM tenants WHERE id = $1::uuid",
        )
        .bind(&t)
        .fetch_one(&app.pool)
    };
    let before = trial_end().await.unwrap();
    assert_eq!(
        act(
            &app,
            &staff,
            "extend-trial",
            &[("tenant", &t), ("days", "0")]
        )
        .await,
        422
    );
    assert_eq!(
        act(
            &app,
            &staff,
            "extend-trial",
            &[("tenant", &t), ("days", "10")]
        )
        .await,
        200
    );
    let after = trial_end().await.unwrap();
    assert_eq!(after - before, chrono::Duration::days(10));

    // Purge: the wrong name is refused and nothing is bounced; the right one bounces the
    // tenant's queues only.
    let relay = app.state.relay_sandbox.clone().unwrap();
    let res = admin(
        &app,
        &staff,
        "purge-queues",
        &[("tenant", &t), ("confirm", "acme")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(json(res).await.to_string().contains("Acme Outreach"));
    assert!(relay.bounces().is_empty());
    assert_eq!(
        act(
            &app,
            &staff,
            "purge-queues",
            &[("tenant", &t), ("confirm", "Acme Outreach")]
        )
        .await,
        200
    );
    let bounces = relay.bounces();
    assert_eq!(bounces.len(), 1);
    assert_eq!(bounces[0].1.0.to_string(), t);

    // Notes: staff see them on the tenant page; the tenant page shows ledger and inboxes.
    assert_eq!(
        act(&app, &staff, "note", &[("tenant", &t), ("body", "")]).await,
        422
    );
    assert_eq!(
        act(
            &app,
            &staff,
            "note",
            &[("tenant", &t), ("body", "VIP, be gentle")]
        )
        .await,
        200
    );
    let d: Value = post_json(&staff, app.url("/api/admin/tenant"), &[("tenant", &t)]).await;
    assert_eq!(d["notes"][0]["body"], "VIP, be gentle");
    let ledger = d["ledger"].as_array().unwrap();
    assert!(ledger.iter().any(|l| l["kind"] == "refund"));
    assert!(
        ledger.iter().all(|l| l["refundable"] == false),
        "{ledger:?}"
    );
}

#[sqlx::test]
async fn platform_pages_list_events_replay_one_retry_a_failed_job_and_name_the_providers(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    customer_with_domains(&app, &customer, "ann@acme.test", &["events.com"]).await;
    let staff = staff(&app).await;

    let events: Value = post_json(
        &staff,
        app.url("/api/admin/events"),
        &[("kind", "checkout."), ("selected", "")],
    )
    .await;
    let list = events["events"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{events}");
    let id = list[0]["id"].as_str().unwrap().to_string();
    let shown: Value = post_json(
        &staff,
        app.url("/api/admin/events"),
        &[("kind", ""), ("selected", &id)],
    )
    .await;
    assert!(
        shown["selected"][1]
            .as_str()
            .unwrap()
            .contains("\"checkout.session.completed\"")
    );

    // Replaying an applied event changes nothing but is recorded once, by the staff member.
    let ledger = app.count("ledger_entries").await;
    let res = post(&staff, app.url("/api/admin/events/replay"), &[("id", &id)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("ledger_entries").await, ledger);
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'stripe.checkout.session.completed' AND actor_kind = 'staff'").await,
        1
    );
    assert_eq!(
        post(
            &staff,
            app.url("/api/admin/events/replay"),
            &[("id", "evt_missing")]
        )
        .await
        .status(),
        404
    );

    // A failed job: listed, retried once (one more attempt), then not retriable again.
    let job = Uuid::new_v4();
    sqlx::query("INSERT INTO jobs (id, kind, status, attempts, max_attempts, last_error, finished_at) VALUES ($1, 'trial_reminder_scan', 'failed', 3, 3, 'boom', now())")
        .bind(job)
        .execute(&app.pool)
        .await
        .unwrap();
    let jobs: Value = post_json(&staff, app.url("/api/admin/jobs"), &[("status", "failed")]).await;
    assert!(
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == job.to_string() && j["last_error"] == "boom")
    );
    assert_eq!(
        post(
            &staff,
            app.url("/api/admin/jobs/retry"),
            &[("id", &job.to_string())]
        )
        .await
        .status(),
        200
    );
    let (status, max): (String, i32) =
        sqlx::query_as("SELECT status, max_attempts FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), max), ("pending", 4));
    assert_eq!(
        post(
            &staff,
            app.url("/api/admin/jobs/retry"),
            &[("id", &job.to_string())]
        )
        .await
        .status(),
        409
    );

    let platform: Value = post_json(&staff, app.url("/api/admin/platform"), &NO_ARGS).await;
    let providers = platform["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 5);
    assert!(
        providers.iter().all(|p| p["real"] == false),
        "{providers:?}"
    );
    assert!(
        platform["sandbox_clock"]
            .as_str()
            .unwrap()
            .contains("0 days ahead")
    );
    assert_eq!(
        post(
            &staff,
            app.url("/api/staff/sandbox-clock"),
            &[("days", "2")]
        )
        .await
        .status(),
        200
    );
    let platform: Value = post_json(&staff, app.url("/api/admin/platform"), &NO_ARGS).await;
    assert!(
        platform["sandbox_clock"]
            .as_str()
            .unwrap()
            .contains("2 days ahead"),
        "{platform}"
    );
    assert_eq!(rows(&app, "sandbox.clock").await, vec!["staff"]);
}

/// Audit before the irreversible: the purge's intent is on the trail even when the relay
/// fails; the clock advance and its row commit together or not at all; looking at a Stripe
/// payload (customer data) is itself recorded, once per look.
#[sqlx::test]
async fn the_purge_intent_the_clock_and_a_payload_view_are_on_the_trail_whatever_happens(
    pool: PgPool,
) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let kumo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/admin/bounce/v1"))
        .respond_with(ResponseTemplate::new(500).set_body_string("spool on fire"))
        .expect(1)
        .mount(&kumo)
        .await;
    let url = kumo.uri();
    let dir = std::env::temp_dir().join(format!("ig-audit-{}", Uuid::new_v4().simple()));
    let dir_s = dir.to_string_lossy().into_owned();
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_PROVIDERS__RELAY", "kumomta"),
            ("INBOXGROVE_RELAY__KUMOMTA_API_URL", url.as_str()),
            ("INBOXGROVE_RELAY__POLICY_DIR", dir_s.as_str()),
        ],
    )
    .await;
    let customer = browser();
    let res = app
        .signup_with(&customer, &Signup::valid("ann@acme.test"))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (tenant, name): (Uuid, String) =
        sqlx::query_as("SELECT id, name FROM tenants WHERE name = 'Acme Outreach'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let staff = staff(&app).await;

    // The relay fails: the staff member is told, and the intent row is there anyway.
    let res = admin(
        &app,
        &staff,
        "purge-queues",
        &[("tenant", &tenant.to_string()), ("confirm", &name)],
    )
    .await;
    assert_eq!(res.status(), 502);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("did not accept the purge")
    );
    assert_eq!(rows(&app, "relay.purge").await, vec!["staff"]);
    assert_eq!(rows(&app, "relay.purge.result").await, vec!["staff"]);
    let intent_first: bool = sqlx::query_scalar(
        "SELECT (SELECT id FROM audit_log WHERE action = 'relay.purge')
              < (SELECT id FROM audit_log WHERE action = 'relay.purge.result')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(intent_first);

    // The clock: if its audit row cannot be written, the clock does not move either.
    sqlx::query(
        "CREATE FUNCTION refuse_clock_row() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.action = 'sandbox.clock' THEN RAISE EXCEPTION 'audit unavailable'; END IF;
         RETURN NEW; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_clock_row BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_clock_row()")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &staff,
        app.url("/api/staff/sandbox-clock"),
        &[("days", "2")],
    )
    .await;
    assert_eq!(res.status(), 500);
    assert_eq!(
        app.scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .await,
        0,
        "the clock moved without its audit row"
    );
    sqlx::query("DROP TRIGGER refuse_clock_row ON audit_log")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &staff,
        app.url("/api/staff/sandbox-clock"),
        &[("days", "2")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .await,
        2 * 86_400
    );
    assert_eq!(rows(&app, "sandbox.clock").await, vec!["staff"]);

    // A payload view: one row per look; the list alone records nothing.
    sqlx::query(
        "INSERT INTO stripe_events (id, type, api_version, livemode, created, object_id, outcome, payload, tenant_id)
         VALUES ('evt_audit_1', 'customer.updated', '2025-01-01', false, now(), 'cus_1', 'applied',
                 '{\"data\": {\"object\": {\"email\": \"ann@acme.test\"}}}', $1)",
    )
    .bind(tenant)
    .execute(&app.pool)
    .await
    .unwrap();
    let list: Value = post_json(
        &staff,
        app.url("/api/admin/events"),
        &[("kind", ""), ("selected", "")],
    )
    .await;
    assert!(list["selected"].is_null(), "{list}");
    assert!(rows(&app, "staff.view_event").await.is_empty());
    let shown: Value = post_json(
        &staff,
        app.url("/api/admin/events"),
        &[("kind", ""), ("selected", "evt_audit_1")],
    )
    .await;
    assert!(
        shown["selected"][1]
            .as_str()
            .unwrap()
            .contains("ann@acme.test")
    );
    assert_eq!(rows(&app, "staff.view_event").await, vec!["staff"]);
    let (target, on): (String, Option<Uuid>) =
        sqlx::query_as("SELECT target, tenant_id FROM audit_log WHERE action = 'staff.view_event'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (target.as_str(), on),
        ("stripe_event:evt_audit_1", Some(tenant))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test]
async fn staff_suspend_one_domain_its_mail_and_logins_stop_the_customer_is_told_and_resume_restores(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    let ids = customer_with_domains(
        &app,
        &customer,
        "ann@acme.test",
        &["keep-me.com", "stop-me.com"],
    )
    .await;
    let (keep, stop) = (ids[0], ids[1]);
    assert_eq!(
        provision(&app, &customer, &ids, "2", "first", "suspend-domain-1")
            .await
            .status(),
        200
    );
    worker(&app).run_until_idle().await.unwrap();
    let tenant: Uuid = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let relay = || {
        inboxgrove::server::services::inboxes::relay::render(
            &app.state,
            inboxgrove::domain::TenantId(tenant),
        )
    };
    let live = |data: &inboxgrove::server::providers::relay::TenantRelayData, domain: &str| {
        (
            data.domains.iter().any(|d| d.name == domain),
            data.users
                .iter()
                .filter(|u| u.address.ends_with(&format!("@{domain}")) && u.active)
                .count(),
        )
    };
    let before = relay().await.unwrap();
    assert_eq!(live(&before, "stop-me.com"), (true, 2));

    // The customer cannot suspend or resume (staff only), nor can a stranger.
    let form = [("domain", stop.to_string()), ("reason", "x".to_string())];
    let res = customer
        .post(app.url("/api/admin/domains/suspend"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(res.status().as_u16(), 401 | 403 | 404),
        "{}",
        res.status()
    );
    let staff = staff(&app).await;
    // A reason is required.
    let res = post(
        &staff,
        app.url("/api/admin/domains/suspend"),
        &[("domain", &stop.to_string()), ("reason", " ")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post(
        &staff,
        app.url("/api/admin/domains/suspend"),
        &[
            ("domain", &stop.to_string()),
            ("reason", "Phishing reported by a receiver."),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Twice is refused, not a second audit row.
    let res = post(
        &staff,
        app.url("/api/admin/domains/suspend"),
        &[("domain", &stop.to_string()), ("reason", "again")],
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(rows(&app, "domain.suspend").await.len(), 1);

    // The relay data: the domain is no longer signed for, its inboxes do not authenticate; the
    // other domain is untouched.
    let after = relay().await.unwrap();
    assert_eq!(live(&after, "stop-me.com"), (false, 0));
    assert_eq!(live(&after, "keep-me.com"), (true, 2));
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'relay_publish' AND status = 'pending'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(queued, 1, "a publish is queued for the tenant");

    // The customer sees it, with the reason, and cannot make inboxes on it.
    let detail = json(
        customer
            .post(app.url("/api/domains/detail"))
            .form(&[("id", stop.to_string())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(detail["status"], "suspended");
    assert_eq!(detail["suspension"], "Phishing reported by a receiver.");
    let res = provision(&app, &customer, &[stop], "1", "first", "suspend-domain-2").await;
    assert_ne!(res.status(), 200);

    // Resumed: back to active, signed for and authenticating again.
    let res = post(
        &staff,
        app.url("/api/admin/domains/resume"),
        &[("domain", &stop.to_string())],
    )
    .await;
    assert_eq!(res.status(), 200);
    let status: String = sqlx::query_scalar("SELECT status FROM domains WHERE id = $1")
        .bind(stop)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "active");
    assert_eq!(live(&relay().await.unwrap(), "stop-me.com"), (true, 2));
    assert_eq!(rows(&app, "domain.resume").await.len(), 1);
    let detail = json(
        customer
            .post(app.url("/api/domains/detail"))
            .form(&[("id", stop.to_string())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(detail["suspension"].is_null());
    let _ = keep;
}

#[sqlx::test]
async fn staff_view_a_tenant_as_its_owner_read_only_every_write_refused_and_every_view_audited(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    customer_with_domains(&app, &customer, "ann@acme.test", &["viewed.com"]).await;
    let tenant: Uuid = sqlx::query_scalar("SELECT t.id FROM tenants t JOIN memberships m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id WHERE u.email = 'ann@acme.test'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let staff = staff(&app).await;
    // Not a customer's to start.
    let res = post(
        &customer,
        app.url("/api/admin/tenants/view-as"),
        &[("tenant", &tenant.to_string())],
    )
    .await;
    assert!(
        matches!(res.status().as_u16(), 401 | 403 | 404),
        "{}",
        res.status()
    );
    let res = post(
        &staff,
        app.url("/api/admin/tenants/view-as"),
        &[("tenant", &tenant.to_string())],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // The owner's pages and data, with the banner's name.
    let dash = json(post(&staff, app.url("/api/dashboard"), &[]).await).await;
    assert_eq!(dash["tenant_name"], "Acme Outreach", "{dash}");
    let me = json(staff.get(app.url("/api/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["viewing_as"], "Acme Outreach");
    for page in ["/dashboard", "/domains", "/inboxes", "/billing"] {
        let res = staff.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{page}");
    }

    // Every customer function that is not a read, and every endpoint, is refused before it
    // runs; the reads answer.
    let open = inboxgrove::routes::OPEN_API;
    let customer_fns: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with("/api/") && !open.iter().any(|o| p.starts_with(o)))
        .collect();
    assert!(customer_fns.len() > 40, "{}", customer_fns.len());
    let mut form: Vec<(&str, &str)> = ANY_ADMIN_ARGS.to_vec();
    form.extend([
        ("name", "x.com"),
        ("query", "x"),
        ("scope", "workspace"),
        ("domain", ""),
        ("batch", ""),
    ]);
    for path in &customer_fns {
        let res = post(&staff, app.url(path), &form).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        if inboxgrove::permissions::READS.contains(&path.as_str()) {
            assert!(
                status != 403 && status < 500,
                "{path} is a read: {status} {body}"
            );
        } else {
            assert_eq!(
                status, 403,
                "{path} must be refused in a read-only view: {body}"
            );
            assert!(body.contains("nothing can be changed"), "{path}: {body}");
        }
    }
    for endpoint in inboxgrove::routes::AREA_ENDPOINTS {
        let res = staff.get(app.url(endpoint)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{endpoint}");
    }
    let res = staff.post(app.url("/dashboard")).send().await.unwrap();
    assert!(res.status().is_client_error());

    // Audited: the start, and each page viewed (written off the request's path).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let viewed: Vec<String> = sqlx::query_scalar(
        "SELECT target FROM audit_log WHERE action = 'staff.view_as' AND tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(viewed[0], format!("tenant:{tenant}"));
    for page in ["/dashboard", "/domains", "/inboxes", "/billing"] {
        assert!(
            viewed.iter().any(|v| v == page),
            "{page} not audited: {viewed:?}"
        );
    }

    // Stopped: a staff session again, with no workspace.
    let res = post(&staff, app.url("/api/admin/view-as/stop"), &[]).await;
    assert_eq!(res.status(), 200);
    let res = post(&staff, app.url("/api/dashboard"), &[]).await;
    assert_eq!(res.status(), 403);
}

/// The names of the workspaces among `ours` that staff find for `q`.
async fn found(app: &TestApp, staff: &reqwest::Client, q: &str, ours: &[&str]) -> Vec<String> {
    let res = staff
        .post(app.url("/api/admin/tenants"))
        .form(&[("q", q), ("status", ""), ("plan", ""), ("page", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{q}");
    let v = json(res).await;
    let mut names: Vec<String> = v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .filter(|n| ours.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

#[sqlx::test]
async fn staff_search_finds_workspaces_by_any_part_of_name_member_or_domain_and_follows_changes(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let staff = staff(&app).await;
    let (a, b) = ("Acme Outreach", "Bolt_Mail 100%");
    let ours = [a, b];
    customer_with_domains(&app, &browser(), "ann@acme.test", &["zebra-fields.com"]).await;
    let res = app
        .signup_with(
            &browser(),
            &Signup {
                company: b,
                ..Signup::valid("bob@bolt.test")
            },
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let none: Vec<String> = Vec::new();
    let just = |n: &str| vec![n.to_string()];

    // Name (case and spaces), domain, member email; short queries too.
    assert_eq!(found(&app, &staff, "ACME out", &ours).await, just(a));
    assert_eq!(found(&app, &staff, "zebra-F", &ours).await, just(a));
    assert_eq!(found(&app, &staff, "bob@bol", &ours).await, just(b));
    assert_eq!(found(&app, &staff, "lt", &ours).await, just(b));
    assert_eq!(
        found(&app, &staff, "o", &ours).await,
        vec![a.to_string(), b.to_string()]
    );
    // `_` and `%` are the characters typed, not wildcards ("e_o" would match "Acme Outreach").
    assert_eq!(found(&app, &staff, "t_m", &ours).await, just(b));
    assert_eq!(found(&app, &staff, "e_o", &ours).await, none);
    assert_eq!(found(&app, &staff, "100%", &ours).await, just(b));
    assert_eq!(found(&app, &staff, "10%0", &ours).await, none);
    // Every piece must be there, in order: pieces of both names is neither.
    assert_eq!(found(&app, &staff, "acmebolt", &ours).await, none);
    assert_eq!(found(&app, &staff, "zebra-fields.com.", &ours).await, none);

    // The index follows renamed workspaces and domains, changed emails and closed workspaces.
    let tenant_a: Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(a)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET email = 'ann@quince.test' WHERE email = 'ann@acme.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE domains SET name = 'yak-trails.com' WHERE name = 'zebra-fields.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tenants SET name = 'Acme Renamed' WHERE id = $1")
        .bind(tenant_a)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'bob@bolt.test')")
        .execute(&app.pool)
        .await
        .unwrap();
    let ours = ["Acme Renamed", b];
    assert_eq!(
        found(&app, &staff, "quince", &ours).await,
        just("Acme Renamed")
    );
    assert_eq!(found(&app, &staff, "ann@acme", &ours).await, none);
    assert_eq!(found(&app, &staff, "zebra", &ours).await, none);
    assert_eq!(
        found(&app, &staff, "k-trai", &ours).await,
        just("Acme Renamed")
    );
    assert_eq!(found(&app, &staff, "outreach", &ours).await, none);
    assert_eq!(
        found(&app, &staff, "renamed", &ours).await,
        just("Acme Renamed")
    );
    assert_eq!(found(&app, &staff, "bob@bol", &ours).await, none);
    assert_eq!(found(&app, &staff, "_mail", &ours).await, just(b));
    // A huge or odd query is only a query.
    let huge = "Acme ".repeat(2_000);
    assert_eq!(found(&app, &staff, &huge, &ours).await, none);
    assert_eq!(
        found(&app, &staff, "\u{0}'); DROP TABLE tenants;--", &ours).await,
        none
    );
    // A user deleted with their memberships (the cascade) takes their email's pieces along.
    sqlx::query("DELETE FROM users WHERE email = 'ann@quince.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(found(&app, &staff, "quince", &ours).await, none);
    // What the triggers kept is exactly what the texts give, counted.
    let drift: i64 = sqlx::query_scalar(
        "WITH fresh AS (
            SELECT g AS gram, tenant_id, count(*)::int AS n
              FROM (SELECT id AS tenant_id, name AS s FROM tenants
                    UNION ALL SELECT m.tenant_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
                    UNION ALL SELECT tenant_id, name FROM domains) AS texts,
                   LATERAL search_grams_of(s) AS g
             GROUP BY g, tenant_id)
         SELECT count(*) FROM ((SELECT gram, tenant_id, n FROM fresh
                                EXCEPT SELECT gram, tenant_id, n FROM search_grams)
                         UNION ALL (SELECT gram, tenant_id, n FROM search_grams
                                EXCEPT SELECT gram, tenant_id, n FROM fresh)) AS d",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(drift, 0);
}
