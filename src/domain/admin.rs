//! What the staff panel shows.

use serde::{Deserialize, Serialize};

use super::{JobStatus, SuspensionCategory};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantRow {
    pub id: String,
    pub name: String,
    pub owner_email: String,
    pub status: String,
    pub plan: String,
    pub domains: i64,
    pub inboxes: i64,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantsView {
    pub tenants: Vec<AdminTenantRow>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub query: String,
    pub status: String,
    pub plan: String,
    /// Plan ids and names to filter by (`trial` first).
    pub plans: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSuspension {
    pub category: String,
    pub reason: String,
    pub actor: String,
    pub created: String,
    pub lifted: Option<String>,
    pub lifted_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    /// The tenant's id and name (the staff trail across tenants).
    pub tenant: Option<(String, String)>,
    pub ip: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantDetail {
    pub tenant: AdminTenantRow,
    pub trial_ends: String,
    pub members: Vec<(String, String)>,
    /// Its domains: (id, name, status, staff's suspension reason).
    pub domain_names: Vec<(String, String, String, Option<String>)>,
    pub inbox_counts: Vec<(String, i64)>,
    pub subscription: Option<AdminSubscription>,
    pub ledger: Vec<AdminLedgerEntry>,
    pub notes: Vec<AdminNote>,
    pub suspensions: Vec<AdminSuspension>,
    /// Its mail over the last 7 days (beside the suspensions).
    #[serde(default)]
    pub deliverability_7d: crate::domain::deliverability::Figures,
    /// Spam complaints naming this tenant, newest first: counted ones and those that did
    /// not count (forged: no such delivered message; or a repeat of a counted one).
    pub complaints: Vec<AdminComplaint>,
    pub audit: Vec<AdminAuditEntry>,
    /// The sandbox clock can be advanced (payments run on the sandbox).
    pub sandbox: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSubscription {
    pub id: String,
    pub status: String,
    pub plan: String,
    pub period_end: Option<String>,
    pub cancel_at_period_end: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminLedgerEntry {
    pub id: i64,
    pub kind: String,
    pub amount: String,
    pub description: String,
    pub occurred: String,
    /// A charge paid through a payment we can refund, not refunded by staff yet.
    pub refundable: bool,
    pub refunded_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminComplaint {
    pub at: String,
    pub inbox: String,
    pub recipient: String,
    pub reporter: String,
    pub counted: bool,
    /// Why it did not count; empty when it did.
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminNote {
    pub at: String,
    pub author: String,
    pub body: String,
}

/// The audit trail page (staff: every tenant; a customer: their own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub entries: Vec<AdminAuditEntry>,
    /// The id to pass as `before` for the next (older) page.
    pub next: Option<i64>,
    pub actor: String,
    pub action: String,
    pub tenant: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeEventRow {
    pub id: String,
    pub kind: String,
    pub created: String,
    pub received: String,
    pub tenant: Option<String>,
    pub outcome: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeEventsView {
    pub events: Vec<StripeEventRow>,
    pub kind: String,
    /// The selected event's pretty-printed payload.
    pub selected: Option<(StripeEventRow, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub tenant: Option<String>,
    pub attempts: String,
    pub run_at: String,
    pub updated: String,
    pub last_error: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsView {
    pub status: String,
    pub counts: Vec<(String, i64)>,
    pub jobs: Vec<JobView>,
}

/// One provider: what it is for, which implementation runs, and whether it is real.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub area: String,
    pub name: String,
    pub real: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformView {
    pub providers: Vec<ProviderView>,
    /// How far the sandbox clock is ahead of real time, when payments run on the sandbox.
    pub sandbox_clock: Option<String>,
}

pub const JOB_STATUSES: [&str; 4] = [
    JobStatus::Pending.as_str(),
    JobStatus::Running.as_str(),
    JobStatus::Failed.as_str(),
    JobStatus::Done.as_str(),
];

pub const SUSPENSION_CATEGORIES: [&str; 4] = [
    SuspensionCategory::Abuse.as_str(),
    SuspensionCategory::Payment.as_str(),
    SuspensionCategory::Terms.as_str(),
    SuspensionCategory::Manual.as_str(),
];
