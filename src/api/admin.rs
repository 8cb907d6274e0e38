//! Staff-only server functions (`/api/admin/*`): a customer gets 404, a visitor 401 — never
//! data.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
fn tenant_id(id: &str) -> Result<crate::domain::TenantId, AppError> {
    uuid::Uuid::parse_str(id.trim())
        .map(crate::domain::TenantId)
        .map_err(|_| AppError::NotFound)
}

/// Suspends the tenant: `category` is abuse, payment, terms or manual; a reason is required.
#[server(prefix = "/api", endpoint = "admin/tenants/suspend")]
pub async fn suspend_tenant(
    tenant: String,
    category: String,
    reason: String,
) -> Result<bool, AppError> {
    use crate::server::{api_support as s, services::suspensions};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(suspensions::suspend(&state, tenant_id(&tenant)?, &category, &reason, &actor).await?)
}

/// Lifts the tenant's open suspensions; how many there were.
#[server(prefix = "/api", endpoint = "admin/tenants/resume")]
pub async fn resume_tenant(tenant: String, reason: String) -> Result<u64, AppError> {
    use crate::server::{api_support as s, services::suspensions};
    let state = s::state()?;
    let actor = s::staff_actor(&state).await?;
    Ok(suspensions::resume(&state, tenant_id(&tenant)?, &reason, &actor).await?)
}

/// Tenants by name, member email or domain, filtered by status, 25 a page.
#[server(prefix = "/api", endpoint = "admin/tenants")]
pub async fn admin_tenants(
    q: String,
    status: String,
    page: i64,
) -> Result<crate::domain::admin::AdminTenantsView, AppError> {
    use crate::server::{api_support as s, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::tenants(&state, &q, &status, page)
        .await
        .map_err(s::internal)
}

#[server(prefix = "/api", endpoint = "admin/tenant")]
pub async fn admin_tenant(
    tenant: String,
) -> Result<crate::domain::admin::AdminTenantDetail, AppError> {
    use crate::server::{api_support as s, services::admin};
    let state = s::state()?;
    s::require_staff(&state).await?;
    admin::tenant(&state, tenant_id(&tenant)?.0)
        .await
        .map_err(s::internal)?
        .ok_or(AppError::NotFound)
}
