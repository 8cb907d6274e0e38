use leptos::prelude::*;

use crate::domain::billing::{BillingView, CardView, CheckoutStatus};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "billing")]
pub async fn get_billing() -> Result<BillingView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    billing::overview(&state, &ctx).await.map_err(internal)
}

/// Choose, upgrade or downgrade. Returns the Checkout URL to send the browser to, or `None`
/// when the live subscription was changed in place.
#[server(prefix = "/api", endpoint = "billing/plan")]
pub async fn choose_plan(plan: String) -> Result<Option<String>, AppError> {
    use crate::server::fn_context as s;
    use crate::server::services::billing::{self, PlanOutcome};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    match billing::choose_plan(&state, &ctx, plan.trim(), &actor).await? {
        PlanOutcome::Checkout(url) => {
            s::redirect_form_post(&url).await;
            Ok(Some(url))
        }
        PlanOutcome::Changed => {
            leptos_axum::redirect("/billing");
            Ok(None)
        }
    }
}

/// Cancel at the end of the period (`cancel = true`) or keep the subscription.
#[server(prefix = "/api", endpoint = "billing/cancel")]
pub async fn set_cancel(cancel: bool) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    billing::set_cancel_at_period_end(&state, &ctx, cancel, &actor).await?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// The Billing Portal ("Manage payment methods").
#[server(prefix = "/api", endpoint = "billing/portal")]
pub async fn open_portal() -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let url = billing::portal_url(&state, &ctx).await?;
    s::redirect_form_post(&url).await;
    Ok(url)
}

/// The workspace's saved cards (brand, last 4, expiry, default).
#[server(prefix = "/api", endpoint = "billing/cards")]
pub async fn get_cards() -> Result<Vec<CardView>, AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(billing::cards(&state, &ctx).await?)
}

/// "Add a card": Checkout in setup mode. Returns the URL to send the browser to.
#[server(prefix = "/api", endpoint = "billing/cards/add")]
pub async fn add_card() -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let url = billing::add_card_url(&state, &ctx).await?;
    s::redirect_form_post(&url).await;
    Ok(url)
}

/// "Make default".
#[server(prefix = "/api", endpoint = "billing/cards/default")]
pub async fn set_default_card(card: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    billing::set_default_card(&state, &ctx, &card, &actor).await?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// "Remove" (not the default card).
#[server(prefix = "/api", endpoint = "billing/cards/remove")]
pub async fn remove_card(card: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    billing::remove_card(&state, &ctx, &card, &actor).await?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// What the database says about a Checkout session (never trusts the redirect alone).
#[server(prefix = "/api", endpoint = "billing/checkout-status")]
pub async fn get_checkout_status(session_id: String) -> Result<CheckoutStatus, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::billing};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    billing::checkout_status(&state, &ctx, &session_id)
        .await
        .map_err(internal)
}

/// Staff only, sandbox only: move the sandbox Stripe clock forward by `days`. Returns the
/// number of webhook events that were delivered.
#[server(prefix = "/api", endpoint = "staff/sandbox-clock")]
pub async fn advance_sandbox_clock(days: i64) -> Result<usize, AppError> {
    use crate::server::{fn_context as s, services::admin};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(admin::advance_clock(&state, &actor, days).await?)
}
