//! The customer's Activity page: their own workspace's audit trail.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::admin::get_activity;
use crate::components::PageLoader;
use crate::pages::admin::AuditBody;
use crate::pages::dashboard::AppHeader;

#[component]
pub fn Activity() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("action").unwrap_or_default(),
                q.get("before").and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(action, before)| get_activity(action, before),
    );
    view! {
        <AppHeader subtitle="Activity" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/dashboard" class="text-emerald-800 underline">"← Dashboard"</a></nav>
            <h1 class="text-2xl font-bold">"Activity"</h1>
            <p class="text-sm text-stone-600">"Everything that changed in your workspace: who did it, when and from where."</p>
            <PageLoader
                data
                login="/activity"
                keep_while_reloading=true
                body=|view| view! { <AuditBody view staff=false /> }
            />
        </main>
    }
}
