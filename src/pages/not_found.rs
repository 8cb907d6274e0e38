use leptos::prelude::*;

use crate::components::PublicHeader;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <PublicHeader />
        <main class="mx-auto max-w-xl px-4 py-16 text-center">
            <h1 class="text-2xl font-bold">"Page not found"</h1>
            <p class="mt-2 text-stone-600">"There is nothing at this address."</p>
            <a href="/" class="mt-6 inline-block text-emerald-800 underline">
                "Back to the home page"
            </a>
        </main>
    }
}
