//! Domains: search and buy (the purchase saga takes over once paid), bring your own, the list
//! and detail views, re-check, repair and delete.

use anyhow::Context;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::domains::{
    DomainDetail, DomainListItem, DomainsView, RecordView, RenewalLine, RenewalView, SAGA_STEPS,
    SearchResult, SearchView, StepView, status_label, step_label,
};
use crate::domain::tenant::format_money;
use crate::domain::{Cents, DomainKind, DomainName, DomainSearch, DomainStatus, StepStatus};
use crate::server::auth::end_read;
use crate::server::auth::guard::TenantCtx;
use crate::server::db;
use crate::server::db::Constraint;
use crate::server::db::audit::{Actor, Change};
use crate::server::db::domains::{DomainRow, NewDomain, RecordRow};
use crate::server::dns::expected::normalize_name;
use crate::server::dns::{DnsCheckError, ExpectedRecord, RecordPurpose};
use crate::server::providers::dns::{DnsError, DnsRecord, RecordType};
use crate::server::providers::payments::{CheckoutMode, CheckoutRequest};
use crate::server::providers::registrar::RegistrarError;
use crate::server::services::billing::{self, BillingError, access};
use crate::server::services::inboxes::relay;
use crate::server::state::AppState;

pub mod health;
pub mod renewal;
pub mod saga;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The typed name is not a valid domain name; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error("Only owners and admins can buy, connect or remove domains.")]
    NotManager,
    #[error("Not found.")]
    NotFound,
    /// Cannot be done in the domain's current state, or the name is not to be had.
    #[error("{0}")]
    Refused(String),
    /// The plan's domain limit or the trial cap.
    #[error(transparent)]
    Limit(access::LimitError),
    #[error("The registrar could not answer: {0}")]
    Registrar(#[from] RegistrarError),
    #[error("The DNS provider could not answer: {0}")]
    Dns(#[from] DnsError),
    #[error("The DNS check could not finish ({0}). Please try again in a minute.")]
    Lookup(#[from] DnsCheckError),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(DomainError);

impl From<access::MayAddError> for DomainError {
    fn from(e: access::MayAddError) -> Self {
        match e {
            access::MayAddError::Refused(l) => Self::Limit(l),
            access::MayAddError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<health::CheckError> for DomainError {
    fn from(e: health::CheckError) -> Self {
        match e {
            health::CheckError::NotReady => {
                Self::Refused("The domain's records are not created yet.".into())
            }
            health::CheckError::Lookup(e) => Self::Lookup(e),
            health::CheckError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

fn manager(ctx: &TenantCtx) -> Result<(), DomainError> {
    ctx.require_manager().map_err(|_| DomainError::NotManager)
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The customer's price for a name whose registrar cost is `cost_cents`.
pub fn price_cents(state: &AppState, cost_cents: Cents) -> Cents {
    Cents(
        cost_cents.0 * i64::from(state.settings.registrar.years)
            + state.settings.registrar.margin_cents.0,
    )
}

/// Availability and price of a name, or of a keyword with each configured extension, and
/// whether the plan lets the tenant buy one more domain at all.
pub async fn search(
    state: &AppState,
    ctx: &TenantCtx,
    query: &str,
) -> Result<SearchView, DomainError> {
    let search = DomainSearch::parse(query).map_err(DomainError::Invalid)?;
    let candidates = search.candidates(&state.settings.registrar.tlds);
    let names: Vec<String> = candidates.iter().map(|n| n.as_str().to_string()).collect();
    // Cached per name for a few minutes: searches must not spend the registrar's quota.
    let found = state
        .search_cache
        .check(state.registrar.as_ref(), &names)
        .await?;
    let results = candidates
        .iter()
        .map(|name| {
            let a = found
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name.as_str()));
            let (available, note, price) = match a {
                None => (
                    false,
                    Some("This extension is not offered.".to_string()),
                    None,
                ),
                Some(a) if a.premium => (
                    false,
                    Some("Premium name: not sold through InboxGrove.".into()),
                    None,
                ),
                Some(a) if !a.available => (false, Some("Taken".into()), None),
                Some(a) => match a.cost_cents {
                    Some(cost) => (
                        true,
                        None,
                        Some(format_money(price_cents(state, cost), &a.currency)),
                    ),
                    None => (false, Some("No price for this extension.".into()), None),
                },
            };
            SearchResult {
                name: name.as_str().to_string(),
                display: name.display(),
                available,
                price,
                note,
            }
        })
        .collect();
    let mut tx = state.pool.begin().await.context("starting")?;
    let limit = match access::may_add(&mut tx, &state.settings, ctx, 1, 0).await {
        Ok(()) => None,
        Err(access::MayAddError::Refused(l)) => Some(l.to_string()),
        Err(access::MayAddError::Unexpected(e)) => return Err(e.into()),
    };
    tx.rollback().await.context("ending the limit check")?;
    Ok(SearchView { results, limit })
}

/// Starts buying `name`: checks the price with the registrar (never the browser's), the plan's
/// limit, reserves the name as `pending_payment` and opens a one-time Checkout. Returns the
/// Checkout URL. A second click within 30 minutes gets the same Checkout.
pub async fn buy(
    state: &AppState,
    ctx: &TenantCtx,
    name: &str,
    actor: &Actor,
) -> Result<String, DomainError> {
    manager(ctx)?;
    let name = DomainName::parse(name).map_err(DomainError::Invalid)?;
    // The cheap checks first (a second click reopens its Checkout; a name that cannot be the
    // tenant's, or a full plan, costs no registrar call). `reserve` checks again under lock.
    let mut tx = state.pool.begin().await.context("starting")?;
    if let Some(url) = db::domains::open_checkout(&mut tx, ctx.tenant_id(), name.as_str()).await? {
        return Ok(url);
    }
    admissible(&mut tx, state, ctx, &name).await?;
    tx.commit().await.context("checking the name")?;
    let a = state
        .registrar
        .check(&[name.as_str().to_string()])
        .await?
        .into_iter()
        .next();
    let (cost, currency) = match a {
        Some(a) if a.available && !a.premium && a.cost_cents.is_some() => {
            (a.cost_cents.unwrap_or_default(), a.currency)
        }
        _ => {
            return Err(DomainError::Refused(format!(
                "{} is not available. Try another name.",
                name.display()
            )));
        }
    };
    let price = price_cents(state, cost);
    let tenant = ctx.tenant_id();
    let customer_id = billing::ensure_customer(state, ctx).await?;
    let mut tx = state.pool.begin().await.context("starting")?;
    if let Some(url) = db::domains::open_checkout(&mut tx, tenant, name.as_str()).await? {
        return Ok(url);
    }
    let id = Uuid::new_v4();
    let purchase = Uuid::new_v4();
    reserve(
        &mut tx,
        state,
        ctx,
        &name,
        &NewDomain {
            id,
            name: name.as_str(),
            status: DomainStatus::PendingPayment,
            kind: DomainKind::Purchased,
            managed: true,
            purchase_id: Some(purchase),
            price_cents: Some(price),
            currency: Some(&currency),
            zone_id: None,
        },
    )
    .await?;
    let base = state.settings.server.public_url.trim_end_matches('/');
    let session = state
        .payments
        .create_checkout(&CheckoutRequest {
            tenant_id: tenant.0,
            customer_id,
            mode: CheckoutMode::Payment {
                amount_cents: price.0,
                currency: currency.clone(),
                description: format!(
                    "{} — registration for {} and DNS set-up",
                    name.display(),
                    years(state.settings.registrar.years)
                ),
                purchase_id: purchase,
            },
            success_url: format!("{base}/domains/{id}?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: format!("{base}/domains?canceled={id}"),
            idempotency_key: format!("ig:checkout:domain:{purchase}"),
        })
        .await
        .map_err(BillingError::from)?;
    db::billing::insert_checkout(
        &mut tx,
        ctx,
        &db::billing::NewCheckout {
            id: &session.id,
            mode: "payment",
            plan_id: None,
            purchase_id: Some(purchase),
            url: &session.url,
        },
    )
    .await?;
    db::audit::domain(
        &mut *tx,
        actor,
        tenant,
        db::audit::DomainAction::Purchase,
        id,
        Change::after(serde_json::json!({
            "name": name.as_str(),
            "price_cents": price,
            "currency": currency,
            "checkout": session.id,
        })),
    )
    .await?;
    tx.commit().await.context("recording the purchase")?;
    state.search_cache.forget(name.as_str());
    Ok(session.url)
}

fn years(n: u32) -> String {
    if n == 1 {
        "1 year".into()
    } else {
        format!("{n} years")
    }
}

/// Whether the tenant may take `name` now, inside `tx`: frees abandoned purchases, then checks
/// that the name is not theirs already, not registered through us by someone else, not held
/// by another account, and that the plan's limit allows one more (the tenant row stays locked
/// until `tx` ends). Only database reads: run it before any provider call or key generation.
async fn admissible(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    ctx: &TenantCtx,
    name: &DomainName,
) -> Result<(), DomainError> {
    db::domains::release_abandoned(tx, state.settings.domains.pending_payment_ttl_secs).await?;
    if db::domains::tenant_has_name(tx, ctx.tenant_id(), name.as_str()).await? {
        return Err(DomainError::Refused(format!(
            "{} is already in your domains.",
            name.display()
        )));
    }
    // A name bought here is its buyer's until the registration ends, even once removed.
    if db::domains::registered_to(tx, name.as_str())
        .await?
        .is_some_and(|owner| owner != ctx.tenant_id())
    {
        return Err(DomainError::Refused(format!(
            "{} was bought through InboxGrove by another account and stays theirs until its registration ends.",
            name.display()
        )));
    }
    // An unverified claim by someone else does not count: only control of the DNS does.
    if db::domains::name_held(tx, name.as_str(), None).await? {
        return Err(DomainError::Refused(format!(
            "{} is already on InboxGrove.",
            name.display()
        )));
    }
    access::may_add(tx, &state.settings, ctx, 1, 0).await?;
    Ok(())
}

/// Takes the name for the tenant inside `tx`: [`admissible`], then inserts the domain.
async fn reserve(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    ctx: &TenantCtx,
    name: &DomainName,
    domain: &NewDomain<'_>,
) -> Result<(), DomainError> {
    admissible(tx, state, ctx, name).await?;
    db::domains::insert(tx, ctx.tenant_id(), domain)
        .await
        .map_err(|e| {
            if e.violated(&Constraint::DomainsLiveName) {
                DomainError::Refused(format!("{} is already on InboxGrove.", name.display()))
            } else {
                e.into()
            }
        })
}

/// Connects a domain the customer already owns: its DKIM key is made and the exact records to
/// create are stored (unchecked). If the zone is in our DNS account the records can be
/// created for the customer. Returns the new domain's id.
pub async fn add_own(
    state: &AppState,
    ctx: &TenantCtx,
    name: &str,
    actor: &Actor,
) -> Result<Uuid, DomainError> {
    manager(ctx)?;
    let name = DomainName::parse(name).map_err(DomainError::Invalid)?;
    // The cheap checks first: a refused name costs no DNS provider call and no RSA key.
    // `reserve` checks again under the tenant's lock.
    let mut tx = state.pool.begin().await.context("starting")?;
    admissible(&mut tx, state, ctx, &name).await?;
    tx.commit().await.context("checking the name")?;
    let zone = state.dns.find_zone(name.as_str()).await?;
    let id = Uuid::new_v4();
    let key = state.keygen.generate().await.context("generating DKIM")?;
    let public = key.public_key_b64().context("encoding DKIM")?;
    let sealed = key
        .encrypt_with(&state.secrets, id)
        .context("sealing DKIM")?;
    let tenant = ctx.tenant_id();
    let mut tx = state.pool.begin().await.context("starting")?;
    reserve(
        &mut tx,
        state,
        ctx,
        &name,
        &NewDomain {
            id,
            name: name.as_str(),
            status: DomainStatus::Verifying,
            kind: DomainKind::Byod,
            managed: zone.is_some(),
            purchase_id: None,
            price_cents: None,
            currency: None,
            zone_id: zone.as_ref().map(|z| z.id.as_str()),
        },
    )
    .await?;
    if let Some(z) = &zone {
        db::domains::set_zone(&mut tx, tenant, id, &z.id, &z.nameservers).await?;
    }
    db::domains::set_dkim_once(
        &mut tx,
        tenant,
        id,
        &state.settings.dns.dkim_selector,
        &public,
        &sealed,
    )
    .await?;
    let row = db::domains::get(&mut tx, tenant, id)
        .await?
        .context("the new domain")?;
    let expected = health::expected_for(state, &row).context("expected records")?;
    db::domains::store_records(
        &mut tx,
        tenant,
        id,
        &health::unchecked_rows(&expected),
        false,
    )
    .await?;
    db::audit::domain(
        &mut *tx,
        actor,
        tenant,
        db::audit::DomainAction::Connect,
        id,
        Change::after(serde_json::json!({ "name": name.as_str(), "managed": zone.is_some() })),
    )
    .await?;
    tx.commit().await.context("connecting the domain")?;
    Ok(id)
}

async fn load(state: &AppState, ctx: &TenantCtx, id: Uuid) -> Result<DomainRow, DomainError> {
    let mut tx = ctx.begin(state).await?;
    let row = db::domains::get(&mut tx, ctx.tenant_id(), id).await?;
    end_read(tx);
    row.filter(|d| d.status != DomainStatus::Deleted)
        .ok_or(DomainError::NotFound)
}

pub async fn list(state: &AppState, ctx: &TenantCtx) -> Result<DomainsView, DomainError> {
    let mut tx = ctx.begin(state).await?;
    let rows = db::domains::list(&mut tx, ctx.tenant_id()).await?;
    end_read(tx);
    let domains = rows
        .into_iter()
        .map(|l| {
            let d = l.domain;
            DomainListItem {
                id: d.id.to_string(),
                name: health::display(&d.name),
                status_label: status_label(d.status.as_str()).into(),
                health_label: health_label(&d, l.records_ok, l.records_total),
                health: d.health.clone(),
                expires: d.expires_at.map(day),
                byod: d.kind == DomainKind::Byod,
                status: d.status.as_str().into(),
            }
        })
        .collect();
    Ok(DomainsView {
        domains,
        can_manage: ctx.role().can_manage(),
        tlds: state.settings.registrar.tlds.clone(),
    })
}

fn health_label(d: &DomainRow, ok: i64, total: i64) -> String {
    if total == 0 || d.last_checked_at.is_none() {
        return "Not checked yet".into();
    }
    format!("{ok} of {total} records OK")
}

pub async fn detail(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<DomainDetail, DomainError> {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.begin(state).await?;
    let d = db::domains::get(&mut tx, tenant, id)
        .await?
        .filter(|d| d.status != DomainStatus::Deleted)
        .ok_or(DomainError::NotFound)?;
    let steps = db::domains::steps(&mut tx, tenant, id).await?;
    let records = db::domains::records(&mut tx, tenant, id).await?;
    let (score, listings) = db::deliverability::domain_extras(&mut tx, tenant, id).await?;
    let lead = state.settings.domains.renew_days_before;
    let renewal = if d.kind == DomainKind::Purchased && d.expires_at.is_some() {
        let settings = db::renewals::settings(&mut tx, tenant, id).await?;
        let history = db::renewals::history(&mut tx, tenant, id).await?;
        settings.map(|(auto_renew, state, note)| {
            renewal_view(state, auto_renew, note, &d, &history, lead)
        })
    } else {
        None
    };
    end_read(tx);
    let step = |name: &str| steps.iter().find(|s| s.step == name);
    let step_views: Vec<StepView> = if d.kind == DomainKind::Purchased {
        SAGA_STEPS
            .iter()
            .map(|(s, _)| *s)
            .chain(step("refund").map(|_| "refund"))
            .map(|s| match step(s) {
                Some(r) => StepView {
                    step: s.into(),
                    label: step_label(s).into(),
                    status: r.status.as_str().into(),
                    attempts: r.attempts,
                    started: Some(r.started_at.format("%H:%M:%S").to_string()),
                    took: r.finished_at.map(|f| {
                        let ms = (f - r.started_at).num_milliseconds().max(0);
                        format!("{:.2} s", ms as f64 / 1000.0)
                    }),
                    error: r.error.clone(),
                },
                None => StepView {
                    step: s.into(),
                    label: step_label(s).into(),
                    status: "pending".into(),
                    attempts: 0,
                    started: None,
                    took: None,
                    error: None,
                },
            })
            .collect()
    } else {
        vec![]
    };
    let refund_step = step("refund");
    let refunding = refund_step.is_some_and(|r| r.status == StepStatus::Running)
        || (d.status == DomainStatus::Failed && d.purchase_id.is_some() && refund_step.is_none());
    let verify_running = step("verify").is_none_or(|v| v.status == StepStatus::Running);
    let in_progress = matches!(
        d.status,
        DomainStatus::PendingPayment | DomainStatus::Registering | DomainStatus::ConfiguringDns
    ) || (d.status == DomainStatus::Verifying
        && d.kind == DomainKind::Purchased
        && verify_running)
        || refunding;
    let price = d
        .price_cents
        .zip(d.currency.as_deref())
        .map(|(c, cur)| format_money(c, cur));
    let refund = refund_step.map(|r| match (r.status, &price) {
        (StepStatus::Done, Some(p)) => format!("Refunded {p} to your card."),
        (StepStatus::Done, None) => "Refunded.".into(),
        (StepStatus::Failed, _) => format!(
            "The refund has not gone through yet ({}). We keep trying.",
            r.error.as_deref().unwrap_or("no answer")
        ),
        _ => "Refunding your payment…".into(),
    });
    Ok(DomainDetail {
        id: d.id.to_string(),
        name: health::display(&d.name),
        status_label: status_label(d.status.as_str()).into(),
        byod: d.kind == DomainKind::Byod,
        managed: d.managed && d.zone_id.is_some(),
        health: d.health.clone(),
        failure_reason: d.failure_reason.clone(),
        suspension: d
            .suspension_reason
            .clone()
            .filter(|_| d.status == DomainStatus::Suspended),
        price,
        expires: d.expires_at.map(day),
        nameservers: d.nameservers.clone(),
        last_checked: d
            .last_checked_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        steps: step_views,
        records: records.iter().map(record_view).collect(),
        in_progress,
        can_manage: ctx.role().can_manage(),
        refund,
        status: d.status.as_str().into(),
        score: score.map(|(score, level)| {
            (
                u8::try_from(score).unwrap_or(0),
                crate::domain::deliverability::HealthLevel::parse(&level),
            )
        }),
        listings: listings
            .into_iter()
            .map(|(list, zone, since)| {
                format!(
                    "Listed on {list} ({zone}) since {}",
                    since.format("%Y-%m-%d %H:%M UTC")
                )
            })
            .collect(),
        renewal,
    })
}

fn renewal_view(
    state: String,
    auto_renew: bool,
    note: Option<String>,
    d: &DomainRow,
    history: &[db::renewals::RenewalRow],
    lead_days: i64,
) -> RenewalView {
    RenewalView {
        auto_renew,
        next: d
            .expires_at
            .filter(|_| auto_renew)
            .map(|e| day(e - chrono::Duration::days(lead_days))),
        note: (state != "ok").then_some(note).flatten(),
        state,
        history: history
            .iter()
            .map(|r| RenewalLine {
                period: match r.expires_to {
                    Some(to) => format!("{} → {}", day(r.expires_from), day(to)),
                    None => format!("from {}", day(r.expires_from)),
                },
                amount: format_money(r.amount_cents, &r.currency),
                status: r.status.clone(),
                note: r.last_error.clone().filter(|_| r.status != "renewed"),
            })
            .collect(),
    }
}

/// Switches a bought domain's auto-renew (owners and admins), audited.
pub async fn set_auto_renew(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    on: bool,
    actor: &Actor,
) -> Result<(), DomainError> {
    manager(ctx)?;
    let mut tx = ctx.begin(state).await?;
    let d = db::domains::get(&mut tx, ctx.tenant_id(), id)
        .await?
        .filter(|d| d.status != DomainStatus::Deleted)
        .ok_or(DomainError::NotFound)?;
    if !db::renewals::set_auto_renew(&mut tx, ctx.tenant_id(), id, on).await? {
        return Err(DomainError::Refused(format!(
            "{} is not a domain bought through InboxGrove: its renewal is with its registrar.",
            health::display(&d.name)
        )));
    }
    // Turned (back) on: a domain marked expiring only because it was off is fine again, and
    // a renewal of this expiry that gave up (a declined card since fixed) is tried again now.
    let mut retried = false;
    if on {
        let (_, renewal_state, note) = db::renewals::settings(&mut tx, ctx.tenant_id(), id)
            .await?
            .unwrap_or_default();
        if renewal_state == "expiring" && note.as_deref() == Some("Auto-renew is off.") {
            db::renewals::set_state(&mut tx, ctx.tenant_id(), id, "ok", None).await?;
        }
        if let Some(expires) = d.expires_at {
            retried = renewal::retry_in(&mut tx, state, ctx.tenant_id(), id, expires).await?;
        }
    }
    db::audit::domain(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        db::audit::DomainAction::AutoRenew,
        id,
        Change::after(serde_json::json!({ "name": d.name, "auto_renew": on })),
    )
    .await?;
    tx.commit().await.context("switching auto-renew")?;
    if retried {
        state.jobs.wake();
    }
    Ok(())
}

/// Deletes from `d`'s zone the records we wrote for it, if the zone is in our DNS account and
/// the tenant may write there. Returns how many went.
async fn remove_our_records(
    state: &AppState,
    ctx: &TenantCtx,
    d: &DomainRow,
) -> Result<usize, DomainError> {
    let (Some(zone), true) = (d.zone_id.as_deref(), d.managed) else {
        return Ok(0);
    };
    let Some(expected) = health::expected_for(state, d) else {
        return Ok(0);
    };
    if !may_write_zone(state, ctx, d).await? {
        return Ok(0);
    }
    let existing = state.dns.list_records(zone).await?;
    let mut removed = 0;
    for r in ours(&existing, &expected) {
        if let Some(record_id) = &r.id {
            state.dns.delete_record(zone, record_id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn record_view(r: &RecordRow) -> RecordView {
    let purpose = match r.purpose.as_str() {
        "mx" => RecordPurpose::Mx,
        "spf" => RecordPurpose::Spf,
        "dkim" => RecordPurpose::Dkim,
        "dmarc" => RecordPurpose::Dmarc,
        _ => RecordPurpose::Tracking,
    };
    RecordView {
        purpose: purpose.label().into(),
        kind: r.kind.clone(),
        name: r.name.clone(),
        value: match r.priority {
            Some(p) if r.kind == "MX" => format!("{p} {}", r.content),
            _ => r.content.clone(),
        },
        status: r.status.as_str().into(),
        found: r.found.clone(),
        fix: r.fix.clone(),
    }
}

/// "Re-check now" / "Verify": looks every record up now. A connected domain whose records are
/// all OK becomes active.
pub async fn recheck(state: &AppState, ctx: &TenantCtx, id: Uuid) -> Result<(), DomainError> {
    let d = load(state, ctx, id).await?;
    if !matches!(d.status, DomainStatus::Verifying | DomainStatus::Active) {
        return Err(DomainError::Refused(format!(
            "{} is {}: there is nothing to check yet.",
            health::display(&d.name),
            status_label(d.status.as_str()).to_lowercase()
        )));
    }
    health::check_and_store(state, &d, health::Promote::Yes).await?;
    Ok(())
}

/// "Create the records for me" (own domain in our DNS account) and "Repair" (managed zone):
/// removes records that conflict with the ones we need (a second SPF or DKIM record, a foreign
/// MX), writes ours, and checks again.
pub async fn repair(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    actor: &Actor,
) -> Result<(), DomainError> {
    manager(ctx)?;
    let d = load(state, ctx, id).await?;
    let Some(zone) = d.zone_id.clone().filter(|_| d.managed) else {
        return Err(DomainError::Refused(format!(
            "The DNS of {} is not hosted in our account: create the records shown at your DNS host.",
            health::display(&d.name)
        )));
    };
    if !matches!(d.status, DomainStatus::Verifying | DomainStatus::Active) {
        return Err(DomainError::Refused(format!(
            "{} is still being set up.",
            health::display(&d.name)
        )));
    }
    if !may_write_zone(state, ctx, &d).await? {
        return Err(DomainError::Refused(format!(
            "We only write DNS records for a domain you bought here or have verified: create the records shown for {} at your DNS host, then press Verify.",
            health::display(&d.name)
        )));
    }
    let expected = health::expected_for(state, &d)
        .ok_or_else(|| DomainError::Refused("The domain's records are not created yet.".into()))?;
    let existing = state.dns.list_records(&zone).await?;
    let mut removed = Vec::new();
    for stale in conflicting(&existing, &expected) {
        if let Some(record_id) = &stale.id {
            state.dns.delete_record(&zone, record_id).await?;
            removed.push(format!("{:?} {} {}", stale.kind, stale.name, stale.content));
        }
    }
    saga::write_records(state, &d)
        .await
        .map_err(|f| DomainError::Refused(f.message().to_string()))?;
    health::check_and_store(state, &d, health::Promote::Yes).await?;
    db::audit::domain(
        &state.pool,
        actor,
        ctx.tenant_id(),
        db::audit::DomainAction::Repair,
        id,
        Change::from_to(
            serde_json::json!({ "removed": removed }),
            serde_json::json!({ "name": d.name, "written": expected.len() }),
        ),
    )
    .await?;
    Ok(())
}

/// Whether InboxGrove may write (or remove) records in `d`'s zone for this tenant: the name was
/// registered through us by this tenant and the registration still runs, or — for a name
/// nobody registered through us — the tenant proved control of its DNS (the claim is
/// `active`, which needs the DKIM record of the claim's own key). A zone merely being in our
/// DNS account proves nothing: it may be left over from another account's purchase.
async fn may_write_zone(
    state: &AppState,
    ctx: &TenantCtx,
    d: &DomainRow,
) -> Result<bool, DomainError> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    Ok(
        match db::domains::registered_to(&mut conn, &d.name).await? {
            Some(owner) => owner == ctx.tenant_id(),
            None => d.status == DomainStatus::Active,
        },
    )
}

/// Whether `r` is one of `expected` (same type, name and value; MX also the priority).
fn is_expected(r: &DnsRecord, e: &ExpectedRecord) -> bool {
    if e.record.kind != r.kind || normalize_name(&e.record.name) != normalize_name(&r.name) {
        return false;
    }
    match r.kind {
        RecordType::Mx => {
            normalize_name(&e.record.content) == normalize_name(&r.content)
                && e.record.priority == r.priority
        }
        RecordType::Cname => normalize_name(&e.record.content) == normalize_name(&r.content),
        _ => e.record.content == r.content,
    }
}

/// The records in the zone that are ours: exactly the ones `expected` describes.
pub fn ours<'a>(existing: &'a [DnsRecord], expected: &[ExpectedRecord]) -> Vec<&'a DnsRecord> {
    existing
        .iter()
        .filter(|r| expected.iter().any(|e| is_expected(r, e)))
        .collect()
}

/// Records in the zone that stand in the way of `expected`: at the same name and type but not
/// ours — for SPF only the other `v=spf1` texts at the apex (other TXT records there are the
/// customer's business), for MX the hosts we did not configure.
pub fn conflicting<'a>(
    existing: &'a [DnsRecord],
    expected: &[ExpectedRecord],
) -> Vec<&'a DnsRecord> {
    existing
        .iter()
        .filter(|r| {
            let name = normalize_name(&r.name);
            let same_slot: Vec<&ExpectedRecord> = expected
                .iter()
                .filter(|e| e.record.kind == r.kind && normalize_name(&e.record.name) == name)
                .collect();
            let Some(first) = same_slot.first() else {
                return false;
            };
            if same_slot.iter().any(|e| is_expected(r, e)) {
                return false;
            }
            match (r.kind, first.purpose) {
                (RecordType::Txt, RecordPurpose::Spf) => r
                    .content
                    .trim_start_matches('"')
                    .to_ascii_lowercase()
                    .starts_with("v=spf1"),
                _ => true,
            }
        })
        .collect()
}

/// Removes the domain: our records leave its zone (when we host it and the tenant owns it), it
/// leaves the tenant's domains, its inboxes go, and the relay publish that follows drops its
/// DKIM data and key file. Returns the note to show: a registration runs until it expires.
pub async fn delete(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    actor: &Actor,
) -> Result<String, DomainError> {
    manager(ctx)?;
    let d = load(state, ctx, id).await?;
    let name = health::display(&d.name);
    if matches!(
        d.status,
        DomainStatus::Registering | DomainStatus::ConfiguringDns
    ) || (d.status == DomainStatus::Verifying
        && d.kind == DomainKind::Purchased
        && d.expires_at.is_none())
    {
        return Err(DomainError::Refused(format!(
            "{name} is being set up; remove it once the set-up has finished."
        )));
    }
    let was = d.status;
    // Our records leave the zone first: if the DNS provider fails, nothing is removed yet and
    // the customer can try again; nothing of the domain keeps working once it is gone.
    let records_removed = remove_our_records(state, ctx, &d).await?;
    let mut tx = state.pool.begin().await.context("starting")?;
    if !db::domains::set_status(
        &mut tx,
        ctx.tenant_id(),
        id,
        DomainStatus::Deleted,
        &[was],
        None,
    )
    .await?
    {
        return Err(DomainError::Refused(format!(
            "{name} changed meanwhile; please reload and try again."
        )));
    }
    // Its inboxes go with it, and the relay stops signing and relaying for it.
    let inboxes = db::inboxes::delete_on_domain(&mut tx, ctx.tenant_id(), id).await?;
    relay::request_in(
        &mut tx,
        &state.settings,
        ctx.tenant_id(),
        chrono::Duration::zero(),
    )
    .await?;
    db::audit::domain(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        db::audit::DomainAction::Delete,
        id,
        Change::from_to(
            serde_json::json!({ "name": d.name, "status": was.as_str() }),
            serde_json::json!({
                "status": "deleted",
                "inboxes_removed": inboxes,
                "records_removed": records_removed,
            }),
        ),
    )
    .await?;
    tx.commit().await.context("removing the domain")?;
    state.jobs.wake();
    if inboxes > 0 {
        tracing::info!(domain = %d.name, inboxes, "domain removed with its inboxes");
    }
    Ok(match (was, d.kind, d.expires_at) {
        (DomainStatus::PendingPayment, _, _) => {
            format!("The purchase of {name} was canceled. Nothing was charged.")
        }
        (DomainStatus::Failed, _, _) => format!("{name} was removed from your list."),
        (_, DomainKind::Byod, _) => format!(
            "{name} was removed. Its DNS records stay at your DNS host until you delete them."
        ),
        (_, _, Some(expires)) => format!(
            "{name} was removed from your domains. Its registration runs until {} and will not be renewed.",
            day(expires)
        ),
        _ => format!("{name} was removed from your domains."),
    })
}
