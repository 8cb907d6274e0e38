//! Inboxes: the wizard, "Provision", the list and one inbox, reveal, suspend / resume /
//! delete, display name and daily cap. (The credentials download is a plain GET:
//! `/inboxes/export`.)

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::domain::inboxes::{BatchForm, InboxFilter};
use crate::domain::inboxes::{BatchResult, InboxDetail, InboxesView, WizardView};
use crate::error::AppError;

#[cfg(feature = "ssr")]
fn inbox_id(id: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)
}

#[server(prefix = "/api", endpoint = "inboxes/wizard")]
pub async fn get_wizard() -> Result<WizardView, AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(inboxes::wizard(&state, &ctx).await?)
}

/// Creates the whole batch, or nothing. The same `idempotency_key` twice gives one batch.
#[server(prefix = "/api", endpoint = "inboxes/provision")]
#[allow(clippy::too_many_arguments)]
pub async fn provision_inboxes(
    domains: String,
    per_domain: String,
    convention: String,
    personas: String,
    display: String,
    company: String,
    idempotency_key: String,
) -> Result<BatchResult, AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let form = BatchForm {
        domains,
        per_domain,
        convention,
        personas,
        display,
        company,
    };
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    ctx.require_verified()?;
    let actor = s::actor(&ctx).await;
    let done = inboxes::provision(&state, &ctx, &form, &idempotency_key, &actor).await?;
    s::redirect_form_post(&format!("/inboxes?batch={}", done.batch_id)).await;
    Ok(done)
}

#[server(prefix = "/api", endpoint = "inboxes")]
pub async fn get_inboxes(
    domain: String,
    status: String,
    batch: String,
    page: i64,
) -> Result<InboxesView, AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let some = |v: String| Some(v).filter(|v| !v.trim().is_empty());
    let filter = InboxFilter {
        domain: some(domain),
        status: some(status),
        batch: some(batch),
        ids: None,
    };
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(inboxes::list(&state, &ctx, &filter, page).await?)
}

#[server(prefix = "/api", endpoint = "inboxes/detail")]
pub async fn get_inbox(id: String) -> Result<InboxDetail, AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    Ok(inboxes::detail(&state, &ctx, inbox_id(&id)?).await?)
}

/// The SMTP password (audited).
#[server(prefix = "/api", endpoint = "inboxes/reveal")]
pub async fn reveal_inbox(id: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    Ok(inboxes::reveal(&state, &ctx, inbox_id(&id)?, &actor).await?)
}

/// `action`: `suspend`, `resume` or `delete`.
#[server(prefix = "/api", endpoint = "inboxes/change")]
pub async fn change_inbox(id: String, action: String) -> Result<(), AppError> {
    use crate::server::fn_context as s;
    use crate::server::services::inboxes::{self, Change};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let change = match action.as_str() {
        "suspend" => Change::Suspend,
        "resume" => Change::Resume,
        "delete" => Change::Delete,
        _ => {
            return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                "action",
                "Choose suspend, resume or delete.",
            )]));
        }
    };
    let actor = s::actor(&ctx).await;
    let id = inbox_id(&id)?;
    inboxes::change(&state, &ctx, id, change, &actor).await?;
    if change == Change::Delete {
        leptos_axum::redirect("/inboxes");
    } else {
        leptos_axum::redirect(&format!("/inboxes/{id}"));
    }
    Ok(())
}

#[server(prefix = "/api", endpoint = "inboxes/update")]
pub async fn update_inbox(
    id: String,
    display_name: String,
    daily_cap: String,
) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::inboxes};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    let actor = s::actor(&ctx).await;
    let id = inbox_id(&id)?;
    inboxes::update(&state, &ctx, id, &display_name, &daily_cap, &actor).await?;
    leptos_axum::redirect(&format!("/inboxes/{id}"));
    Ok(())
}
