//! The durable job queue, the mail outbox and the trial reminder, against a real Postgres.

use chrono::{DateTime, Duration, Utc};
use inboxgrove::domain::{EmailAddress, TenantId};
use inboxgrove::server::db;
use inboxgrove::server::jobs::{Enqueued, JobError, NewJob, Registry, Worker, spawn_workers};
use inboxgrove::server::providers::mail::{MailError, OutgoingMail};
use inboxgrove::server::services::{outbox, trial_reminder};
use inboxgrove::server::startup;
use inboxgrove::server::state::AppState;
use reqwest::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::helpers::*;

/// The app's state on `pool` without HTTP and without background workers: each test drives
/// the workers itself.
async fn state_with(pool: &PgPool, extra: &[(&str, &str)]) -> AppState {
    startup::migrate(pool).await.expect("migrations");
    let mut vars = vec![("INBOXGROVE_JOBS__WORKERS", "0")];
    vars.extend_from_slice(extra);
    AppState::new(settings(&vars), pool.clone()).expect("state builds")
}

async fn state(pool: &PgPool) -> AppState {
    state_with(pool, &[]).await
}

/// A second "process": its own connection pool on the same database.
async fn other_process(pool: &PgPool, extra: &[(&str, &str)]) -> AppState {
    let second = PgPoolOptions::new()
        .max_connections(6)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .expect("second pool");
    state_with(&second, extra).await
}

type Runs = Arc<Mutex<Vec<Uuid>>>;

/// A registry whose `record` jobs note their id in `runs`.
fn recording(runs: &Runs) -> Registry<AppState> {
    let runs = runs.clone();
    Registry::new().handle("record", move |_state, job| {
        let runs = runs.clone();
        async move {
            runs.lock().unwrap().push(job.id);
            Ok(())
        }
    })
}

fn created(e: Enqueued) -> Uuid {
    match e {
        Enqueued::Created(id) => id,
        Enqueued::Duplicate => panic!("expected a new job"),
    }
}

async fn job(pool: &PgPool, id: Uuid) -> db::jobs::JobRow {
    db::jobs::get(pool, id).await.unwrap().expect("job exists")
}

/// Seconds between the job's `run_at` and its last update (the moment it was rescheduled).
async fn scheduled_delay(pool: &PgPool, id: Uuid) -> f64 {
    sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM run_at - updated_at)::float8 FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn sleep_until(when: DateTime<Utc>) {
    let wait = (when - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The queue

#[sqlx::test]
async fn enqueueing_twice_with_one_dedupe_key_makes_one_job_even_after_it_ran(pool: PgPool) {
    let state = state(&pool).await;
    let runs = Runs::default();
    let first = state
        .jobs
        .enqueue(NewJob::new("record", &"a").dedupe("once"))
        .await
        .unwrap();
    let id = created(first);
    let again = state
        .jobs
        .enqueue(NewJob::new("record", &"b").dedupe("once"))
        .await
        .unwrap();
    assert_eq!(again, Enqueued::Duplicate);

    let worker = Worker::new(state.clone(), recording(&runs));
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    assert_eq!(
        job(&pool, id).await.status,
        inboxgrove::domain::JobStatus::Done
    );
    let after_done = state
        .jobs
        .enqueue(NewJob::new("record", &"c").dedupe("once"))
        .await
        .unwrap();
    assert_eq!(after_done, Enqueued::Duplicate);
    assert_eq!(worker.run_until_idle().await.unwrap(), 0);

    assert_eq!(*runs.lock().unwrap(), vec![id], "ran once");
    assert_eq!(count(&pool, "jobs").await, 1);
}

#[sqlx::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(pool: PgPool) {
    let state = state(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    let e = state
        .jobs
        .enqueue_in(&mut tx, NewJob::new("record", &1).dedupe("tx"))
        .await
        .unwrap();
    assert!(matches!(e, Enqueued::Created(_)));
    tx.rollback().await.unwrap();
    assert_eq!(count(&pool, "jobs").await, 0);
    // The key is free again: "once" is tied to the work being committed.
    let e = state
        .jobs
        .enqueue(NewJob::new("record", &1).dedupe("tx"))
        .await
        .unwrap();
    assert!(matches!(e, Enqueued::Created(_)));
}

#[sqlx::test]
async fn a_job_scheduled_in_the_future_does_not_run_early(pool: PgPool) {
    let state = state(&pool).await;
    let runs = Runs::default();
    let worker = Worker::new(state.clone(), recording(&runs));
    let at = Utc::now() + Duration::milliseconds(1500);
    let id = created(
        state
            .jobs
            .enqueue(NewJob::new("record", &()).at(at))
            .await
            .unwrap(),
    );

    assert_eq!(worker.run_until_idle().await.unwrap(), 0);
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
    assert!(runs.lock().unwrap().is_empty());

    sleep_until(at).await;
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    assert_eq!(*runs.lock().unwrap(), vec![id]);
    assert!(Utc::now() >= at);
}

#[sqlx::test]
async fn a_failing_job_retries_with_exponential_backoff_then_fails_with_its_error(pool: PgPool) {
    let state = state_with(&pool, &[("INBOXGROVE_JOBS__BACKOFF_BASE_MS", "300")]).await;
    let registry = Registry::new().handle("flaky", |_state, job| async move {
        Err(JobError::Retry(anyhow::anyhow!(
            "relay refused (attempt {})",
            job.attempt
        )))
    });
    let worker = Worker::new(state.clone(), registry);
    let id = created(
        state
            .jobs
            .enqueue(NewJob::new("flaky", &()).max_attempts(3))
            .await
            .unwrap(),
    );

    assert!(worker.run_once().await.unwrap());
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.last_error.as_deref(), Some("relay refused (attempt 1)"));
    assert!(
        (scheduled_delay(&pool, id).await - 0.3).abs() < 0.01,
        "first retry after the base"
    );
    assert!(
        !worker.run_once().await.unwrap(),
        "not retried before the backoff"
    );

    sleep_until(row.run_at).await;
    assert!(worker.run_once().await.unwrap());
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 2));
    assert!(
        (scheduled_delay(&pool, id).await - 0.6).abs() < 0.01,
        "the backoff doubled"
    );

    sleep_until(row.run_at).await;
    assert!(worker.run_once().await.unwrap());
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 3));
    assert_eq!(row.last_error.as_deref(), Some("relay refused (attempt 3)"));
    assert!(row.finished_at.is_some());

    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        0,
        "a failed job stays failed"
    );
}

#[sqlx::test]
async fn a_fatal_error_fails_the_job_without_retrying(pool: PgPool) {
    let state = state(&pool).await;
    let registry = Registry::new().handle("doomed", |_state, _job| async move {
        Err(JobError::Fatal(anyhow::anyhow!("the domain is taken")))
    });
    let id = created(
        state
            .jobs
            .enqueue(NewJob::new("doomed", &()))
            .await
            .unwrap(),
    );
    Worker::new(state.clone(), registry)
        .run_until_idle()
        .await
        .unwrap();
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    assert_eq!(row.last_error.as_deref(), Some("the domain is taken"));
}

#[sqlx::test]
async fn a_deferred_job_stays_pending_without_using_up_an_attempt(pool: PgPool) {
    let state = state(&pool).await;
    let until = Utc::now() + Duration::hours(1);
    let registry = Registry::new().handle("gated", move |_state, _job| async move {
        Err(JobError::Defer {
            until,
            reason: "tenant suspended".into(),
        })
    });
    let id = created(state.jobs.enqueue(NewJob::new("gated", &())).await.unwrap());
    let worker = Worker::new(state.clone(), registry);
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
    assert_eq!(row.last_error.as_deref(), Some("skipped: tenant suspended"));
    assert!((row.run_at - until).num_milliseconds().abs() < 1);
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        0,
        "not before `until`"
    );
}

#[sqlx::test]
async fn a_panicking_handler_fails_the_attempt_and_the_worker_carries_on(pool: PgPool) {
    let state = state(&pool).await;
    let runs = Runs::default();
    let registry = recording(&runs).handle("boom", |_state, _job| async move {
        panic!("handler bug");
    });
    let boom = created(state.jobs.enqueue(NewJob::new("boom", &())).await.unwrap());
    let fine = created(
        state
            .jobs
            .enqueue(NewJob::new("record", &()))
            .await
            .unwrap(),
    );
    Worker::new(state.clone(), registry)
        .run_until_idle()
        .await
        .unwrap();
    let row = job(&pool, boom).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.last_error.as_deref(), Some("the boom handler panicked"));
    assert_eq!(*runs.lock().unwrap(), vec![fine]);
}

#[sqlx::test]
async fn a_job_whose_worker_died_runs_again_once_its_lease_expires(pool: PgPool) {
    let state = state_with(&pool, &[("INBOXGROVE_JOBS__LEASE_SECS", "1")]).await;
    let runs = Runs::default();
    let id = created(
        state
            .jobs
            .enqueue(NewJob::new("record", &()))
            .await
            .unwrap(),
    );

    // A worker claims it, then its process dies before finishing.
    let dead = Uuid::new_v4();
    let claimed = db::jobs::claim(&pool, dead, 1.0, &["record".to_string()])
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.id, id);

    let worker = Worker::new(state.clone(), recording(&runs));
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        0,
        "leased: not taken"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        1,
        "taken after the lease"
    );

    let row = job(&pool, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("done", 2));
    assert_eq!(*runs.lock().unwrap(), vec![id]);
    // The dead worker coming back cannot overwrite the outcome: its claim is fenced.
    assert!(!db::jobs::complete(&pool, id, dead).await.unwrap());
}

#[sqlx::test]
async fn two_processes_working_in_parallel_never_run_the_same_job_twice(pool: PgPool) {
    let fast = [("INBOXGROVE_JOBS__POLL_INTERVAL_MS", "20")];
    let a = state_with(&pool, &fast).await;
    let b = other_process(&pool, &fast).await;
    let runs = Runs::default();
    let registry = {
        let runs = runs.clone();
        Registry::new().handle("slow", move |_state, job| {
            let runs = runs.clone();
            async move {
                runs.lock().unwrap().push(job.id);
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                Ok(())
            }
        })
    };
    const JOBS: usize = 60;
    let mut ids = HashSet::new();
    for i in 0..JOBS {
        ids.insert(created(
            a.jobs.enqueue(NewJob::new("slow", &i)).await.unwrap(),
        ));
    }

    let workers_a = spawn_workers(&a, registry.clone(), 3);
    let workers_b = spawn_workers(&b, registry, 3);
    wait_for("every job to finish", async || {
        scalar_on(&pool, "SELECT count(*) FROM jobs WHERE status = 'done'").await == JOBS as i64
    })
    .await;
    workers_a.stop(std::time::Duration::from_secs(5)).await;
    workers_b.stop(std::time::Duration::from_secs(5)).await;

    let runs = runs.lock().unwrap().clone();
    let distinct: HashSet<Uuid> = runs.iter().copied().collect();
    assert_eq!(runs.len(), JOBS, "each job ran exactly once");
    assert_eq!(distinct, ids);
    assert_eq!(
        scalar_on(&pool, "SELECT max(attempts)::int8 FROM jobs").await,
        1
    );
}

#[sqlx::test]
async fn a_periodic_job_is_enqueued_once_per_period_across_processes(pool: PgPool) {
    let fast = [("INBOXGROVE_JOBS__POLL_INTERVAL_MS", "20")];
    let a = state_with(&pool, &fast).await;
    let b = other_process(&pool, &fast).await;
    let runs = Runs::default();
    let registry = recording(&runs).every("record", std::time::Duration::from_secs(3600));
    let workers_a = spawn_workers(&a, registry.clone(), 2);
    let workers_b = spawn_workers(&b, registry, 2);
    wait_for("the periodic job to run", async || {
        !runs.lock().unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    workers_a.stop(std::time::Duration::from_secs(5)).await;
    workers_b.stop(std::time::Duration::from_secs(5)).await;

    assert_eq!(runs.lock().unwrap().len(), 1);
    assert_eq!(count(&pool, "jobs").await, 1);
}

// ---------------------------------------------------------------------------------------------
// The trial reminder

struct Tenant {
    id: Uuid,
    owner: String,
}

/// A tenant with an owner (and a member, who must not be emailed) whose own trial ends at
/// `trial_ends_at`.
async fn tenant(pool: &PgPool, name: &str, trial_ends_at: DateTime<Utc>) -> Tenant {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name, trial_ends_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(trial_ends_at)
        .execute(pool)
        .await
        .unwrap();
    let slug = name.to_lowercase().replace(' ', "-");
    let owner = format!("owner@{slug}.test");
    for (email, role) in [
        (owner.clone(), "owner"),
        (format!("member@{slug}.test"), "member"),
    ] {
        let user = Uuid::new_v4();
        sqlx::query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')")
            .bind(user)
            .bind(&email)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(user)
            .bind(role)
            .execute(pool)
            .await
            .unwrap();
    }
    Tenant { id, owner }
}

async fn subscription(
    pool: &PgPool,
    tenant: &Tenant,
    status: &str,
    trial_end: Option<DateTime<Utc>>,
    age_days: i64,
) {
    sqlx::query(
        "INSERT INTO billing_subscriptions (id, tenant_id, customer_id, status, price_id, item_id,
                trial_end, src_created, src_type_rank, src_status_rank, src_event_id)
         VALUES ($1, $2, 'cus_x', $3, 'price_starter_monthly', 'si_x', $4, $5, 0, 0, 'evt_x')",
    )
    .bind(format!("sub_{}", Uuid::new_v4().simple()))
    .bind(tenant.id)
    .bind(status)
    .bind(trial_end)
    .bind(Utc::now() - Duration::days(age_days))
    .execute(pool)
    .await
    .unwrap();
}

async fn outbox(pool: &PgPool) -> Vec<(String, String, String, String)> {
    sqlx::query_as("SELECT to_addr, subject, body_text, status FROM mail_outbox ORDER BY to_addr")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_trial_ending_in_20_hours_gets_exactly_one_reminder_when_the_scanner_runs_twice(
    pool: PgPool,
) {
    let state = state_with(
        &pool,
        &[
            ("INBOXGROVE_SERVER__PUBLIC_URL", "https://app.example.test"),
            ("INBOXGROVE_SERVER__PUBLIC_DEMO", "true"),
        ],
    )
    .await;
    let ends = Utc::now() + Duration::hours(20);
    let acme = tenant(&pool, "Acme Outreach", ends).await;
    let worker = Worker::new(state.clone(), startup::app_registry(&state.settings));

    for _ in 0..2 {
        state
            .jobs
            .enqueue(NewJob::new(trial_reminder::SCAN_KIND, &()))
            .await
            .unwrap();
        worker.run_until_idle().await.unwrap();
    }
    // A second process scanning at the same moment changes nothing either.
    let other = other_process(&pool, &[]).await;
    let (x, y) = tokio::join!(trial_reminder::scan(&state), trial_reminder::scan(&other));
    assert_eq!(x.unwrap() + y.unwrap(), 0);
    worker.run_until_idle().await.unwrap();

    let mails = outbox(&pool).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (to, subject, body, status) = &mails[0];
    assert_eq!(to, &acme.owner, "the owner, not the member");
    assert_eq!(subject, "Your InboxGrove trial ends tomorrow");
    assert!(
        body.contains(&ends.format("%-d %B %Y at %H:%M UTC").to_string()),
        "{body}"
    );
    assert!(body.contains("https://app.example.test/billing"), "{body}");
    assert_eq!(status, "sent");
    assert_eq!(
        scalar_on(
            &pool,
            "SELECT count(*) FROM jobs WHERE kind = 'trial_reminder' AND status = 'done'"
        )
        .await,
        1
    );
}

#[sqlx::test]
async fn a_trial_ending_in_3_days_gets_no_reminder(pool: PgPool) {
    let state = state(&pool).await;
    tenant(&pool, "Later Co", Utc::now() + Duration::days(3)).await;
    tenant(&pool, "Ended Co", Utc::now() - Duration::hours(1)).await;
    assert_eq!(trial_reminder::scan(&state).await.unwrap(), 0);
    Worker::new(state.clone(), startup::app_registry(&state.settings))
        .run_until_idle()
        .await
        .unwrap();
    assert!(outbox(&pool).await.is_empty());
}

#[sqlx::test]
async fn the_trial_end_comes_from_the_newest_trialing_subscription_else_the_tenant(pool: PgPool) {
    let state = state(&pool).await;
    let soon = Utc::now() + Duration::hours(20);
    let later = Utc::now() + Duration::days(5);
    // Its tenant trial is far off, but its Stripe trial ends tomorrow: reminded.
    let stripe_trial = tenant(&pool, "Stripe Trial", later).await;
    subscription(&pool, &stripe_trial, "trialing", Some(soon), 0).await;
    // An older trialing row ending soon is superseded by the newest one.
    let extended = tenant(&pool, "Extended Co", soon).await;
    subscription(&pool, &extended, "trialing", Some(soon), 3).await;
    subscription(&pool, &extended, "trialing", Some(later), 1).await;
    // Subscribed and paying: its leftover tenant trial date means nothing.
    let paying = tenant(&pool, "Paying Co", soon).await;
    subscription(&pool, &paying, "active", None, 1).await;

    assert_eq!(trial_reminder::scan(&state).await.unwrap(), 1);
    Worker::new(state.clone(), startup::app_registry(&state.settings))
        .run_until_idle()
        .await
        .unwrap();
    let to: Vec<String> = outbox(&pool).await.into_iter().map(|m| m.0).collect();
    assert_eq!(to, vec![stripe_trial.owner]);
}

#[sqlx::test]
async fn a_reminder_whose_trial_changed_since_the_scan_is_not_sent(pool: PgPool) {
    let state = state(&pool).await;
    let acme = tenant(&pool, "Acme Outreach", Utc::now() + Duration::hours(20)).await;
    assert_eq!(trial_reminder::scan(&state).await.unwrap(), 1);
    // The customer subscribes before the reminder job runs.
    subscription(&pool, &acme, "active", None, 0).await;
    Worker::new(state.clone(), startup::app_registry(&state.settings))
        .run_until_idle()
        .await
        .unwrap();
    assert!(outbox(&pool).await.is_empty());
    assert_eq!(
        scalar_on(
            &pool,
            "SELECT count(*) FROM jobs WHERE kind = 'trial_reminder' AND status = 'done'"
        )
        .await,
        1
    );
}

#[sqlx::test]
async fn the_running_app_sends_the_reminder_by_itself_and_the_dev_outbox_lists_it(pool: PgPool) {
    startup::migrate(&pool).await.unwrap();
    let acme = tenant(&pool, "Acme Outreach", Utc::now() + Duration::hours(20)).await;
    let app = spawn_app_with(pool.clone(), &[("INBOXGROVE_JOBS__POLL_INTERVAL_MS", "20")]).await;
    wait_for("the reminder", async || {
        count(&pool, "mail_outbox").await == 1
    })
    .await;

    let staff = crate::kill_switch::staff(&app).await;
    let res = staff.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(&acme.owner), "{html}");
    assert!(html.contains("Your InboxGrove trial ends tomorrow"));
    assert!(html.contains("/billing"));
    assert!(html.contains("<td>sent</td>"));
}

// ---------------------------------------------------------------------------------------------
// Mail

fn mail(to: &str, subject: &str, key: Option<&str>) -> OutgoingMail {
    OutgoingMail {
        to: EmailAddress::parse(to).unwrap(),
        subject: subject.into(),
        body: "Hello <b>there</b>".into(),
        tenant_id: None::<TenantId>,
        idempotency_key: key.map(str::to_string),
    }
}

#[sqlx::test]
async fn the_dev_outbox_lists_mail_newest_first_with_markup_escaped(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let state = state(&pool).await;
    outbox::send(&state, &mail("first@acme.io", "First", None))
        .await
        .unwrap();
    outbox::send(&state, &mail("second@acme.io", "Second", None))
        .await
        .unwrap();

    let staff = crate::kill_switch::staff(&app).await;
    let res = staff.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let (first, second) = (
        html.find("first@acme.io").unwrap(),
        html.find("second@acme.io").unwrap(),
    );
    assert!(second < first, "newest first");
    assert!(html.contains("Hello &lt;b&gt;there&lt;/b&gt;"));
    assert!(!html.contains("<b>there</b>"));
}

#[sqlx::test]
async fn the_dev_outbox_is_not_found_when_mail_goes_out_over_smtp(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_MAIL__SMTP_HOST", "127.0.0.1")]).await;
    assert_eq!(app.get("/dev/outbox").await.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_message_with_an_idempotency_key_is_recorded_and_sent_once(pool: PgPool) {
    let state = state(&pool).await;
    for _ in 0..3 {
        outbox::send(&state, &mail("a@acme.io", "Once", Some("k1")))
            .await
            .unwrap();
    }
    assert_eq!(outbox(&pool).await.len(), 1);
}

/// A tiny SMTP server: accepts everything except recipients starting with `nobody@`
/// (550), and hands each accepted message's DATA to `received`.
async fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-fake\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT") && upper.contains("<NOBODY@") {
                        b"550 5.1.1 no such user\r\n"
                    } else if upper.starts_with("DATA") {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push(data);
                        b"250 2.0.0 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

#[sqlx::test]
async fn smtp_delivers_the_message_and_records_it_in_the_outbox(pool: PgPool) {
    let (port, received) = fake_smtp().await;
    let port = port.to_string();
    let state = state_with(
        &pool,
        &[
            ("INBOXGROVE_MAIL__SMTP_HOST", "127.0.0.1"),
            ("INBOXGROVE_MAIL__SMTP_PORT", &port),
            ("INBOXGROVE_MAIL__SMTP_TLS", "none"),
        ],
    )
    .await;
    assert_eq!(state.mailer.transport().as_str(), "smtp");

    outbox::send(
        &state,
        &mail(
            "owner@acme.io",
            "Your InboxGrove trial ends tomorrow",
            Some("k"),
        ),
    )
    .await
    .unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("To: owner@acme.io"), "{}", got[0]);
    assert!(got[0].contains("Subject: Your InboxGrove trial ends tomorrow"));
    assert!(got[0].contains("From: InboxGrove <hello@inboxgrove.local>"));
    assert!(got[0].contains("Hello <b>there</b>"));
    let rows = sqlx::query_as::<_, (String, String)>("SELECT transport, status FROM mail_outbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![("smtp".to_string(), "sent".to_string())]);

    // Sent once: the same key does not reach the server again.
    outbox::send(
        &state,
        &mail(
            "owner@acme.io",
            "Your InboxGrove trial ends tomorrow",
            Some("k"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);

    let refused = outbox::send(&state, &mail("nobody@acme.io", "Hi", None))
        .await
        .unwrap_err();
    assert!(matches!(refused, MailError::Rejected(_)), "{refused:?}");
    let failed: String =
        sqlx::query_scalar("SELECT status FROM mail_outbox WHERE to_addr = 'nobody@acme.io'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(failed, "failed");
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    scalar_on(pool, &format!("SELECT count(*) FROM {table}")).await
}

async fn scalar_on(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}
