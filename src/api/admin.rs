//! Staff-only server functions (`/api/admin/*`): a customer gets 404, a visitor 401 — never
//! data.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
fn tenant_id(id: &str) -> Result<crate::domain::TenantId, AppError> {
    uuid::Uuid::parse_str(id.trim())
        .map(crate::domain::TenantId)
        .map_err(|_| AppError::NotFound)
}

/// Suspends the tenant: `category` is abuse, payment, terms or manual; a reason is required.
#[server(prefix = "/api", endpoint = "admin/tenants/suspend")]
pub async fn suspend_tenant(
    tenant: String,
    category: String,
    reason: String,
) -> Result<bool, AppError> {
    use crate::server::{fn_context as s, services::suspensions};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    let category = suspensions::category(&category)?;
    Ok(suspensions::suspend(&state, tenant_id(&tenant)?, category, &reason, &actor).await?)
}

/// Lifts the tenant's open suspensions; how many there were.
#[server(prefix = "/api", endpoint = "admin/tenants/resume")]
pub async fn resume_tenant(tenant: String, reason: String) -> Result<u64, AppError> {
    use crate::server::{fn_context as s, services::suspensions};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(suspensions::resume(&state, tenant_id(&tenant)?, &reason, &actor).await?)
}

/// Tenants by name, member email or domain, filtered by status and plan, 25 a page.
#[server(prefix = "/api", endpoint = "admin/tenants")]
pub async fn admin_tenants(
    q: String,
    status: String,
    #[server(default)] plan: String,
    page: i64,
) -> Result<crate::domain::admin::AdminTenantsView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::tenants(&state, &q, &status, &plan, page)
        .await
        .map_err(internal)
}

#[server(prefix = "/api", endpoint = "admin/tenant")]
pub async fn admin_tenant(
    tenant: String,
) -> Result<crate::domain::admin::AdminTenantDetail, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::tenant(&state, tenant_id(&tenant)?.0)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)
}

/// Extends the tenant's InboxGrove trial by `days` (1–90); the new end.
#[server(prefix = "/api", endpoint = "admin/tenants/extend-trial")]
pub async fn extend_trial(tenant: String, days: i32) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::extend_trial(&state, &actor, tenant_id(&tenant)?, days).await?)
}

/// Refunds one ledger charge or paid subscription invoice of the tenant, in full or in part
/// (`amount`, blank for all of it), once, with a reason.
#[server(prefix = "/api", endpoint = "admin/tenants/refund")]
pub async fn refund_charge(
    tenant: String,
    entry: i64,
    reason: String,
    #[server(default)] amount: Option<String>,
) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    let amount = amount.unwrap_or_default();
    Ok(admin::refund(&state, &actor, tenant_id(&tenant)?, entry, &amount, &reason).await?)
}

/// Staff open the tenant's pages as its owner would see them, read-only, until they stop;
/// the start and every page viewed are audited.
#[server(prefix = "/api", endpoint = "admin/tenants/view-as")]
pub async fn view_as(tenant: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    let tenant = tenant_id(&tenant)?;
    admin::start_view_as(&state, &actor, tenant).await?;
    s::session()
        .await?
        .set_view_as(Some(tenant.0))
        .await
        .map_err(crate::server::fn_errors::internal)?;
    s::redirect_form_post("/dashboard").await;
    Ok(())
}

/// Ends the staff member's view as a customer.
#[server(prefix = "/api", endpoint = "admin/view-as/stop")]
pub async fn stop_view_as() -> Result<(), AppError> {
    use crate::server::fn_context as s;
    let state = s::state()?;
    s::staff_actor(&state).await?;
    s::session()
        .await?
        .set_view_as(None)
        .await
        .map_err(crate::server::fn_errors::internal)?;
    s::redirect_form_post("/admin").await;
    Ok(())
}

/// Suspends one domain of a tenant (its mail and its inboxes' logins stop); a reason is
/// required and shown to the customer.
#[server(prefix = "/api", endpoint = "admin/domains/suspend")]
pub async fn suspend_domain(domain: String, reason: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    let id = uuid::Uuid::parse_str(domain.trim()).map_err(|_| AppError::NotFound)?;
    Ok(admin::suspend_domain(&state, &actor, id, &reason).await?)
}

/// Resumes a suspended domain to the status it had.
#[server(prefix = "/api", endpoint = "admin/domains/resume")]
pub async fn resume_domain(domain: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    let id = uuid::Uuid::parse_str(domain.trim()).map_err(|_| AppError::NotFound)?;
    Ok(admin::resume_domain(&state, &actor, id).await?)
}

/// Bounces the tenant's queued mail at the relay; `confirm` is the tenant's name, typed.
#[server(prefix = "/api", endpoint = "admin/tenants/purge-queues")]
pub async fn purge_queues(tenant: String, confirm: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::purge_queues(&state, &actor, tenant_id(&tenant)?, &confirm).await?)
}

/// Adds an internal note to the tenant.
#[server(prefix = "/api", endpoint = "admin/tenants/note")]
pub async fn add_note(tenant: String, body: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::add_note(&state, &actor, tenant_id(&tenant)?, &body).await?)
}

/// The audit trail across tenants, filtered by actor kind, action prefix and tenant.
#[server(prefix = "/api", endpoint = "admin/audit")]
pub async fn admin_audit(
    #[server(default)] actor: String,
    #[server(default)] action: String,
    #[server(default)] tenant: String,
    #[server(default)] before: Option<i64>,
) -> Result<crate::domain::admin::AuditView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::audit(&state, &actor, &action, &tenant, before)
        .await
        .map_err(internal)
}

/// Stripe events received, newest first; `selected` adds that event's payload.
#[server(prefix = "/api", endpoint = "admin/events")]
pub async fn admin_events(
    #[server(default)] kind: String,
    #[server(default)] selected: String,
) -> Result<crate::domain::admin::StripeEventsView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    admin::stripe_events(&state, &actor, &kind, &selected)
        .await
        .map_err(internal)
}

/// Applies a stored Stripe event again.
#[server(prefix = "/api", endpoint = "admin/events/replay")]
pub async fn replay_event(id: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::replay_event(&state, &actor, &id).await?)
}

/// Jobs with the status (pending, running, failed, done) and the count of each.
#[server(prefix = "/api", endpoint = "admin/jobs")]
pub async fn admin_jobs(
    #[server(default)] status: String,
) -> Result<crate::domain::admin::JobsView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::jobs(&state, &status).await.map_err(internal)
}

/// Runs a failed job again.
#[server(prefix = "/api", endpoint = "admin/jobs/retry")]
pub async fn retry_job(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::retry_job(&state, &actor, &id).await?)
}

/// Which providers are real and which are the sandbox; the sandbox clock.
#[server(prefix = "/api", endpoint = "admin/platform")]
pub async fn admin_platform() -> Result<crate::domain::admin::PlatformView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::platform(&state).await.map_err(internal)
}

/// Revenue from the mirrored Stripe data: MRR and its change, subscriptions by plan, trials,
/// trial-to-paid conversion, churn and refunds over 30 days; the chart over `days` (30 or 90).
#[server(prefix = "/api", endpoint = "admin/revenue")]
pub async fn admin_revenue(
    #[server(default)] days: String,
) -> Result<crate::domain::revenue::RevenueView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::reports};
    let state = s::state()?;
    s::require_staff(&state).await?;
    reports::revenue(&state, &days).await.map_err(internal)
}

/// Each provider's calls, error rate and latency over the last hour (this process).
#[server(prefix = "/api", endpoint = "admin/providers")]
pub async fn admin_providers() -> Result<crate::domain::provider_health::ProvidersView, AppError> {
    use crate::server::{fn_context as s, services::reports};
    let state = s::state()?;
    s::require_staff(&state).await?;
    Ok(reports::providers(&state))
}

/// The signed-in customer's own trail (the Activity page).
#[server(prefix = "/api", endpoint = "activity")]
pub async fn get_activity(
    #[server(default)] action: String,
    #[server(default)] before: Option<i64>,
) -> Result<crate::domain::admin::AuditView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::admin};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    admin::activity(&state, &ctx, &action, before)
        .await
        .map_err(internal)
}

/// Staff close a tenant (typing its name to confirm): the same durable closure the owner runs.
#[server(prefix = "/api", endpoint = "admin/tenants/close")]
pub async fn close_tenant(tenant: String, confirm: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::closure};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(closure::request_by_staff(&state, tenant_id(&tenant)?, &confirm, &actor).await?)
}
