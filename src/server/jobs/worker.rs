//! Workers: claim a due job, run its handler while renewing the lease, record the outcome.

use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{Enqueued, Job, JobContext, JobError, NewJob, Registry, backoff};
use crate::server::db;

/// Runs jobs of the kinds its registry handles. Cheap to clone.
pub struct Worker<C> {
    state: C,
    registry: Arc<Registry<C>>,
    kinds: Arc<Vec<String>>,
}

impl<C: Clone> Clone for Worker<C> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            registry: self.registry.clone(),
            kinds: self.kinds.clone(),
        }
    }
}

impl<C: JobContext> Worker<C> {
    pub fn new(state: C, registry: Registry<C>) -> Self {
        Self::shared(state, Arc::new(registry))
    }

    fn shared(state: C, registry: Arc<Registry<C>>) -> Self {
        let kinds = Arc::new(registry.kinds());
        Self {
            state,
            registry,
            kinds,
        }
    }

    fn lease_secs(&self) -> f64 {
        self.state.job_settings().lease_secs as f64
    }

    /// Claims one due job and runs it. False when none was due.
    pub async fn run_once(&self) -> anyhow::Result<bool> {
        let token = Uuid::new_v4();
        let Some(row) =
            db::jobs::claim(self.state.pool(), token, self.lease_secs(), &self.kinds).await?
        else {
            return Ok(false);
        };
        let job = Job::from(row);
        let outcome = match self.suspension_of(&job).await? {
            // The kill switch: a suspended tenant's work waits, not failed, until resume.
            Some(category) => Err(JobError::Defer {
                until: chrono::Utc::now() + chrono::Duration::minutes(5),
                reason: format!("the tenant is suspended ({category})"),
            }),
            None => self.run_handler(&job, token).await,
        };
        self.record(&job, token, outcome).await?;
        Ok(true)
    }

    /// The open suspension's category when `job` belongs to a suspended tenant and is not one
    /// of the kinds that run anyway.
    async fn suspension_of(&self, job: &Job) -> anyhow::Result<Option<String>> {
        match job.tenant_id {
            Some(tenant) if !self.registry.runs_while_suspended(&job.kind) => {
                Ok(db::suspensions::open(self.state.pool(), tenant)
                    .await?
                    .map(|s| s.category))
            }
            _ => Ok(None),
        }
    }

    /// Releases expired leases, then runs due jobs until none is left. Returns how many ran.
    pub async fn run_until_idle(&self) -> anyhow::Result<usize> {
        db::jobs::release_expired(self.state.pool()).await?;
        let mut ran = 0;
        while self.run_once().await? {
            ran += 1;
        }
        Ok(ran)
    }

    async fn run_handler(&self, job: &Job, token: Uuid) -> Result<(), JobError> {
        let handler = self
            .registry
            .handler(&job.kind)
            .expect("claimed only kinds with a handler")
            .clone();
        // Its own task, so a panic fails the attempt instead of killing the worker. Aborted if
        // this worker is (shutdown past its grace): the handler's connections, and any lock a
        // transaction of its holds, go with it, and the job's lease lets another retry it.
        let mut task = tokio::spawn(handler(self.state.clone(), job.clone()));
        let _abort_with_worker = AbortOnDrop(task.abort_handle());
        let every = Duration::from_secs_f64((self.lease_secs() / 3.0).max(0.05));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                joined = &mut task => {
                    return match joined {
                        Ok(outcome) => outcome,
                        Err(e) if e.is_panic() => {
                            Err(JobError::Retry(anyhow::anyhow!("the {} handler panicked", job.kind)))
                        }
                        Err(e) => Err(JobError::Retry(anyhow::Error::new(e))),
                    };
                }
                _ = renew.tick() => {
                    match db::jobs::extend_lease(self.state.pool(), job.id, token, self.lease_secs()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = %job.id, kind = %job.kind,
                            "job lease lost while running; another worker may take it"),
                        Err(e) => tracing::warn!(job = %job.id, error = format!("{e:#}"),
                            "renewing a job lease failed"),
                    }
                }
            }
        }
    }

    async fn record(
        &self,
        job: &Job,
        token: Uuid,
        outcome: Result<(), JobError>,
    ) -> anyhow::Result<()> {
        let pool = self.state.pool();
        let counted = match &outcome {
            Ok(()) => "done",
            Err(JobError::Defer { .. }) => "deferred",
            Err(JobError::Fatal(_)) => "failed",
            Err(_) if job.attempt >= job.max_attempts => "failed",
            Err(_) => "retried",
        };
        if let Some(m) = self.state.metrics() {
            m.job_finished(&job.kind, counted);
        }
        let ours = match outcome {
            Ok(()) => {
                tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempt, "job done");
                db::jobs::complete(pool, job.id, token).await?
            }
            Err(JobError::Defer { until, reason }) => {
                tracing::info!(job = %job.id, kind = %job.kind, %until, %reason, "job deferred");
                db::jobs::defer(pool, job.id, token, until, &format!("skipped: {reason}")).await?
            }
            Err(e) => {
                let permanent = matches!(e, JobError::Fatal(_));
                let message = e.to_string();
                let last = permanent || job.attempt >= job.max_attempts;
                let delay = backoff(job.attempt, self.state.job_settings());
                if last {
                    tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempt,
                        error = %message, "job failed for good");
                } else {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempt,
                        retry_in_ms = delay.as_millis() as u64, error = %message, "job attempt failed");
                }
                db::jobs::fail_attempt(
                    pool,
                    job.id,
                    token,
                    delay.as_secs_f64(),
                    &message,
                    permanent,
                )
                .await?
            }
        };
        if !ours {
            tracing::warn!(job = %job.id, kind = %job.kind,
                "job outcome not recorded: its lease had expired and another worker took it");
        }
        Ok(())
    }

    /// Enqueues this period's job for every periodic kind whose period started since `seen`.
    async fn enqueue_periodic(&self, now: DateTime<Utc>, seen: &mut HashMap<String, i64>) {
        for (kind, period) in self.registry.periodic() {
            let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
            let start_ms = now.timestamp_millis().div_euclid(period_ms) * period_ms;
            if seen.get(kind) == Some(&start_ms) {
                continue;
            }
            let start = Utc.timestamp_millis_opt(start_ms).single().unwrap_or(now);
            let job = NewJob::new(kind.clone(), &serde_json::json!({}))
                .at(start)
                .dedupe(format!("periodic:{kind}:{start_ms}"));
            match self.state.queue().enqueue(job).await {
                Ok(Enqueued::Created(id)) => {
                    tracing::debug!(%kind, job = %id, "periodic job enqueued");
                    seen.insert(kind.clone(), start_ms);
                }
                Ok(Enqueued::Duplicate) => {
                    seen.insert(kind.clone(), start_ms);
                }
                Err(e) => {
                    tracing::warn!(%kind, error = format!("{e:#}"), "enqueueing a periodic job failed")
                }
            }
        }
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>, schedules_periodic: bool) {
        let poll = Duration::from_millis(self.state.job_settings().poll_interval_ms);
        let wake = self.state.queue().notified();
        let mut seen = HashMap::new();
        while !*shutdown.borrow() {
            if schedules_periodic {
                self.enqueue_periodic(Utc::now(), &mut seen).await;
            }
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {
                    if let Err(e) = db::jobs::release_expired(self.state.pool()).await {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            "releasing expired job leases failed"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = format!("{e:#}"), "job worker error"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Running workers; [`Workers::stop`] lets each finish its current job.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Asks the workers to stop and waits up to `grace` for running jobs to finish. A job cut
    /// off after that keeps its lease until it expires, then any process retries it.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let all = async {
            for task in self.tasks.iter_mut() {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("job workers did not stop in time; their jobs will be retried");
            for task in &self.tasks {
                task.abort();
            }
        }
    }
}

/// Starts `count` worker tasks on `registry`; the first also enqueues the periodic jobs.
pub fn spawn_workers<C: JobContext>(state: &C, registry: Registry<C>, count: usize) -> Workers {
    let (shutdown, rx) = watch::channel(false);
    let registry = Arc::new(registry);
    let tasks = (0..count)
        .map(|i| {
            let worker = Worker::shared(state.clone(), registry.clone());
            tokio::spawn(worker.run(rx.clone(), i == 0))
        })
        .collect();
    if count > 0 {
        tracing::info!(workers = count, "job workers started");
    }
    Workers { shutdown, tasks }
}

/// Aborts a task when dropped (a no-op once it has finished).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
