//! What a tenant may do, from its subscription mirror, trial and suspensions — and the one
//! answer to "may this tenant add N more domains / inboxes?".

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::SubscriptionStatus;
use crate::server::auth::TenantCtx;
use crate::server::config::Settings;
use crate::server::db::billing::{self as db, BillingRow, CurrentSubscription};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entitlement {
    pub plan_id: Option<String>,
    pub plan_name: String,
    pub max_domains: i64,
    pub max_inboxes: i64,
    /// Why nothing new may be created (suspended, canceled, trial over), if so.
    pub blocked: Option<String>,
    /// Access continues but the customer must act (a failed payment).
    pub warning: Option<String>,
    /// The trial end that applies, while on a trial.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Inboxes past `max_inboxes` are allowed (and billed as overage): an active paid
    /// subscription on a plan with an overage price. Domains and trials stay hard.
    pub inbox_overage: bool,
}

pub fn entitlement(
    settings: &Settings,
    row: &BillingRow,
    sub: Option<&CurrentSubscription>,
    now: DateTime<Utc>,
) -> Entitlement {
    let plan = sub
        .and_then(|s| s.plan_id.as_deref())
        .and_then(|id| settings.plans.get(id).map(|p| (id, p)));
    let plan_name = plan
        .map(|(_, p)| p.name.clone())
        .unwrap_or_else(|| "Free trial".into());
    let trial = (settings.trial.max_domains, settings.trial.max_inboxes);
    let paid = plan
        .map(|(_, p)| (p.max_domains, p.max_inboxes))
        .unwrap_or(trial);
    let mut e = Entitlement {
        plan_id: plan.map(|(id, _)| id.to_string()),
        plan_name,
        max_domains: trial.0,
        max_inboxes: trial.1,
        blocked: None,
        warning: None,
        trial_ends_at: None,
        inbox_overage: false,
    };
    use SubscriptionStatus as S;
    match sub.map(|s| s.status) {
        None => {
            e.trial_ends_at = Some(row.trial_ends_at);
            if now >= row.trial_ends_at {
                e.blocked = Some("Your free trial has ended. Choose a plan to keep adding domains and inboxes; everything you have stays exportable.".into());
            }
        }
        Some(S::Trialing) => e.trial_ends_at = sub.and_then(|s| s.trial_end),
        Some(S::Active) => {
            (e.max_domains, e.max_inboxes) = paid;
            e.inbox_overage = plan.is_some_and(|(_, p)| p.overage_cents_per_inbox.is_some());
        }
        Some(S::PastDue) => {
            (e.max_domains, e.max_inboxes) = paid;
            e.warning = Some("Your last payment failed. Update your card under “Manage payment methods” — Stripe will retry, and after repeated failures the account is suspended.".into());
        }
        Some(S::Canceled | S::IncompleteExpired) => {
            e.blocked = Some("Your subscription is canceled. The account is read-only: you can export everything, and choose a plan to create again.".into());
        }
        Some(S::Incomplete) => {
            e.blocked = Some(
                "Your first payment has not gone through yet. Complete it to start creating."
                    .into(),
            );
        }
        Some(S::Unpaid | S::Paused) => {
            (e.max_domains, e.max_inboxes) = paid;
            e.blocked = Some(
                "Your subscription is unpaid. The account is read-only until an invoice is paid."
                    .into(),
            );
        }
    }
    if let Some(category) = &row.suspension {
        e.inbox_overage = false;
        e.blocked = Some(format!(
            "Your account is suspended ({category}). Nothing new can be created; contact support@inboxgrove.com."
        ));
    }
    e
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("{0}")]
    Blocked(String),
    #[error("Your {plan} plan allows {limit} {what}; you have {used}, so {requested} more would go over by {over}. Choose a bigger plan on the Billing page or remove some first.", over = used + requested - limit)]
    OverLimit {
        what: &'static str,
        plan: String,
        limit: i64,
        used: i64,
        requested: i64,
    },
}

/// Checks `entitlement` for `domains` + `inboxes` more, given current usage.
pub fn check(
    e: &Entitlement,
    row: &BillingRow,
    domains: i64,
    inboxes: i64,
) -> Result<(), LimitError> {
    if let Some(reason) = &e.blocked {
        return Err(LimitError::Blocked(reason.clone()));
    }
    for (what, used, limit, requested) in [
        ("domains", row.domains, e.max_domains, domains),
        ("inboxes", row.inboxes, e.max_inboxes, inboxes),
    ] {
        // Past the plan's inboxes is overage, billed per extra inbox, not a refusal — up to
        // OVERAGE_CEILING times what the plan includes (a runaway script or a card that will
        // fail at the invoice must not get unbounded mailboxes).
        let overage = what == "inboxes" && e.inbox_overage;
        use crate::domain::billing::OVERAGE_CEILING;
        let (limit, plan) = if overage {
            (
                limit.saturating_mul(OVERAGE_CEILING),
                format!("{} (with extra inboxes)", e.plan_name),
            )
        } else {
            (limit, e.plan_name.clone())
        };
        if requested > 0 && used.saturating_add(requested) > limit {
            return Err(LimitError::OverLimit {
                what,
                plan,
                limit,
                used,
                requested,
            });
        }
    }
    Ok(())
}

/// "May this tenant add `domains` more domains and `inboxes` more inboxes?" Locks the tenant
/// row, so call it inside the transaction that then creates them: two concurrent batches
/// cannot both squeeze under the limit.
pub async fn may_add(
    conn: &mut PgConnection,
    settings: &Settings,
    ctx: &TenantCtx,
    domains: i64,
    inboxes: i64,
) -> Result<(), MayAddError> {
    db::lock_customer(conn, ctx).await?;
    let state = db::billing_state(conn, ctx).await?;
    let e = entitlement(
        settings,
        &state.row,
        state.subscription().as_ref(),
        Utc::now(),
    );
    check(&e, &state.row, domains, inboxes).map_err(MayAddError::Refused)
}

#[derive(Debug, thiserror::Error)]
pub enum MayAddError {
    #[error(transparent)]
    Refused(LimitError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(MayAddError);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn settings() -> Settings {
        Settings::load_from(&format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR")), []).unwrap()
    }

    fn row(domains: i64, inboxes: i64, trial_left: Duration) -> BillingRow {
        BillingRow {
            trial_ends_at: Utc::now() + trial_left,
            customer_id: None,
            domains,
            inboxes,
            suspension: None,
        }
    }

    fn sub(status: &str, plan: &str) -> CurrentSubscription {
        CurrentSubscription {
            id: "sub_1".into(),
            status: SubscriptionStatus::parse(status).expect("a subscription status"),
            plan_id: Some(plan.into()),
            item_id: "si_1".into(),
            current_period_end: None,
            trial_end: Some(Utc::now() + Duration::days(3)),
            cancel_at_period_end: false,
        }
    }

    #[test]
    fn a_new_tenant_gets_the_trial_caps() {
        let s = settings();
        let e = entitlement(&s, &row(0, 0, Duration::days(7)), None, Utc::now());
        assert_eq!((e.max_domains, e.max_inboxes), (2, 50));
        assert_eq!(e.blocked, None);
    }

    #[test]
    fn the_trial_cap_stops_the_third_domain_and_says_which_limit() {
        let s = settings();
        let r = row(2, 0, Duration::days(7));
        let e = entitlement(&s, &r, None, Utc::now());
        let err = check(&e, &r, 1, 0).unwrap_err();
        assert!(matches!(
            err,
            LimitError::OverLimit {
                what: "domains",
                limit: 2,
                used: 2,
                requested: 1,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "Your Free trial plan allows 2 domains; you have 2, so 1 more would go over by 1. Choose a bigger plan on the Billing page or remove some first."
        );
        assert!(check(&e, &r, 0, 50).is_ok());
        assert!(matches!(
            check(&e, &r, 0, 51),
            Err(LimitError::OverLimit {
                what: "inboxes",
                ..
            })
        ));
    }

    #[test]
    fn an_active_plan_uses_the_plan_limits() {
        let s = settings();
        let r = row(4, 0, Duration::days(-30));
        let e = entitlement(&s, &r, Some(&sub("active", "starter")), Utc::now());
        assert_eq!((e.max_domains, e.max_inboxes), (5, 100));
        assert!(check(&e, &r, 1, 0).is_ok());
        assert!(check(&e, &r, 2, 0).is_err());
    }

    #[test]
    fn a_trialing_subscription_keeps_the_trial_caps() {
        let s = settings();
        let e = entitlement(
            &s,
            &row(0, 0, Duration::days(-1)),
            Some(&sub("trialing", "scale")),
            Utc::now(),
        );
        assert_eq!((e.max_domains, e.max_inboxes), (2, 50));
        assert_eq!(e.plan_name, "Scale");
        assert_eq!(e.blocked, None);
    }

    #[test]
    fn past_due_keeps_access_with_a_warning() {
        let s = settings();
        let e = entitlement(
            &s,
            &row(0, 0, Duration::days(-1)),
            Some(&sub("past_due", "growth")),
            Utc::now(),
        );
        assert!(e.warning.is_some());
        assert_eq!(e.blocked, None);
        assert_eq!(e.max_domains, 20);
    }

    #[test]
    fn canceled_is_read_only_and_an_ended_trial_without_a_plan_too() {
        let s = settings();
        let r = row(0, 0, Duration::days(-1));
        let canceled = entitlement(&s, &r, Some(&sub("canceled", "growth")), Utc::now());
        assert!(
            matches!(check(&canceled, &r, 1, 0), Err(LimitError::Blocked(m)) if m.contains("canceled"))
        );
        let ended = entitlement(&s, &r, None, Utc::now());
        assert!(
            matches!(check(&ended, &r, 0, 1), Err(LimitError::Blocked(m)) if m.contains("trial has ended"))
        );
    }

    #[test]
    fn an_active_plan_with_an_overage_price_allows_inboxes_past_its_limit_but_not_domains() {
        let s = settings();
        assert_eq!(s.plans["growth"].overage_cents_per_inbox, Some(150));
        let r = row(20, 500, Duration::days(-30));
        let e = entitlement(&s, &r, Some(&sub("active", "growth")), Utc::now());
        assert!(e.inbox_overage);
        assert_eq!(
            e.max_inboxes, 500,
            "the plan's inboxes stay what it includes"
        );
        assert!(check(&e, &r, 0, 1).is_ok());
        assert!(
            check(&e, &r, 0, 500).is_ok(),
            "up to twice what it includes"
        );
        assert!(matches!(
            check(&e, &r, 0, 501),
            Err(LimitError::OverLimit {
                what: "inboxes",
                limit: 1000,
                ..
            })
        ));
        assert!(matches!(
            check(&e, &r, 1, 0),
            Err(LimitError::OverLimit {
                what: "domains",
                ..
            })
        ));
    }

    #[test]
    fn without_an_overage_price_or_outside_an_active_subscription_the_inbox_limit_stays_hard() {
        let s = settings();
        assert_eq!(s.plans["starter"].overage_cents_per_inbox, None);
        let r = row(0, 100, Duration::days(-30));
        let starter = entitlement(&s, &r, Some(&sub("active", "starter")), Utc::now());
        assert!(!starter.inbox_overage);
        assert!(matches!(
            check(&starter, &r, 0, 1),
            Err(LimitError::OverLimit {
                what: "inboxes",
                limit: 100,
                ..
            })
        ));
        // A trial on the overage plan keeps the trial's hard caps, and so does past due.
        let r = row(0, 50, Duration::days(3));
        let trialing = entitlement(&s, &r, Some(&sub("trialing", "growth")), Utc::now());
        assert!(!trialing.inbox_overage);
        assert!(check(&trialing, &r, 0, 1).is_err());
        let r = row(0, 500, Duration::days(-30));
        let past_due = entitlement(&s, &r, Some(&sub("past_due", "growth")), Utc::now());
        assert!(!past_due.inbox_overage);
        assert!(check(&past_due, &r, 0, 1).is_err());
        let mut r = row(0, 500, Duration::days(-30));
        r.suspension = Some(crate::domain::SuspensionCategory::Abuse);
        let suspended = entitlement(&s, &r, Some(&sub("active", "growth")), Utc::now());
        assert!(!suspended.inbox_overage);
        assert!(check(&suspended, &r, 0, 1).is_err());
    }

    #[test]
    fn a_suspension_blocks_creation_whatever_the_plan() {
        let s = settings();
        let mut r = row(0, 0, Duration::days(5));
        r.suspension = Some(crate::domain::SuspensionCategory::Payment);
        let e = entitlement(&s, &r, Some(&sub("active", "scale")), Utc::now());
        assert!(
            matches!(check(&e, &r, 1, 0), Err(LimitError::Blocked(m)) if m.contains("suspended (payment)"))
        );
    }
}
