//! Domain renewals: the expiries that fall due (a maintenance scan across tenants), one row per
//! (domain, expiry being extended) and its steps, and the domain's renewal settings. Every
//! query on one tenant's rows takes its `TenantId` first.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Cents, TenantId};

/// A bought domain whose registration ends before the scan's horizon.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Expiring {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub expires_at: DateTime<Utc>,
    pub auto_renew: bool,
    pub renewal_state: String,
    pub price_cents: Option<Cents>,
    pub currency: Option<String>,
}

/// Live bought domains expiring before `horizon` (and not lapsed for more than the 90 days
/// past it that registrars still renew), soonest first (the system path: every tenant).
/// Deleted, failed and unpaid ones are not renewed.
pub async fn expiring(
    pool: &PgPool,
    horizon: DateTime<Utc>,
    limit: i64,
) -> super::Result<Vec<Expiring>> {
    sqlx::query_as(
        "SELECT id, tenant_id, name, expires_at, auto_renew, renewal_state, price_cents, currency
           FROM domains
          WHERE kind = 'purchased' AND expires_at IS NOT NULL
            AND status NOT IN ('pending_payment', 'failed', 'deleted')
            AND expires_at <= $1 AND expires_at > $1 - interval '120 days'
          ORDER BY expires_at LIMIT $2",
    )
    .bind(horizon)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("listing expiring domains")
}

/// The registrar's expiry for a bought, live domain named `name` (the system path: the
/// registrar's list names no tenant). Returns whether it changed.
pub async fn sync_expiry(pool: &PgPool, name: &str, expires: DateTime<Utc>) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE domains SET expires_at = $2,
                renewal_state = CASE WHEN $2 > now() AND renewal_state = 'expired' THEN 'ok'
                                     ELSE renewal_state END,
                updated_at = now()
          WHERE name = $1 AND kind = 'purchased'
            AND status NOT IN ('pending_payment', 'failed', 'deleted')
            AND expires_at IS DISTINCT FROM $2",
    )
    .bind(name)
    .bind(expires)
    .execute(pool)
    .await
    .context("syncing an expiry")?;
    Ok(done.rows_affected() > 0)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RenewalRow {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub expires_from: DateTime<Utc>,
    pub status: String,
    pub amount_cents: Cents,
    pub currency: String,
    pub charge_attempts: i32,
    pub registrar_tries: i32,
    pub payment_intent_id: Option<String>,
    pub expires_to: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// `charge_attempts` when the owner last reopened it (declines count from there).
    pub reopened_at: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, domain_id, expires_from, status, amount_cents, currency, charge_attempts,
    registrar_tries, payment_intent_id, expires_to, last_error, reopened_at, created_at, updated_at";

/// The renewal of `domain` from `expires_from`: made the first time, the same row after.
pub async fn open(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    expires_from: DateTime<Utc>,
    amount: Cents,
    currency: &str,
) -> super::Result<RenewalRow> {
    sqlx::query(
        "INSERT INTO domain_renewals (id, tenant_id, domain_id, expires_from, amount_cents, currency)
         VALUES ($1, $2, $3, $4, $5, lower($6))
         ON CONFLICT ON CONSTRAINT domain_renewals_term_key DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(tenant.0)
    .bind(domain)
    .bind(expires_from)
    .bind(amount)
    .bind(currency)
    .execute(&mut *conn)
    .await
    .context("opening a renewal")?;
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domain_renewals
          WHERE tenant_id = $1 AND domain_id = $2 AND expires_from = $3 FOR UPDATE"
    ))
    .bind(tenant.0)
    .bind(domain)
    .bind(expires_from)
    .fetch_one(conn)
    .await
    .context("loading a renewal")
}

/// The charge went through.
pub async fn charged(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    payment_intent: &str,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domain_renewals SET status = 'charged', payment_intent_id = $3, last_error = NULL,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(payment_intent)
    .execute(conn)
    .await
    .context("recording a renewal's charge")?;
    Ok(())
}

/// The card was declined: the next try uses a new idempotency key; `give_up` ends it.
pub async fn declined(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    message: &str,
    give_up: bool,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domain_renewals
            SET charge_attempts = charge_attempts + 1, last_error = left($3, 500),
                status = CASE WHEN $4 THEN 'failed' ELSE status END, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(message)
    .bind(give_up)
    .execute(conn)
    .await
    .context("recording a declined renewal")?;
    Ok(())
}

/// A step failed in a way worth retrying (nothing changes but the note).
pub async fn note(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    message: &str,
    registrar_try: bool,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domain_renewals
            SET last_error = left($3, 500), updated_at = now(),
                registrar_tries = registrar_tries + CASE WHEN $4 THEN 1 ELSE 0 END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(message)
    .bind(registrar_try)
    .execute(conn)
    .await
    .context("noting a renewal's failure")?;
    Ok(())
}

/// The renewal is over: `failed` (never charged) only from `pending`, `refunded` (its money
/// on the way back) only from `charged` — a charge the webhook recorded meanwhile is never
/// overwritten as "not charged". Returns whether it moved.
pub async fn finish(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    status: &str,
    message: Option<&str>,
) -> super::Result<bool> {
    let from = if status == "refunded" {
        "charged"
    } else {
        "pending"
    };
    let done = sqlx::query(
        "UPDATE domain_renewals SET status = $3, last_error = COALESCE(left($4, 500), last_error),
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = $5",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(status)
    .bind(message)
    .bind(from)
    .execute(conn)
    .await
    .context("finishing a renewal")?;
    Ok(done.rows_affected() > 0)
}

/// The owner tries a renewal that gave up (never charged) again: it becomes `pending`, its
/// declines counted afresh. The reopened row, if there was one to reopen.
pub async fn reopen(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    expires_from: DateTime<Utc>,
) -> super::Result<Option<RenewalRow>> {
    sqlx::query_as(&format!(
        "UPDATE domain_renewals SET status = 'pending', reopened_at = charge_attempts,
                last_error = NULL, updated_at = now()
          WHERE tenant_id = $1 AND domain_id = $2 AND expires_from = $3 AND status = 'failed'
          RETURNING {COLUMNS}"
    ))
    .bind(tenant.0)
    .bind(domain)
    .bind(expires_from)
    .fetch_optional(conn)
    .await
    .context("reopening a renewal")
}

/// The renewal of `domain` from `expires_from`, if one was opened.
pub async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    expires_from: DateTime<Utc>,
) -> super::Result<Option<RenewalRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domain_renewals
          WHERE tenant_id = $1 AND domain_id = $2 AND expires_from = $3"
    ))
    .bind(tenant.0)
    .bind(domain)
    .bind(expires_from)
    .fetch_optional(conn)
    .await
    .context("finding a renewal")
}

/// The registrar renewed it: the renewal is done and the domain's expiry moves on, in one
/// statement pair inside the caller's transaction.
pub async fn renewed(
    conn: &mut PgConnection,
    tenant: TenantId,
    renewal: &RenewalRow,
    expires_to: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domain_renewals SET status = 'renewed', expires_to = $3, last_error = NULL,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(renewal.id)
    .bind(expires_to)
    .execute(&mut *conn)
    .await
    .context("recording a renewal")?;
    sqlx::query(
        "UPDATE domains SET expires_at = $4, renewal_state = 'ok', renewal_error = NULL,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND expires_at = $3",
    )
    .bind(tenant.0)
    .bind(renewal.domain_id)
    .bind(renewal.expires_from)
    .bind(expires_to)
    .execute(conn)
    .await
    .context("extending the domain")?;
    Ok(())
}

/// `expiring` (with why) or `expired`, or back to `ok`.
pub async fn set_state(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    state: &str,
    error: Option<&str>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE domains SET renewal_state = $3, renewal_error = left($4, 500), updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(domain)
    .bind(state)
    .bind(error)
    .execute(conn)
    .await
    .context("setting a domain's renewal state")?;
    Ok(())
}

/// Switches auto-renew; false when the domain is not the tenant's bought, live domain.
pub async fn set_auto_renew(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
    on: bool,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE domains SET auto_renew = $3, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND kind = 'purchased'
            AND status NOT IN ('pending_payment', 'failed', 'deleted')",
    )
    .bind(tenant.0)
    .bind(domain)
    .bind(on)
    .execute(conn)
    .await
    .context("switching auto-renew")?;
    Ok(done.rows_affected() > 0)
}

/// The domain's renewal settings: (auto_renew, renewal_state, renewal_error).
pub async fn settings(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
) -> super::Result<Option<(bool, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT auto_renew, renewal_state, renewal_error FROM domains
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(domain)
    .fetch_optional(conn)
    .await
    .context("loading renewal settings")
}

/// The domain's renewals, newest first.
pub async fn history(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
) -> super::Result<Vec<RenewalRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domain_renewals WHERE tenant_id = $1 AND domain_id = $2
          ORDER BY expires_from DESC LIMIT 20"
    ))
    .bind(tenant.0)
    .bind(domain)
    .fetch_all(conn)
    .await
    .context("listing renewals")
}

pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<RenewalRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domain_renewals WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await
    .context("loading a renewal")
}

/// A charge that went through after the renewal had given up (its answer was lost): the
/// renewal becomes `refunded` with that payment, for the refund job. False when it was not
/// given up.
pub async fn refund_stray(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    payment_intent: &str,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE domain_renewals SET status = 'refunded', payment_intent_id = $3, updated_at = now(),
                last_error = 'Charged after the renewal had stopped: refunded.'
          WHERE tenant_id = $1 AND id = $2 AND status = 'failed'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(payment_intent)
    .execute(conn)
    .await
    .context("refunding a stray renewal charge")?;
    Ok(done.rows_affected() > 0)
}
