//! What the billing pages show, computed on the server.

use serde::{Deserialize, Serialize};

use super::{PlanView, Usage};

/// How a plan card relates to the tenant's current plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanAction {
    Current,
    Choose,
    Upgrade,
    Downgrade,
}

impl PlanAction {
    pub fn label(self) -> &'static str {
        match self {
            Self::Current => "Current plan",
            Self::Choose => "Choose",
            Self::Upgrade => "Upgrade",
            Self::Downgrade => "Downgrade",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanCard {
    pub plan: PlanView,
    pub action: PlanAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: String,
    pub number: String,
    /// "2026-11-29"
    pub date: String,
    pub amount: String,
    pub status: String,
    /// Stripe's hosted invoice page.
    pub url: Option<String>,
    /// Stripe's `invoice_pdf` (the sandbox renders its own).
    pub pdf: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerView {
    pub date: String,
    pub kind: String,
    pub description: String,
    pub amount: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingView {
    /// "Growth", or "Free trial" before a plan is chosen.
    pub plan_name: String,
    pub plan_id: Option<String>,
    /// "Trialing", "Active", "Past due", "Canceled", "Trial", "Trial ended", …
    pub status: String,
    pub trial_days_left: Option<i64>,
    /// "Renews on 2026-12-29" / "Ends on …" / "Trial ends on …"
    pub period_note: Option<String>,
    pub cancel_at_period_end: bool,
    /// A live subscription exists (plan changes go to it rather than to Checkout).
    pub subscribed: bool,
    /// Shown at the top in amber (past due) …
    pub warning: Option<String>,
    /// … or red: why nothing new can be created right now.
    pub blocked: Option<String>,
    pub can_manage: bool,
    pub plans: Vec<PlanCard>,
    pub domains: Usage,
    pub inboxes: Usage,
    /// The public API's calls this month against the plan's allowance.
    pub api_calls: Usage,
    /// This month's recorded usage and the expected bill.
    #[serde(default)]
    pub this_month: MonthUsage,
    pub invoices: Vec<InvoiceView>,
    pub ledger: Vec<LedgerView>,
}

/// The billing page's "This month": what the workspace used (recorded hourly as usage events,
/// on the billing clock) and what the next invoice is expected to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthUsage {
    /// "December 2026"
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub inbox_days: i64,
    #[serde(default)]
    pub emails_sent: i64,
    #[serde(default)]
    pub api_calls: i64,
    /// The price of an inbox past the plan's limit ("$1.50"); `None`: the limit is hard.
    #[serde(default)]
    pub overage_price: Option<String>,
    /// Inboxes past the plan's limit that the next invoice bills: the most at once this period.
    #[serde(default)]
    pub extra_inboxes: i64,
    /// The next invoice as expected now ("$152"); `None` without a paid plan that renews.
    #[serde(default)]
    pub expected_bill: Option<String>,
    /// How it is made up ("Growth $149 + 2 extra inboxes × $1.50 = $152").
    #[serde(default)]
    pub bill_note: Option<String>,
}

/// The success page's view of one Checkout session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CheckoutStatus {
    /// The redirect came back but the webhook has not landed yet.
    Confirming,
    Complete {
        plan_name: String,
        status: String,
    },
    /// A session that is not this tenant's (or never existed).
    Unknown,
}

/// A saved card on the billing page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub id: String,
    pub brand: String,
    pub last4: String,
    /// "MM/YYYY"
    pub expires: String,
    /// "Visa •••• 4242 (expires 12/2029)"
    pub label: String,
    pub is_default: bool,
}

/// With an overage price, a workspace's inboxes may reach this many times what its plan
/// includes (the rest is billed per extra inbox); past that, the limit is hard again.
pub const OVERAGE_CEILING: i64 = 2;
