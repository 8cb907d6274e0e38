//! The public API's rows: keys, metered usage, webhook endpoints and deliveries, and the
//! customer's keys for the cold-email tools. Tenant reads and writes take the tenant's
//! transaction; the meter's flush and the webhook sender use the system pool.

use super::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::server::auth::TenantCtx;
use crate::server::config::Settings;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub created_by_email: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewKey<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_key(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    key: &NewKey<'_>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, created_by, name, prefix, secret_hash, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.id)
    .bind(ctx.tenant_id().0)
    .bind(ctx.user_id().0)
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.secret_hash)
    .bind(&key.scopes)
    .bind(key.expires_at)
    .execute(conn)
    .await
    .context("storing an API key")?;
    Ok(())
}

/// The workspace's keys, newest first (revoked ones too, for the record).
pub async fn keys(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<Vec<KeyRow>> {
    sqlx::query_as(
        "SELECT k.id, k.name, k.prefix, k.scopes, k.created_at, u.email AS created_by_email,
                k.expires_at, k.last_used_at, k.last_used_ip, k.revoked_at
           FROM api_keys k JOIN users u ON u.id = k.created_by
          WHERE k.tenant_id = $1
          ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC
          LIMIT 200",
    )
    .bind(ctx.tenant_id().0)
    .fetch_all(conn)
    .await
    .context("listing API keys")
}

/// Revokes one of the workspace's live keys; its name and prefix, or `None` when there is no
/// such live key in this workspace.
pub async fn revoke_key(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    id: Uuid,
) -> super::Result<Option<(String, String)>> {
    sqlx::query_as(
        "UPDATE api_keys SET revoked_at = now()
          WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
          RETURNING name, prefix",
    )
    .bind(id)
    .bind(ctx.tenant_id().0)
    .fetch_optional(conn)
    .await
    .context("revoking an API key")
}

/// A key was used (written at most once a minute per key, off the request's path).
pub async fn touch_key(pool: &PgPool, id: Uuid, ip: &str) -> super::Result<()> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = now(), last_used_ip = $2
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
                             OR last_used_ip IS DISTINCT FROM $2)",
    )
    .bind(id)
    .bind(ip)
    .execute(pool)
    .await
    .context("recording a key's use")?;
    Ok(())
}

/// The month's stored call count of `tenant` and its allowance: its live subscription's plan's
/// `api_calls_per_month`, else the trial's.
pub async fn month_usage(
    pool: &PgPool,
    settings: &Settings,
    tenant: TenantId,
    month: NaiveDate,
) -> super::Result<(i64, i64)> {
    let (calls, plan, status): (i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT coalesce((SELECT calls FROM api_usage WHERE tenant_id = $1 AND month = $2), 0),
                s.plan_id, s.status
           FROM (SELECT 1) one
           LEFT JOIN LATERAL (
               SELECT plan_id, status FROM billing_subscriptions WHERE tenant_id = $1
                ORDER BY (status NOT IN ('canceled', 'incomplete_expired')) DESC, src_created DESC
                LIMIT 1) s ON true",
    )
    .bind(tenant.0)
    .bind(month)
    .fetch_one(pool)
    .await
    .context("reading the month's API calls")?;
    let paid = matches!(
        status.as_deref(),
        Some("active" | "trialing" | "past_due" | "unpaid" | "paused")
    );
    let allowed = plan
        .filter(|_| paid)
        .and_then(|p| settings.plans.get(&p))
        .map_or(settings.api.trial_calls_per_month, |p| {
            p.api_calls_per_month
        });
    Ok((calls, allowed))
}

/// Adds each `(tenant, month, calls)` to the stored counts in one statement; the new totals.
pub async fn add_usage(
    pool: &PgPool,
    batch: &[(Uuid, NaiveDate, i64)],
) -> super::Result<Vec<(Uuid, NaiveDate, i64)>> {
    let tenants: Vec<Uuid> = batch.iter().map(|b| b.0).collect();
    let months: Vec<NaiveDate> = batch.iter().map(|b| b.1).collect();
    let calls: Vec<i64> = batch.iter().map(|b| b.2).collect();
    // Ordered, so two replicas flushing at once lock rows in the same order (no deadlock).
    sqlx::query_as(
        "INSERT INTO api_usage (tenant_id, month, calls)
         SELECT t, m, c FROM unnest($1::uuid[], $2::date[], $3::bigint[]) AS u(t, m, c)
          WHERE EXISTS (SELECT 1 FROM tenants WHERE id = u.t)
          ORDER BY t, m
         ON CONFLICT (tenant_id, month) DO UPDATE SET calls = api_usage.calls + excluded.calls
         RETURNING tenant_id, month, calls",
    )
    .bind(&tenants)
    .bind(&months)
    .bind(&calls)
    .fetch_all(pool)
    .await
    .context("flushing API call counts")
}

/// The month's stored calls, read in the tenant's transaction (the billing page).
pub async fn calls_in(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    month: NaiveDate,
) -> super::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT calls FROM api_usage WHERE tenant_id = $1 AND month = $2), 0)",
    )
    .bind(ctx.tenant_id().0)
    .bind(month)
    .fetch_one(conn)
    .await
    .context("reading the month's API calls")
}
