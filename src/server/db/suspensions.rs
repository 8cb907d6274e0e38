//! Suspensions (the kill switch): open ones block the tenant; lifted ones are kept as history.
//! `tenants.status` mirrors whether one is open.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{SuspensionCategory, TenantId};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SuspensionRow {
    pub id: Uuid,
    pub category: String,
    pub reason: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub lifted_at: Option<DateTime<Utc>>,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
    pub relay_id: Option<String>,
}

const COLUMNS: &str =
    "id, category, reason, actor, created_at, lifted_at, lifted_by, lift_reason, relay_id";

/// The tenant's open suspension (the oldest), if any.
pub async fn open<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Option<SuspensionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM suspensions WHERE tenant_id = $1 AND lifted_at IS NULL
          ORDER BY created_at LIMIT 1"
    ))
    .bind(tenant.0)
    .fetch_optional(exec)
    .await?)
}

/// Every suspension of the tenant, newest first.
pub async fn history<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Vec<SuspensionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM suspensions WHERE tenant_id = $1 ORDER BY created_at DESC"
    ))
    .bind(tenant.0)
    .fetch_all(exec)
    .await?)
}

/// Opens a suspension; `None` when one of this category is already open.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    category: SuspensionCategory,
    reason: &str,
    actor: &str,
    actor_id: Option<Uuid>,
) -> super::Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO suspensions (id, tenant_id, category, reason, actor, actor_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, category) WHERE lifted_at IS NULL DO NOTHING
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(tenant.0)
    .bind(category.as_str())
    .bind(reason)
    .bind(actor)
    .bind(actor_id)
    .fetch_optional(conn)
    .await?)
}

/// Lifts every open suspension of the tenant; how many.
pub async fn lift_all(
    conn: &mut PgConnection,
    tenant: TenantId,
    by: &str,
    reason: &str,
) -> super::Result<u64> {
    Ok(sqlx::query(
        "UPDATE suspensions SET lifted_at = now(), lifted_by = $2, lift_reason = $3
          WHERE tenant_id = $1 AND lifted_at IS NULL",
    )
    .bind(tenant.0)
    .bind(by)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected())
}

/// `tenants.status` follows whether a suspension is open; true when it changed.
pub async fn refresh_tenant_status(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE tenants SET status = s.status
           FROM (SELECT CASE WHEN EXISTS (
                     SELECT 1 FROM suspensions WHERE tenant_id = $1 AND lifted_at IS NULL)
                     THEN 'suspended' ELSE 'active' END AS status) s
          WHERE id = $1 AND tenants.status <> s.status",
    )
    .bind(tenant.0)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_relay_id<'e>(
    exec: impl PgExecutor<'e>,
    id: Uuid,
    relay_id: &str,
) -> super::Result<()> {
    sqlx::query("UPDATE suspensions SET relay_id = $2 WHERE id = $1")
        .bind(id)
        .bind(relay_id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Lifted suspensions whose relay hold was not released yet: (id, relay hold id).
pub async fn unreleased<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, relay_id FROM suspensions
          WHERE tenant_id = $1 AND lifted_at IS NOT NULL AND relay_id IS NOT NULL
            AND relay_released_at IS NULL",
    )
    .bind(tenant.0)
    .fetch_all(exec)
    .await?)
}

pub async fn mark_released<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> super::Result<()> {
    sqlx::query("UPDATE suspensions SET relay_released_at = now() WHERE id = $1")
        .bind(id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Tenants with an open suspension (for re-asserting the relay holds).
pub async fn suspended_tenants<'e>(exec: impl PgExecutor<'e>) -> super::Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM suspensions WHERE lifted_at IS NULL")
            .fetch_all(exec)
            .await?,
    )
}
