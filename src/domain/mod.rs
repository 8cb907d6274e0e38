//! Types shared by the browser and the server: parsed inputs, ids and view DTOs.

pub mod account;
pub mod admin;
pub mod billing;
pub mod deliverability;
pub mod domain_name;
pub mod domains;
pub mod inboxes;
pub mod money;
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
