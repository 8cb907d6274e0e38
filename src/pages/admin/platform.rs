//! Staff: real or sandboxed providers and the sandbox clock (`/admin/platform`).

use leptos::prelude::*;

use super::{StaffPage, loaded};
use crate::api::admin::admin_platform;
use crate::api::billing::AdvanceSandboxClock;
use crate::components::style::{BUTTON, CARD, INPUT};
use crate::components::{Alert, error_of};
use crate::domain::admin::PlatformView;

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
