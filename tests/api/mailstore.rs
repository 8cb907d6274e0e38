//! Mailboxes on a real Dovecot (2.3, started unprivileged by the same code `make run` uses):
//! provision → the login check makes the inboxes active → a message delivered with
//! `dovecot-lda` is read over IMAP by an independent client (Python's imaplib) with the
//! credentials from the Instantly CSV; suspension, tenant suspension, resume and rotation
//! reach IMAP within seconds. Plus the password record shared with Dovecot (`doveadm pw -t`)
//! and the move of old records to it.

use std::process::Command;
use std::time::{Duration, Instant};

use inboxgrove::server::jobs::NewJob;
use inboxgrove::server::providers::mailstore::dovecot::{LocalDovecot, RunningDovecot};
use inboxgrove::server::providers::relay::files::dovecot_password;
use inboxgrove::server::services::inboxes::relay_hash;
use reqwest::Client;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, browser, json, spawn_app_with};
use crate::inboxes::{customer_with_domains, provision, reveal, worker};
use crate::kill_switch::{admin, staff};

const SALT: &str = "00112233445566778899aabbccddeeff";
const PASSWORD: &str = "Xq7vR2mT9pL4sW8nK3dF6hJ1";
const VECTOR: &str = "0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2";

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ig-{name}-{}", Uuid::new_v4().simple()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Dovecot on a free port, reading the passwd-files of the app's policy directory.
fn dovecot(policy_dir: &std::path::Path) -> RunningDovecot {
    LocalDovecot {
        dir: temp("dovecot"),
        passwd_dir: policy_dir.join("dovecot"),
        port: free_port(),
    }
    .start()
    .expect("Dovecot starts (apt-get install dovecot-core dovecot-imapd)")
}

/// Logs in with Python's imaplib (not our client) and counts INBOX: `Ok(messages)` or
/// `Err(why)` when the login is refused.
fn imap_login(port: u16, user: &str, password: &str) -> Result<u32, String> {
    const PROBE: &str = r#"
import imaplib, re, sys
host, port, user, password = sys.argv[1:5]
m = imaplib.IMAP4(host, int(port))
try:
    m.login(user, password)
except imaplib.IMAP4.error as e:
    print("REFUSED", e)
    sys.exit(0)
typ, data = m.status("INBOX", "(MESSAGES)")
print("OK", re.search(rb"MESSAGES (\d+)", data[0]).group(1).decode())
m.logout()
"#;
    let out = Command::new("python3")
        .args(["-c", PROBE, "127.0.0.1", &port.to_string(), user, password])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "imaplib failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match text.split_once(' ') {
        Some(("OK", n)) => Ok(n.parse().unwrap()),
        _ => Err(text),
    }
}

/// Polls until `f` holds; returns when the probe that saw it started. Panics when no probe
/// started within `limit` saw it.
async fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let probe = start.elapsed();
        if f() {
            return probe;
        }
        assert!(probe < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs due jobs until every published inbox of the app passed its login check.
async fn checked(app: &TestApp) {
    let start = Instant::now();
    loop {
        worker(app).run_until_idle().await.unwrap();
        let waiting = app
            .scalar("SELECT count(*) FROM inboxes WHERE status = 'pending_relay'")
            .await;
        if waiting == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{waiting} inboxes still wait for their login check"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn app_on_dovecot(pool: PgPool) -> (TestApp, RunningDovecot, std::path::PathBuf) {
    let policy = temp("relay");
    let store = dovecot(&policy);
    let port = store.port().to_string();
    let policy_s = policy.to_string_lossy().into_owned();
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("INBOXGROVE_RELAY__POLICY_DIR", &policy_s),
            ("INBOXGROVE_MAILSTORE__PROVIDER", "dovecot"),
            ("INBOXGROVE_MAILSTORE__IMAP_PORT", &port),
            ("INBOXGROVE_RELAY__IMAP_HOST", "127.0.0.1"),
            ("INBOXGROVE_RELAY__IMAP_PORT", &port),
            ("INBOXGROVE_RELAY__IMAP_SECURITY", "None"),
        ],
    )
    .await;
    (app, store, policy)
}

/// The Instantly CSV of the account: (email, imap user, imap password, imap host, imap port).
async fn instantly_rows(app: &TestApp, client: &Client) -> Vec<[String; 5]> {
    let res = client
        .get(app.url("/inboxes/export?format=instantly"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let cols = [
        col("Email"),
        col("IMAP Username"),
        col("IMAP Password"),
        col("IMAP Host"),
        col("IMAP Port"),
    ];
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            cols.map(|c| rec[c].to_string())
        })
        .collect()
}

/// Enqueues one job of `kind` (what the migration or the scheduler does) and runs what is due.
async fn run_job(app: &TestApp, kind: &str) {
    app.state
        .jobs
        .enqueue(NewJob::new(kind, &serde_json::json!({})))
        .await
        .unwrap();
    worker(app).run_until_idle().await.unwrap();
}

async fn change(app: &TestApp, client: &Client, id: Uuid, action: &str) {
    let res = client
        .post(app.url("/api/inboxes/change"))
        .form(&[("id", id.to_string()), ("action", action.to_string())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{action}: {}", res.status());
}

async fn inbox(app: &TestApp, address: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM inboxes WHERE address = $1 AND status <> 'deleted'")
        .bind(address)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn inboxes_receive_mail_and_log_in_over_imap_with_the_exported_credentials(pool: PgPool) {
    let (app, store, _policy) = app_on_dovecot(pool).await;
    let port = store.port();
    let client = browser();
    let domains =
        customer_with_domains(&app, &client, "ann@imap-one.test", &["mailbox-one.com"]).await;
    let res = provision(&app, &client, &domains, "3", "first.last", "key-imap-0001").await;
    assert_eq!(res.status(), 200);

    // Published at once, active only after Dovecot accepted each login.
    assert_eq!(
        app.scalar("SELECT count(*) FROM inboxes WHERE status = 'pending_relay' AND published_at IS NOT NULL")
            .await,
        3
    );
    checked(&app).await;
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM inboxes WHERE status = 'active' AND login_checked_at IS NOT NULL"
        )
        .await,
        3
    );

    // The Instantly CSV carries IMAP; its credentials log in to the real store.
    let rows = instantly_rows(&app, &client).await;
    assert_eq!(rows.len(), 3);
    let [email, user, password, host, imap_port] = rows[0].clone();
    assert_eq!(
        (user.as_str(), host.as_str()),
        (email.as_str(), "127.0.0.1")
    );
    assert_eq!(imap_port, port.to_string());
    assert_eq!(imap_login(port, &user, &password), Ok(0));

    // The inbox page counts its INBOX from the store: empty so far.
    let id = inbox(&app, &email).await;
    let detail = |app: &TestApp, client: &Client| {
        let req = client
            .post(app.url("/api/inboxes/detail"))
            .form(&[("id", id.to_string())]);
        async move { json(req.send().await.unwrap()).await }
    };
    assert_eq!(detail(&app, &client).await["messages"], 0);
    // The page itself (server-rendered) says the same.
    let page = client
        .get(app.url(&format!("/inboxes/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page
        .find("data-testid=\"messages\"")
        .expect("the messages cell");
    assert!(
        page[at..].starts_with("data-testid=\"messages\">0<"),
        "{}",
        &page[at..at + 80]
    );

    // A message delivered by Dovecot's delivery agent is there over IMAP.
    store
        .config
        .deliver(
            &email,
            "prospect@example.net",
            format!("From: prospect@example.net\r\nTo: {email}\r\nSubject: Re: hello\r\n\r\nInterested.\r\n").as_bytes(),
        )
        .unwrap();
    assert_eq!(imap_login(port, &user, &password), Ok(1));
    // The inbox page counts it from the store, shows IMAP beside SMTP and the login check.
    let detail = detail(&app, &client).await;
    assert_eq!(detail["messages"], 1, "{detail}");
    assert_eq!(detail["imap_port"], port);
    assert!(detail["login_checked"].as_str().is_some(), "{detail}");
    assert_eq!(detail["allowance_today"], 5);
    assert_eq!(detail["warmup_day"], 1);
    // Unknown mailboxes are refused by the delivery agent too.
    assert!(
        store
            .config
            .deliver(
                "nobody@mailbox-one.com",
                "x@example.net",
                b"Subject: x\r\n\r\nx\r\n"
            )
            .is_err()
    );

    // Wrong password, and another inbox's password, are refused.
    assert!(imap_login(port, &user, "wrong-password").is_err());
    let [_, other_user, other_password, _, _] = rows[1].clone();
    assert!(imap_login(port, &user, &other_password).is_err());
    assert_eq!(imap_login(port, &other_user, &other_password), Ok(0));

    // Suspending the inbox locks IMAP within 2 s; resuming restores it.
    change(&app, &client, id, "suspend").await;
    let took = within(Duration::from_secs(2), "suspended inbox refused", || {
        imap_login(port, &user, &password).is_err()
    })
    .await;
    println!("suspended inbox refused over IMAP after {took:?}");
    change(&app, &client, id, "resume").await;
    checked(&app).await;
    assert_eq!(imap_login(port, &user, &password), Ok(1));

    // Suspending the tenant locks every inbox; lifting it restores them.
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM inboxes WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let staff = staff(&app).await;
    let t = tenant.to_string();
    let res = admin(
        &app,
        &staff,
        "suspend",
        &[("tenant", &t), ("category", "abuse"), ("reason", "test")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let took = within(Duration::from_secs(2), "tenant's inboxes refused", || {
        rows.iter().all(|r| imap_login(port, &r[1], &r[2]).is_err())
    })
    .await;
    println!("suspended tenant's inboxes refused over IMAP after {took:?}");
    let res = admin(
        &app,
        &staff,
        "resume",
        &[("tenant", &t), ("reason", "cleaned up")],
    )
    .await;
    assert_eq!(res.status(), 200);
    worker(&app).run_until_idle().await.unwrap();
    within(
        Duration::from_secs(3),
        "resumed tenant's inboxes log in",
        || rows.iter().all(|r| imap_login(port, &r[1], &r[2]).is_ok()),
    )
    .await;

    // Rotation: delete the inbox and provision again; the address comes back with a new
    // password, and the old one no longer logs in.
    change(&app, &client, id, "delete").await;
    within(Duration::from_secs(2), "deleted inbox refused", || {
        imap_login(port, &user, &password).is_err()
    })
    .await;
    let res = provision(&app, &client, &domains, "1", "first.last", "key-imap-0002").await;
    assert_eq!(res.status(), 200);
    checked(&app).await;
    let rows = instantly_rows(&app, &client).await;
    let fresh = rows
        .iter()
        .find(|r| r[0] == email)
        .expect("the address was provisioned again");
    assert_ne!(fresh[2], password);
    assert!(
        imap_login(port, &user, &password).is_err(),
        "the old password still works"
    );
    assert!(imap_login(port, &fresh[1], &fresh[2]).is_ok());
}

#[test]
fn rust_the_policy_and_dovecot_agree_on_the_password_record() {
    assert_eq!(relay_hash(SALT, PASSWORD), VECTOR);
    let record = dovecot_password(SALT, VECTOR);
    let doveadm = |password: &str| {
        Command::new("doveadm")
            .args(["pw", "-t", &record, "-p", password])
            .output()
            .expect("doveadm runs (apt-get install dovecot-core)")
            .status
            .success()
    };
    assert!(doveadm(PASSWORD), "Dovecot does not verify {record}");
    assert!(!doveadm("Xq7vR2mT9pL4sW8nK3dF6hJ2"));
}

#[sqlx::test]
async fn old_password_records_are_rehashed_from_the_sealed_passwords_and_republished(pool: PgPool) {
    let (app, dir) = crate::inboxes::app_with(pool, &[]).await;
    let client = browser();
    let domains =
        customer_with_domains(&app, &client, "ann@rehash.test", &["rehash-one.com"]).await;
    assert_eq!(
        provision(&app, &client, &domains, "2", "first.last", "key-rehash-01")
            .await
            .status(),
        200
    );
    worker(&app).run_until_idle().await.unwrap();
    // Make them scheme-1 records, as every inbox was before this change.
    let rows: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, address, password_salt FROM inboxes ORDER BY address")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for (id, _, salt) in &rows {
        let password = reveal(&app, &client, *id).await;
        use sha2::Digest;
        let old = hex::encode(sha2::Sha256::digest(format!("{salt}:{password}")));
        sqlx::query("UPDATE inboxes SET password_scheme = 1, password_sha256 = $2 WHERE id = $1")
            .bind(id)
            .bind(&old)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    // The job the migration enqueues.
    run_job(&app, "inbox_rehash").await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM inboxes WHERE password_scheme = 1")
            .await,
        0
    );
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM inboxes LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let auth: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/tenants/{tenant}/auth.json")).unwrap(),
    )
    .unwrap();
    let passwd = std::fs::read_to_string(format!("{dir}/dovecot/rehash-one.com.passwd")).unwrap();
    for (id, address, salt) in &rows {
        let password = reveal(&app, &client, *id).await;
        let new = relay_hash(salt, &password);
        assert_eq!(auth["users"][address]["sha256"], new.as_str());
        assert!(passwd.contains(&format!("{address}:{}::::::", dovecot_password(salt, &new))));
    }
    // Running it again changes nothing.
    run_job(&app, "inbox_rehash").await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM inboxes WHERE password_scheme = 2")
            .await,
        2
    );
}

async fn set_cap(
    app: &TestApp,
    client: &Client,
    id: Uuid,
    name: &str,
    cap: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/inboxes/update"))
        .form(&[
            ("id", id.to_string()),
            ("display_name", name.to_string()),
            ("daily_cap", cap.to_string()),
        ])
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn the_relay_gets_each_inboxs_allowance_a_new_cap_at_once_and_the_next_warmup_day_hourly(
    pool: PgPool,
) {
    let (app, dir) = crate::inboxes::app_with(pool, &[]).await;
    let client = browser();
    let domains = customer_with_domains(&app, &client, "ann@ramp.test", &["ramp-one.com"]).await;
    let res = provision(&app, &client, &domains, "2", "first.last", "key-ramp-0001").await;
    assert_eq!(res.status(), 200);
    worker(&app).run_until_idle().await.unwrap();
    let (id, tenant): (Uuid, Uuid) = sqlx::query_as(
        "SELECT id, tenant_id FROM inboxes WHERE address = 'james.smith@ramp-one.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let allowance = || {
        let auth: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/tenants/{tenant}/auth.json")).unwrap(),
        )
        .unwrap();
        let u = &auth["users"]["james.smith@ramp-one.com"];
        (
            u["daily_allowance"].as_i64().unwrap(),
            u["warmup_day"].as_i64().unwrap(),
        )
    };
    // Day 1 of warm-up: 5 a day (the default ramp: 5, +5 a day, up to 30).
    assert_eq!(allowance(), (5, 1));

    // A cap below the ramp reaches the relay data with the save.
    let res = set_cap(&app, &client, id, "James Smith", "3").await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(allowance(), (3, 1));
    // Another tenant cannot change it.
    let other = browser();
    customer_with_domains(&app, &other, "eve@ramp.test", &["ramp-two.com"]).await;
    let res = set_cap(&app, &other, id, "Eve", "2000").await;
    assert_eq!(res.status(), 404);
    assert_eq!(allowance(), (3, 1));

    // Back to 30; the ramp decides again. Then a day (and a few minutes) later, the hourly
    // job republishes this tenant with day 2's allowance; a tenant with no new day is left.
    let res = set_cap(&app, &client, id, "James Smith", "30").await;
    assert!(res.status().is_success());
    assert_eq!(allowance(), (5, 1));
    sqlx::query(
        "UPDATE inboxes SET warmup_started_at = now() - interval '1 day 10 minutes' WHERE tenant_id = $1",
    )
    .bind(tenant)
    .execute(&app.pool)
    .await
    .unwrap();
    let stamps = || async {
        sqlx::query_as::<_, (Uuid, chrono::DateTime<chrono::Utc>)>(
            "SELECT tenant_id, published_at FROM relay_publications ORDER BY tenant_id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let before = stamps().await;
    assert_eq!(before.len(), 2);
    run_job(&app, "inbox_allowance").await;
    assert_eq!(allowance(), (10, 2));
    let after = stamps().await;
    for ((t, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(
            *t == tenant,
            now > was,
            "only the tenant whose day changed republishes"
        );
    }
}
