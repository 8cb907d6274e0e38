//! SIGTERM on a real `inboxgrove serve` process under load: requests in flight finish, a
//! running job finishes within the grace period (or, cut off after it, is retried by the next
//! process from its lease), and the process exits within the stated time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::Signup;
use crate::replicas::{Replica, env_with, start, wait_until};

/// A KumoMTA whose config bump answers after `delay`: a relay publish job runs that long.
pub(crate) async fn slow_kumomta(delay: Duration) -> MockServer {
    let kumo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/admin/bump-config-epoch"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .mount(&kumo)
        .await;
    kumo
}

pub(crate) fn relay_env<'a>(kumo: &'a str, grace: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("INBOXGROVE_PROVIDERS__RELAY", "kumomta"),
        ("INBOXGROVE_RELAY__KUMOMTA_API_URL", kumo),
        ("INBOXGROVE_RELAY__REQUEST_TIMEOUT_MS", "15000"),
        ("INBOXGROVE_SERVER__SHUTDOWN_GRACE_SECS", grace),
        ("INBOXGROVE_JOBS__WORKERS", "1"),
        ("INBOXGROVE_JOBS__LEASE_SECS", "3"),
    ]
}

/// Signs a customer up on `r` and queues a relay publish for its workspace; waits until a
/// worker is inside the (slow) call to KumoMTA. The job's id.
pub(crate) async fn publish_running(r: &Replica, kumo: &MockServer, email: &str) -> Uuid {
    let res = r.app.signup(&Signup::valid(email)).await;
    assert!(res.status().is_success(), "{}", res.status());
    let tenant: Uuid = sqlx::query_scalar(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO relay_publications (tenant_id, pending) VALUES ($1, true)
         ON CONFLICT (tenant_id) DO UPDATE SET pending = true, requested_at = now()",
    )
    .bind(tenant)
    .execute(&r.app.pool)
    .await
    .unwrap();
    let job: Uuid = sqlx::query_scalar(
        "INSERT INTO jobs (id, kind, payload, tenant_id, max_attempts)
         VALUES (gen_random_uuid(), 'relay_publish', jsonb_build_object('tenant_id', $1::uuid), $1, 5)
         RETURNING id",
    )
    .bind(tenant)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    wait_until("the publish job reaching KumoMTA", async || {
        !kumo
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    job
}

pub(crate) async fn job_state(pool: &PgPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("SELECT status, attempts FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn sigterm_under_load_finishes_requests_and_the_running_job_then_exits(pool: PgPool) {
    let kumo = slow_kumomta(Duration::from_secs(5)).await;
    let uri = kumo.uri();
    let mut r = start(&pool, &env_with(&relay_env(&uri, "10"))).await;
    let job = publish_running(&r, &kumo, "term-ann@acme.test").await;

    // Load: 16 signed-in clients asking for the dashboard until the server is gone.
    let ok = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bad = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let client = r.app.client.clone();
    let url = r.app.url("/dashboard");
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, ok, bad, stopping) = (
                client.clone(),
                url.clone(),
                ok.clone(),
                bad.clone(),
                stopping.clone(),
            );
            tokio::spawn(async move {
                loop {
                    match client.get(&url).send().await {
                        Ok(res) => {
                            let status = res.status();
                            match res.text().await {
                                Ok(body)
                                    if status == StatusCode::OK && body.contains("</html>") =>
                                {
                                    ok.fetch_add(1, Ordering::SeqCst);
                                }
                                Ok(_) => bad.lock().unwrap().push(format!("status {status}")),
                                Err(e) => bad.lock().unwrap().push(format!("cut body: {e}")),
                            }
                        }
                        // Once stopping, a request that got no response at all was not
                        // taken in (refused, or sent on a kept-alive connection the server
                        // was closing: clients retry those): the load is over. Before, any
                        // failure is one.
                        Err(_) if stopping.load(Ordering::SeqCst) => return,
                        Err(e) => bad.lock().unwrap().push(format!("request: {e}")),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ok.load(Ordering::SeqCst);
    assert!(before > 0, "the load runs");

    let signalled = Instant::now();
    let signalled_at = chrono::Utc::now();
    stopping.store(true, Ordering::SeqCst);
    r.terminate();
    let status = r
        .exited_within(Duration::from_secs(15))
        .await
        .expect("the process exits within the grace period");
    let took = signalled.elapsed();
    for task in load {
        task.await.unwrap();
    }
    assert!(status.success(), "clean exit: {status}\n{}", r.log_text());
    assert!(
        bad.lock().unwrap().is_empty(),
        "every request answered whole: {:?}",
        bad.lock().unwrap()
    );
    // The job was mid-call at SIGTERM: it finished (the call takes 5 s of the 10 s grace),
    // after the signal, and the process waited for it.
    assert_eq!(job_state(&pool, job).await, ("done".into(), 1));
    let after_signal: bool = sqlx::query_scalar("SELECT finished_at > $2 FROM jobs WHERE id = $1")
        .bind(job)
        .bind(signalled_at)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        after_signal,
        "the job finished after SIGTERM, before the exit"
    );
    assert!(took < Duration::from_secs(12), "exited in time: {took:?}");
    assert!(r.log_text().contains("stopped"), "{}", r.log_text());
}

#[sqlx::test]
async fn a_job_outlasting_the_grace_period_is_cut_off_and_retried_by_the_next_process(
    pool: PgPool,
) {
    let kumo = slow_kumomta(Duration::from_secs(4)).await;
    let uri = kumo.uri();
    let env = env_with(&relay_env(&uri, "1"));
    let mut first = start(&pool, &env).await;
    let job = publish_running(&first, &kumo, "term-bea@acme.test").await;
    let signalled = Instant::now();
    first.terminate();
    let status = first
        .exited_within(Duration::from_secs(10))
        .await
        .expect("exits");
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_millis(3500),
        "did not wait out the 4 s call: {:?}",
        signalled.elapsed()
    );
    assert_eq!(
        job_state(&pool, job).await.0,
        "running",
        "left under its lease"
    );

    // The next process (a restart, or another replica) takes it once the lease expires.
    let _next = start(&pool, &env).await;
    wait_until("the job retried to done", async || {
        job_state(&pool, job).await.0 == "done"
    })
    .await;
    assert_eq!(job_state(&pool, job).await, ("done".into(), 2));
}
