//! The domain list (`/domains`) and "connect a domain you own".

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::Badge;
use super::search::DomainSearchBox;
use crate::api::domains::{ConnectDomain, get_domains};
use crate::components::style::{BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::DomainName;
use crate::domain::domains::{DomainListItem, DomainsView};
use crate::pages::dashboard::AppHeader;

/// The list, the search and "connect a domain you own".
#[component]
pub fn Domains() -> impl IntoView {
    let query = use_query_map();
    let connect = ServerAction::<ConnectDomain>::new();
    let data = Resource::new(move || connect.version().get(), |_| get_domains());
    let canceled = move || query.read().get("canceled").is_some();
    view! {
        <AppHeader subtitle="Domains" />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <nav class="text-sm"><a href="/dashboard" class="text-emerald-800 underline">"← Dashboard"</a></nav>
            <Show when=canceled>
                <p role="status" data-testid="checkout-canceled" class="rounded border border-stone-300 bg-stone-50 px-3 py-2 text-sm">
                    "Checkout canceled: nothing was charged. The name stays reserved for you for a while; remove it below if you changed your mind."
                </p>
            </Show>
            <PageLoader
                data
                login="/domains"
                loading="Loading your domains…"
                body=move |view| view! { <DomainsBody view connect /> }
            />
        </main>
    }
}

#[component]
fn DomainsBody(view: DomainsView, connect: ServerAction<ConnectDomain>) -> impl IntoView {
    let can_manage = view.can_manage;
    let tlds = view
        .tlds
        .iter()
        .map(|t| format!(".{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <section aria-labelledby="search-h" class="rounded-lg border border-stone-200 bg-white p-5">
            <h1 id="search-h" class="text-2xl font-bold">"Find a domain"</h1>
            <p class="mt-1 text-sm text-stone-600">
                {format!("Type a name (acme.com) or a keyword (acme) to try {tlds}. We register it, set MX, SPF, DKIM and DMARC, and check every record — in seconds.")}
            </p>
            <DomainSearchBox can_manage />
        </section>
        <section aria-labelledby="list-h">
            <h2 id="list-h" class="text-lg font-semibold">"Your domains"</h2>
            {if view.domains.is_empty() {
                view! { <p class="mt-2 text-stone-500" data-testid="no-domains">"No domains yet."</p> }.into_any()
            } else {
                view! {
                    <div class="mt-3 overflow-x-auto">
                    <table class="w-full text-left text-sm" data-testid="domain-list">
                        <thead class="text-stone-500"><tr>
                            <th class="py-2 pr-4">"Domain"</th><th class="py-2 pr-4">"Status"</th>
                            <th class="py-2 pr-4">"DNS health"</th><th class="py-2">"Expires"</th>
                        </tr></thead>
                        <tbody>
                            {view.domains.into_iter().map(|d| view! { <DomainRowView d /> }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            }}
        </section>
        {can_manage.then(|| view! { <ConnectOwn connect /> })}
    }
}

#[component]
fn DomainRowView(d: DomainListItem) -> impl IntoView {
    view! {
        <tr class="border-t border-stone-200" data-testid="domain-row">
            <td class="py-2 pr-4">
                <a class="font-medium text-emerald-800 underline" href=format!("/domains/{}", d.id)>{d.name.clone()}</a>
                {d.byod.then(|| view! { <span class="ml-2 text-xs text-stone-500">"your own"</span> })}
            </td>
            <td class="py-2 pr-4"><Badge status=d.status.clone() label=d.status_label.clone() /></td>
            <td class="py-2 pr-4"><Badge status=d.health.clone() label=d.health_label.clone() /></td>
            <td class="py-2">{d.expires.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
    .into_any()
}

#[component]
fn ConnectOwn(connect: ServerAction<ConnectDomain>) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let problem = move || {
        let t = typed.get();
        if t.trim().is_empty() {
            None
        } else {
            DomainName::parse(&t).err()
        }
    };
    view! {
        <section aria-labelledby="own-h" class="rounded-lg border border-stone-200 bg-white p-5">
            <h2 id="own-h" class="text-lg font-semibold">"Use a domain you already own"</h2>
            <p class="mt-1 text-sm text-stone-600">"We show the exact records to create at your DNS host — or create them for you if the zone is in our DNS account — and verify each one."</p>
            <ActionForm action=connect attr:class="mt-3 flex flex-col gap-2 sm:flex-row sm:items-start">
                <div class="flex-1">
                    <label for="own-name" class="sr-only">"Your domain"</label>
                    <input id="own-name" name="name" type="text" autocomplete="off" placeholder="yourcompany.com"
                        class=INPUT
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                    <p class="mt-1 min-h-5 text-sm text-red-700">{problem}</p>
                </div>
                <button type="submit" class=BUTTON_SECONDARY disabled=move || problem().is_some() || connect.pending().get()
                    data-testid="connect">"Connect"</button>
            </ActionForm>
            <Alert message=error_of(connect) />
        </section>
    }
}
