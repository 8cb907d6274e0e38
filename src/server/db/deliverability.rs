//! Deliverability: the daily rollups (`delivery_daily`), health scores and blocklist listings.
//! Tenant reads take the tenant's transaction and its id; staff and the relay's IPs go through
//! the system pool.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::domain::deliverability::Figures;

/// The level marker of `delivery_daily`: a nil domain is the workspace row, a nil inbox the
/// domain row.
pub const NIL: Uuid = Uuid::nil();

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DayRow {
    pub day: NaiveDate,
    pub delivered: i64,
    pub hard_bounces: i64,
    pub soft_bounces: i64,
    pub complaints: i64,
    pub sandbox: i64,
}

impl DayRow {
    pub fn figures(&self) -> Figures {
        Figures {
            delivered: self.delivered,
            hard_bounces: self.hard_bounces,
            soft_bounces: self.soft_bounces,
            complaints: self.complaints,
        }
    }
}

/// The days from `from` (inclusive) of one level: the workspace (`domain` and `inbox` nil), a
/// domain (`inbox` nil) or an inbox. One primary-key range.
pub async fn days(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    inbox: Uuid,
    from: NaiveDate,
) -> super::Result<Vec<DayRow>> {
    Ok(sqlx::query_as(
        "SELECT day, delivered, hard_bounces, soft_bounces, complaints, sandbox
           FROM delivery_daily
          WHERE tenant_id = $1 AND domain_id = $2 AND inbox_id = $3 AND day >= $4
          ORDER BY day",
    )
    .bind(tenant.0)
    .bind(domain)
    .bind(inbox)
    .bind(from)
    .fetch_all(conn)
    .await?)
}

/// A score with the name of what it scores.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScoreRow {
    pub subject_id: Uuid,
    pub name: String,
    pub score: i16,
    pub level: String,
    pub reasons: sqlx::types::Json<Vec<crate::domain::deliverability::Reason>>,
    pub sent: i64,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
    pub computed_at: DateTime<Utc>,
}

const SCORE_COLUMNS: &str = "h.subject_id, h.score, h.level, h.reasons, h.sent, h.bounce_rate,
     h.complaint_rate, h.computed_at";

/// The tenant's domain scores, worst first (not deleted domains).
pub async fn domain_scores(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<ScoreRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SCORE_COLUMNS}, d.name
           FROM health_scores h JOIN domains d ON d.id = h.subject_id AND d.tenant_id = h.tenant_id
          WHERE h.tenant_id = $1 AND h.subject_kind = 'domain' AND d.status <> 'deleted'
          ORDER BY h.score, d.name"
    ))
    .bind(tenant.0)
    .fetch_all(conn)
    .await?)
}

/// The tenant's `limit` worst inboxes (of one domain, when given), through the score index.
pub async fn worst_inboxes(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Option<Uuid>,
    limit: i64,
) -> super::Result<Vec<ScoreRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SCORE_COLUMNS}, COALESCE(i.address, '') AS name
           FROM health_scores h JOIN inboxes i ON i.id = h.subject_id AND i.tenant_id = h.tenant_id
          WHERE h.tenant_id = $1 AND h.subject_kind = 'inbox'
            AND ($2::uuid IS NULL OR h.domain_id = $2) AND i.status <> 'deleted'
          ORDER BY h.score, h.subject_id
          LIMIT $3"
    ))
    .bind(tenant.0)
    .bind(domain)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// One subject's score.
pub async fn score_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    kind: &str,
    id: Uuid,
) -> super::Result<Option<ScoreRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SCORE_COLUMNS}, '' AS name FROM health_scores h
          WHERE h.tenant_id = $1 AND h.subject_kind = $2 AND h.subject_id = $3"
    ))
    .bind(tenant.0)
    .bind(kind)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// One of the dashboard's worst inboxes.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct WorstRow {
    pub subject_id: Uuid,
    pub name: String,
    pub score: i16,
    pub level: String,
    pub sent: i64,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
}

/// Each inbox's (domain, inbox) figures since `from`, and each domain's (inbox nil), for the
/// scores. One pass over the tenant's rows.
pub async fn figures_since(
    conn: &mut PgConnection,
    tenant: TenantId,
    from: NaiveDate,
) -> super::Result<Vec<(Uuid, Uuid, Figures)>> {
    let rows: Vec<(Uuid, Uuid, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT domain_id, inbox_id, sum(delivered)::bigint, sum(hard_bounces)::bigint,
                sum(soft_bounces)::bigint, sum(complaints)::bigint
           FROM delivery_daily
          WHERE tenant_id = $1 AND domain_id <> $2 AND day >= $3
          GROUP BY domain_id, inbox_id",
    )
    .bind(tenant.0)
    .bind(NIL)
    .bind(from)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(d, i, delivered, hard_bounces, soft_bounces, complaints)| {
                (
                    d,
                    i,
                    Figures {
                        delivered,
                        hard_bounces,
                        soft_bounces,
                        complaints,
                    },
                )
            },
        )
        .collect())
}

/// A domain as its score reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScoredDomain {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    /// (purpose, status) of each record.
    pub records: sqlx::types::Json<Vec<(String, String)>>,
}

pub async fn domains_to_score(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<ScoredDomain>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.name, d.status,
                COALESCE((SELECT json_agg(json_build_array(r.purpose, r.status))
                            FROM domain_records r WHERE r.domain_id = d.id), '[]') AS records
           FROM domains d
          WHERE d.tenant_id = $1 AND d.status NOT IN ('deleted', 'pending_payment')",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await?)
}

/// An inbox as its score reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScoredInbox {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub status: String,
    pub daily_cap: i32,
    pub warmup_started_at: Option<DateTime<Utc>>,
}

pub async fn inboxes_to_score(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Vec<ScoredInbox>> {
    Ok(sqlx::query_as(
        "SELECT id, domain_id, status, daily_cap, warmup_started_at FROM inboxes
          WHERE tenant_id = $1 AND status NOT IN ('deleted', 'failed')",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await?)
}

/// The tenant's stored scores: (kind, id) → (alerted, computed_at).
pub async fn previous(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<std::collections::HashMap<(String, Uuid), (bool, DateTime<Utc>)>> {
    let rows: Vec<(String, Uuid, bool, DateTime<Utc>)> = sqlx::query_as(
        "SELECT subject_kind, subject_id, alerted_at IS NOT NULL, computed_at FROM health_scores
          WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, i, a, c)| ((k, i), (a, c)))
        .collect())
}

/// A score to store.
#[derive(Clone, Debug)]
pub struct NewScore {
    pub kind: &'static str,
    pub id: Uuid,
    pub domain_id: Uuid,
    pub score: i16,
    pub level: &'static str,
    pub reasons: serde_json::Value,
    pub sent: i64,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
    /// Keep (or set) the alert mark: it is at risk and its owner was (or is now) mailed.
    pub alerted: bool,
}

/// Replaces the tenant's scores with `scores` in one statement (and drops the scores of
/// subjects no longer there).
pub async fn store_scores(
    conn: &mut PgConnection,
    tenant: TenantId,
    scores: &[NewScore],
) -> super::Result<()> {
    let ids: Vec<Uuid> = scores.iter().map(|s| s.id).collect();
    sqlx::query("DELETE FROM health_scores WHERE tenant_id = $1 AND NOT (subject_id = ANY($2))")
        .bind(tenant.0)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    if scores.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO health_scores (tenant_id, subject_kind, subject_id, domain_id, score, level,
             reasons, sent, bounce_rate, complaint_rate, computed_at, alerted_at)
         SELECT $1, k, i, d, s, l, r, n, b, c, now(), CASE WHEN a THEN now() END
           FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::smallint[], $6::text[], $7::jsonb[],
                       $8::bigint[], $9::float8[], $10::float8[], $11::bool[])
                AS x(k, i, d, s, l, r, n, b, c, a)
         ON CONFLICT (tenant_id, subject_kind, subject_id) DO UPDATE SET
             domain_id = EXCLUDED.domain_id, score = EXCLUDED.score, level = EXCLUDED.level,
             reasons = EXCLUDED.reasons, sent = EXCLUDED.sent,
             bounce_rate = EXCLUDED.bounce_rate, complaint_rate = EXCLUDED.complaint_rate,
             computed_at = EXCLUDED.computed_at,
             alerted_at = CASE WHEN EXCLUDED.alerted_at IS NULL THEN NULL
                               ELSE COALESCE(health_scores.alerted_at, EXCLUDED.alerted_at) END",
    )
    .bind(tenant.0)
    .bind(scores.iter().map(|s| s.kind).collect::<Vec<_>>())
    .bind(&ids)
    .bind(scores.iter().map(|s| s.domain_id).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.score).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.level).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.reasons.clone()).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.sent).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.bounce_rate).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.complaint_rate).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.alerted).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// An open listing.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListingRow {
    pub subject_kind: String,
    pub subject: String,
    pub zone: String,
    pub list_name: String,
    pub tenant_id: Option<Uuid>,
    pub domain_id: Option<Uuid>,
    pub answer: String,
    pub listed_at: DateTime<Utc>,
}

const LISTING_COLUMNS: &str =
    "subject_kind, subject, zone, list_name, tenant_id, domain_id, answer, listed_at";

/// The tenant's open domain listings (of one domain, when given).
pub async fn tenant_listings(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Option<Uuid>,
) -> super::Result<Vec<ListingRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LISTING_COLUMNS} FROM blocklist_listings
          WHERE tenant_id = $1 AND cleared_at IS NULL AND ($2::uuid IS NULL OR domain_id = $2)
          ORDER BY listed_at DESC"
    ))
    .bind(tenant.0)
    .bind(domain)
    .fetch_all(conn)
    .await?)
}

/// Every open listing: the relay's IPs and every tenant's domains (staff, and the IP part of
/// every score). System path.
pub async fn open_listings(pool: &PgPool, ips_only: bool) -> super::Result<Vec<ListingRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LISTING_COLUMNS} FROM blocklist_listings
          WHERE cleared_at IS NULL AND (NOT $1 OR subject_kind = 'ip')
          ORDER BY listed_at DESC LIMIT 500"
    ))
    .bind(ips_only)
    .fetch_all(pool)
    .await?)
}

/// One verdict to record: listed (with the answer) or not, for one subject on one list.
#[derive(Clone, Debug)]
pub struct Sighting<'a> {
    pub subject_kind: &'a str,
    pub subject: &'a str,
    pub zone: &'a str,
    pub list_name: &'a str,
    pub tenant_id: Option<Uuid>,
    pub domain_id: Option<Uuid>,
    /// `Some(answer)`: listed; `None`: clean (an open listing is cleared).
    pub listed: Option<&'a str>,
}

/// What recording a sighting changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    NewlyListed,
    StillListed,
    Delisted,
    StillClean,
}

pub async fn record_sighting(pool: &PgPool, s: &Sighting<'_>) -> super::Result<Change> {
    match s.listed {
        Some(answer) => {
            // A name that changed hands (deleted by one tenant, connected by another): the
            // old owner's listing is closed, the new owner's opens (and is told).
            sqlx::query(
                "UPDATE blocklist_listings SET cleared_at = now()
                  WHERE subject_kind = $1 AND subject = $2 AND zone = $3 AND cleared_at IS NULL
                    AND domain_id IS DISTINCT FROM $4",
            )
            .bind(s.subject_kind)
            .bind(s.subject)
            .bind(s.zone)
            .bind(s.domain_id)
            .execute(pool)
            .await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO blocklist_listings (subject_kind, subject, zone, list_name, tenant_id,
                     domain_id, answer)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (subject_kind, subject, zone) WHERE cleared_at IS NULL
                 DO UPDATE SET last_seen_at = now(), answer = EXCLUDED.answer
                 RETURNING CASE WHEN xmax = 0 THEN 1 ELSE 0 END::bigint",
            )
            .bind(s.subject_kind)
            .bind(s.subject)
            .bind(s.zone)
            .bind(s.list_name)
            .bind(s.tenant_id)
            .bind(s.domain_id)
            .bind(answer)
            .fetch_optional(pool)
            .await?;
            Ok(if inserted == Some(1) {
                Change::NewlyListed
            } else {
                Change::StillListed
            })
        }
        None => {
            let cleared = sqlx::query(
                "UPDATE blocklist_listings SET cleared_at = now()
                  WHERE subject_kind = $1 AND subject = $2 AND zone = $3 AND cleared_at IS NULL",
            )
            .bind(s.subject_kind)
            .bind(s.subject)
            .bind(s.zone)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(if cleared > 0 {
                Change::Delisted
            } else {
                Change::StillClean
            })
        }
    }
}

/// A domain's open listings its owner has not been told about: (id, list name).
pub async fn unnotified(pool: &PgPool, domain: Uuid) -> super::Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, list_name FROM blocklist_listings
          WHERE domain_id = $1 AND cleared_at IS NULL AND notified_at IS NULL ORDER BY id",
    )
    .bind(domain)
    .fetch_all(pool)
    .await?)
}

pub async fn mark_notified(pool: &PgPool, ids: &[i64]) -> super::Result<()> {
    sqlx::query("UPDATE blocklist_listings SET notified_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(())
}

/// Closes open listings of subjects a scan no longer covers (a deleted or inactive domain, an
/// IP no longer the relay's) or of lists no longer configured. `subjects`: `kind:subject`.
pub async fn close_unscanned(
    pool: &PgPool,
    subjects: &[String],
    zones: &[String],
) -> super::Result<u64> {
    Ok(sqlx::query(
        "UPDATE blocklist_listings SET cleared_at = now()
          WHERE cleared_at IS NULL
            AND (NOT (subject_kind || ':' || subject = ANY($1)) OR NOT (zone = ANY($2)))",
    )
    .bind(subjects)
    .bind(zones)
    .execute(pool)
    .await?
    .rows_affected())
}

/// When the domain was last looked up, if ever (the "check now" throttle).
pub async fn domain_checked_at(
    pool: &PgPool,
    domain: Uuid,
) -> super::Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT blocklist_checked_at FROM domains WHERE id = $1")
            .bind(domain)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

/// Records how a domain's last check went. System path (the scan covers every tenant).
pub async fn mark_domain_checked(
    pool: &PgPool,
    domain: Uuid,
    status: &str,
    note: Option<&str>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domains SET blocklist_checked_at = now(), blocklist_status = $2, blocklist_note = $3
          WHERE id = $1",
    )
    .bind(domain)
    .bind(status)
    .bind(note)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_ip_checked(
    pool: &PgPool,
    ip: &str,
    status: &str,
    note: Option<&str>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO blocklist_ip_checks (ip, checked_at, status, note) VALUES ($1, now(), $2, $3)
         ON CONFLICT (ip) DO UPDATE SET checked_at = now(), status = $2, note = $3",
    )
    .bind(ip)
    .bind(status)
    .bind(note)
    .execute(pool)
    .await?;
    Ok(())
}

/// (ip, checked_at, status, note) of every relay IP checked.
pub async fn ip_checks(
    pool: &PgPool,
) -> super::Result<Vec<(String, DateTime<Utc>, String, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT ip, checked_at, status, note FROM blocklist_ip_checks ORDER BY ip")
            .fetch_all(pool)
            .await?,
    )
}

/// A domain's last blocklist check: (status, checked_at, note).
pub async fn domain_check(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
) -> super::Result<Option<(String, Option<DateTime<Utc>>, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT blocklist_status, blocklist_checked_at, blocklist_note FROM domains
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(domain)
    .fetch_optional(conn)
    .await?)
}

/// Every active domain of every tenant, for the scheduled scan: (tenant, id, name).
pub async fn active_domains(pool: &PgPool) -> super::Result<Vec<(Uuid, Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT tenant_id, id, name FROM domains WHERE status = 'active' ORDER BY name",
    )
    .fetch_all(pool)
    .await?)
}

/// Tenants with anything to score: a domain not deleted.
pub async fn tenants_to_score(pool: &PgPool) -> super::Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM domains WHERE status NOT IN ('deleted', 'pending_payment')",
    )
    .fetch_all(pool)
    .await?)
}

/// Staff: each tenant's figures since `from_hour` (hourly table, for 24 h) ranked by complaint
/// rate then bounce rate, with its name and whether it is suspended.
pub async fn ranked_hourly(
    pool: &PgPool,
    since: DateTime<Utc>,
    limit: i64,
) -> super::Result<Vec<RankedTenant>> {
    Ok(sqlx::query_as(
        "WITH f AS (
             SELECT tenant_id,
                    COALESCE(sum(count) FILTER (WHERE kind = 'Delivery'), 0)::bigint AS delivered,
                    COALESCE(sum(count) FILTER (WHERE kind = 'Bounce'), 0)::bigint AS hard_bounces,
                    COALESCE(sum(count) FILTER (WHERE kind = 'TransientFailure'), 0)::bigint AS soft_bounces,
                    COALESCE(sum(count) FILTER (WHERE kind = 'Feedback'), 0)::bigint AS complaints
               FROM delivery_counts WHERE hour >= $1 GROUP BY tenant_id)
         SELECT f.*, t.name AS tenant_name, (t.status = 'suspended') AS suspended
           FROM f JOIN tenants t ON t.id = f.tenant_id
          ORDER BY f.complaints::float8 / GREATEST(f.delivered, 1) DESC,
                   f.hard_bounces::float8 / GREATEST(f.delivered + f.hard_bounces, 1) DESC,
                   t.name
          LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Staff: the same over whole days from `from` (the workspace rows of the daily table).
pub async fn ranked_daily(
    pool: &PgPool,
    from: NaiveDate,
    limit: i64,
) -> super::Result<Vec<RankedTenant>> {
    Ok(sqlx::query_as(
        "WITH f AS (
             SELECT tenant_id, sum(delivered)::bigint AS delivered,
                    sum(hard_bounces)::bigint AS hard_bounces,
                    sum(soft_bounces)::bigint AS soft_bounces,
                    sum(complaints)::bigint AS complaints
               FROM delivery_daily
              WHERE domain_id = '00000000-0000-0000-0000-000000000000' AND day >= $1
              GROUP BY tenant_id)
         SELECT f.*, t.name AS tenant_name, (t.status = 'suspended') AS suspended
           FROM f JOIN tenants t ON t.id = f.tenant_id
          ORDER BY f.complaints::float8 / GREATEST(f.delivered, 1) DESC,
                   f.hard_bounces::float8 / GREATEST(f.delivered + f.hard_bounces, 1) DESC,
                   t.name
          LIMIT $2",
    )
    .bind(from)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RankedTenant {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub suspended: bool,
    pub delivered: i64,
    pub hard_bounces: i64,
    pub soft_bounces: i64,
    pub complaints: i64,
}

/// Staff's tenant page: the tenant's totals since `from` (workspace rows).
pub async fn tenant_totals(
    pool: &PgPool,
    tenant: TenantId,
    from: NaiveDate,
) -> super::Result<Figures> {
    let (delivered, hard_bounces, soft_bounces, complaints): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(sum(delivered), 0)::bigint, COALESCE(sum(hard_bounces), 0)::bigint,
                    COALESCE(sum(soft_bounces), 0)::bigint, COALESCE(sum(complaints), 0)::bigint
               FROM delivery_daily
              WHERE tenant_id = $1 AND domain_id = $2 AND inbox_id = $2 AND day >= $3",
    )
    .bind(tenant.0)
    .bind(NIL)
    .bind(from)
    .fetch_one(pool)
    .await?;
    Ok(Figures {
        delivered,
        hard_bounces,
        soft_bounces,
        complaints,
    })
}

/// The tenant's inbox `id`: (address, domain id, domain name); `None` for another tenant's.
pub async fn inbox_subject(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<(String, Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(i.address, i.local_part || '@' || d.name), d.id, d.name
           FROM inboxes i JOIN domains d ON d.id = i.domain_id AND d.tenant_id = i.tenant_id
          WHERE i.tenant_id = $1 AND i.id = $2 AND i.status <> 'deleted'",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The tenant's domain `id`: its name; `None` for another tenant's or a deleted one.
pub async fn domain_subject(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM domains WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted'",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The tenant's name, in its own transaction.
pub async fn tenant_name(conn: &mut PgConnection, tenant: TenantId) -> super::Result<String> {
    Ok(sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(conn)
        .await?)
}

/// (score, level, [(list name, zone, since)]).
type ExtrasRow = (
    Option<i16>,
    Option<String>,
    sqlx::types::Json<Vec<(String, String, DateTime<Utc>)>>,
);

/// The domain page's extras in one round trip: the domain's score and level (if computed) and
/// its open listings as (list name, zone, since).
pub async fn domain_extras(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
) -> super::Result<(Option<(i16, String)>, Vec<(String, String, DateTime<Utc>)>)> {
    let (score, level, listings): ExtrasRow = sqlx::query_as(
        "SELECT h.score, h.level,
                COALESCE((SELECT json_agg(json_build_array(l.list_name, l.zone, l.listed_at)
                                          ORDER BY l.listed_at DESC)
                            FROM blocklist_listings l
                           WHERE l.tenant_id = $1 AND l.domain_id = $2 AND l.cleared_at IS NULL),
                         '[]'::json)
           FROM (SELECT 1) one
           LEFT JOIN health_scores h
             ON h.tenant_id = $1 AND h.subject_kind = 'domain' AND h.subject_id = $2",
    )
    .bind(tenant.0)
    .bind(domain)
    .fetch_one(conn)
    .await?;
    Ok((score.zip(level), listings.0))
}
