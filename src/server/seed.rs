//! The demo data `make run` creates (idempotently) so a person can log in at once.

use chrono::{Duration, Utc};

use crate::domain::{CompanyName, EmailAddress, Password};
use crate::server::db;
use crate::server::db::Constraint;
use crate::server::state::AppState;

pub const DEMO_EMAIL: &str = "demo@inboxgrove.test";
pub const DEMO_PASSWORD: &str = "demo-grove-2026";
pub const STAFF_EMAIL: &str = "staff@inboxgrove.test";
pub const STAFF_PASSWORD: &str = "staff-grove-2026";
/// The demo customer's bought domain (sandbox registrar and sandbox Stripe only).
pub const DEMO_DOMAIN: &str = "demo-outreach.com";

/// Creates the demo customer (with its tenant and trial) and the staff user unless present.
pub async fn seed_demo(state: &AppState) -> anyhow::Result<()> {
    let email = EmailAddress::parse(DEMO_EMAIL).map_err(anyhow::Error::msg)?;
    let password = Password::parse(DEMO_PASSWORD).map_err(anyhow::Error::msg)?;
    let company = CompanyName::parse("Demo Outreach Co").map_err(anyhow::Error::msg)?;
    let hash = state.passwords.hash(&password).await?;
    match db::accounts::create_signup(
        &state.pool,
        db::accounts::NewSignup {
            company: &company,
            website: None,
            email: &email,
            password_hash: &hash,
            trial_ends_at: Utc::now() + Duration::days(state.settings.trial.days),
        },
    )
    .await
    {
        // The demo address is ours: it needs no link to be verified.
        Ok((_, user)) => {
            db::accounts::mark_verified(&state.pool, user, email.as_str()).await?;
        }
        Err(e) if e.violated(&Constraint::UsersEmail) => {}
        Err(e) => return Err(e.into()),
    }

    let staff = EmailAddress::parse(STAFF_EMAIL).map_err(anyhow::Error::msg)?;
    let staff_hash = state
        .passwords
        .hash(&Password::parse(STAFF_PASSWORD).map_err(anyhow::Error::msg)?)
        .await?;
    db::accounts::create_staff_user(&state.pool, &staff, &staff_hash).await?;
    Ok(())
}

/// Under `make run` (sandbox registrar and sandbox Stripe): buys the demo customer a domain
/// through the real purchase path — Checkout paid with the sandbox card 4242…, so the card is on
/// file, then the payment webhook and the saga — unless the demo workspace has a live domain
/// already. Staff can then move the sandbox clock a year and watch it renew. Runs in the serving
/// process (the sandbox delivers the payment webhook to it over HTTP).
pub async fn seed_demo_domain(state: &AppState) -> anyhow::Result<()> {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return Ok(());
    };
    if state.registrar.name() != "sandbox" {
        return Ok(());
    }
    let Some(ctx) = crate::server::auth::guard::member_by_email(state, DEMO_EMAIL).await? else {
        return Ok(());
    };
    let mut tx = ctx.begin(state).await?;
    let has = !db::domains::list(&mut tx, ctx.tenant_id())
        .await?
        .is_empty();
    tx.commit().await?;
    if has {
        return Ok(());
    }
    let actor = db::audit::Actor::system("demo seed");
    let url = crate::server::services::domains::buy(state, &ctx, DEMO_DOMAIN, &actor)
        .await
        .map_err(|e| anyhow::anyhow!("buying the demo domain: {e}"))?;
    let checkout = url.rsplit('/').next().unwrap_or_default();
    sandbox
        .pay(
            checkout,
            crate::server::providers::payments::sandbox::CARD_OK,
        )
        .await
        .map_err(|e| anyhow::anyhow!("paying for the demo domain: {e}"))?;
    tracing::info!(domain = DEMO_DOMAIN, "demo domain bought");
    Ok(())
}
