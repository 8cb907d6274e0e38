//! Staff: Stripe events received, one payload, replay (`/admin/events`).

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::{StaffPage, done_message, loaded};
use crate::api::admin::{ReplayEvent, admin_events};
use crate::components::style::{BUTTON, CARD, INPUT};
use crate::components::url_encode;
use crate::components::{Alert, error_of};
use crate::domain::admin::StripeEventsView;

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
                        let href = format!("/admin/events?kind={}&selected={}", url_encode(&k), e.id);
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
