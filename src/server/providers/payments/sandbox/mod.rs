//! The sandbox Stripe: the default when no `STRIPE_SECRET_KEY` is set. It keeps Stripe's
//! state in Postgres (`sandbox_stripe_*`), serves a hosted Checkout page and a portal (see
//! `http::sandbox_stripe`), and emits Stripe-shaped events (built from Stripe's own example
//! objects, API 2026-09-30.endive) that it **delivers signed over HTTP** to the app's
//! `/webhooks/stripe` — so the webhook code path is the same as with real Stripe. A test clock
//! that staff advance emits trial endings, renewals and payment failures.
//!
//! This file holds the type, its test cards and the `Payments` API the app calls; the rest is
//! split by concern, each file adding its own `impl SandboxStripe` block: `store` (the
//! `sandbox_stripe_*` rows and idempotency keys), `checkout` (Checkout, the portal, invoices
//! and charging), `clock` (the test clock and what advancing it plays out), `events`
//! (Stripe-shaped objects and the signed webhook delivery), `meter` (billing meter events and
//! the overage a renewal bills) and `pdf` (invoice PDFs).

mod cards;
mod checkout;
mod clock;
mod events;
mod meter;
mod pdf;
mod store;

pub use checkout::{PayError, PortalView};
pub use pdf::{InvoiceDocument, render as render_invoice_pdf};
pub use store::{StoredCheckout, SubRow};

use anyhow::Context;
use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::Arc;

use super::{
    CheckoutMode, CheckoutRequest, CheckoutSession, MeterEvent, NO_CARD, NewCustomer, Payments,
    PaymentsError, PortalRequest, Refund, RefundRequest, SavedCard, SavedCardCharge,
    SubscriptionChange,
};
use crate::server::config::Settings;
use events::new_id;
use store::PaymentRow;

/// Sandbox test cards, as on Stripe: one that pays, one accepted whose charges later fail,
/// and two declined at Checkout.
pub const CARD_OK: &str = "4242424242424242";

pub const CARD_FAILS_LATER: &str = "4000000000000341";

pub const CARD_DECLINED: &str = "4000000000000002";

pub const CARD_NO_FUNDS: &str = "4000000000009995";

#[derive(Debug, PartialEq, Eq)]
pub enum Card {
    Succeeds,
    FailsCharges,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CardError {
    #[error("Your card was declined.")]
    Declined,
    #[error("Your card has insufficient funds.")]
    InsufficientFunds,
    #[error("Your card number is incomplete or invalid. Use one of the sandbox test cards.")]
    Invalid,
}

/// Reads a card number the way Checkout does (spaces allowed).
pub fn parse_card(raw: &str) -> Result<Card, CardError> {
    let digits: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    match digits.as_str() {
        CARD_OK => Ok(Card::Succeeds),
        CARD_FAILS_LATER => Ok(Card::FailsCharges),
        CARD_DECLINED => Err(CardError::Declined),
        CARD_NO_FUNDS => Err(CardError::InsufficientFunds),
        _ => Err(CardError::Invalid),
    }
}

pub struct SandboxStripe {
    pool: PgPool,
    settings: Arc<Settings>,
    webhook_url: String,
    webhook_secret: SecretString,
    http: reqwest::Client,
    delivering: tokio::sync::Mutex<()>,
}

impl SandboxStripe {
    pub fn new(
        pool: PgPool,
        settings: Arc<Settings>,
        webhook_url: String,
        webhook_secret: SecretString,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            settings,
            webhook_url,
            webhook_secret,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .context("building the sandbox webhook client")?,
            delivering: tokio::sync::Mutex::new(()),
        })
    }

    pub(super) fn base(&self) -> &str {
        self.settings.server.public_url.trim_end_matches('/')
    }
}

pub(super) fn rejected(code: &str, message: String) -> PaymentsError {
    PaymentsError::Rejected {
        code: Some(code.into()),
        message,
    }
}

pub(super) fn from_response<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, PaymentsError> {
    serde_json::from_value(v)
        .map_err(|e| PaymentsError::Unexpected(anyhow::anyhow!("stored response: {e}")))
}

#[async_trait]
impl Payments for SandboxStripe {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn create_customer(
        &self,
        customer: &NewCustomer,
        key: &str,
    ) -> Result<String, PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        if let Some(previous) = self.claim(&mut tx, key).await? {
            return from_response(previous);
        }
        let id = new_id("cus");
        let now = self.now(&mut tx).await?;
        sqlx::query("INSERT INTO sandbox_stripe_customers (id, email, name, metadata, created) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(&customer.email)
            .bind(&customer.name)
            .bind(json!({"tenant_id": customer.tenant_id.to_string()}))
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("creating the sandbox customer")?;
        self.remember(&mut tx, key, &json!(id)).await?;
        tx.commit().await.context("committing")?;
        Ok(id)
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<CheckoutSession, PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        if let Some(previous) = self.claim(&mut tx, &r.idempotency_key).await? {
            let (id, url): (String, String) = from_response(previous)?;
            return Ok(CheckoutSession { id, url });
        }
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM sandbox_stripe_customers WHERE id = $1")
                .bind(&r.customer_id)
                .fetch_optional(&mut *tx)
                .await
                .context("loading the customer")?;
        let email = email.ok_or_else(|| {
            rejected(
                "resource_missing",
                format!("No such customer: '{}'", r.customer_id),
            )
        })?;
        let id = new_id("cs_test");
        let (mode, price_id, product_name, amount, currency, trial, card_required, purchase_id) =
            match &r.mode {
                // The overage item bills from the meter (see `meter`), by the plan's price.
                CheckoutMode::Subscription {
                    price_id,
                    trial_period_days,
                    card_required,
                    overage_price_id: _,
                } => {
                    let (_, plan) = self.settings.plan_by_price(price_id).ok_or_else(|| {
                        rejected("resource_missing", format!("No such price: '{price_id}'"))
                    })?;
                    if trial_period_days == &Some(0) {
                        return Err(rejected(
                            "parameter_invalid_integer",
                            "trial_period_days must be at least 1.".into(),
                        ));
                    }
                    (
                        "subscription",
                        Some(price_id.clone()),
                        format!("InboxGrove {}", plan.name),
                        plan.price_cents,
                        plan.currency.clone(),
                        *trial_period_days,
                        *card_required,
                        None,
                    )
                }
                CheckoutMode::Setup => (
                    "setup",
                    None,
                    "Save a card for future payments".to_string(),
                    0,
                    "usd".to_string(),
                    None,
                    true,
                    None,
                ),
                CheckoutMode::Payment {
                    amount_cents,
                    currency,
                    description,
                    purchase_id,
                } => {
                    if *amount_cents < 50 {
                        return Err(rejected(
                            "amount_too_small",
                            "Amount must be at least $0.50 usd".into(),
                        ));
                    }
                    (
                        "payment",
                        None,
                        description.clone(),
                        *amount_cents,
                        currency.clone(),
                        None,
                        true,
                        Some(*purchase_id),
                    )
                }
            };
        let stored = StoredCheckout {
            id: id.clone(),
            customer_id: r.customer_id.clone(),
            tenant_id: r.tenant_id,
            mode: mode.into(),
            price_id,
            product_name,
            amount,
            currency,
            trial_period_days: trial,
            card_required,
            purchase_id,
            success_url: r.success_url.clone(),
            cancel_url: r.cancel_url.clone(),
            status: "open".into(),
            customer_email: email,
        };
        let now = self.now(&mut tx).await?;
        sqlx::query("INSERT INTO sandbox_stripe_checkout_sessions (id, request, status, created) VALUES ($1, $2, 'open', $3)")
            .bind(&id)
            .bind(serde_json::to_value(&stored).context("encoding")?)
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("creating the sandbox checkout")?;
        let url = format!("{}/sandbox/stripe/checkout/{id}", self.base());
        self.remember(&mut tx, &r.idempotency_key, &json!([id, url]))
            .await?;
        tx.commit().await.context("committing")?;
        Ok(CheckoutSession { id, url })
    }

    async fn create_portal(&self, r: &PortalRequest) -> Result<String, PaymentsError> {
        let id = new_id("bps");
        let mut conn = self.pool.acquire().await.context("acquiring")?;
        let now = self.now(&mut conn).await?;
        sqlx::query("INSERT INTO sandbox_stripe_portal_sessions (id, customer_id, return_url, created) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(&r.customer_id)
            .bind(&r.return_url)
            .bind(now)
            .execute(&mut *conn)
            .await
            .context("creating the portal session")?;
        Ok(format!("{}/sandbox/stripe/portal/{id}", self.base()))
    }

    async fn update_subscription(
        &self,
        id: &str,
        change: &SubscriptionChange,
        key: &str,
    ) -> Result<(), PaymentsError> {
        {
            let mut tx = self.pool.begin().await.context("starting")?;
            if self.claim(&mut tx, key).await?.is_some() {
                return Ok(());
            }
            self.remember(&mut tx, key, &json!(id)).await?;
            tx.commit().await.context("committing")?;
        }
        self.change_subscription(id, change).await
    }

    async fn refund(&self, r: &RefundRequest) -> Result<Refund, PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        if let Some(previous) = self.claim(&mut tx, &r.idempotency_key).await? {
            let (id, payment_intent_id, amount_cents, currency): (String, String, i64, String) =
                from_response(previous)?;
            return Ok(Refund {
                id,
                payment_intent_id,
                amount_cents,
                currency,
                status: "succeeded".into(),
            });
        }
        let mut p: PaymentRow = sqlx::query_as(
            "SELECT id, charge_id, customer_id, amount, amount_refunded, currency, metadata
               FROM sandbox_stripe_payments WHERE id = $1 FOR UPDATE",
        )
        .bind(&r.payment_intent_id)
        .fetch_optional(&mut *tx)
        .await
        .context("loading the payment")?
        .ok_or_else(|| {
            rejected(
                "resource_missing",
                format!("No such payment_intent: '{}'", r.payment_intent_id),
            )
        })?;
        let remaining = p.amount - p.amount_refunded;
        let amount = r.amount_cents.unwrap_or(remaining);
        if remaining <= 0 {
            return Err(rejected(
                "charge_already_refunded",
                format!("Charge {} has already been refunded.", p.charge_id),
            ));
        }
        if amount <= 0 || amount > remaining {
            return Err(rejected(
                "amount_too_large",
                format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
                ),
            ));
        }
        p.amount_refunded += amount;
        sqlx::query("UPDATE sandbox_stripe_payments SET amount_refunded = $2 WHERE id = $1")
            .bind(&p.id)
            .bind(p.amount_refunded)
            .execute(&mut *tx)
            .await
            .context("refunding")?;
        let now = self.now(&mut tx).await?;
        let id = new_id("re");
        self.emit(&mut tx, "charge.refunded", self.charge_json(&p, now), now)
            .await?;
        self.remember(
            &mut tx,
            &r.idempotency_key,
            &json!([id, p.id, amount, p.currency]),
        )
        .await?;
        tx.commit().await.context("committing")?;
        self.deliver_logged().await;
        Ok(Refund {
            id,
            payment_intent_id: p.id,
            amount_cents: amount,
            currency: p.currency,
            status: "succeeded".into(),
        })
    }

    async fn charge_saved_card(&self, c: &SavedCardCharge) -> Result<String, PaymentsError> {
        self.charge_saved_card_in(c).await
    }

    async fn list_cards(&self, customer_id: &str) -> Result<Vec<SavedCard>, PaymentsError> {
        self.cards_of(customer_id).await
    }

    async fn set_default_card(
        &self,
        customer_id: &str,
        card_id: &str,
    ) -> Result<(), PaymentsError> {
        self.set_default(customer_id, card_id).await
    }

    async fn remove_card(&self, customer_id: &str, card_id: &str) -> Result<(), PaymentsError> {
        self.detach(customer_id, card_id).await
    }

    async fn report_usage(&self, event: &MeterEvent) -> Result<(), PaymentsError> {
        self.report_usage_in(event).await
    }

    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, PaymentsError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM sandbox_stripe_payments
              WHERE invoice_id = $1 AND status = 'succeeded' ORDER BY created LIMIT 1",
        )
        .bind(invoice_id)
        .fetch_optional(&self.pool)
        .await
        .context("finding the invoice's payment")?)
    }
}

impl SandboxStripe {
    async fn charge_saved_card_in(&self, c: &SavedCardCharge) -> Result<String, PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        // Like Stripe, a key replays its first answer: the charge, or the decline.
        if let Some(previous) = self.claim(&mut tx, &c.idempotency_key).await? {
            return match previous {
                Value::String(pi) => Ok(pi),
                other => Err(rejected(
                    "card_declined",
                    other["declined"]
                        .as_str()
                        .unwrap_or("Your card was declined.")
                        .to_owned(),
                )),
            };
        }
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT id FROM sandbox_stripe_customers WHERE id = $1")
                .bind(&c.customer_id)
                .fetch_optional(&mut *tx)
                .await
                .context("loading the customer")?;
        if exists.is_none() {
            return Err(rejected(
                "resource_missing",
                format!("No such customer: '{}'", c.customer_id),
            ));
        }
        if c.amount_cents < 50 {
            return Err(rejected(
                "amount_too_small",
                "Amount must be at least $0.50 usd".into(),
            ));
        }
        let mut metadata = serde_json::Map::new();
        for (k, v) in &c.metadata {
            metadata.insert(k.clone(), json!(v));
        }
        metadata.insert("tenant_id".into(), json!(c.tenant_id.to_string()));
        let metadata = Value::Object(metadata);
        let now = self.now(&mut tx).await?;
        let card = self.customer_card(&mut tx, &c.customer_id).await?;
        let decline = match card {
            None => Some((NO_CARD, "There is no card on file for this customer.")),
            Some(Card::FailsCharges) => Some(("card_declined", "Your card was declined.")),
            Some(Card::Succeeds) => None,
        };
        if let Some((code, message)) = decline {
            let pi = new_id("pi");
            let object = self.payment_intent_json(
                &pi,
                Some(&c.customer_id),
                c.amount_cents,
                &c.currency,
                "requires_payment_method",
                &metadata,
                None,
                Some(message),
                now,
            );
            self.emit(&mut tx, "payment_intent.payment_failed", object, now)
                .await?;
            self.remember(&mut tx, &c.idempotency_key, &json!({ "declined": message }))
                .await?;
            tx.commit().await.context("committing")?;
            self.deliver_logged().await;
            return Err(rejected(code, message.into()));
        }
        let pi = self
            .charge(
                &mut tx,
                Some(&c.customer_id),
                None,
                c.amount_cents,
                &c.currency,
                metadata,
                now,
            )
            .await?;
        self.remember(&mut tx, &c.idempotency_key, &json!(pi))
            .await?;
        tx.commit().await.context("committing the charge")?;
        self.deliver_logged().await;
        Ok(pi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_cards_behave_like_stripes_test_cards() {
        assert_eq!(parse_card("4242 4242 4242 4242"), Ok(Card::Succeeds));
        assert_eq!(parse_card("4000-0000-0000-0341"), Ok(Card::FailsCharges));
        assert_eq!(parse_card("4000000000000002"), Err(CardError::Declined));
        assert_eq!(
            parse_card("4000000000009995"),
            Err(CardError::InsufficientFunds)
        );
        assert_eq!(parse_card("1234"), Err(CardError::Invalid));
    }
}
