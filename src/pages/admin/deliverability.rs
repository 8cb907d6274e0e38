//! Staff: the worst senders first (`/admin/deliverability`): tenants ranked by complaint and
//! bounce rate over 24 hours and 7 days, beside whether they are suspended, and every domain
//! and relay IP on a blocklist now.

use leptos::prelude::*;

use super::{StaffPage, loaded, status_badge};
use crate::api::deliverability::get_staff_deliverability;
use crate::components::style::CARD;
use crate::domain::deliverability::{StaffDeliverability, TenantRate, percent};

#[component]
pub fn AdminDeliverability() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_staff_deliverability());
    view! {
        <StaffPage subtitle="Deliverability">
            <h1 class="text-2xl font-bold">"Deliverability"</h1>
            {loaded(data, move |view| view! { <Body view /> })}
        </StaffPage>
    }
}

#[component]
fn Ranking(title: &'static str, testid: &'static str, rows: Vec<TenantRate>) -> impl IntoView {
    let body = if rows.is_empty() {
        view! { <p class="text-sm text-stone-600">"No mail in this period."</p> }.into_any()
    } else {
        let rows = rows
            .into_iter()
            .map(|r| {
                let f = r.figures;
                let status = if r.suspended { "suspended" } else { "active" };
                view! {
                    <tr class="border-t border-stone-200" data-testid="rank-row">
                        <td class="py-1 pr-3"><a class="text-emerald-800 underline" href=format!("/admin/tenants/{}", r.tenant_id)>{r.tenant_name}</a></td>
                        <td class="py-1 pr-3"><span class=status_badge(status)>{status}</span></td>
                        <td class="py-1 pr-3 text-right tabular-nums">{f.sent()}</td>
                        <td class="py-1 pr-3 text-right tabular-nums">{f.complaints}</td>
                        <td class="py-1 pr-3 text-right tabular-nums">{percent(f.complaint_rate())}</td>
                        <td class="py-1 pr-3 text-right tabular-nums">{f.hard_bounces}</td>
                        <td class="py-1 text-right tabular-nums">{percent(f.bounce_rate())}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="overflow-x-auto">
                <table class="w-full text-left text-sm">
                    <thead class="text-stone-500"><tr>
                        <th scope="col" class="py-1 pr-3">"Tenant"</th><th scope="col" class="py-1 pr-3">"Status"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Sent"</th><th scope="col" class="py-1 pr-3 text-right">"Complaints"</th>
                        <th scope="col" class="py-1 pr-3 text-right">"Complaint rate"</th><th scope="col" class="py-1 pr-3 text-right">"Hard bounces"</th>
                        <th scope="col" class="py-1 text-right">"Bounce rate"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class=CARD data-testid=testid>
            <h2 class="text-lg font-semibold">{title}</h2>
            {body}
        </section>
    }
}

#[component]
fn Body(view: StaffDeliverability) -> impl IntoView {
    let listings = if view.listings.is_empty() {
        view! { <p class="text-sm text-stone-600">"Nothing we check is listed."</p> }.into_any()
    } else {
        view.listings
            .into_iter()
            .map(|l| view! {
                <li><strong>{l.subject}</strong>{format!(" on {} ({}) since {}, answer {}", l.list_name, l.zone, l.since, l.answer)}</li>
            })
            .collect_view()
            .into_any()
    };
    let ips = view
        .ips
        .into_iter()
        .map(|(ip, s)| view! {
            <li>{format!("{ip}: {}{}", s.label(), s.checked.map(|c| format!(" · checked {c}")).unwrap_or_default())}</li>
        })
        .collect_view();
    view! {
        <Ranking title="Worst senders, last 24 hours" testid="rank-24h" rows=view.last_24h />
        <Ranking title="Worst senders, last 7 days" testid="rank-7d" rows=view.last_7d />
        <section class=CARD data-testid="staff-listings">
            <h2 class="text-lg font-semibold">"Listed now"</h2>
            <ul class="mt-1 list-disc pl-5 text-sm">{listings}</ul>
            <h3 class="mt-3 font-semibold">"Relay IPs"</h3>
            <ul class="mt-1 list-disc pl-5 text-sm">{ips}</ul>
        </section>
    }
}
