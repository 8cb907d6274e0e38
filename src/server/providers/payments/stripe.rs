//! The real Stripe client on async-stripe (=1.0.0-rc.10, API 2026-09-30.endive).
//!
//! Every call is one HTTP attempt: mutating calls use `RequestStrategy::Idempotent` with the
//! caller's key (async-stripe's `Retry`/`ExponentialBackoff` would send a random key of their
//! own), so a caller that retries after `RateLimited`/`Unavailable` reuses the same key and
//! Stripe replays the first result instead of charging, refunding or creating twice.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use stripe::{
    ApiErrors, ApiErrorsCode, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeError,
    StripeRequest,
};
use stripe_billing::billing_meter_event::CreateBillingMeterEvent;
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::invoice_payment::{ListInvoicePayment, ListInvoicePaymentStatus};
use stripe_billing::subscription::{
    UpdateSubscription, UpdateSubscriptionItems, UpdateSubscriptionProrationBehavior,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionPaymentIntentDataSetupFutureUsage,
    CreateCheckoutSessionPaymentMethodCollection, CreateCheckoutSessionSubscriptionData,
    CreateCheckoutSessionSubscriptionDataTrialSettings,
    CreateCheckoutSessionSubscriptionDataTrialSettingsEndBehavior,
    CreateCheckoutSessionSubscriptionDataTrialSettingsEndBehaviorMissingPaymentMethod, ProductData,
};
use stripe_core::customer::{
    CreateCustomer, ListPaymentMethodsCustomer, ListPaymentMethodsCustomerType, RetrieveCustomer,
    RetrieveCustomerReturned, RetrievePaymentMethodCustomer, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_core::refund::{CreateRefund, CreateRefundReason};
use stripe_payment::payment_method::DetachPaymentMethod;
use stripe_types::Currency;

use super::{
    CheckoutMode, CheckoutRequest, CheckoutSession, MeterEvent, NO_CARD, NewCustomer, Payments,
    PaymentsError, PortalRequest, Refund, RefundReason, RefundRequest, SavedCard, SavedCardCharge,
    SubscriptionChange,
};

/// Per-attempt budget; the async client has no default timeout.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What async-stripe rc.10 reports when a non-2xx response body is not a Stripe error object
/// (e.g. an HTML 502 page from a load balancer in front of Stripe). The HTTP status is lost in
/// that case, so this message is the only way to tell it from an unreadable 2xx body.
const NON_STRIPE_ERROR_BODY: &str = "error deserializing Stripe error";

/// Shown when Stripe refuses a request without a message of its own.
const GENERIC_REJECTION: &str = "The payment provider declined the request.";

pub struct StripeClient {
    client: stripe::Client,
    api_base: String,
}

/// Never prints the secret key (the inner client is left out entirely).
impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// `api_base` is Stripe's API root and must end in `/` (async-stripe appends `v1/...`):
    /// `https://api.stripe.com/` in production, a local fake in tests.
    pub fn new(secret_key: &SecretString, api_base: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            api_base.ends_with('/'),
            "the Stripe API base must end in '/' (got {api_base:?})"
        );
        let client = stripe::ClientBuilder::new(secret_key.expose_secret())
            .url(api_base)
            .timeout(TIMEOUT)
            .build()
            // The error names the bad setting, never the key's value.
            .map_err(|err| anyhow!("building the Stripe client: {err}"))?;
        Ok(Self {
            client,
            api_base: api_base.to_owned(),
        })
    }
}

impl StripeClient {
    /// The card renewals charge: the customer's `invoice_settings.default_payment_method`, or
    /// — Checkout sets a subscription's card on the subscription and a purchase's card only on
    /// the customer's list — the newest card saved on the customer. Reading has no side
    /// effect: no idempotency key.
    async fn default_card(&self, customer_id: &str) -> Result<Option<String>, PaymentsError> {
        let customer = RetrieveCustomer::new(customer_id)
            .send(&self.client)
            .await
            .map_err(|err| map_error("retrieve_customer", err))?;
        let set = match customer {
            RetrieveCustomerReturned::Customer(customer) => customer
                .invoice_settings
                .and_then(|s| s.default_payment_method)
                .map(|pm| pm.id().as_str().to_owned()),
            RetrieveCustomerReturned::DeletedCustomer(_) => return Ok(None),
        };
        if set.is_some() {
            return Ok(set);
        }
        // Stripe lists a customer's payment methods newest first.
        Ok(self
            .saved_cards(customer_id, 1)
            .await?
            .into_iter()
            .next()
            .map(|pm| pm.id.as_str().to_owned()))
    }

    /// The customer's saved cards, newest first (at most `limit`).
    async fn saved_cards(
        &self,
        customer_id: &str,
        limit: i64,
    ) -> Result<Vec<stripe_payment::PaymentMethod>, PaymentsError> {
        let cards = ListPaymentMethodsCustomer::new(customer_id)
            .type_(ListPaymentMethodsCustomerType::Card)
            .limit(limit)
            .send(&self.client)
            .await
            .map_err(|err| map_error("list_cards", err))?;
        Ok(cards.data)
    }

    /// Stripe answers 404 (`resource_missing`) unless the card is attached to this customer.
    async fn own_card(&self, customer_id: &str, card_id: &str) -> Result<(), PaymentsError> {
        RetrievePaymentMethodCustomer::new(customer_id, card_id)
            .send(&self.client)
            .await
            .map_err(|err| map_error("retrieve_card", err))?;
        Ok(())
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, PaymentsError> {
    let key = IdempotencyKey::new(key).context("invalid Stripe idempotency key")?;
    Ok(RequestStrategy::Idempotent(key))
}

fn metadata<const N: usize>(pairs: [(&str, String); N]) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Maps async-stripe's error to ours, and logs it (without the key, which never appears in it).
fn map_error(operation: &'static str, err: StripeError) -> PaymentsError {
    let mapped = match err {
        StripeError::Stripe(api, status) => from_api_error(*api, status),
        StripeError::ClientError(msg) => {
            PaymentsError::Unavailable(anyhow!("communicating with Stripe: {msg}"))
        }
        StripeError::Timeout => {
            PaymentsError::Unavailable(anyhow!("Stripe did not answer within {TIMEOUT:?}"))
        }
        StripeError::JSONDeserialize(msg) if msg == NON_STRIPE_ERROR_BODY => {
            PaymentsError::Unavailable(anyhow!("Stripe answered with a non-Stripe error page"))
        }
        StripeError::JSONDeserialize(msg) => {
            PaymentsError::Unexpected(anyhow!("unreadable Stripe response: {msg}"))
        }
        StripeError::ConfigError(msg) => {
            PaymentsError::Unexpected(anyhow!("Stripe client configuration: {msg}"))
        }
    };
    match &mapped {
        PaymentsError::Rejected { code, message } => {
            tracing::info!(operation, code = code.as_deref(), %message, "stripe rejected the request");
        }
        other => tracing::warn!(operation, error = %format!("{other:#}"), "stripe call failed"),
    }
    mapped
}

fn from_api_error(api: ApiErrors, status: u16) -> PaymentsError {
    let code = api.code.as_ref().map(|c| c.as_str().to_owned());
    let summary = || {
        anyhow!(
            "Stripe answered {status} {}{}: {}",
            api.type_.as_str(),
            code.as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            api.message.as_deref().unwrap_or("no message"),
        )
    };
    // Stripe also reports some rate limits as 400 with code `rate_limit`.
    if status == 429 || matches!(api.code, Some(ApiErrorsCode::RateLimit)) {
        return PaymentsError::RateLimited;
    }
    match status {
        500..=599 => PaymentsError::Unavailable(summary()),
        // A bad or revoked secret key: our misconfiguration, not something to show a customer.
        401 | 403 => PaymentsError::Unexpected(summary()),
        400..=499 => match api.type_ {
            ApiErrorsType::CardError
            | ApiErrorsType::InvalidRequestError
            | ApiErrorsType::IdempotencyError => PaymentsError::Rejected {
                code,
                message: api
                    .message
                    .clone()
                    .unwrap_or_else(|| GENERIC_REJECTION.to_owned()),
            },
            _ => PaymentsError::Unexpected(summary()),
        },
        _ => PaymentsError::Unexpected(summary()),
    }
}

fn checkout_request(request: &CheckoutRequest) -> CreateCheckoutSession {
    let tenant_id = request.tenant_id.to_string();
    let session = CreateCheckoutSession::new()
        .customer(request.customer_id.as_str())
        .client_reference_id(tenant_id.as_str())
        .success_url(request.success_url.as_str())
        .cancel_url(request.cancel_url.as_str());

    match &request.mode {
        CheckoutMode::Subscription {
            price_id,
            trial_period_days,
            card_required,
            overage_price_id,
        } => {
            let mut item = CreateCheckoutSessionLineItems::new();
            item.price = Some(price_id.clone());
            item.quantity = Some(1);
            let mut items = vec![item];
            if let Some(metered) = overage_price_id {
                // A metered price takes no quantity: the billing meter says how many.
                let mut extra = CreateCheckoutSessionLineItems::new();
                extra.price = Some(metered.clone());
                items.push(extra);
            }

            // The session's metadata is not copied onto the subscription: set both.
            let mut subscription = CreateCheckoutSessionSubscriptionData::new();
            subscription.metadata = Some(metadata([("tenant_id", tenant_id.clone())]));
            subscription.trial_period_days = *trial_period_days;
            let collection = if *card_required {
                CreateCheckoutSessionPaymentMethodCollection::Always
            } else {
                // No card at signup: a trial that ends without one cancels, it never bills.
                subscription.trial_settings =
                    Some(CreateCheckoutSessionSubscriptionDataTrialSettings::new(
                        CreateCheckoutSessionSubscriptionDataTrialSettingsEndBehavior::new(
                            CreateCheckoutSessionSubscriptionDataTrialSettingsEndBehaviorMissingPaymentMethod::Cancel,
                        ),
                    ));
                CreateCheckoutSessionPaymentMethodCollection::IfRequired
            };

            session
                .mode(CheckoutSessionMode::Subscription)
                .line_items(items)
                .payment_method_collection(collection)
                .subscription_data(subscription)
                .metadata(metadata([("tenant_id", tenant_id)]))
        }
        // Saves a card on the customer for later, charging nothing.
        CheckoutMode::Setup => session
            .mode(CheckoutSessionMode::Setup)
            .currency(Currency::USD)
            .metadata(metadata([("tenant_id", tenant_id)])),
        CheckoutMode::Payment {
            amount_cents,
            currency,
            description,
            purchase_id,
        } => {
            let mut price = CreateCheckoutSessionLineItemsPriceData::new(
                currency
                    .to_ascii_lowercase()
                    .parse::<Currency>()
                    .unwrap_or_else(|never| match never {}),
            );
            price.unit_amount = Some(*amount_cents);
            price.product_data = Some(ProductData::new(description.as_str()));
            let mut item = CreateCheckoutSessionLineItems::new();
            item.price_data = Some(price);
            item.quantity = Some(1);

            let purchase_id = purchase_id.to_string();
            // The session's metadata does not reach the PaymentIntent: set both.
            let mut payment_intent = CreateCheckoutSessionPaymentIntentData::new();
            // The card is kept on the customer: the domain renews off-session a year on.
            payment_intent.setup_future_usage =
                Some(CreateCheckoutSessionPaymentIntentDataSetupFutureUsage::OffSession);
            payment_intent.metadata = Some(metadata([
                ("purchase_id", purchase_id.clone()),
                ("tenant_id", tenant_id.clone()),
            ]));

            session
                .mode(CheckoutSessionMode::Payment)
                .line_items(vec![item])
                .payment_intent_data(payment_intent)
                .metadata(metadata([
                    ("purchase_id", purchase_id),
                    ("tenant_id", tenant_id),
                ]))
        }
    }
}

fn subscription_update(subscription_id: &str, change: &SubscriptionChange) -> UpdateSubscription {
    let update = UpdateSubscription::new(subscription_id);
    match change {
        SubscriptionChange::ChangePrice { item_id, price_id } => {
            // Without the item id Stripe would add a second item instead of swapping the price.
            let mut item = UpdateSubscriptionItems::new();
            item.id = Some(item_id.clone());
            item.price = Some(price_id.clone());
            update
                .items(vec![item])
                .proration_behavior(UpdateSubscriptionProrationBehavior::CreateProrations)
        }
        SubscriptionChange::CancelAtPeriodEnd => update.cancel_at_period_end(true),
        SubscriptionChange::Reactivate => update.cancel_at_period_end(false),
    }
}

fn refund_reason(reason: RefundReason) -> CreateRefundReason {
    match reason {
        RefundReason::RequestedByCustomer => CreateRefundReason::RequestedByCustomer,
        RefundReason::Duplicate => CreateRefundReason::Duplicate,
        RefundReason::Fraudulent => CreateRefundReason::Fraudulent,
    }
}

#[async_trait]
impl Payments for StripeClient {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_customer(
        &self,
        customer: &NewCustomer,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError> {
        let created = CreateCustomer::new()
            .email(customer.email.as_str())
            .name(customer.name.as_str())
            .metadata(metadata([("tenant_id", customer.tenant_id.to_string())]))
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(|err| map_error("create_customer", err))?;
        Ok(created.id.as_str().to_owned())
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentsError> {
        let session = checkout_request(request)
            .customize()
            .request_strategy(idempotent(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(|err| map_error("create_checkout", err))?;
        let url = session.url.ok_or_else(|| {
            PaymentsError::Unexpected(anyhow!(
                "Stripe returned checkout session {} without a url",
                session.id.as_str()
            ))
        })?;
        Ok(CheckoutSession {
            id: session.id.as_str().to_owned(),
            url,
        })
    }

    async fn create_portal(&self, request: &PortalRequest) -> Result<String, PaymentsError> {
        // Creating a portal session has no side effect worth deduplicating: no key.
        let session = CreateBillingPortalSession::new()
            .customer(request.customer_id.as_str())
            .return_url(request.return_url.as_str())
            .send(&self.client)
            .await
            .map_err(|err| map_error("create_portal", err))?;
        Ok(session.url)
    }

    async fn update_subscription(
        &self,
        subscription_id: &str,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> Result<(), PaymentsError> {
        subscription_update(subscription_id, change)
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(|err| map_error("update_subscription", err))?;
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaymentsError> {
        let mut create = CreateRefund::new()
            .payment_intent(request.payment_intent_id.as_str())
            .reason(refund_reason(request.reason));
        if let Some(amount) = request.amount_cents {
            create = create.amount(amount);
        }
        let refund = create
            .customize()
            .request_strategy(idempotent(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(|err| map_error("refund", err))?;
        Ok(Refund {
            id: refund.id.as_str().to_owned(),
            payment_intent_id: refund
                .payment_intent
                .as_ref()
                .map(|pi| pi.id().as_str().to_owned())
                .unwrap_or_else(|| request.payment_intent_id.clone()),
            amount_cents: refund.amount,
            currency: refund.currency.to_string(),
            // Nullable in the API; a refund without a status has not settled yet.
            status: refund.status.unwrap_or_else(|| "pending".to_owned()),
        })
    }

    async fn charge_saved_card(&self, c: &SavedCardCharge) -> Result<String, PaymentsError> {
        let card = self.default_card(&c.customer_id).await?;
        let Some(card) = card else {
            return Err(PaymentsError::Rejected {
                code: Some(NO_CARD.into()),
                message: "There is no card on file for this customer.".into(),
            });
        };
        let mut pairs: HashMap<String, String> = c.metadata.iter().cloned().collect();
        pairs.insert("tenant_id".into(), c.tenant_id.to_string());
        let intent = CreatePaymentIntent::new(
            c.amount_cents,
            c.currency
                .to_ascii_lowercase()
                .parse::<Currency>()
                .unwrap_or_else(|never| match never {}),
        )
        .customer(c.customer_id.as_str())
        .payment_method(card)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .confirm(true)
        .description(c.description.as_str())
        .metadata(pairs)
        .customize()
        .request_strategy(idempotent(&c.idempotency_key)?)
        .send(&self.client)
        .await
        .map_err(|err| map_error("charge_saved_card", err))?;
        if intent.status.as_str() != "succeeded" {
            // `requires_action` (the bank wants the customer) or still processing: not paid.
            return Err(PaymentsError::Rejected {
                code: Some(intent.status.as_str().to_owned()),
                message: "The card needs the cardholder to confirm this payment.".into(),
            });
        }
        Ok(intent.id.as_str().to_owned())
    }

    async fn list_cards(&self, customer_id: &str) -> Result<Vec<SavedCard>, PaymentsError> {
        let default = self.default_card(customer_id).await?;
        Ok(self
            .saved_cards(customer_id, 100)
            .await?
            .into_iter()
            .filter_map(|pm| {
                let card = pm.card?;
                let id = pm.id.as_str().to_owned();
                Some(SavedCard {
                    is_default: default.as_deref() == Some(id.as_str()),
                    id,
                    brand: card.brand,
                    last4: card.last4,
                    exp_month: u32::try_from(card.exp_month).unwrap_or(0),
                    exp_year: u32::try_from(card.exp_year).unwrap_or(0),
                })
            })
            .collect())
    }

    async fn set_default_card(
        &self,
        customer_id: &str,
        card_id: &str,
    ) -> Result<(), PaymentsError> {
        self.own_card(customer_id, card_id).await?;
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(card_id.to_owned());
        UpdateCustomer::new(customer_id)
            .invoice_settings(settings)
            .send(&self.client)
            .await
            .map_err(|err| map_error("set_default_card", err))?;
        Ok(())
    }

    async fn remove_card(&self, customer_id: &str, card_id: &str) -> Result<(), PaymentsError> {
        // Detach takes any card id: make sure it is this customer's first.
        self.own_card(customer_id, card_id).await?;
        DetachPaymentMethod::new(card_id)
            .send(&self.client)
            .await
            .map_err(|err| map_error("remove_card", err))?;
        Ok(())
    }

    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, PaymentsError> {
        let payments = ListInvoicePayment::new()
            .invoice(invoice_id)
            .status(ListInvoicePaymentStatus::Paid)
            .send(&self.client)
            .await
            .map_err(|err| map_error("list_invoice_payments", err))?;
        Ok(payments
            .data
            .into_iter()
            .find_map(|p| p.payment.payment_intent)
            .map(|pi| pi.id().as_str().to_owned()))
    }

    async fn report_usage(&self, event: &MeterEvent) -> Result<(), PaymentsError> {
        // The identifier is Stripe's own dedupe; the idempotency key derived from it replays
        // the first answer to a retry of the same request.
        meter_event(event)
            .customize()
            .request_strategy(idempotent(&format!("ig:{}", event.identifier))?)
            .send(&self.client)
            .await
            .map_err(|err| map_error("report_usage", err))?;
        Ok(())
    }
}

fn meter_event(event: &MeterEvent) -> CreateBillingMeterEvent {
    CreateBillingMeterEvent::new(
        event.event_name.as_str(),
        metadata([
            ("stripe_customer_id", event.customer_id.clone()),
            ("value", event.value.to_string()),
        ]),
    )
    .identifier(event.identifier.as_str())
    .timestamp(event.timestamp.timestamp())
}
