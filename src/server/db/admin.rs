//! Staff reads across tenants (the admin panel). Only `services::admin`, behind the staff
//! check, calls these.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub owner_email: String,
    pub status: String,
    pub plan_id: Option<String>,
    pub domains: i64,
    pub inboxes: i64,
    pub created_at: DateTime<Utc>,
}

const TENANT_SELECT: &str = "SELECT t.id, t.name, t.status, t.plan_id, t.created_at,
    COALESCE((SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
               WHERE m.tenant_id = t.id ORDER BY (m.role = 'owner') DESC, m.created_at LIMIT 1), '') AS owner_email,
    (SELECT count(*) FROM domains d WHERE d.tenant_id = t.id AND d.status NOT IN ('deleted', 'failed')) AS domains,
    (SELECT count(*) FROM inboxes i WHERE i.tenant_id = t.id AND i.status <> 'deleted') AS inboxes
    FROM tenants t";

/// Name, member email or domain contains `q` (case-insensitive); `status` exact when set.
const TENANT_FILTER: &str = "($1 = '' OR t.name ILIKE '%' || $1 || '%'
        OR EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                    WHERE m.tenant_id = t.id AND u.email ILIKE '%' || $1 || '%')
        OR EXISTS (SELECT 1 FROM domains d WHERE d.tenant_id = t.id AND d.name ILIKE '%' || $1 || '%'))
    AND ($2 = '' OR t.status = $2)";

pub async fn search(
    pool: &PgPool,
    q: &str,
    status: &str,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<TenantRow>, i64)> {
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM tenants t WHERE {TENANT_FILTER}"
    ))
    .bind(q)
    .bind(status)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as(&format!(
        "{TENANT_SELECT} WHERE {TENANT_FILTER} ORDER BY t.created_at DESC OFFSET $3 LIMIT $4"
    ))
    .bind(q)
    .bind(status)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

pub async fn tenant(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<TenantRow>> {
    Ok(sqlx::query_as(&format!("{TENANT_SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn members(pool: &PgPool, id: Uuid) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.tenant_id = $1 ORDER BY m.created_at",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

pub async fn domains(pool: &PgPool, id: Uuid) -> anyhow::Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT name, status FROM domains WHERE tenant_id = $1 ORDER BY created_at")
            .bind(id)
            .fetch_all(pool)
            .await?,
    )
}
