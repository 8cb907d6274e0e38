use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::inboxes::{
    ChangeInbox, ProvisionInboxes, RevealInbox, UpdateInbox, get_inbox, get_inboxes, get_wizard,
};
use crate::components::style::{BUTTON, BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, copy_text, error_of};
use crate::domain::inboxes::{
    BatchForm, Convention, DisplayStyle, ExportFormat, INBOX_STATUSES, InboxDetail, InboxFilter,
    InboxListItem, InboxesView, TargetDomain, WizardView, plan,
};
use crate::pages::dashboard::AppHeader;

fn status_class(status: &str) -> &'static str {
    match status {
        "active" => "bg-emerald-100 text-emerald-900",
        "suspended" => "bg-red-100 text-red-900",
        _ => "bg-amber-100 text-amber-900",
    }
}

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
    let data = Resource::new(args, |(f, page)| {
        get_inboxes(
            f.domain.unwrap_or_default(),
            f.status.unwrap_or_default(),
            f.batch.unwrap_or_default(),
            page,
        )
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
    let table = if view.inboxes.is_empty() {
        view! { <p class="text-stone-500" data-testid="no-inboxes">"No inboxes here yet."</p> }
            .into_any()
    } else {
        view! {
            <div class="overflow-x-auto">
                <table class="w-full text-left text-sm" data-testid="inbox-list">
                    <thead class="text-stone-500"><tr>
                        <th class="py-2 pr-4">"Address"</th><th class="py-2 pr-4">"Display name"</th>
                        <th class="py-2 pr-4">"Status"</th><th class="py-2">"Warm-up"</th>
                    </tr></thead>
                    <tbody>{view.inboxes.into_iter().map(|i| view! { <InboxRowView i /> }).collect_view()}</tbody>
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
    view! { {banner} {head} {filters} {table} {pager} }
}

#[component]
fn InboxRowView(i: InboxListItem) -> impl IntoView {
    view! {
        <tr class="border-t border-stone-200" data-testid="inbox-row">
            <td class="py-2 pr-4 break-all"><a class="font-medium text-emerald-800 underline" href=format!("/inboxes/{}", i.id)>{i.address.clone()}</a></td>
            <td class="py-2 pr-4">{i.display_name.clone()}</td>
            <td class="py-2 pr-4"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_class(&i.status)) data-status=i.status.clone()>{i.status_label.clone()}</span></td>
            <td class="py-2">{i.warmup.clone()}</td>
        </tr>
    }
    .into_any()
}

/// The magic button: domains → how many and how named → preview → Provision.
#[component]
pub fn NewInboxes() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_wizard());
    view! {
        <AppHeader subtitle="Create inboxes" />
        <main class="mx-auto max-w-3xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/inboxes" class="text-emerald-800 underline">"← Inboxes"</a></nav>
            <PageLoader data login="/inboxes/new" body=|view| view! { <Wizard view /> } />
        </main>
    }
}

#[component]
fn Wizard(view: WizardView) -> impl IntoView {
    let view = StoredValue::new(view);
    let headroom = view.with_value(WizardView::headroom);
    let step = RwSignal::new(1u8);
    let chosen = RwSignal::new(Vec::<String>::new());
    let initial = view.with_value(|v| {
        let per = headroom.min(i64::from(v.max_per_domain)).clamp(1, 50);
        per.to_string()
    });
    let per_domain = RwSignal::new(initial);
    let convention = RwSignal::new(Convention::FirstDotLast.key().to_string());
    let personas = RwSignal::new(String::new());
    let display = RwSignal::new(DisplayStyle::FullName.key().to_string());
    let company = RwSignal::new(String::new());
    // One key per wizard: a double click, or a retry after a lost answer, makes one batch.
    let key = StoredValue::new(uuid::Uuid::new_v4().to_string());
    let form = move || BatchForm {
        domains: chosen.get().join(","),
        per_domain: per_domain.get(),
        convention: convention.get(),
        personas: personas.get(),
        display: display.get(),
        company: company.get(),
    };
    let max = view.with_value(|v| v.max_per_domain);
    let field_errors = Memo::new(move |_| form().parse(max).err().unwrap_or_default());
    let error_for = move |field: &'static str| {
        move || {
            field_errors
                .get()
                .into_iter()
                .find(|(f, _)| *f == field)
                .map(|(_, m)| m)
        }
    };
    let total =
        move || per_domain.get().trim().parse::<i64>().unwrap_or(0) * chosen.get().len() as i64;
    let over = move || {
        let t = total();
        (t > headroom).then(|| {
            format!(
                "That is {t} inboxes, and your plan has room for {headroom} more. Choose fewer, or a bigger plan on the Billing page."
            )
        })
    };
    // The exact addresses, computed here with the same rules the server uses.
    let preview = Memo::new(move |_| {
        let spec = form()
            .parse(max)
            .map_err(|e| e.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "))?;
        let ids = chosen.get();
        let targets: Vec<TargetDomain> = view.with_value(|v| {
            ids.iter()
                .filter_map(|id| v.domains.iter().find(|d| &d.id == id))
                .map(|d| TargetDomain {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    taken: d.taken.clone(),
                })
                .collect()
        });
        plan(&spec, &targets)
    });
    let provision = ServerAction::<ProvisionInboxes>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(done)) = provision.value().get() {
            navigate(
                &format!("/inboxes?batch={}", done.batch_id),
                Default::default(),
            );
        }
    });
    let blocked = view.with_value(|v| v.blocked.clone());
    let can_manage = view.with_value(|v| v.can_manage);
    let no_domains = view.with_value(|v| v.domains.is_empty());
    let usage = view.with_value(|v| {
        format!(
            "{} plan: {} of {} inboxes used — room for {} more.",
            v.plan_name, v.used, v.limit, headroom
        )
    });
    if let Some(reason) = blocked {
        return view! { <p role="alert" data-testid="wizard-blocked" class="rounded border border-red-300 bg-red-50 px-3 py-2">{reason}</p> }.into_any();
    }
    if !can_manage {
        return view! { <p class="text-stone-600">"Only owners and admins can create inboxes."</p> }.into_any();
    }
    if no_domains {
        return view! {
            <p class="text-stone-600" data-testid="wizard-no-domains">"You need an active domain first. "
                <a class="text-emerald-800 underline" href="/domains">"Buy or connect one"</a>"."</p>
        }
        .into_any();
    }
    let step_one = move || {
        view! {
            <fieldset class="space-y-2" data-testid="step-domains">
                <legend class="font-semibold">"1. Domains"</legend>
                {view.with_value(|v| v.domains.clone()).into_iter().map(|d| {
                    let id = d.id.clone();
                    let id2 = d.id.clone();
                    view! {
                        <label class="flex items-center gap-2 rounded border border-stone-200 bg-white px-3 py-2">
                            <input type="checkbox" value=d.id.clone() data-testid="domain-choice"
                                prop:checked=move || chosen.get().contains(&id)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| x != &id2);
                                        if on { c.push(id2.clone()); }
                                    });
                                } />
                            <span class="font-medium">{d.name.clone()}</span>
                            <span class="text-sm text-stone-500">{format!("{} inboxes", d.taken.len())}</span>
                        </label>
                    }
                }).collect_view()}
                <div class="pt-2">
                    <button type="button" class=BUTTON data-testid="next-1"
                        disabled=move || chosen.get().is_empty()
                        on:click=move |_| step.set(2)>"Next"</button>
                </div>
            </fieldset>
        }
        .into_any()
    };
    let step_two = move || {
        view! {
            <fieldset class="space-y-4" data-testid="step-naming">
                <legend class="font-semibold">"2. How many, and their names"</legend>
                <label class="block text-sm">"Inboxes per domain"
                    <input type="number" min="1" max=max.to_string() class=INPUT data-testid="per-domain"
                        prop:value=move || per_domain.get()
                        on:input=move |ev| per_domain.set(event_target_value(&ev)) />
                </label>
                <p class="text-sm text-red-700" data-testid="per-domain-error">{error_for("per_domain")}</p>
                <label class="block text-sm">"Naming convention"
                    <select class=INPUT data-testid="convention"
                        on:change=move |ev| convention.set(event_target_value(&ev))>
                        {Convention::ALL.into_iter().map(|c| view! {
                            <option value=c.key() selected=move || convention.get() == c.key()>{c.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || convention.get() == Convention::Personas.key()>
                    <label class="block text-sm">"Personas, one “First Last” per line"
                        <textarea rows="5" class=INPUT data-testid="personas"
                            prop:value=move || personas.get()
                            on:input=move |ev| personas.set(event_target_value(&ev))></textarea>
                    </label>
                    <p class="text-sm text-red-700" data-testid="personas-error">{error_for("personas")}</p>
                </Show>
                <label class="block text-sm">"Display names"
                    <select class=INPUT data-testid="display"
                        on:change=move |ev| display.set(event_target_value(&ev))>
                        {DisplayStyle::ALL.into_iter().map(|d| view! {
                            <option value=d.key() selected=move || display.get() == d.key()>{d.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || display.get() == DisplayStyle::FirstAtCompany.key()>
                    <label class="block text-sm">"Company"
                        <input type="text" class=INPUT data-testid="company"
                            prop:value=move || company.get()
                            on:input=move |ev| company.set(event_target_value(&ev)) />
                    </label>
                    <p class="text-sm text-red-700">{error_for("company")}</p>
                </Show>
                <p class="text-sm text-red-700" data-testid="over-limit">{over}</p>
                <p class="text-sm text-red-700" data-testid="plan-error">
                    {move || if field_errors.get().is_empty() { preview.get().err() } else { None }}
                </p>
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| step.set(1)>"Back"</button>
                    <button type="button" class=BUTTON data-testid="next-2"
                        disabled=move || preview.get().is_err() || over().is_some()
                        on:click=move |_| step.set(3)>"Preview"</button>
                </div>
            </fieldset>
        }
        .into_any()
    };
    let step_three = move || {
        let addresses = preview.get().unwrap_or_default();
        let n = addresses.len();
        view! {
            <section class="space-y-3" data-testid="step-preview">
                <h2 class="font-semibold">{format!("3. Preview: {n} inboxes")}</h2>
                <ol class="max-h-80 overflow-y-auto rounded border border-stone-200 bg-white p-3 font-mono text-sm" data-testid="preview">
                    {addresses.into_iter().map(|p| view! {
                        <li data-testid="preview-address"><span>{p.address}</span>" "<span class="text-stone-500">{format!("“{}”", p.display_name)}</span></li>
                    }).collect_view()}
                </ol>
                <p class="text-sm text-stone-600">"Each gets a strong random password, stored encrypted; the relay learns them at once and warm-up starts."</p>
                <Alert message=error_of(provision) />
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| step.set(2)>"Back"</button>
                    <button type="button" class=BUTTON data-testid="provision"
                        disabled=move || provision.pending().get() || over().is_some()
                        on:click=move |_| {
                            let f = form();
                            provision.dispatch(ProvisionInboxes {
                                domains: f.domains,
                                per_domain: f.per_domain,
                                convention: f.convention,
                                personas: f.personas,
                                display: f.display,
                                company: f.company,
                                idempotency_key: key.get_value(),
                            });
                        }>
                        {move || if provision.pending().get() { "Provisioning…".to_string() } else { format!("Provision {n} inboxes") }}
                    </button>
                </div>
            </section>
        }
        .into_any()
    };
    view! {
        <h1 class="text-2xl font-bold">"Create inboxes"</h1>
        <p class="text-sm text-stone-600" data-testid="headroom">{usage}</p>
        {move || match step.get() {
            1 => step_one(),
            2 => step_two(),
            _ => step_three(),
        }}
    }
    .into_any()
}

/// One inbox: credentials, settings, suspend / resume / delete.
#[component]
pub fn InboxPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let change = ServerAction::<ChangeInbox>::new();
    let update = ServerAction::<UpdateInbox>::new();
    let data = Resource::new(
        move || (id(), change.version().get(), update.version().get()),
        |(id, _, _)| get_inbox(id),
    );
    let action_error =
        Signal::derive(move || error_of(change).get().or_else(|| error_of(update).get()));
    view! {
        <AppHeader subtitle="Inbox" />
        <main class="mx-auto max-w-3xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/inboxes" class="text-emerald-800 underline">"← Inboxes"</a></nav>
            <Alert message=action_error />
            <PageLoader
                data
                login="/inboxes"
                keep_while_reloading=true
                not_found=|| view! { <p class="text-stone-600" data-testid="inbox-missing">"This inbox is not in your account."</p> }
                body=move |d| view! { <InboxBody d change update /> }
            />
        </main>
    }
}

#[component]
fn InboxBody(
    d: InboxDetail,
    change: ServerAction<ChangeInbox>,
    update: ServerAction<UpdateInbox>,
) -> impl IntoView {
    let id = d.item.id.clone();
    let reveal = ServerAction::<RevealInbox>::new();
    let status = d.item.status.clone();
    let head = view! {
        <section class="rounded-lg border border-stone-200 bg-white p-5">
            <h1 class="text-2xl font-bold break-all" data-testid="inbox-address">{d.item.address.clone()}</h1>
            <p class="mt-1"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_class(&status))
                data-testid="inbox-status" data-status=status.clone()>{d.item.status_label.clone()}</span></p>
            <p class="mt-2 text-sm text-stone-600" data-testid="warmup">{d.warmup_note.clone()}</p>
            <p class="text-sm text-stone-500">{format!("Created {}", d.created)}</p>
        </section>
    }
    .into_any();
    let id_r = id.clone();
    let password = move || reveal.value().get().and_then(Result::ok);
    let creds = view! {
        <section aria-labelledby="smtp-h" class="rounded-lg border border-stone-200 bg-white p-5">
            <h2 id="smtp-h" class="text-lg font-semibold">"SMTP credentials"</h2>
            <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                <dt>"Host"</dt><dd class="font-mono">{d.smtp_host.clone()}</dd>
                <dt>"Port"</dt><dd class="font-mono">{format!("{} ({})", d.smtp_port, d.smtp_security)}</dd>
                <dt>"Username"</dt><dd class="font-mono break-all">{d.item.address.clone()}</dd>
                <dt>"Password"</dt>
                <dd class="font-mono break-all" data-testid="password">
                    {move || match password() {
                        Some(p) => {
                            let copy = p.clone();
                            view! { <span>{p}</span><button type="button" class="ml-2 rounded border border-stone-300 px-1.5 text-xs" on:click=move |_| copy_text(&copy)>"Copy"</button> }.into_any()
                        }
                        None => view! { <span class="text-stone-500">"••••••••••••"</span> }.into_any(),
                    }}
                </dd>
                {d.imap_host.clone().map(|h| view! { <dt>"IMAP"</dt><dd class="font-mono">{format!("{h}:{}", d.imap_port)}</dd> })}
            </dl>
            <ActionForm action=reveal attr:class="mt-3">
                <input type="hidden" name="id" value=id_r />
                <button type="submit" class=BUTTON_SECONDARY data-testid="reveal">"Reveal password"</button>
            </ActionForm>
            <p class="mt-1 text-xs text-stone-500">"Every reveal is recorded in your account's activity."</p>
            <Alert message=error_of(reveal) />
        </section>
    }
    .into_any();
    let manage = d.can_manage.then(|| {
        let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
        let suspended = status == "suspended";
        view! {
            <section aria-labelledby="settings-h" class="rounded-lg border border-stone-200 bg-white p-5">
                <h2 id="settings-h" class="text-lg font-semibold">"Settings"</h2>
                <ActionForm action=update attr:class="mt-2 grid gap-3 sm:grid-cols-3 sm:items-end">
                    <input type="hidden" name="id" value=id1 />
                    <label class="text-sm sm:col-span-2">"Display name"
                        <input type="text" name="display_name" class=INPUT value=d.item.display_name.clone() data-testid="display-name" />
                    </label>
                    <label class="text-sm">"Daily cap"
                        <input type="number" name="daily_cap" min="1" max="2000" class=INPUT value=d.item.daily_cap.to_string() data-testid="daily-cap" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="save">"Save"</button>
                </ActionForm>
                <div class="mt-4 flex flex-wrap gap-2">
                    <ActionForm action=change>
                        <input type="hidden" name="id" value=id2 />
                        <input type="hidden" name="action" value=if suspended { "resume" } else { "suspend" } />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="suspend-toggle">{if suspended { "Resume sending" } else { "Suspend sending" }}</button>
                    </ActionForm>
                    <ActionForm action=change>
                        <input type="hidden" name="id" value=id3 />
                        <input type="hidden" name="action" value="delete" />
                        <button type="submit" class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50" data-testid="delete-inbox">"Delete"</button>
                    </ActionForm>
                </div>
            </section>
        }
        .into_any()
    });
    view! { {head} {creds} {manage} }
}
