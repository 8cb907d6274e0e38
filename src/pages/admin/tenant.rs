//! Staff: one tenant (`/admin/tenants/:id`) and every action on it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::audit::AuditTable;
use super::{StaffPage, done_message, loaded, status_badge};
use crate::api::admin::{
    AddNote, CloseTenant, ExtendTrial, PurgeQueues, RefundCharge, ResumeDomain, ResumeTenant,
    SuspendDomain, SuspendTenant, ViewAs, admin_tenant,
};
use crate::api::billing::AdvanceSandboxClock;
use crate::components::style::{BUTTON, BUTTON_DANGER, CARD, INPUT};
use crate::components::{Alert, error_of};
use crate::domain::admin::{AdminTenantDetail, SUSPENSION_CATEGORIES};

/// Every action of the tenant page, so one resource reloads after any of them.
#[derive(Clone, Copy)]
struct TenantActions {
    suspend: ServerAction<SuspendTenant>,
    resume: ServerAction<ResumeTenant>,
    extend: ServerAction<ExtendTrial>,
    refund: ServerAction<RefundCharge>,
    purge: ServerAction<PurgeQueues>,
    note: ServerAction<AddNote>,
    clock: ServerAction<AdvanceSandboxClock>,
    close: ServerAction<CloseTenant>,
    suspend_domain: ServerAction<SuspendDomain>,
    resume_domain: ServerAction<ResumeDomain>,
    view_as: ServerAction<ViewAs>,
}

impl TenantActions {
    fn new() -> Self {
        Self {
            suspend: ServerAction::new(),
            resume: ServerAction::new(),
            extend: ServerAction::new(),
            refund: ServerAction::new(),
            purge: ServerAction::new(),
            note: ServerAction::new(),
            clock: ServerAction::new(),
            close: ServerAction::new(),
            suspend_domain: ServerAction::new(),
            resume_domain: ServerAction::new(),
            view_as: ServerAction::new(),
        }
    }

    fn versions(&self) -> [usize; 10] {
        [
            self.suspend_domain.version().get(),
            self.resume_domain.version().get(),
            self.close.version().get(),
            self.suspend.version().get(),
            self.resume.version().get(),
            self.extend.version().get(),
            self.refund.version().get(),
            self.purge.version().get(),
            self.note.version().get(),
            self.clock.version().get(),
        ]
    }

    fn error(&self) -> Signal<Option<String>> {
        let errors = [
            error_of(self.suspend),
            error_of(self.resume),
            error_of(self.extend),
            error_of(self.refund),
            error_of(self.purge),
            error_of(self.note),
            error_of(self.clock),
            error_of(self.close),
            error_of(self.suspend_domain),
            error_of(self.resume_domain),
        ];
        Signal::derive(move || errors.iter().find_map(|e| e.get()))
    }

    fn done(&self) -> Signal<Option<String>> {
        let messages = [
            done_message(self.extend),
            done_message(self.refund),
            done_message(self.purge),
        ];
        Signal::derive(move || messages.iter().find_map(|m| m.get()))
    }
}

/// Staff: one tenant — members, subscription and ledger, domains, inboxes, suspensions,
/// notes and trail — and the actions on it.
#[component]
pub fn AdminTenantPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let actions = TenantActions::new();
    let data = Resource::new(
        move || (id(), actions.versions()),
        |(id, _)| admin_tenant(id),
    );
    let error = actions.error();
    let done = actions.done();
    // Viewing as the customer changes the session: a whole new page load, on their dashboard.
    Effect::new(move |_| {
        if matches!(actions.view_as.value().get(), Some(Ok(_))) {
            crate::components::go_to("/dashboard");
        }
    });
    view! {
        <StaffPage subtitle="Tenant">
            <Alert message=error />
            <Show when=move || done.get().is_some()>
                <p role="status" class="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="admin-done">
                    {move || done.get()}
                </p>
            </Show>
            {loaded(data, move |d| view! { <TenantBody d actions /> })}
        </StaffPage>
    }
}

#[component]
fn TenantBody(d: AdminTenantDetail, actions: TenantActions) -> impl IntoView {
    let t = d.tenant.clone();
    let head = view! {
        <section class=CARD>
            <h1 class="text-2xl font-bold" data-testid="admin-tenant-name">{t.name.clone()}</h1>
            <p class="mt-1"><span class=status_badge(&t.status) data-testid="admin-tenant-status">{t.status.clone()}</span></p>
            <p class="mt-2 text-sm text-stone-600">{format!("{} · {} domains · {} inboxes · since {}", t.plan, t.domains, t.inboxes, t.created)}</p>
            <p class="text-sm text-stone-600" data-testid="admin-trial-end">{format!("Trial ends {}", d.trial_ends)}</p>
            <p class="mt-2 text-sm">"Members: "{d.members.iter().map(|(e, r)| format!("{e} ({r})")).collect::<Vec<_>>().join(", ")}</p>
            <ul class="mt-1 space-y-2 text-sm" data-testid="admin-domains">
                {d.domain_names.iter().cloned().map(|(id, name, status, reason)| {
                    let suspended = status == "suspended";
                    let settable = matches!(status.as_str(), "active" | "verifying" | "configuring_dns");
                    let (id1, id2) = (id.clone(), id);
                    view! {
                        <li class="flex flex-wrap items-center gap-2" data-testid="admin-domain" data-status=status.clone()>
                            <span class="font-medium">{name}</span>
                            <span class=status_badge(&status)>{status.clone()}</span>
                            {reason.map(|r| view! { <span class="text-stone-600">{format!("— {r}")}</span> })}
                            {settable.then(|| view! {
                                <ActionForm action=actions.suspend_domain attr:class="flex flex-wrap gap-2">
                                    <input type="hidden" name="domain" value=id1 />
                                    <input class="rounded border border-stone-300 px-2 py-1" name="reason" required placeholder="Reason (the customer sees it)" data-testid="domain-suspend-reason" />
                                    <button type="submit" class=BUTTON_DANGER data-testid="domain-suspend">"Suspend domain"</button>
                                </ActionForm>
                            })}
                            {suspended.then(|| view! {
                                <ActionForm action=actions.resume_domain>
                                    <input type="hidden" name="domain" value=id2 />
                                    <button type="submit" class=BUTTON data-testid="domain-resume">"Resume domain"</button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="text-sm" data-testid="admin-inbox-counts">"Inboxes: "{
                if d.inbox_counts.is_empty() { "none".to_string() }
                else { d.inbox_counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ") }
            }</p>
        </section>
    }
    .into_any();
    let tid = t.id.clone();
    let view_tid = tid.clone();
    let view_as = view! {
        <ActionForm action=actions.view_as attr:class="mt-2">
            <input type="hidden" name="tenant" value=view_tid />
            <button type="submit" class=BUTTON data-testid="view-as">"View as customer (read-only)"</button>
        </ActionForm>
    }
    .into_any();
    let suspension = suspension_card(&t.id, t.status == "suspended", actions);
    let billing = billing_card(&d, actions);
    let more = more_actions(&tid, &t.name, d.sandbox, actions);
    let trail_href = format!("/admin/audit?tenant={tid}");
    let notes = view! {
        <section class=CARD>
            <h2 class="text-lg font-semibold">"Internal notes"</h2>
            <p class="text-sm text-stone-600">"Staff only; the customer never sees these."</p>
            <ActionForm action=actions.note attr:class="mt-2 flex flex-col gap-2">
                <input type="hidden" name="tenant" value=tid />
                <textarea name="body" rows="2" required maxlength="4000" class=INPUT data-testid="note-body"></textarea>
                <button type="submit" class=BUTTON data-testid="note-add">"Add note"</button>
            </ActionForm>
            <ul class="mt-3 space-y-2 text-sm" data-testid="admin-notes">
                {d.notes.into_iter().map(|n| view! {
                    <li><span class="text-stone-500">{format!("{} · {}", n.at, n.author)}</span><br />{n.body}</li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any();
    let f = d.deliverability_7d;
    let history = view! {
        <section data-testid="tenant-deliverability">
            <h2 class="text-lg font-semibold">"Deliverability, last 7 days"</h2>
            <p class="text-sm">{format!(
                "{} sent · {} delivered · {} hard bounces ({}) · {} complaints ({})",
                f.sent(), f.delivered, f.hard_bounces,
                crate::domain::deliverability::percent(f.bounce_rate()),
                f.complaints,
                crate::domain::deliverability::percent(f.complaint_rate())
            )}</p>
        </section>
        <section>
            <h2 class="text-lg font-semibold">"Suspensions"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="suspension-history">
                {d.suspensions.into_iter().map(|s| view! {
                    <li>{format!("{} · {} · “{}” by {}{}", s.created, s.category, s.reason, s.actor,
                        s.lifted.map(|l| format!(" — lifted {l} by {}", s.lifted_by.unwrap_or_default())).unwrap_or_default())}</li>
                }).collect_view()}
            </ul>
        </section>
        <section>
            <h2 class="text-lg font-semibold">"Spam complaints"</h2>
            <p class="text-sm text-stone-600">"Only complaints about a message our relay delivered count toward the automatic suspension, once per message."</p>
            <ul class="mt-2 space-y-1 text-sm" data-testid="admin-complaints">
                {d.complaints.into_iter().map(|c| view! {
                    <li>{format!("{} · {} → {} · reported by {} · {}", c.at, c.inbox, c.recipient, c.reporter,
                        if c.counted { "counted".to_string() } else { c.note })}</li>
                }).collect_view()}
            </ul>
        </section>
        <section>
            <h2 class="text-lg font-semibold">"Audit trail"</h2>
            <p class="text-sm"><a class="text-emerald-800 underline" href=trail_href>"All of it →"</a></p>
            <AuditTable entries=d.audit with_tenant=false testid="admin-audit" />
        </section>
    }
    .into_any();
    view! { {head} {view_as} {suspension} {billing} {more} {notes} {history} }
}

fn suspension_card(tid: &str, suspended: bool, a: TenantActions) -> AnyView {
    let tid = tid.to_string();
    if suspended {
        view! {
            <section class=CARD>
                <h2 class="text-lg font-semibold">"Resume"</h2>
                <ActionForm action=a.resume attr:class="mt-2 flex flex-col gap-2 sm:flex-row sm:items-end">
                    <input type="hidden" name="tenant" value=tid />
                    <label class="flex-1 text-sm">"Note"
                        <input type="text" name="reason" class=INPUT data-testid="resume-reason" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="resume">"Resume tenant"</button>
                </ActionForm>
            </section>
        }
        .into_any()
    } else {
        view! {
            <section class=CARD>
                <h2 class="text-lg font-semibold">"Suspend"</h2>
                <p class="text-sm text-stone-600">"Every page and call of the tenant answers 403, its inboxes stop authenticating at the relay and its queues are held; its jobs wait."</p>
                <ActionForm action=a.suspend attr:class="mt-2 grid gap-2 sm:grid-cols-4 sm:items-end">
                    <input type="hidden" name="tenant" value=tid />
                    <label class="text-sm">"Category"
                        <select name="category" class=INPUT data-testid="suspend-category">
                            {SUSPENSION_CATEGORIES.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="text-sm sm:col-span-2">"Reason (required)"
                        <input type="text" name="reason" required class=INPUT data-testid="suspend-reason" />
                    </label>
                    <button type="submit" class=BUTTON_DANGER data-testid="suspend">"Suspend tenant"</button>
                </ActionForm>
            </section>
        }
        .into_any()
    }
}

fn billing_card(d: &AdminTenantDetail, a: TenantActions) -> AnyView {
    let tid = d.tenant.id.clone();
    let subscription = match &d.subscription {
        Some(s) => format!(
            "{} · {} · {}{}",
            s.plan,
            s.status,
            s.period_end
                .as_ref()
                .map(|p| format!("period ends {p}"))
                .unwrap_or_default(),
            if s.cancel_at_period_end {
                " · cancels at period end"
            } else {
                ""
            }
        ),
        None => "No subscription".into(),
    };
    let rows = d
        .ledger
        .iter()
        .cloned()
        .map(|l| {
            let tid = tid.clone();
            let refund = if l.refundable {
                view! {
                    <ActionForm action=a.refund attr:class="flex gap-1">
                        <input type="hidden" name="tenant" value=tid />
                        <input type="hidden" name="entry" value=l.id.to_string() />
                        <input type="text" name="amount" inputmode="decimal" placeholder="All" title="Amount to refund; blank refunds all of it" class="w-16 rounded border border-stone-300 px-2 py-1 text-xs" data-testid="refund-amount" />
                        <input type="text" name="reason" required placeholder="Reason" class="w-32 rounded border border-stone-300 px-2 py-1 text-xs" data-testid="refund-reason" />
                        <button type="submit" class="rounded border border-red-300 px-2 py-1 text-xs text-red-800 hover:bg-red-50" data-testid="refund">"Refund"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! { <span class="text-xs text-stone-500">{l.refunded_by.clone().map(|b| format!("refunded by {b}")).unwrap_or_default()}</span> }.into_any()
            };
            view! {
                <tr class="border-t border-stone-200" data-testid="ledger-row">
                    <td class="py-1 pr-3 whitespace-nowrap">{l.occurred.clone()}</td>
                    <td class="py-1 pr-3">{l.kind.clone()}</td>
                    <td class="py-1 pr-3">{l.description.clone()}</td>
                    <td class="py-1 pr-3 text-right">{l.amount.clone()}</td>
                    <td class="py-1">{refund}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class=CARD>
            <h2 class="text-lg font-semibold">"Subscription and ledger"</h2>
            <p class="text-sm" data-testid="admin-subscription">{subscription}</p>
            <div class="mt-2 overflow-x-auto">
                <table class="w-full text-left text-sm" data-testid="admin-ledger"><tbody>{rows}</tbody></table>
            </div>
        </section>
    }
    .into_any()
}

fn more_actions(tid: &str, name: &str, sandbox: bool, a: TenantActions) -> AnyView {
    let tid = tid.to_string();
    let purge_label = format!(
        "Purge queued mail: bounces everything {name} has queued at the relay. This cannot be undone — type the tenant's name to confirm."
    );
    let tid2 = tid.clone();
    let tid3 = tid.clone();
    let close_label = format!(
        "Close the workspace: cancels the subscription, withdraws and deletes every domain and inbox, removes its people and pseudonymises its trail. Type the tenant's name ({name}) to confirm."
    );
    let clock = sandbox.then(|| {
        view! {
            <ActionForm action=a.clock attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
                <label class="flex-1 text-sm">"Advance the sandbox clock (days, every tenant)"
                    <input type="number" name="days" min="1" max="400" value="1" class=INPUT data-testid="clock-days" />
                </label>
                <button type="submit" class=BUTTON data-testid="clock-advance">"Advance clock"</button>
            </ActionForm>
        }
    });
    view! {
        <section class=CARD>
            <h2 class="text-lg font-semibold">"Trial and relay"</h2>
            <ActionForm action=a.extend attr:class="mt-2 flex flex-col gap-2 sm:flex-row sm:items-end">
                <input type="hidden" name="tenant" value=tid2 />
                <label class="flex-1 text-sm">"Extend the trial by (days, 1–90)"
                    <input type="number" name="days" min="1" max="90" value="7" class=INPUT data-testid="extend-days" />
                </label>
                <button type="submit" class=BUTTON data-testid="extend-trial">"Extend trial"</button>
            </ActionForm>
            <ActionForm action=a.purge attr:class="mt-4 flex flex-col gap-2 sm:flex-row sm:items-end">
                <input type="hidden" name="tenant" value=tid />
                <label class="flex-1 text-sm">{purge_label}
                    <input type="text" name="confirm" required autocomplete="off" class=INPUT data-testid="purge-confirm" />
                </label>
                <button type="submit" class=BUTTON_DANGER data-testid="purge">"Bounce queued mail"</button>
            </ActionForm>
            {clock}
            <ActionForm action=a.close attr:class="mt-4 flex flex-col gap-2 sm:flex-row sm:items-end">
                <input type="hidden" name="tenant" value=tid3 />
                <label class="flex-1 text-sm">{close_label}
                    <input type="text" name="confirm" required autocomplete="off" class=INPUT data-testid="close-confirm" />
                </label>
                <button type="submit" class=BUTTON_DANGER data-testid="close-tenant">"Close workspace"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
