//! Domain registrar: one trait, the real Namecheap XML client and a stateful sandbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Cents;

pub mod cache;
pub mod namecheap;
pub mod sandbox;

/// Availability and price of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// ASCII (punycode) form, lower case.
    pub name: String,
    pub available: bool,
    pub premium: bool,
    /// What the registrar charges us for one year, when it says.
    pub cost_cents: Option<Cents>,
    pub currency: String,
}

/// Who the domain is registered to: a setting (`[registrar.contact]`), owned by `config`.
pub use crate::server::config::providers::Contact;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    pub name: String,
    pub years: u32,
    pub contact: Contact,
    /// Nameservers to set at registration (empty: the registrar's defaults).
    pub nameservers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub name: String,
    /// The registrar's id for the domain / order.
    pub registrar_id: String,
    pub charged_cents: Option<Cents>,
}

/// A renewal the registrar carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewal {
    pub name: String,
    /// The new expiry, when the registrar says.
    pub expires: Option<DateTime<Utc>>,
    pub charged_cents: Option<Cents>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    pub name: String,
    pub expires: Option<DateTime<Utc>>,
    pub nameservers: Vec<String>,
    /// True when it is in our registrar account (so a retry must not register it again).
    pub ours: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// The name cannot be registered (taken, premium refused, invalid TLD): never retry.
    #[error("{message}")]
    Refused {
        code: Option<String>,
        message: String,
    },
    /// Namecheap signals rate limiting with HTTP 405; wait and retry.
    #[error("the registrar is rate limiting us")]
    RateLimited { retry_after_secs: Option<u64> },
    /// Network, 5xx, timeouts: retry with backoff.
    #[error("the registrar is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[async_trait]
pub trait Registrar: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Up to 50 names per call (Namecheap's limit); results in the same order.
    async fn check(&self, names: &[String]) -> Result<Vec<Availability>, RegistrarError>;
    async fn register(&self, request: &RegisterRequest) -> Result<Registration, RegistrarError>;
    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError>;
    /// Extends a registration in our account by `years`. Not idempotent at the registrar:
    /// callers that may have renewed already ask [`info`](Self::info) first.
    async fn renew(&self, name: &str, years: u32) -> Result<Renewal, RegistrarError>;
    /// `None` when the domain is not in our account.
    async fn info(&self, name: &str) -> Result<Option<DomainInfo>, RegistrarError>;
    async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError>;
}
