//! The kill switch. Suspending a tenant (staff, or an automatic trigger as `system`) opens a
//! suspension: from then on every customer page, server function and API call of the tenant
//! answers 403 with the category (`http::middleware::kill_switch`), its logins are withdrawn at
//! the relay and its queues held there (`relay::reconcile_hold`), and its background jobs wait
//! (the worker defers them). Stripe webhooks are still applied. Resume lifts it and reverses
//! each effect. Suspensions are kept, with actor, reason and times; each is audited.

use anyhow::Context;

use crate::domain::{SuspensionCategory, TenantId};
use crate::server::db;
use crate::server::db::audit::{Actor, Change};
use crate::server::services::inboxes::relay;
use crate::server::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum SuspensionError {
    #[error("{0}")]
    Invalid(String),
    #[error("Not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(SuspensionError);

/// The category staff typed, or the error listing the valid ones.
pub fn category(text: &str) -> Result<SuspensionCategory, SuspensionError> {
    SuspensionCategory::parse(text).ok_or_else(|| {
        let all: Vec<&str> = SuspensionCategory::ALL.iter().map(|c| c.as_str()).collect();
        SuspensionError::Invalid(format!("Choose a category: {}.", all.join(", ")))
    })
}

/// The message a suspended customer sees.
pub fn notice(category: impl std::fmt::Display) -> String {
    format!(
        "Your account is suspended ({category}). Nothing can be viewed or changed until it is resumed. Contact support@inboxgrove.com to resolve it."
    )
}

/// How a suspension records who opened or lifted it: `staff:<email>`, `system:<trigger>`.
/// Opens a suspension; false when one of this category was already open.
pub async fn suspend(
    state: &AppState,
    tenant: TenantId,
    category: SuspensionCategory,
    reason: &str,
    actor: &Actor,
) -> Result<bool, SuspensionError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(SuspensionError::Invalid(
            "A reason of 1 to 500 characters is required.".into(),
        ));
    }
    let mut tx = state.pool.begin().await.context("starting")?;
    if !db::tenants::exists(&mut *tx, tenant).await? {
        return Err(SuspensionError::NotFound);
    }
    let label = actor.describe();
    let Some(id) =
        db::suspensions::insert(&mut tx, tenant, category, reason, &label, actor.id).await?
    else {
        return Ok(false);
    };
    db::suspensions::refresh_tenant_status(&mut tx, tenant).await?;
    relay::request_in(&mut tx, &state.settings, tenant, chrono::Duration::zero()).await?;
    db::audit::tenant(
        &mut *tx,
        actor,
        tenant,
        db::audit::TenantAction::Suspend,
        &format!("suspension:{id}"),
        Change::from_to(
            serde_json::json!({ "status": "active" }),
            serde_json::json!({ "status": "suspended", "category": category, "reason": reason }),
        ),
    )
    .await?;
    crate::server::services::integrations::webhooks::emit(
        &mut tx,
        state,
        tenant,
        "workspace.suspended",
        serde_json::json!({ "category": category, "reason": reason }),
    )
    .await?;
    tx.commit().await.context("committing the suspension")?;
    state.jobs.wake();
    apply_at_relay(state, tenant).await;
    Ok(true)
}

/// Lifts every open suspension of the tenant; how many were open.
pub async fn resume(
    state: &AppState,
    tenant: TenantId,
    reason: &str,
    actor: &Actor,
) -> Result<u64, SuspensionError> {
    let mut tx = state.pool.begin().await.context("starting")?;
    if !db::tenants::exists(&mut *tx, tenant).await? {
        return Err(SuspensionError::NotFound);
    }
    let by = actor.describe();
    let reason = if reason.trim().is_empty() {
        "resumed"
    } else {
        reason.trim()
    };
    let lifted = db::suspensions::lift_all(&mut tx, tenant, &by, reason).await?;
    if lifted == 0 {
        return Ok(0);
    }
    db::suspensions::refresh_tenant_status(&mut tx, tenant).await?;
    relay::request_in(&mut tx, &state.settings, tenant, chrono::Duration::zero()).await?;
    db::audit::tenant(
        &mut *tx,
        actor,
        tenant,
        db::audit::TenantAction::Resume,
        &format!("tenant:{}", tenant.0),
        Change::from_to(
            serde_json::json!({ "status": "suspended" }),
            serde_json::json!({ "status": "active", "reason": reason }),
        ),
    )
    .await?;
    tx.commit().await.context("committing the resume")?;
    apply_at_relay(state, tenant).await;
    Ok(lifted)
}

/// The request path's own attempt at the relay; the `relay_publish` job queued with the change
/// retries whatever fails here.
async fn apply_at_relay(state: &AppState, tenant: TenantId) {
    let done = match relay::publish_now(state, tenant).await {
        Ok(_) => relay::reconcile_hold(state, tenant).await,
        Err(e) => Err(e),
    };
    if let Err(e) = done {
        tracing::warn!(tenant = %tenant.0, error = %e, "the relay did not take the suspension change yet; the job retries");
        state.jobs.wake();
    }
}
