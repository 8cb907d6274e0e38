//! The purchase saga: once the payment webhook lands, one durable job takes a paid domain
//! through register → create zone → set nameservers → create records → publish → verify →
//! `active`.
//!
//! - Every step is recorded (`domain_saga_steps`: running/done/failed, attempts, times, error)
//!   and skipped once done, so a job taken again after a crash resumes at the first step not
//!   done. Each step is idempotent on its own: the zone is created-or-found, records are
//!   upserted, the DKIM key is stored once; registration — the one step that costs money and
//!   cannot be repeated — asks the registrar first whether the name is already ours whenever an
//!   earlier attempt may have got through.
//! - A transient failure (provider down, rate limited, DNS not visible yet) fails the job
//!   attempt; the queue retries with exponential backoff up to `domains.saga_max_attempts`.
//! - A permanent failure (the registrar refuses, the name was taken meanwhile), or a transient
//!   one still failing on the last attempt, is compensated: the domain becomes `failed` and a
//!   refund job (deduplicated per purchase, idempotency key `ig:refund:{purchase}`) refunds the
//!   payment once and tells the customer. The ledger row comes with Stripe's `charge.refunded`.
//! - Verification that is still failing on the last attempt does not refund (the domain is
//!   registered and configured): it stays `verifying` and the scheduled checks promote it.
//! - One job per domain (dedupe key), so a payment webhook delivered twice starts one saga.

use anyhow::Context;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

use super::health::{self, CheckError, display, notify};
use crate::domain::domains::SAGA_STEPS;
use crate::domain::tenant::format_money;
use crate::domain::{DomainStatus, StepStatus, TenantId};
use crate::server::config::Settings;
use crate::server::db;
use crate::server::db::domains::DomainRow;
use crate::server::jobs::{self, Enqueued, Job, JobError, NewJob};
use crate::server::providers::dns::DnsError;
use crate::server::providers::registrar::{RegisterRequest, RegistrarError};
use crate::server::services::billing::{RefundError, refund_in_full};
use crate::server::services::inboxes::relay;
use crate::server::state::AppState;

pub const SAGA_KIND: &str = "domain_purchase";
pub const REFUND_KIND: &str = "domain_refund";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaJob {
    pub tenant_id: TenantId,
    pub domain_id: Uuid,
}

pub fn saga_key(domain: Uuid) -> String {
    format!("{SAGA_KIND}:{domain}")
}

/// Called inside the payment webhook's transaction: the domain bought with `purchase` is paid,
/// so it moves to `registering` and its saga is enqueued (once, whatever the number of
/// deliveries). A domain released meanwhile (Checkout abandoned, deleted) still gets its saga,
/// which refunds it. Returns whether a saga was enqueued now.
pub async fn start_in(
    conn: &mut PgConnection,
    settings: &Settings,
    tenant: TenantId,
    purchase: Uuid,
) -> anyhow::Result<bool> {
    let Some(domain) = db::domains::by_purchase(conn, tenant, purchase).await? else {
        return Ok(false);
    };
    db::domains::set_status(
        conn,
        tenant,
        domain.id,
        DomainStatus::Registering,
        &[DomainStatus::PendingPayment],
        None,
    )
    .await?;
    let job = NewJob::new(
        SAGA_KIND,
        &SagaJob {
            tenant_id: tenant,
            domain_id: domain.id,
        },
    )
    .tenant(tenant)
    .dedupe(saga_key(domain.id))
    .max_attempts(settings.domains.saga_max_attempts);
    Ok(matches!(
        jobs::enqueue_in(conn, &settings.jobs, job).await?,
        Enqueued::Created(_)
    ))
}

/// How a step ended other than done.
#[derive(Debug)]
pub enum StepFailure {
    /// Worth retrying later.
    Transient(String),
    /// Retrying cannot help: compensate.
    Permanent(String),
}

impl From<crate::server::db::Error> for StepFailure {
    fn from(e: crate::server::db::Error) -> Self {
        Self::from(anyhow::Error::from(e))
    }
}

impl StepFailure {
    pub fn message(&self) -> &str {
        match self {
            Self::Transient(m) | Self::Permanent(m) => m,
        }
    }
}

impl From<anyhow::Error> for StepFailure {
    fn from(e: anyhow::Error) -> Self {
        tracing::warn!(error = ?e, "saga step failed unexpectedly");
        Self::Transient(format!("{e:#}"))
    }
}

fn registrar_failure(e: RegistrarError) -> StepFailure {
    match e {
        RegistrarError::Refused { message, .. } => StepFailure::Permanent(message),
        RegistrarError::RateLimited { .. } => {
            StepFailure::Transient("The registrar is rate limiting us; retrying.".into())
        }
        RegistrarError::Unavailable(e) | RegistrarError::Unexpected(e) => {
            tracing::warn!(error = ?e, "registrar call failed");
            StepFailure::Transient("The registrar did not answer; retrying.".into())
        }
    }
}

fn dns_failure(e: DnsError) -> StepFailure {
    match e {
        DnsError::Refused { message, .. } => StepFailure::Permanent(message),
        DnsError::RateLimited { .. } => {
            StepFailure::Transient("The DNS provider is rate limiting us; retrying.".into())
        }
        DnsError::Unavailable(e) | DnsError::Unexpected(e) => {
            tracing::warn!(error = ?e, "DNS provider call failed");
            StepFailure::Transient("The DNS provider did not answer; retrying.".into())
        }
    }
}

/// The saga job's handler.
///
/// One worker at a time per domain, across every replica: a job taken over from a worker
/// that still runs (its lease expired while a registrar call hung, e.g. with the database
/// out of reach) is deferred, not run beside it, so the name is never registered twice.
pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: SagaJob = job.payload()?;
    let last_attempt = job.attempt >= job.max_attempts;
    let mut lock = state.pool.begin().await.context("starting the saga lock")?;
    if !db::domains::try_saga_lock(&mut lock, p.domain_id).await? {
        let lease =
            chrono::Duration::seconds(i64::try_from(state.settings.jobs.lease_secs).unwrap_or(60));
        return Err(JobError::Defer {
            until: chrono::Utc::now() + lease,
            reason: "another worker is running this domain's saga".into(),
        });
    }
    let outcome = advance(state, p.tenant_id, p.domain_id, last_attempt).await;
    // Releases the lock (rolling back: the transaction wrote nothing).
    lock.rollback().await.context("releasing the saga lock")?;
    outcome
}

async fn advance(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    last_attempt: bool,
) -> Result<(), JobError> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let Some(mut domain) = db::domains::get(&mut conn, tenant, id).await? else {
        return Err(JobError::Fatal(anyhow::anyhow!(
            "domain {id} does not exist"
        )));
    };
    if matches!(domain.status, DomainStatus::Active | DomainStatus::Failed) {
        return Ok(());
    }
    let steps: HashMap<String, db::domains::StepRow> = db::domains::steps(&mut conn, tenant, id)
        .await?
        .into_iter()
        .map(|s| (s.step.clone(), s))
        .collect();
    drop(conn);
    if matches!(
        domain.status,
        DomainStatus::Deleted | DomainStatus::Suspended
    ) {
        // Removed before it was registered (an abandoned or canceled purchase paid late): the
        // money goes back. Removed after: the customer got the registration; stop here.
        if steps
            .get("register")
            .is_none_or(|s| s.status != StepStatus::Done)
        {
            let reason = "The purchase was canceled before the payment arrived.";
            compensate(state, &domain, reason).await?;
        }
        return Ok(());
    }
    for (step, label) in SAGA_STEPS {
        let before = steps.get(step);
        if before.is_some_and(|s| s.status == StepStatus::Done) {
            continue;
        }
        let status = match step {
            "register" => DomainStatus::Registering,
            "verify" => DomainStatus::Verifying,
            _ => DomainStatus::ConfiguringDns,
        };
        let mut conn = state.pool.acquire().await.context("acquiring")?;
        let live = [
            DomainStatus::PendingPayment,
            DomainStatus::Registering,
            DomainStatus::ConfiguringDns,
            DomainStatus::Verifying,
        ];
        if !db::domains::set_status(&mut conn, tenant, id, status, &live, None).await? {
            // Deleted or suspended while the saga ran: stop here, the next run compensates.
            return Err(JobError::Retry(anyhow::anyhow!(
                "the domain left the saga's states"
            )));
        }
        db::domains::step_started(&mut conn, tenant, id, step).await?;
        drop(conn);
        let tried_before = before.is_some_and(|s| s.attempts > 0);
        let started = std::time::Instant::now();
        let outcome = run_step(state, &mut domain, step, tried_before).await;
        state.metrics.saga_step(
            step,
            match &outcome {
                Ok(()) => "done",
                Err(StepFailure::Transient(_)) => "retry",
                Err(StepFailure::Permanent(_)) => "failed",
            },
            started.elapsed(),
        );
        let mut conn = state.pool.acquire().await.context("acquiring")?;
        match outcome {
            Ok(()) => {
                db::domains::step_finished(&mut conn, tenant, id, step, None).await?;
            }
            Err(StepFailure::Transient(message)) => {
                db::domains::step_finished(&mut conn, tenant, id, step, Some(&message)).await?;
                drop(conn);
                if step == "verify" && last_attempt {
                    // Registered and configured: the scheduled checks finish verification.
                    return Ok(());
                }
                if last_attempt {
                    let reason = format!("{label} kept failing: {message}");
                    compensate(state, &domain, &reason).await?;
                    return Ok(());
                }
                return Err(JobError::Retry(anyhow::anyhow!("{label}: {message}")));
            }
            Err(StepFailure::Permanent(message)) => {
                db::domains::step_finished(&mut conn, tenant, id, step, Some(&message)).await?;
                drop(conn);
                compensate(state, &domain, &message).await?;
                return Ok(());
            }
        }
    }
    let mut tx = state.pool.begin().await.context("starting")?;
    let activated = db::domains::set_status(
        &mut tx,
        tenant,
        id,
        DomainStatus::Active,
        &[DomainStatus::Verifying],
        None,
    )
    .await?;
    if activated {
        relay::request_in(&mut tx, &state.settings, tenant, Duration::zero()).await?;
        crate::server::services::deliverability::blocklists::request_check_in(
            &mut tx,
            &state.settings,
            tenant,
            id,
        )
        .await?;
        saga_audit(
            &mut tx,
            tenant,
            id,
            db::audit::DomainAction::Active,
            json!({ "name": domain.name }),
        )
        .await?;
        crate::server::services::integrations::webhooks::emit(
            &mut tx,
            state,
            tenant,
            "domain.active",
            json!({ "domain_id": id, "name": domain.name }),
        )
        .await?;
    }
    tx.commit().await.context("activating")?;
    if activated {
        state.jobs.wake();
        tracing::info!(domain = %domain.name, "domain active");
    }
    Ok(())
}

async fn run_step(
    state: &AppState,
    domain: &mut DomainRow,
    step: &str,
    tried_before: bool,
) -> Result<(), StepFailure> {
    let tenant = domain.tenant();
    match step {
        "register" => {
            // An earlier attempt may have registered the name and died before recording it.
            if tried_before
                && let Some(info) = state
                    .registrar
                    .info(&domain.name)
                    .await
                    .map_err(registrar_failure)?
                && info.ours
            {
                let mut conn = state.pool.acquire().await.context("acquiring")?;
                db::domains::set_registration(&mut conn, tenant, domain.id, None, info.expires)
                    .await?;
                return Ok(());
            }
            let request = register_request(state, domain).await?;
            let registration = state
                .registrar
                .register(&request)
                .await
                .map_err(registrar_failure)?;
            state.search_cache.forget(&domain.name);
            // The expiry is the registrar's (Namecheap's create answer does not give it).
            let expires = match state.registrar.info(&domain.name).await {
                Ok(Some(info)) => info.expires,
                _ => None,
            }
            .unwrap_or_else(|| Utc::now() + Duration::days(365 * i64::from(request.years)));
            let mut conn = state.pool.acquire().await.context("acquiring")?;
            db::domains::set_registration(
                &mut conn,
                tenant,
                domain.id,
                Some(&registration.registrar_id),
                Some(expires),
            )
            .await?;
            Ok(())
        }
        "create_zone" => {
            let zone = state
                .dns
                .create_zone(&domain.name)
                .await
                .map_err(dns_failure)?;
            let mut conn = state.pool.acquire().await.context("acquiring")?;
            db::domains::set_zone(&mut conn, tenant, domain.id, &zone.id, &zone.nameservers)
                .await?;
            domain.zone_id = Some(zone.id);
            domain.nameservers = zone.nameservers;
            Ok(())
        }
        "set_nameservers" => {
            reload(state, domain).await?;
            state
                .registrar
                .set_nameservers(&domain.name, &domain.nameservers)
                .await
                .map_err(registrar_failure)
        }
        "create_records" => {
            reload(state, domain).await?;
            ensure_dkim(state, domain).await?;
            write_records(state, domain).await
        }
        // Tells the relay to sign for the domain: a durable publish request (the relay being
        // down must never fail, let alone refund, a registered domain).
        "publish" => {
            let mut tx = state.pool.begin().await.context("starting")?;
            relay::request_in(&mut tx, &state.settings, domain.tenant(), Duration::zero()).await?;
            tx.commit().await.context("requesting a relay publish")?;
            state.jobs.wake();
            Ok(())
        }
        "verify" => {
            reload(state, domain).await?;
            match health::check_and_store(state, domain, health::Promote::No).await {
                Ok(checked) if checked.all_ok() => Ok(()),
                Ok(checked) => Err(StepFailure::Transient(format!(
                    "Not visible in DNS yet: {}.",
                    checked.problems()
                ))),
                Err(CheckError::NotReady) => Err(StepFailure::Transient(
                    "The DKIM key is not there yet.".into(),
                )),
                Err(CheckError::Lookup(e)) => Err(StepFailure::Transient(e.to_string())),
                Err(CheckError::Unexpected(e)) => Err(e.into()),
            }
        }
        other => Err(StepFailure::Permanent(format!("unknown step {other}"))),
    }
}

async fn reload(state: &AppState, domain: &mut DomainRow) -> anyhow::Result<()> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    *domain = db::domains::get(&mut conn, domain.tenant(), domain.id)
        .await?
        .context("the domain disappeared")?;
    Ok(())
}

/// The registrant: our configured contact, with the customer's company and owner email.
async fn register_request(state: &AppState, domain: &DomainRow) -> anyhow::Result<RegisterRequest> {
    let mut contact = state.settings.registrar.contact.clone();
    if let Some((company, email)) = db::trials::owner_contact(&state.pool, domain.tenant()).await? {
        contact.organization = company;
        contact.email = email;
    }
    Ok(RegisterRequest {
        name: domain.name.clone(),
        years: state.settings.registrar.years,
        contact,
        nameservers: vec![],
    })
}

/// Generates the domain's DKIM key (RSA-2048) unless it has one; the private half is sealed
/// before it is stored. A second run keeps the first key.
pub async fn ensure_dkim(state: &AppState, domain: &mut DomainRow) -> anyhow::Result<()> {
    if domain.dkim_public_key.is_some() {
        return Ok(());
    }
    let key = state.keygen.generate().await.context("generating DKIM")?;
    let public = key.public_key_b64().context("encoding DKIM")?;
    let sealed = key
        .encrypt_with(&state.secrets, domain.id)
        .context("sealing DKIM")?;
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    db::domains::set_dkim_once(
        &mut conn,
        domain.tenant(),
        domain.id,
        &state.settings.dns.dkim_selector,
        &public,
        &sealed,
    )
    .await?;
    drop(conn);
    reload(state, domain).await
}

/// Upserts every expected record into the domain's zone and stores them, unchecked.
pub async fn write_records(state: &AppState, domain: &DomainRow) -> Result<(), StepFailure> {
    let zone = domain
        .zone_id
        .as_deref()
        .ok_or_else(|| StepFailure::Permanent("The domain has no DNS zone.".into()))?;
    let expected = health::expected_for(state, domain)
        .ok_or_else(|| StepFailure::Transient("The DKIM key is not there yet.".into()))?;
    for e in &expected {
        state
            .dns
            .upsert_record(zone, &e.record)
            .await
            .map_err(dns_failure)?;
    }
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    db::domains::store_records(
        &mut conn,
        domain.tenant(),
        domain.id,
        &health::unchecked_rows(&expected),
        false,
    )
    .await?;
    Ok(())
}

/// One audit row for an outcome of the purchase saga (actor `system:domain saga`).
async fn saga_audit(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    domain: Uuid,
    action: db::audit::DomainAction,
    after: serde_json::Value,
) -> db::Result<()> {
    db::audit::domain(
        conn,
        &db::audit::Actor::system("domain saga"),
        tenant,
        action,
        domain,
        db::audit::Change::after(after),
    )
    .await
}

/// The saga cannot finish: the domain becomes `failed` (a deleted one stays deleted) and the
/// refund job is enqueued in the same transaction, once per purchase.
async fn compensate(state: &AppState, domain: &DomainRow, reason: &str) -> anyhow::Result<()> {
    let tenant = domain.tenant();
    let mut tx = state.pool.begin().await.context("starting")?;
    let failed = db::domains::set_status(
        &mut tx,
        tenant,
        domain.id,
        DomainStatus::Failed,
        &[
            DomainStatus::PendingPayment,
            DomainStatus::Registering,
            DomainStatus::ConfiguringDns,
            DomainStatus::Verifying,
        ],
        Some(reason),
    )
    .await?;
    if failed {
        saga_audit(
            &mut tx,
            tenant,
            domain.id,
            db::audit::DomainAction::Failed,
            json!({ "name": domain.name, "reason": reason }),
        )
        .await?;
        crate::server::services::integrations::webhooks::emit(
            &mut tx,
            state,
            tenant,
            "domain.failed",
            json!({ "domain_id": domain.id, "name": domain.name, "reason": reason }),
        )
        .await?;
        // The relay may sign for it already (it does from `configuring_dns` on): no longer.
        relay::request_in(&mut tx, &state.settings, tenant, Duration::zero()).await?;
    }
    if let Some(purchase) = domain.purchase_id {
        let job = NewJob::new(
            REFUND_KIND,
            &SagaJob {
                tenant_id: tenant,
                domain_id: domain.id,
            },
        )
        .tenant(tenant)
        .dedupe(format!("{REFUND_KIND}:{purchase}"))
        .max_attempts(state.settings.domains.refund_max_attempts);
        state.jobs.enqueue_in(&mut tx, job).await?;
    }
    tx.commit().await.context("recording the failure")?;
    state.jobs.wake();
    tracing::warn!(domain = %domain.name, reason, "domain purchase failed; refunding");
    Ok(())
}

/// The refund job: refunds the purchase's payment in full, once (Stripe idempotency key per
/// purchase), records the step and tells the customer.
pub async fn refund(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: SagaJob = job.payload()?;
    let (tenant, id) = (p.tenant_id, p.domain_id);
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let domain = db::domains::get(&mut conn, tenant, id)
        .await?
        .ok_or_else(|| JobError::Fatal(anyhow::anyhow!("domain {id} does not exist")))?;
    let Some(purchase) = domain.purchase_id else {
        return Ok(());
    };
    db::domains::step_started(&mut conn, tenant, id, "refund").await?;
    let Some((payment_intent_id, amount, currency)) =
        db::domains::purchase_payment(&mut conn, tenant, purchase).await?
    else {
        db::domains::step_finished(
            &mut conn,
            tenant,
            id,
            "refund",
            Some("No payment to refund."),
        )
        .await?;
        return Ok(());
    };
    drop(conn);
    let outcome = refund_in_full(
        state.payments.as_ref(),
        payment_intent_id,
        format!("ig:refund:{purchase}"),
    )
    .await;
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    match outcome {
        Ok(_) | Err(RefundError::AlreadyRefunded(_)) => {}
        Err(RefundError::Refused(message)) => {
            db::domains::step_finished(&mut conn, tenant, id, "refund", Some(&message)).await?;
            return Err(JobError::Fatal(anyhow::anyhow!(
                "the refund was refused: {message}"
            )));
        }
        Err(RefundError::Unavailable(e)) => {
            let message = e.to_string();
            db::domains::step_finished(&mut conn, tenant, id, "refund", Some(&message)).await?;
            return Err(JobError::Retry(e.into()));
        }
        Err(RefundError::Unexpected(e)) => {
            let message = e.to_string();
            db::domains::step_finished(&mut conn, tenant, id, "refund", Some(&message)).await?;
            return Err(JobError::Retry(e));
        }
    }
    db::domains::step_finished(&mut conn, tenant, id, "refund", None).await?;
    saga_audit(
        &mut conn,
        tenant,
        id,
        db::audit::DomainAction::Refund,
        json!({ "name": domain.name, "amount_cents": amount, "currency": currency }),
    )
    .await?;
    drop(conn);
    let name = display(&domain.name);
    let reason = domain
        .failure_reason
        .as_deref()
        .unwrap_or("the purchase could not be completed");
    let domains_url = format!(
        "{}/domains",
        state.settings.server.public_url.trim_end_matches('/')
    );
    notify(
        state,
        tenant,
        format!("{name} could not be registered — refunded"),
        format!(
            "Hello,\n\n\
             We could not complete your purchase of {name}: {reason}\n\n\
             We refunded the full {amount} to your card; banks usually show it within 5–10 days.\n\n\
             You can search for another name at any time:\n\n{url}\n\n\
             The InboxGrove team\n",
            amount = format_money(amount, &currency),
            url = domains_url,
        ),
        format!("domain_refunded:{id}"),
    )
    .await;
    Ok(())
}
