//! The staff pages (`/admin…`), one file per area, and what they share: the frame with its
//! navigation, the loader, badges and links.

mod audit;
mod deliverability;
mod events;
mod jobs;
mod platform;
mod providers;
mod revenue;
mod tenant;
mod tenants;

pub use audit::AdminAudit;
pub(crate) use audit::AuditBody;
pub use deliverability::AdminDeliverability;
pub use events::AdminEvents;
pub use jobs::AdminJobs;
pub use platform::AdminPlatform;
pub use providers::AdminProviders;
pub use revenue::AdminRevenue;
pub use tenant::AdminTenantPage;
pub use tenants::AdminTenants;

use leptos::prelude::*;

use crate::components::PageLoader;
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
            <a href="/admin/deliverability" class="text-emerald-800 underline">"Deliverability"</a>
            <a href="/admin/jobs" class="text-emerald-800 underline">"Jobs"</a>
            <a href="/admin/platform" class="text-emerald-800 underline">"Platform"</a>
            <a href="/admin/revenue" class="text-emerald-800 underline">"Revenue"</a>
            <a href="/admin/providers" class="text-emerald-800 underline">"Providers"</a>
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
