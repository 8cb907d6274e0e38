//! Staff: revenue from the mirrored Stripe data (`/admin/revenue`): MRR and its change,
//! subscriptions by plan, trials, trial-to-paid conversion, churn and refunds over 30 days,
//! with charts over 30 or 90 days and the definitions in the small print.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{StaffPage, loaded};
use crate::api::admin::admin_revenue;
use crate::components::chart::{BarChart, LineChart, Series};
use crate::components::style::CARD;
use crate::domain::format_count;
use crate::domain::revenue::{CHART_PERIODS, DEFINITIONS, RevenueView};

#[component]
pub fn AdminRevenue() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.read().get("days").unwrap_or_default(),
        admin_revenue,
    );
    view! {
        <StaffPage subtitle="Revenue">
            <h1 class="text-2xl font-bold">"Revenue"</h1>
            {loaded(data, move |view| view! { <Body view /> })}
        </StaffPage>
    }
}

/// `0.667` → "66.7%".
fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// One figure: a label, the value, and a line under it.
#[component]
fn Figure(label: &'static str, testid: &'static str, value: String, note: String) -> impl IntoView {
    view! {
        <div class=CARD>
            <p class="text-sm text-stone-600">{label}</p>
            <p class="text-2xl font-semibold tabular-nums" data-testid=testid>{value}</p>
            <p class="text-xs text-stone-600">{note}</p>
        </div>
    }
}

#[component]
fn Body(view: RevenueView) -> impl IntoView {
    let days = view.days.len() as i64;
    let window = view.window_days;
    let periods = CHART_PERIODS
        .iter()
        .map(|p| {
            let here = *p == days;
            view! {
                <a
                    href=format!("/admin/revenue?days={p}")
                    aria-current=here.then_some("page")
                    class=if here { "rounded bg-emerald-700 px-3 py-1.5 text-white" } else { "rounded border border-stone-300 px-3 py-1.5 hover:bg-stone-100" }
                >
                    {format!("{p} days")}
                </a>
            }
        })
        .collect_view();
    let change = match view.mrr_change_rate {
        Some(rate) => format!(
            "{} ({}{}) vs {} days ago ({})",
            view.mrr_change.format_signed(),
            if rate > 0.0 { "+" } else { "" },
            percent(rate),
            window,
            view.mrr_then.format()
        ),
        None => format!(
            "{} vs {} days ago ({})",
            view.mrr_change.format_signed(),
            window,
            view.mrr_then.format()
        ),
    };
    let conversion = view.conversion.map_or_else(|| "—".to_string(), percent);
    let currency = view.currency.to_uppercase();
    let labels: Vec<String> = view.days.iter().map(|d| d.day.clone()).collect();
    let mrr_series = vec![Series {
        name: "MRR",
        color: "#047857",
        swatch: "bg-emerald-700",
        values: view.days.iter().map(|d| d.mrr.0 as f64 / 100.0).collect(),
    }];
    let subs_series = vec![
        Series {
            name: "Paying",
            color: "#0f766e",
            swatch: "bg-teal-700",
            values: view.days.iter().map(|d| d.paying as f64).collect(),
        },
        Series {
            name: "Trialing",
            color: "#d97706",
            swatch: "bg-amber-600",
            values: view.days.iter().map(|d| d.trialing as f64).collect(),
        },
    ];
    let first = view
        .days
        .first()
        .map(|d| format!("{} on {}", d.mrr.format(&view.currency), d.day))
        .unwrap_or_default();
    let mrr_summary = format!(
        "MRR in {currency} on each of the last {days} days: {first}, {} now.",
        view.mrr.get(&view.currency).format(&view.currency)
    );
    let subs_summary = format!(
        "{} paying and {} trialing now; {} paying {} days ago.",
        format_count(view.paying),
        format_count(view.trials_running),
        format_count(view.paying_then),
        window
    );
    let plans: Vec<String> = view.by_plan.iter().map(|p| p.name.clone()).collect();
    let plan_series = vec![
        Series {
            name: "Paying",
            color: "#0f766e",
            swatch: "bg-teal-700",
            values: view.by_plan.iter().map(|p| p.paying as f64).collect(),
        },
        Series {
            name: "Trialing",
            color: "#d97706",
            swatch: "bg-amber-600",
            values: view.by_plan.iter().map(|p| p.trialing as f64).collect(),
        },
    ];
    let plan_summary = view
        .by_plan
        .iter()
        .map(|p| format!("{}: {} paying, {} trialing", p.name, p.paying, p.trialing))
        .collect::<Vec<_>>()
        .join("; ");
    let plan_rows = view
        .by_plan
        .iter()
        .map(|p| {
            view! {
                <tr class="border-t border-stone-200" data-testid="plan-row">
                    <td class="py-1 pr-3">{p.name.clone()}</td>
                    <td class="py-1 pr-3">{p.price.clone()}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{format_count(p.paying)}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{format_count(p.trialing)}</td>
                    <td class="py-1 text-right tabular-nums">{p.mrr.format()}</td>
                </tr>
            }
        })
        .collect_view();
    let unpriced = (view.unpriced > 0).then(|| {
        view! {
            <p class="text-sm text-amber-900" data-testid="unpriced">
                {format!(
                    "{} paying on a Stripe price no plan of the settings has: counted as paying, not in MRR.",
                    format_count(view.unpriced)
                )}
            </p>
        }
    });
    let sandbox = view.sandbox_time.then(|| {
        view! {
            <p class="rounded border border-sky-300 bg-sky-50 px-3 py-2 text-sm text-sky-950">
                "Payments run on the sandbox: these figures are as of the sandbox Stripe's clock."
            </p>
        }
    });
    let definitions = DEFINITIONS
        .iter()
        .map(|(term, text)| view! { <dt class="font-medium">{*term}</dt><dd class="mb-1">{*text}</dd> })
        .collect_view();
    view! {
        <div class="flex flex-col gap-2 sm:flex-row sm:items-end sm:justify-between">
            <p class="text-sm text-stone-600">{format!("As of {}.", view.as_of)}</p>
            <nav class="flex gap-2 text-sm" aria-label="Chart period">{periods}</nav>
        </div>
        {sandbox}
        <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="revenue-figures">
            <Figure label="MRR" testid="revenue-mrr" value=view.mrr.format() note=change />
            <Figure
                label="Paying subscriptions"
                testid="revenue-paying"
                value=format_count(view.paying)
                note=format!("{} new ({}) in {window} days", format_count(view.new_subscriptions), view.new_mrr.format())
            />
            <Figure
                label="Trials running"
                testid="revenue-trials"
                value=format_count(view.trials_running)
                note="Stripe subscriptions trialing now".to_string()
            />
            <Figure
                label="Trial-to-paid"
                testid="revenue-conversion"
                value=conversion
                note=format!("{} of {} trials that ended in {window} days", view.trials_converted, view.trials_ended)
            />
            <Figure
                label="Churn"
                testid="revenue-churn"
                value=format_count(view.churned)
                note=format!("{} MRR lost in {window} days", view.churned_mrr.format())
            />
            <Figure
                label="Refunds"
                testid="revenue-refunds"
                value=view.refunds.format()
                note=format!("{} refunds in {window} days", format_count(view.refund_count))
            />
        </div>
        <div class="grid gap-4 lg:grid-cols-2">
            <LineChart id="mrr" title=format!("MRR ({currency}) by day, last {days} days") summary=mrr_summary labels=labels.clone() series=mrr_series />
            <LineChart id="subscriptions" title=format!("Subscriptions by day, last {days} days") summary=subs_summary labels series=subs_series />
        </div>
        <BarChart id="plans" title="Subscriptions by plan now".to_string() summary=plan_summary category="Plan" categories=plans series=plan_series />
        <section class=CARD>
            <h2 class="text-lg font-semibold">"By plan"</h2>
            <div class="overflow-x-auto">
                <table class="mt-2 w-full text-left text-sm" data-testid="revenue-plans">
                    <thead class="text-stone-500"><tr>
                        <th scope="col" class="py-1 pr-3">"Plan"</th><th scope="col" class="py-1 pr-3">"Price"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Paying"</th><th scope="col" class="py-1 pr-3 text-right">"Trialing"</th>
                        <th scope="col" class="py-1 text-right">"MRR"</th>
                    </tr></thead>
                    <tbody>{plan_rows}</tbody>
                </table>
            </div>
            {unpriced}
        </section>
        <section class="text-xs text-stone-600" aria-labelledby="revenue-defs">
            <h2 id="revenue-defs" class="font-semibold">"How these are counted"</h2>
            <p class="mb-1">
                "From the Stripe data mirrored by webhooks (subscriptions, invoices, checkouts) and the ledger; \
                 each subscription once, whatever its tenant."
            </p>
            <dl>{definitions}</dl>
        </section>
    }
}
