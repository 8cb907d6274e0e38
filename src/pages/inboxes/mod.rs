//! The inbox pages, one file per area, and the status colours they share.

mod detail;
mod list;
mod wizard;

pub use detail::InboxPage;
pub use list::Inboxes;
pub use wizard::NewInboxes;

fn status_class(status: &str) -> &'static str {
    match status {
        "active" => "bg-emerald-100 text-emerald-900",
        "suspended" => "bg-red-100 text-red-900",
        _ => "bg-amber-100 text-amber-900",
    }
}
