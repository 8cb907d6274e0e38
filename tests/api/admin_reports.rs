//! Staff reports: the revenue figures against a known set of mirrored subscriptions, invoices
//! and ledger entries across tenants, and the providers' health as the app's own calls
//! recorded it. Neither is open to a customer (404, like every admin function) or a visitor
//! (401).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Signup, TestApp, browser, spawn_app_with};
use crate::kill_switch::staff;

/// `days` from now (negative: ago).
fn day(days: i64) -> DateTime<Utc> {
    Utc::now() + Duration::days(days)
}

/// One mirrored subscription, each of its own tenant.
struct Sub {
    plan: Option<&'static str>,
    price: &'static str,
    status: &'static str,
    /// Trial start and end, in days from now.
    trial: Option<(i64, i64)>,
    canceled_at: Option<i64>,
    ended_at: Option<i64>,
    /// The mirror's last event about it.
    src_created: i64,
    /// Its first invoice.
    first_invoice: Option<i64>,
}

fn sub(plan: &'static str, status: &'static str) -> Sub {
    Sub {
        plan: Some(plan),
        price: match plan {
            "starter" => "price_starter_monthly",
            "growth" => "price_growth_monthly",
            _ => "price_scale_monthly",
        },
        status,
        trial: None,
        canceled_at: None,
        ended_at: None,
        src_created: -1,
        first_invoice: None,
    }
}

async fn tenant(pool: &PgPool, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO tenants (id, name, trial_ends_at, plan_id) VALUES ($1, $2, now(), NULL)",
    )
    .bind(id)
    .bind(name)
    .execute(pool)
    .await
    .unwrap();
    id
}

async fn insert(pool: &PgPool, i: usize, s: &Sub) -> Uuid {
    let tenant = tenant(pool, &format!("Tenant {i}")).await;
    let id = format!("sub_test_{i}");
    sqlx::query(
        "INSERT INTO billing_subscriptions (id, tenant_id, customer_id, status, plan_id, price_id,
                item_id, trial_start, trial_end, canceled_at, ended_at, src_created, src_type_rank,
                src_status_rank, src_event_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'si_x', $7, $8, $9, $10, $11, 0, 0, 'evt_x')",
    )
    .bind(&id)
    .bind(tenant)
    .bind(format!("cus_{i}"))
    .bind(s.status)
    .bind(s.plan)
    .bind(s.price)
    .bind(s.trial.map(|t| day(t.0)))
    .bind(s.trial.map(|t| day(t.1)))
    .bind(s.canceled_at.map(day))
    .bind(s.ended_at.map(day))
    .bind(day(s.src_created))
    .execute(pool)
    .await
    .unwrap();
    if let Some(at) = s.first_invoice {
        sqlx::query(
            "INSERT INTO billing_invoices (id, tenant_id, customer_id, subscription_id, status,
                    amount_due, amount_paid, currency, created, paid_at)
             VALUES ($1, $2, $3, $4, 'paid', 49900, 49900, 'usd', $5, $5)",
        )
        .bind(format!("in_test_{i}"))
        .bind(tenant)
        .bind(format!("cus_{i}"))
        .bind(&id)
        .bind(day(at))
        .execute(pool)
        .await
        .unwrap();
    }
    tenant
}

async fn ledger(pool: &PgPool, tenant: Uuid, kind: &str, cents: i64, days: i64) {
    sqlx::query(
        "INSERT INTO ledger_entries (tenant_id, kind, amount_cents, currency, provider_ref,
                description, occurred_at)
         VALUES ($1, $2, $3, 'usd', $4, 'test', $5)",
    )
    .bind(tenant)
    .bind(kind)
    .bind(cents)
    .bind(Uuid::new_v4().to_string())
    .bind(day(days))
    .execute(pool)
    .await
    .unwrap();
}

async fn post_json(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> Value {
    let res = client.post(app.url(path)).form(form).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn cents(v: &Value) -> i64 {
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "one currency: {v}");
    assert_eq!(list[0]["currency"], "usd");
    list[0]["cents"].as_i64().unwrap()
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap();
    assert!((got - want).abs() < 1e-9, "{got} != {want}");
}

#[sqlx::test]
async fn revenue_figures_match_a_known_set_of_subscriptions(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    // Plans: starter $49, growth $149, scale $499 (Leptos.toml). Days are from now.
    let subs = [
        // 0: paying since its trial ended 54 days ago.
        Sub {
            trial: Some((-61, -54)),
            ..sub("starter", "active")
        },
        // 1: trial ended 13 days ago and paying: new, and a converted trial.
        Sub {
            trial: Some((-20, -13)),
            ..sub("growth", "active")
        },
        // 2: no trial; began with its first invoice 45 days ago (the mirror's last event is
        //    2 days old); past due still counts as paying.
        Sub {
            src_created: -2,
            first_invoice: Some(-45),
            ..sub("scale", "past_due")
        },
        // 3: paying for two months, ended 10 days ago: churned.
        Sub {
            trial: Some((-70, -63)),
            canceled_at: Some(-12),
            ended_at: Some(-10),
            ..sub("growth", "canceled")
        },
        // 4: canceled during its trial 21 days ago: an ended trial that never paid.
        Sub {
            trial: Some((-25, -18)),
            canceled_at: Some(-21),
            ended_at: Some(-21),
            ..sub("starter", "canceled")
        },
        // 5, 6: trialing now.
        Sub {
            trial: Some((-3, 4)),
            ..sub("starter", "trialing")
        },
        Sub {
            trial: Some((-1, 6)),
            ..sub("growth", "trialing")
        },
        // 7: paying from 33 days ago, ended 5 days ago: churned.
        Sub {
            trial: Some((-40, -33)),
            canceled_at: Some(-6),
            ended_at: Some(-5),
            ..sub("starter", "canceled")
        },
        // 8: never paid: left out.
        Sub {
            src_created: -5,
            ..sub("starter", "incomplete_expired")
        },
        // 9: a price no plan has, paying for 100 days: counted, not in MRR.
        Sub {
            plan: None,
            price: "price_legacy_monthly",
            src_created: -100,
            ..sub("starter", "active")
        },
        // 10: trial ended 9 days ago, paid, ended 2 days ago: new, converted and churned.
        Sub {
            trial: Some((-16, -9)),
            canceled_at: Some(-3),
            ended_at: Some(-2),
            ..sub("scale", "canceled")
        },
        // 11: paying since 50 days ago, unpaid 8 days ago: churned.
        Sub {
            trial: Some((-57, -50)),
            src_created: -8,
            ..sub("growth", "unpaid")
        },
    ];
    let mut tenants = Vec::new();
    for (i, s) in subs.iter().enumerate() {
        tenants.push(insert(&app.pool, i, s).await);
    }
    // Refunds: two in the window ($49 and $149), one before it; a payment is not a refund.
    ledger(&app.pool, tenants[0], "refund", -4900, -3).await;
    ledger(&app.pool, tenants[3], "refund", -14900, -12).await;
    ledger(&app.pool, tenants[3], "refund", -999, -40).await;
    ledger(&app.pool, tenants[0], "subscription_payment", 4900, -3).await;

    let staff = staff(&app).await;
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let v = post_json(&app, &staff, "/api/admin/revenue", &[("days", "90")]).await;
    let today_after = Utc::now().format("%Y-%m-%d").to_string();

    // Paying now: 0, 1, 2 ($49 + $149 + $499) and 9 (no plan).
    assert_eq!(cents(&v["mrr"]), 69_700);
    assert_eq!(v["paying"], 4);
    assert_eq!(v["unpriced"], 1);
    // Paying 30 days ago: 0, 2, 3, 7, 11 ($49 + $499 + $149 + $49 + $149) and 9.
    assert_eq!(cents(&v["mrr_then"]), 89_500);
    assert_eq!(v["paying_then"], 6);
    assert_eq!(cents(&v["mrr_change"]), -19_800);
    close(&v["mrr_change_rate"], -19_800.0 / 89_500.0);
    // New: 1 and 10; churned: 3, 7, 10 and 11. The change is new less churned.
    assert_eq!(v["new_subscriptions"], 2);
    assert_eq!(cents(&v["new_mrr"]), 14_900 + 49_900);
    assert_eq!(v["churned"], 4);
    assert_eq!(cents(&v["churned_mrr"]), 14_900 + 4_900 + 49_900 + 14_900);
    assert_eq!(
        cents(&v["new_mrr"]) - cents(&v["churned_mrr"]),
        cents(&v["mrr_change"])
    );
    // Trials: 5 and 6 running; 1, 4 and 10 ended in the window, 1 and 10 went on paying.
    assert_eq!(v["trials_running"], 2);
    assert_eq!(v["trials_ended"], 3);
    assert_eq!(v["trials_converted"], 2);
    close(&v["conversion"], 2.0 / 3.0);
    // Refunds in the window.
    assert_eq!(cents(&v["refunds"]), 19_800);
    assert_eq!(v["refund_count"], 2);

    // By plan, every plan by price, then the unknown price.
    let plans: Vec<(Value, i64, i64, i64)> = v["by_plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["plan_id"].clone(),
                p["paying"].as_i64().unwrap(),
                p["trialing"].as_i64().unwrap(),
                p["mrr"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["cents"].as_i64().unwrap())
                    .sum(),
            )
        })
        .collect();
    assert_eq!(
        plans,
        [
            (Value::from("starter"), 1, 1, 4_900),
            (Value::from("growth"), 1, 1, 14_900),
            (Value::from("scale"), 1, 0, 49_900),
            (Value::Null, 1, 0, 0),
        ]
    );

    // The chart: 90 days, oldest first, ending now; 30 days back is MRR then.
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 90);
    assert!(
        days[89]["day"] == today || days[89]["day"] == today_after,
        "{}",
        days[89]
    );
    assert_eq!(days[89]["mrr"], 69_700);
    assert_eq!(days[89]["paying"], 4);
    assert_eq!(days[89]["trialing"], 2);
    assert_eq!(days[59]["mrr"], 89_500);
    // 60 days ago: 3 paid ($149) and 9 (no plan); 0 was in its trial.
    assert_eq!(days[29]["mrr"], 14_900);
    assert_eq!(days[29]["paying"], 2);
    assert_eq!(days[29]["trialing"], 1);
    // Any other span is 30 days.
    let v = post_json(&app, &staff, "/api/admin/revenue", &[("days", "7")]).await;
    assert_eq!(v["days"].as_array().unwrap().len(), 30);
    assert_eq!(cents(&v["mrr"]), 69_700);

    // The page shows the figures without JavaScript.
    let page = staff.get(app.url("/admin/revenue")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("$697"), "MRR on the page");
    assert!(html.contains("-$198"), "change on the page");
    assert!(html.contains("66.7%"), "conversion on the page");
    assert!(html.contains("Prices no plan has"));
}

#[sqlx::test]
async fn the_providers_page_counts_the_apps_own_calls_per_provider(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    // Through the state's registrar (the one the app uses): one answer, one refusal.
    app.state
        .registrar
        .check(&["revenue-test.com".into()])
        .await
        .unwrap();
    let too_many: Vec<String> = (0..51).map(|i| format!("n{i}.com")).collect();
    assert!(app.state.registrar.check(&too_many).await.is_err());
    // Payments report through the recording API.
    app.state.provider_stats.record(
        "payments:sandbox",
        std::time::Duration::from_millis(3),
        true,
    );

    let staff = staff(&app).await;
    let v = post_json(&app, &staff, "/api/admin/providers", &[]).await;
    assert_eq!(v["window_minutes"], 60);
    assert_eq!(v["minutes"].as_array().unwrap().len(), 60);
    let providers = v["providers"].as_array().unwrap();
    let find = |name: &str| {
        providers
            .iter()
            .find(|p| p["provider"] == name)
            .unwrap_or_else(|| panic!("{name} in {providers:?}"))
            .clone()
    };
    let registrar = find("registrar:sandbox");
    assert_eq!(registrar["calls"], 2);
    assert_eq!(registrar["errors"], 1);
    close(&registrar["error_rate"], 0.5);
    assert!(registrar["last_error"].is_string());
    assert!(registrar["p95_ms"].as_f64().unwrap() <= registrar["max_ms"].as_f64().unwrap());
    let payments = find("payments:sandbox");
    assert_eq!(
        (payments["calls"].as_u64(), payments["errors"].as_u64()),
        (Some(1), Some(0))
    );
    close(&payments["max_ms"], 3.0);
    // Listed before their first call.
    for p in ["dns:sandbox", "relay:sandbox"] {
        assert!(find(p)["calls"].is_u64());
    }

    let page = staff.get(app.url("/admin/providers")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("registrar:sandbox"));
    assert!(html.contains("Per process"));
}

#[sqlx::test]
async fn customers_and_visitors_get_neither_report(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_JOBS__WORKERS", "0")]).await;
    let customer = browser();
    assert!(
        app.signup_with(&customer, &Signup::valid("ann@acme.test"))
            .await
            .status()
            .is_success()
    );
    let visitor = browser();
    for path in ["/api/admin/revenue", "/api/admin/providers"] {
        let res = customer
            .post(app.url(path))
            .form(&[("days", "30")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "customer {path}");
        assert!(!res.text().await.unwrap().contains("mrr"));
        let res = visitor
            .post(app.url(path))
            .form(&[("days", "30")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "visitor {path}");
    }
    for path in ["/admin/revenue", "/admin/providers"] {
        let res = customer.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "customer {path}");
    }
}
