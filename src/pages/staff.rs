use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::dashboard::get_staff_summary;
use crate::domain::plural;
use crate::error::AppError;
use crate::pages::dashboard::AppHeader;
use crate::pages::not_found::NotFound;

/// Where a staff account without a customer workspace lands after login.
#[component]
pub fn StaffHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_staff_summary());
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-stone-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((email, tenants)) => view! {
                        <AppHeader subtitle=format!("Staff · {email}") />
                        <main class="mx-auto max-w-5xl px-4 py-8">
                            <h1 class="text-2xl font-bold">"Staff"</h1>
                            <p class="mt-2 text-stone-700" data-testid="tenant-count">
                                {format!("{} on the platform.", plural(tenants, "tenant", "tenants"))}
                            </p>
                        </main>
                    }
                    .into_any(),
                    Err(AppError::Unauthorized) => view! { <Redirect path="/login?next=%2Fstaff" /> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="p-8 text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
