//! Domains: search, buy, connect your own, the list and one domain, re-check, repair, delete.

use leptos::prelude::*;

use crate::domain::domains::{DomainDetail, DomainsView, SearchView};
use crate::error::AppError;

#[cfg(feature = "ssr")]
fn domain_id(id: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)
}

#[server(prefix = "/api", endpoint = "domains")]
pub async fn get_domains() -> Result<DomainsView, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(domains::list(&state, &ctx).await?)
}

/// Availability and price for a name, or for a keyword with each offered extension.
#[server(prefix = "/api", endpoint = "domains/search")]
pub async fn search_domains(query: String) -> Result<SearchView, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(domains::search(&state, &ctx, &query).await?)
}

/// Reserves the name and returns the Checkout URL to pay for it (a plain form post is
/// redirected there).
#[server(prefix = "/api", endpoint = "domains/buy")]
pub async fn buy_domain(name: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    ctx.require_verified()?;
    let url = domains::buy(&state, &ctx, &name, &s::actor(&ctx).await).await?;
    s::redirect_form_post(&url).await;
    Ok(url)
}

/// Connects a domain the customer owns; returns its id.
#[server(prefix = "/api", endpoint = "domains/connect")]
pub async fn connect_domain(name: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    ctx.require_verified()?;
    let id = domains::add_own(&state, &ctx, &name, &s::actor(&ctx).await).await?;
    leptos_axum::redirect(&format!("/domains/{id}"));
    Ok(id.to_string())
}

#[server(prefix = "/api", endpoint = "domains/detail")]
pub async fn get_domain(id: String) -> Result<DomainDetail, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(domains::detail(&state, &ctx, domain_id(&id)?).await?)
}

/// "Re-check now" / "Verify".
#[server(prefix = "/api", endpoint = "domains/recheck")]
pub async fn recheck_domain(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let id = domain_id(&id)?;
    domains::recheck(&state, &ctx, id).await?;
    leptos_axum::redirect(&format!("/domains/{id}"));
    Ok(())
}

/// "Repair" / "Create the records for me" (zones in our DNS account).
#[server(prefix = "/api", endpoint = "domains/repair")]
pub async fn repair_domain(id: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let id = domain_id(&id)?;
    domains::repair(&state, &ctx, id, &s::actor(&ctx).await).await?;
    leptos_axum::redirect(&format!("/domains/{id}"));
    Ok(())
}

/// "Auto-renew" on or off (bought domains).
#[server(prefix = "/api", endpoint = "domains/auto-renew")]
pub async fn set_auto_renew(id: String, on: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let id = domain_id(&id)?;
    let on = match on.as_str() {
        "true" | "on" => true,
        "false" | "off" => false,
        _ => {
            return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                "on",
                "Say on or off.",
            )]));
        }
    };
    domains::set_auto_renew(&state, &ctx, id, on, &s::actor(&ctx).await).await?;
    leptos_axum::redirect(&format!("/domains/{id}"));
    Ok(())
}

/// Removes the domain; returns the note to show (a registration runs until it expires).
#[server(prefix = "/api", endpoint = "domains/delete")]
pub async fn delete_domain(id: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::domains};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let note = domains::delete(&state, &ctx, domain_id(&id)?, &s::actor(&ctx).await).await?;
    leptos_axum::redirect("/domains");
    Ok(note)
}
