//! The durable job queue: Postgres rows claimed with `FOR UPDATE SKIP LOCKED`, so any number
//! of app processes can run workers against one database.
//!
//! - **Enqueue** with [`JobQueue::enqueue`] (on the pool) or [`JobQueue::enqueue_in`] (inside
//!   the caller's transaction, so the job exists exactly when the caller's change does):
//!   `NewJob::new("kind", &payload).tenant(id).dedupe("key").at(when)`. A dedupe key is a
//!   unique constraint: a second job with the same key is never created, whatever the first
//!   one's status.
//! - **Handle** a kind by registering an async function in `startup::app_registry` (the
//!   registry is generic over its handlers' context, so this module names no service):
//!   `.handle("kind", |state, job| async move { … })`. It returns `Ok(())` (done),
//!   [`JobError::Retry`] (exponential backoff up to `max_attempts`, then `failed` with the
//!   error), [`JobError::Fatal`] (`failed` now) or [`JobError::Defer`] ("skipped, stay
//!   pending": e.g. a suspended tenant's job; the attempt does not count).
//! - **Periodic** work: `.every("kind", period)` enqueues one job per period, deduplicated
//!   across processes by the period's start.
//!
//! A claim is a lease renewed while the handler runs; a job whose process died is taken again
//! once its lease expires. Delivery is at least once: handlers must be idempotent (the mailer
//! takes an idempotency key for that).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::TenantId;
use crate::server::config::JobSettings;
use crate::server::db;

mod registry;
mod worker;

pub use registry::Registry;
pub use worker::{Worker, Workers, spawn_workers};

/// What workers need from the context their handlers get (`AppState` implements it): the
/// pool, the queue to enqueue periodic jobs through, and the `[jobs]` settings.
pub trait JobContext: Clone + Send + Sync + 'static {
    fn pool(&self) -> &PgPool;
    fn queue(&self) -> &JobQueue;
    fn job_settings(&self) -> &JobSettings;
    /// Where finished attempts are counted (`/metrics`), if anywhere.
    fn metrics(&self) -> Option<&crate::server::metrics::Metrics> {
        None
    }
}

/// The handle the rest of the app enqueues through (in `AppState`).
#[derive(Clone)]
pub struct JobQueue {
    pool: PgPool,
    wake: Arc<Notify>,
    default_max_attempts: i32,
}

/// What [`JobQueue::enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    Created(Uuid),
    /// A job with this dedupe key already exists; nothing was inserted.
    Duplicate,
}

impl JobQueue {
    pub fn new(pool: PgPool, settings: &JobSettings) -> Self {
        Self {
            pool,
            wake: Arc::new(Notify::new()),
            default_max_attempts: settings.max_attempts,
        }
    }

    /// Inserts the job and wakes a local worker.
    pub async fn enqueue(&self, job: NewJob) -> anyhow::Result<Enqueued> {
        let done = self.insert(&self.pool, job).await?;
        self.wake();
        Ok(done)
    }

    /// Inserts the job inside the caller's transaction. Call [`JobQueue::wake`] after the
    /// commit to start it at once (otherwise the next poll finds it).
    pub async fn enqueue_in(
        &self,
        conn: &mut PgConnection,
        job: NewJob,
    ) -> anyhow::Result<Enqueued> {
        self.insert(conn, job).await
    }

    /// Wakes one idle worker in this process.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn notified(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    async fn insert<'e>(
        &self,
        exec: impl sqlx::PgExecutor<'e>,
        job: NewJob,
    ) -> anyhow::Result<Enqueued> {
        insert_job(exec, job, self.default_max_attempts).await
    }
}

/// Inserts `job` inside the caller's transaction where no [`JobQueue`] is at hand (e.g. while
/// applying a payment webhook); the queue's [`JobQueue::wake`] starts it at once after commit.
pub async fn enqueue_in(
    conn: &mut PgConnection,
    settings: &JobSettings,
    job: NewJob,
) -> anyhow::Result<Enqueued> {
    insert_job(conn, job, settings.max_attempts).await
}

async fn insert_job<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    job: NewJob,
    default_max_attempts: i32,
) -> anyhow::Result<Enqueued> {
    let id = Uuid::new_v4();
    let inserted = db::jobs::insert(
        exec,
        &db::jobs::InsertJob {
            id,
            kind: &job.kind,
            payload: &job.payload,
            tenant_id: job.tenant_id,
            dedupe_key: job.dedupe_key.as_deref(),
            run_at: job.run_at,
            max_attempts: job.max_attempts.unwrap_or(default_max_attempts),
        },
    )
    .await?;
    Ok(match inserted {
        Some(id) => Enqueued::Created(id),
        None => Enqueued::Duplicate,
    })
}

/// A job to enqueue: `NewJob::new(kind, &payload)` then the optional parts.
#[derive(Clone, Debug)]
pub struct NewJob {
    kind: String,
    payload: serde_json::Value,
    tenant_id: Option<TenantId>,
    dedupe_key: Option<String>,
    run_at: Option<DateTime<Utc>>,
    max_attempts: Option<i32>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: &impl Serialize) -> Self {
        Self {
            kind: kind.into(),
            // Serializing plain data structs cannot fail; a map with non-string keys would.
            payload: serde_json::to_value(payload).expect("job payloads serialize to JSON"),
            tenant_id: None,
            dedupe_key: None,
            run_at: None,
            max_attempts: None,
        }
    }

    /// The tenant the work is for (lets tenant-wide policies such as suspension find it).
    pub fn tenant(mut self, tenant: TenantId) -> Self {
        self.tenant_id = Some(tenant);
        self
    }

    /// At most one job with this key ever exists.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Not before `when`.
    pub fn at(mut self, when: DateTime<Utc>) -> Self {
        self.run_at = Some(when);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }
}

/// A claimed job, as its handler sees it.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub tenant_id: Option<TenantId>,
    pub dedupe_key: Option<String>,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Job {
    /// The payload as `T`; a payload that does not fit fails the job for good.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.payload.clone()).map_err(|e| {
            JobError::Fatal(anyhow::Error::new(e).context(format!(
                "the payload of this {} job does not fit its handler",
                self.kind
            )))
        })
    }
}

impl From<db::jobs::JobRow> for Job {
    fn from(r: db::jobs::JobRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            tenant_id: r.tenant_id,
            dedupe_key: r.dedupe_key,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
            run_at: r.run_at,
            created_at: r.created_at,
        }
    }
}

/// How a handler ends other than `Ok(())`.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again after a backoff; `failed` once the attempts are used up.
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// Retrying cannot help: `failed` now.
    #[error("{0:#}")]
    Fatal(anyhow::Error),
    /// Skipped, stays pending until `until`; the attempt does not count.
    #[error("skipped: {reason}")]
    Defer {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// A database failure is worth another attempt, like any unexpected one.
impl From<crate::server::db::Error> for JobError {
    fn from(e: crate::server::db::Error) -> Self {
        Self::Retry(e.into())
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        Self::Retry(e)
    }
}

/// How long to wait after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`, capped.
pub fn backoff(attempt: i32, settings: &JobSettings) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(32);
    let delay_ms = settings
        .backoff_base_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.backoff_max_secs.saturating_mul(1000));
    Duration::from_millis(delay_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_ms: u64, max_secs: u64) -> JobSettings {
        JobSettings {
            backoff_base_ms: base_ms,
            backoff_max_secs: max_secs,
            ..JobSettings::default()
        }
    }

    #[test]
    fn backoff_doubles_with_each_failed_attempt() {
        let s = settings(10_000, 3600);
        let secs: Vec<u64> = (1..=5).map(|a| backoff(a, &s).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160]);
    }

    #[test]
    fn backoff_is_capped_at_the_maximum() {
        let s = settings(10_000, 3600);
        assert_eq!(backoff(10, &s), Duration::from_secs(3600));
        assert_eq!(backoff(i32::MAX, &s), Duration::from_secs(3600));
    }

    #[test]
    fn backoff_before_a_first_attempt_is_the_base() {
        let s = settings(250, 3600);
        assert_eq!(backoff(0, &s), Duration::from_millis(250));
        assert_eq!(backoff(1, &s), Duration::from_millis(250));
    }

    #[test]
    fn a_payload_that_does_not_fit_fails_the_job_for_good() {
        let job = Job {
            id: Uuid::nil(),
            kind: "k".into(),
            payload: serde_json::json!({"x": "not a number"}),
            tenant_id: None,
            dedupe_key: None,
            attempt: 1,
            max_attempts: 3,
            run_at: Utc::now(),
            created_at: Utc::now(),
        };
        #[derive(serde::Deserialize)]
        struct P {
            #[allow(dead_code)]
            x: i64,
        }
        assert!(matches!(job.payload::<P>(), Err(JobError::Fatal(_))));
    }
}
