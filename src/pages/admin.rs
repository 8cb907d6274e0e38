use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::admin::{
    AddNote, ExtendTrial, PurgeQueues, RefundCharge, ReplayEvent, ResumeTenant, RetryJob,
    SuspendTenant, admin_audit, admin_events, admin_jobs, admin_platform, admin_tenant,
    admin_tenants,
};
use crate::api::billing::AdvanceSandboxClock;
use crate::components::style::{BUTTON, BUTTON_DANGER, CARD, INPUT};
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::admin::{
    AdminAuditEntry, AdminTenantDetail, AdminTenantsView, AuditView, JOB_STATUSES, JobsView,
    PlatformView, SUSPENSION_CATEGORIES, StripeEventsView,
};
use crate::pages::dashboard::AppHeader;

fn status_badge(status: &str) -> &'static str {
    if status == "suspended" {
        "rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-900"
    } else {
        "rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-900"
    }
}

/// The links between the staff pages.
#[component]
fn AdminNav() -> impl IntoView {
    view! {
        <nav class="flex flex-wrap gap-x-4 gap-y-1 text-sm" data-testid="admin-nav">
            <a href="/admin" class="text-emerald-800 underline">"Tenants"</a>
            <a href="/admin/audit" class="text-emerald-800 underline">"Audit trail"</a>
            <a href="/admin/events" class="text-emerald-800 underline">"Stripe events"</a>
            <a href="/admin/jobs" class="text-emerald-800 underline">"Jobs"</a>
            <a href="/admin/platform" class="text-emerald-800 underline">"Platform"</a>
        </nav>
    }
}

/// The message a finished action returned, shown as a status line.
fn done_message<T>(action: ServerAction<T>) -> Signal<Option<String>>
where
    T: server_fn::ServerFn<Error = crate::error::AppError, Output = String>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Ok(m)) => Some(m),
        _ => None,
    })
}

/// The staff page frame: header, nav, and a body loaded from `data`.
#[component]
fn StaffPage(#[prop(into)] subtitle: String, children: Children) -> impl IntoView {
    view! {
        <AppHeader subtitle=format!("Staff · {subtitle}") />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <AdminNav />
            {children()}
        </main>
    }
}

/// A staff page's body: "Loading…", then `body` of the loaded data, or the error (the staff
/// guard has already turned visitors away, so no login redirect).
fn loaded<T, V>(
    data: Resource<Result<T, crate::error::AppError>>,
    body: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! { <PageLoader data body keep_while_reloading=true /> }
}

/// Staff: find a tenant by name, email or domain.
#[component]
pub fn AdminTenants() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        let q = query.read();
        (
            q.get("q").unwrap_or_default(),
            q.get("status").unwrap_or_default(),
            q.get("plan").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let data = Resource::new(args, |(q, status, plan, page)| {
        admin_tenants(q, status, plan, page)
    });
    view! {
        <StaffPage subtitle="Tenants">
            <h1 class="text-2xl font-bold">"Tenants"</h1>
            {loaded(data, move |view| view! { <TenantsBody view /> })}
        </StaffPage>
    }
}

#[component]
fn TenantsBody(view: AdminTenantsView) -> impl IntoView {
    let status = view.status.clone();
    let plan = view.plan.clone();
    let query = view.query.clone();
    let search = view! {
        <Form method="GET" action="/admin" attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
            <label class="flex-1 text-sm">"Name, email or domain"
                <input type="search" name="q" class=INPUT value=query data-testid="admin-search" />
            </label>
            <label class="text-sm">"Status"
                <select name="status" class=INPUT data-testid="admin-status">
                    <option value="">"Any"</option>
                    <option value="active" selected=status == "active">"Active"</option>
                    <option value="suspended" selected=status == "suspended">"Suspended"</option>
                </select>
            </label>
            <label class="text-sm">"Plan"
                <select name="plan" class=INPUT data-testid="admin-plan">
                    <option value="">"Any"</option>
                    {view.plans.iter().map(|(id, name)| {
                        view! { <option value=id.clone() selected=*id == plan>{name.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=BUTTON data-testid="admin-search-submit">"Search"</button>
        </Form>
    }
    .into_any();
    let pager = {
        let link = |page: i64| {
            format!(
                "/admin?q={}&status={}&plan={}&page={page}",
                urlencoding(&view.query),
                view.status,
                view.plan
            )
        };
        let prev = (view.page > 1).then(|| link(view.page - 1));
        let next = (view.page < view.pages).then(|| link(view.page + 1));
        view! {
            <p class="flex gap-4 text-sm">
                {prev.map(|href| view! { <a class="text-emerald-800 underline" href=href>"← Newer"</a> })}
                {next.map(|href| view! { <a class="text-emerald-800 underline" href=href data-testid="admin-next">"Older →"</a> })}
            </p>
        }
        .into_any()
    };
    let table = view! {
        <p class="text-sm text-stone-600">{format!("{} tenants · page {} of {}", view.total, view.page, view.pages)}</p>
        <div class="overflow-x-auto">
            <table class="w-full text-left text-sm" data-testid="admin-tenants">
                <thead class="text-stone-500"><tr>
                    <th class="py-2 pr-4">"Tenant"</th><th class="py-2 pr-4">"Owner"</th><th class="py-2 pr-4">"Status"</th>
                    <th class="py-2 pr-4">"Plan"</th><th class="py-2 pr-4">"Domains"</th><th class="py-2">"Inboxes"</th>
                </tr></thead>
                <tbody>
                    {view.tenants.into_iter().map(|t| view! {
                        <tr class="border-t border-stone-200" data-testid="admin-tenant-row">
                            <td class="py-2 pr-4"><a class="font-medium text-emerald-800 underline" href=format!("/admin/tenants/{}", t.id)>{t.name.clone()}</a></td>
                            <td class="py-2 pr-4 break-all">{t.owner_email.clone()}</td>
                            <td class="py-2 pr-4"><span class=status_badge(&t.status)>{t.status.clone()}</span></td>
                            <td class="py-2 pr-4">{t.plan.clone()}</td>
                            <td class="py-2 pr-4">{t.domains}</td>
                            <td class="py-2">{t.inboxes}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any();
    view! { {search} {table} {pager} }
}

/// Percent-encodes a query value (enough for names and emails in a link).
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
        }
    }

    fn versions(&self) -> [usize; 7] {
        [
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
            <p class="text-sm">"Domains: "{d.domain_names.iter().map(|(n, s)| format!("{n} ({s})")).collect::<Vec<_>>().join(", ")}</p>
            <p class="text-sm" data-testid="admin-inbox-counts">"Inboxes: "{
                if d.inbox_counts.is_empty() { "none".to_string() }
                else { d.inbox_counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ") }
            }</p>
        </section>
    }
    .into_any();
    let tid = t.id.clone();
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
    let history = view! {
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
    view! { {head} {suspension} {billing} {more} {notes} {history} }
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
        </section>
    }
    .into_any()
}

#[component]
fn AuditTable(
    entries: Vec<AdminAuditEntry>,
    with_tenant: bool,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="mt-2 w-full text-left text-xs" data-testid=testid>
                <thead class="text-stone-500"><tr>
                    <th class="py-1 pr-3">"When"</th><th class="py-1 pr-3">"Who"</th>
                    {with_tenant.then(|| view! { <th class="py-1 pr-3">"Tenant"</th> })}
                    <th class="py-1 pr-3">"Action"</th><th class="py-1 pr-3">"Target"</th>
                    <th class="py-1 pr-3">"Details"</th><th class="py-1">"IP"</th>
                </tr></thead>
                <tbody>
                    {entries.into_iter().map(|a| view! {
                        <tr class="border-t border-stone-200 align-top" data-testid="audit-row">
                            <td class="py-1 pr-3 whitespace-nowrap">{a.at}</td><td class="py-1 pr-3 break-all">{a.actor}</td>
                            {with_tenant.then(|| view! { <td class="py-1 pr-3">{a.tenant.map(|(id, name)| view! {
                                <a class="text-emerald-800 underline" href=format!("/admin/tenants/{id}")>{name}</a>
                            })}</td> })}
                            <td class="py-1 pr-3 font-medium">{a.action}</td><td class="py-1 pr-3 break-all">{a.target}</td>
                            <td class="py-1 pr-3 break-all text-stone-600">{a.detail}</td><td class="py-1">{a.ip}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Staff: the audit trail of every tenant, filterable.
#[component]
pub fn AdminAudit() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        let q = query.read();
        (
            q.get("actor").unwrap_or_default(),
            q.get("action").unwrap_or_default(),
            q.get("tenant").unwrap_or_default(),
            q.get("before").and_then(|b| b.parse::<i64>().ok()),
        )
    };
    let data = Resource::new(args, |(actor, action, tenant, before)| {
        admin_audit(actor, action, tenant, before)
    });
    view! {
        <StaffPage subtitle="Audit trail">
            <h1 class="text-2xl font-bold">"Audit trail"</h1>
            {loaded(data, move |view| view! { <AuditBody view staff=true /> })}
        </StaffPage>
    }
}

/// The filter form, the table and the "older" link; shared by the staff trail and the
/// customer's Activity page.
#[component]
pub(crate) fn AuditBody(view: AuditView, staff: bool) -> impl IntoView {
    let base = if staff { "/admin/audit" } else { "/activity" };
    let actor = view.actor.clone();
    let older = view.next.map(|id| {
        let mut href = format!("{base}?before={id}&action={}", urlencoding(&view.action));
        if staff {
            href.push_str(&format!("&actor={}&tenant={}", view.actor, view.tenant));
        }
        view! { <a class="text-sm text-emerald-800 underline" href=href data-testid="audit-older">"Older →"</a> }
    });
    let staff_filters = staff.then(|| {
        view! {
            <label class="text-sm">"Who"
                <select name="actor" class=INPUT data-testid="audit-actor">
                    <option value="">"Anyone"</option>
                    {["user", "staff", "system", "webhook"].into_iter().map(|k| view! {
                        <option value=k selected=actor == k>{k}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Tenant id"
                <input type="text" name="tenant" class=INPUT value=view.tenant.clone() data-testid="audit-tenant" />
            </label>
        }
    });
    let form = view! {
        <Form method="GET" action=base attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
            {staff_filters}
            <label class="flex-1 text-sm">"Action starts with (e.g. domain., billing., inboxes.)"
                <input type="text" name="action" class=INPUT value=view.action.clone() data-testid="audit-action" />
            </label>
            <button type="submit" class=BUTTON data-testid="audit-filter">"Filter"</button>
        </Form>
    }
    .into_any();
    let empty = view.entries.is_empty();
    view! {
        {form}
        {empty.then(|| view! { <p class="text-stone-500">"Nothing recorded yet."</p> })}
        <AuditTable entries=view.entries with_tenant=staff testid="audit-table" />
        {older}
    }
}

/// Staff: Stripe events received, one payload, replay.
#[component]
pub fn AdminEvents() -> impl IntoView {
    let query = use_query_map();
    let replay = ServerAction::<ReplayEvent>::new();
    let args = move || {
        let q = query.read();
        (
            q.get("kind").unwrap_or_default(),
            q.get("selected").unwrap_or_default(),
            replay.version().get(),
        )
    };
    let data = Resource::new(args, |(kind, selected, _)| admin_events(kind, selected));
    let done = done_message(replay);
    view! {
        <StaffPage subtitle="Stripe events">
            <h1 class="text-2xl font-bold">"Stripe events"</h1>
            <Alert message=error_of(replay) />
            <Show when=move || done.get().is_some()>
                <p role="status" class="text-sm text-emerald-900" data-testid="replay-done">{move || done.get()}</p>
            </Show>
            {loaded(data, move |view| view! { <EventsBody view replay /> })}
        </StaffPage>
    }
}

#[component]
fn EventsBody(view: StripeEventsView, replay: ServerAction<ReplayEvent>) -> impl IntoView {
    let kind = view.kind.clone();
    let selected = view.selected.map(|(e, payload)| {
        view! {
            <section class=CARD data-testid="event-payload">
                <h2 class="text-lg font-semibold break-all">{format!("{} · {}", e.kind, e.id)}</h2>
                <p class="text-sm text-stone-600">{format!("created {} · received {} · {}", e.created, e.received, e.outcome)}</p>
                <ActionForm action=replay attr:class="mt-2">
                    <input type="hidden" name="id" value=e.id.clone() />
                    <button type="submit" class=BUTTON data-testid="replay">"Replay this event"</button>
                </ActionForm>
                <pre class="mt-3 max-h-96 overflow-auto rounded bg-stone-100 p-3 text-xs">{payload}</pre>
            </section>
        }
    });
    let k = kind.clone();
    view! {
        <Form method="GET" action="/admin/events" attr:class="flex gap-2 items-end">
            <label class="flex-1 text-sm">"Type starts with"
                <input type="text" name="kind" class=INPUT value=kind data-testid="events-kind" />
            </label>
            <button type="submit" class=BUTTON>"Filter"</button>
        </Form>
        {selected}
        <div class="overflow-x-auto">
            <table class="w-full text-left text-sm" data-testid="events-table">
                <thead class="text-stone-500"><tr>
                    <th class="py-1 pr-3">"Received"</th><th class="py-1 pr-3">"Type"</th>
                    <th class="py-1 pr-3">"Outcome"</th><th class="py-1 pr-3">"Tenant"</th><th class="py-1">"Event"</th>
                </tr></thead>
                <tbody>
                    {view.events.into_iter().map(|e| {
                        let href = format!("/admin/events?kind={}&selected={}", urlencoding(&k), e.id);
                        view! {
                            <tr class="border-t border-stone-200" data-testid="event-row">
                                <td class="py-1 pr-3 whitespace-nowrap">{e.received}</td>
                                <td class="py-1 pr-3">{e.kind}</td>
                                <td class="py-1 pr-3">{e.outcome}</td>
                                <td class="py-1 pr-3">{e.tenant.map(|t| view! { <a class="text-emerald-800 underline" href=format!("/admin/tenants/{t}")>"tenant"</a> })}</td>
                                <td class="py-1"><a class="text-emerald-800 underline break-all" href=href>{e.id}</a></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Staff: background jobs by status; retry a failed one.
#[component]
pub fn AdminJobs() -> impl IntoView {
    let query = use_query_map();
    let retry = ServerAction::<RetryJob>::new();
    let data = Resource::new(
        move || {
            (
                query.read().get("status").unwrap_or_default(),
                retry.version().get(),
            )
        },
        |(status, _)| admin_jobs(status),
    );
    view! {
        <StaffPage subtitle="Jobs">
            <h1 class="text-2xl font-bold">"Jobs"</h1>
            <Alert message=error_of(retry) />
            {loaded(data, move |view| view! { <JobsBody view retry /> })}
        </StaffPage>
    }
}

#[component]
fn JobsBody(view: JobsView, retry: ServerAction<RetryJob>) -> impl IntoView {
    let failed_view = view.status == "failed";
    let counts = view.counts.clone();
    let tabs = JOB_STATUSES
        .iter()
        .map(|s| {
            let n = counts
                .iter()
                .find(|(status, _)| status == s)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let class = if *s == view.status {
                "font-semibold text-stone-900"
            } else {
                "text-emerald-800 underline"
            };
            view! { <a class=class href=format!("/admin/jobs?status={s}") data-testid=format!("jobs-{s}")>{format!("{s} ({n})")}</a> }
        })
        .collect_view();
    view! {
        <nav class="flex gap-4 text-sm">{tabs}</nav>
        <div class="overflow-x-auto">
            <table class="w-full text-left text-sm" data-testid="jobs-table">
                <thead class="text-stone-500"><tr>
                    <th class="py-1 pr-3">"Kind"</th><th class="py-1 pr-3">"Attempts"</th><th class="py-1 pr-3">"Runs at"</th>
                    <th class="py-1 pr-3">"Updated"</th><th class="py-1 pr-3">"Last error"</th><th class="py-1"></th>
                </tr></thead>
                <tbody>
                    {view.jobs.into_iter().map(|j| view! {
                        <tr class="border-t border-stone-200 align-top" data-testid="job-row">
                            <td class="py-1 pr-3">{j.kind}{j.tenant.map(|t| view! { " · " <a class="text-emerald-800 underline" href=format!("/admin/tenants/{t}")>"tenant"</a> })}</td>
                            <td class="py-1 pr-3">{j.attempts}</td>
                            <td class="py-1 pr-3 whitespace-nowrap">{j.run_at}</td>
                            <td class="py-1 pr-3 whitespace-nowrap">{j.updated}</td>
                            <td class="py-1 pr-3 break-all text-stone-600">{j.last_error}</td>
                            <td class="py-1">{failed_view.then(|| view! {
                                <ActionForm action=retry>
                                    <input type="hidden" name="id" value=j.id.clone() />
                                    <button type="submit" class="rounded border border-stone-300 px-2 py-1 text-xs hover:bg-stone-100" data-testid="job-retry">"Retry"</button>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Staff: which providers are real and which are the sandbox; the sandbox clock.
#[component]
pub fn AdminPlatform() -> impl IntoView {
    let clock = ServerAction::<AdvanceSandboxClock>::new();
    let data = Resource::new(move || clock.version().get(), |_| admin_platform());
    view! {
        <StaffPage subtitle="Platform">
            <h1 class="text-2xl font-bold">"Platform"</h1>
            <Alert message=error_of(clock) />
            {loaded(data, move |view| view! { <PlatformBody view clock /> })}
        </StaffPage>
    }
}

#[component]
fn PlatformBody(view: PlatformView, clock: ServerAction<AdvanceSandboxClock>) -> impl IntoView {
    let sandbox = view.sandbox_clock.map(|now| {
        view! {
            <section class=CARD>
                <h2 class="text-lg font-semibold">"Sandbox clock"</h2>
                <p class="text-sm" data-testid="sandbox-clock">{format!("Sandbox time: {now}")}</p>
                <ActionForm action=clock attr:class="mt-2 flex gap-2 items-end">
                    <label class="flex-1 text-sm">"Advance by (days)"
                        <input type="number" name="days" min="1" max="400" value="1" class=INPUT />
                    </label>
                    <button type="submit" class=BUTTON>"Advance clock"</button>
                </ActionForm>
            </section>
        }
    });
    view! {
        <section class=CARD>
            <h2 class="text-lg font-semibold">"Providers"</h2>
            <table class="mt-2 w-full text-left text-sm" data-testid="providers">
                <tbody>
                    {view.providers.into_iter().map(|p| view! {
                        <tr class="border-t border-stone-200" data-testid="provider-row">
                            <td class="py-1 pr-3">{p.area}</td>
                            <td class="py-1 pr-3 font-mono">{p.name}</td>
                            <td class="py-1">{if p.real {
                                view! { <span class="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-900">"real"</span> }
                            } else {
                                view! { <span class="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900">"sandbox"</span> }
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {sandbox}
    }
}
