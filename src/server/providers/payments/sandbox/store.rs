//! The sandbox's own tables (`sandbox_stripe_*`): row types, loading and saving, and the
//! idempotency keys Stripe honours.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Card, SandboxStripe};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct SubRow {
    pub id: String,
    pub customer_id: String,
    pub item_id: String,
    pub price_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub trial_start: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub trial_will_end_sent: bool,
    pub metadata: Value,
    pub created: DateTime<Utc>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(super) struct InvoiceRow {
    pub(super) id: String,
    pub(super) seq: i64,
    pub(super) customer_id: String,
    pub(super) subscription_id: Option<String>,
    pub(super) status: String,
    pub(super) billing_reason: String,
    pub(super) amount_due: i64,
    pub(super) amount_paid: i64,
    pub(super) currency: String,
    pub(super) attempt_count: i32,
    pub(super) next_attempt_at: Option<DateTime<Utc>>,
    pub(super) period_start: DateTime<Utc>,
    pub(super) period_end: DateTime<Utc>,
    pub(super) created: DateTime<Utc>,
    pub(super) paid_at: Option<DateTime<Utc>>,
    /// Extra inboxes billed on this invoice (its second line), at `overage_unit_amount` each;
    /// the amount is part of `amount_due`. (Defaults keep a query that leaves them out
    /// working: it shows the invoice without that line.)
    #[sqlx(default)]
    pub(super) overage_quantity: i64,
    #[sqlx(default)]
    pub(super) overage_unit_amount: i64,
}

/// A Checkout session as the sandbox stored it (the request it was created from).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredCheckout {
    pub id: String,
    pub customer_id: String,
    pub tenant_id: Uuid,
    pub mode: String,
    pub price_id: Option<String>,
    pub product_name: String,
    pub amount: i64,
    pub currency: String,
    pub trial_period_days: Option<u32>,
    pub card_required: bool,
    pub purchase_id: Option<Uuid>,
    pub success_url: String,
    pub cancel_url: String,
    pub status: String,
    pub customer_email: String,
}

pub(super) const SUB_COLUMNS: &str =
    "SELECT id, customer_id, item_id, price_id, amount, currency, status, trial_start, trial_end,
        current_period_start, current_period_end, cancel_at_period_end, canceled_at, ended_at,
        trial_will_end_sent, metadata, created FROM sandbox_stripe_subscriptions";

pub(super) async fn load_subscription(tx: &mut PgConnection, id: &str) -> anyhow::Result<SubRow> {
    sqlx::query_as(&format!("{SUB_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_one(tx)
        .await
        .context("loading the sandbox subscription")
}

pub(super) async fn insert_subscription(tx: &mut PgConnection, s: &SubRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_stripe_subscriptions (id, customer_id, item_id, price_id, amount, currency, status,
             trial_start, trial_end, current_period_start, current_period_end, metadata, created)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    )
    .bind(&s.id)
    .bind(&s.customer_id)
    .bind(&s.item_id)
    .bind(&s.price_id)
    .bind(s.amount)
    .bind(&s.currency)
    .bind(&s.status)
    .bind(s.trial_start)
    .bind(s.trial_end)
    .bind(s.current_period_start)
    .bind(s.current_period_end)
    .bind(&s.metadata)
    .bind(s.created)
    .execute(tx)
    .await
    .context("creating the sandbox subscription")?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub(super) struct PaymentRow {
    pub(super) id: String,
    pub(super) charge_id: String,
    pub(super) customer_id: Option<String>,
    pub(super) amount: i64,
    pub(super) amount_refunded: i64,
    pub(super) currency: String,
    pub(super) metadata: Value,
}

impl SandboxStripe {
    /// Claims `key` inside `tx`; returns the stored response if the key was used before.
    /// A concurrent request with the same key waits on the row until the first commits.
    pub(super) async fn claim(
        &self,
        tx: &mut PgConnection,
        key: &str,
    ) -> anyhow::Result<Option<Value>> {
        let fresh: Option<String> = sqlx::query_scalar(
            "INSERT INTO sandbox_stripe_idempotency (key, response) VALUES ($1, 'null')
             ON CONFLICT (key) DO NOTHING RETURNING key",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .context("claiming the idempotency key")?;
        if fresh.is_some() {
            return Ok(None);
        }
        let stored: Value =
            sqlx::query_scalar("SELECT response FROM sandbox_stripe_idempotency WHERE key = $1")
                .bind(key)
                .fetch_one(tx)
                .await
                .context("reading the idempotent response")?;
        Ok(Some(stored))
    }

    pub(super) async fn remember(
        &self,
        tx: &mut PgConnection,
        key: &str,
        response: &Value,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE sandbox_stripe_idempotency SET response = $2 WHERE key = $1")
            .bind(key)
            .bind(response)
            .execute(tx)
            .await
            .context("storing the idempotent response")?;
        Ok(())
    }

    // ---- objects in Stripe's shape ------------------------------------------------------

    pub(super) async fn save_subscription(
        &self,
        tx: &mut PgConnection,
        s: &SubRow,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sandbox_stripe_subscriptions SET price_id = $2, amount = $3, status = $4,
                    current_period_start = $5, current_period_end = $6, cancel_at_period_end = $7,
                    canceled_at = $8, ended_at = $9, trial_will_end_sent = $10
              WHERE id = $1",
        )
        .bind(&s.id)
        .bind(&s.price_id)
        .bind(s.amount)
        .bind(&s.status)
        .bind(s.current_period_start)
        .bind(s.current_period_end)
        .bind(s.cancel_at_period_end)
        .bind(s.canceled_at)
        .bind(s.ended_at)
        .bind(s.trial_will_end_sent)
        .execute(tx)
        .await
        .context("saving the sandbox subscription")?;
        Ok(())
    }

    // ---- the clock ------------------------------------------------------------------------

    pub(super) async fn customer_card(
        &self,
        tx: &mut PgConnection,
        customer: &str,
    ) -> anyhow::Result<Option<Card>> {
        let card: Option<String> =
            sqlx::query_scalar("SELECT card FROM sandbox_stripe_customers WHERE id = $1")
                .bind(customer)
                .fetch_optional(tx)
                .await
                .context("reading the card")?;
        Ok(match card.as_deref() {
            Some("succeeds") => Some(Card::Succeeds),
            Some("fails_charges") => Some(Card::FailsCharges),
            _ => None,
        })
    }
}
