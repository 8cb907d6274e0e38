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
    /// With the deliverability box: sent since the first of the month (UTC), how many of
    /// those were sample records, and the three worst inboxes by score.
    #[sqlx(default)]
    pub sent_this_month: Option<i64>,
    #[sqlx(default)]
    pub sandbox_this_month: Option<i64>,
    #[sqlx(default)]
    pub worst: Option<sqlx::types::Json<Vec<crate::server::db::deliverability::WorstRow>>>,
}

/// The dashboard's row; `with_box`: with the deliverability box's figures too, in the same
/// statement (no extra round trip).
///
/// The user's email; for staff viewing the workspace as its owner (not a member, so their
/// own row is hidden by row-level security), the owner's.
const USER_EMAIL: &str = "coalesce((SELECT email FROM users WHERE id = $2),
        (SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.tenant_id = t.id AND m.role = 'owner' ORDER BY m.created_at LIMIT 1), '')
        AS user_email";

pub async fn dashboard_row(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    with_box: bool,
) -> super::Result<DashboardRow> {
    if !with_box {
        return sqlx::query_as(&format!(
            "SELECT t.name, {USER_EMAIL}, {STATE_COLUMNS}
             {STATE_FROM} WHERE t.id = $1"
        ))
        .bind(ctx.tenant_id().0)
        .bind(ctx.user_id().0)
        .fetch_one(conn)
        .await
        .context("loading the dashboard");
    }
    let today = chrono::Utc::now().date_naive();
    let month = chrono::NaiveDate::from_ymd_opt(
        chrono::Datelike::year(&today),
        chrono::Datelike::month(&today),
        1,
    )
    .unwrap_or(today);
    sqlx::query_as(&format!(
        "SELECT t.name, {USER_EMAIL}, {STATE_COLUMNS},
                m.sent AS sent_this_month, m.sandbox AS sandbox_this_month,
                COALESCE((SELECT json_agg(w ORDER BY w.score, w.subject_id) FROM (
                    SELECT h.subject_id, COALESCE(i.address, '') AS name, h.score, h.level,
                           h.sent, h.bounce_rate, h.complaint_rate
                      FROM health_scores h
                      JOIN inboxes i ON i.id = h.subject_id AND i.tenant_id = h.tenant_id
                     WHERE h.tenant_id = $1 AND h.subject_kind = 'inbox' AND i.status <> 'deleted'
                     ORDER BY h.score, h.subject_id LIMIT 3) w), '[]'::json) AS worst
         {STATE_FROM}
         CROSS JOIN LATERAL (
             SELECT COALESCE(sum(delivered + hard_bounces), 0)::bigint AS sent,
                    COALESCE(sum(sandbox), 0)::bigint AS sandbox
               FROM delivery_daily
              WHERE tenant_id = $1 AND domain_id = $3 AND inbox_id = $3 AND day >= $4) m
         WHERE t.id = $1"
    ))
    .bind(ctx.tenant_id().0)
    .bind(ctx.user_id().0)
    .bind(uuid::Uuid::nil())
    .bind(month)
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
/// A tenant's name by id (the system path: staff's view-as banner).
pub async fn name_of(
    pool: &sqlx::PgPool,
    tenant: crate::domain::TenantId,
) -> super::Result<String> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(pool)
        .await
        .context("loading a workspace's name")
}

pub async fn name(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<String> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(ctx.tenant_id().0)
        .fetch_one(conn)
        .await
        .context("loading the workspace's name")
}
