//! Tenant-owned reads. Every function takes the `TenantCtx` first.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::server::auth::TenantCtx;

pub struct TenantRow {
    pub name: String,
    pub plan_id: Option<String>,
    pub trial_ends_at: DateTime<Utc>,
}

pub async fn overview(pool: &PgPool, ctx: &TenantCtx) -> anyhow::Result<TenantRow> {
    let (name, plan_id, trial_ends_at): (String, Option<String>, DateTime<Utc>) =
        sqlx::query_as("SELECT name, plan_id, trial_ends_at FROM tenants WHERE id = $1")
            .bind(ctx.tenant_id().0)
            .fetch_one(pool)
            .await
            .context("loading tenant")?;
    Ok(TenantRow {
        name,
        plan_id,
        trial_ends_at,
    })
}

/// (domains, inboxes) the tenant holds, deleted ones excluded.
pub async fn usage_counts(pool: &PgPool, ctx: &TenantCtx) -> anyhow::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM domains WHERE tenant_id = $1 AND status <> 'deleted'),
                (SELECT count(*) FROM inboxes WHERE tenant_id = $1 AND status <> 'deleted')",
    )
    .bind(ctx.tenant_id().0)
    .fetch_one(pool)
    .await
    .context("counting usage")
}

/// Number of tenants on the platform (for the seed summary and staff views).
pub async fn count_all(pool: &PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(pool)
        .await
        .context("counting tenants")
}
