//! Delivery-log counts (KumoMTA's log hook) and the record keys already counted.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::TenantId;

/// Marks `keys` seen; returns those that were not seen before.
pub async fn mark_seen(
    conn: &mut PgConnection,
    keys: &[String],
) -> super::Result<std::collections::HashSet<String>> {
    let fresh: Vec<String> = sqlx::query_scalar(
        "INSERT INTO delivery_records_seen (record_key) SELECT DISTINCT unnest($1::text[])
         ON CONFLICT DO NOTHING RETURNING record_key",
    )
    .bind(keys)
    .fetch_all(conn)
    .await?;
    Ok(fresh.into_iter().collect())
}

/// One hourly count to add.
#[derive(Clone, Debug)]
pub struct HourDelta {
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
    pub inbox_id: Uuid,
    pub hour: DateTime<Utc>,
    pub kind: &'static str,
    pub count: i64,
}

/// Adds every count of a batch to the hourly table in one statement.
pub async fn add_hourly(conn: &mut PgConnection, rows: &[HourDelta]) -> super::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO delivery_counts (tenant_id, domain_id, inbox_id, hour, kind, count)
         SELECT t, d, i, h, k, sum(n)
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::bigint[])
                AS r(t, d, i, h, k, n)
          GROUP BY t, d, i, h, k
          ORDER BY t, d, i, h, k
         ON CONFLICT (tenant_id, COALESCE(domain_id, '00000000-0000-0000-0000-000000000000'),
                      COALESCE(inbox_id, '00000000-0000-0000-0000-000000000000'), hour, kind)
         DO UPDATE SET count = delivery_counts.count + EXCLUDED.count",
    )
    .bind(rows.iter().map(|r| r.tenant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.domain_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.inbox_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.hour).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.count).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// What one ingested batch adds to one inbox's day.
#[derive(Clone, Debug, Default)]
pub struct DailyDelta {
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
    pub inbox_id: Uuid,
    pub day: chrono::NaiveDate,
    pub delivered: i64,
    pub hard_bounces: i64,
    pub soft_bounces: i64,
    pub complaints: i64,
    pub sandbox: i64,
}

/// Adds `rows` to the daily rollups at all three levels (workspace, domain, inbox) in one
/// statement; the levels are summed before the upsert so no row is touched twice.
pub async fn add_daily(conn: &mut PgConnection, rows: &[DailyDelta]) -> super::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let uuids = |f: fn(&DailyDelta) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let nums = |f: fn(&DailyDelta) -> i64| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO delivery_daily (tenant_id, domain_id, inbox_id, day, delivered, hard_bounces,
                                     soft_bounces, complaints, sandbox)
         SELECT r.tenant_id, l.domain_id, l.inbox_id, r.day, sum(r.delivered), sum(r.hard),
                sum(r.soft), sum(r.complaints), sum(r.sandbox)
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::date[], $5::bigint[], $6::bigint[],
                       $7::bigint[], $8::bigint[], $9::bigint[])
                AS r(tenant_id, domain_id, inbox_id, day, delivered, hard, soft, complaints, sandbox),
                LATERAL (VALUES ('00000000-0000-0000-0000-000000000000'::uuid,
                                 '00000000-0000-0000-0000-000000000000'::uuid),
                                (r.domain_id, '00000000-0000-0000-0000-000000000000'::uuid),
                                (r.domain_id, r.inbox_id)) AS l(domain_id, inbox_id)
          GROUP BY 1, 2, 3, 4
          -- A fixed order: two batches upserting the same rows cannot deadlock.
          ORDER BY 1, 2, 3, 4
         ON CONFLICT (tenant_id, domain_id, inbox_id, day) DO UPDATE SET
             delivered = delivery_daily.delivered + EXCLUDED.delivered,
             hard_bounces = delivery_daily.hard_bounces + EXCLUDED.hard_bounces,
             soft_bounces = delivery_daily.soft_bounces + EXCLUDED.soft_bounces,
             complaints = delivery_daily.complaints + EXCLUDED.complaints,
             sandbox = delivery_daily.sandbox + EXCLUDED.sandbox",
    )
    .bind(uuids(|r| r.tenant_id))
    .bind(uuids(|r| r.domain_id))
    .bind(uuids(|r| r.inbox_id))
    .bind(rows.iter().map(|r| r.day).collect::<Vec<_>>())
    .bind(nums(|r| r.delivered))
    .bind(nums(|r| r.hard_bounces))
    .bind(nums(|r| r.soft_bounces))
    .bind(nums(|r| r.complaints))
    .bind(nums(|r| r.sandbox))
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's (deliveries, bounces, complaints) whose hour starts at or after `since`.
pub async fn window(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    since: DateTime<Utc>,
) -> super::Result<(i64, i64, i64)> {
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

/// One message the relay delivered to one recipient (from a Delivery record).
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub message_id: String,
    pub recipient: String,
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
    pub inbox_id: Uuid,
}

/// Remembers delivered messages (a retried batch changes nothing).
pub async fn record_sent(conn: &mut PgConnection, sent: &[SentMessage]) -> super::Result<()> {
    if sent.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&SentMessage) -> String| sent.iter().map(f).collect::<Vec<_>>();
    let ids = col(|s| s.message_id.clone());
    let rcpts = col(|s| s.recipient.clone());
    let tenants: Vec<Uuid> = sent.iter().map(|s| s.tenant_id).collect();
    let domains: Vec<Uuid> = sent.iter().map(|s| s.domain_id).collect();
    let inboxes: Vec<Uuid> = sent.iter().map(|s| s.inbox_id).collect();
    sqlx::query(
        "INSERT INTO relay_messages (message_id, recipient, tenant_id, domain_id, inbox_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[])
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .bind(rcpts)
    .bind(tenants)
    .bind(domains)
    .bind(inboxes)
    .execute(conn)
    .await?;
    Ok(())
}

/// The delivered messages among `(message id, recipient)` pairs. Cross-tenant by design: the
/// relay's log names the tenant, the caller then attributes to it.
pub async fn sent_messages(
    conn: &mut PgConnection,
    pairs: &[(String, String)],
) -> super::Result<Vec<SentMessage>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    let rcpts: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    let rows: Vec<(String, String, Uuid, Option<Uuid>, Uuid)> = sqlx::query_as(
        "SELECT m.message_id, m.recipient, m.tenant_id, m.domain_id, m.inbox_id
           FROM relay_messages m
           JOIN unnest($1::text[], $2::text[]) AS p(message_id, recipient)
             ON p.message_id = m.message_id AND p.recipient = m.recipient",
    )
    .bind(ids)
    .bind(rcpts)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(message_id, recipient, tenant_id, domain_id, inbox_id)| SentMessage {
                message_id,
                recipient,
                tenant_id,
                domain_id: domain_id.unwrap_or_default(),
                inbox_id,
            },
        )
        .collect())
}

/// A complaint as received, counted or not (for staff).
#[derive(Clone, Debug, Default)]
pub struct NewComplaint {
    pub tenant_id: Option<Uuid>,
    pub inbox_id: Option<Uuid>,
    pub message_id: Option<String>,
    pub recipient: Option<String>,
    pub original_mail_from: Option<String>,
    pub reporter: Option<String>,
    pub counted: bool,
    /// `unmatched` or `repeat` when not counted.
    pub refused: Option<&'static str>,
}

pub async fn store_complaint(conn: &mut PgConnection, c: &NewComplaint) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO complaints (tenant_id, inbox_id, message_id, recipient, original_mail_from,
             reporter, counted, refused)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.tenant_id)
    .bind(c.inbox_id)
    .bind(&c.message_id)
    .bind(&c.recipient)
    .bind(&c.original_mail_from)
    .bind(&c.reporter)
    .bind(c.counted)
    .bind(c.refused)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ComplaintRow {
    pub received_at: DateTime<Utc>,
    pub inbox_address: Option<String>,
    pub message_id: Option<String>,
    pub recipient: Option<String>,
    pub original_mail_from: Option<String>,
    pub reporter: Option<String>,
    pub counted: bool,
    pub refused: Option<String>,
}

/// The tenant's latest complaints, counted or not (staff's tenant page).
pub async fn complaints_for(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    limit: i64,
) -> super::Result<Vec<ComplaintRow>> {
    Ok(sqlx::query_as(
        "SELECT c.received_at, i.address AS inbox_address, c.message_id, c.recipient,
                c.original_mail_from, c.reporter, c.counted, c.refused
           FROM complaints c LEFT JOIN inboxes i ON i.id = c.inbox_id AND i.tenant_id = c.tenant_id
          WHERE c.tenant_id = $1 ORDER BY c.id DESC LIMIT $2",
    )
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
