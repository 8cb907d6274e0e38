//! DNS health: what records a domain needs, checking them by real lookups, storing each
//! record's verdict, and the scheduled re-checks that tell the customer when one breaks.

use anyhow::Context;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{DomainName, DomainStatus, EmailAddress, RecordStatus, TenantId};
use crate::server::db;
use crate::server::db::domains::{DomainRow, RecordRow};
use crate::server::dns::{
    CheckStatus, DnsCheckError, ExpectedRecord, RecordCheck, expected_records,
};
use crate::server::jobs::{Enqueued, JobError, NewJob};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::inboxes::relay;
use crate::server::state::AppState;

/// Periodic: finds domains due for a check and enqueues one check each.
pub const SCAN_KIND: &str = "domain_dns_scan";
/// One domain's scheduled check.
pub const CHECK_KIND: &str = "domain_dns_check";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckJob {
    pub tenant_id: TenantId,
    pub domain_id: Uuid,
}

/// The records `domain` needs, from its DKIM key and the `[dns]` settings; `None` before the
/// domain has a key.
pub fn expected_for(state: &AppState, domain: &DomainRow) -> Option<Vec<ExpectedRecord>> {
    let key = domain.dkim_public_key.as_deref()?;
    let dns = &state.settings.dns;
    Some(expected_records(
        &domain.name,
        key,
        dns,
        dns.tracking_target().is_some(),
    ))
}

fn row(e: &ExpectedRecord, seq: i32) -> RecordRow {
    RecordRow {
        purpose: e.purpose.as_str().into(),
        seq,
        kind: e.record.kind.as_str().into(),
        name: e.record.name.clone(),
        content: e.record.content.clone(),
        priority: e.record.priority.map(i32::from),
        status: RecordStatus::Unknown,
        found: vec![],
        fix: None,
        checked_at: None,
    }
}

/// Numbers records within their purpose (MX 0, MX 1, …).
fn numbered<'a, T>(
    items: &'a [T],
    purpose: impl Fn(&T) -> &'a str,
) -> impl Iterator<Item = (i32, &'a T)> {
    let mut seen: Vec<&str> = Vec::new();
    items.iter().map(move |item| {
        let p = purpose(item);
        let seq = seen.iter().filter(|s| **s == p).count() as i32;
        seen.push(p);
        (seq, item)
    })
}

/// The expected records, not looked up yet.
pub fn unchecked_rows(expected: &[ExpectedRecord]) -> Vec<RecordRow> {
    numbered(expected, |e| e.purpose.as_str())
        .map(|(seq, e)| row(e, seq))
        .collect()
}

fn checked_rows(checks: &[RecordCheck]) -> Vec<RecordRow> {
    let now = Utc::now();
    numbered(checks, |c| c.purpose.as_str())
        .map(|(seq, c)| RecordRow {
            status: match c.status {
                CheckStatus::Ok => RecordStatus::Ok,
                CheckStatus::Missing => RecordStatus::Missing,
                CheckStatus::Invalid => RecordStatus::Invalid,
            },
            found: c.found.clone(),
            fix: c.fix.clone(),
            checked_at: Some(now),
            ..row(
                &ExpectedRecord {
                    purpose: c.purpose,
                    record: c.expected.clone(),
                },
                seq,
            )
        })
        .collect()
}

/// What one check found.
#[derive(Clone, Debug)]
pub struct Checked {
    pub checks: Vec<RecordCheck>,
    /// The domain moved from `verifying` to `active` because every record is OK.
    pub activated: bool,
}

impl Checked {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.status == CheckStatus::Ok)
    }

    /// e.g. `DKIM (missing), SPF (invalid)`.
    pub fn problems(&self) -> String {
        self.checks
            .iter()
            .filter(|c| c.status != CheckStatus::Ok)
            .map(|c| format!("{} ({})", c.purpose.label(), c.status.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the domain has no DKIM key yet")]
    NotReady,
    #[error(transparent)]
    Lookup(#[from] DnsCheckError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(CheckError);

/// Whether a check whose records are all OK may move a `verifying` domain to `active`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Promote {
    Yes,
    /// The purchase saga's verify step: the saga activates the domain once the step is
    /// recorded as done, so the page never shows `active` beside a running step.
    No,
}

/// Looks every record up, stores each verdict and the domain's health, promotes a verifying
/// domain whose records are all OK to `active` (unless told not to), and emails the owner when
/// a domain that was healthy now has a broken record.
pub async fn check_and_store(
    state: &AppState,
    domain: &DomainRow,
    promote: Promote,
) -> Result<Checked, CheckError> {
    let expected = expected_for(state, domain).ok_or(CheckError::NotReady)?;
    let checks = state.dns_checker.check(&domain.name, &expected).await?;
    let rows = checked_rows(&checks);
    let tenant = domain.tenant();
    let mut tx = state.pool.begin().await.context("starting")?;
    let before = db::domains::store_records(&mut tx, tenant, domain.id, &rows, true).await?;
    let mut checked = Checked {
        checks,
        activated: false,
    };
    if checked.all_ok() && promote == Promote::Yes {
        checked.activated = db::domains::set_status(
            &mut tx,
            tenant,
            domain.id,
            DomainStatus::Active,
            &[DomainStatus::Verifying],
            None,
        )
        .await?;
        if checked.activated {
            relay::request_in(&mut tx, &state.settings, tenant, chrono::Duration::zero()).await?;
            crate::server::services::deliverability::blocklists::request_check_in(
                &mut tx,
                &state.settings,
                tenant,
                domain.id,
            )
            .await?;
            crate::server::services::integrations::webhooks::emit(
                &mut tx,
                state,
                tenant,
                "domain.active",
                serde_json::json!({ "domain_id": domain.id, "name": domain.name }),
            )
            .await?;
        }
    }
    let broke = before.as_deref() == Some("ok") && !checked.all_ok();
    if broke {
        let broken: Vec<&str> = checked
            .checks
            .iter()
            .filter(|c| c.fix.is_some())
            .map(|c| c.purpose.label())
            .collect();
        crate::server::services::integrations::webhooks::emit(
            &mut tx,
            state,
            tenant,
            "dns.broken",
            serde_json::json!({ "domain_id": domain.id, "name": domain.name, "records": broken }),
        )
        .await?;
    }
    tx.commit().await.context("storing the check")?;
    if broke {
        state.jobs.wake();
        notify_broken(state, domain, &checked).await;
    }
    Ok(checked)
}

async fn notify_broken(state: &AppState, domain: &DomainRow, checked: &Checked) {
    let fixes: Vec<String> = checked
        .checks
        .iter()
        .filter_map(|c| {
            c.fix
                .as_ref()
                .map(|f| format!("- {}: {f}", c.purpose.label()))
        })
        .collect();
    let body = format!(
        "Hello,\n\n\
         A DNS record of {name} stopped being correct: {problems}.\n\n{fixes}\n\n\
         Mail sent from {name} may be rejected or land in spam until it is fixed. \
         See the record table, and repair it in one click if we host the zone:\n\n{url}\n\n\
         The InboxGrove team\n",
        name = display(&domain.name),
        problems = checked.problems(),
        fixes = fixes.join("\n"),
        url = domain_url(state, domain.id),
    );
    notify(
        state,
        domain.tenant(),
        format!("A DNS record of {} is broken", display(&domain.name)),
        body,
        format!("dns_broken:{}:{}", domain.id, Utc::now().timestamp()),
    )
    .await;
}

/// The Unicode form of a stored (ASCII) name.
pub fn display(name: &str) -> String {
    DomainName::parse(name)
        .map(|n| n.display())
        .unwrap_or_else(|_| name.to_string())
}

pub fn domain_url(state: &AppState, id: Uuid) -> String {
    format!(
        "{}/domains/{id}",
        state.settings.server.public_url.trim_end_matches('/')
    )
}

/// Emails the tenant's owner once per `key`; a failure is logged, never fatal to the caller.
pub async fn notify(
    state: &AppState,
    tenant: TenantId,
    subject: String,
    body: String,
    key: String,
) {
    let sent = async {
        let (_, email) = db::trials::owner_contact(&state.pool, tenant)
            .await?
            .context("the tenant has no owner")?;
        let to = EmailAddress::parse(&email)
            .map_err(|e| anyhow::anyhow!("the owner's address is not valid: {e}"))?;
        crate::server::services::outbox::send(
            state,
            &OutgoingMail {
                to,
                subject,
                body,
                tenant_id: Some(tenant),
                idempotency_key: Some(key),
            },
        )
        .await?;
        anyhow::Ok(())
    };
    if let Err(e) = sent.await {
        tracing::warn!(error = ?e, tenant = %tenant.0, "could not email the tenant");
    }
}

/// The periodic scan: frees abandoned purchases and enqueues one check per domain due.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    db::domains::release_abandoned(&mut conn, state.settings.domains.pending_payment_ttl_secs)
        .await?;
    drop(conn);
    let interval = state.settings.dns.check_interval_secs;
    let period = Utc::now().timestamp() / interval.max(1) as i64;
    let due = db::domains::due_for_check(&state.pool, interval, 1000).await?;
    let mut created = 0;
    for (tenant, domain) in due {
        let job = NewJob::new(
            CHECK_KIND,
            &CheckJob {
                tenant_id: TenantId(tenant),
                domain_id: domain,
            },
        )
        .tenant(TenantId(tenant))
        .dedupe(format!("{CHECK_KIND}:{domain}:{period}"));
        if let Enqueued::Created(_) = state.jobs.enqueue(job).await? {
            created += 1;
        }
    }
    Ok(created)
}

/// One scheduled check. A lookup that times out is retried; a domain no longer set up is
/// skipped.
pub async fn run_check(state: &AppState, job: &CheckJob) -> Result<(), JobError> {
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    let Some(domain) = db::domains::get(&mut conn, job.tenant_id, job.domain_id).await? else {
        return Ok(());
    };
    drop(conn);
    if !matches!(
        domain.status,
        DomainStatus::Verifying | DomainStatus::Active
    ) {
        return Ok(());
    }
    match check_and_store(state, &domain, Promote::Yes).await {
        Ok(_) | Err(CheckError::NotReady) => Ok(()),
        Err(CheckError::Lookup(e)) => Err(JobError::Retry(e.into())),
        Err(CheckError::Unexpected(e)) => Err(JobError::Retry(e)),
    }
}
