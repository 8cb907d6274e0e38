use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::admin::{ResumeTenant, SuspendTenant, admin_tenant, admin_tenants};
use crate::components::{Alert, error_of};
use crate::domain::admin::{AdminTenantDetail, AdminTenantsView, SUSPENSION_CATEGORIES};
use crate::pages::dashboard::AppHeader;

const BUTTON: &str = "rounded bg-emerald-700 px-3 py-2 text-sm font-medium text-white hover:bg-emerald-800 disabled:opacity-50";
const INPUT: &str = "w-full rounded border border-stone-300 px-3 py-2";

fn status_badge(status: &str) -> &'static str {
    if status == "suspended" {
        "rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-900"
    } else {
        "rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-900"
    }
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
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let data = Resource::new(args, |(q, status, page)| admin_tenants(q, status, page));
    view! {
        <AppHeader subtitle="Staff · Tenants" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <h1 class="text-2xl font-bold">"Tenants"</h1>
            <Transition fallback=|| view! { <p class="text-stone-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <TenantsBody view /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn TenantsBody(view: AdminTenantsView) -> impl IntoView {
    let status = view.status.clone();
    let search = view! {
        <Form method="GET" action="/admin" attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
            <label class="flex-1 text-sm">"Name, email or domain"
                <input type="search" name="q" class=INPUT value=view.query.clone() data-testid="admin-search" />
            </label>
            <label class="text-sm">"Status"
                <select name="status" class=INPUT>
                    <option value="">"Any"</option>
                    <option value="active" selected=status == "active">"Active"</option>
                    <option value="suspended" selected=status == "suspended">"Suspended"</option>
                </select>
            </label>
            <button type="submit" class=BUTTON data-testid="admin-search-submit">"Search"</button>
        </Form>
    }
    .into_any();
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
    view! { {search} {table} }
}

/// Staff: one tenant, its suspensions and trail; suspend / resume.
#[component]
pub fn AdminTenantPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let suspend = ServerAction::<SuspendTenant>::new();
    let resume = ServerAction::<ResumeTenant>::new();
    let data = Resource::new(
        move || (id(), suspend.version().get(), resume.version().get()),
        |(id, _, _)| admin_tenant(id),
    );
    let action_error =
        Signal::derive(move || error_of(suspend).get().or_else(|| error_of(resume).get()));
    view! {
        <AppHeader subtitle="Staff · Tenant" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/admin" class="text-emerald-800 underline">"← Tenants"</a></nav>
            <Alert message=action_error />
            <Transition fallback=|| view! { <p class="text-stone-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <TenantBody d suspend resume /> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn TenantBody(
    d: AdminTenantDetail,
    suspend: ServerAction<SuspendTenant>,
    resume: ServerAction<ResumeTenant>,
) -> impl IntoView {
    let t = d.tenant.clone();
    let suspended = t.status == "suspended";
    let head = view! {
        <section class="rounded-lg border border-stone-200 bg-white p-5">
            <h1 class="text-2xl font-bold" data-testid="admin-tenant-name">{t.name.clone()}</h1>
            <p class="mt-1"><span class=status_badge(&t.status) data-testid="admin-tenant-status">{t.status.clone()}</span></p>
            <p class="mt-2 text-sm text-stone-600">{format!("{} · {} domains · {} inboxes · since {}", t.plan, t.domains, t.inboxes, t.created)}</p>
            <p class="mt-2 text-sm">"Members: "{d.members.iter().map(|(e, r)| format!("{e} ({r})")).collect::<Vec<_>>().join(", ")}</p>
            <p class="text-sm">"Domains: "{d.domain_names.iter().map(|(n, s)| format!("{n} ({s})")).collect::<Vec<_>>().join(", ")}</p>
        </section>
    }
    .into_any();
    let tid = t.id.clone();
    let actions = if suspended {
        view! {
            <section class="rounded-lg border border-stone-200 bg-white p-5">
                <h2 class="text-lg font-semibold">"Resume"</h2>
                <ActionForm action=resume attr:class="mt-2 flex flex-col gap-2 sm:flex-row sm:items-end">
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
            <section class="rounded-lg border border-stone-200 bg-white p-5">
                <h2 class="text-lg font-semibold">"Suspend"</h2>
                <p class="text-sm text-stone-600">"Every page and call of the tenant answers 403, its inboxes stop authenticating at the relay and its queues are held; its jobs wait."</p>
                <ActionForm action=suspend attr:class="mt-2 grid gap-2 sm:grid-cols-4 sm:items-end">
                    <input type="hidden" name="tenant" value=tid />
                    <label class="text-sm">"Category"
                        <select name="category" class=INPUT data-testid="suspend-category">
                            {SUSPENSION_CATEGORIES.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="text-sm sm:col-span-2">"Reason (required)"
                        <input type="text" name="reason" required class=INPUT data-testid="suspend-reason" />
                    </label>
                    <button type="submit" class="rounded bg-red-700 px-3 py-2 text-sm font-medium text-white hover:bg-red-800" data-testid="suspend">"Suspend tenant"</button>
                </ActionForm>
            </section>
        }
        .into_any()
    };
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
            <h2 class="text-lg font-semibold">"Audit trail"</h2>
            <div class="overflow-x-auto">
                <table class="mt-2 w-full text-left text-xs" data-testid="admin-audit">
                    <tbody>
                        {d.audit.into_iter().map(|a| view! {
                            <tr class="border-t border-stone-200 align-top">
                                <td class="py-1 pr-3 whitespace-nowrap">{a.at}</td><td class="py-1 pr-3">{a.actor}</td>
                                <td class="py-1 pr-3 font-medium">{a.action}</td><td class="py-1 pr-3 break-all">{a.target}</td>
                                <td class="py-1 break-all text-stone-600">{a.detail}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any();
    view! { {head} {actions} {history} }
}
