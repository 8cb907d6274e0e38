//! The mail store side of an inbox: its login proven before it is `active`, the move of old
//! password records to the scheme Dovecot reads, the daily allowance the relay enforces, and
//! the message count the inbox page shows.
//!
//! - `inbox_login_check` (per tenant): after a publish, log in to the mail store as every
//!   newly published inbox (bulk, bounded concurrency). Accepted → `active`, warm-up starts.
//!   Dovecot notices a renamed passwd-file within a second, so refused logins are tried again
//!   a few times a second apart before the job itself backs off and retries.
//! - `inbox_rehash` (once, enqueued by the migration): scheme-1 records re-hashed from the
//!   sealed passwords, their tenants republished.
//! - `inbox_allowance` (hourly): republish every tenant with an inbox whose warm-up day began
//!   in the last hour, so each ramp advances at the relay on the inbox's own day boundary.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{PASSWORD_SCHEME, relay, relay_hash};
use crate::domain::TenantId;
use crate::server::db;
use crate::server::jobs::{self, Job, JobError, NewJob};
use crate::server::providers::mailstore::{Login, LoginCheck, MailStoreError};
use crate::server::state::AppState;

pub const CHECK_KIND: &str = "inbox_login_check";
pub const REHASH_KIND: &str = "inbox_rehash";
pub const ALLOWANCE_KIND: &str = "inbox_allowance";

/// Inboxes checked per pass (a batch of the magic button is at most this many).
const CHECK_PASS: i64 = 5000;
/// Passes inside one run of the job, a second apart (Dovecot's passwd-file re-read).
const CHECK_PASSES: usize = 4;
const REHASH_BATCH: i64 = 500;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckJob {
    pub tenant_id: Uuid,
}

/// Makes sure a login check will run for the tenant (in `conn`'s transaction), soon after
/// the mail store can have read the new files.
pub async fn request_check_in(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    tenant: TenantId,
) -> anyhow::Result<()> {
    if db::jobs::pending_for_tenant(conn, CHECK_KIND, tenant).await? {
        return Ok(());
    }
    let settle = Duration::from_std(state.mailstore.settle()).unwrap_or_default();
    jobs::enqueue_in(
        conn,
        &state.settings.jobs,
        NewJob::new(
            CHECK_KIND,
            &CheckJob {
                tenant_id: tenant.0,
            },
        )
        .tenant(tenant)
        .at(Utc::now() + settle)
        .max_attempts(state.settings.relay.publish_max_attempts),
    )
    .await?;
    Ok(())
}

/// What one check pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub accepted: u64,
    pub refused: Vec<(Uuid, String)>,
    pub unavailable: Vec<(Uuid, String)>,
}

/// One pass: every published inbox of the tenant still waiting, logged in as.
pub async fn check_once(state: &AppState, tenant: TenantId) -> anyhow::Result<Checked> {
    let rows = db::inboxes::to_check(&state.pool, tenant, CHECK_PASS).await?;
    let mut logins = Vec::with_capacity(rows.len());
    for r in &rows {
        logins.push(Login {
            address: r.inbox.address().to_ascii_lowercase(),
            password: super::open_password(state, r)?,
        });
    }
    let answers = state.mailstore.check_logins(&logins).await;
    let mut checked = Checked::default();
    let mut accepted = Vec::new();
    for (r, answer) in rows.iter().zip(answers) {
        match answer {
            LoginCheck::Accepted => accepted.push(r.inbox.id),
            LoginCheck::Refused(why) => checked.refused.push((r.inbox.id, why)),
            LoginCheck::Unavailable(why) => checked.unavailable.push((r.inbox.id, why)),
        }
    }
    checked.accepted = db::inboxes::login_passed(&state.pool, tenant, &accepted).await?;
    Ok(checked)
}

pub async fn run_check(state: &AppState, job: &Job) -> Result<(), JobError> {
    let p: CheckJob = job.payload()?;
    let tenant = TenantId(p.tenant_id);
    let mut last = Checked::default();
    for pass in 0..CHECK_PASSES {
        if pass > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        last = check_once(state, tenant).await.map_err(JobError::Retry)?;
        if last.refused.is_empty() && last.unavailable.is_empty() {
            return Ok(());
        }
    }
    for (what, list) in [
        ("refused", &last.refused),
        ("unavailable", &last.unavailable),
    ] {
        if let Some((_, why)) = list.first() {
            let ids: Vec<Uuid> = list.iter().map(|(id, _)| *id).collect();
            let error = format!("the mail store {what} the login: {why}");
            db::inboxes::login_failed(&state.pool, tenant, &ids, &error).await?;
        }
    }
    tracing::warn!(tenant = %tenant.0, refused = last.refused.len(), unavailable = last.unavailable.len(), "mail store login check incomplete; will retry");
    Err(JobError::Retry(anyhow::anyhow!(
        "{} logins refused, {} unanswered",
        last.refused.len(),
        last.unavailable.len()
    )))
}

/// Re-hashes every scheme-1 record from its sealed password, then republishes the tenants.
/// Safe to run twice (it only touches rows still on scheme 1) or to stop half-way.
pub async fn rehash_all(state: &AppState) -> anyhow::Result<u64> {
    let mut done = 0;
    let mut tenants = BTreeSet::new();
    loop {
        let rows = db::inboxes::old_scheme(&state.pool, REHASH_BATCH).await?;
        if rows.is_empty() {
            break;
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut hashes = Vec::with_capacity(rows.len());
        for r in &rows {
            let plain = Zeroizing::new(
                state
                    .secrets
                    .decrypt(&r.password_sealed, r.id.as_bytes())
                    .with_context(|| format!("opening the password of inbox {}", r.id))?
                    .to_vec(),
            );
            let password = std::str::from_utf8(&plain).context("an inbox password is not UTF-8")?;
            ids.push(r.id);
            hashes.push(relay_hash(&r.password_salt, password));
            tenants.insert(r.tenant_id);
        }
        let mut tx = state.pool.begin().await.context("starting")?;
        done += db::inboxes::set_hashes(&mut tx, &ids, &hashes, PASSWORD_SCHEME).await?;
        for t in &tenants {
            relay::request_in(&mut tx, &state.settings, TenantId(*t), Duration::zero()).await?;
        }
        tx.commit()
            .await
            .context("committing re-hashed passwords")?;
    }
    let mut tx = state.pool.begin().await.context("starting")?;
    done += db::inboxes::retire_unhashable(&mut tx).await?;
    tx.commit().await.context("committing")?;
    state.jobs.wake();
    Ok(done)
}

/// How often `inbox_allowance` runs (and so the window it looks back over).
pub const ALLOWANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Every tenant with an inbox entering a new warm-up day republished: the day's allowances
/// reach the relay.
pub async fn republish_allowances(state: &AppState) -> anyhow::Result<usize> {
    let tenants =
        db::inboxes::tenants_with_new_warmup_day(&state.pool, ALLOWANCE_EVERY.as_secs_f64())
            .await?;
    for t in &tenants {
        let tenant = TenantId(*t);
        let mut tx = state.pool.begin().await.context("starting")?;
        relay::request_in(&mut tx, &state.settings, tenant, Duration::zero()).await?;
        tx.commit().await.context("committing")?;
        // At once, like the request path; if the relay is down the queued job retries.
        if let Err(e) = relay::publish_now(state, tenant).await {
            tracing::warn!(tenant = %tenant.0, error = %e, "publishing a new warm-up day failed; the relay_publish job retries");
        }
    }
    state.jobs.wake();
    Ok(tenants.len())
}

/// How long the inbox page waits for the store's count.
const COUNT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The inbox's message count from the store, asked as the inbox: `None` when it cannot be
/// known now (the store down, the login refused: e.g. a suspended inbox).
pub async fn message_count(
    state: &AppState,
    address: &str,
    password: Zeroizing<String>,
) -> Option<u32> {
    let login = Login {
        address: address.to_ascii_lowercase(),
        password,
    };
    // The page waits for this: a store that is down costs it at most this long.
    let asked = tokio::time::timeout(COUNT_TIMEOUT, state.mailstore.inbox_messages(&login)).await;
    let Ok(answer) = asked else {
        tracing::warn!(address = %login.address, "counting an inbox's messages timed out");
        return None;
    };
    match answer {
        Ok(n) => Some(n),
        Err(MailStoreError::Refused(why)) => {
            tracing::info!(address = %login.address, why, "the mail store refused the inbox's login; no message count");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "counting an inbox's messages failed");
            None
        }
    }
}
