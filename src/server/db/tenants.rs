//! Tenant-owned reads. Every function takes the `TenantCtx` first.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::server::auth::TenantCtx;
use crate::server::db::billing::{BillingRow, CurrentSubscription};

/// What the dashboard needs about the tenant, its billing and the signed-in user, in one
/// round trip.
#[derive(sqlx::FromRow)]
pub struct DashboardRow {
    pub name: String,
    pub user_email: String,
    #[sqlx(flatten)]
    pub billing: BillingRow,
    /// The governing subscription, if any (see `billing::current_subscription`).
    pub sub_id: Option<String>,
    pub sub_status: Option<String>,
    pub sub_plan_id: Option<String>,
    pub sub_item_id: Option<String>,
    pub sub_current_period_end: Option<DateTime<Utc>>,
    pub sub_trial_end: Option<DateTime<Utc>>,
    pub sub_cancel_at_period_end: Option<bool>,
}

impl DashboardRow {
    pub fn subscription(&self) -> Option<CurrentSubscription> {
        Some(CurrentSubscription {
            id: self.sub_id.clone()?,
            status: self.sub_status.clone()?,
            plan_id: self.sub_plan_id.clone(),
            item_id: self.sub_item_id.clone()?,
            current_period_end: self.sub_current_period_end,
            trial_end: self.sub_trial_end,
            cancel_at_period_end: self.sub_cancel_at_period_end.unwrap_or(false),
        })
    }
}

pub async fn dashboard_row(pool: &PgPool, ctx: &TenantCtx) -> anyhow::Result<DashboardRow> {
    sqlx::query_as(
        "SELECT t.name, t.trial_ends_at,
                (SELECT email FROM users WHERE id = $2) AS user_email,
                (SELECT customer_id FROM billing_customers WHERE tenant_id = t.id) AS customer_id,
                (SELECT count(*) FROM domains WHERE tenant_id = t.id AND status NOT IN ('deleted', 'failed')) AS domains,
                (SELECT count(*) FROM inboxes WHERE tenant_id = t.id AND status <> 'deleted') AS inboxes,
                (SELECT category FROM suspensions WHERE tenant_id = t.id AND lifted_at IS NULL
                  ORDER BY created_at LIMIT 1) AS suspension,
                s.id AS sub_id, s.status AS sub_status, s.plan_id AS sub_plan_id, s.item_id AS sub_item_id,
                s.current_period_end AS sub_current_period_end, s.trial_end AS sub_trial_end,
                s.cancel_at_period_end AS sub_cancel_at_period_end
           FROM tenants t
           LEFT JOIN LATERAL (
                SELECT * FROM billing_subscriptions WHERE tenant_id = t.id
                 ORDER BY (status NOT IN ('canceled', 'incomplete_expired')) DESC, src_created DESC
                 LIMIT 1) s ON true
          WHERE t.id = $1",
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
