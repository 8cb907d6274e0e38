//! The signed-in user's own account: confirming the address, sessions, password.

use leptos::prelude::*;

use crate::domain::security::SessionView;
use crate::error::AppError;

/// Mails a new verification link to the signed-in user's address (at most one a minute).
#[server(prefix = "/api", endpoint = "account/resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::accounts};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(accounts::resend_verification(&state, &ctx).await?)
}

/// The user's signed-in browsers, this one marked.
#[server(prefix = "/api", endpoint = "account/sessions")]
pub async fn get_sessions() -> Result<Vec<SessionView>, AppError> {
    use crate::server::{fn_context as s, services::security};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let current = s::current_sid().await?;
    Ok(security::sessions(&state, &ctx, current).await?)
}

/// Ends one of the user's sessions (ending this browser's is logging out).
#[server(prefix = "/api", endpoint = "account/end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::security};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    Ok(security::end_session(&state, &ctx, id, &s::origin().await).await?)
}

/// "Sign out everywhere else"; returns how many sessions ended.
#[server(prefix = "/api", endpoint = "account/end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    use crate::server::{fn_context as s, services::security};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let current = s::current_sid().await?;
    Ok(security::end_other_sessions(&state, &ctx, current, &s::origin().await).await?)
}

/// Changes the password (the current one required); every other session ends.
#[server(prefix = "/api", endpoint = "account/change_password")]
pub async fn change_password(current: String, password: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::security};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let sid = s::current_sid().await?;
    let ip = s::client_ip().await?;
    let origin = s::origin().await;
    Ok(security::change_password(&state, &ctx, sid, &current, &password, ip, &origin).await?)
}

/// The signed-in user, the current workspace and role, and every workspace they belong to
/// (what `GET /api/auth/me` answers, for the pages).
#[server(prefix = "/api", endpoint = "auth/whoami")]
pub async fn me() -> Result<crate::domain::team::MeView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::team};
    let state = s::state()?;
    let session = s::session().await?;
    let auth = session.auth().await.map_err(internal)?;
    Ok(team::me_of_session(&state, auth).await?)
}

/// Works in another of the user's workspaces from now on.
#[server(prefix = "/api", endpoint = "account/switch_workspace")]
pub async fn switch_workspace(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let tenant = team::member_of(&state, ctx.user_id(), &id).await?;
    s::work_in(tenant).await
}

/// Creates another workspace (the user owns it, with its own trial) and switches to it.
#[server(prefix = "/api", endpoint = "account/create_workspace")]
pub async fn create_workspace(company: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let tenant = team::create_workspace(&state, &ctx, &company, &s::origin().await).await?;
    s::work_in(tenant).await
}

/// Asks to change the account's email (the current password required): the new address gets
/// a link, and the change happens when it is opened. Returns the new address.
#[server(prefix = "/api", endpoint = "account/change_email")]
pub async fn change_email(email: String, current: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::accounts};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let ip = s::client_ip().await?;
    let new = accounts::request_email_change(&state, &ctx, &email, &current, ip).await?;
    Ok(new.as_str().to_string())
}
