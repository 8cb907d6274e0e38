//! Two-factor sign-in: the user's own (staff too, so these sit under `/api/auth/`), the second
//! step of signing in, and the workspace's rule.

use leptos::prelude::*;

use crate::domain::security::{TotpSetup, TwoFactorStatus};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "auth/two_factor")]
pub async fn get_two_factor() -> Result<TwoFactorStatus, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::two_factor};
    let state = s::state()?;
    let user = s::signed_in_user().await?.ok_or(AppError::Unauthorized)?;
    let tenant = s::session()
        .await?
        .auth()
        .await
        .map_err(internal)?
        .and_then(|a| a.tenant_id);
    Ok(two_factor::status(&state, user, tenant.map(crate::domain::TenantId)).await?)
}

/// Starts enrolling: the QR code and the secret to type in.
#[server(prefix = "/api", endpoint = "auth/two_factor/start")]
pub async fn start_two_factor() -> Result<TotpSetup, AppError> {
    use crate::server::{fn_context as s, services::two_factor};
    let state = s::state()?;
    let user = s::signed_in_user().await?.ok_or(AppError::Unauthorized)?;
    Ok(two_factor::start(&state, user).await?)
}

/// Confirms enrolment with a code from the app; returns the recovery codes, shown once.
#[server(prefix = "/api", endpoint = "auth/two_factor/confirm")]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::{fn_context as s, services::two_factor};
    let state = s::state()?;
    let user = s::signed_in_user().await?.ok_or(AppError::Unauthorized)?;
    let ip = s::client_ip().await?;
    Ok(two_factor::confirm(&state, user, &code, ip, &s::origin().await).await?)
}

/// Turns two-factor sign-in off; needs a current code or a recovery code.
#[server(prefix = "/api", endpoint = "auth/two_factor/disable")]
pub async fn disable_two_factor(code: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::two_factor};
    let state = s::state()?;
    let user = s::signed_in_user().await?.ok_or(AppError::Unauthorized)?;
    let ip = s::client_ip().await?;
    Ok(two_factor::disable(&state, user, &code, ip, &s::origin().await).await?)
}

/// The second step of signing in: the code (or a recovery code) after the right password.
#[server(prefix = "/api", endpoint = "auth/login_code")]
pub async fn login_code(
    code: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::services::{accounts::SignedIn, two_factor};
    use crate::server::{fn_context as s, fn_errors::internal};
    let state = s::state()?;
    let session = s::session().await?;
    let pending = session
        .pending_2fa()
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            AppError::Forbidden("This sign-in timed out. Log in with your password again.".into())
        })?;
    let user = crate::domain::UserId(pending.user_id);
    let ip = s::client_ip().await?;
    two_factor::sign_in_code(&state, user, &code, ip).await?;
    session.clear_pending_2fa().await.map_err(internal)?;
    let who = SignedIn {
        user_id: user,
        tenant_id: pending.tenant_id.map(crate::domain::TenantId),
    };
    s::sign_in(&state, &who, &s::origin().await).await?;
    let target = if who.tenant_id.is_none() {
        "/staff"
    } else {
        s::safe_next(next.as_deref().filter(|n| !n.is_empty()))
    };
    leptos_axum::redirect(target);
    Ok(())
}

/// An owner requires (or stops requiring) two-factor sign-in of the whole workspace.
#[server(prefix = "/api", endpoint = "team/require_2fa")]
pub async fn require_two_factor(on: bool) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::two_factor};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(two_factor::set_workspace_rule(&state, &ctx, on, &actor).await?)
}
