//! Staff's revenue figures (`/admin/revenue`), computed from the mirrored Stripe subscriptions
//! and the ledger. The database counts subscriptions per Stripe price (see
//! `server::db::revenue` for what "paying at a time" means, precisely); this module prices
//! those counts with the plans of the settings and does the rest of the arithmetic, pure, so
//! the tests below pin it without a database.

use serde::{Deserialize, Serialize};

use crate::domain::Cents;

/// The look-back of the 30-day figures (MRR change, churn, conversion, refunds).
pub const WINDOW_DAYS: i64 = 30;

/// The chart spans the page offers, in days.
pub const CHART_PERIODS: [i64; 2] = [30, 90];

/// A chart span from the page's `?days=` (anything else is 30).
pub fn chart_days(days: &str) -> i64 {
    days.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| CHART_PERIODS.contains(d))
        .unwrap_or(WINDOW_DAYS)
}

/// The small print of the page: what each figure counts.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "Paying",
        "A subscription pays from the end of its trial (or, without a trial, from its start: \
         the earliest of its first invoice, its checkout and the latest event the mirror has of it) \
         until it stops: when it is canceled (its end, else its cancellation), or when it moved \
         to unpaid (the time of that change). Active and past-due subscriptions pay now. One \
         trialing, paused (a trial that ended without a card) or incomplete has never paid.",
    ),
    (
        "MRR",
        "The monthly price of each paying subscription's plan, by its Stripe price. Past values \
         use today's plan of each subscription: plan changes are not replayed.",
    ),
    (
        "Change",
        "MRR now against MRR exactly 30 days ago; it equals new MRR less churned MRR.",
    ),
    (
        "Trial-to-paid",
        "Of the trials that ended in the last 30 days (at their trial end, or earlier when \
         canceled), the share still paying after the trial.",
    ),
    (
        "Churn",
        "Subscriptions that stopped paying in the last 30 days, and their MRR.",
    ),
    (
        "Refunds",
        "Refund entries of the ledger dated in the last 30 days.",
    ),
];

/// Sums of money in each currency the plans use (usually one): amounts in different
/// currencies are never added together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts(pub Vec<Amount>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub cents: Cents,
}

impl Amounts {
    /// Zero in each of `currencies`, in that order.
    pub fn zero(currencies: &[String]) -> Self {
        Self(
            currencies
                .iter()
                .map(|c| Amount {
                    currency: c.clone(),
                    cents: Cents::ZERO,
                })
                .collect(),
        )
    }

    pub fn add(&mut self, currency: &str, cents: Cents) {
        match self.0.iter_mut().find(|a| a.currency == currency) {
            Some(a) => a.cents = a.cents + cents,
            None => self.0.push(Amount {
                currency: currency.to_string(),
                cents,
            }),
        }
    }

    /// The amount in `currency` (zero when there is none).
    pub fn get(&self, currency: &str) -> Cents {
        self.0
            .iter()
            .find(|a| a.currency == currency)
            .map_or(Cents::ZERO, |a| a.cents)
    }

    /// `self - other`, per currency.
    pub fn minus(&self, other: &Amounts) -> Amounts {
        let mut out = self.clone();
        for a in &other.0 {
            out.add(&a.currency, -a.cents);
        }
        out
    }

    /// "$697", "$697 + €20"; the first currency's zero when all are zero.
    pub fn format(&self) -> String {
        self.joined(" + ", |a| a.cents.format(&a.currency))
    }

    /// "+$12", "-$198", "+$12, -€3", "$0": for changes.
    pub fn format_signed(&self) -> String {
        self.joined(", ", |a| signed(a.cents, &a.currency))
    }

    fn joined(&self, separator: &str, f: impl Fn(&Amount) -> String) -> String {
        let parts: Vec<String> = self.0.iter().filter(|a| a.cents.0 != 0).map(&f).collect();
        match (parts.is_empty(), self.0.first()) {
            (false, _) => parts.join(separator),
            (true, Some(first)) => f(first),
            (true, None) => "0".into(),
        }
    }
}

/// "+$12", "-$1.50", "$0".
pub fn signed(cents: Cents, currency: &str) -> String {
    let abs = Cents(cents.0.abs()).format(currency);
    match cents.0.signum() {
        1 => format!("+{abs}"),
        -1 => format!("-{abs}"),
        _ => abs,
    }
}

/// A plan of the settings: its Stripe price and monthly price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanPrice {
    pub id: String,
    pub name: String,
    pub price_id: String,
    pub monthly: Cents,
    pub currency: String,
}

/// What the database counted for one Stripe price (and the plan id the mirror gave it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceCounts {
    pub price_id: String,
    pub plan_id: Option<String>,
    /// Paying now, and at the start of the window.
    pub paying_now: i64,
    pub paying_then: i64,
    /// Began paying within the window (and did not stop at once).
    pub started: i64,
    /// Stopped paying within the window (having paid).
    pub churned: i64,
    /// `trialing` now.
    pub trialing: i64,
    /// Trials that ended within the window, and those of them that went on paying.
    pub trials_ended: i64,
    pub trials_converted: i64,
}

/// One price on one day of the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// 0 is now, 1 a day before, …
    pub days_back: i64,
    pub price_id: String,
    pub plan_id: Option<String>,
    pub paying: i64,
    pub trialing: i64,
}

/// Refunds of one currency over the window, as a positive amount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundTotal {
    pub currency: String,
    pub count: i64,
    pub cents: Cents,
}

/// Everything the summary is made from.
pub struct RevenueInput<'a> {
    /// "2026-12-06 10:00 UTC".
    pub as_of: String,
    /// The figures are at the sandbox Stripe's time, not the wall clock's.
    pub sandbox_time: bool,
    /// The plans, in the order the page lists them (by price).
    pub plans: &'a [PlanPrice],
    pub counts: &'a [PriceCounts],
    pub days: &'a [DayCounts],
    /// One per day of the chart, oldest first (the last is now).
    pub day_labels: Vec<String>,
    pub refunds: &'a [RefundTotal],
}

/// One plan's subscriptions now (or, with `plan_id` `None`, those on prices no plan has).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFigures {
    pub plan_id: Option<String>,
    pub name: String,
    /// "$49 / month", or "—".
    pub price: String,
    pub paying: i64,
    pub trialing: i64,
    pub mrr: Amounts,
}

/// One day of the chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueDay {
    pub day: String,
    /// MRR in the chart's currency.
    pub mrr: Cents,
    pub paying: i64,
    pub trialing: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevenueView {
    pub as_of: String,
    pub sandbox_time: bool,
    pub window_days: i64,
    /// The currency of the chart and of the percentage change (the plans' most common).
    pub currency: String,
    pub mrr: Amounts,
    pub mrr_then: Amounts,
    pub mrr_change: Amounts,
    /// The change of MRR in `currency`, as a share of its value 30 days ago.
    pub mrr_change_rate: Option<f64>,
    /// Paying subscriptions now and 30 days ago (including those on unknown prices).
    pub paying: i64,
    pub paying_then: i64,
    pub new_subscriptions: i64,
    pub new_mrr: Amounts,
    pub churned: i64,
    pub churned_mrr: Amounts,
    pub trials_running: i64,
    pub trials_ended: i64,
    pub trials_converted: i64,
    /// `trials_converted / trials_ended`; `None` when no trial ended.
    pub conversion: Option<f64>,
    pub refunds: Amounts,
    pub refund_count: i64,
    /// Each plan (all of them, by price), then prices no plan has when there are any.
    pub by_plan: Vec<PlanFigures>,
    /// Paying subscriptions on a price no plan of the settings has: not in MRR.
    pub unpriced: i64,
    pub days: Vec<RevenueDay>,
}

/// The currency most plans are priced in (ties: the first in alphabetical order).
pub fn main_currency(plans: &[PlanPrice]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for p in plans {
        match counts.iter_mut().find(|(c, _)| *c == p.currency) {
            Some((_, n)) => *n += 1,
            None => counts.push((p.currency.clone(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .into_iter()
        .next()
        .map_or_else(|| "usd".into(), |(c, _)| c)
}

/// The plan a subscription's price belongs to: by its Stripe price, else by the plan id the
/// mirror recorded; `None` when the settings know neither.
pub fn plan_for<'a>(
    plans: &'a [PlanPrice],
    price_id: &str,
    plan_id: Option<&str>,
) -> Option<&'a PlanPrice> {
    plans
        .iter()
        .find(|p| p.price_id == price_id)
        .or_else(|| plan_id.and_then(|id| plans.iter().find(|p| p.id == id)))
}

/// `n` subscriptions of `price_id` priced: (currency, cents), or `None` for an unknown price.
fn priced(plans: &[PlanPrice], price_id: &str, plan_id: Option<&str>, n: i64) -> Option<Amount> {
    plan_for(plans, price_id, plan_id).map(|p| Amount {
        currency: p.currency.clone(),
        cents: Cents(p.monthly.0 * n),
    })
}

pub fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The page's figures from the counts.
pub fn summarize(input: RevenueInput<'_>) -> RevenueView {
    let plans = input.plans;
    let currency = main_currency(plans);
    let mut currencies = vec![currency.clone()];
    for p in plans {
        if !currencies.contains(&p.currency) {
            currencies.push(p.currency.clone());
        }
    }
    let zero = Amounts::zero(&currencies);
    let (mut mrr, mut mrr_then, mut new_mrr, mut churned_mrr) =
        (zero.clone(), zero.clone(), zero.clone(), zero.clone());
    let mut by_plan: Vec<PlanFigures> = plans
        .iter()
        .map(|p| PlanFigures {
            plan_id: Some(p.id.clone()),
            name: p.name.clone(),
            price: format!("{} / month", p.monthly.format(&p.currency)),
            paying: 0,
            trialing: 0,
            mrr: Amounts::zero(std::slice::from_ref(&p.currency)),
        })
        .collect();
    let mut other = PlanFigures {
        plan_id: None,
        name: "Prices no plan has".into(),
        price: "—".into(),
        paying: 0,
        trialing: 0,
        mrr: zero.clone(),
    };
    let (mut paying, mut paying_then, mut new_subscriptions, mut churned) = (0, 0, 0, 0);
    let (mut trials_running, mut trials_ended, mut trials_converted) = (0, 0, 0);
    for c in input.counts {
        paying += c.paying_now;
        paying_then += c.paying_then;
        new_subscriptions += c.started;
        churned += c.churned;
        trials_running += c.trialing;
        trials_ended += c.trials_ended;
        trials_converted += c.trials_converted;
        let price = |n| priced(plans, &c.price_id, c.plan_id.as_deref(), n);
        for (sum, n) in [
            (&mut mrr, c.paying_now),
            (&mut mrr_then, c.paying_then),
            (&mut new_mrr, c.started),
            (&mut churned_mrr, c.churned),
        ] {
            if let Some(a) = price(n) {
                sum.add(&a.currency, a.cents);
            }
        }
        let row = match plan_for(plans, &c.price_id, c.plan_id.as_deref()) {
            Some(p) => by_plan
                .iter_mut()
                .find(|r| r.plan_id.as_deref() == Some(p.id.as_str()))
                .expect("every plan has a row"),
            None => &mut other,
        };
        row.paying += c.paying_now;
        row.trialing += c.trialing;
        if let Some(a) = price(c.paying_now) {
            row.mrr.add(&a.currency, a.cents);
        }
    }
    let unpriced = other.paying;
    if other.paying > 0 || other.trialing > 0 {
        by_plan.push(other);
    }
    let n = input.day_labels.len();
    let mut days: Vec<RevenueDay> = input
        .day_labels
        .into_iter()
        .map(|day| RevenueDay {
            day,
            mrr: Cents::ZERO,
            paying: 0,
            trialing: 0,
        })
        .collect();
    for d in input.days {
        let Some(i) = usize::try_from(d.days_back)
            .ok()
            .filter(|b| *b < n)
            .map(|b| n - 1 - b)
        else {
            continue;
        };
        let day = &mut days[i];
        day.paying += d.paying;
        day.trialing += d.trialing;
        if let Some(a) = priced(plans, &d.price_id, d.plan_id.as_deref(), d.paying)
            && a.currency == currency
        {
            day.mrr = day.mrr + a.cents;
        }
    }
    let mut refunds = zero.clone();
    let mut refund_count = 0;
    for r in input.refunds {
        refunds.add(&r.currency, r.cents);
        refund_count += r.count;
    }
    let mrr_change = mrr.minus(&mrr_then);
    let then = mrr_then.get(&currency).0;
    let mrr_change_rate = (then != 0).then(|| mrr_change.get(&currency).0 as f64 / then as f64);
    RevenueView {
        as_of: input.as_of,
        sandbox_time: input.sandbox_time,
        window_days: WINDOW_DAYS,
        currency,
        mrr,
        mrr_then,
        mrr_change,
        mrr_change_rate,
        paying,
        paying_then,
        new_subscriptions,
        new_mrr,
        churned,
        churned_mrr,
        trials_running,
        trials_ended,
        trials_converted,
        conversion: ratio(trials_converted, trials_ended),
        refunds,
        refund_count,
        by_plan,
        unpriced,
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(id: &str, cents: i64, currency: &str) -> PlanPrice {
        PlanPrice {
            id: id.into(),
            name: id.to_uppercase(),
            price_id: format!("price_{id}"),
            monthly: Cents(cents),
            currency: currency.into(),
        }
    }

    fn plans() -> Vec<PlanPrice> {
        vec![
            plan("starter", 4900, "usd"),
            plan("growth", 14900, "usd"),
            plan("scale", 49900, "usd"),
        ]
    }

    fn counts(price: &str, f: impl FnOnce(&mut PriceCounts)) -> PriceCounts {
        let mut c = PriceCounts {
            price_id: price.into(),
            ..Default::default()
        };
        f(&mut c);
        c
    }

    fn input<'a>(
        plans: &'a [PlanPrice],
        counts: &'a [PriceCounts],
        days: &'a [DayCounts],
        refunds: &'a [RefundTotal],
    ) -> RevenueInput<'a> {
        RevenueInput {
            as_of: "now".into(),
            sandbox_time: false,
            plans,
            counts,
            days,
            day_labels: (0..3).map(|i| format!("d{i}")).collect(),
            refunds,
        }
    }

    #[test]
    fn mrr_is_each_paying_subscription_priced_by_its_plan_and_the_change_is_new_less_churned() {
        let plans = plans();
        let counts = [
            counts("price_starter", |c| {
                c.paying_now = 3;
                c.paying_then = 2;
                c.started = 2;
                c.churned = 1;
                c.trialing = 4;
            }),
            counts("price_growth", |c| {
                c.paying_now = 1;
                c.paying_then = 2;
                c.churned = 1;
                c.trialing = 1;
            }),
        ];
        let v = summarize(input(&plans, &counts, &[], &[]));
        assert_eq!(v.mrr.get("usd"), Cents(3 * 4900 + 14900));
        assert_eq!(v.mrr_then.get("usd"), Cents(2 * 4900 + 2 * 14900));
        assert_eq!(v.mrr_change.get("usd"), Cents(4900 - 14900));
        assert_eq!(
            v.mrr_change.get("usd"),
            v.new_mrr.get("usd") - v.churned_mrr.get("usd")
        );
        assert_eq!(v.mrr_change.format_signed(), "-$100");
        let rate = v.mrr_change_rate.unwrap();
        assert!((rate - (-10000.0 / 39600.0)).abs() < 1e-12, "{rate}");
        assert_eq!((v.paying, v.paying_then), (4, 4));
        assert_eq!((v.new_subscriptions, v.churned), (2, 2));
        assert_eq!(v.trials_running, 5);
        // Every plan has a row, in the given order, even without subscriptions.
        let rows: Vec<(&str, i64, i64, Cents)> = v
            .by_plan
            .iter()
            .map(|r| (r.name.as_str(), r.paying, r.trialing, r.mrr.get("usd")))
            .collect();
        assert_eq!(
            rows,
            [
                ("STARTER", 3, 4, Cents(14700)),
                ("GROWTH", 1, 1, Cents(14900)),
                ("SCALE", 0, 0, Cents::ZERO)
            ]
        );
        assert_eq!(v.by_plan[0].price, "$49 / month");
        assert_eq!(v.unpriced, 0);
    }

    #[test]
    fn a_price_no_plan_has_is_counted_apart_and_left_out_of_mrr_but_a_known_plan_id_prices_it() {
        let plans = plans();
        let counts = [
            counts("price_legacy", |c| {
                c.paying_now = 2;
                c.paying_then = 2;
            }),
            counts("price_old_growth", |c| {
                c.plan_id = Some("growth".into());
                c.paying_now = 1;
            }),
        ];
        let v = summarize(input(&plans, &counts, &[], &[]));
        assert_eq!(v.mrr.get("usd"), Cents(14900));
        assert_eq!(v.mrr_then.get("usd"), Cents::ZERO);
        assert_eq!(v.paying, 3);
        assert_eq!(v.unpriced, 2);
        let last = v.by_plan.last().unwrap();
        assert_eq!((last.plan_id.as_deref(), last.paying), (None, 2));
        assert_eq!(v.by_plan[1].paying, 1);
        // No change rate from nothing.
        assert_eq!(v.mrr_change_rate, None);
    }

    #[test]
    fn conversion_is_the_share_of_ended_trials_that_went_on_paying_and_none_without_any() {
        let plans = plans();
        let none = summarize(input(&plans, &[], &[], &[]));
        assert_eq!(none.conversion, None);
        let counts = [
            counts("price_starter", |c| {
                c.trials_ended = 2;
                c.trials_converted = 1;
            }),
            counts("price_scale", |c| {
                c.trials_ended = 1;
                c.trials_converted = 1;
            }),
        ];
        let v = summarize(input(&plans, &counts, &[], &[]));
        assert_eq!((v.trials_ended, v.trials_converted), (3, 2));
        assert!((v.conversion.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_chart_is_oldest_first_with_missing_days_at_zero_and_only_the_main_currency() {
        let plans = vec![
            plan("starter", 4900, "usd"),
            plan("growth", 14900, "usd"),
            plan("euro", 1000, "eur"),
        ];
        let day = |back: i64, price: &str, paying: i64, trialing: i64| DayCounts {
            days_back: back,
            price_id: price.into(),
            plan_id: None,
            paying,
            trialing,
        };
        let days = [
            day(0, "price_starter", 2, 1),
            day(0, "price_growth", 1, 0),
            day(0, "price_euro", 5, 0),
            day(2, "price_growth", 1, 2),
            // Outside the chart: ignored.
            day(3, "price_growth", 9, 9),
        ];
        let v = summarize(input(&plans, &[], &days, &[]));
        assert_eq!(v.currency, "usd");
        let got: Vec<(&str, i64, i64, i64)> = v
            .days
            .iter()
            .map(|d| (d.day.as_str(), d.mrr.0, d.paying, d.trialing))
            .collect();
        assert_eq!(
            got,
            [
                ("d0", 14900, 1, 2),
                ("d1", 0, 0, 0),
                ("d2", 2 * 4900 + 14900, 8, 1)
            ]
        );
    }

    #[test]
    fn money_in_two_currencies_is_kept_apart() {
        let plans = vec![plan("starter", 4900, "usd"), plan("euro", 1000, "eur")];
        let counts = [
            counts("price_starter", |c| c.paying_now = 1),
            counts("price_euro", |c| c.paying_now = 2),
        ];
        let refunds = [
            RefundTotal {
                currency: "usd".into(),
                count: 2,
                cents: Cents(1250),
            },
            RefundTotal {
                currency: "eur".into(),
                count: 1,
                cents: Cents(300),
            },
        ];
        let v = summarize(input(&plans, &counts, &[], &refunds));
        // A tie: the alphabetical first leads.
        assert_eq!(v.currency, "eur");
        assert_eq!(v.mrr.format(), "€20 + $49");
        assert_eq!(v.refunds.format(), "€3 + $12.50");
        assert_eq!(v.refund_count, 3);
        assert_eq!(v.churned_mrr.format(), "€0");
        assert_eq!(v.mrr_change.format_signed(), "+€20, +$49");
    }

    #[test]
    fn signs_are_written_once_and_only_on_changes() {
        assert_eq!(signed(Cents(-150), "usd"), "-$1.50");
        assert_eq!(signed(Cents(1200), "usd"), "+$12");
        assert_eq!(signed(Cents::ZERO, "usd"), "$0");
        assert_eq!(chart_days("90"), 90);
        assert_eq!(chart_days("7"), 30);
        assert_eq!(chart_days(""), 30);
    }
}
