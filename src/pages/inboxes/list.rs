//! The inbox list (`/inboxes`): filters, pagination, the CSV downloads.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::status_class;
use crate::api::inboxes::get_inboxes;
use crate::api::integrations::PushInboxes;
use crate::components::style::{BUTTON, BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::inboxes::{
    ExportFormat, INBOX_STATUSES, InboxFilter, InboxListItem, InboxesView,
};
use crate::pages::dashboard::AppHeader;

fn export_href(filter: &InboxFilter, format: ExportFormat) -> String {
    let q = filter.query();
    if q.is_empty() {
        format!("/inboxes/export?format={}", format.key())
    } else {
        format!("/inboxes/export?format={}&{q}", format.key())
    }
}

/// The list with filters, pagination and the downloads.
#[component]
pub fn Inboxes() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (
            InboxFilter {
                domain: get("domain"),
                status: get("status"),
                batch: get("batch"),
                ids: None,
            },
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || (args(), tick.get()),
        |((f, page), _)| {
            get_inboxes(
                f.domain.unwrap_or_default(),
                f.status.unwrap_or_default(),
                f.batch.unwrap_or_default(),
                page,
            )
        },
    );
    // While inboxes on the page are being set up (published, waiting for the mail store to
    // accept their logins), ask again every 1.5 s so they turn active in place (browser only).
    Effect::new(move |_| {
        if let Some(Ok(v)) = data.get()
            && v.inboxes.iter().any(|i| i.status == "pending_relay")
        {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_millis(1500),
            );
        }
    });
    view! {
        <AppHeader subtitle="Inboxes" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/dashboard" class="text-emerald-800 underline">"← Dashboard"</a></nav>
            <PageLoader
                data
                login="/inboxes"
                loading="Loading your inboxes…"
                keep_while_reloading=true
                body=|view| view! { <InboxesBody view /> }
            />
        </main>
    }
}

#[component]
fn InboxesBody(view: InboxesView) -> impl IntoView {
    let filter = view.filter.clone();
    let banner = view.batch_size.map(|n| {
        let f = filter.clone();
        view! {
            <section role="status" data-testid="batch-banner" class="rounded-lg border border-emerald-300 bg-emerald-50 p-4">
                <p class="font-semibold">{format!("{n} inboxes created.")}</p>
                <p class="mt-1 text-sm">"Download their credentials for your cold-email tool:"</p>
                <p class="mt-2 flex flex-wrap gap-2">
                    {ExportFormat::ALL.into_iter().map(|fmt| view! {
                        <a class=BUTTON href=export_href(&f, fmt) rel="external" download
                            data-testid=format!("download-{}", fmt.key())>{fmt.label()}</a>
                    }).collect_view()}
                </p>
                <p class="mt-2 text-sm"><a class="text-emerald-800 underline" href="/inboxes">"Show all inboxes"</a></p>
            </section>
        }
        .into_any()
    });
    let head = view! {
        <div class="flex flex-col gap-2 sm:flex-row sm:items-end sm:justify-between">
            <div>
                <h1 class="text-2xl font-bold">"Inboxes"</h1>
                <p class="text-sm text-stone-600" data-testid="inbox-total">{format!("{} in this view", view.total)}</p>
            </div>
            {view.can_manage.then(|| view! {
                <a href="/inboxes/new" class=BUTTON data-testid="new-inboxes">"Create inboxes"</a>
            })}
        </div>
    }
    .into_any();
    let domain_sel = filter.domain.clone().unwrap_or_default();
    let status_sel = filter.status.clone().unwrap_or_default();
    let filters = view! {
        <Form method="GET" action="/inboxes" attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
            <label class="text-sm">"Domain"
                <select name="domain" class=INPUT data-testid="filter-domain">
                    <option value="">"All domains"</option>
                    {view.domains.iter().map(|d| view! {
                        <option value=d.id.clone() selected=d.id == domain_sel>{d.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Status"
                <select name="status" class=INPUT data-testid="filter-status">
                    <option value="">"Any status"</option>
                    {INBOX_STATUSES.iter().map(|(k, l)| view! {
                        <option value=*k selected=*k == status_sel>{*l}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=BUTTON_SECONDARY>"Filter"</button>
            <span class="text-sm text-stone-600 sm:ml-auto">"Download this view: "
                {ExportFormat::ALL.into_iter().map(|fmt| view! {
                    <a class="mr-2 text-emerald-800 underline" rel="external" download href=export_href(&filter, fmt)>{fmt.label()}</a>
                }).collect_view()}
            </span>
        </Form>
    }
    .into_any();
    let manage = view.can_manage;
    let selected = RwSignal::new(Vec::<String>::new());
    let page_ids: Vec<String> = view.inboxes.iter().map(|i| i.id.clone()).collect();
    let push = manage.then(|| view! { <PushPanel selected page_ids /> }.into_any());
    let table = if view.inboxes.is_empty() {
        view! { <p class="text-stone-500" data-testid="no-inboxes">"No inboxes here yet."</p> }
            .into_any()
    } else {
        view! {
            <div class="overflow-x-auto">
                <table class="w-full text-left text-sm" data-testid="inbox-list">
                    <thead class="text-stone-500"><tr>
                        {manage.then(|| view! { <th class="py-2 pr-2"><span class="sr-only">"Select"</span></th> })}
                        <th class="py-2 pr-4">"Address"</th><th class="py-2 pr-4">"Display name"</th>
                        <th class="py-2 pr-4">"Status"</th><th class="py-2">"Warm-up"</th>
                    </tr></thead>
                    <tbody>{view.inboxes.into_iter().map(|i| view! { <InboxRowView i selected=manage.then_some(selected) /> }).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let pager = (view.pages > 1).then(|| {
        let link = |page: i64| {
            let mut q = view.filter.query();
            if !q.is_empty() {
                q.push('&');
            }
            format!("/inboxes?{q}page={page}")
        };
        view! {
            <nav class="flex items-center gap-3 text-sm" aria-label="Pages" data-testid="pager">
                {(view.page > 1).then(|| view! { <a class="text-emerald-800 underline" href=link(view.page - 1)>"← Previous"</a> })}
                <span>{format!("Page {} of {}", view.page, view.pages)}</span>
                {(view.page < view.pages).then(|| view! { <a class="text-emerald-800 underline" href=link(view.page + 1) data-testid="next-page">"Next →"</a> })}
            </nav>
        }
        .into_any()
    });
    view! { {banner} {head} {filters} {push} {table} {pager} }
}

/// "Send to Instantly" / "Send to Smartlead": the selected inboxes (or, with none selected,
/// the page's) added to the workspace's account in that tool; one result per inbox.
#[component]
fn PushPanel(selected: RwSignal<Vec<String>>, page_ids: Vec<String>) -> impl IntoView {
    let push = ServerAction::<PushInboxes>::new();
    let results = Signal::derive(move || push.value().get().and_then(|r| r.ok()));
    let send = move |tool: &'static str| {
        let chosen = selected.get_untracked();
        let ids = if chosen.is_empty() {
            page_ids.clone()
        } else {
            chosen
        };
        push.dispatch(PushInboxes {
            tool: tool.into(),
            ids: ids.join(","),
        });
    };
    let send2 = send.clone();
    let count = move || {
        let n = selected.get().len();
        if n == 0 {
            "the inboxes on this page".to_string()
        } else {
            format!("{n} selected")
        }
    };
    view! {
        <section class="space-y-2 rounded-lg border border-stone-200 bg-white p-4" data-testid="push-panel">
            <div class="flex flex-wrap items-center gap-2 text-sm">
                <span>"Send " {count} " to"</span>
                <button type="button" class=BUTTON_SECONDARY data-testid="push-instantly" disabled=move || push.pending().get()
                    on:click=move |_| send("instantly")>"Instantly"</button>
                <button type="button" class=BUTTON_SECONDARY data-testid="push-smartlead" disabled=move || push.pending().get()
                    on:click=move |_| send2("smartlead")>"Smartlead"</button>
                <a class="text-emerald-800 underline" href="/settings/api">"Tool keys"</a>
            </div>
            <Alert message=error_of(push) />
            <Show when=move || results.get().is_some()>
                <ul class="text-sm" data-testid="push-results">
                    {move || results.get().unwrap_or_default().into_iter().map(|r| view! {
                        <li data-testid="push-result" data-outcome=r.outcome.clone()>
                            {format!("{} — {}{}", r.address, match r.outcome.as_str() {
                                "added" => "added",
                                "exists" => "already there",
                                _ => "refused",
                            }, r.message.map(|m| format!(": {m}")).unwrap_or_default())}
                        </li>
                    }).collect_view()}
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn InboxRowView(i: InboxListItem, selected: Option<RwSignal<Vec<String>>>) -> impl IntoView {
    let badge = format!(
        "rounded-full px-2 py-0.5 text-xs font-medium {}",
        status_class(&i.status)
    );
    view! {
        <tr class="border-t border-stone-200" data-testid="inbox-row">
            {selected.map(|sel| {
                let id = i.id.clone();
                let id2 = i.id.clone();
                view! {
                    <td class="py-2 pr-2">
                        <input type="checkbox" data-testid="select-inbox" aria-label="Select"
                            prop:checked=move || sel.get().contains(&id)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                sel.update(|s| {
                                    s.retain(|x| x != &id2);
                                    if on {
                                        s.push(id2.clone());
                                    }
                                });
                            } />
                    </td>
                }
            })}
            <td class="py-2 pr-4 break-all"><a class="font-medium text-emerald-800 underline" href=format!("/inboxes/{}", i.id)>{i.address}</a></td>
            <td class="py-2 pr-4">{i.display_name}</td>
            <td class="py-2 pr-4"><span class=badge data-status=i.status>{i.status_label}</span></td>
            <td class="py-2">{i.warmup}</td>
        </tr>
    }
}
