//! Deliverability: the workspace's, a domain's and an inbox's figures and health, the
//! blocklist check on demand, and staff's ranking.

use leptos::prelude::*;

use crate::domain::deliverability::{BlocklistStatus, DeliverabilityView, StaffDeliverability};
use crate::error::AppError;

/// `scope`: `workspace`, `domain` or `inbox` (then `id` names it); `days`: 7, 30 or 90
/// (anything else is 30). Another workspace's domain or inbox is 404.
#[server(prefix = "/api", endpoint = "deliverability")]
pub async fn get_deliverability(
    scope: String,
    #[server(default)] id: String,
    #[server(default)] days: String,
) -> Result<DeliverabilityView, AppError> {
    use crate::server::{fn_context as s, services::deliverability as d};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let id = || uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound);
    let scope = match scope.as_str() {
        "workspace" => d::Scope::Workspace,
        "domain" => d::Scope::Domain(id()?),
        "inbox" => d::Scope::Inbox(id()?),
        _ => return Err(AppError::NotFound),
    };
    let days = crate::domain::deliverability::period(Some(&days));
    Ok(d::page(&state, &ctx, scope, days).await?)
}

/// Looks the domain up on every domain blocklist now (owners and admins).
#[server(prefix = "/api", endpoint = "deliverability/check-blocklists")]
pub async fn check_blocklists(id: String) -> Result<BlocklistStatus, AppError> {
    use crate::server::{fn_context as s, services::deliverability::blocklists};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    ctx.require_manager()?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    Ok(blocklists::check_now(&state, &ctx, id).await?)
}

#[server(prefix = "/api", endpoint = "admin/deliverability")]
pub async fn get_staff_deliverability() -> Result<StaffDeliverability, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::deliverability};
    let state = s::state()?;
    s::require_staff(&state).await?;
    deliverability::staff(&state).await.map_err(internal)
}
