//! Closing a workspace (see `services::closure`): the closure, its steps, and each step's
//! writes. The system path: the closure runs as a job, and staff can start it too.

use super::Context;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

/// Starts the closure: the tenant is `closed` at once (the door admits nobody into it from
/// now on) and what the final mail needs is kept. False when it was already closing.
pub async fn begin(
    conn: &mut PgConnection,
    tenant: TenantId,
    notify_email: Option<&str>,
    requested_by: &str,
) -> super::Result<bool> {
    let started: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO workspace_closures (tenant_id, workspace_name, notify_email, requested_by)
         SELECT id, name, $2, $3 FROM tenants WHERE id = $1
         ON CONFLICT (tenant_id) DO NOTHING
         RETURNING tenant_id",
    )
    .bind(tenant.0)
    .bind(notify_email)
    .bind(requested_by)
    .fetch_optional(&mut *conn)
    .await
    .context("starting a closure")?;
    sqlx::query("UPDATE tenants SET status = 'closed' WHERE id = $1")
        .bind(tenant.0)
        .execute(conn)
        .await
        .context("closing the tenant")?;
    Ok(started.is_some())
}

pub struct Closure {
    pub workspace_name: String,
    pub notify_email: Option<String>,
    pub finished: bool,
}

pub async fn get(pool: &PgPool, tenant: TenantId) -> super::Result<Option<Closure>> {
    let row: Option<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT workspace_name, notify_email, finished_at IS NOT NULL
           FROM workspace_closures WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("loading a closure")?;
    Ok(row.map(|(workspace_name, notify_email, finished)| Closure {
        workspace_name,
        notify_email,
        finished,
    }))
}

pub async fn steps_done(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<String>> {
    sqlx::query_scalar("SELECT step FROM workspace_closure_steps WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(pool)
        .await
        .context("loading closure steps")
}

pub async fn step_done(
    exec: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    step: &str,
    detail: serde_json::Value,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO workspace_closure_steps (tenant_id, step, detail) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, step) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(step)
    .bind(detail)
    .execute(exec)
    .await
    .context("recording a closure step")
    .map(drop)
}

pub async fn finish(pool: &PgPool, tenant: TenantId) -> super::Result<()> {
    sqlx::query("UPDATE workspace_closures SET finished_at = now() WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(pool)
        .await
        .context("finishing a closure")
        .map(drop)
}

/// The live subscription still to cancel, if any.
pub async fn live_subscription(pool: &PgPool, tenant: TenantId) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM billing_subscriptions
          WHERE tenant_id = $1 AND status NOT IN ('canceled', 'incomplete_expired')
            AND NOT cancel_at_period_end
          ORDER BY src_created DESC LIMIT 1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("finding the live subscription")
}

/// Every domain of the tenant: deleted (its name free again, never renewed), DKIM key gone.
pub async fn drop_domains(conn: &mut PgConnection, tenant: TenantId) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE domains SET status = 'deleted', dkim_private_key = NULL, updated_at = now()
          WHERE tenant_id = $1 AND (status <> 'deleted' OR dkim_private_key IS NOT NULL)",
    )
    .bind(tenant.0)
    .execute(conn)
    .await
    .context("dropping domains")?;
    Ok(done.rows_affected())
}

/// Every inbox of the tenant: deleted, its credentials and names wiped.
pub async fn drop_inboxes(conn: &mut PgConnection, tenant: TenantId) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes SET status = 'deleted', password_sealed = NULL, password_salt = NULL,
                password_sha256 = NULL, first_name = '', last_name = '', display_name = '',
                updated_at = now()
          WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .execute(conn)
    .await
    .context("dropping inboxes")?;
    Ok(done.rows_affected())
}

/// The memberships and invitations go; users left in no workspace (and not staff) are
/// deleted with their sessions, links and second factors. Returns (members, users deleted).
pub async fn drop_people(conn: &mut PgConnection, tenant: TenantId) -> super::Result<(u64, u64)> {
    let members: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM memberships WHERE tenant_id = $1 RETURNING user_id")
            .bind(tenant.0)
            .fetch_all(&mut *conn)
            .await
            .context("dropping memberships")?;
    sqlx::query("DELETE FROM invitations WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&mut *conn)
        .await
        .context("dropping invitations")?;
    let users = sqlx::query(
        "DELETE FROM users u WHERE u.id = ANY($1) AND NOT u.is_staff
            AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id)",
    )
    .bind(&members)
    .execute(conn)
    .await
    .context("dropping users")?;
    Ok((members.len() as u64, users.rows_affected()))
}

/// Personal fields out of what stays: the trail keeps what happened and when, not who (by
/// address), from where or with what; mails lose their recipient and body; the tenant its name
/// and website. Money records (invoices, ledger) stay as they are. Run inside a transaction.
pub async fn pseudonymise(conn: &mut PgConnection, tenant: TenantId) -> super::Result<u64> {
    // The trail's trigger lets personal fields change in this transaction only.
    sqlx::query("SET LOCAL app.audit_pseudonymise = 'on'")
        .execute(&mut *conn)
        .await
        .context("opening the trail to pseudonymise")?;
    let trail = sqlx::query(
        "UPDATE audit_log
            SET actor_label = CASE WHEN actor_label LIKE '%@%' THEN 'closed-account' ELSE actor_label END,
                ip = NULL, user_agent = NULL,
                before = before - ARRAY['email', 'company', 'name', 'to', 'address'],
                after = after - ARRAY['email', 'company', 'name', 'to', 'address']
          WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .execute(&mut *conn)
    .await
    .context("pseudonymising the trail")?;
    sqlx::query(
        "UPDATE mail_outbox SET to_addr = 'closed-account', body_text = '' WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .execute(&mut *conn)
    .await
    .context("pseudonymising mail")?;
    sqlx::query("DELETE FROM workspace_exports WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&mut *conn)
        .await
        .context("dropping exports")?;
    sqlx::query("UPDATE tenants SET name = 'Closed workspace', website = NULL WHERE id = $1")
        .bind(tenant.0)
        .execute(conn)
        .await
        .context("pseudonymising the tenant")?;
    Ok(trail.rows_affected())
}
