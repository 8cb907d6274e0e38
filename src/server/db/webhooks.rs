//! Outbound webhooks' rows: endpoints, deliveries and their attempts, and the customer's
//! sealed keys for the cold-email tools. Customers' changes take the tenant's transaction;
//! the sender job uses the system pool.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

#[derive(sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The tenant's endpoints (at most 50).
pub async fn endpoints(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<EndpointRow>> {
    sqlx::query_as(
        "SELECT id, url, events, enabled, disabled_reason, failing_since
           FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at LIMIT 50",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await
    .context("listing webhook endpoints")
}

/// The last 20 deliveries of each of the tenant's endpoints.
pub async fn recent_deliveries(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT d.id, d.endpoint_id, d.event, d.status, d.attempts, d.last_status, d.last_ms,
                d.last_error, d.created_at
           FROM webhook_endpoints e
           CROSS JOIN LATERAL (SELECT * FROM webhook_deliveries x WHERE x.endpoint_id = e.id
                                ORDER BY x.created_at DESC LIMIT 20) d
          WHERE e.tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await
    .context("listing webhook deliveries")
}

pub async fn count_endpoints(conn: &mut PgConnection, tenant: TenantId) -> super::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(conn)
        .await
        .context("counting webhook endpoints")
}

pub async fn insert_endpoint(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    url: &str,
    events: &[String],
    sealed: &[u8],
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret_sealed)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(url)
    .bind(events)
    .bind(sealed)
    .execute(conn)
    .await
    .context("storing a webhook endpoint")?;
    Ok(())
}

/// Removes one of the tenant's endpoints; its URL, or `None` when there is no such endpoint.
pub async fn delete_endpoint(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 RETURNING url",
    )
    .bind(id)
    .bind(tenant.0)
    .fetch_optional(conn)
    .await
    .context("removing a webhook endpoint")
}

/// A new sealed secret; the old one signs beside it until `until`. False: no such endpoint.
pub async fn rotate_secret(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    until: DateTime<Utc>,
    sealed: &[u8],
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints
            SET previous_sealed = secret_sealed, previous_until = $3, secret_sealed = $4
          WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(until)
    .bind(sealed)
    .execute(conn)
    .await
    .context("rotating a webhook secret")?;
    Ok(done.rows_affected() > 0)
}

/// Turns an endpoint back on with its failure clock reset. False: no such endpoint.
pub async fn enable(conn: &mut PgConnection, tenant: TenantId, id: Uuid) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, failing_since = NULL
          WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant.0)
    .execute(conn)
    .await
    .context("enabling a webhook endpoint")?;
    Ok(done.rows_affected() > 0)
}

/// A delivery of the tenant made pending again; its attempts so far.
pub async fn reopen_delivery(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<i32>> {
    sqlx::query_scalar(
        "UPDATE webhook_deliveries SET status = 'pending'
          WHERE id = $1 AND tenant_id = $2 RETURNING attempts",
    )
    .bind(id)
    .bind(tenant.0)
    .fetch_optional(conn)
    .await
    .context("reopening a webhook delivery")
}

/// The tenant's enabled endpoints subscribed to `event`; with `only`, that one endpoint
/// whatever it subscribed to (a test event asked for from the page).
pub async fn subscribed(
    conn: &mut PgConnection,
    tenant: TenantId,
    event: &str,
    only: Option<Uuid>,
) -> super::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
          WHERE tenant_id = $1 AND enabled
            AND (($3::uuid IS NULL AND $2 = ANY(events)) OR id = $3)",
    )
    .bind(tenant.0)
    .bind(event)
    .bind(only)
    .fetch_all(conn)
    .await
    .context("finding subscribed endpoints")
}

pub async fn insert_delivery(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    endpoint: Uuid,
    event: &str,
    payload: &serde_json::Value,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event, payload)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(endpoint)
    .bind(event)
    .bind(payload)
    .execute(conn)
    .await
    .context("queueing a webhook delivery")?;
    Ok(())
}

/// One delivery with what sending it needs.
#[derive(sqlx::FromRow)]
pub struct Sending {
    pub tenant_id: Uuid,
    pub endpoint_id: Uuid,
    pub event: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub url: String,
    pub enabled: bool,
    pub secret_sealed: Vec<u8>,
    pub previous_sealed: Option<Vec<u8>>,
    pub previous_live: bool,
    pub failing_since: Option<DateTime<Utc>>,
}

pub async fn sending(pool: &PgPool, delivery: Uuid) -> super::Result<Option<Sending>> {
    sqlx::query_as(
        "SELECT d.tenant_id, d.endpoint_id, d.event, d.payload, d.status, d.attempts, e.url,
                e.enabled, e.secret_sealed, e.previous_sealed,
                coalesce(e.previous_until > now(), false) AS previous_live, e.failing_since
           FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.id = $1",
    )
    .bind(delivery)
    .fetch_optional(pool)
    .await
    .context("loading a webhook delivery")
}

/// A delivery whose endpoint was disabled is given up.
pub async fn give_up_disabled(pool: &PgPool, delivery: Uuid) -> super::Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'given_up', last_error = 'The endpoint is disabled.'
          WHERE id = $1",
    )
    .bind(delivery)
    .execute(pool)
    .await
    .context("giving up a delivery")?;
    Ok(())
}

/// What one attempt got.
pub struct Attempt<'a> {
    pub number: i32,
    pub status: Option<i32>,
    pub ms: i32,
    pub error: Option<&'a str>,
}

/// Logs the attempt and sets the delivery's outcome (`delivered`, `failed` or `given_up`).
pub async fn record_attempt(
    conn: &mut PgConnection,
    tenant: TenantId,
    delivery: Uuid,
    a: &Attempt<'_>,
    outcome: &str,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (tenant_id, delivery_id, status, ms, error)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.0)
    .bind(delivery)
    .bind(a.status)
    .bind(a.ms)
    .bind(a.error)
    .execute(&mut *conn)
    .await
    .context("logging a webhook attempt")?;
    sqlx::query(
        "UPDATE webhook_deliveries
            SET status = $2, attempts = $3, last_status = $4, last_ms = $5, last_error = $6,
                delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
          WHERE id = $1",
    )
    .bind(delivery)
    .bind(outcome)
    .bind(a.number)
    .bind(a.status)
    .bind(a.ms)
    .bind(a.error)
    .execute(conn)
    .await
    .context("recording a webhook outcome")?;
    Ok(())
}

/// The endpoint answered: its failure clock stops.
pub async fn endpoint_answered(conn: &mut PgConnection, endpoint: Uuid) -> super::Result<()> {
    sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
        .bind(endpoint)
        .execute(conn)
        .await
        .context("clearing an endpoint's failures")?;
    Ok(())
}

/// The endpoint failed: its failure clock starts (if stopped); with `disable_reason`, it is
/// disabled.
pub async fn endpoint_failed(
    conn: &mut PgConnection,
    endpoint: Uuid,
    disable_reason: Option<&str>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints
            SET failing_since = coalesce(failing_since, now()),
                enabled = enabled AND $2::text IS NULL,
                disabled_reason = coalesce($2, disabled_reason)
          WHERE id = $1",
    )
    .bind(endpoint)
    .bind(disable_reason)
    .execute(conn)
    .await
    .context("recording an endpoint's failure")?;
    Ok(())
}

/// The tenant's stored tool keys: (tool, last four characters).
pub async fn tool_hints(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT tool, key_hint FROM tool_connections WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(conn)
        .await
        .context("listing tool keys")
}

/// Stores the tenant's sealed key for `tool` (`None`: removes it).
pub async fn set_tool_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    tool: &str,
    key: Option<(&[u8], &str)>,
) -> super::Result<()> {
    match key {
        None => sqlx::query("DELETE FROM tool_connections WHERE tenant_id = $1 AND tool = $2")
            .bind(tenant.0)
            .bind(tool)
            .execute(conn)
            .await
            .context("removing a tool key")?,
        Some((sealed, hint)) => sqlx::query(
            "INSERT INTO tool_connections (tenant_id, tool, key_sealed, key_hint)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, tool) DO UPDATE
                SET key_sealed = excluded.key_sealed, key_hint = excluded.key_hint, updated_at = now()",
        )
        .bind(tenant.0)
        .bind(tool)
        .bind(sealed)
        .bind(hint)
        .execute(conn)
        .await
        .context("storing a tool key")?,
    };
    Ok(())
}

/// The tenant's sealed key for `tool`, if stored.
pub async fn tool_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    tool: &str,
) -> super::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT key_sealed FROM tool_connections WHERE tenant_id = $1 AND tool = $2")
        .bind(tenant.0)
        .bind(tool)
        .fetch_optional(conn)
        .await
        .context("loading a tool key")
}
