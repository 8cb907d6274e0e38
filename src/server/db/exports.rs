//! Workspace exports (see `services::workspace_export`): the request, the built archive, the
//! download. The entity reads run in the tenant's own transaction (row-level security), so
//! an export holds that workspace's rows only.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{TenantId, UserId};

pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    include_credentials: bool,
) -> super::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO workspace_exports (id, tenant_id, requested_by, include_credentials)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(user.0)
    .bind(include_credentials)
    .execute(conn)
    .await
    .context("recording an export")?;
    Ok(id)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ExportRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub requested_by: Option<Uuid>,
    pub include_credentials: bool,
    pub status: String,
}

/// The export job's view of its row (the system path).
pub async fn get(pool: &PgPool, id: Uuid) -> super::Result<Option<ExportRow>> {
    sqlx::query_as(
        "SELECT id, tenant_id, requested_by, include_credentials, status
           FROM workspace_exports WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("loading an export")
}

/// Stores the archive and its link's token hash: ready until `expires_at`.
pub async fn finish(
    pool: &PgPool,
    id: Uuid,
    archive: &[u8],
    token_hash: &[u8],
    ttl_secs: i64,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE workspace_exports
            SET status = 'ready', archive = $2, token_hash = $3,
                expires_at = now() + make_interval(secs => $4)
          WHERE id = $1",
    )
    .bind(id)
    .bind(archive)
    .bind(token_hash)
    .bind(ttl_secs as f64)
    .execute(pool)
    .await
    .context("storing an export")
    .map(drop)
}

/// A new token for a ready export whose mail never went out.
pub async fn retoken(pool: &PgPool, id: Uuid, token_hash: &[u8]) -> super::Result<()> {
    sqlx::query("UPDATE workspace_exports SET token_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(token_hash)
        .execute(pool)
        .await
        .context("renewing an export's link")
        .map(drop)
}

/// The archive, if `id` is this tenant's ready export, the token is its link's, and the link
/// has not expired; counts the download.
pub async fn download(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    token_hash: &[u8],
) -> super::Result<Option<(Vec<u8>, DateTime<Utc>)>> {
    sqlx::query_as(
        "UPDATE workspace_exports SET downloads = downloads + 1
          WHERE id = $1 AND tenant_id = $2 AND status = 'ready' AND token_hash = $3
            AND expires_at > now()
         RETURNING archive, created_at",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(token_hash)
    .fetch_optional(conn)
    .await
    .context("downloading an export")
}

/// Drops the archives of exports expired for a day (hourly cleanup).
pub async fn prune(pool: &PgPool) -> super::Result<u64> {
    let done =
        sqlx::query("DELETE FROM workspace_exports WHERE expires_at < now() - interval '1 day'")
            .execute(pool)
            .await
            .context("pruning exports")?;
    Ok(done.rows_affected())
}

/// One entity of the archive as a JSON array, read in the tenant's transaction.
pub async fn entity(
    conn: &mut PgConnection,
    sql: &str,
    tenant: TenantId,
) -> super::Result<serde_json::Value> {
    sqlx::query_scalar(&format!(
        "SELECT coalesce(json_agg(row_to_json(x)), '[]'::json) FROM ({sql}) x"
    ))
    .bind(tenant.0)
    .fetch_one(conn)
    .await
    .context("reading an entity for the export")
}

/// What the archive holds, one file each: `(file, query)`, each query's `$1` the tenant. No
/// secret column is named (DKIM keys, inbox passwords): credentials go only in their own file,
/// when asked for.
pub const ENTITIES: &[(&str, &str)] = &[
    (
        "workspace.json",
        "SELECT id, name, website, status, plan_id, trial_ends_at, created_at FROM tenants WHERE id = $1",
    ),
    (
        "members.json",
        "SELECT u.email, m.role, m.created_at AS joined_at FROM memberships m
           JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 ORDER BY m.created_at",
    ),
    (
        "domains.json",
        "SELECT d.id, d.name, d.status, d.kind, d.health, d.nameservers, d.expires_at,
                d.dkim_selector, d.dkim_public_key, d.created_at,
                (SELECT coalesce(json_agg(json_build_object('purpose', r.purpose, 'kind', r.kind, 'name', r.name, 'content', r.content, 'priority', r.priority, 'status', r.status)), '[]'::json)
                   FROM domain_records r WHERE r.domain_id = d.id) AS records
           FROM domains d WHERE d.tenant_id = $1 ORDER BY d.created_at",
    ),
    (
        "inboxes.json",
        "SELECT i.id, i.address, i.first_name, i.last_name, i.display_name, i.status,
                i.daily_cap, i.created_at
           FROM inboxes i WHERE i.tenant_id = $1 AND i.status <> 'deleted' ORDER BY i.created_at",
    ),
    (
        "subscription.json",
        "SELECT * FROM billing_subscriptions WHERE tenant_id = $1",
    ),
    (
        "invoices.json",
        "SELECT * FROM billing_invoices WHERE tenant_id = $1",
    ),
    (
        "ledger.json",
        "SELECT * FROM ledger_entries WHERE tenant_id = $1",
    ),
    (
        "audit.json",
        "SELECT at, actor_kind, actor_label, action, target, before, after
           FROM audit_log WHERE tenant_id = $1 ORDER BY id",
    ),
];
