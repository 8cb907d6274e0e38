//! Usage and overage.
//!
//! - **Recording** (`usage_record`, hourly, and around staff's moves of the sandbox clock):
//!   per workspace and day on the billing clock ([`super::clock`]), one `inbox_days` event (its
//!   live inboxes, the highest count seen that day; days the clock skipped are filled in with
//!   the count now), and one `emails_sent` and one `api_calls` event that grow by what the
//!   delivery records (`delivery_daily`: delivered + hard-bounced) and the API meter
//!   (`api_usage`) added since the last run. Cursors remember what was counted, so a run
//!   repeated adds nothing, whatever the clock did.
//! - **Overage**: a plan with `overage_cents_per_inbox` lets an active subscription go past its
//!   inboxes ([`super::access`]). The peak of extra inboxes (live − included) in the
//!   subscription's current period is reported to Stripe's billing meter (aggregation `last`)
//!   with the identifier `overage:{subscription}:{period start}:{peak}`: a higher peak is
//!   reported again, a steady one once per period, and the last peak reported per period is
//!   kept so the job does not ask Stripe again for the same value. Stripe (or the sandbox)
//!   bills it on the next invoice.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::domain::billing::MonthUsage;
use crate::domain::tenant::format_money;
use crate::domain::{Cents, SubscriptionStatus};
use crate::server::auth::TenantCtx;
use crate::server::config::PlanSettings;
use crate::server::db::billing::{BillingRow, CurrentSubscription};
use crate::server::db::usage::{self as db, Counter, Day};
use crate::server::providers::payments::MeterEvent;
use crate::server::state::AppState;

pub const RECORD_KIND: &str = "usage_record";
pub const RECORD_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Days the clock skipped that one run fills in, at most (the sandbox clock moves up to 400
/// days at a time; older days stay without inbox-days rather than one run writing thousands).
const MAX_GAP_DAYS: i64 = 92;

/// Counter cursors older than this are forgotten (no run reads those sources again).
const CURSOR_DAYS: i64 = 62;

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// Usage events written or raised.
    pub events: u64,
    /// Meter events Stripe accepted.
    pub reported: usize,
    /// Reports that failed (tried again next run).
    pub failed: usize,
}

/// Records usage, then reports overage.
pub async fn run(state: &AppState) -> anyhow::Result<RunOutcome> {
    let events = record(state).await?;
    let (reported, failed) = report_overage(state).await?;
    if reported > 0 || failed > 0 {
        tracing::info!(events, reported, failed, "usage recorded, overage reported");
    }
    Ok(RunOutcome {
        events,
        reported,
        failed,
    })
}

pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first")
}

/// The billing-clock day as the recorder writes it.
pub fn day(d: NaiveDate) -> Day {
    Day {
        day: d,
        month: first_of_month(d),
        label: d.format("%Y-%m-%d").to_string(),
        starts: d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
    }
}

/// The days to write inbox-days for: those after `last` up to `today` (at most
/// [`MAX_GAP_DAYS`], the latest), or `today` alone on the first run or when the clock has not
/// moved on.
pub fn days_to_record(last: Option<NaiveDate>, today: NaiveDate) -> Vec<NaiveDate> {
    let first = match last {
        Some(last) if last < today => {
            (last + Duration::days(1)).max(today - Duration::days(MAX_GAP_DAYS - 1))
        }
        _ => today,
    };
    first.iter_days().take_while(|d| *d <= today).collect()
}

/// Writes this run's usage events under the recorder's lock. Every step is one statement that
/// is whole and repeatable on its own (a run cut short leaves nothing half done, and the next
/// one picks up from the watermark), so no transaction is held open across them.
pub async fn record(state: &AppState) -> anyhow::Result<u64> {
    let today = super::clock(state).await?.date_naive();
    let wall_today = Utc::now().date_naive();
    let mut conn = state.pool.acquire().await.context("acquiring")?;
    db::lock_recorder(&mut conn).await?;
    let recorded = record_locked(&mut conn, today, wall_today).await;
    if let Err(e) = db::unlock_recorder(&mut conn).await {
        // Closing the connection releases the lock; it must not go back to the pool holding it.
        tracing::warn!(
            error = %format!("{e:#}"),
            "unlocking the usage recorder failed; closing its connection"
        );
        drop(conn.detach());
    }
    recorded
}

async fn record_locked(
    conn: &mut sqlx::PgConnection,
    today: NaiveDate,
    wall_today: NaiveDate,
) -> anyhow::Result<u64> {
    let mark = db::watermark(conn).await?;
    let days: Vec<Day> = days_to_record(mark.map(|m| m.0), today)
        .into_iter()
        .map(day)
        .collect();
    let mut events = db::record_inbox_days(conn, &days).await?;
    // Counters: from the wall-clock day of the last run (what grew since lands on today).
    let since = mark.map_or(wall_today, |m| m.1.min(wall_today));
    let today = day(today);
    events += db::record_counter(conn, Counter::EmailsSent, since, &today).await?;
    events += db::record_counter(conn, Counter::ApiCalls, first_of_month(since), &today).await?;
    db::set_watermark(conn, today.day, wall_today).await?;
    db::prune_cursors(
        conn,
        first_of_month(since.min(wall_today - Duration::days(CURSOR_DAYS))),
    )
    .await?;
    Ok(events)
}

/// Inboxes past what the plan includes (never negative).
pub fn extra_inboxes(live: i64, included: i64) -> i64 {
    live.saturating_sub(included).max(0)
}

/// The meter event's identifier: each distinct peak of a period once.
pub fn overage_identifier(subscription: &str, period_start: DateTime<Utc>, peak: i64) -> String {
    format!("overage:{subscription}:{}:{peak}", period_start.timestamp())
}

/// Reports each subscription whose extra inboxes rose past what it reported this period; a
/// failed report is logged and tried again by the next run. (reported, failed).
pub async fn report_overage(state: &AppState) -> anyhow::Result<(usize, usize)> {
    let plans: Vec<(String, i64)> = state
        .settings
        .plans
        .iter()
        .filter(|(_, p)| p.overage_cents_per_inbox.is_some())
        .map(|(id, p)| (id.clone(), p.max_inboxes))
        .collect();
    let due = db::overage_due(&state.pool, &plans).await?;
    if due.is_empty() {
        return Ok((0, 0));
    }
    let now = super::clock(state).await?;
    let (mut reported, mut failed) = (0, 0);
    for c in due {
        let peak = extra_inboxes(c.live, c.included);
        let identifier = overage_identifier(&c.subscription_id, c.period_start, peak);
        let event = MeterEvent {
            event_name: state.settings.billing.overage_meter_event.clone(),
            customer_id: c.customer_id.clone(),
            value: peak,
            identifier: identifier.clone(),
            timestamp: now,
        };
        if let Err(e) = state.payments.report_usage(&event).await {
            tracing::warn!(
                subscription = %c.subscription_id,
                peak,
                error = %format!("{e:#}"),
                "reporting extra inboxes failed; the next run tries again"
            );
            failed += 1;
            continue;
        }
        db::record_report(
            &state.pool,
            &db::Reported {
                tenant_id: c.tenant_id,
                subscription_id: &c.subscription_id,
                customer_id: &c.customer_id,
                period_start: c.period_start,
                peak,
                identifier: &identifier,
                reported_at: now,
            },
        )
        .await?;
        reported += 1;
    }
    Ok((reported, failed))
}

/// The next invoice: the plan's price plus each extra inbox at the overage price.
pub fn expected_bill(price_cents: i64, extra: i64, overage_cents: i64) -> i64 {
    price_cents.saturating_add(extra.max(0).saturating_mul(overage_cents.max(0)))
}

/// What "This month" shows, from the figures read (pure, so the arithmetic is tested).
pub struct MonthFigures<'a> {
    pub now: DateTime<Utc>,
    pub totals: db::MonthTotals,
    /// The live subscription and its plan, if any.
    pub plan: Option<(&'a CurrentSubscription, &'a PlanSettings)>,
    pub live_inboxes: i64,
    /// The peak of extra inboxes already reported this period.
    pub reported_peak: i64,
}

pub fn month_view(f: &MonthFigures<'_>) -> MonthUsage {
    let mut view = MonthUsage {
        month: f.now.format("%B %Y").to_string(),
        inbox_days: f.totals.inbox_days,
        emails_sent: f.totals.emails_sent,
        api_calls: f.totals.api_calls,
        ..MonthUsage::default()
    };
    let Some((sub, plan)) = f.plan else {
        return view;
    };
    let money = |c: i64| format_money(Cents(c), &plan.currency);
    view.overage_price = plan.overage_cents_per_inbox.map(money);
    if sub.status.is_ended() || sub.cancel_at_period_end {
        return view;
    }
    let billed_overage = plan.overage_cents_per_inbox.filter(|_| {
        matches!(
            sub.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    });
    if let Some(unit) = billed_overage {
        // Billed: the most extra inboxes at once this period (what was reported, or more now).
        view.extra_inboxes = extra_inboxes(f.live_inboxes, plan.max_inboxes).max(f.reported_peak);
        let total = expected_bill(plan.price_cents, view.extra_inboxes, unit);
        view.expected_bill = Some(money(total));
        view.bill_note = Some(if view.extra_inboxes > 0 {
            format!(
                "{} {} + {} extra inbox{} × {} = {}: the most inboxes you had past the plan's {} at once this period.",
                plan.name,
                money(plan.price_cents),
                view.extra_inboxes,
                if view.extra_inboxes == 1 { "" } else { "es" },
                money(unit),
                money(total),
                plan.max_inboxes,
            )
        } else {
            format!(
                "{} {}; each inbox past the plan's {} adds {} (the most at once in the period).",
                plan.name,
                money(plan.price_cents),
                plan.max_inboxes,
                money(unit),
            )
        });
    } else {
        view.expected_bill = Some(money(plan.price_cents));
        view.bill_note = Some(if sub.status == SubscriptionStatus::Trialing {
            format!(
                "{} {}, first charged when the trial ends.",
                plan.name,
                money(plan.price_cents)
            )
        } else {
            format!("{} {} a month.", plan.name, money(plan.price_cents))
        });
    }
    view
}

/// "This month" for the billing page: the recorded usage in the billing clock's month and
/// the expected bill of the workspace's live subscription.
pub async fn this_month(
    state: &AppState,
    ctx: &TenantCtx,
    row: &BillingRow,
    sub: Option<&CurrentSubscription>,
) -> anyhow::Result<MonthUsage> {
    let now = super::clock(state).await?;
    let plan = sub
        .filter(|s| s.is_live())
        .and_then(|s| Some((s, state.settings.plans.get(s.plan_id.as_deref()?)?)));
    let mut tx = ctx.begin(state).await?;
    let totals =
        db::month_totals(&mut tx, ctx.tenant_id(), first_of_month(now.date_naive())).await?;
    let reported_peak = match sub.and_then(|s| Some((s, s.current_period_end?))) {
        Some((s, end)) => db::reported_peak(&mut tx, ctx.tenant_id(), &s.id, end).await?,
        None => 0,
    };
    tx.commit().await.context("reading usage")?;
    Ok(month_view(&MonthFigures {
        now,
        totals,
        plan,
        live_inboxes: row.inboxes,
        reported_peak,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn plan(overage: Option<i64>) -> PlanSettings {
        PlanSettings {
            name: "Growth".into(),
            price_cents: 14_900,
            currency: "usd".into(),
            stripe_price_id: "price_growth".into(),
            max_domains: 20,
            max_inboxes: 500,
            api_calls_per_month: 100_000,
            overage_cents_per_inbox: overage,
            overage_price_id: None,
        }
    }

    fn sub(status: SubscriptionStatus) -> CurrentSubscription {
        CurrentSubscription {
            id: "sub_1".into(),
            status,
            plan_id: Some("growth".into()),
            item_id: "si_1".into(),
            current_period_end: None,
            trial_end: None,
            cancel_at_period_end: false,
        }
    }

    fn figures<'a>(
        plan: Option<(&'a CurrentSubscription, &'a PlanSettings)>,
        live: i64,
        reported_peak: i64,
    ) -> MonthFigures<'a> {
        MonthFigures {
            now: Utc.with_ymd_and_hms(2026, 12, 14, 9, 0, 0).unwrap(),
            totals: db::MonthTotals {
                inbox_days: 7_000,
                emails_sent: 12_345,
                api_calls: 77,
            },
            plan,
            live_inboxes: live,
            reported_peak,
        }
    }

    #[test]
    fn extra_inboxes_are_what_is_live_past_the_plan_and_never_negative() {
        assert_eq!(extra_inboxes(502, 500), 2);
        assert_eq!(extra_inboxes(500, 500), 0);
        assert_eq!(extra_inboxes(3, 500), 0);
        assert_eq!(extra_inboxes(i64::MAX, -1), i64::MAX);
        assert_eq!(extra_inboxes(i64::MIN, 500), 0);
    }

    #[test]
    fn the_expected_bill_is_the_price_plus_each_extra_inbox_and_saturates() {
        assert_eq!(expected_bill(14_900, 0, 150), 14_900);
        assert_eq!(expected_bill(14_900, 2, 150), 15_200);
        assert_eq!(expected_bill(14_900, -5, 150), 14_900);
        assert_eq!(expected_bill(14_900, i64::MAX, 150), i64::MAX);
    }

    #[test]
    fn the_identifier_names_the_subscription_period_and_peak() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(
            overage_identifier("sub_123", start, 7),
            format!("overage:sub_123:{}:7", start.timestamp())
        );
        assert_ne!(
            overage_identifier("sub_123", start, 7),
            overage_identifier("sub_123", start, 8)
        );
    }

    #[test]
    fn the_recorder_writes_today_or_fills_the_days_the_clock_skipped_up_to_a_bound() {
        let today = date(2026, 12, 14);
        assert_eq!(days_to_record(None, today), vec![today]);
        assert_eq!(days_to_record(Some(today), today), vec![today]);
        assert_eq!(days_to_record(Some(date(2026, 12, 20)), today), vec![today]);
        assert_eq!(
            days_to_record(Some(date(2026, 12, 11)), today),
            vec![date(2026, 12, 12), date(2026, 12, 13), today]
        );
        let long = days_to_record(Some(date(2025, 1, 1)), today);
        assert_eq!(long.len(), MAX_GAP_DAYS as usize);
        assert_eq!(long.last(), Some(&today));
    }

    #[test]
    fn a_day_is_keyed_by_its_date_and_belongs_to_its_month() {
        let d = day(date(2026, 12, 31));
        assert_eq!(d.label, "2026-12-31");
        assert_eq!(d.month, date(2026, 12, 1));
        assert_eq!(
            d.starts,
            Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_month_view_bills_the_peak_of_extra_inboxes_at_the_overage_price() {
        let p = plan(Some(150));
        let s = sub(SubscriptionStatus::Active);
        // 502 live now, but 4 extra were reported earlier this period: 4 are billed.
        let v = month_view(&figures(Some((&s, &p)), 502, 4));
        assert_eq!(v.month, "December 2026");
        assert_eq!(
            (v.inbox_days, v.emails_sent, v.api_calls),
            (7_000, 12_345, 77)
        );
        assert_eq!(v.overage_price.as_deref(), Some("$1.50"));
        assert_eq!(v.extra_inboxes, 4);
        assert_eq!(v.expected_bill.as_deref(), Some("$155"));
        let note = v.bill_note.unwrap();
        assert!(
            note.starts_with("Growth $149 + 4 extra inboxes × $1.50 = $155"),
            "{note}"
        );
        // More now than reported: now counts.
        let v = month_view(&figures(Some((&s, &p)), 510, 4));
        assert_eq!(v.extra_inboxes, 10);
        assert_eq!(v.expected_bill.as_deref(), Some("$164"));
        // Within the plan: the price alone, and what an extra inbox would cost.
        let v = month_view(&figures(Some((&s, &p)), 120, 0));
        assert_eq!(v.extra_inboxes, 0);
        assert_eq!(v.expected_bill.as_deref(), Some("$149"));
        assert!(v.bill_note.unwrap().contains("adds $1.50"));
    }

    #[test]
    fn without_an_overage_price_a_trial_or_a_plan_the_bill_is_the_price_or_nothing() {
        let hard = plan(None);
        let s = sub(SubscriptionStatus::Active);
        let v = month_view(&figures(Some((&s, &hard)), 900, 0));
        assert_eq!(v.overage_price, None);
        assert_eq!(v.extra_inboxes, 0);
        assert_eq!(v.expected_bill.as_deref(), Some("$149"));
        let p = plan(Some(150));
        let trial = sub(SubscriptionStatus::Trialing);
        let v = month_view(&figures(Some((&trial, &p)), 40, 0));
        assert_eq!(v.extra_inboxes, 0);
        assert!(v.bill_note.unwrap().contains("when the trial ends"));
        let mut ending = sub(SubscriptionStatus::Active);
        ending.cancel_at_period_end = true;
        let v = month_view(&figures(Some((&ending, &p)), 600, 0));
        assert_eq!(v.expected_bill, None);
        let v = month_view(&figures(None, 40, 0));
        assert_eq!((v.expected_bill, v.overage_price), (None, None));
        assert_eq!(v.emails_sent, 12_345);
    }
}
