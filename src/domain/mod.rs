//! Types shared by the browser and the server: parsed inputs, ids and view DTOs.

pub mod account;
pub mod admin;
pub mod api;
pub mod billing;
pub mod deliverability;
pub mod domain_name;
pub mod domains;
pub mod inboxes;
pub mod money;
pub mod provider_health;
pub mod revenue;
pub mod security;
pub mod status;
pub mod team;
pub mod tenant;

pub use account::{CompanyName, EmailAddress, Password, Strength, Website};
pub use domain_name::{DomainName, DomainSearch};
pub use money::Cents;
pub use status::{
    ActorKind, CheckoutSessionStatus, DomainKind, DomainStatus, InboxStatus, InvoiceStatus,
    JobStatus, LedgerKind, RecordStatus, StepStatus, SubscriptionStatus, SuspensionCategory,
    TenantStatus,
};
pub use tenant::{DashboardView, PlanView, Role, TenantId, Usage, UserId, format_count, plural};

/// Text made safe inside HTML or SVG text and attribute values (the dev outbox page, the charts).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
