//! Staff: each external provider's calls, error rate and latency over the last hour
//! (`/admin/providers`), as this process counted them.

use leptos::prelude::*;

use super::{StaffPage, loaded};
use crate::api::admin::admin_providers;
use crate::components::chart::{LineChart, Series};
use crate::components::style::CARD;
use crate::domain::format_count;
use crate::domain::provider_health::{ProvidersView, millis};

#[component]
pub fn AdminProviders() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_providers());
    view! {
        <StaffPage subtitle="Providers">
            <h1 class="text-2xl font-bold">"Providers"</h1>
            {loaded(data, move |view| view! { <Body view /> })}
        </StaffPage>
    }
}

#[component]
fn Body(view: ProvidersView) -> impl IntoView {
    let minutes = view.window_minutes;
    let rows = view
        .providers
        .iter()
        .map(|p| {
            let rate = p
                .error_rate
                .map_or_else(|| "—".to_string(), |r| format!("{:.1}%", r * 100.0));
            let bad = p.error_rate.is_some_and(|r| r > 0.0);
            view! {
                <tr class="border-t border-stone-200" data-testid="provider-health-row">
                    <td class="py-1 pr-3 font-mono">{p.provider.clone()}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{format_count(p.calls as i64)}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{format_count(p.errors as i64)}</td>
                    <td class=if bad { "py-1 pr-3 text-right tabular-nums font-semibold text-red-800" } else { "py-1 pr-3 text-right tabular-nums" }>{rate}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{millis(p.mean_ms)}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{millis(p.p50_ms)}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{millis(p.p95_ms)}</td>
                    <td class="py-1 pr-3 text-right tabular-nums">{millis(p.max_ms)}</td>
                    <td class="py-1 whitespace-nowrap">{p.last_error.clone().unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect_view();
    let labels: Vec<String> = view.minutes.iter().map(|m| m.minute.clone()).collect();
    let calls: u64 = view.minutes.iter().map(|m| m.calls).sum();
    let errors: u64 = view.minutes.iter().map(|m| m.errors).sum();
    let series = vec![
        Series {
            name: "Calls",
            color: "#0f766e",
            swatch: "bg-teal-700",
            values: view.minutes.iter().map(|m| m.calls as f64).collect(),
        },
        Series {
            name: "Errors",
            color: "#dc2626",
            swatch: "bg-red-600",
            values: view.minutes.iter().map(|m| m.errors as f64).collect(),
        },
    ];
    let summary = format!(
        "{} calls to all providers in the last {minutes} minutes, {} of them failed.",
        format_count(calls as i64),
        format_count(errors as i64)
    );
    view! {
        <p class="rounded border border-sky-300 bg-sky-50 px-3 py-2 text-sm text-sky-950" data-testid="per-process">
            {format!(
                "Per process: these are the calls this app process made in the last {minutes} minutes, up to {}. \
                 Each replica counts its own, and a restart starts from nothing.",
                view.as_of
            )}
            " " <a href="/admin/providers" class="text-emerald-800 underline">"Refresh"</a>
        </p>
        <section class=CARD>
            <h2 class="text-lg font-semibold">"Last hour"</h2>
            <div class="overflow-x-auto">
                <table class="mt-2 w-full text-left text-sm" data-testid="provider-health">
                    <thead class="text-stone-500"><tr>
                        <th scope="col" class="py-1 pr-3">"Provider"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Calls"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Errors"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Error rate"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Mean"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"p50"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"p95"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Max"</th>
                        <th scope="col" class="py-1">"Last error"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
        <LineChart id="provider-calls" title=format!("Provider calls per minute, last {minutes} minutes") summary labels series />
        <section class="text-xs text-stone-600">
            <h2 class="font-semibold">"How these are counted"</h2>
            <p>
                "Every call the app makes to a provider is timed from start to answer. An error is a call that \
                 returned one, refusals included (a name already taken, a tool that refused a key), or that was \
                 abandoned before it answered (a timeout). p50 and p95 are read from latency buckets: the upper \
                 edge of the bucket, never above the slowest call. The last error is the latest since this \
                 process started. Payments are listed once they report their calls."
            </p>
        </section>
    }
}
