use leptos::prelude::*;

use crate::api::billing::AdvanceSandboxClock;
use crate::api::dashboard::get_staff_summary;
use crate::api::two_factor::get_two_factor;
use crate::components::{LoadStyle, PageLoader};
use crate::domain::plural;
use crate::pages::dashboard::AppHeader;
use crate::pages::not_found::NotFound;
use crate::pages::settings::TwoFactorPanel;

/// Where a staff account without a customer workspace lands after login.
#[component]
pub fn StaffHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_staff_summary());
    let two_factor = Resource::new(|| (), |_| get_two_factor());
    view! {
        // Staff on an https deployment must set up two-factor sign-in before anything else.
        <PageLoader data=two_factor body=|st| (st.required && !st.enabled).then(|| view! {
            <AppHeader subtitle="Staff" />
            <main class="mx-auto max-w-5xl px-4 py-8">
                <h1 class="text-2xl font-bold">"Set up two-factor sign-in"</h1>
                <p class="mt-2 text-stone-700">"Staff sign in with a second factor here. Set it up to open the admin panel."</p>
                <TwoFactorPanel />
            </main>
        }) />
        <PageLoader
            data
            login="/staff"
            style=LoadStyle::Page
            not_found=|| view! { <NotFound /> }
            body=|(email, tenants): (String, i64)| view! {
                        <AppHeader subtitle=format!("Staff · {email}") />
                        <main class="mx-auto max-w-5xl px-4 py-8">
                            <h1 class="text-2xl font-bold">"Staff"</h1>
                            <p class="mt-2 text-stone-700" data-testid="tenant-count">
                                {format!("{} on the platform.", plural(tenants, "tenant", "tenants"))}
                            </p>
                            <p class="mt-2"><a href="/admin" class="text-emerald-800 underline" data-testid="admin-link">"Find a tenant, suspend or resume it"</a></p>
                            <SandboxClock />
                            <div class="mt-8"><TwoFactorPanel /></div>
                        </main>
                    }
        />
    }
}

/// Sandbox only: move the sandbox Stripe clock forward to play out trials and renewals.
#[component]
fn SandboxClock() -> impl IntoView {
    let advance = ServerAction::<AdvanceSandboxClock>::new();
    let result = move || {
        match advance.value().get() {
        Some(Ok(n)) => Some(view! {
            <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="clock-result">
                {format!("Clock advanced; {} delivered.", plural(n as i64, "webhook event", "webhook events"))}
            </p>
        }.into_any()),
        Some(Err(e)) => Some(view! { <p role="alert" class="mt-2 text-sm text-red-700">{e.to_string()}</p> }.into_any()),
        None => None,
    }
    };
    view! {
        <section class="mt-8 rounded-lg border border-stone-200 bg-white p-5" aria-labelledby="clock-h">
            <h2 id="clock-h" class="text-lg font-semibold">"Sandbox Stripe clock"</h2>
            <p class="mt-1 text-sm text-stone-600">
                "Advance the sandbox's time: trial-ending notices, renewals and failed payments are emitted as Stripe would."
            </p>
            <ActionForm action=advance attr:class="mt-3 flex items-end gap-2">
                <label class="text-sm font-medium">"Days"
                    <input type="number" name="days" min="1" max="400" value="8" required
                        class="mt-1 block w-24 rounded border border-stone-300 px-2 py-1" />
                </label>
                <button type="submit" class="rounded bg-emerald-700 px-3 py-2 text-sm font-medium text-white"
                    disabled=move || advance.pending().get()>
                    "Advance clock"
                </button>
            </ActionForm>
            {result}
        </section>
    }
}
