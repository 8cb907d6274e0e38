//! What the domain pages show: search results, the list, one domain with its saga steps and
//! DNS records. Built on the server, rendered in the browser.

use serde::{Deserialize, Serialize};

/// One name in the search results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    pub name: String,
    /// The Unicode form for display (`bücher.com`); equal to `name` for ASCII names.
    pub display: String,
    pub available: bool,
    /// The customer's price for the first year, e.g. `$13.98`.
    pub price: Option<String>,
    /// Why it cannot be bought, when it cannot.
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchView {
    pub results: Vec<SearchResult>,
    /// Set when the plan's domain limit or the trial cap stops any purchase right now.
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainListItem {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_label: String,
    /// `ok`, `broken` or `unknown`.
    pub health: String,
    /// e.g. `5 of 5 records OK`.
    pub health_label: String,
    pub expires: Option<String>,
    pub byod: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainsView {
    pub domains: Vec<DomainListItem>,
    pub can_manage: bool,
    /// Extensions offered when searching a keyword.
    pub tlds: Vec<String>,
}

/// One step of the purchase saga, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub step: String,
    pub label: String,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub started: Option<String>,
    /// How long the step took, e.g. `0.12 s`.
    pub took: Option<String>,
    pub error: Option<String>,
}

/// One DNS record the domain needs and what the last check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub purpose: String,
    pub kind: String,
    pub name: String,
    /// The exact value to create (for MX: `10 mx1.inboxgrove.net`).
    pub value: String,
    /// `ok`, `missing`, `invalid` or `unknown` (not checked yet).
    pub status: String,
    pub found: Vec<String>,
    pub fix: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainDetail {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_label: String,
    pub byod: bool,
    /// The zone is in our DNS account: records can be created and repaired for the customer.
    pub managed: bool,
    pub health: String,
    pub failure_reason: Option<String>,
    pub price: Option<String>,
    pub expires: Option<String>,
    pub nameservers: Vec<String>,
    pub last_checked: Option<String>,
    /// The saga's steps in order (purchased domains only).
    pub steps: Vec<StepView>,
    pub records: Vec<RecordView>,
    /// The saga is still working: the page refreshes itself.
    pub in_progress: bool,
    pub can_manage: bool,
    pub refund: Option<String>,
    /// The health score and its level, once computed.
    #[serde(default)]
    pub score: Option<(u8, crate::domain::deliverability::HealthLevel)>,
    /// Why staff suspended it, while suspended.
    #[serde(default)]
    pub suspension: Option<String>,
    /// Blocklist listings open now, in words.
    #[serde(default)]
    pub listings: Vec<String>,
    /// Bought domains: auto-renew, the renewal state and past renewals.
    #[serde(default)]
    pub renewal: Option<RenewalView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalView {
    pub auto_renew: bool,
    /// `ok`, `expiring` or `expired`.
    pub state: String,
    /// Why it is expiring (a declined card, the registrar refused, auto-renew off).
    pub note: Option<String>,
    /// When it renews next (auto-renew on), as a date.
    pub next: Option<String>,
    pub history: Vec<RenewalLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalLine {
    /// "2027-12-01 → 2028-11-30"
    pub period: String,
    pub amount: String,
    /// `pending`, `charged`, `renewed`, `failed`, `refunded`.
    pub status: String,
    pub note: Option<String>,
}

/// The label a person reads for a domain status.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "pending_payment" => "Awaiting payment",
        "registering" => "Registering",
        "configuring_dns" => "Configuring DNS",
        "verifying" => "Verifying DNS",
        "active" => "Active",
        "failed" => "Failed",
        "suspended" => "Suspended",
        "deleted" => "Deleted",
        _ => "Unknown",
    }
}

/// The saga's steps in the order they run, with their labels.
pub const SAGA_STEPS: [(&str, &str); 6] = [
    ("register", "Register the domain"),
    ("create_zone", "Create the DNS zone"),
    ("set_nameservers", "Point the nameservers at it"),
    ("create_records", "Create MX, SPF, DKIM and DMARC"),
    ("publish", "Publish to the mail relay"),
    ("verify", "Verify every record"),
];

pub fn step_label(step: &str) -> &'static str {
    SAGA_STEPS
        .iter()
        .find(|(s, _)| *s == step)
        .map(|(_, l)| *l)
        .unwrap_or(if step == "refund" {
            "Refund the payment"
        } else {
            "Step"
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saga_step_has_its_own_label_and_refund_is_labelled_too() {
        let labels: std::collections::HashSet<_> =
            SAGA_STEPS.iter().map(|(s, _)| step_label(s)).collect();
        assert_eq!(labels.len(), SAGA_STEPS.len());
        assert_eq!(step_label("refund"), "Refund the payment");
    }

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(status_label("pending_payment"), "Awaiting payment");
        assert_eq!(status_label("configuring_dns"), "Configuring DNS");
        assert_eq!(status_label("nonsense"), "Unknown");
    }
}
