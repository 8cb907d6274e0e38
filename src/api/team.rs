//! The workspace's people (`/settings/team`) and invitation links.

use leptos::prelude::*;

use crate::domain::team::{InvitationInfo, TeamView};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "team")]
pub async fn get_team() -> Result<TeamView, AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(team::view(&state, &ctx).await?)
}

/// Invites `email` as `role` (admin or member); returns the invitation's id.
#[server(prefix = "/api", endpoint = "team/invite")]
pub async fn invite_member(email: String, role: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(team::invite(&state, &ctx, &email, &role, &actor).await?)
}

#[server(prefix = "/api", endpoint = "team/revoke")]
pub async fn revoke_invitation(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(team::revoke(&state, &ctx, &id, &actor).await?)
}

#[server(prefix = "/api", endpoint = "team/role")]
pub async fn change_role(user: String, role: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(team::change_role(&state, &ctx, &user, &role, &actor).await?)
}

#[server(prefix = "/api", endpoint = "team/remove")]
pub async fn remove_member(user: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(team::remove(&state, &ctx, &user, &actor).await?)
}

/// Leaves the workspace (not as its last owner); the browser moves to another workspace of
/// the user's, or is signed out when there is none.
#[server(prefix = "/api", endpoint = "team/leave")]
pub async fn leave_workspace() -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    team::remove(&state, &ctx, &ctx.user_id().0.to_string(), &actor).await?;
    s::move_on(&state, ctx.user_id(), ctx.tenant_id()).await
}

/// Hands ownership to another member; the current owner becomes an admin.
#[server(prefix = "/api", endpoint = "team/transfer")]
pub async fn transfer_ownership(user: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(team::transfer(&state, &ctx, &user, &actor).await?)
}

/// What an invitation link's page shows.
#[server(prefix = "/api", endpoint = "auth/invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationInfo, AppError> {
    use crate::server::{fn_context as s, services::team};
    let state = s::state()?;
    let user = s::signed_in_user().await?;
    Ok(team::invitation(&state, &token, user).await?)
}

/// Accepts an invitation (see `services::team::accept`), signs in to that workspace and goes
/// to its dashboard.
#[server(prefix = "/api", endpoint = "auth/accept_invitation")]
pub async fn accept_invitation(
    token: String,
    #[server(default)] password: String,
) -> Result<(), AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::team};
    let state = s::state()?;
    let origin = s::origin().await;
    let user = s::signed_in_user().await?;
    let joined = team::accept(&state, &token, user, &password, &origin).await?;
    let session = s::session().await?;
    match (session.auth().await.map_err(internal)?, joined.tenant_id) {
        (Some(auth), Some(tenant)) if user.is_some() => {
            session
                .switch_tenant(auth, tenant)
                .await
                .map_err(internal)?;
        }
        _ => s::sign_in(&state, &joined, &origin).await?,
    }
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// The owner asks for an export of the workspace (inbox credentials only when asked for); a
/// job builds it and mails the download link. Returns the export's id.
#[server(prefix = "/api", endpoint = "team/export")]
pub async fn export_workspace(
    #[server(default)] include_credentials: bool,
) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::workspace_export};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    let id = workspace_export::request(&state, &ctx, include_credentials, &actor).await?;
    Ok(id.to_string())
}

/// The owner closes the workspace, typing its name to confirm. The browser moves to another
/// of the user's workspaces, or is signed out.
#[server(prefix = "/api", endpoint = "team/close")]
pub async fn close_workspace(confirm: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::closure};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    closure::request(&state, &ctx, &confirm, &actor).await?;
    s::move_on(&state, ctx.user_id(), ctx.tenant_id()).await
}
