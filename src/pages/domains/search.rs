//! Finding and buying a domain: validated as you type, results from the server.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::domains::{BuyDomain, search_domains};
use crate::components::style::{BUTTON, INPUT};
use crate::components::{Alert, error_of, go_to};
use crate::domain::DomainSearch;
use crate::domain::domains::{SearchResult, SearchView};
use crate::error::AppError;

/// Validated as you type with the shared `DomainSearch::parse`; results come from the server.
#[component]
pub(super) fn DomainSearchBox(can_manage: bool) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let typed = RwSignal::new(q());
    let problem = move || {
        let t = typed.get();
        if t.trim().is_empty() {
            None
        } else {
            DomainSearch::parse(&t).err()
        }
    };
    let results = Resource::new(q, |q| async move {
        if q.trim().is_empty() {
            Ok(None)
        } else {
            search_domains(q).await.map(Some)
        }
    });
    let buy = ServerAction::<BuyDomain>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = buy.value().get() {
            go_to(&url);
        }
    });
    view! {
        <Form method="GET" action="/domains" attr:class="mt-4 flex flex-col gap-2 sm:flex-row sm:items-start">
            <div class="flex-1">
                <label for="q" class="sr-only">"Domain name or keyword"</label>
                <input id="q" name="q" type="text" autocomplete="off" spellcheck="false"
                    placeholder="acme.com or acme"
                    class=INPUT
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    aria-invalid=move || problem().is_some().to_string()
                    aria-describedby="q-problem" />
                <p id="q-problem" class="mt-1 min-h-5 text-sm text-red-700" data-testid="search-problem">{problem}</p>
            </div>
            <button type="submit" class=BUTTON disabled=move || problem().is_some() data-testid="search-submit">"Search"</button>
        </Form>
        <Alert message=error_of(buy) />
        <Transition fallback=|| view! { <p class="mt-3 text-stone-500">"Checking availability…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(Some(view)) => view! { <SearchResults view buy can_manage /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(AppError::Invalid(errors)) => view! {
                        <p role="alert" class="mt-3 text-red-700">{errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ")}</p>
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="mt-3 text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SearchResults(
    view: SearchView,
    buy: ServerAction<BuyDomain>,
    can_manage: bool,
) -> impl IntoView {
    let blocked = view.limit.is_some();
    view! {
        {view.limit.clone().map(|l| view! {
            <p role="status" data-testid="search-limit" class="mt-3 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">{l}</p>
        })}
        <ul class="mt-3 divide-y divide-stone-200" data-testid="search-results">
            {view.results.into_iter().map(|r| view! { <SearchRow r buy allowed=can_manage && !blocked /> }).collect_view()}
        </ul>
    }
}

#[component]
fn SearchRow(r: SearchResult, buy: ServerAction<BuyDomain>, allowed: bool) -> impl IntoView {
    let name = r.name.clone();
    view! {
        <li class="flex items-center justify-between gap-4 py-2" data-testid="search-result" data-name=r.name.clone()>
            <span class="font-medium">{r.display.clone()}</span>
            <span class="flex items-center gap-3">
                {r.price.clone().map(|p| view! { <span class="font-mono" data-testid="price">{p}</span> })}
                {r.note.clone().map(|n| view! { <span class="text-sm text-stone-500">{n}</span> })}
                {(r.available && allowed).then(|| view! {
                    <ActionForm action=buy>
                        <input type="hidden" name="name" value=name.clone() />
                        <button type="submit" class=BUTTON disabled=move || buy.pending().get()
                            data-testid="buy">"Buy"</button>
                    </ActionForm>
                })}
            </span>
        </li>
    }
    .into_any()
}
