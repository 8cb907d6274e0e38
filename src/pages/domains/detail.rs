//! One domain (`/domains/:id`): the saga's steps, the records with their health, actions.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::Badge;
use crate::api::domains::{DeleteDomain, RecheckDomain, RepairDomain, SetAutoRenew, get_domain};
use crate::components::style::{BUTTON, BUTTON_SECONDARY};
use crate::components::{Alert, PageLoader, copy_text, error_of};
use crate::domain::domains::{DomainDetail, RecordView, RenewalView, StepView};
use crate::pages::dashboard::AppHeader;

/// One domain: the saga's steps (live while it runs), the records with their health, actions.
#[component]
pub fn DomainPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let recheck = ServerAction::<RecheckDomain>::new();
    let repair = ServerAction::<RepairDomain>::new();
    let delete = ServerAction::<DeleteDomain>::new();
    let auto_renew = ServerAction::<SetAutoRenew>::new();
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                id(),
                tick.get(),
                recheck.version().get(),
                repair.version().get(),
                auto_renew.version().get(),
            )
        },
        |(id, _, _, _, _)| get_domain(id),
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
            .or_else(|| error_of(auto_renew).get())
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
                body=move |d| view! { <DomainBody d recheck repair delete auto_renew /> }
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
    auto_renew: ServerAction<SetAutoRenew>,
) -> impl IntoView {
    let id = d.id.clone();
    let renewal = d.renewal.clone().map(|r| {
        view! { <RenewalSection r id=d.id.clone() can_manage=d.can_manage action=auto_renew /> }
            .into_any()
    });
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
                        <dt>"Health"</dt>
                        <dd data-testid="domain-health">
                            {d.score.map(|(score, level)| view! {
                                <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", crate::pages::deliverability::level_class(level))>{format!("{score} · {}", level.label())}</span>
                                " "
                            })}
                            <a href=format!("/deliverability/domains/{}", d.id) class="text-emerald-800 underline" data-testid="deliverability-link">"Deliverability and blocklists"</a>
                        </dd>
                    </dl>
                    {(!d.listings.is_empty()).then(|| view! {
                        <ul class="mt-2 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-950" role="alert" data-testid="domain-listings">
                            {d.listings.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}
                        </ul>
                    })}
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
            {d.suspension.clone().map(|r| view! {
                <p role="alert" data-testid="domain-suspension" class="mt-4 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
                    {format!("Suspended by InboxGrove: {r} Its mail is stopped and its inboxes cannot sign in. Write to support@inboxgrove.com to resolve it.")}
                </p>
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
    view! { {head} {renewal} {steps} {records} }
}

/// Auto-renew, the renewal state and past renewals of a bought domain.
#[component]
fn RenewalSection(
    r: RenewalView,
    id: String,
    can_manage: bool,
    action: ServerAction<SetAutoRenew>,
) -> impl IntoView {
    let retry_id = id.clone();
    let state_label = match r.state.as_str() {
        "expiring" => "Expiring",
        "expired" => "Expired",
        _ => "OK",
    };
    let badge = match r.state.as_str() {
        "expiring" => "failed",
        "expired" => "failed",
        _ => "ok",
    };
    view! {
        <section aria-labelledby="renewal-h" class="rounded-lg border border-stone-200 bg-white p-5" data-testid="renewal">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="renewal-h" class="text-lg font-semibold">
                    "Renewal "
                    <span data-testid="renewal-state" data-state=r.state.clone()><Badge status=badge.to_string() label=state_label /></span>
                </h2>
                {can_manage.then(|| view! {
                    <div class="flex flex-wrap gap-2">
                        {(r.auto_renew && r.state == "expiring").then(|| view! {
                            <ActionForm action>
                                <input type="hidden" name="id" value=retry_id />
                                <input type="hidden" name="on" value="on" />
                                <button type="submit" class=BUTTON_SECONDARY disabled=move || action.pending().get() data-testid="renew-retry">
                                    "Try the renewal again"
                                </button>
                            </ActionForm>
                        })}
                        <ActionForm action>
                            <input type="hidden" name="id" value=id.clone() />
                            <input type="hidden" name="on" value=if r.auto_renew { "off" } else { "on" } />
                            <button type="submit" class=BUTTON_SECONDARY disabled=move || action.pending().get() data-testid="auto-renew-toggle">
                                {if r.auto_renew { "Turn auto-renew off" } else { "Turn auto-renew on" }}
                            </button>
                        </ActionForm>
                    </div>
                })}
            </div>
            <p class="mt-2 text-sm text-stone-700" data-testid="auto-renew" data-on=r.auto_renew.to_string()>
                {match (r.auto_renew, r.next.clone()) {
                    (true, Some(next)) => format!("Auto-renew is on: it renews for another year around {next}, charged to your card on file. We remind you 30 and 7 days before it expires."),
                    (true, None) => "Auto-renew is on.".to_string(),
                    (false, _) => "Auto-renew is off: the domain stops working when its registration ends.".to_string(),
                }}
            </p>
            {r.note.clone().map(|n| view! {
                <p role="alert" class="mt-2 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950" data-testid="renewal-note">{n}</p>
            })}
            {(!r.history.is_empty()).then(|| view! {
                <table class="mt-3 w-full text-left text-sm" data-testid="renewals">
                    <thead class="text-stone-500"><tr><th class="py-1 pr-3">"Period"</th><th class="py-1 pr-3">"Amount"</th><th class="py-1">"Status"</th></tr></thead>
                    <tbody>
                        {r.history.iter().map(|l| view! {
                            <tr class="border-t border-stone-200" data-testid="renewal-line" data-status=l.status.clone()>
                                <td class="py-1 pr-3">{l.period.clone()}</td>
                                <td class="py-1 pr-3">{l.amount.clone()}</td>
                                <td class="py-1">{l.status.clone()}{l.note.clone().map(|n| view! { <span class="ml-2 text-stone-500">{n}</span> })}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
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
