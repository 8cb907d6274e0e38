//! Publishing a tenant's sending data to the relay.
//!
//! Every change that the relay must know (a batch of inboxes, an inbox suspended or deleted, a
//! domain that became active) calls [`request_in`] inside its own transaction: it marks the
//! tenant's publication pending and enqueues a durable `relay_publish` job. After commit the
//! request path tries [`publish_now`] at once (so a batch is usually live in milliseconds);
//! if the relay is unreachable the inboxes stay `pending_relay` and the job retries with
//! backoff. A publish always renders the tenant's whole current state, so running it twice,
//! or after a newer change, is harmless.

use anyhow::Context;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{InboxStatus, TenantId};
use crate::server::config::Settings;
use crate::server::db;
use crate::server::dkim::DkimKey;
use crate::server::jobs::{self, Job, JobError, NewJob};
use crate::server::providers::relay::{
    RelayActionId, RelayDomain, RelayError, RelayUser, TenantRelayData,
};
use crate::server::state::AppState;

pub const PUBLISH_KIND: &str = "relay_publish";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishJob {
    pub tenant_id: Uuid,
}

/// Marks the tenant's relay data stale and makes sure a `relay_publish` job will publish it
/// (in `conn`'s transaction: the job exists exactly when the change does). One waiting job
/// per tenant is enough, since a publish renders the whole current state. `after` delays a
/// new job: the request path, which tries at once itself, passes a moment so the job usually
/// only confirms; background paths pass zero.
pub async fn request_in(
    conn: &mut PgConnection,
    settings: &Settings,
    tenant: TenantId,
    after: Duration,
) -> anyhow::Result<()> {
    db::inboxes::request_publish(conn, tenant).await?;
    if db::jobs::pending_for_tenant(conn, PUBLISH_KIND, tenant).await? {
        return Ok(());
    }
    jobs::enqueue_in(
        conn,
        &settings.jobs,
        NewJob::new(
            PUBLISH_KIND,
            &PublishJob {
                tenant_id: tenant.0,
            },
        )
        .tenant(tenant)
        .at(Utc::now() + after)
        .max_attempts(settings.relay.publish_max_attempts),
    )
    .await?;
    Ok(())
}

/// The delay of the job a request path enqueues (its own attempt comes first).
pub const AFTER_INLINE_ATTEMPT: Duration = Duration::seconds(2);

/// [`request_in`] from a request path, which then tries the publish itself after commit: the
/// job waits [`AFTER_INLINE_ATTEMPT`] and usually only confirms.
pub async fn request_in_request_path(
    conn: &mut PgConnection,
    settings: &Settings,
    tenant: TenantId,
) -> anyhow::Result<()> {
    request_in(conn, settings, tenant, AFTER_INLINE_ATTEMPT).await
}

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// Nothing was pending.
    UpToDate,
    Done {
        domains: usize,
        users: usize,
        activated: u64,
    },
}

/// The tenant's relay data as it is now.
pub async fn render(state: &AppState, tenant: TenantId) -> anyhow::Result<TenantRelayData> {
    let domains = db::domains::for_relay(&state.pool, tenant).await?;
    let mut relay_domains = Vec::with_capacity(domains.len());
    for d in &domains {
        let (Some(selector), Some(blob)) = (&d.dkim_selector, &d.dkim_private_key) else {
            continue;
        };
        let key = DkimKey::decrypt_with(&state.secrets, d.id, blob)
            .with_context(|| format!("opening the DKIM key of {}", d.name))?;
        relay_domains.push(RelayDomain {
            name: d.name.to_ascii_lowercase(),
            selector: selector.clone(),
            private_key_pem: key.private_pem().context("encoding a DKIM key")?,
        });
    }
    let now = Utc::now();
    let users = db::inboxes::relay_users(&state.pool, tenant)
        .await?
        .into_iter()
        .map(|u| {
            let (daily_allowance, warmup_day) =
                allowance(&state.settings, u.daily_cap, u.warmup_started_at, now);
            // An inbox not live yet sends on day 1's allowance once it is: the relay is told
            // so now (warm-up starting does not need another publish).
            let warmup_day = warmup_day.max(1);
            RelayUser {
                address: u.address,
                inbox_id: u.id,
                active: u.status != InboxStatus::Suspended && !u.domain_suspended,
                salt: u.password_salt,
                sha256: u.password_sha256,
                daily_allowance,
                warmup_day,
            }
        })
        .collect();
    let suspended = db::suspensions::open(&state.pool, tenant).await?;
    Ok(TenantRelayData {
        tenant,
        active: suspended.is_none(),
        domains: relay_domains,
        users,
    })
}

/// What the inbox may send today and its warm-up day (0 before warm-up starts, when it gets
/// the first day's allowance): the warm-up stage or its daily cap, whichever is lower.
pub fn allowance(
    settings: &Settings,
    daily_cap: i32,
    warmup_started_at: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> (i32, i32) {
    let s = &settings.inboxes;
    let day = warmup_started_at
        .map(|start| (now - start).num_days().max(0))
        .unwrap_or(0);
    let limit = crate::domain::inboxes::warmup_limit(
        day,
        s.warmup_start,
        s.warmup_step,
        s.warmup_max,
        daily_cap,
    );
    let warmup_day = match warmup_started_at {
        Some(_) => i32::try_from(day + 1).unwrap_or(i32::MAX),
        None => 0,
    };
    (limit, warmup_day)
}

/// Publishes the tenant if a publish is pending; on success its `pending_relay` inboxes that
/// were published are stamped so, and a login check (`inbox_login_check`) will make them
/// `active` once the mail store accepts them.
pub async fn publish_now(state: &AppState, tenant: TenantId) -> Result<Published, RelayError> {
    let Some(requested_at) = db::inboxes::pending_publish(&state.pool, tenant).await? else {
        return Ok(Published::UpToDate);
    };
    let data = render(state, tenant).await?;
    if let Err(e) = state.relay.publish(&data).await {
        db::inboxes::publish_failed(&state.pool, tenant, &e.to_string()).await?;
        return Err(e);
    }
    let published: Vec<Uuid> = data
        .users
        .iter()
        .filter(|u| data.domains.iter().any(|d| d.name == u.domain()))
        .map(|u| u.inbox_id)
        .collect();
    let mut tx = state.pool.begin().await.context("starting")?;
    let activated = db::inboxes::mark_published(&mut tx, tenant, &published).await?;
    if activated > 0 {
        // Active only once the mail store accepts their logins.
        super::mailstore::request_check_in(&mut tx, state, tenant).await?;
    }
    db::inboxes::publish_done(
        &mut tx,
        tenant,
        requested_at,
        i32::try_from(data.domains.len()).unwrap_or(i32::MAX),
        i32::try_from(published.len()).unwrap_or(i32::MAX),
    )
    .await?;
    tx.commit().await.context("committing the publish")?;
    state.metrics.relay_published(
        (Utc::now() - requested_at)
            .to_std()
            .unwrap_or(std::time::Duration::ZERO),
    );
    if activated > 0 {
        state.jobs.wake();
        // The sandbox relay reports a week of sample traffic for them (a no-op otherwise).
        if let Err(e) =
            crate::server::services::deliverability::sandbox::report(state, tenant, &published)
                .await
        {
            tracing::warn!(error = ?e, "sandbox sample traffic was not recorded");
        }
    }
    Ok(Published::Done {
        domains: data.domains.len(),
        users: published.len(),
        activated,
    })
}

/// Makes the relay's tenant-scoped queue hold match the suspensions: placed while one is open
/// (KumoMTA `suspend/v1` with the tenant), released once they are all lifted.
pub async fn reconcile_hold(state: &AppState, tenant: TenantId) -> Result<(), RelayError> {
    match db::suspensions::open(&state.pool, tenant).await? {
        Some(open) if open.relay_id.is_none() => {
            let until = Utc::now() + Duration::days(state.settings.relay.suspend_days);
            let reason = format!("InboxGrove {} suspension: {}", open.category, open.reason);
            let hold = state.relay.suspend_tenant(tenant, &reason, until).await?;
            db::suspensions::set_relay_id(&state.pool, open.id, &hold.0).await?;
        }
        Some(_) => {}
        None => {
            for (id, hold) in db::suspensions::unreleased(&state.pool, tenant).await? {
                state.relay.resume_tenant(&RelayActionId(hold)).await?;
                db::suspensions::mark_released(&state.pool, id).await?;
            }
        }
    }
    Ok(())
}

pub const REASSERT_KIND: &str = "relay_reassert_holds";

/// KumoMTA keeps holds in memory only (a restart forgets them): re-post each open one
/// (the same criteria replace the earlier entry).
pub async fn reassert_holds(state: &AppState) -> anyhow::Result<usize> {
    let tenants = db::suspensions::suspended_tenants(&state.pool).await?;
    for tenant in &tenants {
        let tenant = TenantId(*tenant);
        if let Some(open) = db::suspensions::open(&state.pool, tenant).await? {
            let until = Utc::now() + Duration::days(state.settings.relay.suspend_days);
            let reason = format!("InboxGrove {} suspension: {}", open.category, open.reason);
            match state.relay.suspend_tenant(tenant, &reason, until).await {
                Ok(hold) => db::suspensions::set_relay_id(&state.pool, open.id, &hold.0).await?,
                Err(e) => {
                    tracing::warn!(tenant = %tenant.0, error = %e, "re-asserting a relay hold failed")
                }
            }
        }
    }
    Ok(tenants.len())
}

/// The `relay_publish` job: the data, then the queue hold.
pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: PublishJob = job.payload()?;
    let tenant = TenantId(p.tenant_id);
    let done = match publish_now(state, tenant).await {
        Ok(_) => reconcile_hold(state, tenant).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(()),
        Err(e @ (RelayError::Unavailable(_) | RelayError::Refused { .. })) => {
            tracing::warn!(tenant = %p.tenant_id, error = %e, attempt = job.attempt, "relay publish failed; will retry");
            Err(JobError::Retry(e.into()))
        }
        Err(RelayError::Unexpected(e)) => Err(JobError::Retry(e)),
    }
}
