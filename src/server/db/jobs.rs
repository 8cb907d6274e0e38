//! The job queue's SQL. Claims use `FOR UPDATE SKIP LOCKED`; every state change after a claim
//! is fenced by the claim's `lock_token`, so a worker that lost its lease changes nothing.

use super::Context;
use crate::domain::{JobStatus, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub tenant_id: Option<TenantId>,
    pub dedupe_key: Option<String>,
    pub status: JobStatus,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub lock_token: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "id, kind, payload, tenant_id, dedupe_key, status, run_at, attempts, \
                       max_attempts, last_error, lock_token, created_at, updated_at, finished_at";

pub struct InsertJob<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    pub tenant_id: Option<TenantId>,
    pub dedupe_key: Option<&'a str>,
    /// `None`: due now.
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
}

/// Inserts the job; `None` when a job with the same dedupe key already exists (in any
/// status). Runs on any executor, so a caller can enqueue inside its own transaction.
pub async fn insert<'e>(
    exec: impl PgExecutor<'e>,
    job: &InsertJob<'_>,
) -> super::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "INSERT INTO jobs (id, kind, payload, tenant_id, dedupe_key, run_at, max_attempts)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7)
         ON CONFLICT ON CONSTRAINT jobs_dedupe_key DO NOTHING
         RETURNING id",
    )
    .bind(job.id)
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.tenant_id.map(|t| t.0))
    .bind(job.dedupe_key)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .fetch_optional(exec)
    .await
    .with_context(|| format!("enqueueing a {} job", job.kind))
}

/// Takes the oldest due pending job of one of `kinds` and leases it to `token` for
/// `lease_secs`. Jobs other workers hold are skipped, never waited for.
pub async fn claim(
    pool: &PgPool,
    token: Uuid,
    lease_secs: f64,
    kinds: &[String],
) -> super::Result<Option<JobRow>> {
    sqlx::query_as(&format!(
        "UPDATE jobs
            SET status = 'running', attempts = attempts + 1, lock_token = $1,
                locked_until = now() + make_interval(secs => $2), updated_at = now()
          WHERE id = (SELECT id FROM jobs
                       WHERE status = 'pending' AND run_at <= now() AND kind = ANY($3)
                       ORDER BY run_at, id
                       LIMIT 1
                       FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(token)
    .bind(lease_secs)
    .bind(kinds)
    .fetch_optional(pool)
    .await
    .context("claiming a job")
}

/// Renews the lease; false when the job is no longer ours.
pub async fn extend_lease(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    lease_secs: f64,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $3), updated_at = now()
          WHERE id = $1 AND lock_token = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(lease_secs)
    .execute(pool)
    .await
    .context("renewing a job lease")?;
    Ok(done.rows_affected() == 1)
}

/// The job succeeded. False when the lease was lost (another worker owns it now).
pub async fn complete(pool: &PgPool, id: Uuid, token: Uuid) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', last_error = NULL, lock_token = NULL,
                locked_until = NULL, finished_at = now(), updated_at = now()
          WHERE id = $1 AND lock_token = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .execute(pool)
    .await
    .context("completing a job")?;
    Ok(done.rows_affected() == 1)
}

/// The attempt failed: pending again after `delay_secs`, or `failed` when it was the last.
pub async fn fail_attempt(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    delay_secs: f64,
    error: &str,
    permanent: bool,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs
            SET status = CASE WHEN $5 OR attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
                run_at = CASE WHEN $5 OR attempts >= max_attempts THEN run_at
                              ELSE now() + make_interval(secs => $3) END,
                finished_at = CASE WHEN $5 OR attempts >= max_attempts THEN now() END,
                last_error = $4, lock_token = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND lock_token = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(delay_secs)
    .bind(error)
    .bind(permanent)
    .execute(pool)
    .await
    .context("recording a failed job attempt")?;
    Ok(done.rows_affected() == 1)
}

/// The handler chose not to run now (e.g. the tenant is suspended): pending until `until`,
/// and this attempt does not count.
pub async fn defer(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    until: DateTime<Utc>,
    reason: &str,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'pending', run_at = $3, attempts = attempts - 1,
                last_error = $4, lock_token = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND lock_token = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(until)
    .bind(reason)
    .execute(pool)
    .await
    .context("deferring a job")?;
    Ok(done.rows_affected() == 1)
}

/// Running jobs whose lease expired (their process died or hung) become pending again, or
/// `failed` when that was their last attempt. Returns how many were released.
pub async fn release_expired(pool: &PgPool) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE jobs
            SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                last_error = 'lease expired: the worker stopped or hung during attempt '
                             || attempts,
                run_at = now(), lock_token = NULL, locked_until = NULL, updated_at = now()
          WHERE status = 'running' AND locked_until < now()",
    )
    .execute(pool)
    .await
    .context("releasing expired job leases")?;
    Ok(done.rows_affected())
}

pub async fn get(pool: &PgPool, id: Uuid) -> super::Result<Option<JobRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .context("loading a job")
}

/// True when a job of `kind` for `tenant` is waiting to run (not yet claimed).
pub async fn pending_for_tenant(
    conn: &mut sqlx::PgConnection,
    kind: &str,
    tenant: TenantId,
) -> super::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND tenant_id = $2 AND status = 'pending')",
    )
    .bind(kind)
    .bind(tenant.0)
    .fetch_one(conn)
    .await?)
}
