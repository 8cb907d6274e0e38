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
