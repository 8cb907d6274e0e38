//! Delivery-log counts (KumoMTA's log hook) and the record keys already counted.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::TenantId;

/// Marks `keys` seen; returns those that were not seen before.
pub async fn mark_seen(
    conn: &mut PgConnection,
    keys: &[String],
) -> anyhow::Result<std::collections::HashSet<String>> {
    let fresh: Vec<String> = sqlx::query_scalar(
        "INSERT INTO delivery_records_seen (record_key) SELECT DISTINCT unnest($1::text[])
         ON CONFLICT DO NOTHING RETURNING record_key",
    )
    .bind(keys)
    .fetch_all(conn)
    .await?;
    Ok(fresh.into_iter().collect())
}

pub async fn add(
    conn: &mut PgConnection,
    tenant: Uuid,
    domain: Uuid,
    inbox: Uuid,
    hour: DateTime<Utc>,
    kind: &str,
    n: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_counts (tenant_id, domain_id, inbox_id, hour, kind, count)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, COALESCE(domain_id, '00000000-0000-0000-0000-000000000000'),
                      COALESCE(inbox_id, '00000000-0000-0000-0000-000000000000'), hour, kind)
         DO UPDATE SET count = delivery_counts.count + EXCLUDED.count",
    )
    .bind(tenant)
    .bind(domain)
    .bind(inbox)
    .bind(hour)
    .bind(kind)
    .bind(n)
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's (deliveries, bounces, complaints) whose hour starts at or after `since`.
pub async fn window(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    since: DateTime<Utc>,
) -> anyhow::Result<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(sum(count) FILTER (WHERE kind = 'Delivery'), 0)::bigint,
                COALESCE(sum(count) FILTER (WHERE kind = 'Bounce'), 0)::bigint,
                COALESCE(sum(count) FILTER (WHERE kind = 'Feedback'), 0)::bigint
           FROM delivery_counts WHERE tenant_id = $1 AND hour >= $2",
    )
    .bind(tenant.0)
    .bind(since)
    .fetch_one(pool)
    .await?)
}
