//! Tenant-owned reads. Every function takes the `TenantCtx` first.

use super::Context;
use sqlx::{PgConnection, PgPool};

use crate::server::auth::TenantCtx;
use crate::server::db::billing::{BillingState, STATE_COLUMNS, STATE_FROM};

/// What the dashboard needs about the tenant, its billing and the signed-in user, in one
/// round trip.
#[derive(sqlx::FromRow)]
pub struct DashboardRow {
    pub name: String,
    pub user_email: String,
    #[sqlx(flatten)]
    pub billing: BillingState,
}

pub async fn dashboard_row(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> super::Result<DashboardRow> {
    sqlx::query_as(&format!(
        "SELECT t.name, (SELECT email FROM users WHERE id = $2) AS user_email, {STATE_COLUMNS}
         {STATE_FROM} WHERE t.id = $1"
    ))
    .bind(ctx.tenant_id().0)
    .bind(ctx.user_id().0)
    .fetch_one(conn)
    .await
    .context("loading the dashboard")
}

/// Number of tenants on the platform (for staff).
pub async fn count_all(pool: &PgPool) -> super::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(pool)
        .await
        .context("counting tenants")
}

pub async fn exists<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    tenant: crate::domain::TenantId,
) -> super::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
            .bind(tenant.0)
            .fetch_one(exec)
            .await?,
    )
}

/// The workspace's name.
pub async fn name(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<String> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(ctx.tenant_id().0)
        .fetch_one(conn)
        .await
        .context("loading the workspace's name")
}
