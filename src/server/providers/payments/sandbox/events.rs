//! Stripe-shaped objects and events, built from Stripe's own example objects, and their
//! delivery, signed over HTTP, to the app's `/webhooks/stripe`.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::SandboxStripe;
use super::store::{InvoiceRow, PaymentRow, StoredCheckout, SubRow};
use crate::server::providers::payments::{STRIPE_API_VERSION, signature};

/// The advisory lock key of the sandbox's webhook deliverer ("sbxwhk" as a number).
const DELIVERY_LOCK: i64 = 0x7362_7877_686b;

pub(super) fn templates() -> &'static Value {
    static T: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        serde_json::from_str(include_str!("../stripe_templates.json")).expect("valid templates")
    })
}

pub(super) fn template(name: &str) -> Value {
    templates()[name].clone()
}

pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_sbx{}", Uuid::new_v4().simple())
}

/// The invoice's number, as Stripe numbers them: stable, from the invoice's sequence.
pub(super) fn invoice_number(seq: i64) -> String {
    format!("SBX-{seq:06}")
}

pub(super) fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(super) fn opt_unix(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.timestamp())).unwrap_or(Value::Null)
}

pub(super) fn merge(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
        for (k, v) in p {
            b.insert(k, v);
        }
    }
    base
}

impl SandboxStripe {
    pub(super) fn subscription_json(&self, s: &SubRow, latest_invoice: Option<&str>) -> Value {
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

    pub(super) fn invoice_json(&self, i: &InvoiceRow) -> Value {
        let template_line = template("invoice")["lines"]["data"][0].clone();
        let overage = i.overage_quantity.saturating_mul(i.overage_unit_amount);
        let line = merge(
            template_line.clone(),
            json!({
                "id": format!("il_sbx{}", &i.id[6..]),
                "invoice": i.id,
                "amount": i.amount_due - overage,
                "currency": i.currency,
                "description": "InboxGrove subscription",
                "period": {"start": unix(i.period_start), "end": unix(i.period_end)},
                "subscription": i.subscription_id,
            }),
        );
        let mut lines = vec![line];
        if i.overage_quantity > 0 {
            // Billed in arrears: the extra inboxes of the period that ended as this one began.
            let used_from = i
                .period_start
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(i.period_start);
            lines.push(merge(
                template_line,
                json!({
                    "id": format!("il_sbx{}x", &i.id[6..]),
                    "invoice": i.id,
                    "amount": overage,
                    "currency": i.currency,
                    "description": format!("Extra inboxes × {}", i.overage_quantity),
                    "quantity": i.overage_quantity,
                    "period": {"start": unix(used_from), "end": unix(i.period_start)},
                    "subscription": i.subscription_id,
                }),
            ));
        }
        let mut v = merge(
            template("invoice"),
            json!({
                "id": i.id,
                "number": invoice_number(i.seq),
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
                "invoice_pdf": format!("{}/sandbox/stripe/invoices/{}/pdf", self.base(), i.id),
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
        v["lines"]["data"] = json!(lines);
        v["lines"]["url"] = json!(format!("/v1/invoices/{}/lines", i.id));
        v
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn payment_intent_json(
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

    pub(super) fn charge_json(&self, p: &PaymentRow, created: DateTime<Utc>) -> Value {
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

    pub(super) fn checkout_json(
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
    pub(super) async fn emit(
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
    ///
    /// One deliverer at a time across every replica on this database (a transaction-scoped
    /// advisory lock, released when this returns or is dropped), so an event is never posted
    /// twice by two processes' redelivery loops, and the order holds.
    pub async fn deliver(&self) -> anyhow::Result<usize> {
        let _one_at_a_time = self.delivering.lock().await;
        let mut lock = self
            .pool
            .begin()
            .await
            .context("starting the delivery lock")?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(DELIVERY_LOCK)
            .execute(&mut *lock)
            .await
            .context("taking the delivery lock")?;
        let delivered = self.deliver_locked().await;
        lock.commit().await.context("releasing the delivery lock")?;
        delivered
    }

    async fn deliver_locked(&self) -> anyhow::Result<usize> {
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

    pub(super) async fn deliver_logged(&self) {
        if let Err(e) = self.deliver().await {
            tracing::warn!(error = ?e, "sandbox webhook delivery failed");
        }
    }

    // ---- Checkout -------------------------------------------------------------------------
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_overrides_only_the_given_keys() {
        let v = merge(json!({"a": 1, "b": 2}), json!({"b": 3}));
        assert_eq!(v, json!({"a": 1, "b": 3}));
    }
}
