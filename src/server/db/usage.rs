//! Usage events (inbox-days, emails sent, API calls per workspace and month), the recorder's
//! cursors and watermark, and the extra-inbox peaks reported to Stripe. The recorder and the
//! overage report are maintenance work across tenants (the system path; the recorder under an
//! advisory lock, each of its statements whole on its own); the billing page reads one
//! tenant's figures in its own transaction.

use super::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

/// The workspace-level rows of `delivery_daily` (domain and inbox nil).
const NIL: Uuid = Uuid::nil();

/// Serializes recorders (two processes, or staff's clock and the hourly job) on this
/// connection's session until [`unlock_recorder`] (or the connection closes). Each statement of
/// a run is whole on its own, so no transaction stays open between them.
pub async fn lock_recorder(conn: &mut PgConnection) -> super::Result<()> {
    sqlx::query("SELECT pg_advisory_lock(hashtext('usage_recorder'))")
        .execute(conn)
        .await
        .context("locking the usage recorder")?;
    Ok(())
}

pub async fn unlock_recorder(conn: &mut PgConnection) -> super::Result<()> {
    sqlx::query("SELECT pg_advisory_unlock(hashtext('usage_recorder'))")
        .execute(conn)
        .await
        .context("unlocking the usage recorder")?;
    Ok(())
}

/// Where the last run stopped: (billing-clock day recorded, wall-clock day it ran on).
pub async fn watermark(conn: &mut PgConnection) -> super::Result<Option<(NaiveDate, NaiveDate)>> {
    sqlx::query_as("SELECT billing_day, wall_day FROM usage_recorder")
        .fetch_optional(conn)
        .await
        .context("reading the usage watermark")
}

pub async fn set_watermark(
    conn: &mut PgConnection,
    billing_day: NaiveDate,
    wall_day: NaiveDate,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO usage_recorder (id, billing_day, wall_day, ran_at) VALUES (true, $1, $2, now())
         ON CONFLICT (id) DO UPDATE SET billing_day = GREATEST(usage_recorder.billing_day, $1),
                                        wall_day = GREATEST(usage_recorder.wall_day, $2),
                                        ran_at = now()",
    )
    .bind(billing_day)
    .bind(wall_day)
    .execute(conn)
    .await
    .context("moving the usage watermark")?;
    Ok(())
}

/// One day on the billing clock to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    /// The first of its month.
    pub month: NaiveDate,
    /// `YYYY-MM-DD`, in the source key.
    pub label: String,
    /// Its start (00:00 UTC).
    pub starts: DateTime<Utc>,
}

/// Every workspace's live inboxes (not deleted) as its `inbox_days` of each of `days`: one
/// event per (workspace, day), raised to the highest count seen that day. The events written.
pub async fn record_inbox_days(conn: &mut PgConnection, days: &[Day]) -> super::Result<u64> {
    if days.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "WITH live AS (
             SELECT tenant_id, count(*)::bigint AS n FROM inboxes
              WHERE status <> 'deleted' GROUP BY tenant_id)
         INSERT INTO usage_events (tenant_id, month, kind, quantity, source_key, occurred_at)
         SELECT l.tenant_id, d.month, 'inbox_days', l.n,
                'inbox_days:' || l.tenant_id || ':' || d.label, d.starts
           FROM live l CROSS JOIN unnest($1::date[], $2::text[], $3::timestamptz[]) AS d(month, label, starts)
          ORDER BY 1, d.starts
         ON CONFLICT ON CONSTRAINT usage_events_source_key DO UPDATE
            SET quantity = EXCLUDED.quantity, recorded_at = now()
          WHERE usage_events.quantity < EXCLUDED.quantity",
    )
    .bind(days.iter().map(|d| d.month).collect::<Vec<_>>())
    .bind(days.iter().map(|d| d.label.clone()).collect::<Vec<_>>())
    .bind(days.iter().map(|d| d.starts).collect::<Vec<_>>())
    .execute(conn)
    .await
    .context("recording inbox-days")?;
    Ok(done.rows_affected())
}

/// A counter source: what has grown since the cursors becomes `kind` usage on `day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Messages the relay sent (delivered or hard-bounced), per day of `delivery_daily`.
    EmailsSent,
    /// Calls to the public API, per month of `api_usage`.
    ApiCalls,
}

impl Counter {
    pub fn kind(self) -> &'static str {
        match self {
            Self::EmailsSent => "emails_sent",
            Self::ApiCalls => "api_calls",
        }
    }

    /// Every workspace's running total per source period from `$2` on (`$1`: the nil id of
    /// the workspace-level rows).
    fn source(self) -> &'static str {
        match self {
            Self::EmailsSent => {
                "SELECT tenant_id, day AS source, (delivered + hard_bounces)::bigint AS total
                   FROM delivery_daily
                  WHERE domain_id = $1 AND inbox_id = $1 AND day >= $2"
            }
            Self::ApiCalls => {
                "SELECT tenant_id, month AS source, calls::bigint AS total
                   FROM api_usage WHERE month >= $2"
            }
        }
    }
}

/// Adds what each workspace's `counter` grew by since the last run (its sources from `since`
/// on) to its event of `day`, and moves the cursors, in one statement: a run repeated (or
/// cut short) adds nothing twice, and the caller holds [`lock_recorder`] so two runs never
/// read the same cursors at once. The workspaces touched.
pub async fn record_counter(
    conn: &mut PgConnection,
    counter: Counter,
    since: NaiveDate,
    day: &Day,
) -> super::Result<u64> {
    let kind = counter.kind();
    let done = sqlx::query(&format!(
        "WITH src AS ({source}),
              delta AS (
                  SELECT s.tenant_id, s.source, s.total, s.total - COALESCE(c.counted, 0) AS n
                    FROM src s
                    LEFT JOIN usage_cursors c
                      ON c.tenant_id = s.tenant_id AND c.kind = $3 AND c.source = s.source
                   WHERE s.total > COALESCE(c.counted, 0)),
              moved AS (
                  INSERT INTO usage_cursors (tenant_id, kind, source, counted)
                  SELECT tenant_id, $3, source, total FROM delta ORDER BY 1, 3
                  ON CONFLICT (tenant_id, kind, source) DO UPDATE SET counted = EXCLUDED.counted)
         INSERT INTO usage_events (tenant_id, month, kind, quantity, source_key, occurred_at)
         SELECT tenant_id, $4, $3, LEAST(sum(n), 9223372036854775807)::bigint,
                $3 || ':' || tenant_id || ':' || $5, $6
           FROM delta GROUP BY tenant_id ORDER BY tenant_id
         ON CONFLICT ON CONSTRAINT usage_events_source_key DO UPDATE
            SET quantity = LEAST(usage_events.quantity::numeric + EXCLUDED.quantity,
                                 9223372036854775807)::bigint,
                recorded_at = now()",
        source = counter.source()
    ))
    .bind(NIL)
    .bind(since)
    .bind(kind)
    .bind(day.month)
    .bind(&day.label)
    .bind(day.starts)
    .execute(conn)
    .await
    .with_context(|| format!("recording {kind}"))?;
    Ok(done.rows_affected())
}

/// Forgets cursors of source periods before `before` (no run reads them again).
pub async fn prune_cursors(conn: &mut PgConnection, before: NaiveDate) -> super::Result<()> {
    sqlx::query("DELETE FROM usage_cursors WHERE source < $1")
        .bind(before)
        .execute(conn)
        .await
        .context("pruning usage cursors")?;
    Ok(())
}

/// One workspace's recorded usage in `month`, read in its own transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthTotals {
    pub inbox_days: i64,
    pub emails_sent: i64,
    pub api_calls: i64,
}

pub async fn month_totals(
    conn: &mut PgConnection,
    tenant: TenantId,
    month: NaiveDate,
) -> super::Result<MonthTotals> {
    sqlx::query_as(
        "SELECT COALESCE(sum(quantity) FILTER (WHERE kind = 'inbox_days'), 0)::bigint AS inbox_days,
                COALESCE(sum(quantity) FILTER (WHERE kind = 'emails_sent'), 0)::bigint AS emails_sent,
                COALESCE(sum(quantity) FILTER (WHERE kind = 'api_calls'), 0)::bigint AS api_calls
           FROM usage_events WHERE tenant_id = $1 AND month = $2",
    )
    .bind(tenant.0)
    .bind(month)
    .fetch_one(conn)
    .await
    .context("reading the month's usage")
}

/// The period start the overage of a subscription is keyed by: a month before its current
/// period's end (plans are monthly), in UTC. Shared by every query below.
const PERIOD_START: &str =
    "((s.current_period_end AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC'";

/// A paid subscription whose workspace has more live inboxes than its plan includes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OverageCandidate {
    pub tenant_id: Uuid,
    pub subscription_id: String,
    pub customer_id: String,
    pub period_start: DateTime<Utc>,
    pub live: i64,
    pub included: i64,
    /// The peak already reported for this period, if any.
    pub reported: Option<i64>,
}

/// The governing subscription of every workspace that is active or past due on one of
/// `plans` (id, included inboxes: the plans with an overage price) and has more extra inboxes
/// than it reported for the current period (the system path).
pub async fn overage_due(
    pool: &PgPool,
    plans: &[(String, i64)],
) -> super::Result<Vec<OverageCandidate>> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(&format!(
        "SELECT t.id AS tenant_id, s.id AS subscription_id, s.customer_id,
                {PERIOD_START} AS period_start, n.live, p.included, r.peak AS reported
           FROM tenants t
           JOIN LATERAL (
               SELECT * FROM billing_subscriptions WHERE tenant_id = t.id
                ORDER BY (status NOT IN ('canceled', 'incomplete_expired')) DESC, src_created DESC
                LIMIT 1) s ON true
           JOIN unnest($1::text[], $2::bigint[]) AS p(plan_id, included) ON p.plan_id = s.plan_id
           CROSS JOIN LATERAL (
               SELECT count(*)::bigint AS live FROM inboxes
                WHERE tenant_id = t.id AND status <> 'deleted') n
           LEFT JOIN usage_overage_reports r
             ON r.subscription_id = s.id AND r.period_start = {PERIOD_START}
          WHERE s.status IN ('active', 'past_due') AND s.current_period_end IS NOT NULL
            AND n.live - p.included > COALESCE(r.peak, 0)
          ORDER BY t.id"
    ))
    .bind(plans.iter().map(|p| p.0.clone()).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.1).collect::<Vec<_>>())
    .fetch_all(pool)
    .await
    .context("finding overage to report")
}

pub struct Reported<'a> {
    pub tenant_id: Uuid,
    pub subscription_id: &'a str,
    pub customer_id: &'a str,
    pub period_start: DateTime<Utc>,
    pub peak: i64,
    pub identifier: &'a str,
    pub reported_at: DateTime<Utc>,
}

/// Keeps the peak Stripe was told for the period (only ever raised).
pub async fn record_report(pool: &PgPool, r: &Reported<'_>) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO usage_overage_reports AS o (subscription_id, period_start, tenant_id, customer_id,
             peak, identifier, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (subscription_id, period_start) DO UPDATE
            SET peak = EXCLUDED.peak, identifier = EXCLUDED.identifier,
                reported_at = EXCLUDED.reported_at
          WHERE o.peak < EXCLUDED.peak",
    )
    .bind(r.subscription_id)
    .bind(r.period_start)
    .bind(r.tenant_id)
    .bind(r.customer_id)
    .bind(r.peak)
    .bind(r.identifier)
    .bind(r.reported_at)
    .execute(pool)
    .await
    .context("recording the reported overage")?;
    Ok(())
}

/// The peak reported for a workspace's subscription in its current period (the billing page,
/// in the tenant's transaction).
pub async fn reported_peak(
    conn: &mut PgConnection,
    tenant: TenantId,
    subscription_id: &str,
    current_period_end: DateTime<Utc>,
) -> super::Result<i64> {
    sqlx::query_scalar(&format!(
        "SELECT COALESCE(max(r.peak), 0)::bigint
           FROM (SELECT $3::timestamptz AS current_period_end) s
           JOIN usage_overage_reports r ON r.period_start = {PERIOD_START}
          WHERE r.tenant_id = $1 AND r.subscription_id = $2"
    ))
    .bind(tenant.0)
    .bind(subscription_id)
    .bind(current_period_end)
    .fetch_one(conn)
    .await
    .context("reading the reported overage")
}
