use leptos::prelude::*;

use crate::domain::DashboardView;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<DashboardView, AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::dashboard};
    let state = s::state()?;
    let ctx = s::tenant_ctx(&state).await?;
    dashboard::dashboard(&state, &ctx).await.map_err(internal)
}

/// Who is signed in on the staff side: (email, tenants on the platform).
#[server(prefix = "/api", endpoint = "staff/summary")]
pub async fn get_staff_summary() -> Result<(String, i64), AppError> {
    use crate::server::{db, fn_context as s, fn_errors::internal};
    let state = s::state()?;
    let email = s::require_staff(&state).await?;
    let tenants = db::tenants::count_all(&state.pool)
        .await
        .map_err(internal)?;
    Ok((email, tenants))
}
