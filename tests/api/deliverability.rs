//! Deliverability over HTTP: known relay log records in, exact counts and rates out on the
//! workspace, domain and inbox pages (and their server functions); another workspace's ids;
//! scores whose reasons follow the records, and the at-risk mail sent once per drop;
//! blocklists answered by the app's own authoritative DNS (listed, delisted, over quota,
//! the automatic suspension, the relay's IPs); staff's ranking; sandbox sample traffic.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, browser, json as body_json, settings, spawn_on};
use crate::inboxes::{app_with, customer_with_domains, provision, worker};
use crate::kill_switch::staff;
use inboxgrove::domain::TenantId;
use inboxgrove::server::config::{BlocklistKind, BlocklistSettings};
use inboxgrove::server::services::deliverability::{blocklists, scores};

const HOOK_SECRET: &str = "kumo-hook-secret-for-tests";

async fn hook(app: &TestApp, records: &[Value]) -> Value {
    let res = reqwest::Client::new()
        .post(app.url("/webhooks/kumomta"))
        .bearer_auth(HOOK_SECRET)
        .json(&records)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn record(kind: &str, inbox: Uuid, from: &str, id: &str, rcpt: &str, days_ago: i64) -> Value {
    let at = Utc::now() - Duration::days(days_ago);
    json!({
        "type": kind, "id": id, "sender": from, "recipient": rcpt,
        "timestamp": at.timestamp(), "num_attempts": if kind == "TransientFailure" { 1 } else { 0 },
        "meta": { "x_inbox_id": inbox.to_string() },
    })
}

/// `n` records of `kind` from one inbox, `days_ago`.
fn many(kind: &str, inbox: Uuid, from: &str, tag: &str, n: usize, days_ago: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            record(
                kind,
                inbox,
                from,
                &format!("{tag}-{i}"),
                &format!("lead{i}@{tag}.example"),
                days_ago,
            )
        })
        .collect()
}

fn complaint(id: &str, message: &str, rcpt: &str) -> Value {
    json!({
        "type": "Feedback", "id": id, "sender": "fbl@isp.example",
        "timestamp": Utc::now().timestamp(), "meta": {},
        "feedback_report": {
            "original_mail_from": "x@y.z",
            "supplemental_trace": { "x_ig_msg": message, "recipient": rcpt },
        },
    })
}

/// A page as the server rendered it.
async fn html_of(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The text of the element marked `data-testid="{id}"` in server-rendered HTML (hydration
/// markers skipped).
fn shown(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("data-testid=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in the page"));
    let rest = &html[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let rest = rest.replace("<!---->", "").replace("<!>", "");
    rest[..rest.find('<').unwrap()].trim().to_string()
}

async fn view(
    app: &TestApp,
    client: &reqwest::Client,
    scope: &str,
    id: &str,
    days: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/deliverability"))
        .form(&[("scope", scope), ("id", id), ("days", days)])
        .send()
        .await
        .unwrap()
}

async fn totals(
    app: &TestApp,
    client: &reqwest::Client,
    scope: &str,
    id: &str,
    days: &str,
) -> Value {
    let res = view(app, client, scope, id, days).await;
    assert_eq!(res.status(), 200, "{scope} {id}");
    body_json(res).await
}

/// Two domains with one and two inboxes, live: (domain ids, [(inbox id, address)]).
async fn live_customer(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    names: &[&str],
) -> (Vec<Uuid>, Vec<(Uuid, String)>) {
    let domains = customer_with_domains(app, client, email, names).await;
    let res = provision(
        app,
        client,
        &domains,
        "1",
        "roles",
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(res.status(), 200);
    worker(app).run_until_idle().await.unwrap();
    let inboxes: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT i.id, i.address FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE d.id = ANY($1) ORDER BY d.name, i.address",
    )
    .bind(&domains)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    (domains, inboxes)
}

#[sqlx::test]
async fn known_records_give_exact_counts_and_rates_on_every_page(pool: PgPool) {
    let (app, _) = app_with(pool, &[]).await;
    let customer = browser();
    let (domains, inboxes) = live_customer(
        &app,
        &customer,
        "ann@acme.test",
        &["alpha-mail.com", "beta-mail.com"],
    )
    .await;
    let (a, a_addr) = inboxes[0].clone();
    let (b, b_addr) = inboxes[1].clone();

    // Inbox A today: 10 delivered, 2 hard bounces, 3 deferrals, one complaint about a delivered
    // message; 3 days ago: 5 delivered. Inbox B ten days ago: 4 delivered.
    let mut records = many("Delivery", a, &a_addr, "a-today", 10, 0);
    records.extend(many("Bounce", a, &a_addr, "a-bounce", 2, 0));
    records.extend(many("TransientFailure", a, &a_addr, "a-soft", 3, 0));
    records.extend(many("Delivery", a, &a_addr, "a-old", 5, 3));
    records.extend(many("Delivery", b, &b_addr, "b-older", 4, 10));
    records.push(complaint("fbl-1", "a-today-0", "lead0@a-today.example"));
    let done = hook(&app, &records).await;
    assert_eq!(done["counted"], 25);
    // KumoMTA retries the batch: nothing changes.
    let again = hook(&app, &records).await;
    assert_eq!(again["counted"], 0);

    let w7 = totals(&app, &customer, "workspace", "", "7").await;
    assert_eq!(w7["days"], 7);
    assert_eq!(w7["series"].as_array().unwrap().len(), 7);
    assert_eq!(
        w7["totals"],
        json!({"delivered": 15, "hard_bounces": 2, "soft_bounces": 3, "complaints": 1})
    );
    assert_eq!(
        w7["previous"]["delivered"], 4,
        "ten days ago is in the 7 days before"
    );
    let today = w7["series"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["day"], Utc::now().date_naive().to_string());
    assert_eq!(
        today["figures"],
        json!({"delivered": 10, "hard_bounces": 2, "soft_bounces": 3, "complaints": 1})
    );
    assert_eq!(w7["series"][3]["figures"]["delivered"], 5, "three days ago");

    let w30 = totals(&app, &customer, "workspace", "", "30").await;
    assert_eq!(w30["totals"]["delivered"], 19);
    let odd = totals(&app, &customer, "workspace", "", "1000000").await;
    assert_eq!(odd["days"], 30, "an odd period is the default");

    let d1 = totals(&app, &customer, "domain", &domains[0].to_string(), "7").await;
    assert_eq!(d1["totals"]["delivered"], 15);
    assert_eq!(d1["totals"]["hard_bounces"], 2);
    let d2 = totals(&app, &customer, "domain", &domains[1].to_string(), "30").await;
    assert_eq!(
        d2["totals"],
        json!({"delivered": 4, "hard_bounces": 0, "soft_bounces": 0, "complaints": 0})
    );
    let ia = totals(&app, &customer, "inbox", &a.to_string(), "7").await;
    assert_eq!(ia["totals"]["complaints"], 1);
    assert_eq!(ia["subject"]["Inbox"]["address"], a_addr);

    // The page itself, rendered on the server: the figures, the rates and the two charts.
    let html = html_of(&app, &customer, "/deliverability?days=7").await;
    assert_eq!(shown(&html, "value-sent"), "17");
    assert_eq!(shown(&html, "value-bounce-rate"), "11.76%", "2 of 17");
    assert_eq!(shown(&html, "value-complaint-rate"), "6.67%", "1 of 15");
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    assert!(html.contains("Messages per day, last 7 days"));
    assert!(
        html.contains("17 sent in the last 7 days"),
        "the chart's summary in words"
    );
    let inbox_page = customer
        .get(app.url(&format!("/deliverability/inboxes/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox_page.status(), 200);
}

#[sqlx::test]
async fn another_workspace_sees_none_of_it_and_its_ids_are_404(pool: PgPool) {
    let (app, _) = app_with(pool, &[]).await;
    let ann = browser();
    let (domains, inboxes) = live_customer(&app, &ann, "ann@acme.test", &["alpha-mail.com"]).await;
    let (a, a_addr) = inboxes[0].clone();
    hook(&app, &many("Delivery", a, &a_addr, "ann", 6, 0)).await;

    let bob = browser();
    live_customer(&app, &bob, "bob@other.test", &["bob-mail.com"]).await;
    for (scope, id) in [("domain", domains[0]), ("inbox", a)] {
        let res = view(&app, &bob, scope, &id.to_string(), "7").await;
        assert_eq!(res.status(), 404, "{scope}");
    }
    assert_eq!(
        view(&app, &bob, "domain", "not-a-uuid", "7").await.status(),
        404
    );
    assert_eq!(view(&app, &bob, "everything", "", "7").await.status(), 404);
    let page = html_of(
        &app,
        &bob,
        &format!("/deliverability/domains/{}", domains[0]),
    )
    .await;
    assert!(!page.contains("alpha-mail.com"));
    assert_eq!(
        totals(&app, &bob, "workspace", "", "7").await["totals"]["delivered"],
        0
    );
    // A visitor is refused; the check of another's domain is 404.
    assert_eq!(
        view(&app, &browser(), "workspace", "", "7").await.status(),
        401
    );
    let res = check_now(&app, &bob, domains[0]).await;
    assert_eq!(res.status(), 404);
    // Staff's ranking is for staff only.
    let res = bob
        .post(app.url("/api/admin/deliverability"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

async fn alert_mails(app: &TestApp) -> i64 {
    app.scalar("SELECT count(*) FROM mail_outbox WHERE subject LIKE 'Deliverability alert%'")
        .await
}

async fn inbox_score(app: &TestApp, id: Uuid) -> (i16, String, Value) {
    let (score, level, reasons): (i16, String, sqlx::types::Json<Value>) = sqlx::query_as(
        "SELECT score, level, reasons FROM health_scores WHERE subject_kind = 'inbox' AND subject_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (score, level, reasons.0)
}

#[sqlx::test]
async fn scores_follow_the_records_and_a_drop_mails_the_owner_once(pool: PgPool) {
    // The kill switch's bounce trigger stays out of the way of these rates.
    let (app, _) = app_with(pool, &[("INBOXGROVE_ABUSE__BOUNCE_RATE", "0.9")]).await;
    let customer = browser();
    let (_, inboxes) = live_customer(&app, &customer, "ann@acme.test", &["alpha-mail.com"]).await;
    let (a, a_addr) = inboxes[0].clone();
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM inboxes WHERE id = $1")
        .bind(a)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let tenant = TenantId(tenant);

    // The log batch queued a score job; running it scores the inbox from what it sent.
    hook(&app, &many("Delivery", a, &a_addr, "good", 100, 0)).await;
    worker(&app).run_until_idle().await.unwrap();
    let (score, level, reasons) = inbox_score(&app, a).await;
    assert!(score >= 80, "{score} {reasons}");
    assert_eq!(level, "good");
    assert!(
        reasons.to_string().contains("Bounce rate 0.00%"),
        "{reasons}"
    );
    assert_eq!(alert_mails(&app).await, 0);

    // Ten bounces over 110 (9.1 %) and a complaint: at risk, with the reasons, mailed once.
    hook(&app, &many("Bounce", a, &a_addr, "bad", 10, 0)).await;
    hook(&app, &[complaint("fbl-1", "good-0", "lead0@good.example")]).await;
    worker(&app).run_until_idle().await.unwrap();
    let (score, level, reasons) = inbox_score(&app, a).await;
    assert_eq!(level, "at_risk", "{score} {reasons}");
    let text = reasons.to_string();
    assert!(text.contains("Bounce rate 9.09%"), "{text}");
    assert!(text.contains("Spam complaint rate 1.00%"), "{text}");
    assert_eq!(alert_mails(&app).await, 1);
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM mail_outbox WHERE subject LIKE 'Deliverability alert%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        body.contains(&a_addr) && body.contains("What to do"),
        "{body}"
    );

    // Still at risk an hour later and after more records: no second mail.
    scores::compute(&app.state, tenant).await.unwrap();
    hook(&app, &many("Bounce", a, &a_addr, "worse", 5, 0)).await;
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(alert_mails(&app).await, 1);

    // It recovers (thousands delivered, the complaint rate falls), then drops again: mailed
    // again, once.
    hook(&app, &many("Delivery", a, &a_addr, "recovery", 3000, 0)).await;
    worker(&app).run_until_idle().await.unwrap();
    let (_, level, reasons) = inbox_score(&app, a).await;
    assert_ne!(level, "at_risk", "{reasons}");
    hook(&app, &many("Bounce", a, &a_addr, "relapse", 400, 0)).await;
    let complaints: Vec<Value> = (1..=10)
        .map(|i| {
            complaint(
                &format!("fbl-r{i}"),
                &format!("recovery-{i}"),
                &format!("lead{i}@recovery.example"),
            )
        })
        .collect();
    hook(&app, &complaints).await;
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(inbox_score(&app, a).await.1, "at_risk");
    assert_eq!(alert_mails(&app).await, 2);
}

fn list(
    name: &str,
    zone: &str,
    kind: BlocklistKind,
    listed: &str,
    errors: &[&str],
) -> BlocklistSettings {
    BlocklistSettings {
        name: name.into(),
        zone: zone.into(),
        kind,
        listed: vec![listed.into()],
        errors: errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// The app with test lists (served by its own sandbox DNS), the relay IP 203.0.113.7.
async fn blocklist_app(pool: PgPool, suspend: bool, check_now_min_secs: i64) -> TestApp {
    inboxgrove::server::startup::migrate(&pool).await.unwrap();
    let dir = std::env::temp_dir().join(format!("ig-bl-{}", Uuid::new_v4().simple()));
    let dir = dir.to_string_lossy().into_owned();
    let mut s = settings(&[
        ("INBOXGROVE_JOBS__WORKERS", "0"),
        ("INBOXGROVE_RELAY__POLICY_DIR", dir.as_str()),
        ("KUMOMTA_WEBHOOK_SECRET", HOOK_SECRET),
    ]);
    s.deliverability.blocklists = vec![
        list(
            "Test DBL",
            "dbl.bl.test",
            BlocklistKind::Domain,
            "127.0.1.0/24",
            &["127.255.255.0/24"],
        ),
        list(
            "Quota List",
            "quota.bl.test",
            BlocklistKind::Domain,
            "127.0.0.2",
            &["127.255.255.254"],
        ),
        list(
            "Test ZEN",
            "zen.bl.test",
            BlocklistKind::Ip,
            "127.0.0.2",
            &[],
        ),
    ];
    s.deliverability.suspend_on_listing = suspend;
    s.deliverability.check_now_min_secs = check_now_min_secs;
    s.dns.relay_ips = vec!["203.0.113.7".parse().unwrap()];
    spawn_on(pool, s).await
}

/// Serves `name` A `answer` from the app's sandbox DNS (as the list's nameserver would).
async fn serve(app: &TestApp, zone: &str, name: &str, answer: &str) {
    sqlx::query(
        "INSERT INTO sandbox_dns_zones (id, name, nameservers) VALUES ($1, $2, '{}')
         ON CONFLICT DO NOTHING",
    )
    .bind(format!("z-{zone}"))
    .bind(zone)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sandbox_dns_records (id, zone_id, kind, name, content) VALUES ($1, $2, 'A', $3, $4)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(format!("z-{zone}"))
    .bind(name)
    .bind(answer)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// "Check now" on a domain's deliverability page.
async fn check_now(app: &TestApp, client: &reqwest::Client, domain: Uuid) -> reqwest::Response {
    client
        .post(app.url("/api/deliverability/check-blocklists"))
        .form(&[("id", domain.to_string())])
        .send()
        .await
        .unwrap()
}

/// A live customer whose one domain, listed-mail.com, the test list DBL answers `answer` for.
async fn listed_customer(app: &TestApp, answer: &str) -> (reqwest::Client, Uuid) {
    let customer = browser();
    let (domains, _) = live_customer(app, &customer, "ann@acme.test", &["listed-mail.com"]).await;
    serve(app, "dbl.bl.test", "listed-mail.com.dbl.bl.test", answer).await;
    (customer, domains[0])
}

async fn domain_check(app: &TestApp, name: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT blocklist_status, blocklist_note FROM domains WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn open_listings(app: &TestApp, subject: &str) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM blocklist_listings WHERE subject = '{subject}' AND cleared_at IS NULL"
    ))
    .await
}

#[sqlx::test]
async fn listed_delisted_and_over_quota_answers_are_told_apart(pool: PgPool) {
    let app = blocklist_app(pool, false, 0).await;
    let customer = browser();
    let (domains, inboxes) = live_customer(
        &app,
        &customer,
        "ann@acme.test",
        &["listed-mail.com", "quota-mail.com"],
    )
    .await;
    // Each domain was looked up once as it became active (nothing listed then).
    assert_eq!(domain_check(&app, "listed-mail.com").await.0, "clean");
    serve(
        &app,
        "dbl.bl.test",
        "listed-mail.com.dbl.bl.test",
        "127.0.1.2",
    )
    .await;
    serve(
        &app,
        "quota.bl.test",
        "quota-mail.com.quota.bl.test",
        "127.255.255.254",
    )
    .await;
    serve(&app, "zen.bl.test", "7.113.0.203.zen.bl.test", "127.0.0.2").await;

    assert_eq!(
        blocklists::scan(&app.state).await.unwrap(),
        3,
        "two domains, one IP"
    );
    assert_eq!(domain_check(&app, "listed-mail.com").await.0, "listed");
    let (status, note) = domain_check(&app, "quota-mail.com").await;
    assert_eq!(status, "unknown", "an over-quota answer is not a listing");
    assert!(note.unwrap().contains("over quota"));
    assert_eq!(open_listings(&app, "quota-mail.com").await, 0);
    assert_eq!(open_listings(&app, "listed-mail.com").await, 1);
    assert_eq!(open_listings(&app, "203.0.113.7").await, 1);

    // The owner is mailed once about the listing; a second scan changes nothing.
    let listing_mails =
        "SELECT count(*) FROM mail_outbox WHERE subject = 'listed-mail.com is on a blocklist'";
    assert_eq!(app.scalar(listing_mails).await, 1);
    blocklists::scan(&app.state).await.unwrap();
    assert_eq!(app.scalar(listing_mails).await, 1);
    assert_eq!(open_listings(&app, "listed-mail.com").await, 1);

    // It shows on the domain page, on its deliverability page and in its score.
    worker(&app).run_until_idle().await.unwrap();
    let page = html_of(&app, &customer, &format!("/domains/{}", domains[0])).await;
    assert!(
        page.contains("Listed on Test DBL (dbl.bl.test)"),
        "domain page"
    );
    let d = totals(&app, &customer, "domain", &domains[0].to_string(), "7").await;
    let reasons = d["health"]["reasons"].to_string();
    assert!(reasons.contains("listed on Test DBL"), "{reasons}");
    assert!(reasons.contains("203.0.113.7 is on Test ZEN"), "{reasons}");
    assert!(d["listings"].as_array().unwrap().len() >= 2);
    let other = totals(&app, &customer, "domain", &domains[1].to_string(), "7").await;
    assert!(!other["health"]["reasons"].to_string().contains("Test DBL"));

    // Delisted: noticed and cleared, on the next scan and by "check now".
    sqlx::query("DELETE FROM sandbox_dns_records WHERE name = 'listed-mail.com.dbl.bl.test'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = check_now(&app, &customer, domains[0]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body_json(res).await["status"], "clean");
    assert_eq!(open_listings(&app, "listed-mail.com").await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM blocklist_listings WHERE subject = 'listed-mail.com' AND cleared_at IS NOT NULL").await,
        1
    );
    // Nobody was suspended: the settings do not say so.
    assert_eq!(app.scalar("SELECT count(*) FROM suspensions").await, 0);

    // Staff see the listed IP and the tenant's rates.
    let (a, a_addr) = inboxes[0].clone();
    hook(&app, &many("Delivery", a, &a_addr, "s", 9, 0)).await;
    hook(&app, &many("Bounce", a, &a_addr, "sb", 1, 0)).await;
    let staff = staff(&app).await;
    let res = staff
        .post(app.url("/api/admin/deliverability"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let s = body_json(res).await;
    assert_eq!(s["last_24h"][0]["figures"]["hard_bounces"], 1);
    assert_eq!(s["last_7d"][0]["figures"]["delivered"], 9);
    assert!(s["listings"].to_string().contains("203.0.113.7"));
    let html = html_of(&app, &staff, "/admin/deliverability").await;
    assert!(
        html.contains("Worst senders, last 24 hours") && html.contains("10.00%"),
        "1 of 10 bounced"
    );
}

#[sqlx::test]
async fn a_listing_suspends_the_tenant_when_the_settings_say_so(pool: PgPool) {
    let app = blocklist_app(pool, true, 0).await;
    let (customer, domain) = listed_customer(&app, "127.0.1.9").await;
    let res = check_now(&app, &customer, domain).await;
    assert_eq!(res.status(), 200);
    let (actor, reason): (String, String) =
        sqlx::query_as("SELECT actor, reason FROM suspensions WHERE lifted_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(actor.starts_with("system"), "{actor}");
    assert!(
        reason.contains("listed-mail.com is listed on Test DBL"),
        "{reason}"
    );
    // The suspended customer is refused from now on.
    let res = view(&app, &customer, "workspace", "", "7").await;
    assert_eq!(res.status(), 403);
}

#[sqlx::test]
async fn the_sandbox_relay_reports_marked_sample_traffic_once(pool: PgPool) {
    let (app, _) = app_with(
        pool,
        &[("INBOXGROVE_DELIVERABILITY__SANDBOX_TRAFFIC", "true")],
    )
    .await;
    let customer = browser();
    live_customer(&app, &customer, "ann@acme.test", &["alpha-mail.com"]).await;
    let w = totals(&app, &customer, "workspace", "", "30").await;
    let delivered = w["totals"]["delivered"].as_i64().unwrap();
    assert!(delivered >= 4 * 7, "a week of sample sending: {w}");
    assert!(w["sandbox_records"].as_i64().unwrap() > delivered);
    assert_eq!(
        w["totals"]["complaints"], 1,
        "one sample complaint per tenant"
    );
    let html = html_of(&app, &customer, "/deliverability").await;
    assert!(html.contains("data-testid=\"sandbox-data\""));
    // Reported again (a republish): the same records, counted once.
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM inboxes")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM inboxes LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let again = inboxgrove::server::services::deliverability::sandbox::report(
        &app.state,
        TenantId(tenant),
        &ids,
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
    let w2 = totals(&app, &customer, "workspace", "", "30").await;
    assert_eq!(w2["totals"]["delivered"].as_i64().unwrap(), delivered);
}

#[sqlx::test]
async fn check_now_asks_the_lists_at_most_once_a_minute_per_domain(pool: PgPool) {
    let app = blocklist_app(pool, false, 60).await;
    // Looked up as it became active; listed a moment later.
    let (customer, domain) = listed_customer(&app, "127.0.1.2").await;
    let check = || async {
        let res = check_now(&app, &customer, domain).await;
        assert_eq!(res.status(), 200);
        body_json(res).await["status"].clone()
    };
    // Within the minute: the last result, the lists not asked again.
    assert_eq!(check().await, "clean");
    assert_eq!(open_listings(&app, "listed-mail.com").await, 0);
    // The schedule is not throttled.
    blocklists::scan(&app.state).await.unwrap();
    assert_eq!(open_listings(&app, "listed-mail.com").await, 1);
    assert_eq!(check().await, "listed");
}
