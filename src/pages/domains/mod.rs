//! The domain pages, one file per area, and the status badge they share.

mod detail;
mod list;
mod search;

pub use detail::DomainPage;
pub use list::Domains;

use leptos::prelude::*;

fn status_class(status: &str) -> &'static str {
    match status {
        "active" | "ok" | "done" => "bg-emerald-100 text-emerald-900",
        "failed" | "missing" | "invalid" | "broken" => "bg-red-100 text-red-900",
        "deleted" | "pending" | "unknown" => "bg-stone-100 text-stone-700",
        _ => "bg-amber-100 text-amber-900",
    }
}

#[component]
fn Badge(#[prop(into)] status: String, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_class(&status))
            data-status=status>
            {label}
        </span>
    }
}
