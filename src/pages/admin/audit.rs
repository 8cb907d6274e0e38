//! The audit trail: staff's `/admin/audit`, and the body the customer's Activity page shares.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::{StaffPage, loaded};
use crate::api::admin::admin_audit;
use crate::components::style::{BUTTON, INPUT};
use crate::components::url_encode;
use crate::domain::admin::{AdminAuditEntry, AuditView};

#[component]
pub(super) fn AuditTable(
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
        let mut href = format!("{base}?before={id}&action={}", url_encode(&view.action));
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
