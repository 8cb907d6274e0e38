//! The magic button over HTTP: a bought domain made active by the real saga (sandbox
//! providers), then batches of inboxes — atomic, idempotent, within the plan, encrypted —
//! their exports, the relay files (sandbox, and the real KumoMTA client against a wiremock
//! kumod), the pending-relay retry, the delivery-log ingest and tenant isolation.

use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashSet;
use uuid::Uuid;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Signup, TestApp, browser, json, pay, spawn_app_with};
use inboxgrove::server::jobs::Worker;
use inboxgrove::server::services::inboxes::relay_hash;
use inboxgrove::server::startup;

const HOOK_SECRET: &str = "kumo-hook-secret-for-tests";

fn temp_dir() -> String {
    let dir = std::env::temp_dir().join(format!("ig-relay-{}", Uuid::new_v4().simple()));
    dir.to_string_lossy().into_owned()
}

/// The app without background workers, its relay files in a fresh directory.
pub async fn app_with(pool: PgPool, extra: &[(&str, &str)]) -> (TestApp, String) {
    let dir = temp_dir();
    let mut vars = vec![
        ("INBOXGROVE_JOBS__WORKERS", "0"),
        ("INBOXGROVE_RELAY__POLICY_DIR", dir.as_str()),
        ("KUMOMTA_WEBHOOK_SECRET", HOOK_SECRET),
    ];
    vars.extend_from_slice(extra);
    (spawn_app_with(pool, &vars).await, dir)
}

pub fn worker(app: &TestApp) -> Worker<inboxgrove::server::state::AppState> {
    Worker::new(
        app.state.clone(),
        startup::app_registry(&app.state.settings),
    )
}

/// Signs up, buys `names` through the sandbox Checkout and runs the sagas to `active`.
pub async fn customer_with_domains(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    names: &[&str],
) -> Vec<Uuid> {
    let res = app.signup_with(client, &Signup::valid(email)).await;
    assert!(res.status().is_success(), "{}", res.status());
    let mut ids = Vec::new();
    for name in names {
        let res = client
            .post(app.url("/api/domains/buy"))
            .header("accept", "text/html")
            .form(&[("name", *name)])
            .send()
            .await
            .unwrap();
        let url = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(pay(app, &url, "4242424242424242").await.status(), 303);
        worker(app).run_until_idle().await.unwrap();
        let (id, status): (Uuid, String) =
            sqlx::query_as("SELECT id, status FROM domains WHERE name = $1")
                .bind(name)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(status, "active", "{name}");
        ids.push(id);
    }
    ids
}

pub async fn provision(
    app: &TestApp,
    client: &reqwest::Client,
    domains: &[Uuid],
    per_domain: &str,
    convention: &str,
    key: &str,
) -> reqwest::Response {
    let domains = domains
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    client
        .post(app.url("/api/inboxes/provision"))
        .form(&[
            ("domains", domains.as_str()),
            ("per_domain", per_domain),
            ("convention", convention),
            ("personas", ""),
            ("display", "full"),
            ("company", ""),
            ("idempotency_key", key),
        ])
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

async fn tenant_of(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn inbox_id(app: &TestApp, address: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM inboxes WHERE address = $1")
        .bind(address)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// "Reveal password": the password shown.
pub async fn reveal(app: &TestApp, client: &reqwest::Client, id: Uuid) -> String {
    let shown = json(
        client
            .post(app.url("/api/inboxes/reveal"))
            .form(&[("id", id.to_string())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    shown.as_str().unwrap().to_string()
}

async fn list(
    app: &TestApp,
    client: &reqwest::Client,
    domain: &str,
    status: &str,
    page: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/inboxes"))
        .form(&[
            ("domain", domain),
            ("status", status),
            ("batch", ""),
            ("page", page),
        ])
        .send()
        .await
        .unwrap()
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn export(app: &TestApp, client: &reqwest::Client, query: &str) -> reqwest::Response {
    client
        .get(app.url(&format!("/inboxes/export?{query}")))
        .send()
        .await
        .unwrap()
}

fn parse_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[sqlx::test]
async fn fifty_inboxes_in_one_batch_sealed_published_and_a_double_submit_makes_one_batch(
    pool: PgPool,
) {
    let (app, dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-one.com"]).await;
    let tenant = tenant_of(&app, "ann@acme.test").await;

    let wizard = json(
        client
            .post(app.url("/api/inboxes/wizard"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wizard["domains"][0]["name"], "magic-one.com");
    assert_eq!(
        (wizard["used"].as_i64(), wizard["limit"].as_i64()),
        (Some(0), Some(50))
    );

    let res = provision(
        &app,
        &client,
        &domains,
        "50",
        "first.last",
        "key-aaaaaaaa-1",
    )
    .await;
    assert_eq!(res.status(), 200);
    let done = json(res).await;
    assert_eq!(
        (done["count"].as_u64(), done["existing"].as_bool()),
        (Some(50), Some(false))
    );

    // All 50 exist, unique, published at once (the sandbox relay took them inline) but not
    // live until the mail store accepted each login (the inbox_login_check job).
    assert_eq!(
        count(&app, "SELECT count(*) FROM inboxes WHERE status = 'pending_relay' AND published_at IS NOT NULL").await,
        50
    );
    assert_eq!(
        worker(&app).run_until_idle().await.unwrap(),
        1,
        "one check for the batch"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM inboxes WHERE status = 'active' AND login_checked_at IS NOT NULL"
        )
        .await,
        50
    );
    assert_eq!(
        count(&app, "SELECT count(DISTINCT address) FROM inboxes").await,
        50
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM inboxes WHERE warmup_started_at IS NULL"
        )
        .await,
        0
    );
    // The stored password is sealed: not the plaintext, and the plaintext is nowhere in it.
    let (id, sealed): (Uuid, Vec<u8>) = sqlx::query_as(
        "SELECT id, password_sealed FROM inboxes WHERE address = 'james.smith@magic-one.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let password = reveal(&app, &client, id).await;
    assert!(password.len() >= 20 && password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        !sealed
            .windows(password.len())
            .any(|w| w == password.as_bytes())
    );
    assert!(sealed.len() > password.len());

    // The relay's auth data verifies exactly this password (salted SHA-256).
    let auth = read_json(&format!("{dir}/tenants/{tenant}/auth.json"));
    assert_eq!(auth["status"], "active");
    assert_eq!(auth["users"].as_object().unwrap().len(), 50);
    let user = &auth["users"]["james.smith@magic-one.com"];
    assert_eq!(user["inbox_id"], id.to_string());
    assert_eq!(
        user["sha256"].as_str().unwrap(),
        relay_hash(user["salt"].as_str().unwrap(), &password)
    );
    assert!(
        !std::fs::read_to_string(format!("{dir}/tenants/{tenant}/auth.json"))
            .unwrap()
            .contains(&password)
    );

    // The same key again (a double click) gives the first batch back and creates nothing.
    let again = json(
        provision(
            &app,
            &client,
            &domains,
            "50",
            "first.last",
            "key-aaaaaaaa-1",
        )
        .await,
    )
    .await;
    assert_eq!(again["batch_id"], done["batch_id"]);
    assert_eq!(again["existing"], true);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 50);
    assert_eq!(count(&app, "SELECT count(*) FROM inbox_batches").await, 1);
    // Audited: one batch, one reveal, the secret masked.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'inboxes.provision'"
        )
        .await,
        1
    );
    let reveal: Value =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'inbox.reveal_credentials'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reveal["password"], "********");
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test]
async fn two_concurrent_submits_with_one_key_make_one_batch(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-race.com"]).await;
    let (a, b) = tokio::join!(
        provision(&app, &client, &domains, "25", "first.last", "key-race-0001"),
        provision(&app, &client, &domains, "25", "first.last", "key-race-0001"),
    );
    let (a, b) = (json(a).await, json(b).await);
    assert_eq!(a["batch_id"], b["batch_id"]);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 25);
    assert_eq!(count(&app, "SELECT count(*) FROM inbox_batches").await, 1);
}

#[sqlx::test]
async fn a_failure_in_the_middle_of_the_batch_leaves_nothing_behind(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains =
        customer_with_domains(&app, &client, "ann@acme.test", &["magic-atomic.com"]).await;
    // The 10th row of the batch fails to insert.
    sqlx::raw_sql(
        "CREATE FUNCTION fail_tenth() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'injected failure'; END $$;
         CREATE TRIGGER fail_tenth BEFORE INSERT ON inboxes FOR EACH ROW
           WHEN (NEW.local_part = 'sophia.clark') EXECUTE FUNCTION fail_tenth();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let jobs_before = count(&app, "SELECT count(*) FROM jobs").await;
    let res = provision(&app, &client, &domains, "20", "first.last", "key-atomic-01").await;
    assert_eq!(res.status(), 500);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM inbox_batches").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM jobs").await, jobs_before);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'inboxes.provision'"
        )
        .await,
        0
    );

    // The key was not used up: once the fault is gone the same submit works.
    sqlx::raw_sql("DROP TRIGGER fail_tenth ON inboxes")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = provision(&app, &client, &domains, "20", "first.last", "key-atomic-01").await;
    assert_eq!(res.status(), 200);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 20);
}

#[sqlx::test]
async fn limits_bad_input_and_a_suspended_account_are_refused_with_nothing_created(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-limit.com"]).await;

    // One over the trial's 50.
    let res = provision(&app, &client, &domains, "51", "first.last", "key-limit-001").await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("allows 50 inboxes; you have 0, so 51 more would go over by 1"),
        "{body}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 0);

    // A convention that cannot make enough names, and bad fields: 422 with the reason.
    let res = provision(&app, &client, &domains, "21", "roles", "key-limit-002").await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("gives 20 addresses per domain")
    );
    let res = provision(&app, &client, &domains, "0", "nope", "key-limit-003").await;
    assert_eq!(res.status(), 422);
    let res = provision(
        &app,
        &client,
        &[Uuid::new_v4()],
        "5",
        "roles",
        "key-limit-004",
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = provision(&app, &client, &domains, "5", "roles", "short").await;
    assert_eq!(res.status(), 422);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 0);

    // 48 fit; then 3 more would be over by 1.
    assert_eq!(
        provision(&app, &client, &domains, "48", "first.last", "key-limit-005")
            .await
            .status(),
        200
    );
    let res = provision(&app, &client, &domains, "3", "roles", "key-limit-006").await;
    assert_eq!(res.status(), 409);
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 48);

    // A suspended account creates nothing.
    let tenant = tenant_of(&app, "ann@acme.test").await;
    sqlx::query("INSERT INTO suspensions (id, tenant_id, category, reason, actor) VALUES ($1, $2, 'abuse', 'test', 'staff')")
        .bind(Uuid::new_v4())
        .bind(tenant)
        .execute(&app.pool)
        .await
        .unwrap();
    // (The kill switch answers 403 before the service, whose own entitlement check would
    // refuse it too.)
    let res = provision(&app, &client, &domains, "1", "roles", "key-limit-007").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("suspended"));
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 48);
}

#[sqlx::test]
async fn new_batches_skip_addresses_already_in_use(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-uniq.com"]).await;
    assert_eq!(
        provision(&app, &client, &domains, "3", "first", "key-uniq-0001")
            .await
            .status(),
        200
    );
    assert_eq!(
        provision(&app, &client, &domains, "3", "first", "key-uniq-0002")
            .await
            .status(),
        200
    );
    let locals: Vec<String> =
        sqlx::query_scalar("SELECT local_part FROM inboxes ORDER BY created_at, local_part")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let set: HashSet<&String> = locals.iter().collect();
    assert_eq!(set.len(), 6);
    for name in ["james", "mary", "john", "linda", "robert", "emma"] {
        assert!(locals.iter().any(|l| l == name), "{name} in {locals:?}");
    }
}

#[sqlx::test]
async fn every_export_format_has_its_exact_header_and_decrypts_to_what_was_shown(pool: PgPool) {
    let (app, _dir) = app_with(
        pool,
        &[
            ("INBOXGROVE_RELAY__SMTP_HOST", "smtp.grove.test"),
            ("INBOXGROVE_RELAY__IMAP_HOST", "imap.grove.test"),
        ],
    )
    .await;
    let client = browser();
    let domains =
        customer_with_domains(&app, &client, "ann@acme.test", &["magic-export.com"]).await;
    let done =
        json(provision(&app, &client, &domains, "50", "first.last", "key-export-01").await).await;
    let batch = done["batch_id"].as_str().unwrap();

    let expected: [(&str, &str); 4] = [
        (
            "generic",
            "Email,Display Name,First Name,Last Name,SMTP Host,SMTP Port,SMTP Username,SMTP Password,SMTP Security,IMAP Host,IMAP Port,IMAP Security,IMAP Username,IMAP Password,Daily Limit,Status",
        ),
        (
            "instantly",
            "Email,First Name,Last Name,IMAP Username,IMAP Password,IMAP Host,IMAP Port,SMTP Username,SMTP Password,SMTP Host,SMTP Port",
        ),
        (
            "smartlead",
            "from_name,from_email,user_name,password,smtp_host,smtp_port,imap_host,imap_port,max_email_per_day,custom_tracking_url,warmup_enabled,total_warmup_per_day,daily_rampup,reply_rate_percentage,bcc,signature,different_reply_to_address,imap_user_name,imap_password",
        ),
        (
            "salesforge",
            "address,firstName,lastName,imapHost,imapUsername,imapPassword,imapPort,smtpHost,smtpUsername,smtpPassword,smtpPort,Signature,trackingDomain",
        ),
    ];
    let id = inbox_id(&app, "mary.johnson@magic-export.com").await;
    let shown = reveal(&app, &client, id).await;
    for (format, header) in expected {
        let res = export(&app, &client, &format!("format={format}&batch={batch}")).await;
        assert_eq!(res.status(), 200, "{format}");
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.starts_with("attachment; filename=\"inboxgrove-"),
            "{disposition}"
        );
        let body = res.text().await.unwrap();
        assert_eq!(body.lines().next().unwrap(), header, "{format}");
        assert_eq!(body.lines().count(), 51, "{format}");
        let (head, rows) = parse_csv(&body);
        assert_eq!(rows.len(), 50);
        assert!(rows.iter().all(|r| r.len() == head.len()));
        let email_col = head
            .iter()
            .position(|h| ["Email", "from_email", "address"].contains(&h.as_str()))
            .unwrap();
        let pw_col = head
            .iter()
            .position(|h| ["SMTP Password", "password", "smtpPassword"].contains(&h.as_str()))
            .unwrap();
        let host_col = head
            .iter()
            .position(|h| ["SMTP Host", "smtp_host", "smtpHost"].contains(&h.as_str()))
            .unwrap();
        let row = rows
            .iter()
            .find(|r| r[email_col] == "mary.johnson@magic-export.com")
            .unwrap();
        assert_eq!(row[pw_col], shown, "{format}");
        assert_eq!(row[host_col], "smtp.grove.test");
        // IMAP from the settings, with the same username and password (one record).
        let col = |names: [&str; 3]| {
            head.iter()
                .position(|h| names.contains(&h.as_str()))
                .unwrap_or_else(|| panic!("{format}: no {names:?}"))
        };
        assert_eq!(
            row[col(["IMAP Host", "imap_host", "imapHost"])],
            "imap.grove.test"
        );
        assert_eq!(
            row[col(["IMAP Port", "imap_port", "imapPort"])],
            "993",
            "{format}"
        );
        let user = col(["IMAP Username", "imap_user_name", "imapUsername"]);
        assert_eq!(row[user], "mary.johnson@magic-export.com", "{format}");
        let pass = col(["IMAP Password", "imap_password", "imapPassword"]);
        assert_eq!(row[pass], shown, "{format}");
    }
    // A selection by ids, and a quoted display name survive the CSV round trip.
    sqlx::query("UPDATE inboxes SET display_name = 'Mary \"MJ\" Johnson, Sales' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let body = export(&app, &client, &format!("format=generic&ids={id}"))
        .await
        .text()
        .await
        .unwrap();
    let (_, rows) = parse_csv(&body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1], "Mary \"MJ\" Johnson, Sales");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'inboxes.export'"
        )
        .await,
        5
    );
    // Bad input: an unknown format or id is a clear 422, not "everything".
    assert_eq!(export(&app, &client, "format=outlook").await.status(), 422);
    assert_eq!(
        export(&app, &client, "format=generic&batch=nope")
            .await
            .status(),
        422
    );
    assert_eq!(
        browser()
            .get(app.url("/inboxes/export?format=generic"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[sqlx::test]
async fn another_tenant_cannot_see_reveal_export_or_touch_an_inbox(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-mine.com"]).await;
    let done = json(provision(&app, &client, &domains, "2", "roles", "key-mine-0001").await).await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM inboxes LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let other = browser();
    assert!(
        app.signup_with(&other, &Signup::valid("eve@evil.test"))
            .await
            .status()
            .is_success()
    );
    let form = [("id", id.to_string())];
    for path in ["/api/inboxes/detail", "/api/inboxes/reveal"] {
        assert_eq!(
            other
                .post(app.url(path))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status(),
            404,
            "{path}"
        );
    }
    let res = other
        .post(app.url("/api/inboxes/change"))
        .form(&[("id", id.to_string()), ("action", "delete".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let batch = done["batch_id"].as_str().unwrap();
    assert_eq!(
        export(&app, &other, &format!("format=generic&batch={batch}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        export(&app, &other, &format!("format=generic&ids={id}"))
            .await
            .status(),
        404
    );
    let theirs = json(list(&app, &other, "", "", "1").await).await;
    assert_eq!(theirs["total"], 0);
    // Eve cannot put inboxes on Ann's domain either.
    let res = provision(&app, &other, &domains, "1", "roles", "key-evil-0001").await;
    assert_eq!(res.status(), 422);
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        count(&app, "SELECT count(*) FROM inboxes WHERE status = 'active'").await,
        2
    );
}

#[sqlx::test]
async fn the_list_filters_and_pages_and_suspend_resume_delete_reach_the_relay(pool: PgPool) {
    let (app, dir) = app_with(pool, &[("INBOXGROVE_INBOXES__PAGE_SIZE", "20")]).await;
    let client = browser();
    let domains = customer_with_domains(
        &app,
        &client,
        "ann@acme.test",
        &["magic-list.com", "magic-list.io"],
    )
    .await;
    let tenant = tenant_of(&app, "ann@acme.test").await;
    assert_eq!(
        provision(&app, &client, &domains, "25", "first.last", "key-list-0001")
            .await
            .status(),
        200
    );

    let page = |domain: String, status: &'static str, page: &'static str| {
        let (app, client) = (&app, &client);
        async move { json(list(app, client, &domain, status, page).await).await }
    };
    let all = page(String::new(), "", "1").await;
    assert_eq!(
        (all["total"].as_i64(), all["pages"].as_i64()),
        (Some(50), Some(3))
    );
    assert_eq!(all["inboxes"].as_array().unwrap().len(), 20);
    let last = page(String::new(), "", "3").await;
    assert_eq!(last["inboxes"].as_array().unwrap().len(), 10);
    // A page past the end (the count no longer comes with an empty page) shows the last one,
    // with the right total; a huge page number neither overflows nor errs.
    for past in ["4", "9223372036854775807"] {
        let beyond = page(String::new(), "", past).await;
        assert_eq!(
            (
                beyond["page"].as_i64(),
                beyond["total"].as_i64(),
                beyond["pages"].as_i64()
            ),
            (Some(3), Some(50), Some(3)),
            "page {past}"
        );
        assert_eq!(beyond["inboxes"], last["inboxes"], "page {past}");
    }
    // A page before the first is the first.
    let before = page(String::new(), "", "-5").await;
    assert_eq!(
        (before["page"].as_i64(), before["total"].as_i64()),
        (Some(1), Some(50))
    );
    assert_eq!(before["inboxes"], all["inboxes"]);
    let none = page(String::new(), "suspended", "2").await;
    assert_eq!(
        (
            none["page"].as_i64(),
            none["total"].as_i64(),
            none["pages"].as_i64()
        ),
        (Some(1), Some(0), Some(1))
    );
    assert_eq!(none["inboxes"].as_array().unwrap().len(), 0);
    let io = page(domains[1].to_string(), "", "1").await;
    assert_eq!(io["total"], 25);
    assert!(
        io["inboxes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["domain"] == "magic-list.io")
    );

    // Suspend one: the relay keeps its login but marks it suspended and takes its relay right.
    let id = inbox_id(&app, "james.smith@magic-list.com").await;
    let change = |action: &'static str| {
        client
            .post(app.url("/api/inboxes/change"))
            .form(&[("id", id.to_string()), ("action", action.to_string())])
            .send()
    };
    assert!(change("suspend").await.unwrap().status().is_success());
    assert_eq!(page(String::new(), "suspended", "1").await["total"], 1);
    let auth = read_json(&format!("{dir}/tenants/{tenant}/auth.json"));
    assert_eq!(
        auth["users"]["james.smith@magic-list.com"]["status"],
        "suspended"
    );
    let listener =
        std::fs::read_to_string(format!("{dir}/tenants/{tenant}/listener_domains.toml")).unwrap();
    assert!(
        !listener.contains("james.smith@magic-list.com"),
        "{listener}"
    );
    assert!(listener.contains("mary.johnson@magic-list.com"));
    // Resume: live again once the mail store accepts the login.
    assert!(change("resume").await.unwrap().status().is_success());
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM inboxes WHERE id = '{id}' AND status = 'active'")
        )
        .await,
        1
    );
    // Delete: gone from the list, the count and the relay.
    assert!(change("delete").await.unwrap().status().is_success());
    assert_eq!(page(String::new(), "", "1").await["total"], 49);
    let auth = read_json(&format!("{dir}/tenants/{tenant}/auth.json"));
    assert!(auth["users"].get("james.smith@magic-list.com").is_none());
    assert_eq!(change("resume").await.unwrap().status(), 404);
    let res = list(&app, &client, "", "weird", "1").await;
    assert_eq!(res.status(), 422);
    let _ = std::fs::remove_dir_all(dir);
}

async fn kumod() -> MockServer {
    MockServer::start().await
}

/// kumod answers `bump-config-epoch` with `status` (optionally: exactly `expect` times).
async fn answer_bump(kumo: &MockServer, status: u16, expect: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path("/api/admin/bump-config-epoch"))
        .respond_with(
            ResponseTemplate::new(status).set_body_string(if status == 200 {
                "bump successful"
            } else {
                "overloaded"
            }),
        );
    match expect {
        Some(n) => mock.expect(n).mount(kumo).await,
        None => mock.mount(kumo).await,
    }
}

fn bumps(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path() == "/api/admin/bump-config-epoch")
        .count()
}

#[sqlx::test]
async fn kumomta_gets_both_domains_files_and_one_reload_per_publish(pool: PgPool) {
    let kumo = kumod().await;
    answer_bump(&kumo, 200, None).await;
    let url = kumo.uri();
    let (app, dir) = app_with(
        pool,
        &[
            ("INBOXGROVE_PROVIDERS__RELAY", "kumomta"),
            ("INBOXGROVE_RELAY__KUMOMTA_API_URL", url.as_str()),
        ],
    )
    .await;
    let client = browser();
    let domains =
        customer_with_domains(&app, &client, "ann@acme.test", &["kumo-a.com", "kumo-b.io"]).await;
    let tenant = tenant_of(&app, "ann@acme.test").await;
    let before = bumps(&kumo.received_requests().await.unwrap());
    assert!(before >= 1, "activating the domains published them");

    assert_eq!(
        provision(&app, &client, &domains, "3", "roles", "key-kumo-0001")
            .await
            .status(),
        200
    );
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        bumps(&kumo.received_requests().await.unwrap()),
        before + 1,
        "one reload for one publish"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM inboxes WHERE status = 'active'").await,
        6
    );

    let t = format!("{dir}/tenants/{tenant}");
    let dkim = std::fs::read_to_string(format!("{t}/dkim_data.toml")).unwrap();
    let selector: String =
        sqlx::query_scalar("SELECT dkim_selector FROM domains WHERE name = 'kumo-a.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let key_a = std::path::absolute(format!("{dir}/keys/kumo-a.com/{selector}.key")).unwrap();
    assert!(
        dkim.contains("[domain.\"kumo-a.com\"]") && dkim.contains("[domain.\"kumo-b.io\"]"),
        "{dkim}"
    );
    assert!(
        dkim.contains(&format!("selector = \"{selector}\"")) && dkim.contains("algo = \"sha256\""),
        "{dkim}"
    );
    assert!(
        dkim.contains(&format!("filename = \"{}\"", key_a.display())),
        "{dkim}"
    );
    assert!(!dkim.contains("[base]"));
    let pem = std::fs::read_to_string(&key_a).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_a).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
    let listener = std::fs::read_to_string(format!("{t}/listener_domains.toml")).unwrap();
    assert!(
        listener.contains("[\"kumo-a.com\"]") && listener.contains("[\"kumo-b.io\"]"),
        "{listener}"
    );
    assert!(listener.contains("\"sales@kumo-b.io\""), "{listener}");
    let auth = read_json(&format!("{t}/auth.json"));
    assert_eq!(auth["tenant"], tenant.to_string());
    let users: Vec<&String> = auth["users"].as_object().unwrap().keys().collect();
    assert_eq!(
        users,
        [
            "hello@kumo-a.com",
            "hello@kumo-b.io",
            "sales@kumo-a.com",
            "sales@kumo-b.io",
            "team@kumo-a.com",
            "team@kumo-b.io"
        ]
    );
    // No temp file is left behind.
    assert!(
        std::fs::read_dir(&t).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test]
async fn an_unreachable_relay_leaves_the_batch_pending_and_the_job_brings_it_live(pool: PgPool) {
    let kumo = kumod().await;
    let url = kumo.uri();
    answer_bump(&kumo, 200, None).await;
    let (app, _dir) = app_with(
        pool,
        &[
            ("INBOXGROVE_PROVIDERS__RELAY", "kumomta"),
            ("INBOXGROVE_RELAY__KUMOMTA_API_URL", url.as_str()),
        ],
    )
    .await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["kumo-down.com"]).await;

    kumo.reset().await;
    answer_bump(&kumo, 503, None).await;
    let res = provision(&app, &client, &domains, "10", "first.last", "key-down-0001").await;
    assert_eq!(
        res.status(),
        200,
        "the batch is kept whatever the relay does"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM inboxes WHERE status = 'pending_relay'"
        )
        .await,
        10
    );
    let (pending, error): (bool, Option<String>) =
        sqlx::query_as("SELECT pending, last_error FROM relay_publications")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(pending);
    assert!(error.unwrap().contains("503"));
    // The job's first try fails too, and is rescheduled, not lost.
    sqlx::query(
        "UPDATE jobs SET run_at = now() WHERE kind = 'relay_publish' AND status = 'pending'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM jobs WHERE kind = 'relay_publish' AND status = 'pending'"
        )
        .await,
        1,
        "one waiting job per tenant"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM jobs WHERE kind = 'relay_publish' AND status = 'pending' AND attempts = 1").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM inboxes WHERE status = 'pending_relay'"
        )
        .await,
        10
    );

    // The relay is back: the retry publishes and the inboxes go live.
    kumo.reset().await;
    answer_bump(&kumo, 200, Some(1)).await;
    sqlx::query(
        "UPDATE jobs SET run_at = now() WHERE kind = 'relay_publish' AND status = 'pending'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    worker(&app).run_until_idle().await.unwrap();
    assert_eq!(
        count(&app, "SELECT count(*) FROM inboxes WHERE status = 'active'").await,
        10
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM relay_publications WHERE pending"
        )
        .await,
        0
    );
    kumo.verify().await;
}

#[tokio::test]
async fn suspend_and_bounce_are_always_scoped_to_the_tenant() {
    use inboxgrove::domain::TenantId;
    use inboxgrove::server::providers::relay::files::PolicyWriter;
    use inboxgrove::server::providers::relay::kumomta::KumoRelay;
    use inboxgrove::server::providers::relay::{Relay, RelayActionId};
    let kumo = kumod().await;
    let tenant = TenantId(Uuid::new_v4());
    Mock::given(method("POST"))
        .and(path("/api/admin/suspend/v1"))
        .and(body_partial_json(
            serde_json::json!({"tenant": tenant.0.to_string(), "reason": "abuse"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": "9511a32e-66f8-42aa-b151-ccb176df47d9"})),
        )
        .expect(1)
        .mount(&kumo)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/bounce/v1"))
        .and(body_partial_json(serde_json::json!({"tenant": tenant.0.to_string()})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "552016f1-08e7-4e90-9da3-fd5c25acd069", "bounced": {}, "total_bounced": 0})))
        .expect(1)
        .mount(&kumo)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/admin/suspend/v1"))
        .and(body_partial_json(
            serde_json::json!({"id": "9511a32e-66f8-42aa-b151-ccb176df47d9"}),
        ))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&kumo)
        .await;
    let relay = KumoRelay::new(
        PolicyWriter::new(temp_dir()),
        &kumo.uri(),
        std::time::Duration::from_secs(2),
    )
    .unwrap();
    let until = chrono::Utc::now() + chrono::Duration::days(30);
    let id = relay.suspend_tenant(tenant, "abuse", until).await.unwrap();
    assert_eq!(
        id,
        RelayActionId("9511a32e-66f8-42aa-b151-ccb176df47d9".into())
    );
    let body: Value =
        serde_json::from_slice(&kumo.received_requests().await.unwrap()[0].body).unwrap();
    assert!(
        body["expires"]
            .as_str()
            .unwrap()
            .starts_with(&until.format("%Y-%m-%d").to_string())
    );
    relay.bounce_tenant(tenant, "purge").await.unwrap();
    // Already expired at kumod (404) counts as resumed.
    relay.resume_tenant(&id).await.unwrap();
    kumo.verify().await;
}

async fn hook(app: &TestApp, token: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/webhooks/kumomta"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn kumomta_log_records_are_counted_per_inbox_domain_and_tenant(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["magic-logs.com"]).await;
    assert_eq!(
        provision(&app, &client, &domains, "2", "roles", "key-logs-0001")
            .await
            .status(),
        200
    );
    let (inbox, tenant): (Uuid, Uuid) =
        sqlx::query_as("SELECT id, tenant_id FROM inboxes WHERE address = 'sales@magic-logs.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/fixtures/kumomta_log_batch.json"
    ))
    .unwrap()
    .replace("{INBOX_ID}", &inbox.to_string())
    .replace("{TENANT_ID}", &tenant.to_string());

    assert_eq!(hook(&app, "wrong", &fixture).await.status(), 401);
    let res = reqwest::Client::new()
        .post(app.url("/webhooks/kumomta"))
        .body(fixture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Malformed: the valid records before the bad one are not stored either.
    let bad = format!(
        "[{}, {{\"no_type\": true}}]",
        &fixture.trim()[1..fixture.trim().len() - 1]
    );
    assert_eq!(hook(&app, HOOK_SECRET, &bad).await.status(), 400);
    assert_eq!(hook(&app, HOOK_SECRET, "{not json").await.status(), 400);
    assert_eq!(count(&app, "SELECT count(*) FROM delivery_counts").await, 0);

    let res = hook(&app, HOOK_SECRET, &fixture).await;
    assert_eq!(res.status(), 200);
    let done = json(res).await;
    assert_eq!(
        (done["counted"].as_u64(), done["ignored"].as_u64()),
        (Some(5), Some(2)),
        "{done}"
    );
    let totals: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, sum(count)::bigint FROM delivery_counts WHERE tenant_id = $1 AND inbox_id = $2 AND domain_id = $3 GROUP BY kind ORDER BY kind",
    )
    .bind(tenant)
    .bind(inbox)
    .bind(domains[0])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        totals,
        [
            ("Bounce".into(), 1),
            ("Delivery".into(), 2),
            ("Feedback".into(), 1),
            ("TransientFailure".into(), 1)
        ]
    );
    // One object on its own works too; a batch sent twice is not counted twice.
    let single = r#"{"type":"Delivery","id":"single-1","sender":"hello@magic-logs.com","recipient":"x@example.net","timestamp":1757675281}"#;
    assert_eq!(
        json(hook(&app, HOOK_SECRET, single).await).await["counted"],
        1
    );
    let again = json(hook(&app, HOOK_SECRET, &fixture).await).await;
    assert_eq!(
        (again["counted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(5))
    );
    assert_eq!(
        count(&app, "SELECT sum(count)::bigint FROM delivery_counts").await,
        6
    );
}

async fn provision_personas(
    app: &TestApp,
    client: &reqwest::Client,
    domains: &[Uuid],
    personas: &str,
    display: &str,
    company: &str,
    key: &str,
) -> reqwest::Response {
    let domains = domains
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    client
        .post(app.url("/api/inboxes/provision"))
        .form(&[
            ("domains", domains.as_str()),
            ("per_domain", "1"),
            ("convention", "personas"),
            ("personas", personas),
            ("display", display),
            ("company", company),
            ("idempotency_key", key),
        ])
        .send()
        .await
        .unwrap()
}

/// OWASP CSV injection: names a customer typed never reach a spreadsheet as a formula, in
/// any export format; control and bidi characters are refused where names are typed.
#[sqlx::test]
async fn exports_carry_no_live_formulas_and_names_refuse_control_characters(pool: PgPool) {
    let (app, _dir) = app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@acme.test", &["formula.com"]).await;

    // Control characters: a field error (422), nothing created.
    for (personas, display, company, field) in [
        ("Ja\u{7}ne Doe", "full", "", "control characters"),
        ("Jane \u{202E}eoD", "full", "", "control characters"),
        (
            "Jane Doe",
            "company",
            "Acme\u{1b}[31m",
            "control characters",
        ),
    ] {
        let res = provision_personas(
            &app,
            &client,
            &domains,
            personas,
            display,
            company,
            "key-ctl-0001",
        )
        .await;
        assert_eq!(res.status(), 422, "{personas:?} {company:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(field), "{body}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM inboxes").await, 0);

    // Names that start like formulas are accepted (they are names), but exported inert.
    let res = provision_personas(
        &app,
        &client,
        &domains,
        "@Jane -Doe",
        "full",
        "",
        "key-csv-00001",
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id: Uuid = sqlx::query_scalar("SELECT id FROM inboxes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let formula = "=HYPERLINK(\"http://evil.test\",\"click\")";
    let res = client
        .post(app.url("/api/inboxes/update"))
        .form(&[
            ("id", id.to_string().as_str()),
            ("display_name", formula),
            ("daily_cap", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = client
        .post(app.url("/api/inboxes/update"))
        .form(&[
            ("id", id.to_string().as_str()),
            ("display_name", "Jane\u{0}Doe"),
            ("daily_cap", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    for format in ["generic", "instantly", "smartlead", "salesforge"] {
        let body = export(&app, &client, &format!("format={format}&ids={id}"))
            .await
            .text()
            .await
            .unwrap();
        let (_, rows) = parse_csv(&body);
        assert_eq!(rows.len(), 1, "{format}");
        for cell in &rows[0] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{format}: live cell {cell:?}"
            );
        }
        let cells: HashSet<&str> = rows[0].iter().map(String::as_str).collect();
        // Smartlead has no first/last name columns.
        if format != "smartlead" {
            assert!(cells.contains("'@Jane"), "{format}: {body}");
            assert!(cells.contains("'-Doe"), "{format}: {body}");
        }
        if format == "generic" || format == "smartlead" {
            assert!(
                cells.contains(format!("'{formula}").as_str()),
                "{format}: {body}"
            );
        }
    }
}
