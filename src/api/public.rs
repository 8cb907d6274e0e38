use leptos::prelude::*;

use crate::domain::PlanView;
use crate::error::AppError;

/// The plans and the trial length, from settings.
#[server(prefix = "/api", endpoint = "plans")]
pub async fn list_plans() -> Result<(Vec<PlanView>, i64), AppError> {
    use crate::server::fn_context as s;
    let state = s::state()?;
    Ok((state.settings.plan_views(), state.settings.trial.days))
}
