//! Tenant-owned reads. Every function takes the `TenantCtx` first.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::server::auth::TenantCtx;

/// What the dashboard needs about the tenant and the signed-in user, in one round trip.
#[derive(sqlx::FromRow)]
pub struct DashboardRow {
    pub name: String,
    pub plan_id: Option<String>,
    pub trial_ends_at: DateTime<Utc>,
    pub user_email: String,
    /// Domains and inboxes the tenant holds, deleted ones excluded.
    pub domains: i64,
    pub inboxes: i64,
}

pub async fn dashboard_row(pool: &PgPool, ctx: &TenantCtx) -> anyhow::Result<DashboardRow> {
    sqlx::query_as(
        "SELECT t.name, t.plan_id, t.trial_ends_at,
                (SELECT email FROM users WHERE id = $2) AS user_email,
                (SELECT count(*) FROM domains WHERE tenant_id = t.id AND status <> 'deleted') AS domains,
                (SELECT count(*) FROM inboxes WHERE tenant_id = t.id AND status <> 'deleted') AS inboxes
           FROM tenants t WHERE t.id = $1",
    )
    .bind(ctx.tenant_id().0)
    .bind(ctx.user_id().0)
    .fetch_one(pool)
    .await
    .context("loading the dashboard")
}

/// Number of tenants on the platform (for staff).
pub async fn count_all(pool: &PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(pool)
        .await
        .context("counting tenants")
}
