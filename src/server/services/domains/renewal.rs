//! Renewing bought domains before they expire.
//!
//! - **The scan** (`domain_renewal_scan`, every `domains.renewal_scan_secs`, and right after
//!   staff move the sandbox clock) looks at every bought domain expiring within 30 days on the
//!   billing clock ([`billing::clock`]): it mails the owner at 30 and 7 days (once each per
//!   expiry), marks a domain whose auto-renew is off `expiring` (and `expired` once past), and
//!   enqueues the renewal of each domain with auto-renew on that is within
//!   `domains.renew_days_before` of its expiry — one job per (domain, expiry), ever.
//! - **The renewal** (`domain_renew`) is a two-step saga recorded in `domain_renewals`:
//!   1. charge the card on file off-session (idempotency key per domain, expiry year and
//!      declined try: a retry after a network error replays the same key, so it can never
//!      charge twice; a declined card is tried again with a new key). Recorded in the ledger.
//!   2. renew at the registrar for one year. A try after one that may have got through asks the
//!      registrar for the expiry first, so nothing is renewed twice.
//!
//!   A declined card marks the domain `expiring`, mails the owner and retries (jobs backoff) up
//!   to `domains.renewal_max_attempts`. A registrar that refuses, or is still down on the last
//!   attempt, refunds the charge (`domain_renewal_refund`, its own job, key per renewal):
//!   nothing is kept for a renewal not done.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::health::{display, notify};
use crate::domain::tenant::format_money;
use crate::domain::{DomainStatus, LedgerKind, TenantId};
use crate::server::db;
use crate::server::db::audit::{Actor, Change, DomainAction};
use crate::server::db::renewals::{Expiring, RenewalRow};
use crate::server::jobs::{Job, JobError, NewJob};
use crate::server::providers::payments::{PaymentsError, SavedCardCharge};
use crate::server::providers::registrar::RegistrarError;
use crate::server::services::billing::{self, RefundError, refund_in_full};
use crate::server::state::AppState;

pub const SCAN_KIND: &str = "domain_renewal_scan";
pub const RENEW_KIND: &str = "domain_renew";
pub const REFUND_KIND: &str = "domain_renewal_refund";
pub const SYNC_KIND: &str = "domain_expiry_sync";

/// Registrations last a year; a renewal adds one.
const YEARS: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewJob {
    pub tenant_id: TenantId,
    pub domain_id: Uuid,
    /// The expiry this renewal extends.
    pub expires_from: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundJob {
    pub tenant_id: TenantId,
    pub renewal_id: Uuid,
    pub domain_id: Uuid,
    /// The payment to give back, when not the renewal's own (a stray second charge).
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// One renewal job per domain and expiry, however often the scan sees it.
pub fn renew_key(domain: Uuid, expires_from: DateTime<Utc>) -> String {
    format!("{RENEW_KIND}:{domain}:{}", expires_from.timestamp())
}

/// The Stripe idempotency key of a renewal's charge: per renewal — one per domain and
/// registration year — and per declined try (Stripe replays a key's decline for 24 hours).
pub fn charge_key(renewal: Uuid, declined_tries: i32) -> String {
    format!("ig:renewal:{renewal}:{declined_tries}")
}

fn actor() -> Actor {
    Actor::system("domain renewal")
}

fn link(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.settings.server.public_url.trim_end_matches('/')
    )
}

/// What the scan does about one domain at `now`.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// 30 or 7: the reminder to send (once per expiry).
    pub remind: Option<i64>,
    pub renew: bool,
    /// The renewal state to set, when it changes.
    pub state: Option<&'static str>,
}

/// The scan's decision for one domain (pure, so the calendar can be tested).
pub fn plan(d: &Expiring, now: DateTime<Utc>, renew_days_before: i64) -> Plan {
    let left = d.expires_at - now;
    let renew_due = d.auto_renew && now >= d.expires_at - Duration::days(renew_days_before);
    // An auto-renewal starting now mails its own outcome; a failed one is worth the reminder.
    let quiet = renew_due && d.renewal_state == "ok";
    let remind = if left <= Duration::zero() || quiet {
        None
    } else if left <= Duration::days(7) {
        Some(7)
    } else if left <= Duration::days(30) {
        Some(30)
    } else {
        None
    };
    let state = match (d.auto_renew, left <= Duration::zero()) {
        (false, true) if d.renewal_state != "expired" => Some("expired"),
        (false, false) if d.renewal_state == "ok" && left <= Duration::days(30) => Some("expiring"),
        _ => None,
    };
    Plan {
        remind,
        renew: renew_due,
        state,
    }
}

/// The periodic scan (see the module docs); how many renewals it started.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let now = billing::clock(state).await?;
    let due = db::renewals::expiring(&state.pool, now + Duration::days(30), 5000).await?;
    let mut enqueued = 0;
    for d in due {
        let tenant = TenantId(d.tenant_id);
        let p = plan(&d, now, state.settings.domains.renew_days_before);
        if let Some(s) = p.state {
            let mut conn = state.pool.acquire().await.context("acquiring")?;
            let why = (s == "expiring").then_some("Auto-renew is off.");
            db::renewals::set_state(&mut conn, tenant, d.id, s, why).await?;
        }
        if let Some(days) = p.remind {
            remind(state, &d, days).await;
        }
        if p.renew {
            let job = NewJob::new(
                RENEW_KIND,
                &RenewJob {
                    tenant_id: tenant,
                    domain_id: d.id,
                    expires_from: d.expires_at,
                },
            )
            .tenant(tenant)
            .dedupe(renew_key(d.id, d.expires_at))
            .max_attempts(state.settings.domains.renewal_max_attempts);
            if matches!(
                state.jobs.enqueue(job).await?,
                crate::server::jobs::Enqueued::Created(_)
            ) {
                enqueued += 1;
            }
        }
    }
    if enqueued > 0 {
        tracing::info!(enqueued, "domain renewals due");
        state.jobs.wake();
    }
    Ok(enqueued)
}

/// Daily: every expiry in our registrar account is copied onto the bought domain of that name
/// (a renewal made at the registrar by hand, a transfer, a correction): the registrar's dates
/// are the ones we act on. How many changed.
pub async fn sync_expiries(state: &AppState) -> anyhow::Result<usize> {
    let listed = state
        .registrar
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("listing the registrar's domains: {e}"))?;
    let mut changed = 0;
    for d in listed {
        if let Some(expires) = d.expires
            && db::renewals::sync_expiry(&state.pool, &d.name, expires).await?
        {
            changed += 1;
        }
    }
    if changed > 0 {
        tracing::info!(changed, "expiries taken from the registrar");
    }
    Ok(changed)
}

async fn remind(state: &AppState, d: &Expiring, days: i64) {
    let name = display(&d.name);
    let price = d
        .price_cents
        .zip(d.currency.as_deref())
        .map(|(c, cur)| format_money(c, cur));
    let (subject, what) = if d.auto_renew {
        (
            format!("{name} renews in {days} days"),
            format!(
                "{name} is registered until {until}. It renews automatically for another year{price}, \
                 charged to your card on file.{state}",
                until = d.expires_at.format("%B %-d, %Y"),
                price = price.map(|p| format!(" for {p}")).unwrap_or_default(),
                state = if d.renewal_state == "expiring" {
                    " The last attempt failed: please check your card."
                } else {
                    ""
                },
            ),
        )
    } else {
        (
            format!("{name} expires in {days} days"),
            format!(
                "{name} is registered until {until} and auto-renew is off: when it expires, mail \
                 on it stops. Turn auto-renew on to keep it.",
                until = d.expires_at.format("%B %-d, %Y"),
            ),
        )
    };
    notify(
        state,
        TenantId(d.tenant_id),
        subject,
        format!(
            "Hello,\n\n{what}\n\nManage it here:\n\n{url}\n\nThe InboxGrove team\n",
            url = link(state, &format!("/domains/{}", d.id)),
        ),
        format!(
            "renewal_reminder:{}:{}:{days}",
            d.id,
            d.expires_at.timestamp()
        ),
    )
    .await;
}

/// The renewal job (see the module docs).
pub async fn renew(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: RenewJob = job.payload()?;
    let last_attempt = job.attempt >= job.max_attempts;
    let tenant = p.tenant_id;
    let mut tx = state.pool.begin().await.context("starting")?;
    let Some(domain) = db::domains::get(&mut tx, tenant, p.domain_id).await? else {
        return Ok(());
    };
    // A charge already taken is seen through (renewed or refunded) whatever happened to the
    // expiry meanwhile; otherwise a moved expiry means renewed already (or changed).
    let existing = db::renewals::find(&mut tx, tenant, domain.id, p.expires_from).await?;
    if let Some(charged) = existing.filter(|r| r.status == "charged") {
        tx.commit().await.context("reading the renewal")?;
        return register(state, &domain, &charged, true, last_attempt).await;
    }
    if domain.expires_at != Some(p.expires_from) {
        return Ok(());
    }
    let (auto_renew, _, _) = db::renewals::settings(&mut tx, tenant, domain.id)
        .await?
        .unwrap_or((false, String::new(), None));
    let (Some(price), Some(currency)) = (domain.price_cents, domain.currency.clone()) else {
        tracing::warn!(domain = %domain.name, "a bought domain without a price cannot renew");
        return Ok(());
    };
    let renewal =
        db::renewals::open(&mut tx, tenant, domain.id, p.expires_from, price, &currency).await?;
    tx.commit().await.context("opening the renewal")?;

    match renewal.status.as_str() {
        "pending" => {
            let gone = matches!(domain.status, DomainStatus::Deleted | DomainStatus::Failed);
            if !auto_renew || gone {
                let mut conn = state.pool.acquire().await.context("acquiring")?;
                let why = "Auto-renew was switched off before the renewal was charged.";
                db::renewals::finish(&mut conn, tenant, renewal.id, "failed", Some(why)).await?;
                return Ok(());
            }
            match charge(state, &domain, &renewal, last_attempt).await? {
                Charged::Yes(pi) => {
                    let renewal = RenewalRow {
                        status: "charged".into(),
                        payment_intent_id: Some(pi),
                        ..renewal
                    };
                    register(state, &domain, &renewal, job.attempt > 1, last_attempt).await
                }
                Charged::Declined { give_up: true } => Ok(()),
                // The next try on the card a day later (customers fix cards in days, not
                // seconds); the decline was counted on the renewal, not the job.
                Charged::Declined { give_up: false } => Err(JobError::Defer {
                    until: chrono::Utc::now()
                        + Duration::hours(state.settings.domains.renewal_retry_hours),
                    reason: "the card was declined; trying again later".into(),
                }),
            }
        }
        "charged" => register(state, &domain, &renewal, true, last_attempt).await,
        _ => Ok(()),
    }
}

enum Charged {
    Yes(String),
    Declined { give_up: bool },
}

async fn charge(
    state: &AppState,
    domain: &db::domains::DomainRow,
    renewal: &RenewalRow,
    last_attempt: bool,
) -> Result<Charged, JobError> {
    let tenant = domain.tenant();
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let customer = db::billing::customer_of(&mut conn, tenant).await?;
    drop(conn);
    let name = display(&domain.name);
    let outcome = match customer {
        None => Err(PaymentsError::Rejected {
            code: Some(crate::server::providers::payments::NO_CARD.into()),
            message: "There is no card on file.".into(),
        }),
        Some(customer_id) => {
            state
                .payments
                .charge_saved_card(&SavedCardCharge {
                    tenant_id: tenant.0,
                    customer_id,
                    amount_cents: renewal.amount_cents.0,
                    currency: renewal.currency.clone(),
                    description: format!("{name} — renewal for 1 year"),
                    metadata: vec![
                        ("renewal_id".into(), renewal.id.to_string()),
                        ("domain_id".into(), domain.id.to_string()),
                    ],
                    idempotency_key: charge_key(renewal.id, renewal.charge_attempts),
                })
                .await
        }
    };
    match outcome {
        Ok(pi) => {
            let at = billing::clock(state).await?;
            let mut tx = state.pool.begin().await.context("starting")?;
            db::renewals::charged(&mut tx, tenant, renewal.id, &pi).await?;
            record_charge(&mut tx, tenant, &pi, renewal, &domain.name, at).await?;
            tx.commit()
                .await
                .context("recording the renewal's charge")?;
            Ok(Charged::Yes(pi))
        }
        Err(PaymentsError::Rejected { message, .. }) => {
            // Declines are counted on the renewal (since the owner last reopened it).
            let last_attempt = renewal.charge_attempts + 1 - renewal.reopened_at
                >= state.settings.domains.renewal_max_attempts;
            let mut tx = state.pool.begin().await.context("starting")?;
            db::renewals::declined(&mut tx, tenant, renewal.id, &message, last_attempt).await?;
            let why = format!("The renewal payment failed: {message}");
            db::renewals::set_state(&mut tx, tenant, domain.id, "expiring", Some(&why)).await?;
            audit_failure(&mut tx, domain, &why).await?;
            tx.commit().await.context("recording the decline")?;
            let (subject, next) = if last_attempt {
                (
                    format!("{name} could not be renewed"),
                    "We have stopped trying. Update your card, then press \"Try the renewal \
                     again\" on the domain's page before it expires, or it will stop receiving mail."
                        .to_string(),
                )
            } else {
                (
                    format!("Action needed: the renewal of {name} failed"),
                    "We will try again in a little while; please check the card on file."
                        .to_string(),
                )
            };
            notify(
                state,
                tenant,
                subject,
                format!(
                    "Hello,\n\nWe could not charge {amount} for the renewal of {name} (it expires on \
                     {until}): {message}\n\n{next}\n\nYour cards: {billing}\n\nNothing was \
                     charged.\n\nThe InboxGrove team\n",
                    amount = format_money(renewal.amount_cents, &renewal.currency),
                    until = renewal.expires_from.format("%B %-d, %Y"),
                    billing = link(state, "/billing"),
                ),
                format!("renewal_declined:{}:{}", renewal.id, renewal.charge_attempts),
            )
            .await;
            Ok(Charged::Declined {
                give_up: last_attempt,
            })
        }
        Err(e) => {
            // Unknown outcome (network, Stripe down): the same key next time replays it. On
            // the last attempt the renewal stops; a charge that did go through is refunded by
            // the webhook (see `billing::events`), never kept.
            tracing::warn!(domain = %domain.name, error = %e, "renewal charge: no answer");
            let message = "The payment provider did not answer.".to_string();
            let mut tx = state.pool.begin().await.context("starting")?;
            if last_attempt {
                if !db::renewals::finish(&mut tx, tenant, renewal.id, "failed", Some(&message))
                    .await?
                {
                    // The webhook recorded the charge meanwhile: see it through, not fail it.
                    tx.commit().await.context("reading the renewal")?;
                    return Err(JobError::Defer {
                        until: chrono::Utc::now() + Duration::seconds(30),
                        reason: "charged meanwhile; renewing".into(),
                    });
                }
                let why = format!("The renewal could not be charged: {message}");
                db::renewals::set_state(&mut tx, tenant, domain.id, "expiring", Some(&why)).await?;
                audit_failure(&mut tx, domain, &why).await?;
            } else {
                db::renewals::note(&mut tx, tenant, renewal.id, &message, false).await?;
            }
            tx.commit().await.context("noting the failure")?;
            if last_attempt {
                Ok(Charged::Declined { give_up: true })
            } else {
                Err(JobError::Retry(anyhow::anyhow!("charging: {message}")))
            }
        }
    }
}

/// Called inside the `payment_intent.succeeded` webhook's transaction for a renewal's charge:
/// records it (the job may not have heard the answer), and a charge that landed after the
/// renewal gave up is refunded, never kept.
pub async fn paid_in(
    conn: &mut sqlx::PgConnection,
    settings: &crate::server::config::Settings,
    tenant: TenantId,
    renewal_id: Uuid,
    payment_intent: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some(renewal) = db::renewals::get(conn, tenant, renewal_id).await? else {
        return Ok(false);
    };
    let name: Option<String> = db::domains::get(conn, tenant, renewal.domain_id)
        .await?
        .map(|d| d.name);
    let name = name.unwrap_or_default();
    if renewal.status == "pending" {
        db::renewals::charged(conn, tenant, renewal.id, payment_intent).await?;
    }
    // Paid after the renewal gave up, or a second payment beside the one it kept: refunded.
    let other = renewal
        .payment_intent_id
        .as_deref()
        .is_some_and(|kept| kept != payment_intent);
    let stray = other
        || (renewal.status == "failed"
            && db::renewals::refund_stray(conn, tenant, renewal.id, payment_intent).await?);
    if stray {
        let job = NewJob::new(
            REFUND_KIND,
            &RefundJob {
                tenant_id: tenant,
                renewal_id: renewal.id,
                domain_id: renewal.domain_id,
                payment_intent: Some(payment_intent.to_string()),
            },
        )
        .tenant(tenant)
        .dedupe(format!("{REFUND_KIND}:{payment_intent}"))
        .max_attempts(settings.domains.refund_max_attempts);
        crate::server::jobs::enqueue_in(conn, &settings.jobs, job).await?;
    }
    record_charge(conn, tenant, payment_intent, &renewal, &name, at).await?;
    Ok(true)
}

/// "Try the renewal again" (auto-renew switched on, on a domain whose renewal gave up): inside
/// the caller's transaction, the renewal of the current expiry reopens and a job takes it now.
/// Whether there was one to retry.
pub async fn retry_in(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    tenant: TenantId,
    domain: Uuid,
    expires_from: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some(r) = db::renewals::reopen(conn, tenant, domain, expires_from).await? else {
        return Ok(false);
    };
    let job = NewJob::new(
        RENEW_KIND,
        &RenewJob {
            tenant_id: tenant,
            domain_id: domain,
            expires_from,
        },
    )
    .tenant(tenant)
    .dedupe(format!(
        "{}:reopened:{}",
        renew_key(domain, expires_from),
        r.charge_attempts
    ))
    .max_attempts(state.settings.domains.renewal_max_attempts);
    state.jobs.enqueue_in(conn, job).await?;
    Ok(true)
}

/// The renewal's charge in the ledger (once per PaymentIntent, whoever writes it first: this
/// job or the `payment_intent.succeeded` webhook).
pub async fn record_charge(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    payment_intent: &str,
    renewal: &RenewalRow,
    name: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let description = format!("Domain renewal: {} (1 year)", display(name));
    db::billing::append_ledger(
        conn,
        &db::billing::LedgerEntry {
            tenant_id: tenant,
            kind: LedgerKind::OneTimeCharge,
            amount_cents: renewal.amount_cents,
            currency: &renewal.currency,
            provider_ref: payment_intent,
            invoice_id: None,
            payment_intent_id: Some(payment_intent),
            charge_id: None,
            purchase_id: None,
            description: &description,
            occurred_at: at,
            event_id: None,
        },
    )
    .await?;
    Ok(())
}

async fn audit_failure(
    conn: &mut sqlx::PgConnection,
    domain: &db::domains::DomainRow,
    why: &str,
) -> db::Result<()> {
    db::audit::domain(
        conn,
        &actor(),
        domain.tenant(),
        DomainAction::RenewalFailed,
        domain.id,
        Change::after(json!({ "name": domain.name, "reason": why })),
    )
    .await
}

/// Step 2: the registrar. `maybe_done`: an earlier try may have renewed it already.
async fn register(
    state: &AppState,
    domain: &db::domains::DomainRow,
    renewal: &RenewalRow,
    maybe_done: bool,
    last_attempt: bool,
) -> Result<(), JobError> {
    let tenant = domain.tenant();
    let already = if maybe_done || renewal.registrar_tries > 0 {
        match state.registrar.info(&domain.name).await {
            // A year more than we knew: our earlier try got through.
            Ok(Some(info)) if info.ours => info
                .expires
                .filter(|e| *e > renewal.expires_from + Duration::days(300)),
            _ => None,
        }
    } else {
        None
    };
    let outcome = match already {
        Some(expires) => Ok(expires),
        None => state.registrar.renew(&domain.name, YEARS).await.map(|r| {
            r.expires
                .unwrap_or(renewal.expires_from + Duration::days(365 * i64::from(YEARS)))
        }),
    };
    let name = display(&domain.name);
    match outcome {
        Ok(expires_to) => {
            let mut tx = state.pool.begin().await.context("starting")?;
            db::renewals::renewed(&mut tx, tenant, renewal, expires_to).await?;
            db::audit::domain(
                &mut *tx,
                &actor(),
                tenant,
                DomainAction::Renewed,
                domain.id,
                Change::after(json!({
                    "name": domain.name,
                    "expires_from": renewal.expires_from,
                    "expires_to": expires_to,
                    "amount_cents": renewal.amount_cents,
                    "currency": renewal.currency,
                    "payment_intent": renewal.payment_intent_id,
                })),
            )
            .await?;
            tx.commit().await.context("recording the renewal")?;
            tracing::info!(domain = %domain.name, %expires_to, "domain renewed");
            notify(
                state,
                tenant,
                format!("{name} renewed until {}", expires_to.format("%B %-d, %Y")),
                format!(
                    "Hello,\n\n{name} is renewed for another year, until {until}. We charged \
                     {amount} to your card on file.\n\nYour invoices and cards: {billing}\n\n\
                     The InboxGrove team\n",
                    until = expires_to.format("%B %-d, %Y"),
                    amount = format_money(renewal.amount_cents, &renewal.currency),
                    billing = link(state, "/billing"),
                ),
                format!("renewed:{}", renewal.id),
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let permanent = matches!(e, RegistrarError::Refused { .. });
            let message = match &e {
                RegistrarError::Refused { message, .. } => message.clone(),
                _ => "The registrar did not answer.".to_string(),
            };
            if !permanent && !last_attempt {
                let mut conn = state.pool.acquire().await.context("acquiring")?;
                db::renewals::note(&mut conn, tenant, renewal.id, &message, true).await?;
                return Err(JobError::Retry(anyhow::anyhow!("renewing: {e}")));
            }
            // Give the money back: the renewal is over, the refund job sees it through.
            let why = format!("The registrar did not renew it: {message}");
            let mut tx = state.pool.begin().await.context("starting")?;
            db::renewals::finish(&mut tx, tenant, renewal.id, "refunded", Some(&why)).await?;
            db::renewals::set_state(&mut tx, tenant, domain.id, "expiring", Some(&why)).await?;
            audit_failure(&mut tx, domain, &why).await?;
            let pi = renewal.payment_intent_id.clone().unwrap_or_default();
            let job = NewJob::new(
                REFUND_KIND,
                &RefundJob {
                    tenant_id: tenant,
                    renewal_id: renewal.id,
                    domain_id: domain.id,
                    payment_intent: None,
                },
            )
            .tenant(tenant)
            .dedupe(format!("{REFUND_KIND}:{pi}"))
            .max_attempts(state.settings.domains.refund_max_attempts);
            state.jobs.enqueue_in(&mut tx, job).await?;
            tx.commit().await.context("recording the failed renewal")?;
            state.jobs.wake();
            tracing::warn!(domain = %domain.name, %why, "renewal failed; refunding");
            Ok(())
        }
    }
}

/// Refunds a renewal's charge in full, once (key per renewal), and tells the owner.
pub async fn refund(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: RefundJob = job.payload()?;
    let tenant = p.tenant_id;
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let renewal = db::renewals::history(&mut conn, tenant, p.domain_id)
        .await?
        .into_iter()
        .find(|r| r.id == p.renewal_id)
        .ok_or_else(|| JobError::Fatal(anyhow::anyhow!("renewal {} is gone", p.renewal_id)))?;
    let domain = db::domains::get(&mut conn, tenant, p.domain_id).await?;
    drop(conn);
    let Some(pi) = p
        .payment_intent
        .clone()
        .or_else(|| renewal.payment_intent_id.clone())
    else {
        return Ok(());
    };
    let key = format!("ig:renewal-refund:{pi}");
    match refund_in_full(state.payments.as_ref(), pi, key).await {
        Ok(_) | Err(RefundError::AlreadyRefunded(_)) => {}
        Err(RefundError::Refused(m)) => {
            return Err(JobError::Fatal(anyhow::anyhow!(
                "the refund was refused: {m}"
            )));
        }
        Err(RefundError::Unavailable(e)) => return Err(JobError::Retry(e.into())),
        Err(RefundError::Unexpected(e)) => return Err(JobError::Retry(e)),
    }
    let name = domain
        .as_ref()
        .map(|d| display(&d.name))
        .unwrap_or_else(|| "your domain".into());
    notify(
        state,
        tenant,
        format!("{name} could not be renewed — refunded"),
        format!(
            "Hello,\n\nThe registrar did not renew {name}: {why}\n\nWe refunded the full {amount} \
             to your card. The domain stays registered until {until}; you can try again from its \
             page:\n\n{url}\n\nThe InboxGrove team\n",
            why = renewal.last_error.as_deref().unwrap_or("it refused"),
            amount = format_money(renewal.amount_cents, &renewal.currency),
            until = renewal.expires_from.format("%B %-d, %Y"),
            url = link(state, &format!("/domains/{}", p.domain_id)),
        ),
        format!("renewal_refunded:{}", renewal.id),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn domain(expires_in_days: i64, auto_renew: bool, state: &str) -> (Expiring, DateTime<Utc>) {
        let now = Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).unwrap();
        (
            Expiring {
                id: Uuid::nil(),
                tenant_id: Uuid::nil(),
                name: "acme.com".into(),
                expires_at: now + Duration::days(expires_in_days),
                auto_renew,
                renewal_state: state.into(),
                price_cents: None,
                currency: None,
            },
            now,
        )
    }

    #[test]
    fn reminders_come_at_30_and_7_days_and_renewal_at_the_configured_lead() {
        let at = |days, auto, state| {
            let (d, now) = domain(days, auto, state);
            plan(&d, now, 14)
        };
        assert_eq!(at(29, true, "ok").remind, Some(30));
        assert!(!at(29, true, "ok").renew);
        assert_eq!(at(14, true, "ok").remind, None, "the renewal itself mails");
        assert!(at(14, true, "ok").renew);
        assert_eq!(at(6, true, "expiring").remind, Some(7), "a failed renewal");
        assert!(at(6, true, "expiring").renew);
        assert_eq!(at(-1, true, "ok").remind, None);
        assert!(at(-1, true, "ok").renew, "a lapsed domain is still renewed");
    }

    #[test]
    fn without_auto_renew_it_is_never_renewed_but_marked_expiring_then_expired() {
        let at = |days, state| {
            let (d, now) = domain(days, false, state);
            plan(&d, now, 14)
        };
        let p = at(20, "ok");
        assert_eq!(
            (p.remind, p.renew, p.state),
            (Some(30), false, Some("expiring"))
        );
        let p = at(5, "expiring");
        assert_eq!((p.remind, p.renew, p.state), (Some(7), false, None));
        let p = at(0, "expiring");
        assert_eq!((p.remind, p.renew, p.state), (None, false, Some("expired")));
        assert_eq!(at(-3, "expired").state, None);
    }

    #[test]
    fn the_charge_key_is_per_renewal_and_declined_try() {
        let (a, b) = (Uuid::from_u128(7), Uuid::from_u128(8));
        assert_ne!(charge_key(a, 0), charge_key(a, 1), "a new try, a new key");
        assert_ne!(
            charge_key(a, 0),
            charge_key(b, 0),
            "another year, another key"
        );
        assert_eq!(charge_key(a, 3), format!("ig:renewal:{a}:3"));
        assert!(charge_key(a, i32::MAX).len() <= 255);
    }
}
