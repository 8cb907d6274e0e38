//! The kill switch: staff suspend a tenant → every customer route and server function (taken
//! from the app's own route lists, not hand-picked) answers 403 with the notice, the fake
//! KumoMTA gets the tenant-scoped hold, the published logins are withdrawn, the tenant's jobs
//! wait (not fail); resume reverses each of these. Only staff can do it.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, browser, spawn_app_with};
use crate::inboxes::{customer_with_domains, provision, worker};
use inboxgrove::server::seed;

const HOLD_ID: &str = "9511a32e-66f8-42aa-b151-ccb176df47d9";

async fn kumod() -> MockServer {
    let kumo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/admin/bump-config-epoch"))
        .respond_with(ResponseTemplate::new(200).set_body_string("bump successful"))
        .mount(&kumo)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/suspend/v1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "id": HOLD_ID })),
        )
        .mount(&kumo)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/admin/suspend/v1"))
        .and(body_partial_json(serde_json::json!({ "id": HOLD_ID })))
        .respond_with(ResponseTemplate::new(200))
        .mount(&kumo)
        .await;
    kumo
}

/// Every customer-facing path of the app: its page routes (parameters filled in) and its
/// server functions. Public pages are the only ones left out.
fn customer_routes() -> (Vec<String>, Vec<String>) {
    use inboxgrove::routes::{Access, PAGES};
    let open_page = |p: &str| {
        PAGES
            .iter()
            .any(|pg| pg.path == p && matches!(pg.access, Access::Public | Access::SignedIn))
    };
    let pages = leptos_axum::generate_route_list(inboxgrove::app::App)
        .into_iter()
        .map(|r| {
            r.path()
                .split('/')
                .map(|seg| {
                    if seg.starts_with(':') || seg.starts_with('{') {
                        Uuid::new_v4().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .map(|p| if p.is_empty() { "/".to_string() } else { p })
        .filter(|p| !open_page(p))
        // Staff pages are not the tenant's (a customer gets 404 there, suspended or not).
        .filter(|p| !p.starts_with("/admin"))
        .collect();
    let open = ["/api/auth/", "/api/plans", "/api/staff/", "/api/admin/"];
    let functions = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| !open.iter().any(|o| p.starts_with(o)))
        .collect();
    (pages, functions)
}

async fn statuses(app: &TestApp, client: &reqwest::Client) -> Vec<(String, u16)> {
    let (pages, functions) = customer_routes();
    let mut out = Vec::new();
    for p in pages {
        let res = client.get(app.url(&p)).send().await.unwrap();
        out.push((p, res.status().as_u16()));
    }
    for f in functions {
        let res = client
            .post(app.url(&f))
            .form(&[("id", Uuid::new_v4().to_string())])
            .send()
            .await
            .unwrap();
        out.push((f, res.status().as_u16()));
    }
    out
}

pub(crate) async fn staff(app: &TestApp) -> reqwest::Client {
    seed::seed_demo(&app.state).await.unwrap();
    let client = browser();
    let res = app
        .login_with(&client, seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    client
}

pub(crate) async fn admin(
    app: &TestApp,
    client: &reqwest::Client,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/admin/tenants/{action}")))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn suspend_blocks_every_customer_route_reaches_the_relay_and_parks_jobs_and_resume_undoes_it(
    pool: PgPool,
) {
    let kumo = kumod().await;
    let url = kumo.uri();
    let dir = std::env::temp_dir().join(format!("ig-kill-{}", Uuid::new_v4().simple()));
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
    // A customer with an active domain and three inboxes.
    let customer = browser();
    let domain =
        customer_with_domains(&app, &customer, "ann@acme.test", &["kill-switch.com"]).await[0];
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM domains WHERE id = $1")
        .bind(domain)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = provision(&app, &customer, &[domain], "3", "roles", "kill-switch-0001").await;
    assert_eq!(res.status(), 200);
    let before = statuses(&app, &customer).await;
    // (Leaving is refused to the last owner, suspended or not.)
    assert!(
        before
            .iter()
            .all(|(r, s)| *s != 403 || r == "/api/team/leave"),
        "{before:?}"
    );
    // The lists really are the app's: pages and server functions of every area.
    for expected in [
        "/dashboard",
        "/inboxes/new",
        "/api/inboxes/provision",
        "/api/domains/buy",
        "/api/billing",
    ] {
        assert!(
            before.iter().any(|(r, _)| r == expected),
            "{expected} missing from {before:?}"
        );
    }

    // Only staff: a customer gets 404, a visitor 401, and nothing changes.
    let form = [
        ("tenant", tenant.to_string()),
        ("category", "abuse".into()),
        ("reason", "spam complaints".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(admin(&app, &customer, "suspend", &form).await.status(), 404);
    assert_eq!(
        admin(&app, &browser(), "suspend", &form).await.status(),
        401
    );
    assert_eq!(app.scalar("SELECT count(*) FROM suspensions").await, 0);
    let staff = staff(&app).await;
    assert_eq!(
        admin(
            &app,
            &staff,
            "suspend",
            &[
                ("tenant", &tenant.to_string()),
                ("category", "abuse"),
                ("reason", " ")
            ]
        )
        .await
        .status(),
        422
    );

    // A job of the tenant's waiting to run.
    let job = Uuid::new_v4();
    sqlx::query("INSERT INTO jobs (id, kind, payload, tenant_id, max_attempts) VALUES ($1, 'domain_dns_check', $2, $3, 3)")
        .bind(job)
        .bind(serde_json::json!({ "tenant_id": tenant, "domain_id": domain }))
        .bind(tenant)
        .execute(&app.pool)
        .await
        .unwrap();

    let res = admin(&app, &staff, "suspend", &form).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), true);

    // Every customer route answers 403, and the pages carry the notice.
    for (route, status) in statuses(&app, &customer).await {
        assert_eq!(status, 403, "{route}");
    }
    let page = customer
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"suspension-notice\"") && page.contains("suspended (abuse)"),
        "{page}"
    );
    assert!(page.contains("support@inboxgrove.com"));
    let api = customer
        .post(app.url("/api/dashboard"))
        .send()
        .await
        .unwrap();
    assert!(api.text().await.unwrap().contains("suspended (abuse)"));

    // The relay: a hold scoped to the tenant, and its logins withdrawn from the published data.
    let requests = kumo.received_requests().await.unwrap();
    let holds: Vec<Value> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/admin/suspend/v1")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["tenant"], tenant.to_string());
    let auth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("tenants/{tenant}/auth.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(auth["status"], "suspended");
    let listener =
        std::fs::read_to_string(dir.join(format!("tenants/{tenant}/listener_domains.toml")))
            .unwrap();
    assert!(!listener.contains("@kill-switch.com"), "{listener}");

    // The tenant's job is skipped and stays pending, its attempt not counted.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE id = $1")
        .bind(job)
        .execute(&app.pool)
        .await
        .unwrap();
    worker(&app).run_until_idle().await.unwrap();
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempts, last_error FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 0));
    assert!(error.unwrap().contains("suspended"));

    // Resume reverses each effect.
    let res = admin(
        &app,
        &staff,
        "resume",
        &[
            ("tenant", &tenant.to_string()),
            ("reason", "customer cleaned up"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let after = statuses(&app, &customer).await;
    assert!(
        after
            .iter()
            .all(|(r, s)| *s != 403 || r == "/api/team/leave"),
        "{after:?}"
    );
    let released = kumo
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "DELETE" && r.url.path() == "/api/admin/suspend/v1")
        .count();
    assert_eq!(released, 1);
    let auth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("tenants/{tenant}/auth.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(auth["status"], "active");
    let listener =
        std::fs::read_to_string(dir.join(format!("tenants/{tenant}/listener_domains.toml")))
            .unwrap();
    assert!(listener.contains("sales@kill-switch.com"), "{listener}");
    sqlx::query("UPDATE jobs SET run_at = now() WHERE id = $1")
        .bind(job)
        .execute(&app.pool)
        .await
        .unwrap();
    worker(&app).run_until_idle().await.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "done");

    // Kept with actor, reason and times, and audited once each.
    let (actor, reason, lifted_by): (String, String, Option<String>) =
        sqlx::query_as("SELECT actor, reason, lifted_by FROM suspensions WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor, "staff:staff@inboxgrove.test");
    assert_eq!(reason, "spam complaints");
    assert_eq!(lifted_by.as_deref(), Some("staff:staff@inboxgrove.test"));
    for action in ["tenant.suspend", "tenant.resume"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT count(*) FROM audit_log WHERE action = '{action}' AND actor_kind = 'staff'"
            ))
            .await,
            1,
            "{action}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Genuine complaints: for each n, the relay's Delivery record of message `msg-n` to
/// `user<n>@…` from the inbox, then a feedback report whose trace names that message.
async fn complaints(app: &TestApp, inbox: Uuid, from: usize, to: usize) -> reqwest::Response {
    let now = chrono::Utc::now().timestamp();
    let mut records: Vec<Value> = Vec::new();
    for n in from..to {
        records.push(serde_json::json!({
            "type": "Delivery",
            "id": format!("msg-{n}"),
            "sender": "sales@trigger.com",
            "recipient": format!("user{n}@isp.example.net"),
            "timestamp": now,
            "meta": { "x_inbox_id": inbox.to_string() },
        }));
        records.push(feedback(
            &format!("complaint-{n}"),
            serde_json::json!({
                "x_inbox_id": inbox.to_string(),
                "x_ig_msg": format!("msg-{n}"),
                "recipient": format!("user{n}@isp.example.net"),
            }),
        ));
    }
    hook(app, &records).await
}

fn feedback(id: &str, trace: Value) -> Value {
    serde_json::json!({
        "type": "Feedback",
        "id": id,
        "sender": "fbl@isp.example.net",
        "recipient": "fbl@fbl.inboxgrove.example",
        "timestamp": chrono::Utc::now().timestamp(),
        "meta": {},
        "feedback_report": {
            "feedback_type": "abuse",
            "original_mail_from": "<sales@trigger.com>",
            "original_rcpto_to": [format!("<{}>", trace["recipient"].as_str().unwrap_or("x@y.z"))],
            "supplemental_trace": trace
        }
    })
}

async fn hook(app: &TestApp, records: &[Value]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/webhooks/kumomta"))
        .bearer_auth("kill-switch-hook")
        .json(&records)
        .send()
        .await
        .unwrap()
}

/// The status of the customer's dashboard.
async fn dashboard(app: &TestApp, customer: &reqwest::Client) -> u16 {
    let res = customer.get(app.url("/dashboard")).send().await.unwrap();
    res.status().as_u16()
}

#[sqlx::test]
async fn ten_complaints_in_24_hours_suspend_once_and_nine_do_not(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("KUMOMTA_WEBHOOK_SECRET", "kill-switch-hook"),
        ],
    )
    .await;
    let customer = browser();
    let domains = customer_with_domains(&app, &customer, "ann@acme.test", &["trigger.com"]).await;
    let res = provision(&app, &customer, &domains, "1", "roles", "trigger-00001").await;
    assert_eq!(res.status(), 200);
    let inbox: Uuid = sqlx::query_scalar("SELECT id FROM inboxes")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // 9 complaints: below the threshold, nothing happens.
    assert_eq!(complaints(&app, inbox, 0, 9).await.status(), 200);
    assert_eq!(app.scalar("SELECT count(*) FROM suspensions").await, 0);
    assert_eq!(dashboard(&app, &customer).await, 200);
    // The 10th: exactly at the threshold, one suspension by the system.
    let tenth = complaints(&app, inbox, 9, 10).await;
    assert_eq!(tenth.status(), 200);
    assert_eq!(tenth.json::<Value>().await.unwrap()["suspended"], 1);
    let (category, actor, reason): (String, String, String) =
        sqlx::query_as("SELECT category, actor, reason FROM suspensions")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (category.as_str(), actor.as_str()),
        ("abuse", "system:abuse trigger")
    );
    assert_eq!(reason, "10 spam complaints in 24 h (the limit is 10)");
    assert_eq!(dashboard(&app, &customer).await, 403);
    // The 11th: still one.
    assert_eq!(complaints(&app, inbox, 10, 11).await.status(), 200);
    assert_eq!(app.scalar("SELECT count(*) FROM suspensions").await, 1);
    assert_eq!(app.scalar("SELECT count(*) FROM audit_log WHERE action = 'tenant.suspend' AND actor_kind = 'system'").await, 1);
}

/// Anyone who received a tenant's mail can mail forged feedback reports naming its inbox:
/// they are kept for staff but never count. Reports about a real message count once per
/// message, however often it is reported.
#[sqlx::test]
async fn forged_or_repeated_complaints_never_suspend_and_staff_see_them(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("KUMOMTA_WEBHOOK_SECRET", "kill-switch-hook"),
        ],
    )
    .await;
    let customer = browser();
    let domains = customer_with_domains(&app, &customer, "ann@acme.test", &["forged.com"]).await;
    assert_eq!(
        provision(&app, &customer, &domains, "1", "roles", "forged-00001")
            .await
            .status(),
        200
    );
    let (inbox, tenant): (Uuid, Uuid) = sqlx::query_as("SELECT id, tenant_id FROM inboxes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // One genuine delivery the attacker received (so it knows a real trace).
    let delivered = serde_json::json!({
        "type": "Delivery", "id": "real-1", "sender": "admin@forged.com",
        "recipient": "attacker@evil.example", "timestamp": chrono::Utc::now().timestamp(),
        "meta": { "x_inbox_id": inbox.to_string() },
    });
    assert_eq!(hook(&app, &[delivered]).await.status(), 200);

    // Ten forged reports: the inbox id only; a made-up message id; a real message id with
    // someone else as recipient.
    let mut forged: Vec<Value> = (0..4)
        .map(|n| feedback(&format!("forged-a{n}"), serde_json::json!({ "x_inbox_id": inbox.to_string(), "recipient": format!("v{n}@isp.example.net") })))
        .collect();
    forged.extend((0..3).map(|n| {
        feedback(&format!("forged-b{n}"), serde_json::json!({ "x_inbox_id": inbox.to_string(), "x_ig_msg": format!("made-up-{n}"), "recipient": "attacker@evil.example" }))
    }));
    forged.extend((0..3).map(|n| {
        feedback(&format!("forged-c{n}"), serde_json::json!({ "x_inbox_id": inbox.to_string(), "x_ig_msg": "real-1", "recipient": format!("victim{n}@isp.example.net") }))
    }));
    let res = hook(&app, &forged).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (
            body["counted"].as_u64(),
            body["unmatched"].as_u64(),
            body["suspended"].as_u64()
        ),
        (Some(0), Some(10), Some(0)),
        "{body}"
    );

    // The one real message reported ten times (and the batch replayed): counts once.
    let repeated: Vec<Value> = (0..10)
        .map(|n| feedback(&format!("repeat-{n}"), serde_json::json!({ "x_inbox_id": inbox.to_string(), "x_ig_msg": "real-1", "recipient": "Attacker@Evil.example" })))
        .collect();
    assert_eq!(hook(&app, &repeated).await.status(), 200);
    assert_eq!(hook(&app, &repeated).await.status(), 200);
    assert_eq!(app.scalar("SELECT count(*) FROM suspensions").await, 0);
    assert_eq!(
        app.scalar(
            "SELECT COALESCE(sum(count), 0)::bigint FROM delivery_counts WHERE kind = 'Feedback'"
        )
        .await,
        1
    );
    assert_eq!(dashboard(&app, &customer).await, 200);

    // Every report is kept once (replays are not), under the tenant it names.
    assert_eq!(app.scalar("SELECT count(*) FROM complaints").await, 20);
    assert_eq!(
        app.scalar("SELECT count(*) FROM complaints WHERE counted")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM complaints WHERE refused = 'unmatched'")
            .await,
        10
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM complaints WHERE refused = 'repeat'")
            .await,
        9
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM complaints WHERE tenant_id = '{tenant}'"
        ))
        .await,
        20
    );
    // Staff see them on the tenant page.
    let staff = staff(&app).await;
    let d: Value = staff
        .post(app.url("/api/admin/tenant"))
        .form(&[("tenant", tenant.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = d["complaints"].as_array().unwrap();
    assert_eq!(shown.len(), 20, "{d}");
    assert_eq!(shown.iter().filter(|c| c["counted"] == true).count(), 1);
    assert!(
        shown
            .iter()
            .any(|c| c["note"].as_str().unwrap_or("").contains("no message")),
        "{shown:?}"
    );
}
