//! Staff's revenue figures, counted from the Stripe mirror (`billing_subscriptions`, with
//! `billing_invoices` and `billing_checkouts` for when a subscription began) and the ledger,
//! across every tenant (the system path). Only `services::reports`, behind the staff check,
//! calls these. Counts are per Stripe price; the service prices them with the settings.
//!
//! **When a subscription pays.** Each subscription pays over one span of time,
//! `[paying_from, stopped_at)`, reconstructed from the mirror's timestamps:
//! - `paying_from` is its `trial_end` when it had a trial, otherwise the earliest evidence of
//!   its start: its first mirrored invoice, the checkout that made it, or the event that last
//!   wrote its row (`src_created`: never before its start, so it only decides when the other
//!   two are missing or later). A subscription `trialing` now, or `paused` (Stripe's state for
//!   a trial that ended without a card), has never paid; `incomplete` and
//!   `incomplete_expired` ones are left out altogether.
//! - `stopped_at` is, for a `canceled` one, its `ended_at` (else `canceled_at`, else the
//!   mirror's last event); for an `unpaid` or `paused` one, the mirror's last event (the
//!   change that put it there); otherwise none: `active` and `past_due` ones pay until now.
//!
//! So "paying at T" is `paying_from <= T AND (stopped_at IS NULL OR stopped_at > T)`. The
//! mirror keeps only a subscription's current price, so a plan change is not replayed: the
//! past is priced at today's plan. With these spans, MRR now less MRR at the start of a window
//! is exactly the MRR that began paying in it less the MRR that stopped in it.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::Cents;
use crate::domain::revenue::{DayCounts, PriceCounts, RefundTotal};

/// The subscriptions that count, with their paying span (see the module's doc).
const SUBS: &str = "
    first_invoice AS (
        SELECT subscription_id, min(created) AS at FROM billing_invoices
         WHERE subscription_id IS NOT NULL GROUP BY subscription_id),
    first_checkout AS (
        SELECT subscription_id, min(completed_at) AS at FROM billing_checkouts
         WHERE subscription_id IS NOT NULL GROUP BY subscription_id),
    subs AS (
        SELECT s.price_id, s.plan_id, s.status, s.trial_start, s.trial_end,
               CASE WHEN s.status NOT IN ('trialing', 'paused')
                    THEN COALESCE(s.trial_end, LEAST(fi.at, fc.at, s.src_created)) END AS paying_from,
               CASE WHEN s.status = 'canceled' THEN COALESCE(s.ended_at, s.canceled_at, s.src_created)
                    WHEN s.status IN ('unpaid', 'paused') THEN s.src_created END AS stopped_at
          FROM billing_subscriptions s
          LEFT JOIN first_invoice fi ON fi.subscription_id = s.id
          LEFT JOIN first_checkout fc ON fc.subscription_id = s.id
         WHERE s.status NOT IN ('incomplete', 'incomplete_expired'))";

/// Paying at the time `$t` (a placeholder replaced by a parameter or a column).
fn paying_at(t: &str) -> String {
    format!("(paying_from <= {t} AND (stopped_at IS NULL OR stopped_at > {t}))")
}

type PriceRow = (String, Option<String>, i64, i64, i64, i64, i64, i64, i64);

/// Per price: paying at `now` and at `since`; began and stopped paying in `(since, now]`;
/// trialing now; trials that ended in `(since, now]` (at their end, or earlier when stopped)
/// and those of them paying at their end.
pub async fn by_price(
    pool: &PgPool,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> super::Result<Vec<PriceCounts>> {
    let trial_over = "LEAST(trial_end, stopped_at)";
    let rows: Vec<PriceRow> = sqlx::query_as(&format!(
        "WITH {SUBS}
         SELECT price_id, plan_id,
                count(*) FILTER (WHERE {now_paying}),
                count(*) FILTER (WHERE {then_paying}),
                count(*) FILTER (WHERE paying_from > $2 AND paying_from <= $1
                                   AND (stopped_at IS NULL OR stopped_at > paying_from)),
                count(*) FILTER (WHERE stopped_at > $2 AND stopped_at <= $1
                                   AND paying_from < stopped_at),
                count(*) FILTER (WHERE status = 'trialing'),
                count(*) FILTER (WHERE {ended}),
                count(*) FILTER (WHERE {ended} AND {paying_at_trial_end})
           FROM subs
          GROUP BY price_id, plan_id
          ORDER BY price_id, plan_id",
        now_paying = paying_at("$1"),
        then_paying = paying_at("$2"),
        ended = format!(
            "(trial_end IS NOT NULL AND status <> 'trialing'
              AND {trial_over} > $2 AND {trial_over} <= $1)"
        ),
        paying_at_trial_end = paying_at("trial_end"),
    ))
    .bind(now)
    .bind(since)
    .fetch_all(pool)
    .await
    .context("counting subscriptions by price")?;
    Ok(rows
        .into_iter()
        .map(|r| PriceCounts {
            price_id: r.0,
            plan_id: r.1,
            paying_now: r.2,
            paying_then: r.3,
            started: r.4,
            churned: r.5,
            trialing: r.6,
            trials_ended: r.7,
            trials_converted: r.8,
        })
        .collect())
}

/// Per day of the chart (`days_back` 0 is `now`, 1 a day earlier, … `days - 1`) and price:
/// paying and trialing at that moment. Days and prices with neither are left out.
pub async fn by_day(pool: &PgPool, now: DateTime<Utc>, days: i32) -> super::Result<Vec<DayCounts>> {
    let rows: Vec<(i32, String, Option<String>, i64, i64)> = sqlx::query_as(&format!(
        "WITH {SUBS},
         day AS (SELECT k, $1::timestamptz - k * interval '24 hours' AS at
                   FROM generate_series(0, $2::int - 1) AS k)
         SELECT d.k, s.price_id, s.plan_id,
                count(*) FILTER (WHERE {paying}) AS paying,
                count(*) FILTER (WHERE s.trial_start <= d.at AND s.trial_end > d.at
                                   AND (s.stopped_at IS NULL OR s.stopped_at > d.at)) AS trialing
           FROM day d CROSS JOIN subs s
          GROUP BY d.k, s.price_id, s.plan_id
         HAVING count(*) FILTER (WHERE {paying}) > 0
             OR count(*) FILTER (WHERE s.trial_start <= d.at AND s.trial_end > d.at
                                   AND (s.stopped_at IS NULL OR s.stopped_at > d.at)) > 0
          ORDER BY d.k, s.price_id",
        paying = "s.paying_from <= d.at AND (s.stopped_at IS NULL OR s.stopped_at > d.at)",
    ))
    .bind(now)
    .bind(days)
    .fetch_all(pool)
    .await
    .context("counting subscriptions by day")?;
    Ok(rows
        .into_iter()
        .map(|r| DayCounts {
            days_back: i64::from(r.0),
            price_id: r.1,
            plan_id: r.2,
            paying: r.3,
            trialing: r.4,
        })
        .collect())
}

/// Refund entries of the ledger dated in `(since, now]`, per currency, as positive sums.
pub async fn refunds(
    pool: &PgPool,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> super::Result<Vec<RefundTotal>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT currency, count(*), COALESCE(sum(abs(amount_cents)), 0)::bigint
           FROM ledger_entries
          WHERE kind = 'refund' AND occurred_at > $2 AND occurred_at <= $1
          GROUP BY currency ORDER BY currency",
    )
    .bind(now)
    .bind(since)
    .fetch_all(pool)
    .await
    .context("summing refunds")?;
    Ok(rows
        .into_iter()
        .map(|(currency, count, cents)| RefundTotal {
            currency,
            count,
            cents: Cents(cents),
        })
        .collect())
}
