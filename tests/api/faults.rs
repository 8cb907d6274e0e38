//! Postgres restarted under load, on a cluster of the test's own (the shared test cluster
//! serves every other test): readiness says 503 while it is down, the app recovers by itself,
//! a webhook that could not be applied answers 500 (so Stripe retries it) and applies on the
//! retry, and the job running across the outage is finished from its lease.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use inboxgrove::server::providers::payments::signature;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::billing::{DAY, T0, event, subscription};
use crate::replicas::{env_with, free_port, start_on, wait_until};
use crate::shutdown::{job_state, publish_running, relay_env, slow_kumomta};

/// A PostgreSQL cluster of this test's own, stopped and removed when dropped.
struct PrivatePg {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl PrivatePg {
    fn as_pg(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        // initdb and postgres refuse to run as root.
        if unsafe_is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn create() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb");
        let dir = std::env::temp_dir().join(format!("ig-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = Self {
            dir,
            port: free_port(),
            bin,
        };
        if unsafe_is_root() {
            assert!(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&pg.dir)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let ok = pg
            .as_pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "-N", "-D"])
            .arg(pg.dir.join("data"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "initdb");
        pg.start();
        let ok = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .args(["-p", &pg.port.to_string(), "-d", "postgres", "-c"])
            .arg("CREATE ROLE inboxgrove LOGIN NOSUPERUSER NOBYPASSRLS")
            .args(["-c", "CREATE DATABASE inboxgrove OWNER inboxgrove"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "creating the role and database");
        pg
    }

    fn start(&self) {
        let ok = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("pg.log"))
            .args(["-w", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.display()
            ))
            .arg("start")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "pg_ctl start");
    }

    fn stop(&self) {
        let ok = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "pg_ctl stop");
    }

    fn url(&self) -> String {
        format!("postgres://inboxgrove@127.0.0.1:{}/inboxgrove", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

const SECRET: &str = "whsec_replicas_test";

async fn post_event(url: &str, body: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header(
            "stripe-signature",
            signature::sign(SECRET, chrono::Utc::now().timestamp(), body),
        )
        .header("content-type", "application/json")
        .body(body.to_vec())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn postgres_restarted_under_load_loses_no_webhook_and_no_job() {
    let pg = PrivatePg::create();
    // The test reads every tenant's rows, as the shared test cluster's URL lets it.
    let pool =
        PgPool::connect_lazy(&format!("{}?options=-c%20app.rls_scope%3Dsystem", pg.url())).unwrap();
    let kumo = slow_kumomta(Duration::from_secs(3)).await;
    let uri = kumo.uri();
    let mut extra = relay_env(&uri, "10");
    extra.push(("INBOXGROVE_JOBS__POLL_INTERVAL_MS", "200"));
    let mut r = start_on(&pg.url(), &pool, &env_with(&extra)).await;
    // A job inside a 3 s call to KumoMTA when the database goes away.
    let job = publish_running(&r, &kumo, "fault-ann@acme.test").await;
    sqlx::query(
        "INSERT INTO billing_customers (tenant_id, customer_id) SELECT tenant_id, 'cus_1' FROM memberships",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Load: signed-in page views throughout; the process must never die.
    let statuses = Arc::new(std::sync::Mutex::new(Vec::<u16>::new()));
    let running = Arc::new(AtomicUsize::new(1));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (r.app.client.clone(), r.app.url("/dashboard"));
            let (statuses, running) = (statuses.clone(), running.clone());
            tokio::spawn(async move {
                while running.load(Ordering::SeqCst) == 1 {
                    if let Ok(res) = client
                        .get(&url)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await
                    {
                        statuses.lock().unwrap().push(res.status().as_u16());
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    pg.stop();
    let ready = r.app.url("/health/ready");
    wait_until("readiness to say 503", async || {
        reqwest::get(&ready).await.ok().map(|r| r.status()) == Some(StatusCode::SERVICE_UNAVAILABLE)
    })
    .await;
    // A Stripe event arriving now cannot be stored: 500, so Stripe delivers it again later.
    let body = serde_json::to_vec(&event(
        "evt_fault_1",
        "customer.subscription.created",
        T0,
        subscription("active", "price_starter_monthly", T0 + 30 * DAY, false),
    ))
    .unwrap();
    let during = post_event(&r.app.url("/webhooks/stripe"), &body).await;
    assert_eq!(during.status(), StatusCode::INTERNAL_SERVER_ERROR);

    pg.start();
    wait_until("readiness to recover by itself", async || {
        reqwest::get(&ready).await.ok().map(|r| r.status()) == Some(StatusCode::OK)
    })
    .await;
    // Stripe's retry applies it.
    let retried = post_event(&r.app.url("/webhooks/stripe"), &body).await;
    assert_eq!(retried.status(), StatusCode::OK);
    let v: Value = retried.json().await.unwrap();
    assert_eq!(
        v["outcome"], "applied",
        "it was not stored by the failed attempt"
    );
    let subs: i64 = sqlx::query_scalar("SELECT count(*) FROM billing_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(subs, 1);
    // The job that ran across the outage is finished (recorded, or retried from its lease).
    wait_until("the job across the outage to finish", async || {
        job_state(&pool, job).await.0 == "done"
    })
    .await;

    // Pages answer again for the same session; the process never died.
    let res = r
        .app
        .client
        .get(r.app.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    running.store(0, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    assert!(
        r.exited_within(Duration::ZERO).await.is_none(),
        "still running"
    );
    let seen = statuses.lock().unwrap().clone();
    assert!(seen.contains(&200), "{seen:?}");
    assert!(
        seen.iter().all(|s| [200, 500, 503].contains(s)),
        "only answers, errors or unavailable: {seen:?}"
    );
    drop(r);
}
