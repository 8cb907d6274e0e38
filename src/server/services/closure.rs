//! Closing a workspace. The owner types the workspace's name to confirm (staff can start the
//! same from the admin panel); from that moment the door admits nobody into it. A durable
//! job then runs the steps below in order, each recorded once done, so a crash or a provider
//! outage resumes at the first step not done — like the purchase saga:
//!
//! 1. `subscription`: cancel the subscription at the payment provider (no further charge);
//! 2. `relay`: withdraw every inbox and domain from the relay (KumoMTA stops relaying);
//! 3. `domains`: delete the domains (bought ones are never renewed; their names are free);
//! 4. `inboxes`: delete the inboxes and their credentials;
//! 5. `people`: remove the members, and delete users who belong to no other workspace;
//! 6. `pseudonymise`: personal fields out of the audit trail and the mail log (what happened
//!    stays);
//! 7. `mail`: tell the owner it is done.

use crate::domain::{EmailAddress, TenantId};
use crate::error::FieldError;
use crate::server::auth::TenantCtx;
use crate::server::db::audit::{Actor, Change, TenantAction};
use crate::server::db::{self};
use crate::server::jobs::{Job, JobError, NewJob};
use crate::server::providers::mail::OutgoingMail;
use crate::server::providers::payments::SubscriptionChange;
use crate::server::services::accounts::AccountError;
use crate::server::state::AppState;

pub const CLOSE_KIND: &str = "workspace_close";

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    tenant_id: uuid::Uuid,
}

/// The owner closes their workspace: `confirm` must be its name, exactly as shown.
pub async fn request(
    state: &AppState,
    ctx: &TenantCtx,
    confirm: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let mut tx = ctx.begin(state).await?;
    let name = db::tenants::name(&mut tx, ctx).await?;
    crate::server::auth::end_read(tx);
    if confirm.trim() != name {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "confirm",
            format!("Type the workspace's name, {name}, to confirm."),
        )]));
    }
    let email = db::accounts::user_email(&state.pool, ctx.user_id()).await?;
    start(state, ctx.tenant_id(), Some(&email), actor).await
}

/// Staff close a tenant from the admin panel (the same confirmation: its name).
pub async fn request_by_staff(
    state: &AppState,
    tenant: TenantId,
    confirm: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let name = db::admin::tenant_name(&state.pool, tenant)
        .await?
        .ok_or(AccountError::NotFound)?;
    if confirm.trim() != name {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "confirm",
            format!("Type the workspace's name, {name}, to confirm."),
        )]));
    }
    let owner = db::admin::owner_email(&state.pool, tenant).await?;
    start(state, tenant, owner.as_deref(), actor).await
}

async fn start(
    state: &AppState,
    tenant: TenantId,
    notify: Option<&str>,
    actor: &Actor,
) -> Result<(), AccountError> {
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    if db::closure::begin(&mut tx, tenant, notify, &actor.describe()).await? {
        state
            .jobs
            .enqueue_in(
                &mut tx,
                NewJob::new(
                    CLOSE_KIND,
                    &Payload {
                        tenant_id: tenant.0,
                    },
                )
                .tenant(tenant)
                .dedupe(format!("{CLOSE_KIND}:{}", tenant.0))
                .max_attempts(20),
            )
            .await?;
        db::audit::tenant(
            &mut *tx,
            actor,
            tenant,
            TenantAction::Close,
            &format!("tenant:{}", tenant.0),
            Change::after(serde_json::json!({ "status": "closed" })),
        )
        .await?;
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.jobs.wake();
    Ok(())
}

const STEPS: [&str; 7] = [
    "subscription",
    "relay",
    "domains",
    "inboxes",
    "people",
    "pseudonymise",
    "mail",
];

/// The job: every step not done yet, in order.
pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let Payload { tenant_id } = job.payload()?;
    let tenant = TenantId(tenant_id);
    let Some(closure) = db::closure::get(&state.pool, tenant).await? else {
        return Ok(());
    };
    if closure.finished {
        return Ok(());
    }
    let done = db::closure::steps_done(&state.pool, tenant).await?;
    for step in STEPS {
        if done.iter().any(|d| d == step) {
            continue;
        }
        let detail = run_step(state, tenant, step, &closure).await?;
        db::closure::step_done(&state.pool, tenant, step, detail).await?;
        tracing::info!(tenant = %tenant.0, step, "workspace closure step done");
    }
    db::closure::finish(&state.pool, tenant).await?;
    Ok(())
}

async fn run_step(
    state: &AppState,
    tenant: TenantId,
    step: &str,
    closure: &db::closure::Closure,
) -> Result<serde_json::Value, JobError> {
    Ok(match step {
        "subscription" => match db::closure::live_subscription(&state.pool, tenant).await? {
            Some(sub) => {
                state
                    .payments
                    .update_subscription(
                        &sub,
                        &SubscriptionChange::CancelAtPeriodEnd,
                        &format!("ig:close:{}:{sub}", tenant.0),
                    )
                    .await
                    .map_err(|e| JobError::Retry(anyhow::anyhow!("canceling {sub}: {e}")))?;
                serde_json::json!({ "canceled": sub })
            }
            None => serde_json::json!({ "canceled": null }),
        },
        "relay" => {
            state
                .relay
                .remove_tenant(tenant)
                .await
                .map_err(|e| JobError::Retry(anyhow::anyhow!("withdrawing from the relay: {e}")))?;
            serde_json::json!({ "withdrawn": true })
        }
        "domains" => {
            let mut conn = state.pool.acquire().await.map_err(anyhow::Error::from)?;
            serde_json::json!({ "deleted": db::closure::drop_domains(&mut conn, tenant).await? })
        }
        "inboxes" => {
            let mut conn = state.pool.acquire().await.map_err(anyhow::Error::from)?;
            serde_json::json!({ "deleted": db::closure::drop_inboxes(&mut conn, tenant).await? })
        }
        "people" => {
            let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
            let (members, users) = db::closure::drop_people(&mut tx, tenant).await?;
            tx.commit().await.map_err(anyhow::Error::from)?;
            serde_json::json!({ "members": members, "users_deleted": users })
        }
        "pseudonymise" => {
            let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
            let rows = db::closure::pseudonymise(&mut tx, tenant).await?;
            tx.commit().await.map_err(anyhow::Error::from)?;
            serde_json::json!({ "audit_rows": rows })
        }
        "mail" => {
            if let Some(Ok(to)) = closure.notify_email.as_deref().map(EmailAddress::parse) {
                crate::server::services::outbox::send(
                    state,
                    &OutgoingMail {
                        to,
                        subject: "Your InboxGrove workspace is closed".into(),
                        body: format!(
                            "{} is closed. Its subscription is canceled, its domains and \
                             inboxes are gone from our relay and deleted, and its people's \
                             personal details are removed; the record of what happened \
                             stays, without them.\n\nThank you for using InboxGrove.\n",
                            closure.workspace_name
                        ),
                        tenant_id: None,
                        idempotency_key: Some(format!("closed:{}", tenant.0)),
                    },
                )
                .await
                .map_err(|e| JobError::Retry(e.into()))?;
            }
            serde_json::json!({ "mailed": closure.notify_email.is_some() })
        }
        other => {
            return Err(JobError::Fatal(anyhow::anyhow!(
                "unknown closure step {other}"
            )));
        }
    })
}
