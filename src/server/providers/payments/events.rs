//! The parts of Stripe events we read (API 2026-09-30.endive). Every field is optional or
//! defaulted so a correctly signed event from a newer API version still parses; the raw JSON
//! is stored alongside.

use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// An id or an expanded object with an `id`.
fn expandable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Object(o)) => {
            o.get("id").and_then(|v| v.as_str()).map(String::from)
        }
        _ => None,
    })
}

fn metadata<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<String, String>, D::Error> {
    Ok(Option::<HashMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub customer: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub subscription: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default, deserialize_with = "expandable")]
    pub customer: Option<String>,
    pub status: String,
    #[serde(default)]
    pub items: List<SubscriptionItem>,
    #[serde(default)]
    pub trial_start: Option<i64>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub canceled_at: Option<i64>,
    #[serde(default)]
    pub ended_at: Option<i64>,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self { data: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    pub price: Price,
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Price {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub customer: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub amount_due: i64,
    #[serde(default)]
    pub amount_paid: i64,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub billing_reason: Option<String>,
    #[serde(default)]
    pub attempt_count: i32,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    #[serde(default)]
    pub invoice_pdf: Option<String>,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub status_transitions: Option<StatusTransitions>,
    #[serde(default)]
    pub lines: List<InvoiceLine>,
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// Undocumented in endive but still sent (nullable); the fallback for `parent`.
    #[serde(default, deserialize_with = "expandable")]
    pub subscription: Option<String>,
}

impl Invoice {
    pub fn subscription_id(&self) -> Option<String> {
        self.parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .and_then(|d| d.subscription.clone())
            .or_else(|| self.subscription.clone())
    }

    /// The service period: from the lines (the invoice-level period is the previous one).
    pub fn period(&self) -> (Option<i64>, Option<i64>) {
        let start = self
            .lines
            .data
            .iter()
            .filter_map(|l| l.period.as_ref())
            .map(|p| p.start)
            .min();
        let end = self
            .lines
            .data
            .iter()
            .filter_map(|l| l.period.as_ref())
            .map(|p| p.end)
            .max();
        (start, end)
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusTransitions {
    #[serde(default)]
    pub paid_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub period: Option<Period>,
}

#[derive(Debug, Deserialize)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceParent {
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionDetails {
    #[serde(default, deserialize_with = "expandable")]
    pub subscription: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub amount_received: i64,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub customer: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentError {
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(default, deserialize_with = "expandable")]
    pub payment_intent: Option<String>,
    #[serde(default, deserialize_with = "expandable")]
    pub customer: Option<String>,
    #[serde(default)]
    pub amount_refunded: i64,
    #[serde(default)]
    pub currency: String,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str) -> serde_json::Value {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("stripe_templates.json")).unwrap();
        all[name].clone()
    }

    #[test]
    fn stripes_example_subscription_parses_with_its_item_price_and_period() {
        let s: Subscription = serde_json::from_value(template("subscription")).unwrap();
        assert_eq!(s.id, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw");
        assert_eq!(s.customer.as_deref(), Some("cus_QXg1o8vcGmoR32"));
        assert_eq!(s.items.data[0].price.id, "price_1PgafmB7WZ01zgkW6dKueIc5");
        assert!(s.items.data[0].current_period_end.is_some());
    }

    #[test]
    fn stripes_example_invoice_parses_and_reads_the_subscription_from_parent() {
        let mut v = template("invoice");
        v["parent"] = serde_json::json!({"subscription_details": {"subscription": "sub_9"}, "type": "subscription_details"});
        let i: Invoice = serde_json::from_value(v).unwrap();
        assert_eq!(i.subscription_id().as_deref(), Some("sub_9"));
        assert_eq!(i.amount_due, 1000);
    }

    #[test]
    fn an_expanded_customer_object_reads_as_its_id() {
        let mut v = template("charge");
        v["customer"] = serde_json::json!({"id": "cus_expanded", "object": "customer"});
        let c: Charge = serde_json::from_value(v).unwrap();
        assert_eq!(c.customer.as_deref(), Some("cus_expanded"));
    }

    #[test]
    fn checkout_session_and_payment_intent_examples_parse() {
        let s: CheckoutSession = serde_json::from_value(template("checkout.session")).unwrap();
        assert!(s.id.starts_with("cs_"));
        let p: PaymentIntent = serde_json::from_value(template("payment_intent")).unwrap();
        assert!(p.id.starts_with("pi_"));
    }
}
