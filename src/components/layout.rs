use leptos::prelude::*;

use crate::domain::{Usage, format_count};

/// The header on public pages.
#[component]
pub fn PublicHeader() -> impl IntoView {
    view! {
        <header class="border-b border-stone-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between gap-4 px-4 py-3">
                <a href="/" class="text-lg font-bold text-emerald-800">
                    "InboxGrove"
                </a>
                <nav class="flex items-center gap-3 text-sm">
                    <a href="/login" class="rounded px-3 py-2 text-stone-700 hover:bg-stone-100">
                        "Log in"
                    </a>
                    <a
                        href="/signup"
                        class="rounded bg-emerald-700 px-3 py-2 font-medium text-white hover:bg-emerald-800"
                    >
                        "Start free trial"
                    </a>
                </nav>
            </div>
        </header>
    }
}

/// A message for the whole form or page.
#[component]
pub fn Alert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p
                role="alert"
                class="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800"
            >
                {move || message.get()}
            </p>
        </Show>
    }
}

/// "Domains 0 / 2" with a bar and the percentage.
#[component]
pub fn UsageBar(label: &'static str, usage: Usage) -> impl IntoView {
    let pct = usage.percent();
    view! {
        <div class="rounded-lg border border-stone-200 bg-white p-4">
            <div class="flex items-baseline justify-between">
                <span class="text-sm font-medium text-stone-600">{label}</span>
                <span class="text-sm text-stone-500">{format!("{pct}%")}</span>
            </div>
            <p class="mt-1 text-2xl font-semibold" data-testid=format!("usage-{}", label.to_lowercase().replace(' ', "-"))>
                {format!("{} / {}", format_count(usage.used), format_count(usage.limit))}
            </p>
            <progress
                class="mt-2 h-2 w-full overflow-hidden rounded [&::-webkit-progress-bar]:bg-stone-200 [&::-webkit-progress-value]:bg-emerald-600 [&::-moz-progress-bar]:bg-emerald-600"
                max=usage.limit.max(1)
                value=usage.used
                aria-label=format!("{label} used")
            ></progress>
        </div>
    }
}

/// The "Usage" section: domains and inboxes against the plan's limits.
#[component]
pub fn UsageSection(
    domains: Usage,
    inboxes: Usage,
    /// The public API's calls this month (the billing page).
    #[prop(optional)]
    api_calls: Option<Usage>,
) -> impl IntoView {
    view! {
        <section aria-labelledby="usage-h">
            <h2 id="usage-h" class="text-lg font-semibold">"Usage"</h2>
            <div class="mt-3 grid grid-cols-1 gap-4 sm:grid-cols-2">
                <UsageBar label="Domains" usage=domains />
                <UsageBar label="Inboxes" usage=inboxes />
                {api_calls.map(|usage| view! { <UsageBar label="API calls" usage /> })}
            </div>
        </section>
    }
}
