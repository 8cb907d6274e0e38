//! Staff reads across tenants (the admin panel). Only `services::admin`, behind the staff
//! check, calls these.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Cents, LedgerKind, SubscriptionStatus, TenantId, TenantStatus};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub owner_email: String,
    pub status: TenantStatus,
    pub plan_id: Option<String>,
    pub domains: i64,
    pub inboxes: i64,
    pub created_at: DateTime<Utc>,
    pub trial_ends_at: DateTime<Utc>,
}

const TENANT_SELECT: &str = "SELECT t.id, t.name, t.status, t.plan_id, t.created_at, t.trial_ends_at,
    COALESCE((SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
               WHERE m.tenant_id = t.id ORDER BY (m.role = 'owner') DESC, m.created_at LIMIT 1), '') AS owner_email,
    (SELECT count(*) FROM domains d WHERE d.tenant_id = t.id AND d.status NOT IN ('deleted', 'failed')) AS domains,
    (SELECT count(*) FROM inboxes i WHERE i.tenant_id = t.id AND i.status <> 'deleted') AS inboxes
    FROM tenants t";

/// Name, member email or domain contains `q` (case-insensitive, `%` and `_` taken literally);
/// `status` exact when set; `plan` exact when set (`trial` = no plan yet).
///
/// Under row-level security `ILIKE` is not leakproof, so Postgres uses no index for it, and a
/// scan of 20,000 names, their members and 100,000 domains took half a second. So a query of
/// three characters or more first finds the workspaces that hold every one of its 3-character
/// pieces in `search_grams` (kept by triggers; text equality is leakproof, so this walks the
/// primary key), joining the three rarest pieces, and the exact test runs on those few
/// workspaces alone. Shorter queries scan.
/// Without a text (the staff list's first view) no text test is in the statement at all.
pub async fn search(
    pool: &PgPool,
    q: &str,
    status: Option<TenantStatus>,
    plan: &str,
    offset: i64,
    limit: i64,
) -> super::Result<(Vec<TenantRow>, i64)> {
    if q.contains('\0') {
        // Postgres text cannot hold NUL, so no name, email or domain contains it (and sending
        // it would be an error, not an answer).
        return Ok((Vec::new(), 0));
    }
    let grams = if q.chars().count() >= 3 {
        // The query's pieces with how many workspaces hold each (counted up to a cap: enough
        // to tell a rare piece from a common one, never a scan of a common one).
        let probed: Vec<(String, i64)> = sqlx::query_as(
            "SELECT g, (SELECT count(*) FROM (SELECT 1 FROM search_grams s WHERE s.gram = g
                                                LIMIT 200) AS c)
               FROM search_grams_of($1) AS g",
        )
        .bind(q)
        .fetch_all(pool)
        .await?;
        if probed.iter().any(|(_, n)| *n == 0) {
            // A piece no workspace holds: nothing can contain the whole query.
            return Ok((Vec::new(), 0));
        }
        rarest_grams(probed)
    } else {
        Vec::new()
    };
    let filter = search_filter(q.is_empty(), grams.len());
    let pattern = format!("%{}%", like_escape(q));
    let status = status.map_or("", |s| s.as_str());
    // Not prepared for reuse: each search is planned with its own pieces (an unnamed
    // statement is planned with its values), whose frequencies decide where the join starts.
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM tenants t WHERE {filter}"))
        .persistent(false)
        .bind(&pattern)
        .bind(status)
        .bind(plan)
        .bind(&grams)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query_as(&format!(
        "{TENANT_SELECT} WHERE {filter} ORDER BY t.created_at DESC OFFSET $5 LIMIT $6"
    ))
    .persistent(false)
    .bind(&pattern)
    .bind(status)
    .bind(plan)
    .bind(&grams)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// The most pieces one search joins: each more narrows the candidates, but planning a join
/// grows fast with its width (8 pieces: 50 ms to plan, 3 ms to run; 3 pieces: 3 ms to plan).
const MAX_GRAMS: usize = 3;

/// The [`MAX_GRAMS`] rarest pieces; among pieces equally common (or all past the probe's cap),
/// those likelier to be rare first: with a digit, then letters only, then spaces or
/// punctuation (" co", ".co"). Any subset finds every match; the exact test removes the rest.
fn rarest_grams(mut probed: Vec<(String, i64)>) -> Vec<String> {
    let rank = |g: &str| {
        if g.chars().any(|c| c.is_ascii_digit()) {
            0
        } else if g.chars().all(char::is_alphabetic) {
            1
        } else {
            2
        }
    };
    probed.sort_by(|(a, n), (b, m)| {
        n.cmp(m)
            .then_with(|| rank(a).cmp(&rank(b)))
            .then_with(|| a.cmp(b))
    });
    probed.truncate(MAX_GRAMS);
    probed.into_iter().map(|(g, _)| g).collect()
}

/// `q` as a literal inside a LIKE pattern (backslash is LIKE's default escape).
fn like_escape(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The WHERE clause over `tenants t`: `$1` the LIKE pattern, `$2` status, `$3` plan, `$4` the
/// pieces (a text array; one join per piece, `$4[1]`, `$4[2]`, …).
fn search_filter(everything: bool, grams: usize) -> String {
    const STATUS_PLAN: &str = "($2 = '' OR t.status = $2)
    AND ($3 = '' OR ($3 = 'trial' AND t.plan_id IS NULL) OR t.plan_id = $3)";
    if everything {
        return format!("$1 = '%%' AND {STATUS_PLAN}");
    }
    if grams == 0 {
        // Each text its own scan, united (a correlated test per workspace took 3 s at scale).
        return format!(
            "t.id IN (SELECT id FROM tenants WHERE name ILIKE $1
            UNION SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE u.email ILIKE $1
            UNION SELECT tenant_id FROM domains WHERE name ILIKE $1)
    AND {STATUS_PLAN}"
        );
    }
    let joins: String = (1..grams)
        .map(|i| {
            format!(
                " JOIN search_grams g{i} ON g{i}.gram = $4[{}] AND g{i}.tenant_id = g0.tenant_id",
                i + 1
            )
        })
        .collect();
    format!(
        "t.id IN (SELECT g0.tenant_id FROM search_grams g0{joins} WHERE g0.gram = $4[1])
    AND (t.name ILIKE $1
        OR EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                    WHERE m.tenant_id = t.id AND u.email ILIKE $1)
        OR EXISTS (SELECT 1 FROM domains d WHERE d.tenant_id = t.id AND d.name ILIKE $1))
    AND {STATUS_PLAN}"
    )
}

pub async fn tenant(pool: &PgPool, tenant: TenantId) -> super::Result<Option<TenantRow>> {
    Ok(sqlx::query_as(&format!("{TENANT_SELECT} WHERE t.id = $1"))
        .bind(tenant.0)
        .fetch_optional(pool)
        .await?)
}

pub async fn members(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.tenant_id = $1 ORDER BY m.created_at",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

#[allow(clippy::type_complexity)]
pub async fn domains(
    pool: &PgPool,
    tenant: TenantId,
) -> super::Result<Vec<(String, String, String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT id::text, name, status, suspension_reason FROM domains
                         WHERE tenant_id = $1 AND status <> 'deleted' ORDER BY created_at",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

/// The tenant's name and plan (`None` on the trial), locked for the staff action.
pub async fn name_and_plan(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Option<(String, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT name, plan_id FROM tenants WHERE id = $1 FOR SHARE")
            .bind(tenant.0)
            .fetch_optional(conn)
            .await?,
    )
}

/// Moves the trial end to `days` after the later of now and the current end; the new end.
pub async fn extend_trial(
    conn: &mut PgConnection,
    tenant: TenantId,
    days: i32,
) -> super::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "UPDATE tenants t SET trial_ends_at = greatest(old.trial_ends_at, now()) + make_interval(days => $2)
           FROM (SELECT id, trial_ends_at FROM tenants WHERE id = $1 FOR UPDATE) old
          WHERE t.id = old.id
          RETURNING old.trial_ends_at, t.trial_ends_at",
    )
    .bind(tenant.0)
    .bind(days)
    .fetch_optional(conn)
    .await?)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub status: SubscriptionStatus,
    pub plan_id: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

/// The tenant's subscriptions, the live one first.
pub async fn subscriptions(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<SubscriptionRow>> {
    Ok(sqlx::query_as(
        "SELECT id, status, plan_id, current_period_end, cancel_at_period_end
           FROM billing_subscriptions WHERE tenant_id = $1
          ORDER BY (status NOT IN ('canceled', 'incomplete_expired')) DESC, src_created DESC",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub kind: LedgerKind,
    pub amount_cents: Cents,
    pub currency: String,
    pub description: String,
    pub occurred_at: DateTime<Utc>,
    pub payment_intent_id: Option<String>,
    /// A subscription payment's invoice.
    pub invoice_id: Option<String>,
    /// Set when staff refunded this entry.
    pub refunded_by: Option<String>,
}

pub async fn ledger(pool: &PgPool, tenant: TenantId, limit: i64) -> super::Result<Vec<LedgerRow>> {
    Ok(sqlx::query_as(
        "SELECT l.id, l.kind, l.amount_cents, l.currency, l.description, l.occurred_at,
                l.payment_intent_id, l.invoice_id, r.actor AS refunded_by
           FROM ledger_entries l LEFT JOIN admin_refunds r ON r.ledger_entry_id = l.id
          WHERE l.tenant_id = $1 ORDER BY l.occurred_at DESC, l.id DESC LIMIT $2",
    )
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The tenant's ledger entry `entry`, locked for the refund.
pub async fn ledger_entry_for_refund(
    conn: &mut PgConnection,
    tenant: TenantId,
    entry: i64,
) -> super::Result<Option<LedgerRow>> {
    Ok(sqlx::query_as(
        "SELECT l.id, l.kind, l.amount_cents, l.currency, l.description, l.occurred_at,
                l.payment_intent_id, l.invoice_id, NULL::text AS refunded_by
           FROM ledger_entries l WHERE l.tenant_id = $1 AND l.id = $2 FOR SHARE",
    )
    .bind(tenant.0)
    .bind(entry)
    .fetch_optional(conn)
    .await?)
}

/// Claims the entry for a refund; `false` when it was refunded before (the key holds under
/// concurrency: the second insert waits for the first transaction, then conflicts).
pub async fn claim_refund(
    conn: &mut PgConnection,
    entry: &LedgerRow,
    tenant: TenantId,
    amount: Cents,
    actor: &str,
    reason: &str,
) -> super::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO admin_refunds (ledger_entry_id, tenant_id, refund_id, amount_cents, currency, actor, reason)
         VALUES ($1, $2, '', $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(entry.id)
    .bind(tenant.0)
    .bind(amount)
    .bind(&entry.currency)
    .bind(actor)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_refund_id(conn: &mut PgConnection, entry: i64, refund: &str) -> super::Result<()> {
    sqlx::query("UPDATE admin_refunds SET refund_id = $2 WHERE ledger_entry_id = $1")
        .bind(entry)
        .bind(refund)
        .execute(conn)
        .await?;
    Ok(())
}

/// Live inboxes of the tenant by status.
pub async fn inbox_counts(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT status, count(*) FROM inboxes WHERE tenant_id = $1 AND status <> 'deleted'
          GROUP BY status ORDER BY status",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NoteRow {
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn notes(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<NoteRow>> {
    Ok(sqlx::query_as(
        "SELECT author, body, created_at FROM tenant_notes WHERE tenant_id = $1
          ORDER BY created_at DESC, id DESC",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

pub async fn add_note(
    conn: &mut PgConnection,
    tenant: TenantId,
    author: &str,
    body: &str,
) -> super::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO tenant_notes (tenant_id, author, body) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(tenant.0)
    .bind(author)
    .bind(body)
    .fetch_one(conn)
    .await?)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub r#type: String,
    pub created: DateTime<Utc>,
    pub tenant_id: Option<Uuid>,
    pub outcome: String,
    pub received_at: DateTime<Utc>,
}

/// Stripe events received, newest first; `kind` filters by type prefix.
pub async fn events(
    pool: &PgPool,
    kind: &str,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> super::Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, type, created, tenant_id, outcome, received_at FROM stripe_events
          WHERE ($1 = '' OR starts_with(type, $1)) AND ($2::timestamptz IS NULL OR received_at < $2)
          ORDER BY received_at DESC, id DESC LIMIT $3",
    )
    .bind(kind)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

#[derive(sqlx::FromRow)]
struct EventWithPayload {
    #[sqlx(flatten)]
    row: EventRow,
    payload: serde_json::Value,
}

pub async fn event(
    pool: &PgPool,
    id: &str,
) -> super::Result<Option<(EventRow, serde_json::Value)>> {
    let found: Option<EventWithPayload> = sqlx::query_as(
        "SELECT id, type, created, tenant_id, outcome, received_at, payload
           FROM stripe_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|e| (e.row, e.payload)))
}

/// Jobs by status (`pending`, `running`, `failed`, `done`), newest change first.
pub async fn jobs(
    pool: &PgPool,
    status: crate::domain::JobStatus,
    limit: i64,
) -> super::Result<Vec<super::jobs::JobRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM jobs WHERE status = $1 ORDER BY updated_at DESC LIMIT $2",
        super::jobs::COLUMNS
    ))
    .bind(status.as_str())
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn job_counts(pool: &PgPool) -> super::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT status, count(*) FROM jobs GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await?,
    )
}

/// A failed job runs again now, with one more attempt; `None` unless it was `failed`.
pub async fn retry_job(
    conn: &mut PgConnection,
    id: Uuid,
) -> super::Result<Option<(String, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "UPDATE jobs SET status = 'pending', run_at = now(), max_attempts = attempts + 1,
                finished_at = NULL, updated_at = now()
          WHERE id = $1 AND status = 'failed'
          RETURNING kind, tenant_id",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// A tenant's name (staff), `None` for no such tenant.
pub async fn tenant_name(pool: &PgPool, tenant: TenantId) -> super::Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1 AND status <> 'closed'")
        .bind(tenant.0)
        .fetch_optional(pool)
        .await
        .context("loading a tenant's name")
}

/// The email of a tenant's (first) owner, if it has one.
pub async fn owner_email(pool: &PgPool, tenant: TenantId) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.tenant_id = $1 AND m.role = 'owner' ORDER BY m.created_at LIMIT 1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("loading a tenant's owner")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_takes_its_rarest_pieces_and_its_text_literally() {
        let probed = |v: &[(&str, i64)]| v.iter().map(|(g, n)| (g.to_string(), *n)).collect();
        // Fewest holders first; among equals (here all at the probe's cap) digits, then letters.
        assert_eq!(
            rarest_grams(probed(&[
                ("sca", 200),
                (" co", 200),
                ("123", 12),
                ("ale", 200),
                ("o 1", 200)
            ])),
            ["123", "o 1", "ale"]
        );
        assert_eq!(rarest_grams(probed(&[("abc", 3)])), ["abc"]);
        assert_eq!(like_escape(r"100%_a\b"), r"100\%\_a\\b");
        // One join per piece after the first, each taking its own element of $4.
        let f = search_filter(false, 3);
        assert!(
            f.contains("g0.gram = $4[1]")
                && f.contains("g1.gram = $4[2]")
                && f.contains("g2.gram = $4[3]")
        );
        assert!(!f.contains("$4[4]"));
        assert!(search_filter(false, 0).contains("UNION"));
        assert!(!search_filter(true, 0).contains("ILIKE"));
    }
}
