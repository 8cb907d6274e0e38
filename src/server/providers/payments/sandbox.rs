//! The sandbox Stripe: the default when no `STRIPE_SECRET_KEY` is set. It keeps Stripe's
//! state in Postgres (`sandbox_stripe_*`), serves a hosted Checkout page and a portal (see
//! `http::sandbox_stripe`), and emits Stripe-shaped events (built from Stripe's own example
//! objects, API 2026-09-30.endive) that it **delivers signed over HTTP** to the app's
//! `/webhooks/stripe` — so the webhook code path is the same as with real Stripe. A test clock
//! that staff advance emits trial endings, renewals and payment failures.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Months, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use uuid::Uuid;

use super::{
    CheckoutMode, CheckoutRequest, CheckoutSession, NewCustomer, Payments, PaymentsError,
    PortalRequest, Refund, RefundRequest, STRIPE_API_VERSION, SubscriptionChange, signature,
};
use crate::server::config::Settings;

/// Sandbox test cards, as on Stripe: one that pays, one accepted whose charges later fail,
/// and two declined at Checkout.
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_FAILS_LATER: &str = "4000000000000341";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_NO_FUNDS: &str = "4000000000009995";

/// Days between automatic retries of a failed invoice, and the attempts before giving up.
const RETRY_DAYS: i64 = 3;
const MAX_ATTEMPTS: i32 = 4;

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

fn templates() -> &'static Value {
    static T: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        serde_json::from_str(include_str!("stripe_templates.json")).expect("valid templates")
    })
}

fn template(name: &str) -> Value {
    templates()[name].clone()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_sbx{}", Uuid::new_v4().simple())
}

fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn opt_unix(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.timestamp())).unwrap_or(Value::Null)
}

fn merge(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
        for (k, v) in p {
            b.insert(k, v);
        }
    }
    base
}

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
struct InvoiceRow {
    id: String,
    seq: i64,
    customer_id: String,
    subscription_id: Option<String>,
    status: String,
    billing_reason: String,
    amount_due: i64,
    amount_paid: i64,
    currency: String,
    attempt_count: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    created: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
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

    fn base(&self) -> &str {
        self.settings.server.public_url.trim_end_matches('/')
    }

    /// The sandbox's "now": wall clock plus however far staff advanced the clock.
    pub async fn now(&self, conn: &mut PgConnection) -> anyhow::Result<DateTime<Utc>> {
        let offset: i64 = sqlx::query_scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .fetch_one(conn)
            .await
            .context("reading the sandbox clock")?;
        Ok(Utc::now() + Duration::seconds(offset))
    }

    pub async fn clock_offset_days(&self) -> anyhow::Result<f64> {
        let offset: i64 = sqlx::query_scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .fetch_one(&self.pool)
            .await
            .context("reading the sandbox clock")?;
        Ok(offset as f64 / 86_400.0)
    }

    // ---- idempotency --------------------------------------------------------------------

    /// Claims `key` inside `tx`; returns the stored response if the key was used before.
    /// A concurrent request with the same key waits on the row until the first commits.
    async fn claim(&self, tx: &mut PgConnection, key: &str) -> anyhow::Result<Option<Value>> {
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

    async fn remember(
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

    fn subscription_json(&self, s: &SubRow, latest_invoice: Option<&str>) -> Value {
        let mut item = template("subscription")["items"]["data"][0].clone();
        item = merge(
            item,
            json!({
                "id": s.item_id,
                "subscription": s.id,
                "created": unix(s.created),
                "current_period_start": unix(s.current_period_start),
                "current_period_end": unix(s.current_period_end),
                "quantity": 1,
            }),
        );
        item["price"] = merge(
            item["price"].clone(),
            json!({"id": s.price_id, "unit_amount": s.amount, "unit_amount_decimal": s.amount.to_string(), "currency": s.currency}),
        );
        let mut v = merge(
            template("subscription"),
            json!({
                "id": s.id,
                "customer": s.customer_id,
                "status": s.status,
                "currency": s.currency,
                "created": unix(s.created),
                "start_date": unix(s.created),
                "billing_cycle_anchor": unix(s.current_period_end),
                "trial_start": opt_unix(s.trial_start),
                "trial_end": opt_unix(s.trial_end),
                "cancel_at_period_end": s.cancel_at_period_end,
                "cancel_at": if s.cancel_at_period_end { json!(unix(s.current_period_end)) } else { Value::Null },
                "canceled_at": opt_unix(s.canceled_at),
                "ended_at": opt_unix(s.ended_at),
                "latest_invoice": latest_invoice,
                "metadata": s.metadata,
                "livemode": false,
                "default_payment_method": Value::Null,
                "pause_collection": Value::Null,
                "schedule": Value::Null,
                "pending_update": Value::Null,
                "discounts": [],
            }),
        );
        v["items"]["data"] = json!([item]);
        v["items"]["url"] = json!(format!("/v1/subscription_items?subscription={}", s.id));
        v
    }

    fn invoice_json(&self, i: &InvoiceRow) -> Value {
        let mut line = template("invoice")["lines"]["data"][0].clone();
        line = merge(
            line,
            json!({
                "id": format!("il_sbx{}", &i.id[6..]),
                "invoice": i.id,
                "amount": i.amount_due,
                "currency": i.currency,
                "description": "InboxGrove subscription",
                "period": {"start": unix(i.period_start), "end": unix(i.period_end)},
                "subscription": i.subscription_id,
            }),
        );
        let mut v = merge(
            template("invoice"),
            json!({
                "id": i.id,
                "number": format!("SBX-{:06}", i.seq),
                "customer": i.customer_id,
                "status": i.status,
                "billing_reason": i.billing_reason,
                "amount_due": i.amount_due,
                "amount_paid": i.amount_paid,
                "amount_remaining": i.amount_due - i.amount_paid,
                "subtotal": i.amount_due,
                "total": i.amount_due,
                "currency": i.currency,
                "attempt_count": i.attempt_count,
                "attempted": i.attempt_count > 0,
                "auto_advance": i.status == "open",
                "created": unix(i.created),
                "period_start": unix(i.period_start),
                "period_end": unix(i.period_start),
                "next_payment_attempt": opt_unix(i.next_attempt_at),
                "hosted_invoice_url": format!("{}/sandbox/stripe/invoices/{}", self.base(), i.id),
                "invoice_pdf": Value::Null,
                "last_finalization_error": Value::Null,
                "livemode": false,
                "metadata": {},
                "parent": i.subscription_id.as_ref().map(|s| json!({
                    "type": "subscription_details",
                    "quote_details": null,
                    "subscription_details": {"subscription": s, "metadata": {}},
                })),
                "status_transitions": {
                    "finalized_at": unix(i.created),
                    "marked_uncollectible_at": null,
                    "paid_at": opt_unix(i.paid_at),
                    "voided_at": null,
                },
            }),
        );
        v["lines"]["data"] = json!([line]);
        v["lines"]["url"] = json!(format!("/v1/invoices/{}/lines", i.id));
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn payment_intent_json(
        &self,
        id: &str,
        customer: Option<&str>,
        amount: i64,
        currency: &str,
        status: &str,
        metadata: &Value,
        latest_charge: Option<&str>,
        error: Option<&str>,
        created: DateTime<Utc>,
    ) -> Value {
        merge(
            template("payment_intent"),
            json!({
                "id": id,
                "customer": customer,
                "amount": amount,
                "amount_received": if status == "succeeded" { amount } else { 0 },
                "amount_capturable": 0,
                "currency": currency,
                "status": status,
                "metadata": metadata,
                "latest_charge": latest_charge,
                "created": unix(created),
                "livemode": false,
                "last_payment_error": error.map(|m| json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": m})),
            }),
        )
    }

    fn charge_json(&self, p: &PaymentRow, created: DateTime<Utc>) -> Value {
        merge(
            template("charge"),
            json!({
                "id": p.charge_id,
                "payment_intent": p.id,
                "customer": p.customer_id,
                "amount": p.amount,
                "amount_captured": p.amount,
                "amount_refunded": p.amount_refunded,
                "refunded": p.amount_refunded >= p.amount,
                "captured": true,
                "paid": true,
                "status": "succeeded",
                "currency": p.currency,
                "metadata": p.metadata,
                "created": unix(created),
                "livemode": false,
            }),
        )
    }

    fn checkout_json(
        &self,
        c: &StoredCheckout,
        status: &str,
        payment_status: &str,
        subscription: Option<&str>,
        payment_intent: Option<&str>,
        created: DateTime<Utc>,
    ) -> Value {
        let mut metadata = json!({"tenant_id": c.tenant_id.to_string()});
        if let Some(p) = c.purchase_id {
            metadata["purchase_id"] = json!(p.to_string());
        }
        merge(
            template("checkout.session"),
            json!({
                "id": c.id,
                "mode": c.mode,
                "status": status,
                "payment_status": payment_status,
                "customer": c.customer_id,
                "customer_email": c.customer_email,
                "client_reference_id": c.tenant_id.to_string(),
                "subscription": subscription,
                "payment_intent": payment_intent,
                "amount_total": c.amount,
                "amount_subtotal": c.amount,
                "currency": c.currency,
                "metadata": metadata,
                "success_url": c.success_url,
                "cancel_url": c.cancel_url,
                "url": if status == "open" { json!(format!("{}/sandbox/stripe/checkout/{}", self.base(), c.id)) } else { Value::Null },
                "created": unix(created),
                "expires_at": unix(created + Duration::hours(24)),
                "livemode": false,
            }),
        )
    }

    /// Queues an event for delivery (in the caller's transaction, so it exists iff the change
    /// it reports does).
    async fn emit(
        &self,
        tx: &mut PgConnection,
        kind: &str,
        object: Value,
        created: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let id = new_id("evt");
        let event = json!({
            "id": id,
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": unix(created),
            "data": {"object": object},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": kind,
        });
        sqlx::query("INSERT INTO sandbox_stripe_events (id, type, payload) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(kind)
            .bind(&event)
            .execute(tx)
            .await
            .context("queueing a sandbox event")?;
        Ok(())
    }

    /// Posts every undelivered event, oldest first, signed like Stripe (wall-clock `t`, so an
    /// advanced clock never trips the tolerance check). Stops at the first failure to keep
    /// the order; the background loop and the next action retry.
    pub async fn deliver(&self) -> anyhow::Result<usize> {
        let _one_at_a_time = self.delivering.lock().await;
        let mut delivered = 0;
        loop {
            let batch: Vec<(String, Value)> = sqlx::query_as(
                "SELECT id, payload FROM sandbox_stripe_events WHERE delivered_at IS NULL ORDER BY seq LIMIT 100",
            )
            .fetch_all(&self.pool)
            .await
            .context("reading pending sandbox events")?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            for (id, payload) in batch {
                let body = serde_json::to_vec(&payload).context("encoding the event")?;
                let header = signature::sign(
                    self.webhook_secret.expose_secret(),
                    Utc::now().timestamp(),
                    &body,
                );
                let result = self
                    .http
                    .post(&self.webhook_url)
                    .header("content-type", "application/json")
                    .header("stripe-signature", header)
                    .body(body)
                    .send()
                    .await;
                let error = match result {
                    Ok(r) if r.status().is_success() => None,
                    Ok(r) => Some(format!("HTTP {}", r.status())),
                    Err(e) => Some(e.to_string()),
                };
                sqlx::query(
                    "UPDATE sandbox_stripe_events SET attempts = attempts + 1, last_error = $2,
                            delivered_at = CASE WHEN $2::text IS NULL THEN now() END
                      WHERE id = $1",
                )
                .bind(&id)
                .bind(&error)
                .execute(&self.pool)
                .await
                .context("recording the delivery")?;
                if let Some(error) = error {
                    tracing::warn!(event = %id, %error, "sandbox webhook delivery failed; will retry");
                    return Ok(delivered);
                }
                delivered += 1;
            }
        }
    }

    async fn deliver_logged(&self) {
        if let Err(e) = self.deliver().await {
            tracing::warn!(error = ?e, "sandbox webhook delivery failed");
        }
    }

    // ---- Checkout -------------------------------------------------------------------------

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
    pub async fn pay(&self, id: &str, card: &str) -> Result<String, PayError> {
        let card = parse_card(card).map_err(PayError::Card)?;
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
        let charges_now = c.mode == "payment" || c.trial_period_days.is_none();
        if charges_now && card == Card::FailsCharges {
            return Err(PayError::Card(CardError::Declined));
        }
        let card_state = match card {
            Card::Succeeds => "succeeds",
            Card::FailsCharges => "fails_charges",
        };
        let last4 = &CARD_OK[12..];
        sqlx::query("UPDATE sandbox_stripe_customers SET card = $2, card_last4 = $3 WHERE id = $1")
            .bind(&c.customer_id)
            .bind(card_state)
            .bind(if card == Card::Succeeds {
                last4
            } else {
                "0341"
            })
            .execute(&mut *tx)
            .await
            .context("saving the card")?;

        let (subscription_id, payment_intent_id, payment_status) = if c.mode == "subscription" {
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
    async fn new_invoice(
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
                       created, paid_at",
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
    async fn charge(
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
    async fn collect(
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

    async fn customer_card(
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

    async fn save_subscription(&self, tx: &mut PgConnection, s: &SubRow) -> anyhow::Result<()> {
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

    /// Moves the sandbox clock forward and plays out everything that became due, in time
    /// order per subscription: trial-ending notices (3 days before), renewals, failed
    /// payments and their retries, cancellations at period end.
    pub async fn advance(&self, days: i64) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("starting")?;
        self.advance_in(&mut tx, days).await?;
        tx.commit().await.context("committing the clock")?;
        self.deliver().await
    }

    /// [`advance`](Self::advance) inside the caller's transaction (so its audit row commits
    /// with it, or neither does); the caller commits, then calls [`deliver`](Self::deliver).
    /// The new clock time.
    pub async fn advance_in(
        &self,
        tx: &mut PgConnection,
        days: i64,
    ) -> anyhow::Result<DateTime<Utc>> {
        anyhow::ensure!((1..=400).contains(&days), "advance between 1 and 400 days");
        sqlx::query("UPDATE sandbox_stripe_clock SET offset_secs = offset_secs + $1")
            .bind(days * 86_400)
            .execute(&mut *tx)
            .await
            .context("advancing the clock")?;
        let now = self.now(&mut *tx).await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM sandbox_stripe_subscriptions WHERE status NOT IN ('canceled', 'incomplete_expired')
              ORDER BY created FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .context("listing sandbox subscriptions")?;
        for id in ids {
            self.play_out(&mut *tx, &id, now).await?;
        }
        Ok(now)
    }

    async fn play_out(
        &self,
        tx: &mut PgConnection,
        id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut sub = load_subscription(tx, id).await?;
        for _ in 0..1000 {
            let open: Option<InvoiceRow> = sqlx::query_as(
                "SELECT id, seq, customer_id, subscription_id, status, billing_reason, amount_due, amount_paid,
                        currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at
                   FROM sandbox_stripe_invoices
                  WHERE subscription_id = $1 AND status = 'open' AND next_attempt_at IS NOT NULL
                  ORDER BY next_attempt_at LIMIT 1",
            )
            .bind(&sub.id)
            .fetch_optional(&mut *tx)
            .await
            .context("finding invoices to retry")?;
            let notice_at = sub
                .trial_end
                .filter(|_| sub.status == "trialing" && !sub.trial_will_end_sent)
                .map(|t| (t - Duration::days(3)).max(sub.created));
            let renew_at = (!matches!(sub.status.as_str(), "canceled" | "unpaid"))
                .then_some(sub.current_period_end);
            let retry_at = open.as_ref().and_then(|i| i.next_attempt_at);
            let next = [notice_at, retry_at, renew_at]
                .into_iter()
                .flatten()
                .filter(|t| *t <= now)
                .min();
            let Some(at) = next else { return Ok(()) };

            if Some(at) == notice_at {
                sub.trial_will_end_sent = true;
                self.save_subscription(tx, &sub).await?;
                self.emit(
                    tx,
                    "customer.subscription.trial_will_end",
                    self.subscription_json(&sub, None),
                    at,
                )
                .await?;
            } else if Some(at) == retry_at {
                let inv = open.expect("retry implies an open invoice");
                let card = self
                    .customer_card(tx, &sub.customer_id)
                    .await?
                    .unwrap_or(Card::FailsCharges);
                let (inv, _) = self.collect(tx, inv, card, at).await?;
                let status = if inv.status == "paid" {
                    "active"
                } else if inv.next_attempt_at.is_none() {
                    "unpaid"
                } else {
                    "past_due"
                };
                if sub.status != status {
                    sub.status = status.into();
                    self.save_subscription(tx, &sub).await?;
                    self.emit(
                        tx,
                        "customer.subscription.updated",
                        self.subscription_json(&sub, Some(&inv.id)),
                        at,
                    )
                    .await?;
                }
            } else {
                self.renew(tx, &mut sub, at).await?;
            }
        }
        anyhow::bail!("subscription {id}: too many clock steps")
    }

    async fn renew(
        &self,
        tx: &mut PgConnection,
        sub: &mut SubRow,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let card = self.customer_card(tx, &sub.customer_id).await?;
        let no_card_after_trial = sub.status == "trialing" && card.is_none();
        if sub.cancel_at_period_end || no_card_after_trial {
            sub.status = "canceled".into();
            sub.canceled_at = Some(at);
            sub.ended_at = Some(at);
            self.save_subscription(tx, sub).await?;
            self.emit(
                tx,
                "customer.subscription.deleted",
                self.subscription_json(sub, None),
                at,
            )
            .await?;
            return Ok(());
        }
        let start = sub.current_period_end;
        let end = start
            .checked_add_months(Months::new(1))
            .context("period end overflow")?;
        sub.current_period_start = start;
        sub.current_period_end = end;
        let amount = sub.amount;
        let inv = self
            .new_invoice(tx, sub, "subscription_cycle", amount, start, end, at)
            .await?;
        let (inv, _) = self
            .collect(tx, inv, card.unwrap_or(Card::FailsCharges), at)
            .await?;
        sub.status = if inv.status == "paid" {
            "active"
        } else {
            "past_due"
        }
        .into();
        self.save_subscription(tx, sub).await?;
        self.emit(
            tx,
            "customer.subscription.updated",
            self.subscription_json(sub, Some(&inv.id)),
            at,
        )
        .await?;
        Ok(())
    }

    // ---- the portal -----------------------------------------------------------------------

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
        sqlx::query("UPDATE sandbox_stripe_customers SET card = $2, card_last4 = $3 WHERE id = $1")
            .bind(&view.customer_id)
            .bind(if card == Card::Succeeds {
                "succeeds"
            } else {
                "fails_charges"
            })
            .bind(if card == Card::Succeeds {
                "4242"
            } else {
                "0341"
            })
            .execute(&mut *tx)
            .await
            .context("saving the card")?;
        if card == Card::Succeeds
            && let Some(mut sub) = view.subscription
        {
            let open: Vec<InvoiceRow> = sqlx::query_as(
                "SELECT id, seq, customer_id, subscription_id, status, billing_reason, amount_due, amount_paid,
                        currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at
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

    async fn change_subscription(
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
                    currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at
               FROM sandbox_stripe_invoices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the invoice")?;
        Ok(inv.map(|i| self.invoice_json(&i)))
    }
}

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

const SUB_COLUMNS: &str =
    "SELECT id, customer_id, item_id, price_id, amount, currency, status, trial_start, trial_end,
        current_period_start, current_period_end, cancel_at_period_end, canceled_at, ended_at,
        trial_will_end_sent, metadata, created FROM sandbox_stripe_subscriptions";

async fn load_subscription(tx: &mut PgConnection, id: &str) -> anyhow::Result<SubRow> {
    sqlx::query_as(&format!("{SUB_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_one(tx)
        .await
        .context("loading the sandbox subscription")
}

async fn insert_subscription(tx: &mut PgConnection, s: &SubRow) -> anyhow::Result<()> {
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
struct PaymentRow {
    id: String,
    charge_id: String,
    customer_id: Option<String>,
    amount: i64,
    amount_refunded: i64,
    currency: String,
    metadata: Value,
}

fn rejected(code: &str, message: String) -> PaymentsError {
    PaymentsError::Rejected {
        code: Some(code.into()),
        message,
    }
}

fn from_response<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, PaymentsError> {
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
                CheckoutMode::Subscription {
                    price_id,
                    trial_period_days,
                    card_required,
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

    #[test]
    fn merge_overrides_only_the_given_keys() {
        let v = merge(json!({"a": 1, "b": 2}), json!({"b": 3}));
        assert_eq!(v, json!({"a": 1, "b": 3}));
    }
}
