//! Domains, their DNS records with per-record health, and the purchase saga's steps. Every
//! query on a tenant's domain takes its `TenantId` first; the only cross-tenant queries are
//! the maintenance scans at the bottom.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Cents, DomainKind, DomainStatus, RecordStatus, StepStatus, TenantId};

/// The columns of [`DomainRow`], for every query that reads one.
const COLUMNS: &str = "id, tenant_id, name, status, kind, managed, purchase_id, price_cents, currency,
    registrar_id, zone_id, nameservers, expires_at, dkim_selector, dkim_public_key, dkim_private_key,
    health, last_checked_at, failure_reason, created_at, suspension_reason";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DomainRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub status: DomainStatus,
    pub kind: DomainKind,
    pub managed: bool,
    pub purchase_id: Option<Uuid>,
    pub price_cents: Option<Cents>,
    pub currency: Option<String>,
    pub registrar_id: Option<String>,
    pub zone_id: Option<String>,
    pub nameservers: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub dkim_selector: Option<String>,
    pub dkim_public_key: Option<String>,
    pub dkim_private_key: Option<Vec<u8>>,
    pub health: String,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Why staff suspended it, while it is suspended.
    pub suspension_reason: Option<String>,
}

impl DomainRow {
    pub fn tenant(&self) -> TenantId {
        TenantId(self.tenant_id)
    }
}

pub struct NewDomain<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub status: DomainStatus,
    pub kind: DomainKind,
    pub managed: bool,
    pub purchase_id: Option<Uuid>,
    pub price_cents: Option<Cents>,
    pub currency: Option<&'a str>,
    pub zone_id: Option<&'a str>,
}

/// Another live domain (any tenant's) with this name:
/// [`Constraint::DomainsLiveName`](super::Constraint::DomainsLiveName).
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    d: &NewDomain<'_>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO domains (id, tenant_id, name, status, kind, managed, purchase_id, price_cents,
             currency, zone_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(d.id)
    .bind(tenant.0)
    .bind(d.name)
    .bind(d.status.as_str())
    .bind(d.kind.as_str())
    .bind(d.managed)
    .bind(d.purchase_id)
    .bind(d.price_cents)
    .bind(d.currency)
    .bind(d.zone_id)
    .execute(conn)
    .await
    .context("inserting a domain")?;
    Ok(())
}

pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<DomainRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await
    .context("loading a domain")
}

/// A domain in the list, with how many of its records the last check found OK.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedDomain {
    #[sqlx(flatten)]
    pub domain: DomainRow,
    pub records_ok: i64,
    pub records_total: i64,
}

/// The tenant's domains, newest first, without deleted ones, with their record counts (one
/// query for the whole list).
pub async fn list(conn: &mut PgConnection, tenant: TenantId) -> super::Result<Vec<ListedDomain>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS},
                (SELECT count(*) FILTER (WHERE r.status = 'ok') FROM domain_records r
                  WHERE r.domain_id = domains.id) AS records_ok,
                (SELECT count(*) FROM domain_records r WHERE r.domain_id = domains.id) AS records_total
           FROM domains WHERE tenant_id = $1 AND status <> 'deleted'
          ORDER BY created_at DESC, name"
    ))
    .bind(tenant.0)
    .fetch_all(conn)
    .await
    .context("listing domains")
}

/// The tenant's domain bought with `purchase`.
pub async fn by_purchase(
    conn: &mut PgConnection,
    tenant: TenantId,
    purchase: Uuid,
) -> super::Result<Option<DomainRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE tenant_id = $1 AND purchase_id = $2"
    ))
    .bind(tenant.0)
    .bind(purchase)
    .fetch_optional(conn)
    .await
    .context("finding the purchased domain")
}

/// The Checkout URL of this tenant's unpaid purchase of `name` from the last 30 minutes.
pub async fn open_checkout(
    conn: &mut PgConnection,
    tenant: TenantId,
    name: &str,
) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT c.url FROM domains d JOIN billing_checkouts c ON c.purchase_id = d.purchase_id
          WHERE d.tenant_id = $1 AND d.name = $2 AND d.status = 'pending_payment'
            AND c.tenant_id = $1 AND c.created_at > now() - interval '30 minutes'
          ORDER BY c.created_at DESC LIMIT 1",
    )
    .bind(tenant.0)
    .bind(name)
    .fetch_optional(conn)
    .await
    .context("finding an open domain checkout")
}

/// Whether another live domain (any tenant's, other than an unverified own-domain claim) has
/// this name; `except` is the caller's own row.
pub async fn name_held(
    conn: &mut PgConnection,
    name: &str,
    except: Option<Uuid>,
) -> super::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM domains WHERE name = $1 AND id IS DISTINCT FROM $2
            AND status NOT IN ('failed', 'deleted') AND NOT (kind = 'byod' AND status = 'verifying'))",
    )
    .bind(name)
    .bind(except)
    .fetch_one(conn)
    .await
    .context("checking who holds the name")
}

/// The tenant whose registration of `name` through us still runs, whatever became of its
/// domain row since (removed, or its saga failed after registering): the name stays theirs
/// until the registration ends. Cross-tenant by design: it answers "whose is this name?".
pub async fn registered_to(conn: &mut PgConnection, name: &str) -> super::Result<Option<TenantId>> {
    let tenant: Option<Uuid> = sqlx::query_scalar(
        "SELECT tenant_id FROM domains
          WHERE name = $1 AND kind = 'purchased' AND expires_at > now()
          ORDER BY expires_at DESC LIMIT 1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await
    .context("finding who registered the name")?;
    Ok(tenant.map(TenantId))
}

/// Whether this tenant already has a live domain with this name.
pub async fn tenant_has_name(
    conn: &mut PgConnection,
    tenant: TenantId,
    name: &str,
) -> super::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM domains WHERE tenant_id = $1 AND name = $2
            AND status NOT IN ('failed', 'deleted'))",
    )
    .bind(tenant.0)
    .bind(name)
    .fetch_one(conn)
    .await
    .context("checking the tenant's names")
}

/// Moves the domain to `status` (and records why, for `failed`). `from` limits the move to
/// domains in one of those states; returns whether it moved. A move that would make a second
/// live domain with one name (an own-domain claim verified while another account holds the
/// name) does not happen: `false`.
pub async fn set_status(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    status: DomainStatus,
    from: &[DomainStatus],
    reason: Option<&str>,
) -> super::Result<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let done = sqlx::query(
        "UPDATE domains SET status = $3, failure_reason = COALESCE($5, failure_reason), updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND (cardinality($4::text[]) = 0 OR status = ANY($4))",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(status)
    .bind(&from)
    .bind(reason)
    .execute(conn)
    .await
    .context("changing a domain's status");
    match done {
        Ok(done) => Ok(done.rows_affected() > 0),
        Err(e) if e.violated(&super::Constraint::DomainsLiveName) => {
            tracing::warn!(domain = %id, %status, "another live domain holds this name");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

pub async fn set_registration(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    registrar_id: Option<&str>,
    expires: Option<DateTime<Utc>>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domains SET registrar_id = COALESCE($3, registrar_id),
                expires_at = COALESCE($4, expires_at), updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(registrar_id)
    .bind(expires)
    .execute(conn)
    .await
    .context("recording the registration")?;
    Ok(())
}

pub async fn set_zone(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    zone_id: &str,
    nameservers: &[String],
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domains SET zone_id = $3, nameservers = $4, managed = true, updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(zone_id)
    .bind(nameservers)
    .execute(conn)
    .await
    .context("recording the zone")?;
    Ok(())
}

/// Stores the DKIM key unless the domain has one already; returns whether this one was kept.
pub async fn set_dkim_once(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    selector: &str,
    public_b64: &str,
    private_sealed: &[u8],
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE domains SET dkim_selector = $3, dkim_public_key = $4, dkim_private_key = $5,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND dkim_public_key IS NULL",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(selector)
    .bind(public_b64)
    .bind(private_sealed)
    .execute(conn)
    .await
    .context("storing the DKIM key")?;
    Ok(done.rows_affected() > 0)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StepRow {
    pub step: String,
    pub status: StepStatus,
    pub attempts: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

pub async fn steps(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Vec<StepRow>> {
    sqlx::query_as(
        "SELECT s.step, s.status, s.attempts, s.started_at, s.finished_at, s.error
           FROM domain_saga_steps s JOIN domains d ON d.id = s.domain_id
          WHERE d.tenant_id = $1 AND s.domain_id = $2
          ORDER BY s.started_at, s.step",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_all(conn)
    .await
    .context("loading the saga's steps")
}

/// Takes the lock that lets one worker at a time run domain `id`'s saga, for as long as
/// `conn`'s transaction lasts (a transaction-scoped advisory lock: released at commit or
/// rollback, or when the connection dies). False when another worker holds it now.
pub async fn try_saga_lock(conn: &mut PgConnection, id: Uuid) -> super::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 1101))")
        .bind(id)
        .fetch_one(conn)
        .await
        .context("taking a domain's saga lock")
}

/// Records that `step` is starting (again): `running`, one more attempt, no error.
pub async fn step_started(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    step: &str,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO domain_saga_steps (domain_id, step, status, attempts)
         SELECT id, $3, 'running', 1 FROM domains WHERE tenant_id = $1 AND id = $2
         ON CONFLICT (domain_id, step) DO UPDATE
            SET status = 'running', attempts = domain_saga_steps.attempts + 1, error = NULL,
                finished_at = NULL",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(step)
    .execute(conn)
    .await
    .context("recording a step's start")?;
    Ok(())
}

/// Records the end of `step`: `done`, or `failed` with the error.
pub async fn step_finished(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    step: &str,
    error: Option<&str>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domain_saga_steps s SET status = CASE WHEN $4::text IS NULL THEN 'done' ELSE 'failed' END,
                error = $4, finished_at = now()
           FROM domains d
          WHERE d.id = s.domain_id AND d.tenant_id = $1 AND s.domain_id = $2 AND s.step = $3",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(step)
    .bind(error)
    .execute(conn)
    .await
    .context("recording a step's end")?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RecordRow {
    pub purpose: String,
    pub seq: i32,
    pub kind: String,
    pub name: String,
    pub content: String,
    pub priority: Option<i32>,
    pub status: RecordStatus,
    pub found: Vec<String>,
    pub fix: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

pub async fn records(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Vec<RecordRow>> {
    sqlx::query_as(
        "SELECT r.purpose, r.seq, r.kind, r.name, r.content, r.priority, r.status, r.found, r.fix,
                r.checked_at
           FROM domain_records r JOIN domains d ON d.id = r.domain_id
          WHERE d.tenant_id = $1 AND r.domain_id = $2
          ORDER BY array_position(ARRAY['mx','spf','dkim','dmarc','tracking'], r.purpose), r.seq",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_all(conn)
    .await
    .context("loading the domain's records")
}

/// Replaces the domain's records with `rows` and sets its health from them (`unknown` when
/// `checked` is false: the records are expected but not looked up yet). Returns the health
/// the domain had before.
pub async fn store_records(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    rows: &[RecordRow],
    checked: bool,
) -> super::Result<Option<String>> {
    let before: Option<String> = sqlx::query_scalar(
        "SELECT health FROM domains WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("locking the domain")?;
    if before.is_none() {
        return Ok(None);
    }
    sqlx::query("DELETE FROM domain_records WHERE domain_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("clearing the records")?;
    for r in rows {
        sqlx::query(
            "INSERT INTO domain_records (domain_id, purpose, seq, kind, name, content, priority,
                 status, found, fix, checked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(&r.purpose)
        .bind(r.seq)
        .bind(&r.kind)
        .bind(&r.name)
        .bind(&r.content)
        .bind(r.priority)
        .bind(r.status.as_str())
        .bind(&r.found)
        .bind(&r.fix)
        .bind(r.checked_at)
        .execute(&mut *conn)
        .await
        .context("storing a record")?;
    }
    let health = if !checked {
        "unknown"
    } else if rows.iter().all(|r| r.status == RecordStatus::Ok) {
        "ok"
    } else {
        "broken"
    };
    sqlx::query(
        "UPDATE domains SET health = $3,
                last_checked_at = CASE WHEN $4 THEN now() ELSE last_checked_at END, updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(health)
    .bind(checked)
    .execute(conn)
    .await
    .context("storing the domain's health")?;
    Ok(before)
}

/// The succeeded payment of the tenant's `purchase`: (PaymentIntent id, amount, currency).
pub async fn purchase_payment(
    conn: &mut PgConnection,
    tenant: TenantId,
    purchase: Uuid,
) -> super::Result<Option<(String, i64, String)>> {
    sqlx::query_as(
        "SELECT payment_intent_id, amount, currency FROM billing_payments
          WHERE tenant_id = $1 AND purchase_id = $2 AND status = 'succeeded'
          ORDER BY updated_at LIMIT 1",
    )
    .bind(tenant.0)
    .bind(purchase)
    .fetch_optional(conn)
    .await
    .context("finding the purchase's payment")
}

// ---------------------------------------------------------------------------------------------
// Maintenance across tenants.

/// Frees the names of purchases whose Checkout was abandoned: `pending_payment` older than
/// `ttl_secs` becomes `deleted`. A payment that still arrives later is refunded by the saga.
pub async fn release_abandoned(conn: &mut PgConnection, ttl_secs: i64) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE domains SET status = 'deleted', failure_reason = 'Checkout was not completed.',
                updated_at = now()
          WHERE status = 'pending_payment' AND created_at < now() - make_interval(secs => $1)",
    )
    .bind(ttl_secs as f64)
    .execute(conn)
    .await
    .context("releasing abandoned purchases")?;
    Ok(done.rows_affected())
}

/// Domains whose DNS is due for a scheduled check: set up (verifying or active) and not
/// checked within `interval_secs`. (tenant, domain)
pub async fn due_for_check(
    pool: &PgPool,
    interval_secs: u64,
    limit: i64,
) -> super::Result<Vec<(Uuid, Uuid)>> {
    sqlx::query_as(
        "SELECT tenant_id, id FROM domains
          WHERE status IN ('verifying', 'active') AND dkim_public_key IS NOT NULL
            AND (last_checked_at IS NULL OR last_checked_at < now() - make_interval(secs => $1))
          ORDER BY last_checked_at NULLS FIRST LIMIT $2",
    )
    .bind(interval_secs as f64)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("finding domains due for a DNS check")
}

/// The tenant's domains among `ids`.
pub async fn by_ids(
    conn: &mut PgConnection,
    tenant: TenantId,
    ids: &[Uuid],
) -> super::Result<Vec<DomainRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE tenant_id = $1 AND id = ANY($2) ORDER BY name"
    ))
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(conn)
    .await
    .context("loading domains by id")
}

/// The tenant's active domains, by name.
pub async fn active<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Vec<DomainRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE tenant_id = $1 AND status = 'active' ORDER BY name"
    ))
    .bind(tenant.0)
    .fetch_all(exec)
    .await
    .context("loading active domains")
}

/// The domains the relay signs for: active ones, and bought ones being set up (their key is
/// in DNS already). An unverified own-domain claim never: its key proves nothing yet.
pub async fn for_relay(pool: &PgPool, tenant: TenantId) -> super::Result<Vec<DomainRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains
          WHERE tenant_id = $1 AND dkim_private_key IS NOT NULL AND dkim_selector IS NOT NULL
            AND (status = 'active' OR (kind <> 'byod' AND status IN ('configuring_dns', 'verifying')))
          ORDER BY name"
    ))
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .context("loading the relay's domains")
}

/// Staff suspend one domain (the system path): its status is kept to restore. The tenant and
/// name, or `None` when there is no such domain in a state that can be suspended.
pub async fn suspend(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
) -> super::Result<Option<(Uuid, String)>> {
    sqlx::query_as(
        "UPDATE domains SET status_before_suspension = status, status = 'suspended',
                suspension_reason = $2
          WHERE id = $1 AND status IN ('configuring_dns', 'verifying', 'active')
          RETURNING tenant_id, name",
    )
    .bind(id)
    .bind(reason)
    .fetch_optional(conn)
    .await
    .context("suspending a domain")
}

/// Staff resume a suspended domain to the status it had; the tenant, name and that status.
pub async fn resume(
    conn: &mut PgConnection,
    id: Uuid,
) -> super::Result<Option<(Uuid, String, String)>> {
    sqlx::query_as(
        "UPDATE domains SET status = coalesce(status_before_suspension, 'active'),
                status_before_suspension = NULL, suspension_reason = NULL
          WHERE id = $1 AND status = 'suspended'
          RETURNING tenant_id, name, status",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .context("resuming a domain")
}
