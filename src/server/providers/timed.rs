//! Decorators that time every call of a provider into [`ProviderStats`]: each wraps the real
//! implementation (or the sandbox) when `AppState` is built and forwards every method,
//! recording the call's latency and whether it returned `Ok` under the label
//! `area:implementation` (`registrar:namecheap`, `dns:sandbox`, `mail:smtp`,
//! `instantly:api`).
//!
//! Every method of a wrapped trait must be forwarded here, including those with a default
//! body (a default would silently stand in for the real implementation's own): a new method
//! without a default fails to compile until it is added; one with a default must be added by
//! hand.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::dns::{DnsError, DnsProvider, DnsRecord, Zone};
use super::mail::{MailError, MailParts, MailTransport, Mailer, OutgoingMail};
use super::mailstore::{Login, LoginCheck, MailStore, MailStoreError};
use super::payments::{
    CheckoutRequest, CheckoutSession, MeterEvent, NewCustomer, Payments, PaymentsError,
    PortalRequest, Refund, RefundRequest, SavedCard, SavedCardCharge, SubscriptionChange,
};
use super::registrar::{
    Availability, DomainInfo, RegisterRequest, Registrar, RegistrarError, Registration, Renewal,
};
use super::relay::{Relay, RelayActionId, RelayError, TenantRelayData};
use super::stats::ProviderStats;
use super::tools::{Account, Pushed, Tool, ToolClient};
use crate::domain::TenantId;

/// `inner`, timed under `label`.
pub struct Timed<P: ?Sized> {
    inner: Arc<P>,
    label: String,
    stats: Arc<ProviderStats>,
}

impl<P: ?Sized> Timed<P> {
    fn new(inner: Arc<P>, label: String, stats: &Arc<ProviderStats>) -> Self {
        stats.register(&label);
        Self {
            inner,
            label,
            stats: stats.clone(),
        }
    }
}

pub fn payments(inner: Arc<dyn Payments>, stats: &Arc<ProviderStats>) -> Arc<dyn Payments> {
    let label = format!("payments:{}", inner.name());
    Arc::new(Timed::new(inner, label, stats))
}

pub fn registrar(inner: Arc<dyn Registrar>, stats: &Arc<ProviderStats>) -> Arc<dyn Registrar> {
    let label = format!("registrar:{}", inner.name());
    Arc::new(Timed::new(inner, label, stats))
}

pub fn dns(inner: Arc<dyn DnsProvider>, stats: &Arc<ProviderStats>) -> Arc<dyn DnsProvider> {
    let label = format!("dns:{}", inner.name());
    Arc::new(Timed::new(inner, label, stats))
}

pub fn relay(inner: Arc<dyn Relay>, stats: &Arc<ProviderStats>) -> Arc<dyn Relay> {
    let label = format!("relay:{}", inner.name());
    Arc::new(Timed::new(inner, label, stats))
}

pub fn mailer(inner: Arc<dyn Mailer>, stats: &Arc<ProviderStats>) -> Arc<dyn Mailer> {
    let label = format!("mail:{}", inner.transport().as_str());
    Arc::new(Timed::new(inner, label, stats))
}

pub fn mailstore(inner: Arc<dyn MailStore>, stats: &Arc<ProviderStats>) -> Arc<dyn MailStore> {
    let label = format!("mailstore:{}", inner.name());
    Arc::new(Timed::new(inner, label, stats))
}

/// A cold-email tool's client (made per push): `instantly:api`, `smartlead:sandbox`. A push
/// the tool refused counts as a failure; "already there" does not.
pub fn tool(
    inner: Arc<dyn ToolClient>,
    tool: Tool,
    sandbox: bool,
    stats: &Arc<ProviderStats>,
) -> Arc<dyn ToolClient> {
    let label = format!(
        "{}:{}",
        tool.as_str(),
        if sandbox { "sandbox" } else { "api" }
    );
    Arc::new(Timed::new(inner, label, stats))
}

#[async_trait]
impl Registrar for Timed<dyn Registrar> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn check(&self, names: &[String]) -> Result<Vec<Availability>, RegistrarError> {
        self.stats.time(&self.label, self.inner.check(names)).await
    }
    async fn register(&self, request: &RegisterRequest) -> Result<Registration, RegistrarError> {
        self.stats
            .time(&self.label, self.inner.register(request))
            .await
    }
    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError> {
        self.stats
            .time(&self.label, self.inner.set_nameservers(name, nameservers))
            .await
    }
    async fn renew(&self, name: &str, years: u32) -> Result<Renewal, RegistrarError> {
        self.stats
            .time(&self.label, self.inner.renew(name, years))
            .await
    }
    async fn info(&self, name: &str) -> Result<Option<DomainInfo>, RegistrarError> {
        self.stats.time(&self.label, self.inner.info(name)).await
    }
    async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError> {
        self.stats.time(&self.label, self.inner.list()).await
    }
}

#[async_trait]
impl Payments for Timed<dyn Payments> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn create_customer(
        &self,
        customer: &NewCustomer,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError> {
        self.stats
            .time(
                &self.label,
                self.inner.create_customer(customer, idempotency_key),
            )
            .await
    }
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.create_checkout(request))
            .await
    }
    async fn create_portal(&self, request: &PortalRequest) -> Result<String, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.create_portal(request))
            .await
    }
    async fn update_subscription(
        &self,
        subscription_id: &str,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> Result<(), PaymentsError> {
        self.stats
            .time(
                &self.label,
                self.inner
                    .update_subscription(subscription_id, change, idempotency_key),
            )
            .await
    }
    async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.refund(request))
            .await
    }
    async fn charge_saved_card(&self, charge: &SavedCardCharge) -> Result<String, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.charge_saved_card(charge))
            .await
    }
    async fn invoice_payment(&self, invoice_id: &str) -> Result<Option<String>, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.invoice_payment(invoice_id))
            .await
    }
    async fn list_cards(&self, customer_id: &str) -> Result<Vec<SavedCard>, PaymentsError> {
        self.stats
            .time(&self.label, self.inner.list_cards(customer_id))
            .await
    }
    async fn set_default_card(
        &self,
        customer_id: &str,
        card_id: &str,
    ) -> Result<(), PaymentsError> {
        self.stats
            .time(
                &self.label,
                self.inner.set_default_card(customer_id, card_id),
            )
            .await
    }
    async fn remove_card(&self, customer_id: &str, card_id: &str) -> Result<(), PaymentsError> {
        self.stats
            .time(&self.label, self.inner.remove_card(customer_id, card_id))
            .await
    }
    async fn report_usage(&self, event: &MeterEvent) -> Result<(), PaymentsError> {
        self.stats
            .time(&self.label, self.inner.report_usage(event))
            .await
    }
}

#[async_trait]
impl DnsProvider for Timed<dyn DnsProvider> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn create_zone(&self, name: &str) -> Result<Zone, DnsError> {
        self.stats
            .time(&self.label, self.inner.create_zone(name))
            .await
    }
    async fn find_zone(&self, name: &str) -> Result<Option<Zone>, DnsError> {
        self.stats
            .time(&self.label, self.inner.find_zone(name))
            .await
    }
    async fn list_records(&self, zone_id: &str) -> Result<Vec<DnsRecord>, DnsError> {
        self.stats
            .time(&self.label, self.inner.list_records(zone_id))
            .await
    }
    async fn upsert_record(
        &self,
        zone_id: &str,
        record: &DnsRecord,
    ) -> Result<DnsRecord, DnsError> {
        self.stats
            .time(&self.label, self.inner.upsert_record(zone_id, record))
            .await
    }
    async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<(), DnsError> {
        self.stats
            .time(&self.label, self.inner.delete_record(zone_id, record_id))
            .await
    }
}

#[async_trait]
impl Relay for Timed<dyn Relay> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn publish(&self, data: &TenantRelayData) -> Result<(), RelayError> {
        self.stats.time(&self.label, self.inner.publish(data)).await
    }
    async fn remove_tenant(&self, tenant: TenantId) -> Result<(), RelayError> {
        self.stats
            .time(&self.label, self.inner.remove_tenant(tenant))
            .await
    }
    async fn suspend_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
        until: DateTime<Utc>,
    ) -> Result<RelayActionId, RelayError> {
        self.stats
            .time(
                &self.label,
                self.inner.suspend_tenant(tenant, reason, until),
            )
            .await
    }
    async fn resume_tenant(&self, suspension: &RelayActionId) -> Result<(), RelayError> {
        self.stats
            .time(&self.label, self.inner.resume_tenant(suspension))
            .await
    }
    async fn bounce_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
    ) -> Result<RelayActionId, RelayError> {
        self.stats
            .time(&self.label, self.inner.bounce_tenant(tenant, reason))
            .await
    }
}

#[async_trait]
impl Mailer for Timed<dyn Mailer> {
    async fn deliver(&self, msg: &OutgoingMail, parts: &MailParts) -> Result<(), MailError> {
        self.stats
            .time(&self.label, self.inner.deliver(msg, parts))
            .await
    }
    fn transport(&self) -> MailTransport {
        self.inner.transport()
    }
    fn sender(&self) -> String {
        self.inner.sender()
    }
}

#[async_trait]
impl MailStore for Timed<dyn MailStore> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn settle(&self) -> std::time::Duration {
        self.inner.settle()
    }
    /// One call however many logins; it failed when the store could not be asked for any of
    /// them (a refused login is an answer).
    async fn check_logins(&self, logins: &[Login]) -> Vec<LoginCheck> {
        self.stats
            .observe(&self.label, self.inner.check_logins(logins), |checks| {
                !checks
                    .iter()
                    .any(|c| matches!(c, LoginCheck::Unavailable(_)))
            })
            .await
    }
    async fn inbox_messages(&self, login: &Login) -> Result<u32, MailStoreError> {
        self.stats
            .time(&self.label, self.inner.inbox_messages(login))
            .await
    }
}

#[async_trait]
impl ToolClient for Timed<dyn ToolClient> {
    async fn add(&self, key: &str, account: &Account) -> Pushed {
        self.stats
            .observe(&self.label, self.inner.add(key, account), |p| {
                !matches!(p, Pushed::Refused(_))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registrar that is slow to say no.
    struct Failing;

    #[async_trait]
    impl Registrar for Failing {
        fn name(&self) -> &'static str {
            "failing"
        }
        async fn check(&self, _: &[String]) -> Result<Vec<Availability>, RegistrarError> {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Err(RegistrarError::Unavailable(anyhow::anyhow!("down")))
        }
        async fn register(&self, _: &RegisterRequest) -> Result<Registration, RegistrarError> {
            Err(RegistrarError::Unavailable(anyhow::anyhow!("down")))
        }
        async fn set_nameservers(&self, _: &str, _: &[String]) -> Result<(), RegistrarError> {
            Ok(())
        }
        async fn renew(&self, _: &str, _: u32) -> Result<Renewal, RegistrarError> {
            Err(RegistrarError::Unavailable(anyhow::anyhow!("down")))
        }
        async fn info(&self, _: &str) -> Result<Option<DomainInfo>, RegistrarError> {
            Ok(None)
        }
        async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError> {
            Ok(vec![])
        }
    }

    #[tokio::test]
    async fn a_wrapped_provider_keeps_its_name_and_answers_and_each_call_is_counted() {
        let stats = Arc::new(ProviderStats::new());
        let registrar = registrar(Arc::new(Failing), &stats);
        assert_eq!(registrar.name(), "failing");
        // Listed before any call.
        assert_eq!(stats.snapshot().providers[0].calls, 0);
        assert!(matches!(
            registrar.check(&["a.com".into()]).await,
            Err(RegistrarError::Unavailable(_))
        ));
        assert_eq!(registrar.info("a.com").await.unwrap(), None);
        registrar.set_nameservers("a.com", &[]).await.unwrap();
        let view = stats.snapshot();
        let p = &view.providers[0];
        assert_eq!(p.provider, "registrar:failing");
        assert_eq!((p.calls, p.errors), (3, 1));
        assert!(p.max_ms.unwrap() >= 20.0, "{p:?}");
        assert!(p.last_error.is_some());
    }
}
