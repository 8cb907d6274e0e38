//! `/settings/api`: API keys, webhook endpoints, the cold-email tools' keys, and the push of
//! inboxes to a tool from the inbox list.

use leptos::prelude::*;

use crate::domain::api::{ApiSettingsView, CreatedKey, PushItem};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "integrations")]
pub async fn get_integrations() -> Result<ApiSettingsView, AppError> {
    use crate::server::{fn_context as s, services::integrations};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(integrations::view(&state, &ctx).await?)
}

/// `scopes`: comma-separated; `expires_days`: empty for none.
#[server(prefix = "/api", endpoint = "integrations/key/create")]
pub async fn create_api_key(
    name: String,
    scopes: String,
    #[server(default)] expires_days: String,
) -> Result<CreatedKey, AppError> {
    use crate::server::{fn_context as s, services::integrations};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(integrations::create_key(&state, &ctx, &name, &scopes, &expires_days, &actor).await?)
}

#[server(prefix = "/api", endpoint = "integrations/key/revoke")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::integrations};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(integrations::revoke_key(&state, &ctx, &id, &actor).await?)
}

/// Registers an endpoint; returns its signing secret (shown once).
#[server(prefix = "/api", endpoint = "integrations/webhook/create")]
pub async fn create_webhook(url: String, events: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::integrations::webhooks};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(webhooks::create(&state, &ctx, &url, &events, &actor)
        .await?
        .1)
}

/// `action`: `delete`, `rotate` (returns the new secret), `enable` or `test`.
#[server(prefix = "/api", endpoint = "integrations/webhook/change")]
pub async fn change_webhook(id: String, action: String) -> Result<Option<String>, AppError> {
    use crate::server::{fn_context as s, services::integrations::webhooks};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    match action.as_str() {
        "delete" => webhooks::delete(&state, &ctx, &id, &actor).await?,
        "rotate" => return Ok(Some(webhooks::rotate(&state, &ctx, &id, &actor).await?)),
        "enable" => webhooks::enable(&state, &ctx, &id).await?,
        "test" => webhooks::send_test(&state, &ctx, &id).await?,
        _ => {
            return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                "action",
                "Choose delete, rotate, enable or test.",
            )]));
        }
    }
    Ok(None)
}

#[server(prefix = "/api", endpoint = "integrations/webhook/resend")]
pub async fn resend_delivery(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::integrations::webhooks};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(webhooks::resend(&state, &ctx, &id, &actor).await?)
}

/// Stores the workspace's key for `tool` (`instantly` or `smartlead`); empty removes it.
#[server(prefix = "/api", endpoint = "integrations/tool")]
pub async fn connect_tool(tool: String, key: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::integrations::push};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(push::connect(&state, &ctx, &tool, &key, &actor).await?)
}

/// Adds the inboxes `ids` (comma-separated) to the workspace's account in `tool`.
#[server(prefix = "/api", endpoint = "integrations/push")]
pub async fn push_inboxes(tool: String, ids: String) -> Result<Vec<PushItem>, AppError> {
    use crate::server::{fn_context as s, services::integrations::push};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(push::push(&state, &ctx, &tool, &ids, &actor).await?)
}
