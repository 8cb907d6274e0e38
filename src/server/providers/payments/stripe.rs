//! The real Stripe client on async-stripe (=1.0.0-rc.10, API 2026-09-30.endive).

use super::*;

/// Placeholder until the async-stripe client lands (same commit series).
pub struct StripeClient;

impl StripeClient {
    pub fn new(_key: &secrecy::SecretString, _base: &str) -> anyhow::Result<Self> {
        anyhow::bail!("the real Stripe client is not built yet")
    }
}

#[async_trait]
impl Payments for StripeClient {
    fn name(&self) -> &'static str {
        "stripe"
    }
    async fn create_customer(&self, _: &NewCustomer, _: &str) -> Result<String, PaymentsError> {
        unreachable!()
    }
    async fn create_checkout(&self, _: &CheckoutRequest) -> Result<CheckoutSession, PaymentsError> {
        unreachable!()
    }
    async fn create_portal(&self, _: &PortalRequest) -> Result<String, PaymentsError> {
        unreachable!()
    }
    async fn update_subscription(&self, _: &str, _: &SubscriptionChange, _: &str) -> Result<(), PaymentsError> {
        unreachable!()
    }
    async fn refund(&self, _: &RefundRequest) -> Result<Refund, PaymentsError> {
        unreachable!()
    }
}
