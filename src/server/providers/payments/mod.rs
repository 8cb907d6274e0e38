//! Payments: one trait, the real Stripe client (async-stripe) and a stateful sandbox that
//! behaves like Stripe (hosted Checkout page, portal, signed webhooks, a test clock).
//!
//! Every mutating call carries an idempotency key chosen by the caller from what the call is
//! *for* (`ig:customer:{tenant}`, `ig:refund:{purchase}`, …), so a retry after a crash or a
//! double click can never charge, refund or create twice.

use async_trait::async_trait;
use uuid::Uuid;

pub mod events;
pub mod sandbox;
pub mod signature;
pub mod stripe;

/// The Stripe API version our request and event shapes follow (async-stripe 1.0.0-rc.10).
pub const STRIPE_API_VERSION: &str = "2026-09-30.endive";

#[derive(Clone, Debug)]
pub struct NewCustomer {
    pub tenant_id: Uuid,
    pub email: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub enum CheckoutMode {
    /// A monthly plan, optionally starting with a trial.
    Subscription {
        price_id: String,
        trial_period_days: Option<u32>,
        /// `payment_method_collection=always` (true) or `if_required` (false).
        card_required: bool,
        /// The plan's metered price for extra inboxes, added as a second item (no quantity:
        /// Stripe bills it from the billing meter).
        overage_price_id: Option<String>,
    },
    /// A one-time charge at a price computed by us (domain purchase).
    Payment {
        amount_cents: i64,
        currency: String,
        description: String,
        purchase_id: Uuid,
    },
    /// Save a card for later, charging nothing (the billing page's "Add a card").
    Setup,
}

#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    pub tenant_id: Uuid,
    pub customer_id: String,
    pub mode: CheckoutMode,
    /// Must contain the literal `{CHECKOUT_SESSION_ID}`; the provider fills it in.
    pub success_url: String,
    pub cancel_url: String,
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    /// Where to send the customer's browser.
    pub url: String,
}

#[derive(Clone, Debug)]
pub struct PortalRequest {
    pub customer_id: String,
    pub return_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Swap the item's price, prorated.
    ChangePrice {
        item_id: String,
        price_id: String,
    },
    CancelAtPeriodEnd,
    Reactivate,
}

/// A charge of the customer's default card while they are not there (domain renewals).
#[derive(Clone, Debug)]
pub struct SavedCardCharge {
    pub tenant_id: Uuid,
    pub customer_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub description: String,
    /// Copied onto the PaymentIntent (with `tenant_id`), e.g. `renewal_id`.
    pub metadata: Vec<(String, String)>,
    pub idempotency_key: String,
}

/// A card saved on the customer (a Stripe PaymentMethod of type card).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedCard {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
    /// The customer's `invoice_settings.default_payment_method`: what renewals and
    /// subscription invoices charge.
    pub is_default: bool,
}

/// One billing meter event: `value` for the customer at `timestamp`, which Stripe adds to the
/// invoice of the period it falls in through the meter's price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterEvent {
    /// The meter's `event_name` (`billing.overage_meter_event`).
    pub event_name: String,
    /// Sent as `payload[stripe_customer_id]`.
    pub customer_id: String,
    /// Sent as `payload[value]`; never negative.
    pub value: i64,
    /// Stripe keeps one event per identifier: `overage:{subscription}:{period start}:{peak}`.
    pub identifier: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
}

/// The code of the refusal when the customer has no card on file.
pub const NO_CARD: &str = "no_payment_method";

#[derive(Clone, Debug)]
pub struct RefundRequest {
    pub payment_intent_id: String,
    /// `None` refunds the whole remaining amount.
    pub amount_cents: Option<i64>,
    pub reason: RefundReason,
    pub idempotency_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundReason {
    RequestedByCustomer,
    Duplicate,
    Fraudulent,
}

impl RefundReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestedByCustomer => "requested_by_customer",
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub payment_intent_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// The provider refused the request; the message is safe to show to the customer.
    #[error("{message}")]
    Rejected {
        code: Option<String>,
        message: String,
    },
    #[error("the payment provider is rate limiting us")]
    RateLimited,
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// `"stripe"` or `"sandbox"`, for logs and the admin panel.
    fn name(&self) -> &'static str;

    async fn create_customer(
        &self,
        customer: &NewCustomer,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError>;

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentsError>;

    async fn create_portal(&self, request: &PortalRequest) -> Result<String, PaymentsError>;

    async fn update_subscription(
        &self,
        subscription_id: &str,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> Result<(), PaymentsError>;

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaymentsError>;

    /// Charges the customer's default card off-session; the PaymentIntent's id once it
    /// succeeded. A declined card is `Rejected` (code `card_declined`, or [`NO_CARD`]).
    async fn charge_saved_card(&self, charge: &SavedCardCharge) -> Result<String, PaymentsError>;

    /// The PaymentIntent that paid a (subscription) invoice, to refund it: since API
    /// 2025-03-31 an invoice names its payments only through `/v1/invoice_payments`.
    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, PaymentsError>;

    /// The customer's saved cards, newest first, the default marked.
    async fn list_cards(&self, customer_id: &str) -> Result<Vec<SavedCard>, PaymentsError>;

    /// Makes one of the customer's cards the default (`resource_missing` if it is not theirs).
    async fn set_default_card(&self, customer_id: &str, card_id: &str)
    -> Result<(), PaymentsError>;

    /// Detaches one of the customer's cards (`resource_missing` if it is not theirs: a card
    /// id of another customer is never touched).
    async fn remove_card(&self, customer_id: &str, card_id: &str) -> Result<(), PaymentsError>;

    /// Reports a value to a billing meter (`POST /v1/billing/meter_events`). Stripe ignores an
    /// event whose `identifier` it has seen (within at least 24 hours), so a retry is safe.
    async fn report_usage(&self, event: &MeterEvent) -> Result<(), PaymentsError>;
}
