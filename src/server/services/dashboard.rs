use chrono::Utc;

use crate::domain::{DashboardView, Usage};
use crate::server::auth::{TenantCtx, end_read};
use crate::server::db;
use crate::server::state::AppState;

/// Whole days of trial left, rounded up, never negative.
pub fn days_left(now: chrono::DateTime<Utc>, ends: chrono::DateTime<Utc>) -> i64 {
    let secs = (ends - now).num_seconds();
    if secs <= 0 {
        0
    } else {
        (secs + 86_399) / 86_400
    }
}

pub async fn dashboard(state: &AppState, ctx: &TenantCtx) -> anyhow::Result<DashboardView> {
    let mut tx = ctx.begin(state).await?;
    // The deliverability box is read with the row when this process has no fresh copy.
    let cached = state.dashboard_box.get(&ctx.tenant_id().0);
    let mut tenant = db::tenants::dashboard_row(&mut tx, ctx, cached.is_none()).await?;
    end_read(tx);
    let mut deliverability = match cached {
        Some(hit) => hit,
        None => {
            let fresh = crate::server::services::deliverability::dashboard_box(
                tenant.sent_this_month.unwrap_or(0),
                tenant.sandbox_this_month.unwrap_or(0),
                tenant.worst.take().map(|w| w.0).unwrap_or_default(),
            );
            state.dashboard_box.insert(ctx.tenant_id().0, fresh.clone());
            fresh
        }
    };
    let now = Utc::now();
    let sub = tenant.billing.subscription();
    let e = crate::server::services::billing::access::entitlement(
        &state.settings,
        &tenant.billing.row,
        sub.as_ref(),
        now,
    );
    let (plan_name, max_domains, max_inboxes) = (e.plan_name, e.max_domains, e.max_inboxes);
    let trial_days_left = e.trial_ends_at.map(|t| days_left(now, t));
    deliverability.plan_allowance = crate::server::services::deliverability::plan_allowance(
        state,
        max_inboxes,
        now.date_naive(),
    );
    Ok(DashboardView {
        tenant_name: tenant.name,
        user_email: tenant.user_email,
        email_verified: ctx.email_verified(),
        role: ctx.role(),
        trial_days_left,
        plan_name,
        domains: Usage {
            used: tenant.billing.row.domains,
            limit: max_domains,
        },
        inboxes: Usage {
            used: tenant.billing.row.inboxes,
            limit: max_inboxes,
        },
        deliverability,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn days_left_rounds_up_partial_days_and_never_goes_negative() {
        let now = Utc::now();
        assert_eq!(days_left(now, now + Duration::days(7)), 7);
        assert_eq!(
            days_left(now, now + Duration::days(6) + Duration::hours(1)),
            7
        );
        assert_eq!(days_left(now, now + Duration::hours(1)), 1);
        assert_eq!(days_left(now, now - Duration::days(2)), 0);
    }
}
