//! The Stripe mirror, the ledger and payment suspensions. Webhook writes take the open
//! transaction (`&mut PgConnection`) so an event and its effects commit together; customer
//! reads take the `TenantCtx`.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{
    Cents, CheckoutSessionStatus, InvoiceStatus, LedgerKind, SubscriptionStatus,
    SuspensionCategory, TenantId,
};
use crate::server::auth::TenantCtx;

pub struct EventMeta<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub api_version: Option<&'a str>,
    pub livemode: bool,
    pub created: DateTime<Utc>,
    pub object_id: Option<&'a str>,
}

/// Stores the event; false when it was already stored (a duplicate delivery).
pub async fn insert_event(
    conn: &mut PgConnection,
    meta: &EventMeta<'_>,
    payload: &serde_json::Value,
) -> super::Result<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "INSERT INTO stripe_events (id, type, api_version, livemode, created, object_id, outcome, payload)
         VALUES ($1, $2, $3, $4, $5, $6, 'applied', $7)
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(meta.id)
    .bind(meta.kind)
    .bind(meta.api_version)
    .bind(meta.livemode)
    .bind(meta.created)
    .bind(meta.object_id)
    .bind(payload)
    .fetch_optional(conn)
    .await
    .context("storing the stripe event")?;
    Ok(row.is_some())
}

/// A stored event's payload, locked until the transaction ends (a replay).
pub async fn lock_event_payload(
    conn: &mut PgConnection,
    id: &str,
) -> super::Result<Option<serde_json::Value>> {
    sqlx::query_scalar("SELECT payload FROM stripe_events WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
        .context("loading the event")
}

pub async fn finish_event(
    conn: &mut PgConnection,
    id: &str,
    outcome: &str,
    tenant_id: Option<TenantId>,
) -> super::Result<()> {
    sqlx::query("UPDATE stripe_events SET outcome = $2, tenant_id = $3 WHERE id = $1")
        .bind(id)
        .bind(outcome)
        .bind(tenant_id.map(|t| t.0))
        .execute(conn)
        .await
        .context("recording the event outcome")?;
    Ok(())
}

pub async fn tenant_for_customer(
    conn: &mut PgConnection,
    customer_id: &str,
) -> super::Result<Option<TenantId>> {
    sqlx::query_scalar("SELECT tenant_id FROM billing_customers WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(conn)
        .await
        .context("finding the customer's tenant")
}

pub async fn tenant_exists(conn: &mut PgConnection, tenant_id: TenantId) -> super::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
        .bind(tenant_id.0)
        .fetch_one(conn)
        .await
        .context("checking the tenant")
}

pub struct CheckoutCompletion<'a> {
    pub id: &'a str,
    pub payment_status: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
    pub payment_intent_id: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub async fn complete_checkout(
    conn: &mut PgConnection,
    c: &CheckoutCompletion<'_>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE billing_checkouts
            SET status = 'complete', payment_status = $2,
                subscription_id = COALESCE($3, subscription_id),
                payment_intent_id = COALESCE($4, payment_intent_id),
                completed_at = COALESCE(completed_at, $5)
          WHERE id = $1",
    )
    .bind(c.id)
    .bind(c.payment_status)
    .bind(c.subscription_id)
    .bind(c.payment_intent_id)
    .bind(c.at)
    .execute(conn)
    .await
    .context("completing the checkout")?;
    Ok(())
}

pub struct SubscriptionRow<'a> {
    pub id: &'a str,
    pub tenant_id: TenantId,
    pub customer_id: &'a str,
    pub status: &'a str,
    pub plan_id: Option<&'a str>,
    pub price_id: &'a str,
    pub item_id: &'a str,
    pub current_period_end: Option<DateTime<Utc>>,
    pub trial_start: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub src_created: DateTime<Utc>,
    pub src_type_rank: i16,
    pub src_status_rank: i16,
    pub src_event_id: &'a str,
}

/// Writes the subscription unless the stored row came from a newer event (or is already
/// canceled, which is terminal). Stripe's `created` has 1-second resolution; within one
/// second a delete outranks an update outranks a create, a later status outranks an earlier
/// one, and on a full tie the later delivery wins (two changes to the same subscription in
/// the same second, e.g. cancel then undo). Returns whether it was written.
pub async fn upsert_subscription(
    conn: &mut PgConnection,
    s: &SubscriptionRow<'_>,
) -> super::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO billing_subscriptions AS o (id, tenant_id, customer_id, status, plan_id, price_id,
             item_id, current_period_end, trial_start, trial_end, cancel_at_period_end, canceled_at,
             ended_at, src_created, src_type_rank, src_status_rank, src_event_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
         ON CONFLICT (id) DO UPDATE SET
             status = EXCLUDED.status, plan_id = EXCLUDED.plan_id, price_id = EXCLUDED.price_id,
             item_id = EXCLUDED.item_id, current_period_end = EXCLUDED.current_period_end,
             trial_start = EXCLUDED.trial_start, trial_end = EXCLUDED.trial_end,
             cancel_at_period_end = EXCLUDED.cancel_at_period_end,
             canceled_at = EXCLUDED.canceled_at, ended_at = EXCLUDED.ended_at,
             src_created = EXCLUDED.src_created, src_type_rank = EXCLUDED.src_type_rank,
             src_status_rank = EXCLUDED.src_status_rank, src_event_id = EXCLUDED.src_event_id,
             updated_at = now()
         WHERE o.status <> 'canceled'
           AND (o.src_created, o.src_type_rank, o.src_status_rank)
            <= (EXCLUDED.src_created, EXCLUDED.src_type_rank, EXCLUDED.src_status_rank)",
    )
    .bind(s.id)
    .bind(s.tenant_id.0)
    .bind(s.customer_id)
    .bind(s.status)
    .bind(s.plan_id)
    .bind(s.price_id)
    .bind(s.item_id)
    .bind(s.current_period_end)
    .bind(s.trial_start)
    .bind(s.trial_end)
    .bind(s.cancel_at_period_end)
    .bind(s.canceled_at)
    .bind(s.ended_at)
    .bind(s.src_created)
    .bind(s.src_type_rank)
    .bind(s.src_status_rank)
    .bind(s.src_event_id)
    .execute(conn)
    .await
    .context("mirroring the subscription")?;
    Ok(done.rows_affected() == 1)
}

pub struct InvoiceRow<'a> {
    pub id: &'a str,
    pub tenant_id: TenantId,
    pub customer_id: &'a str,
    pub subscription_id: Option<&'a str>,
    pub number: Option<&'a str>,
    pub status: &'a str,
    pub amount_due: Cents,
    pub amount_paid: Cents,
    pub currency: &'a str,
    pub billing_reason: Option<&'a str>,
    pub attempt_count: i32,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub hosted_invoice_url: Option<&'a str>,
    pub invoice_pdf: Option<&'a str>,
    pub created: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// Invoice statuses only move forward (draft < open < uncollectible < void < paid), attempts
/// only grow, and known values are never blanked, so any delivery order ends the same.
pub async fn upsert_invoice(conn: &mut PgConnection, i: &InvoiceRow<'_>) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO billing_invoices AS o (id, tenant_id, customer_id, subscription_id, number, status,
             amount_due, amount_paid, currency, billing_reason, attempt_count, period_start, period_end,
             hosted_invoice_url, invoice_pdf, created, paid_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
         ON CONFLICT (id) DO UPDATE SET
             status = CASE WHEN invoice_status_rank(EXCLUDED.status) > invoice_status_rank(o.status)
                           THEN EXCLUDED.status ELSE o.status END,
             amount_paid = GREATEST(o.amount_paid, EXCLUDED.amount_paid),
             attempt_count = GREATEST(o.attempt_count, EXCLUDED.attempt_count),
             subscription_id = COALESCE(o.subscription_id, EXCLUDED.subscription_id),
             number = COALESCE(o.number, EXCLUDED.number),
             billing_reason = COALESCE(o.billing_reason, EXCLUDED.billing_reason),
             period_start = COALESCE(o.period_start, EXCLUDED.period_start),
             period_end = COALESCE(o.period_end, EXCLUDED.period_end),
             hosted_invoice_url = COALESCE(o.hosted_invoice_url, EXCLUDED.hosted_invoice_url),
             invoice_pdf = COALESCE(o.invoice_pdf, EXCLUDED.invoice_pdf),
             paid_at = COALESCE(o.paid_at, EXCLUDED.paid_at),
             updated_at = now()",
    )
    .bind(i.id)
    .bind(i.tenant_id.0)
    .bind(i.customer_id)
    .bind(i.subscription_id)
    .bind(i.number)
    .bind(i.status)
    .bind(i.amount_due)
    .bind(i.amount_paid)
    .bind(i.currency)
    .bind(i.billing_reason)
    .bind(i.attempt_count)
    .bind(i.period_start)
    .bind(i.period_end)
    .bind(i.hosted_invoice_url)
    .bind(i.invoice_pdf)
    .bind(i.created)
    .bind(i.paid_at)
    .execute(conn)
    .await
    .context("mirroring the invoice")?;
    Ok(())
}

pub struct PaymentRow<'a> {
    pub payment_intent_id: &'a str,
    pub tenant_id: TenantId,
    pub purchase_id: Uuid,
    pub amount: Cents,
    pub currency: &'a str,
    pub status: &'a str,
    pub failure_message: Option<&'a str>,
}

/// One-time payments: `succeeded` is terminal, a late failure never overwrites it.
pub async fn upsert_payment(conn: &mut PgConnection, p: &PaymentRow<'_>) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO billing_payments AS o (payment_intent_id, tenant_id, purchase_id, amount, currency,
             status, failure_message)
         VALUES ($1,$2,$3,$4,$5,$6,$7)
         ON CONFLICT (payment_intent_id) DO UPDATE SET
             status = CASE WHEN o.status = 'succeeded' THEN o.status ELSE EXCLUDED.status END,
             failure_message = CASE WHEN o.status = 'succeeded' THEN o.failure_message
                                    ELSE EXCLUDED.failure_message END,
             updated_at = now()",
    )
    .bind(p.payment_intent_id)
    .bind(p.tenant_id.0)
    .bind(p.purchase_id)
    .bind(p.amount)
    .bind(p.currency)
    .bind(p.status)
    .bind(p.failure_message)
    .execute(conn)
    .await
    .context("recording the payment")?;
    Ok(())
}

pub struct LedgerEntry<'a> {
    pub tenant_id: TenantId,
    pub kind: LedgerKind,
    pub amount_cents: Cents,
    pub currency: &'a str,
    pub provider_ref: &'a str,
    pub invoice_id: Option<&'a str>,
    pub payment_intent_id: Option<&'a str>,
    pub charge_id: Option<&'a str>,
    pub purchase_id: Option<Uuid>,
    pub description: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub event_id: Option<&'a str>,
}

/// Appends the entry once per (kind, provider_ref); false when it was already there.
pub async fn append_ledger(conn: &mut PgConnection, e: &LedgerEntry<'_>) -> super::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO ledger_entries (tenant_id, kind, amount_cents, currency, provider_ref, invoice_id,
             payment_intent_id, charge_id, purchase_id, description, occurred_at, event_id)
         VALUES ($1,$2,$3,lower($4),$5,$6,$7,$8,$9,$10,$11,$12)
         ON CONFLICT (kind, provider_ref) DO NOTHING",
    )
    .bind(e.tenant_id.0)
    .bind(e.kind.as_str())
    .bind(e.amount_cents)
    .bind(e.currency)
    .bind(e.provider_ref)
    .bind(e.invoice_id)
    .bind(e.payment_intent_id)
    .bind(e.charge_id)
    .bind(e.purchase_id)
    .bind(e.description)
    .bind(e.occurred_at)
    .bind(e.event_id)
    .execute(conn)
    .await
    .context("appending to the ledger")?;
    Ok(done.rows_affected() == 1)
}

/// Refunds already in the ledger for a charge (as a positive amount), holding a lock on the
/// charge until the transaction ends so concurrent refund events cannot both add the delta.
pub async fn refunded_so_far(conn: &mut PgConnection, charge_id: &str) -> super::Result<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('refund:' || $1))")
        .bind(charge_id)
        .execute(&mut *conn)
        .await
        .context("locking the charge")?;
    sqlx::query_scalar(
        "SELECT COALESCE(-sum(amount_cents), 0)::bigint FROM ledger_entries
          WHERE kind = 'refund' AND charge_id = $1",
    )
    .bind(charge_id)
    .fetch_one(conn)
    .await
    .context("summing refunds")
}

/// The payment intent a one-time purchase was paid with, if it succeeded.
pub async fn purchase_for_payment(
    conn: &mut PgConnection,
    payment_intent_id: &str,
) -> super::Result<Option<(TenantId, Uuid)>> {
    sqlx::query_as(
        "SELECT tenant_id, purchase_id FROM billing_payments WHERE payment_intent_id = $1",
    )
    .bind(payment_intent_id)
    .fetch_optional(conn)
    .await
    .context("finding the purchase")
}

/// Recomputes what the tenant's billing means for it, from the mirror (never from one event):
/// the plan of its current subscription, and a `payment` suspension while an open invoice has
/// failed `threshold` times or more (lifted once none has). True when the tenant's status
/// (suspended or not) changed.
pub async fn recompute_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    threshold: i32,
) -> super::Result<bool> {
    sqlx::query(
        "UPDATE tenants t SET plan_id = (
             SELECT s.plan_id FROM billing_subscriptions s
              WHERE s.tenant_id = t.id AND s.status IN ('trialing', 'active', 'past_due', 'unpaid', 'paused')
              ORDER BY s.src_created DESC LIMIT 1)
          WHERE t.id = $1",
    )
    .bind(tenant.0)
    .execute(&mut *conn)
    .await
    .context("updating the tenant's plan")?;
    let failures: i32 = sqlx::query_scalar(
        "SELECT COALESCE(max(attempt_count), 0) FROM billing_invoices
          WHERE tenant_id = $1 AND status = 'open'",
    )
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await
    .context("counting failed payments")?;
    if failures >= threshold {
        sqlx::query(
            "INSERT INTO suspensions (id, tenant_id, category, reason, actor)
             VALUES ($1, $2, 'payment', $3, 'system')
             ON CONFLICT (tenant_id, category) WHERE lifted_at IS NULL DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.0)
        .bind(format!("{failures} failed payments"))
        .execute(&mut *conn)
        .await
        .context("suspending for payment")?;
    } else {
        sqlx::query(
            "UPDATE suspensions SET lifted_at = now(), lifted_by = 'system',
                    lift_reason = 'payment succeeded'
              WHERE tenant_id = $1 AND category = 'payment' AND lifted_at IS NULL",
        )
        .bind(tenant.0)
        .execute(&mut *conn)
        .await
        .context("lifting the payment suspension")?;
    }
    super::suspensions::refresh_tenant_status(conn, tenant).await
}

// ---- customer records ----------------------------------------------------------------------

/// The tenant's Stripe customer, locking the tenant row so two requests cannot both create one.
pub async fn lock_customer(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> super::Result<Option<String>> {
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(ctx.tenant_id().0)
        .execute(&mut *conn)
        .await
        .context("locking the tenant")?;
    sqlx::query_scalar("SELECT customer_id FROM billing_customers WHERE tenant_id = $1")
        .bind(ctx.tenant_id().0)
        .fetch_optional(conn)
        .await
        .context("loading the customer")
}

/// The tenant's Stripe customer, if it has one (jobs acting for the tenant).
pub async fn customer_of(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> super::Result<Option<String>> {
    sqlx::query_scalar("SELECT customer_id FROM billing_customers WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(conn)
        .await
        .context("loading the customer")
}

pub async fn insert_customer(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    customer_id: &str,
) -> super::Result<()> {
    sqlx::query("INSERT INTO billing_customers (tenant_id, customer_id) VALUES ($1, $2)")
        .bind(ctx.tenant_id().0)
        .bind(customer_id)
        .execute(conn)
        .await
        .context("saving the customer")?;
    Ok(())
}

/// Name and owner email, for the Stripe customer.
pub async fn customer_details(pool: &PgPool, ctx: &TenantCtx) -> super::Result<(String, String)> {
    sqlx::query_as(
        "SELECT t.name, u.email FROM tenants t
           JOIN memberships m ON m.tenant_id = t.id AND m.role = 'owner'
           JOIN users u ON u.id = m.user_id
          WHERE t.id = $1 ORDER BY m.created_at LIMIT 1",
    )
    .bind(ctx.tenant_id().0)
    .fetch_one(pool)
    .await
    .context("loading the customer details")
}

pub struct NewCheckout<'a> {
    pub id: &'a str,
    pub mode: &'a str,
    pub plan_id: Option<&'a str>,
    pub purchase_id: Option<Uuid>,
    pub url: &'a str,
}

pub async fn insert_checkout(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    c: &NewCheckout<'_>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO billing_checkouts (id, tenant_id, mode, plan_id, purchase_id, url)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(c.id)
    .bind(ctx.tenant_id().0)
    .bind(c.mode)
    .bind(c.plan_id)
    .bind(c.purchase_id)
    .bind(c.url)
    .execute(conn)
    .await
    .context("recording the checkout")?;
    Ok(())
}

/// An open subscription checkout for this plan from the last 30 minutes (a double click
/// reuses it instead of opening a second one).
pub async fn recent_open_checkout(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    plan_id: &str,
) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT url FROM billing_checkouts
          WHERE tenant_id = $1 AND plan_id = $2 AND status = 'open' AND mode = 'subscription'
            AND created_at > now() - interval '30 minutes'
          ORDER BY created_at DESC LIMIT 1",
    )
    .bind(ctx.tenant_id().0)
    .bind(plan_id)
    .fetch_optional(conn)
    .await
    .context("looking for an open checkout")
}

#[derive(sqlx::FromRow)]
pub struct CheckoutState {
    pub status: CheckoutSessionStatus,
    pub mode: String,
    pub subscription_mirrored: bool,
}

pub async fn checkout_state(
    pool: &PgPool,
    ctx: &TenantCtx,
    session_id: &str,
) -> super::Result<Option<CheckoutState>> {
    sqlx::query_as(
        "SELECT c.status, c.mode,
                EXISTS (SELECT 1 FROM billing_subscriptions s WHERE s.id = c.subscription_id) AS subscription_mirrored
           FROM billing_checkouts c WHERE c.tenant_id = $1 AND c.id = $2",
    )
    .bind(ctx.tenant_id().0)
    .bind(session_id)
    .fetch_optional(pool)
    .await
    .context("loading the checkout")
}

#[derive(sqlx::FromRow, Clone)]
pub struct CurrentSubscription {
    pub id: String,
    pub status: SubscriptionStatus,
    pub plan_id: Option<String>,
    pub item_id: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

impl CurrentSubscription {
    /// Not ended: plan changes and cancellation go to this subscription.
    pub fn is_live(&self) -> bool {
        !self.status.is_ended()
    }
}

#[derive(sqlx::FromRow)]
pub struct BillingRow {
    pub trial_ends_at: DateTime<Utc>,
    pub customer_id: Option<String>,
    pub domains: i64,
    pub inboxes: i64,
    pub suspension: Option<SuspensionCategory>,
}

/// The columns and FROM clause of a tenant's billing state: `tenants t` with its counts, open
/// suspension and governing subscription `s` (the newest one still alive, else the newest).
/// Shared with the dashboard's query so both read the state the same way, in one round trip.
pub(crate) const STATE_COLUMNS: &str = "t.trial_ends_at,
    (SELECT customer_id FROM billing_customers WHERE tenant_id = t.id) AS customer_id,
    (SELECT count(*) FROM domains WHERE tenant_id = t.id AND status NOT IN ('deleted', 'failed')) AS domains,
    (SELECT count(*) FROM inboxes WHERE tenant_id = t.id AND status <> 'deleted') AS inboxes,
    (SELECT category FROM suspensions WHERE tenant_id = t.id AND lifted_at IS NULL
      ORDER BY created_at LIMIT 1) AS suspension,
    s.id AS sub_id, s.status AS sub_status, s.plan_id AS sub_plan_id, s.item_id AS sub_item_id,
    s.current_period_end AS sub_current_period_end, s.trial_end AS sub_trial_end,
    s.cancel_at_period_end AS sub_cancel_at_period_end";

pub(crate) const STATE_FROM: &str = "FROM tenants t
    LEFT JOIN LATERAL (
        SELECT * FROM billing_subscriptions WHERE tenant_id = t.id
         ORDER BY (status NOT IN ('canceled', 'incomplete_expired')) DESC, src_created DESC
         LIMIT 1) s ON true";

/// A tenant's billing state as read by [`STATE_COLUMNS`].
#[derive(sqlx::FromRow)]
pub struct BillingState {
    #[sqlx(flatten)]
    pub row: BillingRow,
    sub_id: Option<String>,
    sub_status: Option<SubscriptionStatus>,
    sub_plan_id: Option<String>,
    sub_item_id: Option<String>,
    sub_current_period_end: Option<DateTime<Utc>>,
    sub_trial_end: Option<DateTime<Utc>>,
    sub_cancel_at_period_end: Option<bool>,
}

impl BillingState {
    /// The subscription that governs access, if the tenant has one.
    pub fn subscription(&self) -> Option<CurrentSubscription> {
        Some(CurrentSubscription {
            id: self.sub_id.clone()?,
            status: self.sub_status?,
            plan_id: self.sub_plan_id.clone(),
            item_id: self.sub_item_id.clone()?,
            current_period_end: self.sub_current_period_end,
            trial_end: self.sub_trial_end,
            cancel_at_period_end: self.sub_cancel_at_period_end.unwrap_or(false),
        })
    }
}

pub async fn billing_state(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> super::Result<BillingState> {
    sqlx::query_as(&format!(
        "SELECT {STATE_COLUMNS} {STATE_FROM} WHERE t.id = $1"
    ))
    .bind(ctx.tenant_id().0)
    .fetch_one(conn)
    .await
    .context("loading billing state")
}

#[derive(sqlx::FromRow)]
pub struct InvoiceListRow {
    pub id: String,
    pub number: Option<String>,
    pub created: DateTime<Utc>,
    pub amount_due: Cents,
    pub amount_paid: Cents,
    pub currency: String,
    pub status: InvoiceStatus,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
}

pub async fn invoices(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    limit: i64,
) -> super::Result<Vec<InvoiceListRow>> {
    sqlx::query_as(
        "SELECT id, number, created, amount_due, amount_paid, currency, status, hosted_invoice_url,
                invoice_pdf
           FROM billing_invoices WHERE tenant_id = $1 ORDER BY created DESC, id LIMIT $2",
    )
    .bind(ctx.tenant_id().0)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("listing invoices")
}

#[derive(sqlx::FromRow)]
pub struct LedgerRow {
    pub kind: LedgerKind,
    pub amount_cents: Cents,
    pub currency: String,
    pub description: String,
    pub occurred_at: DateTime<Utc>,
}

pub async fn ledger(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    limit: i64,
) -> super::Result<Vec<LedgerRow>> {
    sqlx::query_as(
        "SELECT kind, amount_cents, currency, description, occurred_at
           FROM ledger_entries WHERE tenant_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
    )
    .bind(ctx.tenant_id().0)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("reading the ledger")
}
