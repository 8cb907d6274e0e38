use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::domains::{
    BuyDomain, ConnectDomain, DeleteDomain, RecheckDomain, RepairDomain, get_domain, get_domains,
    search_domains,
};
use crate::components::style::{BUTTON, BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, copy_text, error_of, go_to};
use crate::domain::domains::{
    DomainDetail, DomainListItem, DomainsView, RecordView, SearchResult, SearchView, StepView,
};
use crate::domain::{DomainName, DomainSearch};
use crate::error::AppError;
use crate::pages::dashboard::AppHeader;

fn status_class(status: &str) -> &'static str {
    match status {
        "active" | "ok" | "done" => "bg-emerald-100 text-emerald-900",
        "failed" | "missing" | "invalid" | "broken" => "bg-red-100 text-red-900",
        "deleted" | "pending" | "unknown" => "bg-stone-100 text-stone-700",
        _ => "bg-amber-100 text-amber-900",
    }
}

#[component]
fn Badge(#[prop(into)] status: String, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_class(&status))
            data-status=status>
            {label}
        </span>
    }
}

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

/// Validated as you type with the shared `DomainSearch::parse`; results come from the server.
#[component]
fn DomainSearchBox(can_manage: bool) -> impl IntoView {
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

/// One domain: the saga's steps (live while it runs), the records with their health, actions.
#[component]
pub fn DomainPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let recheck = ServerAction::<RecheckDomain>::new();
    let repair = ServerAction::<RepairDomain>::new();
    let delete = ServerAction::<DeleteDomain>::new();
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                id(),
                tick.get(),
                recheck.version().get(),
                repair.version().get(),
            )
        },
        |(id, _, _, _)| get_domain(id),
    );
    // While the saga runs, ask again every 700 ms (browser only).
    Effect::new(move |_| {
        if let Some(Ok(d)) = data.get()
            && d.in_progress
        {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_millis(1500),
            );
        }
    });
    let action_error = Signal::derive(move || {
        error_of(recheck)
            .get()
            .or_else(|| error_of(repair).get())
            .or_else(|| error_of(delete).get())
    });
    view! {
        <AppHeader subtitle="Domains" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/domains" class="text-emerald-800 underline">"← Domains"</a></nav>
            {move || delete.value().get().and_then(Result::ok).map(|note| view! {
                <p role="status" data-testid="deleted-note" class="rounded border border-stone-300 bg-stone-50 px-3 py-2">{note}</p>
            })}
            <Alert message=action_error />
            <PageLoader
                data
                login="/domains"
                keep_while_reloading=true
                not_found=|| view! { <p class="text-stone-600" data-testid="domain-missing">"This domain is not in your account."</p> }
                body=move |d| view! { <DomainBody d recheck repair delete /> }
            />
        </main>
    }
}

#[component]
fn DomainBody(
    d: DomainDetail,
    recheck: ServerAction<RecheckDomain>,
    repair: ServerAction<RepairDomain>,
    delete: ServerAction<DeleteDomain>,
) -> impl IntoView {
    let id = d.id.clone();
    let checkable = matches!(d.status.as_str(), "verifying" | "active");
    let ok = d.records.iter().filter(|r| r.status == "ok").count();
    let total = d.records.len();
    let show_copy = d.byod && !d.managed;
    let repair_label = if d.byod {
        "Create the records for me"
    } else {
        "Repair"
    };
    let needs_repair = d.records.iter().any(|r| r.status != "ok");
    let removable = !matches!(d.status.as_str(), "registering" | "configuring_dns")
        && (!d.in_progress || d.byod);
    let recheck_label = if d.byod && d.status == "verifying" {
        "Verify"
    } else {
        "Re-check now"
    };
    let remove_label = if d.status == "pending_payment" {
        "Cancel purchase"
    } else {
        "Remove"
    };
    let failed = d.status == "failed";
    let (id1, id2, id3) = (id.clone(), id.clone(), id);
    // Three type-erased parts: one nested view type this deep overflows rustc's query depth
    // in the release wasm build.
    let head = view! {
        <section class="rounded-lg border border-stone-200 bg-white p-5">
            <div class="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
                <div>
                    <h1 class="text-2xl font-bold" data-testid="domain-name">{d.name.clone()}</h1>
                    <p class="mt-1 flex items-center gap-2">
                        <span data-testid="domain-status"><Badge status=d.status.clone() label=d.status_label.clone() /></span>
                        {d.in_progress.then(|| view! { <span class="text-sm text-stone-500">"working…"</span> })}
                    </p>
                    <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-stone-600">
                        {d.price.clone().map(|p| view! { <dt>"Paid"</dt><dd>{p}</dd> })}
                        {d.expires.clone().map(|e| view! { <dt>"Registered until"</dt><dd>{e}</dd> })}
                        {(!d.nameservers.is_empty()).then(|| view! { <dt>"Nameservers"</dt><dd class="font-mono">{d.nameservers.join(", ")}</dd> })}
                        {d.last_checked.clone().map(|c| view! { <dt>"Last checked"</dt><dd>{c}</dd> })}
                    </dl>
                </div>
                {d.can_manage.then(|| view! {
                    <div class="flex flex-wrap gap-2 sm:justify-end">
                        {checkable.then(|| view! {
                            <ActionForm action=recheck>
                                <input type="hidden" name="id" value=id1.clone() />
                                <button type="submit" class=BUTTON_SECONDARY disabled=move || recheck.pending().get() data-testid="recheck">
                                    {recheck_label}
                                </button>
                            </ActionForm>
                        })}
                        {(checkable && d.managed && (needs_repair || d.byod)).then(|| view! {
                            <ActionForm action=repair>
                                <input type="hidden" name="id" value=id2.clone() />
                                <button type="submit" class=BUTTON disabled=move || repair.pending().get() data-testid="repair">{repair_label}</button>
                            </ActionForm>
                        })}
                        {removable.then(|| view! {
                            <ActionForm action=delete>
                                <input type="hidden" name="id" value=id3.clone() />
                                <button type="submit" class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50" data-testid="delete">
                                    {remove_label}
                                </button>
                            </ActionForm>
                        })}
                    </div>
                })}
            </div>
            {d.failure_reason.clone().filter(|_| failed).map(|r| view! {
                <p role="alert" data-testid="failure" class="mt-4 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">{r}</p>
            })}
            {d.refund.clone().map(|r| view! {
                <p role="status" data-testid="refund" class="mt-2 rounded border border-stone-300 bg-stone-50 px-3 py-2 text-sm">{r}</p>
            })}
            {(removable && !d.byod && d.expires.is_some()).then(|| view! {
                <p class="mt-3 text-xs text-stone-500">"Removing takes the domain off the relay and out of your active domains. Its registration runs until it expires and is not renewed."</p>
            })}
        </section>
    }
    .into_any();
    let steps = (!d.steps.is_empty()).then(|| {
        view! {
            <section aria-labelledby="steps-h">
                <h2 id="steps-h" class="text-lg font-semibold">"Set-up"</h2>
                <ol class="mt-3 space-y-1 text-sm" data-testid="steps">
                    {d.steps.clone().into_iter().map(|s| view! { <StepLine s /> }).collect_view()}
                </ol>
            </section>
        }
        .into_any()
    });
    let records = view! {
        <section aria-labelledby="records-h">
            <h2 id="records-h" class="text-lg font-semibold">
                "DNS records "
                <span class="text-sm font-normal text-stone-500" data-testid="records-summary">
                    {if total == 0 { "not created yet".to_string() } else { format!("{ok} of {total} OK") }}
                </span>
            </h2>
            {show_copy.then(|| view! {
                <p class="mt-1 text-sm text-stone-600">"Create these records at your DNS host, then press Verify."</p>
            })}
            <div class="mt-3 overflow-x-auto">
                <table class="w-full text-left text-sm" data-testid="records">
                    <thead class="text-stone-500"><tr>
                        <th class="py-2 pr-3">"Record"</th><th class="py-2 pr-3">"Type"</th><th class="py-2 pr-3">"Name"</th>
                        <th class="py-2 pr-3">"Value"</th><th class="py-2">"Status"</th>
                    </tr></thead>
                    <tbody>
                        {d.records.clone().into_iter().map(|r| view! { <RecordLine r copy=show_copy /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any();
    view! { {head} {steps} {records} }
}

#[component]
fn StepLine(s: StepView) -> impl IntoView {
    let mark = match s.status.as_str() {
        "done" => "✓",
        "failed" => "✗",
        "running" => "…",
        _ => "○",
    };
    view! {
        <li class="flex flex-wrap items-baseline gap-2" data-testid="step" data-step=s.step.clone() data-status=s.status.clone()>
            <span class="w-4 text-center" aria-hidden="true">{mark}</span>
            <span class=if s.status == "pending" { "text-stone-400" } else { "" }>{s.label.clone()}</span>
            {s.took.clone().map(|t| view! { <span class="text-stone-500">{t}</span> })}
            {(s.attempts > 1).then(|| view! { <span class="text-stone-500">{format!("attempt {}", s.attempts)}</span> })}
            {s.error.clone().map(|e| view! { <span class="text-red-700">{e}</span> })}
        </li>
    }
    .into_any()
}

#[component]
fn RecordLine(r: RecordView, copy: bool) -> impl IntoView {
    let value = r.value.clone();
    let name = r.name.clone();
    view! {
        <tr class="border-t border-stone-200 align-top" data-testid="record" data-purpose=r.purpose.clone() data-status=r.status.clone()>
            <td class="py-2 pr-3 font-medium">{r.purpose.clone()}</td>
            <td class="py-2 pr-3 font-mono">{r.kind.clone()}</td>
            <td class="py-2 pr-3 font-mono break-all">
                {r.name.clone()}
                {copy.then(|| view! { <CopyButton text=name.clone() /> })}
            </td>
            <td class="py-2 pr-3 font-mono break-all">
                <span class="line-clamp-3">{r.value.clone()}</span>
                {copy.then(|| view! { <CopyButton text=value.clone() /> })}
            </td>
            <td class="py-2">
                <Badge status=r.status.clone() label=match r.status.as_str() { "ok" => "OK", "missing" => "Missing", "invalid" => "Invalid", _ => "Not checked" } />
                {r.fix.clone().map(|f| view! { <p class="mt-1 text-xs text-stone-700" data-testid="fix">{f}</p> })}
                {(!r.found.is_empty() && r.status != "ok").then(|| view! {
                    <p class="mt-1 text-xs text-stone-500 break-all">{format!("Found: {}", r.found.join(" | "))}</p>
                })}
            </td>
        </tr>
    }
    .into_any()
}

#[component]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button type="button" class="ml-2 rounded border border-stone-300 px-1.5 text-xs hover:bg-stone-100"
            on:click=move |_| { copy_text(&text); copied.set(true); }>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
