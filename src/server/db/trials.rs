//! When trials end, and whom to tell.
//!
//! A tenant's trial end is the `trial_end` of its newest `trialing` subscription if it has
//! one; else `tenants.trial_ends_at` when it has no subscription at all; else (it subscribed
//! and is no longer trialing) none.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::TenantId;

/// `(tenant_id, trial_end)` for every tenant with a trial, per the rule above.
const TRIAL_ENDS: &str = "
    (SELECT DISTINCT ON (s.tenant_id) s.tenant_id, s.trial_end
       FROM billing_subscriptions s
      WHERE s.status = 'trialing'
      ORDER BY s.tenant_id, s.src_created DESC)
    UNION ALL
    SELECT t.id, t.trial_ends_at
      FROM tenants t
     WHERE NOT EXISTS (SELECT 1 FROM billing_subscriptions s WHERE s.tenant_id = t.id)";

/// Tenants whose trial ends in `(from, to]`, soonest first.
pub async fn ending_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> super::Result<Vec<(TenantId, DateTime<Utc>)>> {
    let rows: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(&format!(
        "SELECT tenant_id, trial_end FROM ({TRIAL_ENDS}) e
          WHERE trial_end > $1 AND trial_end <= $2
          ORDER BY trial_end, tenant_id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .context("finding trials that end soon")?;
    Ok(rows
        .into_iter()
        .map(|(t, end)| (TenantId(t), end))
        .collect())
}

/// The tenant's trial end now, if it is on a trial.
pub async fn trial_end(pool: &PgPool, tenant: TenantId) -> super::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(&format!(
        "SELECT trial_end FROM ({TRIAL_ENDS}) e WHERE tenant_id = $1 AND trial_end IS NOT NULL"
    ))
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("loading a tenant's trial end")
}

/// The tenant's name and its owner's email (the oldest owner if there are several).
pub async fn owner_contact(
    pool: &PgPool,
    tenant: TenantId,
) -> super::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT t.name, u.email
           FROM tenants t
           JOIN memberships m ON m.tenant_id = t.id AND m.role = 'owner'
           JOIN users u ON u.id = m.user_id
          WHERE t.id = $1
          ORDER BY m.created_at, u.id
          LIMIT 1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("loading the tenant's owner")
}
