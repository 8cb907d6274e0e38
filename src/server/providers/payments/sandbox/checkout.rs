//! The hosted pages' side: Checkout (pay with a test card), the customer portal (card,
//! cancel, keep), invoices and charging them.

use anyhow::Context;
use chrono::{DateTime, Duration, Months, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::cards::{MakeDefault, last4};
use super::clock::{MAX_ATTEMPTS, RETRY_DAYS};
use super::events::new_id;
use super::store::{InvoiceRow, SUB_COLUMNS, StoredCheckout, SubRow, insert_subscription};
use super::{Card, CardError, SandboxStripe, parse_card, rejected};
use crate::server::providers::payments::{PaymentsError, SubscriptionChange};

pub struct PortalView {
    pub customer_id: String,
    pub return_url: String,
    pub card: String,
    pub card_last4: Option<String>,
    pub subscription: Option<SubRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error(transparent)]
    Card(CardError),
    #[error("This checkout session does not exist.")]
    NotFound,
    /// Already paid or expired; carries where to send the browser.
    #[error("This checkout session is no longer open.")]
    NotOpen(String),
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl SandboxStripe {
    pub async fn checkout(&self, id: &str) -> anyhow::Result<Option<StoredCheckout>> {
        let row: Option<(Value, String)> = sqlx::query_as(
            "SELECT request, status FROM sandbox_stripe_checkout_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the sandbox checkout")?;
        Ok(match row {
            Some((request, status)) => {
                let mut c: StoredCheckout =
                    serde_json::from_value(request).context("decoding the checkout")?;
                c.status = status;
                Some(c)
            }
            None => None,
        })
    }

    /// "Pay" on the Checkout page. On success returns the `success_url` to redirect to, after
    /// the events were delivered to the webhook.
    pub async fn pay(&self, id: &str, raw: &str) -> Result<String, PayError> {
        let card = parse_card(raw).map_err(PayError::Card)?;
        let mut tx = self.pool.begin().await.context("starting")?;
        let row: Option<(Value, String)> = sqlx::query_as(
            "SELECT request, status FROM sandbox_stripe_checkout_sessions WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .context("locking the checkout")?;
        let Some((request, status)) = row else {
            return Err(PayError::NotFound);
        };
        let c: StoredCheckout = serde_json::from_value(request).context("decoding the checkout")?;
        let success = c.success_url.replace("{CHECKOUT_SESSION_ID}", &c.id);
        if status != "open" {
            return Err(PayError::NotOpen(success));
        }
        let now = self.now(&mut tx).await?;
        let charges_now =
            c.mode == "payment" || (c.mode == "subscription" && c.trial_period_days.is_none());
        if charges_now && card == Card::FailsCharges {
            return Err(PayError::Card(CardError::Declined));
        }
        let policy = if c.mode == "setup" {
            MakeDefault::IfNone
        } else {
            MakeDefault::Always
        };
        self.save_card(&mut tx, &c.customer_id, &card, &last4(raw), policy)
            .await?;

        let (subscription_id, payment_intent_id, payment_status) = if c.mode == "setup" {
            (None, None, "no_payment_required")
        } else if c.mode == "subscription" {
            let sub_id = new_id("sub");
            let trial_end = c.trial_period_days.map(|d| now + Duration::days(d as i64));
            let period_end =
                trial_end.unwrap_or_else(|| now.checked_add_months(Months::new(1)).unwrap_or(now));
            let sub = SubRow {
                id: sub_id.clone(),
                customer_id: c.customer_id.clone(),
                item_id: new_id("si"),
                price_id: c.price_id.clone().unwrap_or_default(),
                amount: c.amount,
                currency: c.currency.clone(),
                status: if trial_end.is_some() {
                    "trialing"
                } else {
                    "active"
                }
                .into(),
                trial_start: trial_end.map(|_| now),
                trial_end,
                current_period_start: now,
                current_period_end: period_end,
                cancel_at_period_end: false,
                canceled_at: None,
                ended_at: None,
                trial_will_end_sent: false,
                metadata: json!({"tenant_id": c.tenant_id.to_string()}),
                created: now,
            };
            insert_subscription(&mut tx, &sub).await?;
            let amount = if trial_end.is_some() { 0 } else { c.amount };
            let invoice = self
                .new_invoice(
                    &mut tx,
                    &sub,
                    "subscription_create",
                    amount,
                    now,
                    period_end,
                    now,
                )
                .await?;
            self.emit(
                &mut tx,
                "customer.subscription.created",
                self.subscription_json(&sub, Some(&invoice.id)),
                now,
            )
            .await?;
            let (invoice, pi) = self.collect(&mut tx, invoice, Card::Succeeds, now).await?;
            debug_assert_eq!(invoice.status, "paid");
            let payment_status = if amount == 0 {
                "no_payment_required"
            } else {
                "paid"
            };
            (Some(sub_id), pi, payment_status)
        } else {
            let pi = self
                .charge(
                    &mut tx,
                    Some(&c.customer_id),
                    None,
                    c.amount,
                    &c.currency,
                    json!({
                        "tenant_id": c.tenant_id.to_string(),
                        "purchase_id": c.purchase_id.map(|p| p.to_string()),
                    }),
                    now,
                )
                .await?;
            (None, Some(pi), "paid")
        };
        sqlx::query(
            "UPDATE sandbox_stripe_checkout_sessions SET status = 'complete', subscription_id = $2,
                    payment_intent_id = $3 WHERE id = $1",
        )
        .bind(&c.id)
        .bind(&subscription_id)
        .bind(&payment_intent_id)
        .execute(&mut *tx)
        .await
        .context("completing the checkout")?;
        let session = self.checkout_json(
            &c,
            "complete",
            payment_status,
            subscription_id.as_deref(),
            payment_intent_id.as_deref(),
            now,
        );
        self.emit(&mut tx, "checkout.session.completed", session, now)
            .await?;
        tx.commit().await.context("committing the payment")?;
        self.deliver_logged().await;
        Ok(success)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn new_invoice(
        &self,
        tx: &mut PgConnection,
        sub: &SubRow,
        reason: &str,
        amount: i64,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        created: DateTime<Utc>,
    ) -> anyhow::Result<InvoiceRow> {
        sqlx::query_as(
            "INSERT INTO sandbox_stripe_invoices (id, customer_id, subscription_id, status, billing_reason,
                 amount_due, currency, period_start, period_end, created)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9)
             RETURNING id, seq, customer_id, subscription_id, status, billing_reason, amount_due,
                       amount_paid, currency, attempt_count, next_attempt_at, period_start, period_end,
                       created, paid_at, overage_quantity, overage_unit_amount",
        )
        .bind(new_id("in"))
        .bind(&sub.customer_id)
        .bind(&sub.id)
        .bind(reason)
        .bind(amount)
        .bind(&sub.currency)
        .bind(period_start)
        .bind(period_end)
        .bind(created)
        .fetch_one(tx)
        .await
        .context("creating a sandbox invoice")
    }

    /// Creates a succeeded PaymentIntent + Charge and emits `payment_intent.succeeded`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn charge(
        &self,
        tx: &mut PgConnection,
        customer: Option<&str>,
        invoice: Option<&str>,
        amount: i64,
        currency: &str,
        metadata: Value,
        at: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let pi = new_id("pi");
        let ch = new_id("ch");
        sqlx::query(
            "INSERT INTO sandbox_stripe_payments (id, charge_id, customer_id, invoice_id, amount, currency, status, metadata, created)
             VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $8)",
        )
        .bind(&pi)
        .bind(&ch)
        .bind(customer)
        .bind(invoice)
        .bind(amount)
        .bind(currency)
        .bind(&metadata)
        .bind(at)
        .execute(&mut *tx)
        .await
        .context("recording the sandbox payment")?;
        let object = self.payment_intent_json(
            &pi,
            customer,
            amount,
            currency,
            "succeeded",
            &metadata,
            Some(&ch),
            None,
            at,
        );
        self.emit(tx, "payment_intent.succeeded", object, at)
            .await?;
        Ok(pi)
    }

    /// Tries to collect an open invoice with the customer's card at `at`, emitting what Stripe
    /// would. Returns the updated invoice and the PaymentIntent when it was paid.
    pub(super) async fn collect(
        &self,
        tx: &mut PgConnection,
        mut inv: InvoiceRow,
        card: Card,
        at: DateTime<Utc>,
    ) -> anyhow::Result<(InvoiceRow, Option<String>)> {
        let mut pi = None;
        if inv.amount_due == 0 || card == Card::Succeeds {
            if inv.amount_due > 0 {
                pi = Some(
                    self.charge(
                        tx,
                        Some(&inv.customer_id),
                        Some(&inv.id),
                        inv.amount_due,
                        &inv.currency.clone(),
                        json!({}),
                        at,
                    )
                    .await?,
                );
                inv.attempt_count += 1;
            }
            inv.status = "paid".into();
            inv.amount_paid = inv.amount_due;
            inv.paid_at = Some(at);
            inv.next_attempt_at = None;
        } else {
            inv.attempt_count += 1;
            inv.next_attempt_at =
                (inv.attempt_count < MAX_ATTEMPTS).then(|| at + Duration::days(RETRY_DAYS));
        }
        sqlx::query(
            "UPDATE sandbox_stripe_invoices SET status = $2, amount_paid = $3, paid_at = $4,
                    attempt_count = $5, next_attempt_at = $6 WHERE id = $1",
        )
        .bind(&inv.id)
        .bind(&inv.status)
        .bind(inv.amount_paid)
        .bind(inv.paid_at)
        .bind(inv.attempt_count)
        .bind(inv.next_attempt_at)
        .execute(&mut *tx)
        .await
        .context("updating the sandbox invoice")?;
        let object = self.invoice_json(&inv);
        if inv.status == "paid" {
            self.emit(tx, "invoice.paid", object.clone(), at).await?;
            self.emit(tx, "invoice.payment_succeeded", object, at)
                .await?;
        } else {
            self.emit(tx, "invoice.payment_failed", object, at).await?;
        }
        Ok((inv, pi))
    }

    pub async fn portal(&self, id: &str) -> anyhow::Result<Option<PortalView>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT customer_id, return_url FROM sandbox_stripe_portal_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the portal session")?;
        let Some((customer_id, return_url)) = row else {
            return Ok(None);
        };
        let card: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT card, card_last4 FROM sandbox_stripe_customers WHERE id = $1")
                .bind(&customer_id)
                .fetch_optional(&self.pool)
                .await
                .context("loading the customer")?;
        let sub: Option<SubRow> = sqlx::query_as(&format!(
            "{SUB_COLUMNS} WHERE customer_id = $1 ORDER BY (status <> 'canceled') DESC, created DESC LIMIT 1"
        ))
        .bind(&customer_id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the subscription")?;
        let (card, last4) = card.unwrap_or(("none".into(), None));
        Ok(Some(PortalView {
            customer_id,
            return_url,
            card,
            card_last4: last4,
            subscription: sub,
        }))
    }

    /// The portal's "Update card": saves it and, like Stripe, retries open invoices with it.
    pub async fn update_card(&self, portal_id: &str, raw: &str) -> Result<(), PayError> {
        let card = parse_card(raw).map_err(PayError::Card)?;
        let view = self.portal(portal_id).await?.ok_or(PayError::NotFound)?;
        let mut tx = self.pool.begin().await.context("starting")?;
        let now = self.now(&mut tx).await?;
        self.save_card(
            &mut tx,
            &view.customer_id,
            &card,
            &last4(raw),
            MakeDefault::Always,
        )
        .await?;
        if card == Card::Succeeds
            && let Some(mut sub) = view.subscription
        {
            let open: Vec<InvoiceRow> = sqlx::query_as(
                "SELECT id, seq, customer_id, subscription_id, status, billing_reason, amount_due, amount_paid,
                        currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at,
                        overage_quantity, overage_unit_amount
                   FROM sandbox_stripe_invoices WHERE subscription_id = $1 AND status = 'open' ORDER BY seq",
            )
            .bind(&sub.id)
            .fetch_all(&mut *tx)
            .await
            .context("finding open invoices")?;
            let any = !open.is_empty();
            let mut last = None;
            for inv in open {
                let (inv, _) = self.collect(&mut tx, inv, Card::Succeeds, now).await?;
                last = Some(inv.id);
            }
            if any && matches!(sub.status.as_str(), "past_due" | "unpaid") {
                sub.status = "active".into();
                self.save_subscription(&mut tx, &sub).await?;
                self.emit(
                    &mut tx,
                    "customer.subscription.updated",
                    self.subscription_json(&sub, last.as_deref()),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await.context("committing")?;
        self.deliver_logged().await;
        Ok(())
    }

    pub(super) async fn change_subscription(
        &self,
        id: &str,
        change: &SubscriptionChange,
    ) -> Result<(), PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        let now = self.now(&mut tx).await?;
        let mut sub: SubRow = sqlx::query_as(&format!("{SUB_COLUMNS} WHERE id = $1 FOR UPDATE"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .context("loading the subscription")?
            .ok_or_else(|| rejected("resource_missing", format!("No such subscription: '{id}'")))?;
        if sub.status == "canceled" {
            return Err(rejected(
                "subscription_canceled",
                "A canceled subscription can only update its cancellation_details and metadata."
                    .into(),
            ));
        }
        match change {
            SubscriptionChange::ChangePrice { item_id, price_id } => {
                if *item_id != sub.item_id {
                    return Err(rejected(
                        "resource_missing",
                        format!("No such subscription item: '{item_id}'"),
                    ));
                }
                let (_, plan) = self.settings.plan_by_price(price_id).ok_or_else(|| {
                    rejected("resource_missing", format!("No such price: '{price_id}'"))
                })?;
                sub.price_id = price_id.clone();
                sub.amount = plan.price_cents;
                sub.currency = plan.currency.clone();
            }
            SubscriptionChange::CancelAtPeriodEnd => sub.cancel_at_period_end = true,
            SubscriptionChange::Reactivate => sub.cancel_at_period_end = false,
        }
        self.save_subscription(&mut tx, &sub).await?;
        self.emit(
            &mut tx,
            "customer.subscription.updated",
            self.subscription_json(&sub, None),
            now,
        )
        .await?;
        tx.commit().await.context("committing")?;
        self.deliver_logged().await;
        Ok(())
    }

    /// The portal's cancel / keep buttons go through the same path as the API.
    pub async fn portal_set_cancel(&self, portal_id: &str, cancel: bool) -> Result<(), PayError> {
        let view = self.portal(portal_id).await?.ok_or(PayError::NotFound)?;
        let sub = view.subscription.ok_or(PayError::NotFound)?;
        let change = if cancel {
            SubscriptionChange::CancelAtPeriodEnd
        } else {
            SubscriptionChange::Reactivate
        };
        self.change_subscription(&sub.id, &change)
            .await
            .map_err(|e| PayError::Rejected(e.to_string()))
    }

    /// For the hosted invoice page.
    pub async fn invoice_page(&self, id: &str) -> anyhow::Result<Option<Value>> {
        let inv: Option<InvoiceRow> = sqlx::query_as(
            "SELECT id, seq, customer_id, subscription_id, status, billing_reason, amount_due, amount_paid,
                    currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at,
                    overage_quantity, overage_unit_amount
               FROM sandbox_stripe_invoices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the invoice")?;
        Ok(inv.map(|i| self.invoice_json(&i)))
    }
}
