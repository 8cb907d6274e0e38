//! Billing use cases: the billing page, Checkout, plan changes, cancel / reactivate, the
//! portal, and the success page's "has the webhook landed yet?".

pub mod access;
pub mod events;
pub mod usage;

use anyhow::Context;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::billing::{
    BillingView, CardView, CheckoutStatus, InvoiceView, LedgerView, PlanAction, PlanCard,
};
use crate::domain::tenant::format_money;
use crate::domain::{
    Cents, CheckoutSessionStatus, InvoiceStatus, LedgerKind, SubscriptionStatus, Usage,
};
use crate::server::auth::TenantCtx;
use crate::server::db::audit::{Actor, Change};
use crate::server::db::billing::{self as db, CurrentSubscription};
use crate::server::providers::payments::{
    CheckoutMode, CheckoutRequest, NewCustomer, Payments, PaymentsError, PortalRequest, Refund,
    RefundReason, RefundRequest, SubscriptionChange,
};
use crate::server::services::dashboard::days_left;
use crate::server::state::AppState;

pub use access::{Entitlement, LimitError, MayAddError, may_add};

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("There is no plan called {0:?}.")]
    UnknownPlan(String),
    #[error("{0}")]
    Refused(String),
    #[error("Only owners and admins can change billing.")]
    NotManager,
    #[error("Not found.")]
    NotFound,
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Provider(#[from] PaymentsError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(BillingError);

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn status_label(status: SubscriptionStatus) -> String {
    use SubscriptionStatus as S;
    match status {
        S::Trialing => "Trialing",
        S::Active => "Active",
        S::PastDue => "Past due",
        S::Canceled => "Canceled",
        S::Unpaid => "Unpaid",
        S::Incomplete => "Incomplete",
        S::IncompleteExpired => "Expired",
        S::Paused => "Paused",
    }
    .to_string()
}

pub async fn overview(state: &AppState, ctx: &TenantCtx) -> anyhow::Result<BillingView> {
    let settings = &state.settings;
    let mut tx = ctx.begin(state).await?;
    let billing = db::billing_state(&mut tx, ctx).await?;
    let invoices = db::invoices(&mut tx, ctx, 24).await?;
    let ledger = db::ledger(&mut tx, ctx, 50).await?;
    let month = crate::server::services::integrations::this_month();
    let api_stored = crate::server::db::api::calls_in(&mut tx, ctx, month).await?;
    tx.commit().await.context("loading billing")?;
    let (_, api_allowed) =
        crate::server::db::api::month_usage(&state.pool, settings, ctx.tenant_id(), month).await?;
    let (row, sub) = (&billing.row, billing.subscription());
    let this_month = usage::this_month(state, ctx, row, sub.as_ref()).await?;
    let now = Utc::now();
    let e = access::entitlement(settings, row, sub.as_ref(), now);
    let live = sub.as_ref().filter(|s| s.is_live());
    let current_price = live
        .and_then(|s| s.plan_id.as_deref())
        .and_then(|id| settings.plans.get(id))
        .map(|p| Cents(p.price_cents));
    let plans = settings
        .plan_views()
        .into_iter()
        .map(|plan| {
            let action = match (live.and_then(|s| s.plan_id.as_deref()), current_price) {
                (Some(id), _) if id == plan.id => PlanAction::Current,
                (_, Some(price)) if plan.price_cents > price => PlanAction::Upgrade,
                (_, Some(_)) => PlanAction::Downgrade,
                _ => PlanAction::Choose,
            };
            PlanCard { plan, action }
        })
        .collect();
    let (status, period_note) = match &sub {
        None if now < row.trial_ends_at => (
            "Trial".to_string(),
            Some(format!("Trial ends on {}", day(row.trial_ends_at))),
        ),
        None => ("Trial ended".to_string(), None),
        Some(s) => {
            let note = match (s.status, s.trial_end, s.current_period_end) {
                (SubscriptionStatus::Trialing, Some(t), _) => Some(format!(
                    "Trial ends on {}; then {} a month",
                    day(t),
                    e.plan_id
                        .as_deref()
                        .and_then(|id| settings.plans.get(id))
                        .map(|p| format_money(p.price_cents, &p.currency))
                        .unwrap_or_default()
                )),
                (SubscriptionStatus::Canceled, _, _) => None,
                (_, _, Some(end)) if s.cancel_at_period_end => {
                    Some(format!("Ends on {}", day(end)))
                }
                (_, _, Some(end)) => Some(format!("Renews on {}", day(end))),
                _ => None,
            };
            (status_label(s.status), note)
        }
    };
    let invoices = invoices
        .into_iter()
        .map(|i| InvoiceView {
            number: i.number.unwrap_or_else(|| i.id.clone()),
            id: i.id,
            date: day(i.created),
            amount: format_money(
                if i.status == InvoiceStatus::Paid {
                    i.amount_paid
                } else {
                    i.amount_due
                },
                &i.currency,
            ),
            status: match i.status {
                InvoiceStatus::Paid => "Paid",
                InvoiceStatus::Open => "Open",
                InvoiceStatus::Void => "Void",
                InvoiceStatus::Uncollectible => "Uncollectible",
                InvoiceStatus::Draft => "Draft",
            }
            .to_string(),
            url: i.hosted_invoice_url,
            pdf: i.invoice_pdf,
        })
        .collect();
    let ledger = ledger
        .into_iter()
        .map(|l| LedgerView {
            date: day(l.occurred_at),
            kind: match l.kind {
                LedgerKind::SubscriptionPayment => "Subscription",
                LedgerKind::OneTimeCharge => "One-time charge",
                LedgerKind::Refund => "Refund",
            }
            .to_string(),
            description: l.description,
            amount: format_money(l.amount_cents, &l.currency),
        })
        .collect();
    Ok(BillingView {
        plan_name: e.plan_name.clone(),
        plan_id: e.plan_id.clone(),
        status,
        trial_days_left: e.trial_ends_at.map(|t| days_left(now, t)),
        period_note,
        cancel_at_period_end: live.is_some_and(|s| s.cancel_at_period_end),
        subscribed: live.is_some(),
        warning: e.warning,
        blocked: e.blocked,
        can_manage: ctx.role().can_manage(),
        plans,
        domains: Usage {
            used: row.domains,
            limit: e.max_domains,
        },
        inboxes: Usage {
            used: row.inboxes,
            limit: e.max_inboxes,
        },
        api_calls: Usage {
            used: api_stored + state.api_meter.pending(ctx.tenant_id()),
            limit: api_allowed,
        },
        this_month,
        invoices,
        ledger,
    })
}

/// "Now" for billing: the sandbox's test clock when the sandbox is the payments provider (staff
/// move it forward to play out renewals and trial ends), the wall clock with real Stripe.
pub async fn clock(state: &AppState) -> anyhow::Result<DateTime<Utc>> {
    match &state.stripe_sandbox {
        Some(sandbox) => {
            let mut conn = state.pool.acquire().await.context("acquiring")?;
            sandbox.now(&mut conn).await
        }
        None => Ok(Utc::now()),
    }
}

/// The tenant's Stripe customer, created once (the tenant row is locked while we ask).
pub async fn ensure_customer(state: &AppState, ctx: &TenantCtx) -> Result<String, BillingError> {
    let mut tx = state.pool.begin().await.context("starting")?;
    if let Some(id) = db::lock_customer(&mut tx, ctx).await? {
        return Ok(id);
    }
    let (name, email) = db::customer_details(&state.pool, ctx).await?;
    let tenant_id = ctx.tenant_id().0;
    let id = state
        .payments
        .create_customer(
            &NewCustomer {
                tenant_id,
                email,
                name,
            },
            &format!("ig:customer:{tenant_id}"),
        )
        .await?;
    db::insert_customer(&mut tx, ctx, &id).await?;
    tx.commit().await.context("saving the customer")?;
    Ok(id)
}

/// Usage that would not fit `plan_id`, as a sentence saying what to remove first.
fn downgrade_blocker(state: &AppState, row: &db::BillingRow, plan_id: &str) -> Option<String> {
    let plan = state.settings.plans.get(plan_id)?;
    let mut over = Vec::new();
    if row.domains > plan.max_domains {
        over.push(format!("{} domains", row.domains - plan.max_domains));
    }
    if row.inboxes > plan.max_inboxes {
        over.push(format!("{} inboxes", row.inboxes - plan.max_inboxes));
    }
    (!over.is_empty()).then(|| {
        format!(
            "{} allows {} domains and {} inboxes; you have {} and {}. Remove {} first.",
            plan.name,
            plan.max_domains,
            plan.max_inboxes,
            row.domains,
            row.inboxes,
            over.join(" and ")
        )
    })
}

pub enum PlanOutcome {
    /// Send the browser to Checkout.
    Checkout(String),
    /// The live subscription was changed in place.
    Changed,
}

/// "Choose" / "Upgrade" / "Downgrade": Checkout for a tenant without a live subscription,
/// otherwise a prorated price change on the subscription it has.
pub async fn choose_plan(
    state: &AppState,
    ctx: &TenantCtx,
    plan_id: &str,
    actor: &Actor,
) -> Result<PlanOutcome, BillingError> {
    ctx.require_manager()
        .map_err(|_| BillingError::NotManager)?;
    let plan = state
        .settings
        .plans
        .get(plan_id)
        .ok_or_else(|| BillingError::UnknownPlan(plan_id.into()))?;
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let billing = db::billing_state(&mut conn, ctx).await?;
    drop(conn);
    let (row, sub) = (&billing.row, billing.subscription());
    if let Some(reason) = downgrade_blocker(state, row, plan_id) {
        return Err(BillingError::Refused(reason));
    }
    let previous_plan = sub.as_ref().and_then(|s| s.plan_id.clone());
    if let Some(s) = sub.filter(CurrentSubscription::is_live) {
        if s.plan_id.as_deref() == Some(plan_id) {
            return Err(BillingError::Refused(format!(
                "You are already on {}.",
                plan.name
            )));
        }
        state
            .payments
            .update_subscription(
                &s.id,
                &SubscriptionChange::ChangePrice {
                    item_id: s.item_id.clone(),
                    price_id: plan.stripe_price_id.clone(),
                },
                &format!("ig:plan:{}:{}:{}", s.id, plan_id, Uuid::new_v4()),
            )
            .await?;
        crate::server::db::audit::billing(
            &state.pool,
            actor,
            ctx.tenant_id(),
            crate::server::db::audit::BillingAction::PlanChange,
            &format!("subscription:{}", s.id),
            Change::from_to(
                serde_json::json!({ "plan": s.plan_id }),
                serde_json::json!({ "plan": plan_id }),
            ),
        )
        .await?;
        return Ok(PlanOutcome::Changed);
    }
    let customer_id = ensure_customer(state, ctx).await?;
    let mut tx = state.pool.begin().await.context("starting")?;
    db::lock_customer(&mut tx, ctx).await?;
    if let Some(url) = db::recent_open_checkout(&mut tx, ctx, plan_id).await? {
        return Ok(PlanOutcome::Checkout(url));
    }
    // The trial runs from signup: Checkout gets whatever is left of it (none once it is over).
    let left = days_left(Utc::now(), row.trial_ends_at);
    let base = state.settings.server.public_url.trim_end_matches('/');
    let session = state
        .payments
        .create_checkout(&CheckoutRequest {
            tenant_id: ctx.tenant_id().0,
            customer_id,
            mode: CheckoutMode::Subscription {
                price_id: plan.stripe_price_id.clone(),
                trial_period_days: (left > 0).then_some(left as u32),
                card_required: state.settings.billing.card_required,
                overage_price_id: plan.overage_price_id.clone(),
            },
            success_url: format!("{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: format!("{base}/billing/cancel"),
            idempotency_key: format!("ig:checkout:{}:{}", ctx.tenant_id().0, Uuid::new_v4()),
        })
        .await?;
    db::insert_checkout(
        &mut tx,
        ctx,
        &db::NewCheckout {
            id: &session.id,
            mode: "subscription",
            plan_id: Some(plan_id),
            purchase_id: None,
            url: &session.url,
        },
    )
    .await?;
    crate::server::db::audit::billing(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        crate::server::db::audit::BillingAction::Checkout,
        &format!("checkout:{}", session.id),
        Change::from_to(
            serde_json::json!({ "plan": previous_plan }),
            serde_json::json!({ "plan": plan_id, "mode": "subscription" }),
        ),
    )
    .await?;
    tx.commit().await.context("recording the checkout")?;
    Ok(PlanOutcome::Checkout(session.url))
}

/// Cancel at period end (`true`) or undo that (`false`).
pub async fn set_cancel_at_period_end(
    state: &AppState,
    ctx: &TenantCtx,
    cancel: bool,
    actor: &Actor,
) -> Result<(), BillingError> {
    ctx.require_manager()
        .map_err(|_| BillingError::NotManager)?;
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let sub = db::billing_state(&mut conn, ctx)
        .await?
        .subscription()
        .filter(CurrentSubscription::is_live)
        .ok_or_else(|| {
            BillingError::Refused("There is no active subscription to change.".into())
        })?;
    drop(conn);
    if sub.cancel_at_period_end == cancel {
        return Ok(());
    }
    let change = if cancel {
        SubscriptionChange::CancelAtPeriodEnd
    } else {
        SubscriptionChange::Reactivate
    };
    state
        .payments
        .update_subscription(
            &sub.id,
            &change,
            &format!("ig:cancel:{}:{cancel}:{}", sub.id, Uuid::new_v4()),
        )
        .await?;
    crate::server::db::audit::billing(
        &state.pool,
        actor,
        ctx.tenant_id(),
        crate::server::db::audit::BillingAction::CancelAtPeriodEnd,
        &format!("subscription:{}", sub.id),
        Change::from_to(
            serde_json::json!({ "cancel_at_period_end": !cancel }),
            serde_json::json!({ "cancel_at_period_end": cancel }),
        ),
    )
    .await?;
    Ok(())
}

pub async fn portal_url(state: &AppState, ctx: &TenantCtx) -> Result<String, BillingError> {
    ctx.require_manager()
        .map_err(|_| BillingError::NotManager)?;
    let customer_id = ensure_customer(state, ctx).await?;
    let base = state.settings.server.public_url.trim_end_matches('/');
    Ok(state
        .payments
        .create_portal(&PortalRequest {
            customer_id,
            return_url: format!("{base}/billing"),
        })
        .await?)
}

/// A card id as Stripe makes them (`pm_…`, `card_…`), or `None`.
fn card_id(raw: &str) -> Result<&str, BillingError> {
    let raw = raw.trim();
    let ok = raw.len() <= 255
        && (raw.starts_with("pm_") || raw.starts_with("card_"))
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(raw)
    } else {
        Err(BillingError::Invalid(
            "card",
            "That is not a card id.".into(),
        ))
    }
}

/// A refusal naming a card that is not the customer's is a 404, like any other tenant's id.
fn card_error(e: PaymentsError) -> BillingError {
    match e {
        PaymentsError::Rejected { code, .. } if code.as_deref() == Some("resource_missing") => {
            BillingError::NotFound
        }
        e => BillingError::Provider(e),
    }
}

/// The workspace's Stripe customer, if it has one yet.
async fn customer_of(state: &AppState, ctx: &TenantCtx) -> Result<Option<String>, BillingError> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    Ok(db::customer_of(&mut conn, ctx.tenant_id()).await?)
}

/// The workspace's saved cards (none before it has a Stripe customer).
pub async fn cards(state: &AppState, ctx: &TenantCtx) -> Result<Vec<CardView>, BillingError> {
    let Some(customer) = customer_of(state, ctx).await? else {
        return Ok(vec![]);
    };
    Ok(state
        .payments
        .list_cards(&customer)
        .await?
        .into_iter()
        .map(|c| CardView {
            brand: card_brand(&c.brand),
            label: format!(
                "{} •••• {} (expires {:02}/{})",
                card_brand(&c.brand),
                c.last4,
                c.exp_month,
                c.exp_year
            ),
            id: c.id,
            last4: c.last4,
            expires: format!("{:02}/{}", c.exp_month, c.exp_year),
            is_default: c.is_default,
        })
        .collect())
}

fn card_brand(brand: &str) -> String {
    match brand {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        "discover" => "Discover".into(),
        other => other.chars().take(20).collect(),
    }
}

/// One audit row for a change to the workspace's cards (target `card:{id}`).
async fn audit_card(
    state: &AppState,
    ctx: &TenantCtx,
    actor: &Actor,
    action: crate::server::db::audit::BillingAction,
    card: &str,
    after: serde_json::Value,
) -> Result<(), BillingError> {
    crate::server::db::audit::billing(
        &state.pool,
        actor,
        ctx.tenant_id(),
        action,
        &format!("card:{card}"),
        Change::after(after),
    )
    .await?;
    Ok(())
}

/// "Make default": what renewals and invoices charge from now on. Owners only, audited.
pub async fn set_default_card(
    state: &AppState,
    ctx: &TenantCtx,
    card: &str,
    actor: &Actor,
) -> Result<(), BillingError> {
    let card = card_id(card)?;
    let customer = customer_of(state, ctx)
        .await?
        .ok_or(BillingError::NotFound)?;
    state
        .payments
        .set_default_card(&customer, card)
        .await
        .map_err(card_error)?;
    audit_card(
        state,
        ctx,
        actor,
        crate::server::db::audit::BillingAction::DefaultCard,
        card,
        serde_json::json!({ "default": card }),
    )
    .await
}

/// "Remove": detaches a card that is not the default (make another the default first, so
/// renewals and invoices always have one to charge). Owners only, audited.
pub async fn remove_card(
    state: &AppState,
    ctx: &TenantCtx,
    card: &str,
    actor: &Actor,
) -> Result<(), BillingError> {
    let card = card_id(card)?;
    let customer = customer_of(state, ctx)
        .await?
        .ok_or(BillingError::NotFound)?;
    let cards = state.payments.list_cards(&customer).await?;
    let Some(found) = cards.iter().find(|c| c.id == card) else {
        return Err(BillingError::NotFound);
    };
    if found.is_default {
        return Err(BillingError::Refused(
            "This is the card we charge for your plan and domain renewals. Add or choose another default card first.".into(),
        ));
    }
    state
        .payments
        .remove_card(&customer, card)
        .await
        .map_err(card_error)?;
    audit_card(
        state,
        ctx,
        actor,
        crate::server::db::audit::BillingAction::RemoveCard,
        card,
        serde_json::json!({ "removed": card, "last4": found.last4 }),
    )
    .await
}

/// "Add a card": Stripe Checkout in setup mode (nothing is charged); back on /billing.
pub async fn add_card_url(state: &AppState, ctx: &TenantCtx) -> Result<String, BillingError> {
    let customer_id = ensure_customer(state, ctx).await?;
    let base = state.settings.server.public_url.trim_end_matches('/');
    let session = state
        .payments
        .create_checkout(&CheckoutRequest {
            tenant_id: ctx.tenant_id().0,
            customer_id,
            mode: CheckoutMode::Setup,
            success_url: format!("{base}/billing?card=added"),
            cancel_url: format!("{base}/billing"),
            // A fresh session each time: adding a second card is a new request.
            idempotency_key: format!("ig:checkout:setup:{}", Uuid::new_v4()),
        })
        .await?;
    Ok(session.url)
}

pub async fn checkout_status(
    state: &AppState,
    ctx: &TenantCtx,
    session_id: &str,
) -> anyhow::Result<CheckoutStatus> {
    // Checkout session ids are ASCII (`cs_…`); anything else (a NUL byte included, which
    // Postgres text refuses) names no session.
    if !session_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(CheckoutStatus::Unknown);
    }
    let Some(c) = db::checkout_state(&state.pool, ctx, session_id).await? else {
        return Ok(CheckoutStatus::Unknown);
    };
    let landed = c.status == CheckoutSessionStatus::Complete
        && (c.mode != "subscription" || c.subscription_mirrored);
    if !landed {
        return Ok(CheckoutStatus::Confirming);
    }
    let view = overview(state, ctx).await?;
    Ok(CheckoutStatus::Complete {
        plan_name: view.plan_name,
        status: view.status,
    })
}

/// Why a refund did not happen, mapped from the provider's error in one place.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// The payment was refunded before (`charge_already_refunded`): the money is back.
    #[error("Stripe refused the refund: {0}")]
    AlreadyRefunded(String),
    /// Refused for good; the provider's message is safe to show.
    #[error("Stripe refused the refund: {0}")]
    Refused(String),
    /// Nothing was refunded; worth trying again later.
    #[error("Payments are unavailable right now; nothing was refunded. Try again in a minute.")]
    Unavailable(#[source] PaymentsError),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<PaymentsError> for RefundError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::Rejected { code, message }
                if code.as_deref() == Some("charge_already_refunded") =>
            {
                Self::AlreadyRefunded(message)
            }
            PaymentsError::Rejected { message, .. } => Self::Refused(message),
            PaymentsError::RateLimited | PaymentsError::Unavailable(_) => Self::Unavailable(e),
            PaymentsError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// Refunds a payment in full, at most once per `idempotency_key`: the one refund path of a
/// staff refund (`services::admin::refund`) and the purchase saga's compensation.
pub async fn refund_in_full(
    payments: &dyn Payments,
    payment_intent_id: String,
    idempotency_key: String,
) -> Result<Refund, RefundError> {
    Ok(payments
        .refund(&RefundRequest {
            payment_intent_id,
            amount_cents: None,
            reason: RefundReason::RequestedByCustomer,
            idempotency_key,
        })
        .await?)
}
