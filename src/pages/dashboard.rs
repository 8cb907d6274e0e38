use leptos::prelude::*;

use crate::api::auth::Logout;
use crate::api::dashboard::get_dashboard;
use crate::components::{LoadStyle, PageLoader, UsageSection};
use crate::domain::DashboardView;

/// The header inside the signed-in app, with the logout button.
#[component]
pub fn AppHeader(#[prop(into)] subtitle: String) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="border-b border-stone-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between gap-3 px-4 py-3">
                <div class="min-w-0 flex-1">
                    <a href="/dashboard" class="text-lg font-bold text-emerald-800">"InboxGrove"</a>
                    <p class="truncate text-sm text-stone-500" title=subtitle.clone()>{subtitle.clone()}</p>
                </div>
                <ActionForm action=logout>
                    <button type="submit" class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100">
                        "Log out"
                    </button>
                </ActionForm>
            </div>
        </header>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <PageLoader
            data
            login="/dashboard"
            loading="Loading your workspace…"
            style=LoadStyle::Page
            body=|view| view! { <DashboardBody view /> }
        />
    }
}

#[component]
fn DashboardBody(view: DashboardView) -> impl IntoView {
    let trial = view.trial_label();
    let subtitle = format!("{} · {}", view.tenant_name, view.user_email);
    let can_manage = view.role.can_manage();
    view! {
        <AppHeader subtitle />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <div class="flex flex-col gap-2 sm:flex-row sm:items-end sm:justify-between">
                <div>
                    <h1 class="text-2xl font-bold break-words" data-testid="tenant-name">{view.tenant_name.clone()}</h1>
                    <p class="text-stone-600">
                        {format!("Plan: {} · ", view.plan_name)}
                        <a href="/billing" class="text-emerald-800 underline" data-testid="billing-link">"Billing"</a>
                        " · "
                        <a href="/domains" class="text-emerald-800 underline" data-testid="domains-link">"Domains"</a>
                        " · "
                        <a href="/inboxes" class="text-emerald-800 underline" data-testid="inboxes-link">"Inboxes"</a>
                        " · "
                        <a href="/activity" class="text-emerald-800 underline" data-testid="activity-link">"Activity"</a>
                    </p>
                </div>
                {trial.map(|t| view! {
                    <p class="self-start rounded-full bg-amber-100 px-3 py-1 text-sm font-medium text-amber-900" data-testid="trial">
                        {t}
                    </p>
                })}
            </div>
            <UsageSection domains=view.domains inboxes=view.inboxes />
            <section aria-labelledby="next-h">
                <h2 id="next-h" class="text-lg font-semibold">"Next steps"</h2>
                <ol class="mt-3 list-decimal space-y-2 pl-5 text-stone-700">
                    <li class=done_class(view.domains.used)>
                        <a href="/domains" class="underline">"Buy or connect a sending domain"</a>
                        " — we set MX, SPF, DKIM and DMARC and check each record."
                    </li>
                    <li class=done_class(view.inboxes.used)>
                        <a href="/inboxes/new" class="underline">"Press the magic button"</a>
                        " to create your inboxes on it."
                    </li>
                    <li>"Export the credentials file to Instantly, Smartlead or Salesforge."</li>
                </ol>
                {(!can_manage).then(|| view! {
                    <p class="mt-3 text-sm text-stone-500">"You are a member: an owner or admin makes purchases."</p>
                })}
            </section>
        </main>
    }
}

fn done_class(used: i64) -> &'static str {
    if used > 0 {
        "text-stone-400 line-through"
    } else {
        ""
    }
}
