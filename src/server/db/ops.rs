//! What operations watch, read at each `/metrics` scrape: the job queue per kind and the work
//! still open (relay publications, suspensions). Each query reads only partial indexes'
//! rows (pending, running, recently failed jobs; pending publications; open suspensions).

use sqlx::PgPool;

use super::Context;
use crate::server::metrics::{OpenWork, QueueKind};

/// The queue per kind, as every replica sees it.
pub async fn queue_by_kind(pool: &PgPool) -> super::Result<Vec<QueueKind>> {
    let rows: Vec<(String, i64, f64, i64, i64, i64)> = sqlx::query_as(
        "SELECT kind,
                count(*) FILTER (WHERE status = 'pending' AND run_at <= now()),
                COALESCE(EXTRACT(EPOCH FROM now() - min(run_at)
                         FILTER (WHERE status = 'pending' AND run_at <= now())), 0)::float8,
                count(*) FILTER (WHERE status = 'pending' AND run_at > now()),
                count(*) FILTER (WHERE status = 'running'),
                count(*) FILTER (WHERE status = 'failed')
           FROM (SELECT kind, status, run_at FROM jobs WHERE status IN ('pending', 'running')
                 UNION ALL
                 SELECT kind, status, run_at FROM jobs
                  WHERE status = 'failed' AND finished_at > now() - interval '1 hour') j
          GROUP BY kind
          ORDER BY kind",
    )
    .fetch_all(pool)
    .await
    .context("reading the job queue per kind")?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, due, oldest_due_secs, scheduled, running, failed_last_hour)| QueueKind {
                kind,
                due,
                oldest_due_secs,
                scheduled,
                running,
                failed_last_hour,
            },
        )
        .collect())
}

/// Relay publications waiting (and the oldest's age) and open suspensions.
pub async fn open_work(pool: &PgPool) -> super::Result<OpenWork> {
    let (relay_pending, relay_oldest_pending_secs, suspensions_open): (i64, f64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM relay_publications WHERE pending),
                    COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(requested_at))
                                FROM relay_publications WHERE pending), 0)::float8,
                    (SELECT count(DISTINCT tenant_id) FROM suspensions WHERE lifted_at IS NULL)",
        )
        .fetch_one(pool)
        .await
        .context("reading open relay publications and suspensions")?;
    Ok(OpenWork {
        relay_pending,
        relay_oldest_pending_secs,
        suspensions_open,
    })
}
