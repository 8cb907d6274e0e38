//! The staff panel: reads across tenants and the staff actions. The server functions check
//! staff first; nothing here is reachable by a customer (the customer's own trail goes
//! through [`activity`], scoped by their `TenantCtx`).

use anyhow::Context;
use serde_json::json;
use uuid::Uuid;

use crate::domain::admin::{
    AdminAuditEntry, AdminComplaint, AdminLedgerEntry, AdminNote, AdminSubscription,
    AdminSuspension, AdminTenantDetail, AdminTenantRow, AdminTenantsView, AuditView, JobView,
    JobsView, PlatformView, ProviderView, StripeEventRow, StripeEventsView,
};
use crate::domain::tenant::format_money;
use crate::domain::{ActorKind, Cents, JobStatus, LedgerKind, TenantId, TenantStatus};
use crate::server::auth::TenantCtx;
use crate::server::db;
use crate::server::db::audit::{Actor, Change, DomainAction};
use crate::server::providers::payments::{RefundReason, RefundRequest};
use crate::server::services::billing::{RefundError, events};
use crate::server::state::AppState;

const PAGE: i64 = 25;
const TRAIL_PAGE: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field and what is wrong with it.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("Not found.")]
    NotFound,
    /// Not possible in the current state; the message says why.
    #[error("{0}")]
    Refused(String),
    /// A provider refused or failed; the message is safe to show to staff.
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(AdminError);

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn plan_name(state: &AppState, plan: Option<&str>) -> String {
    plan.and_then(|p| state.settings.plans.get(p))
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "Free trial".into())
}

fn row(state: &AppState, r: db::admin::TenantRow) -> AdminTenantRow {
    AdminTenantRow {
        id: r.id.to_string(),
        plan: plan_name(state, r.plan_id.as_deref()),
        name: r.name,
        owner_email: r.owner_email,
        status: r.status.to_string(),
        domains: r.domains,
        inboxes: r.inboxes,
        created: when(r.created_at),
    }
}

pub async fn tenants(
    state: &AppState,
    q: &str,
    status: &str,
    plan: &str,
    page: i64,
) -> anyhow::Result<AdminTenantsView> {
    let q = q.trim();
    let status = TenantStatus::parse(status.trim());
    let plan = plan.trim();
    let plan = if plan == "trial" || state.settings.plans.contains_key(plan) {
        plan
    } else {
        ""
    };
    let page = page.max(1);
    let (rows, total) =
        db::admin::search(&state.pool, q, status, plan, (page - 1) * PAGE, PAGE).await?;
    let mut plans = vec![("trial".to_string(), "Free trial".to_string())];
    let mut configured: Vec<_> = state.settings.plans.iter().collect();
    configured.sort_by_key(|(_, p)| p.price_cents);
    plans.extend(
        configured
            .into_iter()
            .map(|(id, p)| (id.clone(), p.name.clone())),
    );
    Ok(AdminTenantsView {
        tenants: rows.into_iter().map(|r| row(state, r)).collect(),
        total,
        page,
        pages: ((total + PAGE - 1) / PAGE).max(1),
        query: q.to_string(),
        status: status.map_or("", TenantStatus::as_str).to_string(),
        plan: plan.to_string(),
        plans,
    })
}

pub async fn tenant(state: &AppState, id: Uuid) -> anyhow::Result<Option<AdminTenantDetail>> {
    let tenant = TenantId(id);
    let Some(t) = db::admin::tenant(&state.pool, tenant).await? else {
        return Ok(None);
    };
    let suspensions = db::suspensions::history(&state.pool, tenant)
        .await?
        .into_iter()
        .map(|s| AdminSuspension {
            category: s.category,
            reason: s.reason,
            actor: s.actor,
            created: when(s.created_at),
            lifted: s.lifted_at.map(when),
            lifted_by: s.lifted_by,
        })
        .collect();
    let audit = db::audit::for_tenant(&state.pool, tenant, 100)
        .await?
        .into_iter()
        .map(|a| audit_entry(a, true))
        .collect();
    let subscription = db::admin::subscriptions(&state.pool, tenant)
        .await?
        .into_iter()
        .next()
        .map(|s| AdminSubscription {
            plan: plan_name(state, s.plan_id.as_deref()),
            id: s.id,
            status: s.status.to_string(),
            period_end: s.current_period_end.map(when),
            cancel_at_period_end: s.cancel_at_period_end,
        });
    let ledger = db::admin::ledger(&state.pool, tenant, 100)
        .await?
        .into_iter()
        .map(|l| AdminLedgerEntry {
            id: l.id,
            refundable: refundable(&l) && l.refunded_by.is_none(),
            amount: format_money(l.amount_cents, &l.currency),
            kind: l.kind.to_string(),
            description: l.description,
            occurred: when(l.occurred_at),
            refunded_by: l.refunded_by,
        })
        .collect();
    let notes = db::admin::notes(&state.pool, tenant)
        .await?
        .into_iter()
        .map(|n| AdminNote {
            at: when(n.created_at),
            author: n.author,
            body: n.body,
        })
        .collect();
    let complaints = db::delivery::complaints_for(&state.pool, tenant, 100)
        .await?
        .into_iter()
        .map(|c| AdminComplaint {
            at: when(c.received_at),
            inbox: c
                .inbox_address
                .or(c.original_mail_from)
                .unwrap_or_else(|| "—".into()),
            recipient: c.recipient.unwrap_or_default(),
            reporter: c.reporter.unwrap_or_default(),
            counted: c.counted,
            note: match c.refused.as_deref() {
                None => String::new(),
                Some("repeat") => "not counted: this message was already counted".into(),
                Some(_) => "not counted: names no message our relay delivered (forged?)".into(),
            },
        })
        .collect();
    Ok(Some(AdminTenantDetail {
        trial_ends: when(t.trial_ends_at),
        tenant: row(state, t),
        members: db::admin::members(&state.pool, tenant).await?,
        domain_names: db::admin::domains(&state.pool, tenant).await?,
        inbox_counts: db::admin::inbox_counts(&state.pool, tenant).await?,
        subscription,
        ledger,
        notes,
        suspensions,
        deliverability_7d: crate::server::services::deliverability::tenant_week(state, tenant)
            .await?,
        complaints,
        audit,
        sandbox: state.stripe_sandbox.is_some(),
    }))
}

/// A charge paid through a payment intent (domain purchases): one the provider can refund.
/// A charge or a paid subscription invoice (staff find its payment at the provider).
fn refundable(l: &db::admin::LedgerRow) -> bool {
    l.amount_cents > Cents::ZERO
        && l.kind != LedgerKind::Refund
        && (l.payment_intent_id.is_some() || l.invoice_id.is_some())
}

/// One trail row for display. `staff_view` shows staff identities and IPs; the customer's
/// Activity page sees "InboxGrove staff" and no staff IP.
fn audit_entry(a: db::audit::AuditRow, staff_view: bool) -> AdminAuditEntry {
    let tenant = a.tenant_id.filter(|_| staff_view).map(|id| {
        let name = a.tenant_name.clone().unwrap_or_else(|| "(deleted)".into());
        (id.to_string(), name)
    });
    let hide = !staff_view && a.actor_kind == ActorKind::Staff;
    let actor = match (a.actor_kind.as_str(), a.actor_label.as_str()) {
        _ if hide => "InboxGrove staff".to_string(),
        (kind, "") => kind.to_string(),
        (kind, label) => format!("{kind}: {label}"),
    };
    let detail = match (&a.before, &a.after) {
        (Some(b), Some(after)) => format!("{b} → {after}"),
        (None, Some(after)) => after.to_string(),
        (Some(b), None) => b.to_string(),
        (None, None) => String::new(),
    };
    AdminAuditEntry {
        id: a.id,
        at: a.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        actor,
        tenant,
        ip: if hide {
            String::new()
        } else {
            a.ip.unwrap_or_default()
        },
        action: a.action,
        target: a.target,
        detail,
    }
}

/// Staff: the trail across tenants, filtered by actor kind, action prefix and tenant.
pub async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    tenant: &str,
    before: Option<i64>,
) -> anyhow::Result<AuditView> {
    let actor = ActorKind::parse(actor.trim()).map_or("", ActorKind::as_str);
    let tenant_id = Uuid::parse_str(tenant.trim()).ok();
    let rows = db::audit::search(
        &state.pool,
        &db::audit::Filter {
            tenant: tenant_id,
            actor_kind: actor.to_string(),
            action: action.trim().to_string(),
            before_id: before,
            limit: TRAIL_PAGE,
            customer_view: false,
        },
    )
    .await?;
    let next = (rows.len() as i64 == TRAIL_PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(AuditView {
        entries: rows.into_iter().map(|r| audit_entry(r, true)).collect(),
        next,
        actor: actor.to_string(),
        action: action.trim().to_string(),
        tenant: tenant_id.map(|t| t.to_string()).unwrap_or_default(),
    })
}

/// A customer's own trail (the Activity page): their tenant only, staff-internal rows left out.
pub async fn activity(
    state: &AppState,
    ctx: &TenantCtx,
    action: &str,
    before: Option<i64>,
) -> anyhow::Result<AuditView> {
    activity_page(state, ctx, action, before, TRAIL_PAGE).await
}

/// [`activity`] with the page size chosen (the public API's `limit`).
pub async fn activity_page(
    state: &AppState,
    ctx: &TenantCtx,
    action: &str,
    before: Option<i64>,
    limit: i64,
) -> anyhow::Result<AuditView> {
    let mut tx = ctx.begin(state).await?;
    let rows = db::audit::search(
        &mut *tx,
        &db::audit::Filter {
            tenant: Some(ctx.tenant_id().0),
            actor_kind: String::new(),
            action: action.trim().to_string(),
            before_id: before,
            limit,
            customer_view: true,
        },
    )
    .await?;
    tx.commit().await.context("reading the activity")?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(AuditView {
        entries: rows.into_iter().map(|r| audit_entry(r, false)).collect(),
        next,
        actor: String::new(),
        action: action.trim().to_string(),
        tenant: String::new(),
    })
}

/// `value` trimmed, when it has 1 to `max` characters; else `message` on `field`.
fn required<'a>(
    field: &'static str,
    value: &'a str,
    max: usize,
    message: &str,
) -> Result<&'a str, AdminError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AdminError::Invalid(field, message.into()));
    }
    Ok(value)
}

async fn tenant_name(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
) -> Result<(String, Option<String>), AdminError> {
    db::admin::name_and_plan(conn, tenant)
        .await?
        .ok_or(AdminError::NotFound)
}

/// Moves the trial end `days` (1–90) past the later of now and the current end.
pub async fn extend_trial(
    state: &AppState,
    actor: &Actor,
    tenant: TenantId,
    days: i32,
) -> Result<String, AdminError> {
    if !(1..=90).contains(&days) {
        return Err(AdminError::Invalid(
            "days",
            "Extend by 1 to 90 days.".into(),
        ));
    }
    let mut tx = state.pool.begin().await.context("starting")?;
    let (name, plan) = tenant_name(&mut tx, tenant).await?;
    if plan.is_some() {
        return Err(AdminError::Refused(format!(
            "{name} pays for a plan: there is no InboxGrove trial to extend."
        )));
    }
    let (old, new) = db::admin::extend_trial(&mut tx, tenant, days)
        .await?
        .ok_or(AdminError::NotFound)?;
    db::audit::tenant(
        &mut *tx,
        actor,
        tenant,
        db::audit::TenantAction::TrialExtend,
        &format!("tenant:{}", tenant.0),
        Change::from_to(
            json!({ "trial_ends_at": old }),
            json!({ "trial_ends_at": new, "days": days }),
        ),
    )
    .await?;
    tx.commit().await.context("extending the trial")?;
    Ok(when(new))
}

/// Refunds one charge of the ledger — a one-time charge or a paid subscription invoice — in
/// full or in part (`amount`, in the entry's currency, blank for all of it), through the
/// payments provider, at most once per entry (a row per refunded entry, and the provider's
/// idempotency key per entry), with a reason. The refund reaches the ledger through the
/// provider's `charge.refunded` event, like every refund.
pub async fn refund(
    state: &AppState,
    actor: &Actor,
    tenant: TenantId,
    entry_id: i64,
    amount: &str,
    reason: &str,
) -> Result<String, AdminError> {
    let reason = required("reason", reason, 500, "Say why, in 1 to 500 characters.")?;
    let mut tx = state.pool.begin().await.context("starting")?;
    let entry = db::admin::ledger_entry_for_refund(&mut tx, tenant, entry_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if !refundable(&entry) {
        return Err(AdminError::Refused(
            "Only a charge or a paid subscription invoice can be refunded.".into(),
        ));
    }
    let cents = match amount.trim() {
        "" => None,
        raw => Some(
            crate::domain::money::parse_amount(raw)
                .filter(|c| *c > Cents::ZERO && *c <= entry.amount_cents)
                .ok_or_else(|| {
                    AdminError::Invalid(
                        "amount",
                        format!(
                            "Give an amount above 0 and at most {}, like 12.50 (blank refunds it all).",
                            format_money(entry.amount_cents, &entry.currency)
                        ),
                    )
                })?,
        ),
    };
    // Subscription invoices name their PaymentIntent only at the provider.
    let payment_intent_id = match (&entry.payment_intent_id, &entry.invoice_id) {
        (Some(pi), _) => pi.clone(),
        (None, Some(invoice)) => state
            .payments
            .invoice_payment(invoice)
            .await
            .map_err(|e| AdminError::Upstream(e.to_string()))?
            .ok_or_else(|| {
                AdminError::Refused("The provider has no payment for this invoice.".into())
            })?,
        (None, None) => {
            return Err(AdminError::Refused(
                "This entry has no payment to refund.".into(),
            ));
        }
    };
    let refunded = cents.unwrap_or(entry.amount_cents);
    if !db::admin::claim_refund(&mut tx, &entry, tenant, refunded, &actor.describe(), reason)
        .await?
    {
        return Err(AdminError::Refused(
            "This charge was already refunded.".into(),
        ));
    }
    let outcome = state
        .payments
        .refund(&RefundRequest {
            payment_intent_id,
            amount_cents: cents.map(|c| c.0),
            reason: RefundReason::RequestedByCustomer,
            idempotency_key: format!("ig:admin-refund:{}", entry.id),
        })
        .await
        .map_err(RefundError::from);
    let refund = match outcome {
        Ok(r) => r,
        Err(RefundError::Unexpected(e)) => return Err(e.into()),
        // Refused, already refunded or unavailable: the message says which, safe for staff.
        Err(e) => return Err(AdminError::Upstream(e.to_string())),
    };
    db::admin::set_refund_id(&mut tx, entry.id, &refund.id).await?;
    let amount = format_money(Cents(refund.amount_cents), &refund.currency);
    db::audit::billing(
        &mut *tx,
        actor,
        tenant,
        db::audit::BillingAction::Refund,
        &format!("ledger:{}", entry.id),
        Change::from_to(
            json!({ "charged_cents": entry.amount_cents, "description": entry.description }),
            json!({
                "refund": refund.id,
                "amount_cents": refund.amount_cents,
                "currency": refund.currency,
                "partial": cents.is_some_and(|c| c < entry.amount_cents),
                "reason": reason,
            }),
        ),
    )
    .await?;
    tx.commit().await.context("recording the refund")?;
    Ok(format!("Refunded {amount}."))
}

/// Staff start viewing `tenant` as its owner: audited once here, then each page viewed by the
/// door.
pub async fn start_view_as(
    state: &AppState,
    actor: &Actor,
    tenant: TenantId,
) -> Result<(), AdminError> {
    let mut tx = state.pool.begin().await.context("starting")?;
    if !db::tenants::exists(&mut *tx, tenant).await? {
        return Err(AdminError::NotFound);
    }
    db::audit::ops(
        &mut *tx,
        actor,
        Some(tenant),
        db::audit::OpsAction::ViewAs,
        &format!("tenant:{}", tenant.0),
        Change::after(json!({ "read_only": true })),
    )
    .await?;
    tx.commit().await.context("recording the view")?;
    Ok(())
}

/// Suspends one domain (staff, with a reason the customer sees): the relay stops signing and
/// accepting mail for it and its inboxes stop authenticating, from the publish this queues.
pub async fn suspend_domain(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> Result<(), AdminError> {
    let reason = required("reason", reason, 500, "Say why, in 1 to 500 characters.")?;
    let mut tx = state.pool.begin().await.context("starting")?;
    let Some((tenant, name)) = db::domains::suspend(&mut tx, id, reason).await? else {
        return Err(AdminError::Refused(
            "Only a domain being set up or active can be suspended (this one is not, or is already suspended)."
                .into(),
        ));
    };
    let change = Change::after(json!({ "name": name, "reason": reason }));
    publish_domain_change(
        state,
        tx,
        actor,
        TenantId(tenant),
        id,
        DomainAction::Suspend,
        change,
    )
    .await
}

/// Lifts a domain's suspension: it returns to the status it had, and the relay publishes it.
pub async fn resume_domain(state: &AppState, actor: &Actor, id: Uuid) -> Result<(), AdminError> {
    let mut tx = state.pool.begin().await.context("starting")?;
    let Some((tenant, name, status)) = db::domains::resume(&mut tx, id).await? else {
        return Err(AdminError::Refused("This domain is not suspended.".into()));
    };
    let change = Change::after(json!({ "name": name, "status": status }));
    publish_domain_change(
        state,
        tx,
        actor,
        TenantId(tenant),
        id,
        DomainAction::Resume,
        change,
    )
    .await
}

/// A staff change to one domain: the relay's publish queued, the audit row written, both
/// committed with the change.
async fn publish_domain_change(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    actor: &Actor,
    tenant: TenantId,
    id: Uuid,
    action: DomainAction,
    change: Change,
) -> Result<(), AdminError> {
    crate::server::services::inboxes::relay::request_in(
        &mut tx,
        &state.settings,
        tenant,
        chrono::Duration::zero(),
    )
    .await?;
    db::audit::domain(&mut *tx, actor, tenant, action, id, change).await?;
    tx.commit().await.context("changing the domain")?;
    state.jobs.wake();
    Ok(())
}

/// Bounces everything the tenant has queued at the relay (irreversible): `confirm` must be
/// the tenant's name, typed.
pub async fn purge_queues(
    state: &AppState,
    actor: &Actor,
    tenant: TenantId,
    confirm: &str,
) -> Result<String, AdminError> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let (name, _) = tenant_name(&mut conn, tenant).await?;
    if confirm.trim() != name {
        return Err(AdminError::Invalid(
            "confirm",
            format!(
                "Type the tenant's name, “{name}”, to confirm: bounced mail cannot be brought back."
            ),
        ));
    }
    // The intent is on the trail before the irreversible call, committed on its own: a
    // purge the relay carried out is never missing from the log, even if this process dies
    // or the relay answers with an error after acting.
    let target = format!("tenant:{}", tenant.0);
    db::audit::ops(
        &mut *conn,
        actor,
        Some(tenant),
        db::audit::OpsAction::RelayPurge,
        &target,
        Change::after(json!({ "relay": state.relay.name(), "status": "requested" })),
    )
    .await?;
    let result = state
        .relay
        .bounce_tenant(tenant, &format!("purged by {}", actor.describe()))
        .await;
    let outcome = match &result {
        Ok(bounce) => json!({ "bounce": bounce.0 }),
        Err(e) => json!({ "error": e.to_string() }),
    };
    db::audit::ops(
        &mut *conn,
        actor,
        Some(tenant),
        db::audit::OpsAction::RelayPurgeResult,
        &target,
        Change::after(outcome),
    )
    .await?;
    result.map_err(|e| {
        tracing::warn!(error = ?e, "relay bounce failed");
        AdminError::Upstream(format!(
            "The relay did not accept the purge ({e}); nothing was bounced. Try again."
        ))
    })?;
    Ok(format!("{name}'s queued mail is being bounced."))
}

/// An internal note on the tenant (staff only; never on the customer's Activity page).
pub async fn add_note(
    state: &AppState,
    actor: &Actor,
    tenant: TenantId,
    body: &str,
) -> Result<(), AdminError> {
    let body = required("body", body, 4000, "A note has 1 to 4,000 characters.")?;
    let mut tx = state.pool.begin().await.context("starting")?;
    tenant_name(&mut tx, tenant).await?;
    let id = db::admin::add_note(&mut tx, tenant, &actor.describe(), body).await?;
    db::audit::tenant(
        &mut *tx,
        actor,
        tenant,
        db::audit::TenantAction::Note,
        &format!("note:{id}"),
        Change::after(json!({ "length": body.chars().count() })),
    )
    .await?;
    tx.commit().await.context("saving the note")?;
    Ok(())
}

fn event_row(e: db::admin::EventRow) -> StripeEventRow {
    StripeEventRow {
        id: e.id,
        kind: e.r#type,
        created: when(e.created),
        received: e.received_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        tenant: e.tenant_id.map(|t| t.to_string()),
        outcome: e.outcome,
    }
}

/// The events list; with `selected`, that event's payload (customer data), and a row on
/// the trail saying which staff member looked at it.
pub async fn stripe_events(
    state: &AppState,
    actor: &Actor,
    kind: &str,
    selected: &str,
) -> anyhow::Result<StripeEventsView> {
    let kind = kind.trim();
    let events = db::admin::events(&state.pool, kind, None, 100)
        .await?
        .into_iter()
        .map(event_row)
        .collect();
    let selected = match selected.trim() {
        "" => None,
        id => match db::admin::event(&state.pool, id).await? {
            Some((e, payload)) => {
                db::audit::ops(
                    &state.pool,
                    actor,
                    e.tenant_id.map(TenantId),
                    db::audit::OpsAction::ViewEvent,
                    &format!("stripe_event:{}", e.id),
                    Change::none(),
                )
                .await?;
                Some((
                    event_row(e),
                    serde_json::to_string_pretty(&payload).unwrap_or_default(),
                ))
            }
            None => None,
        },
    };
    Ok(StripeEventsView {
        events,
        kind: kind.to_string(),
        selected,
    })
}

/// Applies a stored Stripe event again; its outcome.
pub async fn replay_event(state: &AppState, actor: &Actor, id: &str) -> Result<String, AdminError> {
    let outcome = events::replay(&state.pool, &state.settings, id.trim(), actor)
        .await
        .map_err(|e| match e {
            events::EventError::Malformed(m) => {
                AdminError::Refused(format!("The stored payload cannot be applied: {m}"))
            }
            other => AdminError::Unexpected(anyhow::anyhow!(other)),
        })?
        .ok_or(AdminError::NotFound)?;
    Ok(format!("Replayed: {outcome:?}").to_lowercase())
}

pub async fn jobs(state: &AppState, status: &str) -> anyhow::Result<JobsView> {
    let status = JobStatus::parse(status.trim()).unwrap_or(JobStatus::Failed);
    let jobs = db::admin::jobs(&state.pool, status, 100)
        .await?
        .into_iter()
        .map(|j| JobView {
            id: j.id.to_string(),
            kind: j.kind,
            tenant: j.tenant_id.map(|t| t.0.to_string()),
            attempts: format!("{} of {}", j.attempts, j.max_attempts),
            run_at: when(j.run_at),
            updated: when(j.updated_at),
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(JobsView {
        status: status.as_str().to_string(),
        counts: db::admin::job_counts(&state.pool).await?,
        jobs,
    })
}

/// A failed job runs again now (one more attempt).
pub async fn retry_job(state: &AppState, actor: &Actor, id: &str) -> Result<(), AdminError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| AdminError::NotFound)?;
    let mut tx = state.pool.begin().await.context("starting")?;
    let Some((kind, tenant)) = db::admin::retry_job(&mut tx, id).await? else {
        return Err(AdminError::Refused(
            "Only a failed job can be retried; this one is not failed (any more).".into(),
        ));
    };
    db::audit::ops(
        &mut *tx,
        actor,
        tenant.map(TenantId),
        db::audit::OpsAction::JobRetry,
        &format!("job:{id}"),
        Change::from_to(
            json!({ "status": JobStatus::Failed }),
            json!({ "status": JobStatus::Pending, "kind": kind }),
        ),
    )
    .await?;
    tx.commit().await.context("retrying the job")?;
    state.jobs.wake();
    Ok(())
}

pub async fn platform(state: &AppState) -> anyhow::Result<PlatformView> {
    let s = &state.settings;
    let provider = |area: &str, name: &str, real: bool| ProviderView {
        area: area.into(),
        name: name.into(),
        real,
    };
    let providers = vec![
        provider("Payments", state.payments.name(), s.uses_real_stripe()),
        provider(
            "Domain registrar",
            state.registrar.name(),
            s.uses_real_registrar(),
        ),
        provider("DNS", state.dns.name(), s.uses_real_dns()),
        provider("SMTP relay", state.relay.name(), s.uses_real_relay()),
        provider(
            "Email to customers",
            if s.uses_real_smtp() {
                "smtp"
            } else {
                "sandbox"
            },
            s.uses_real_smtp(),
        ),
    ];
    let sandbox_clock = match &state.stripe_sandbox {
        Some(sandbox) => {
            let mut conn = state.pool.acquire().await?;
            let now = sandbox.now(&mut conn).await?;
            let ahead = now - chrono::Utc::now();
            Some(format!(
                "{} ({} days ahead of real time)",
                when(now),
                (ahead.num_hours() as f64 / 24.0).round()
            ))
        }
        None => None,
    };
    Ok(PlatformView {
        providers,
        sandbox_clock,
    })
}

/// Advances the sandbox Stripe clock (renewals, trial ends and failed payments happen) and
/// records it; how many events that produced.
pub async fn advance_clock(
    state: &AppState,
    actor: &Actor,
    days: i64,
) -> Result<usize, AdminError> {
    let sandbox = state.stripe_sandbox.clone().ok_or_else(|| {
        AdminError::Refused(
            "The clock exists only in the sandbox; real Stripe runs on real time.".into(),
        )
    })?;
    if !(1..=400).contains(&days) {
        return Err(AdminError::Invalid(
            "days",
            "Advance by 1 to 400 days.".into(),
        ));
    }
    // Usage so far reaches the meter before the renewals it bills (and is recorded again on
    // the days the clock then skipped); a failure leaves it to the hourly job.
    let usage = || async {
        if let Err(e) = crate::server::services::billing::usage::run(state).await {
            tracing::warn!(error = %format!("{e:#}"), "recording usage around the clock move");
        }
    };
    usage().await;
    // The audit row commits with the clock change or not at all.
    let mut tx = state.pool.begin().await.context("starting")?;
    db::audit::ops(
        &mut *tx,
        actor,
        None,
        db::audit::OpsAction::SandboxClock,
        "sandbox:stripe",
        Change::after(json!({ "days": days })),
    )
    .await?;
    sandbox.advance_in(&mut tx, days).await?;
    tx.commit().await.context("committing the clock")?;
    let produced = sandbox.deliver().await?;
    // Domains that expire by the new date renew now (the workers take the jobs at once).
    crate::server::services::domains::renewal::scan(state).await?;
    usage().await;
    Ok(produced)
}
