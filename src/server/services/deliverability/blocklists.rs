//! Blocklist monitoring: every active domain on the domain lists and the relay's sending IPs
//! on the IP lists (`[[deliverability.blocklists]]`), asked through the configured resolver
//! (the same [`DnsChecker`](crate::server::dns::DnsChecker) the DNS checks use). On a schedule
//! (`blocklist_scan`, every `blocklist_every_secs`) and on demand from the domain page.
//!
//! A new listing is stored, mails the domain's owner (once per listing) and, when
//! `suspend_on_listing` says so, suspends the tenant (actor `system`). A name no longer listed
//! closes its listing. An answer that means "refused / over quota", or no answer, is never a
//! listing: the check is then `unknown` and any open listing stays as it was.

use anyhow::Context;
use uuid::Uuid;

use crate::domain::deliverability::BlocklistStatus;
use crate::domain::{EmailAddress, SuspensionCategory, TenantId};
use crate::server::auth::TenantCtx;
use crate::server::config::{BlocklistKind, BlocklistSettings};
use crate::server::db;
use crate::server::db::deliverability::{Change, Sighting};
use crate::server::dns::blocklist::{self, Verdict};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::{outbox, suspensions};
use crate::server::state::AppState;

pub const SCAN_KIND: &str = "blocklist_scan";
/// One domain, as soon as it becomes active.
pub const CHECK_KIND: &str = "blocklist_check";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckJob {
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
}

/// Queues a first blocklist check of a domain that just became active (in `conn`'s
/// transaction, so it exists exactly when the activation does).
pub async fn request_check_in(
    conn: &mut sqlx::PgConnection,
    settings: &crate::server::config::Settings,
    tenant: TenantId,
    domain: Uuid,
) -> anyhow::Result<()> {
    crate::server::jobs::enqueue_in(
        conn,
        &settings.jobs,
        crate::server::jobs::NewJob::new(
            CHECK_KIND,
            &CheckJob {
                tenant_id: tenant.0,
                domain_id: domain,
            },
        )
        .tenant(tenant),
    )
    .await?;
    Ok(())
}

/// The job: the domain checked if it is still active, then the tenant's scores.
pub async fn run_check(
    state: &AppState,
    job: &crate::server::jobs::Job,
) -> Result<(), crate::server::jobs::JobError> {
    let CheckJob {
        tenant_id,
        domain_id,
    } = job.payload()?;
    let tenant = TenantId(tenant_id);
    let mut conn = state.pool.acquire().await.context("connecting")?;
    let Some(row) = db::domains::get(&mut conn, tenant, domain_id).await? else {
        return Ok(());
    };
    drop(conn);
    if row.status != crate::domain::DomainStatus::Active {
        return Ok(());
    }
    check_domain_row(state, tenant, row.id, &row.name).await?;
    super::scores::request(state, tenant).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("No such domain.")]
    NotFound,
    #[error("Only active domains are checked against blocklists.")]
    NotActive,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(BlocklistError);

/// A subject to check: a tenant's domain or one of the relay's IPs.
#[derive(Clone, Debug)]
pub struct Subject {
    pub kind: BlocklistKind,
    pub name: String,
    pub tenant: Option<TenantId>,
    pub domain_id: Option<Uuid>,
}

/// What checking one subject found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `clean`, `listed` or `unknown`.
    pub status: &'static str,
    pub note: Option<String>,
    pub newly_listed: Vec<String>,
    pub delisted: Vec<String>,
}

async fn ask(
    checker: std::sync::Arc<crate::server::dns::DnsChecker>,
    list: BlocklistSettings,
    name: String,
) -> (BlocklistSettings, Verdict) {
    let verdict = blocklist::check(&checker, &list, &name).await;
    (list, verdict)
}

/// Asks every list of the subject's kind, records listings and delistings, and the check.
pub async fn check_subject(state: &AppState, subject: &Subject) -> anyhow::Result<Outcome> {
    // One lookup per list (at most a dozen), run together.
    let mut lookups = Vec::new();
    for list in &state.settings.deliverability.blocklists {
        if list.kind == subject.kind {
            lookups.push(ask(
                state.dns_checker.clone(),
                list.clone(),
                subject.name.clone(),
            ));
        }
    }
    let verdicts: Vec<(BlocklistSettings, Verdict)> = futures_util::future::join_all(lookups).await;
    let kind = match subject.kind {
        BlocklistKind::Domain => "domain",
        BlocklistKind::Ip => "ip",
    };
    let mut out = Outcome {
        status: "clean",
        note: None,
        newly_listed: Vec::new(),
        delisted: Vec::new(),
    };
    let mut unknown = Vec::new();
    for (list, verdict) in &verdicts {
        let listed = match verdict {
            Verdict::Listed(answer) => Some(answer.as_str()),
            Verdict::Clean => None,
            Verdict::Unknown(why) => {
                unknown.push(why.clone());
                continue;
            }
        };
        let change = db::deliverability::record_sighting(
            &state.pool,
            &Sighting {
                subject_kind: kind,
                subject: &subject.name,
                zone: &list.zone,
                list_name: &list.name,
                tenant_id: subject.tenant.map(|t| t.0),
                domain_id: subject.domain_id,
                listed,
            },
        )
        .await?;
        match change {
            Change::NewlyListed => out.newly_listed.push(list.name.clone()),
            Change::Delisted => out.delisted.push(list.name.clone()),
            _ => {}
        }
        if listed.is_some() {
            out.status = "listed";
        }
    }
    if out.status != "listed" && !unknown.is_empty() {
        out.status = "unknown";
    }
    if !unknown.is_empty() {
        out.note = Some(unknown.join("; "));
    }
    match subject.domain_id {
        Some(d) => {
            db::deliverability::mark_domain_checked(&state.pool, d, out.status, out.note.as_deref())
                .await?
        }
        None => {
            db::deliverability::mark_ip_checked(
                &state.pool,
                &subject.name,
                out.status,
                out.note.as_deref(),
            )
            .await?
        }
    }
    if !out.newly_listed.is_empty() || !out.delisted.is_empty() {
        tracing::warn!(subject = %subject.name, listed = ?out.newly_listed, delisted = ?out.delisted, "blocklist status changed");
    }
    Ok(out)
}

/// After a domain's new listing: the owner is mailed, and the tenant suspended if the
/// settings say so.
async fn act_on_listing(
    state: &AppState,
    tenant: TenantId,
    domain: &str,
    lists: &[String],
    listing_ids: &[i64],
) -> anyhow::Result<()> {
    if let Some(owner) = db::admin::owner_email(&state.pool, tenant).await?
        && let Ok(to) = EmailAddress::parse(&owner)
    {
        let page = format!(
            "{}/deliverability",
            state.settings.server.public_url.trim_end_matches('/')
        );
        let mut sorted = lists.to_vec();
        sorted.sort();
        outbox::send(
            state,
            &OutgoingMail {
                to,
                subject: format!("{domain} is on a blocklist"),
                body: format!(
                    "Hello,\n\n{domain} is now listed on {}.\n\nWhat to do:\n\n\
                     - Pause the campaigns sending from {domain}.\n\
                     - Find the cause: a bought or old list, spam traps, a sudden jump in volume.\n\
                     - Then ask the list for removal (each list's site explains how).\n\n\
                     We check again every few hours and tell you on the page when it is delisted:\n\n{page}\n\n\
                     The InboxGrove team\n",
                    sorted.join(", ")
                ),
                tenant_id: Some(tenant),
                idempotency_key: Some(format!(
                    "blocklist:{}:{}",
                    tenant.0,
                    listing_ids
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("mailing the listing: {e}"))?;
    }
    crate::server::services::integrations::webhooks::emit_now(
        state,
        tenant,
        "deliverability.blocklisted",
        serde_json::json!({ "domain": domain, "lists": lists }),
    )
    .await;
    if state.settings.deliverability.suspend_on_listing {
        let reason = format!("{domain} is listed on {}", lists.join(", "));
        suspensions::suspend(
            state,
            tenant,
            SuspensionCategory::Abuse,
            &reason,
            &db::audit::Actor::system("blocklist monitor"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("suspending for a listing: {e}"))?;
    }
    Ok(())
}

/// Checks one domain and carries out what a change means; the tenant's scores follow.
async fn check_domain_row(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
    name: &str,
) -> anyhow::Result<Outcome> {
    let outcome = check_subject(
        state,
        &Subject {
            kind: BlocklistKind::Domain,
            name: name.to_string(),
            tenant: Some(tenant),
            domain_id: Some(id),
        },
    )
    .await?;
    // Every open listing the owner was not told about yet (a new one, or one whose mail
    // failed last time): told now, then marked.
    let pending = db::deliverability::unnotified(&state.pool, id).await?;
    if !pending.is_empty() {
        let ids: Vec<i64> = pending.iter().map(|p| p.0).collect();
        let lists: Vec<String> = pending.into_iter().map(|p| p.1).collect();
        act_on_listing(state, tenant, name, &lists, &ids).await?;
        db::deliverability::mark_notified(&state.pool, &ids).await?;
    }
    Ok(outcome)
}

/// The scheduled scan: every active domain and every relay IP. Returns how many subjects were
/// checked.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let domains = db::deliverability::active_domains(&state.pool).await?;
    let ips: Vec<String> = state
        .settings
        .dns
        .relay_ips
        .iter()
        .map(|ip| ip.to_string())
        .collect();
    let concurrency = state.settings.deliverability.lookup_concurrency.max(1);
    let mut changed_tenants = std::collections::BTreeSet::new();
    // Bounded concurrency: each domain on its own task, at most `concurrency` at once.
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (tenant, id, name) in domains.iter().cloned() {
        let state = state.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let t = TenantId(tenant);
            (t, check_domain_row(&state, t, id, &name).await)
        });
    }
    let mut results: Vec<(TenantId, anyhow::Result<Outcome>)> = Vec::new();
    let mut failures = 0usize;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(r) => results.push(r),
            Err(e) => {
                failures += 1;
                tracing::error!(error = %e, "a blocklist check task failed");
            }
        }
    }
    for (tenant, r) in results {
        match r {
            Ok(o) if !o.newly_listed.is_empty() || !o.delisted.is_empty() => {
                changed_tenants.insert(tenant.0);
            }
            Ok(_) => {}
            Err(e) => {
                failures += 1;
                tracing::error!(error = ?e, "a blocklist check failed");
            }
        }
    }
    let mut ip_changed = false;
    for ip in &ips {
        let checked = check_subject(
            state,
            &Subject {
                kind: BlocklistKind::Ip,
                name: ip.clone(),
                tenant: None,
                domain_id: None,
            },
        )
        .await;
        match checked {
            Ok(o) => ip_changed |= !o.newly_listed.is_empty() || !o.delisted.is_empty(),
            Err(e) => {
                failures += 1;
                tracing::error!(error = ?e, %ip, "a relay IP's blocklist check failed");
            }
        }
    }
    // What the scan no longer covers is no longer listed here.
    let mut subjects: Vec<String> = domains
        .iter()
        .map(|(_, _, name)| format!("domain:{name}"))
        .collect();
    subjects.extend(ips.iter().map(|ip| format!("ip:{ip}")));
    let zones: Vec<String> = state
        .settings
        .deliverability
        .blocklists
        .iter()
        .map(|l| l.zone.clone())
        .collect();
    ip_changed |= db::deliverability::close_unscanned(&state.pool, &subjects, &zones).await? > 0;
    if ip_changed {
        super::scores::scan(state).await?;
    } else {
        for t in changed_tenants {
            super::scores::request(state, TenantId(t)).await?;
        }
    }
    // A failed check waits for the next scan (asking every list again now would only spend
    // their quotas): the scan itself is done.
    if failures > 0 {
        tracing::warn!(
            failures,
            "some blocklist checks failed; the next scan tries again"
        );
    }
    Ok(domains.len() + ips.len())
}

/// "Check now" on the domain page: the tenant's own active domain, checked at once.
pub async fn check_now(
    state: &AppState,
    ctx: &TenantCtx,
    domain: Uuid,
) -> Result<BlocklistStatus, BlocklistError> {
    let mut tx = ctx.begin(state).await?;
    let row = db::domains::get(&mut tx, ctx.tenant_id(), domain)
        .await?
        .ok_or(BlocklistError::NotFound)?;
    crate::server::auth::end_read(tx);
    if row.status != crate::domain::DomainStatus::Active {
        return Err(BlocklistError::NotActive);
    }
    // The lists' free quotas are everyone's: asked again at most every `check_now_min_secs`;
    // sooner, the last result stands.
    let min = chrono::Duration::seconds(state.settings.deliverability.check_now_min_secs);
    if let Some(at) = db::deliverability::domain_checked_at(&state.pool, row.id).await?
        && chrono::Utc::now() - at < min
    {
        let mut tx = ctx.begin(state).await?;
        let last = db::deliverability::domain_check(&mut tx, ctx.tenant_id(), row.id).await?;
        crate::server::auth::end_read(tx);
        if let Some((status, checked, note)) = last {
            return Ok(BlocklistStatus {
                status,
                checked: checked.map(super::minute),
                note,
            });
        }
    }
    let outcome = check_domain_row(state, ctx.tenant_id(), row.id, &row.name)
        .await
        .context("checking blocklists")?;
    super::scores::request(state, ctx.tenant_id()).await?;
    Ok(BlocklistStatus {
        status: outcome.status.to_string(),
        checked: Some(super::minute(chrono::Utc::now())),
        note: outcome.note,
    })
}
