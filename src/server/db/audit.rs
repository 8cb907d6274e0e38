//! The append-only audit log (a trigger refuses UPDATE and DELETE).

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::TenantId;

/// Who did it, from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// `user`, `staff`, `system` or `webhook`.
    pub kind: &'static str,
    pub id: Option<Uuid>,
    pub label: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct Entry<'a> {
    pub tenant: Option<TenantId>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    e: Entry<'_>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_kind, actor_id, actor_label, tenant_id, action, target,
             before, after, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(actor.kind)
    .bind(actor.id)
    .bind(&actor.label)
    .bind(e.tenant.map(|t| t.0))
    .bind(e.action)
    .bind(e.target)
    .bind(e.before)
    .bind(e.after)
    .bind(&actor.ip)
    .bind(&actor.user_agent)
    .execute(exec)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target: String,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The tenant's trail, newest first.
pub async fn for_tenant<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    limit: i64,
) -> anyhow::Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor_kind, actor_id, action, target, after, ip, user_agent
           FROM audit_log WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}
