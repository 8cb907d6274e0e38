//! Staff's reports: revenue from the mirrored Stripe data (`/admin/revenue`) and the
//! providers' health over the last hour (`/admin/providers`). The server functions check
//! staff first.

use chrono::{DateTime, Duration, Utc};

use crate::domain::Cents;
use crate::domain::provider_health::ProvidersView;
use crate::domain::revenue::{self, PlanPrice, RevenueInput, RevenueView, WINDOW_DAYS};
use crate::server::config::Settings;
use crate::server::db;
use crate::server::state::AppState;

/// The plans of the settings, by price (as customers see them).
pub fn plan_prices(settings: &Settings) -> Vec<PlanPrice> {
    let mut plans: Vec<PlanPrice> = settings
        .plans
        .iter()
        .map(|(id, p)| PlanPrice {
            id: id.clone(),
            name: p.name.clone(),
            price_id: p.stripe_price_id.clone(),
            monthly: Cents(p.price_cents),
            currency: p.currency.to_ascii_lowercase(),
        })
        .collect();
    plans.sort_by(|a, b| (a.monthly, &a.id).cmp(&(b.monthly, &b.id)));
    plans
}

/// Revenue now, with the chart over `days` (`?days=`: 30 or 90). "Now" is the sandbox
/// Stripe's clock when payments run on the sandbox (its subscriptions live on that clock),
/// else the wall clock.
pub async fn revenue(state: &AppState, days: &str) -> anyhow::Result<RevenueView> {
    let now = crate::server::services::billing::clock(state).await?;
    revenue_at(state, now, revenue::chart_days(days)).await
}

/// Revenue as of `now`, with a chart of `chart_days` days ending at `now`.
pub async fn revenue_at(
    state: &AppState,
    now: DateTime<Utc>,
    chart_days: i64,
) -> anyhow::Result<RevenueView> {
    let since = now - Duration::days(WINDOW_DAYS);
    let chart_days = chart_days.clamp(1, 366);
    let counts = db::revenue::by_price(&state.pool, now, since).await?;
    let days = db::revenue::by_day(&state.pool, now, chart_days as i32).await?;
    let refunds = db::revenue::refunds(&state.pool, now, since).await?;
    let plans = plan_prices(&state.settings);
    Ok(revenue::summarize(RevenueInput {
        as_of: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        sandbox_time: state.stripe_sandbox.is_some(),
        plans: &plans,
        counts: &counts,
        days: &days,
        day_labels: (0..chart_days)
            .rev()
            .map(|back| (now - Duration::days(back)).format("%Y-%m-%d").to_string())
            .collect(),
        refunds: &refunds,
    }))
}

/// Each provider's calls, errors and latency over the last hour, as this process saw them.
pub fn providers(state: &AppState) -> ProvidersView {
    state.provider_stats.snapshot()
}
