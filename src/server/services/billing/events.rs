//! Applying Stripe events to the mirror: each event is stored by id and applied in the same
//! transaction; duplicates do nothing; an older event never overwrites newer state; unknown
//! types are recorded and ignored. Tenant effects are recomputed from the mirror afterwards,
//! so any delivery order ends in the same state.

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{ActorKind, Cents, InvoiceStatus, LedgerKind, SubscriptionStatus, TenantId};
use crate::server::config::Settings;
use crate::server::db::billing as db;
use crate::server::providers::payments::events::{
    Charge, CheckoutSession, Event, Invoice, PaymentIntent, Subscription,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Older than what the mirror holds: stored, changed nothing.
    Stale,
    /// A type we don't handle (or an object we can't place): stored, changed nothing.
    Ignored,
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not valid JSON of a Stripe event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(EventError);

pub const HANDLED: &[&str] = &[
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
];

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, EventError> {
    serde_json::from_value(v.clone()).map_err(|e| EventError::Malformed(e.to_string()))
}

/// Event types ordered within one second: a delete is newer than an update, an update newer
/// than a create.
fn type_rank(kind: &str) -> i16 {
    match kind {
        "customer.subscription.trial_will_end" => 0,
        "customer.subscription.created" => 1,
        "customer.subscription.updated" => 2,
        "customer.subscription.deleted" => 3,
        _ => 0,
    }
}

fn status_rank(status: &str) -> i16 {
    use SubscriptionStatus as S;
    match SubscriptionStatus::parse(status) {
        Some(S::Incomplete) | None => 0,
        Some(S::Trialing) => 1,
        Some(S::Active) => 2,
        Some(S::PastDue) => 3,
        Some(S::Unpaid | S::Paused) => 4,
        Some(S::Canceled | S::IncompleteExpired) => 5,
    }
}

/// Verifies nothing (the caller did): parses, stores and applies one event body.
pub async fn apply(pool: &PgPool, settings: &Settings, body: &[u8]) -> Result<Applied, EventError> {
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| EventError::Malformed(e.to_string()))?;
    let event: Event = parse(&payload)?;
    let object_id = event.data.object.get("id").and_then(|v| v.as_str());
    let mut tx = pool
        .begin()
        .await
        .context("starting the event transaction")?;
    let stored = db::insert_event(
        &mut tx,
        &db::EventMeta {
            id: &event.id,
            kind: &event.kind,
            api_version: event.api_version.as_deref(),
            livemode: event.livemode,
            created: ts(event.created),
            object_id,
        },
        &payload,
    )
    .await?;
    if !stored {
        tx.commit().await.context("committing")?;
        return Ok(Applied::Duplicate);
    }
    let outcome = apply_stored(
        &mut tx,
        settings,
        &event,
        &crate::server::db::audit::Actor::webhook("stripe"),
    )
    .await?;
    tx.commit().await.context("committing the event")?;
    Ok(outcome)
}

/// Applies a stored event again (the staff "replay" on the platform page): the same code path
/// as its first delivery, so a replay of an event already applied changes nothing (ledger
/// rows are keyed, subscription updates ordered by time). `None` when there is no such event.
pub async fn replay(
    pool: &PgPool,
    settings: &Settings,
    id: &str,
    actor: &crate::server::db::audit::Actor,
) -> Result<Option<Applied>, EventError> {
    let mut tx = pool.begin().await.context("starting the replay")?;
    let Some(payload) = db::lock_event_payload(&mut tx, id).await? else {
        return Ok(None);
    };
    let event: Event = parse(&payload)?;
    let outcome = apply_stored(&mut tx, settings, &event, actor).await?;
    tx.commit().await.context("committing the replay")?;
    Ok(Some(outcome))
}

/// Applies a stored event, recomputes its tenant, records the outcome and one audit row.
async fn apply_stored(
    conn: &mut PgConnection,
    settings: &Settings,
    event: &Event,
    actor: &crate::server::db::audit::Actor,
) -> Result<Applied, EventError> {
    let (outcome, tenant) = apply_in(conn, settings, event).await?;
    if let Some(tenant) = tenant {
        let changed = db::recompute_tenant(
            &mut *conn,
            tenant,
            settings.billing.failed_payments_before_suspension,
        )
        .await?;
        // A billing suspension opened or lifted: the relay must follow (logins, queue hold).
        if changed {
            crate::server::services::inboxes::relay::request_in(
                &mut *conn,
                settings,
                tenant,
                chrono::Duration::zero(),
            )
            .await?;
        }
    }
    let label = match outcome {
        Applied::Stale => "stale",
        Applied::Ignored => "ignored",
        _ => "applied",
    };
    db::finish_event(conn, &event.id, label, tenant).await?;
    // One row per event that changed a tenant; a staff replay is always recorded.
    if (tenant.is_some() && outcome == Applied::Applied) || actor.kind == ActorKind::Staff {
        crate::server::db::audit::stripe_event(
            &mut *conn,
            actor,
            tenant,
            &event.kind,
            &event.id,
            crate::server::db::audit::Change::after(serde_json::json!({
                "object": event.data.object.get("id"),
                "status": event.data.object.get("status"),
                "outcome": label,
            })),
        )
        .await?;
    }
    Ok(outcome)
}

/// The tenant an object belongs to: our customer record first, then the ids we put in
/// metadata / client_reference_id (only if that tenant exists).
async fn tenant_of(
    conn: &mut PgConnection,
    customer: Option<&str>,
    hints: &[Option<&String>],
) -> anyhow::Result<Option<TenantId>> {
    if let Some(c) = customer
        && let Some(t) = db::tenant_for_customer(conn, c).await?
    {
        return Ok(Some(t));
    }
    for hint in hints.iter().flatten() {
        if let Ok(id) = Uuid::parse_str(hint).map(TenantId)
            && db::tenant_exists(conn, id).await?
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// A Stripe event parsed once by its type, with its object typed: one variant per family.
#[derive(Debug)]
enum StripeEvent {
    CheckoutCompleted(CheckoutSession),
    /// `customer.subscription.*`: created, updated, deleted, trial_will_end.
    Subscription(Subscription),
    /// `invoice.paid`, `invoice.payment_succeeded`, `invoice.payment_failed`.
    Invoice {
        invoice: Invoice,
        failed: bool,
    },
    /// `payment_intent.succeeded` or `payment_intent.payment_failed`.
    PaymentIntent {
        intent: PaymentIntent,
        succeeded: bool,
    },
    ChargeRefunded(Charge),
    /// A type we don't handle: stored, changes nothing.
    Unhandled,
}

impl StripeEvent {
    fn parse(event: &Event) -> Result<Self, EventError> {
        let object = &event.data.object;
        Ok(match event.kind.as_str() {
            "checkout.session.completed" => Self::CheckoutCompleted(parse(object)?),
            "customer.subscription.created"
            | "customer.subscription.updated"
            | "customer.subscription.deleted"
            | "customer.subscription.trial_will_end" => Self::Subscription(parse(object)?),
            "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
                Self::Invoice {
                    invoice: parse(object)?,
                    failed: event.kind == "invoice.payment_failed",
                }
            }
            "payment_intent.succeeded" | "payment_intent.payment_failed" => Self::PaymentIntent {
                intent: parse(object)?,
                succeeded: event.kind == "payment_intent.succeeded",
            },
            "charge.refunded" => Self::ChargeRefunded(parse(object)?),
            _ => Self::Unhandled,
        })
    }
}

/// What every family needs of the event besides its object.
struct Source<'a> {
    id: &'a str,
    kind: &'a str,
    at: DateTime<Utc>,
}

type Outcome = (Applied, Option<TenantId>);

async fn apply_in(
    conn: &mut PgConnection,
    settings: &Settings,
    event: &Event,
) -> Result<Outcome, EventError> {
    let src = Source {
        id: &event.id,
        kind: &event.kind,
        at: ts(event.created),
    };
    match StripeEvent::parse(event)? {
        StripeEvent::CheckoutCompleted(s) => checkout_completed(conn, settings, &src, &s).await,
        StripeEvent::Subscription(s) => subscription_changed(conn, settings, &src, &s).await,
        StripeEvent::Invoice { invoice, failed } => {
            invoice_changed(conn, &src, &invoice, failed).await
        }
        StripeEvent::PaymentIntent { intent, succeeded } => {
            payment_intent_changed(conn, settings, &src, &intent, succeeded).await
        }
        StripeEvent::ChargeRefunded(c) => charge_refunded(conn, &src, &c).await,
        StripeEvent::Unhandled => Ok((Applied::Ignored, None)),
    }
}

async fn checkout_completed(
    conn: &mut PgConnection,
    settings: &Settings,
    src: &Source<'_>,
    s: &CheckoutSession,
) -> Result<Outcome, EventError> {
    let tenant = tenant_of(
        conn,
        s.customer.as_deref(),
        &[s.client_reference_id.as_ref(), s.metadata.get("tenant_id")],
    )
    .await?;
    let Some(tenant) = tenant else {
        return Ok((Applied::Ignored, None));
    };
    db::complete_checkout(
        conn,
        &db::CheckoutCompletion {
            id: &s.id,
            payment_status: s.payment_status.as_deref(),
            subscription_id: s.subscription.as_deref(),
            payment_intent_id: s.payment_intent.as_deref(),
            at: src.at,
        },
    )
    .await?;
    if s.mode.as_deref() == Some("payment")
        && s.payment_status.as_deref() == Some("paid")
        && let (Some(pi), Some(purchase)) = (
            s.payment_intent.as_deref(),
            s.metadata
                .get("purchase_id")
                .and_then(|p| Uuid::parse_str(p).ok()),
        )
    {
        let amount = Cents(s.amount_total.unwrap_or(0));
        let currency = s.currency.as_deref().unwrap_or("usd");
        one_time_paid(
            conn, settings, tenant, pi, purchase, amount, currency, src.at, src.id,
        )
        .await?;
    }
    Ok((Applied::Applied, Some(tenant)))
}

async fn subscription_changed(
    conn: &mut PgConnection,
    settings: &Settings,
    src: &Source<'_>,
    s: &Subscription,
) -> Result<Outcome, EventError> {
    let tenant = tenant_of(conn, s.customer.as_deref(), &[s.metadata.get("tenant_id")]).await?;
    // The plan's item (a subscription on a plan with overage also has its metered item).
    let item = s
        .items
        .data
        .iter()
        .find(|i| settings.plan_by_price(&i.price.id).is_some())
        .or(s.items.data.first());
    let (Some(tenant), Some(item), Some(customer)) = (tenant, item, s.customer.as_deref()) else {
        return Ok((Applied::Ignored, None));
    };
    let written = db::upsert_subscription(
        conn,
        &db::SubscriptionRow {
            id: &s.id,
            tenant_id: tenant,
            customer_id: customer,
            status: &s.status,
            plan_id: settings.plan_by_price(&item.price.id).map(|(id, _)| id),
            price_id: &item.price.id,
            item_id: &item.id,
            current_period_end: item.current_period_end.map(ts),
            trial_start: s.trial_start.map(ts),
            trial_end: s.trial_end.map(ts),
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at: s.canceled_at.map(ts),
            ended_at: s.ended_at.map(ts),
            src_created: src.at,
            src_type_rank: type_rank(src.kind),
            src_status_rank: status_rank(&s.status),
            src_event_id: src.id,
        },
    )
    .await?;
    Ok((
        if written {
            Applied::Applied
        } else {
            Applied::Stale
        },
        Some(tenant),
    ))
}

async fn invoice_changed(
    conn: &mut PgConnection,
    src: &Source<'_>,
    i: &Invoice,
    failed: bool,
) -> Result<Outcome, EventError> {
    let Some(customer) = i.customer.as_deref() else {
        return Ok((Applied::Ignored, None));
    };
    let Some(tenant) = tenant_of(conn, Some(customer), &[]).await? else {
        return Ok((Applied::Ignored, None));
    };
    let status = match (failed, i.status.as_deref()) {
        (_, Some(s)) => s.to_string(),
        (true, None) => "open".into(),
        _ => "paid".into(),
    };
    let paid = InvoiceStatus::parse(&status) == Some(InvoiceStatus::Paid);
    let paid_at = i
        .status_transitions
        .as_ref()
        .and_then(|t| t.paid_at)
        .map(ts)
        .or(paid.then_some(src.at));
    let (start, end) = i.period();
    let subscription = i.subscription_id();
    db::upsert_invoice(
        conn,
        &db::InvoiceRow {
            id: &i.id,
            tenant_id: tenant,
            customer_id: customer,
            subscription_id: subscription.as_deref(),
            number: i.number.as_deref(),
            status: &status,
            amount_due: Cents(i.amount_due),
            amount_paid: Cents(i.amount_paid),
            currency: &i.currency,
            billing_reason: i.billing_reason.as_deref(),
            attempt_count: i.attempt_count,
            period_start: start.map(ts),
            period_end: end.map(ts),
            hosted_invoice_url: i.hosted_invoice_url.as_deref(),
            invoice_pdf: i.invoice_pdf.as_deref(),
            created: ts(i.created),
            paid_at,
        },
    )
    .await?;
    if paid && i.amount_paid > 0 {
        let description = format!(
            "Subscription invoice {}",
            i.number.as_deref().unwrap_or(&i.id)
        );
        db::append_ledger(
            conn,
            &db::LedgerEntry {
                tenant_id: tenant,
                kind: LedgerKind::SubscriptionPayment,
                amount_cents: Cents(i.amount_paid),
                currency: &i.currency,
                provider_ref: &i.id,
                invoice_id: Some(&i.id),
                payment_intent_id: None,
                charge_id: None,
                purchase_id: None,
                description: &description,
                occurred_at: paid_at.unwrap_or(src.at),
                event_id: Some(src.id),
            },
        )
        .await?;
    }
    Ok((Applied::Applied, Some(tenant)))
}

async fn payment_intent_changed(
    conn: &mut PgConnection,
    settings: &Settings,
    src: &Source<'_>,
    p: &PaymentIntent,
    succeeded: bool,
) -> Result<Outcome, EventError> {
    // A domain renewal's off-session charge.
    if let Some(renewal) = p
        .metadata
        .get("renewal_id")
        .and_then(|v| Uuid::parse_str(v).ok())
    {
        let Some(tenant) =
            tenant_of(conn, p.customer.as_deref(), &[p.metadata.get("tenant_id")]).await?
        else {
            return Ok((Applied::Ignored, None));
        };
        if succeeded {
            crate::server::services::domains::renewal::paid_in(
                conn, settings, tenant, renewal, &p.id, src.at,
            )
            .await?;
        }
        return Ok((Applied::Applied, Some(tenant)));
    }
    // Only the one-time charges we asked for; subscription invoices make PIs too.
    let Some(purchase) = p
        .metadata
        .get("purchase_id")
        .and_then(|v| Uuid::parse_str(v).ok())
    else {
        return Ok((Applied::Ignored, None));
    };
    let Some(tenant) =
        tenant_of(conn, p.customer.as_deref(), &[p.metadata.get("tenant_id")]).await?
    else {
        return Ok((Applied::Ignored, None));
    };
    if succeeded {
        let amount = Cents(if p.amount_received > 0 {
            p.amount_received
        } else {
            p.amount
        });
        one_time_paid(
            conn,
            settings,
            tenant,
            &p.id,
            purchase,
            amount,
            &p.currency,
            src.at,
            src.id,
        )
        .await?;
    } else {
        let message = p
            .last_payment_error
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .unwrap_or("The payment failed.");
        db::upsert_payment(
            conn,
            &db::PaymentRow {
                payment_intent_id: &p.id,
                tenant_id: tenant,
                purchase_id: purchase,
                amount: Cents(p.amount),
                currency: &p.currency,
                status: "failed",
                failure_message: Some(message),
            },
        )
        .await?;
    }
    Ok((Applied::Applied, Some(tenant)))
}

async fn charge_refunded(
    conn: &mut PgConnection,
    src: &Source<'_>,
    c: &Charge,
) -> Result<Outcome, EventError> {
    let from_payment = match c.payment_intent.as_deref() {
        Some(pi) => db::purchase_for_payment(conn, pi).await?,
        None => None,
    };
    let tenant = match from_payment {
        Some((t, _)) => Some(t),
        None => tenant_of(conn, c.customer.as_deref(), &[c.metadata.get("tenant_id")]).await?,
    };
    let Some(tenant) = tenant else {
        return Ok((Applied::Ignored, None));
    };
    let so_far = db::refunded_so_far(conn, &c.id).await?;
    let delta = c.amount_refunded - so_far;
    if delta > 0 {
        let reference = format!("{}:{}", c.id, c.amount_refunded);
        db::append_ledger(
            conn,
            &db::LedgerEntry {
                tenant_id: tenant,
                kind: LedgerKind::Refund,
                amount_cents: Cents(-delta),
                currency: &c.currency,
                provider_ref: &reference,
                invoice_id: None,
                payment_intent_id: c.payment_intent.as_deref(),
                charge_id: Some(&c.id),
                purchase_id: from_payment.map(|(_, p)| p),
                description: "Refund",
                occurred_at: src.at,
                event_id: Some(src.id),
            },
        )
        .await?;
    }
    Ok((Applied::Applied, Some(tenant)))
}

#[allow(clippy::too_many_arguments)]
async fn one_time_paid(
    conn: &mut PgConnection,
    settings: &Settings,
    tenant: TenantId,
    payment_intent: &str,
    purchase: Uuid,
    amount: Cents,
    currency: &str,
    at: DateTime<Utc>,
    event_id: &str,
) -> anyhow::Result<()> {
    db::upsert_payment(
        conn,
        &db::PaymentRow {
            payment_intent_id: payment_intent,
            tenant_id: tenant,
            purchase_id: purchase,
            amount,
            currency,
            status: "succeeded",
            failure_message: None,
        },
    )
    .await?;
    db::append_ledger(
        conn,
        &db::LedgerEntry {
            tenant_id: tenant,
            kind: LedgerKind::OneTimeCharge,
            amount_cents: amount,
            currency,
            provider_ref: payment_intent,
            invoice_id: None,
            payment_intent_id: Some(payment_intent),
            charge_id: None,
            purchase_id: Some(purchase),
            description: "One-time charge",
            occurred_at: at,
            event_id: Some(event_id),
        },
    )
    .await?;
    // A domain bought with this purchase: its saga starts (once, however often this arrives).
    crate::server::services::domains::saga::start_in(conn, settings, tenant, purchase).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A verified body can still be anything JSON: parsing gives an error, never a panic.
        #[test]
        fn event_bodies_never_panic(s in proptest::prelude::any::<String>(), id in "[a-z_]{0,12}") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&s) {
                let _ = parse::<Event>(&v);
            }
            let v = serde_json::json!({"id": id, "type": s, "created": -1, "data": {"object": {"id": 7}}});
            let _ = parse::<Event>(&v);
        }
    }

    #[test]
    fn an_event_is_parsed_once_by_type_and_a_bad_object_of_a_handled_type_is_malformed() {
        let event = |kind: &str, object: serde_json::Value| {
            parse::<Event>(&serde_json::json!({"id": "evt_1", "type": kind, "created": 1, "data": {"object": object}}))
                .unwrap()
        };
        assert!(matches!(
            StripeEvent::parse(&event("customer.created", serde_json::json!({"id": 7}))),
            Ok(StripeEvent::Unhandled)
        ));
        assert!(matches!(
            StripeEvent::parse(&event("charge.refunded", serde_json::json!({"id": 7}))),
            Err(EventError::Malformed(_))
        ));
    }

    #[test]
    fn within_one_second_a_delete_outranks_an_update_which_outranks_a_create() {
        assert!(
            type_rank("customer.subscription.deleted") > type_rank("customer.subscription.updated")
        );
        assert!(
            type_rank("customer.subscription.updated") > type_rank("customer.subscription.created")
        );
    }

    #[test]
    fn canceled_is_the_highest_status_rank() {
        for s in ["incomplete", "trialing", "active", "past_due", "unpaid"] {
            assert!(status_rank("canceled") > status_rank(s), "{s}");
        }
    }
}
