//! Staff: the tenant search (`/admin`).

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::{StaffPage, loaded, status_badge};
use crate::api::admin::admin_tenants;
use crate::components::style::{BUTTON, INPUT};
use crate::components::url_encode;
use crate::domain::admin::AdminTenantsView;

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
                url_encode(&view.query),
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
