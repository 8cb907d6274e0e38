//! DNS hosting: one trait, the real Cloudflare v4 client and a stateful sandbox.

use async_trait::async_trait;

pub mod cloudflare;
pub mod sandbox;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    /// The apex, lower case ASCII.
    pub name: String,
    /// The nameservers the registrar must point at.
    pub nameservers: Vec<String>,
    /// "pending" until the nameservers are seen, then "active".
    pub status: String,
}

/// The record types live with the DNS checker (below the providers); re-exported here.
pub use crate::server::dns::records::{DnsRecord, RecordType};

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("{message}")]
    Refused { code: Option<i64>, message: String },
    #[error("the DNS provider is rate limiting us")]
    RateLimited { retry_after_secs: Option<u64> },
    #[error("the DNS provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[async_trait]
pub trait DnsProvider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Creates the zone, or returns the existing one of that name (idempotent).
    async fn create_zone(&self, name: &str) -> Result<Zone, DnsError>;
    async fn find_zone(&self, name: &str) -> Result<Option<Zone>, DnsError>;
    async fn list_records(&self, zone_id: &str) -> Result<Vec<DnsRecord>, DnsError>;
    /// Creates the record, or updates the one with the same type and name (for MX also the
    /// same priority; for TXT the same leading tag, e.g. `v=spf1`). Returns it with its id.
    async fn upsert_record(&self, zone_id: &str, record: &DnsRecord)
    -> Result<DnsRecord, DnsError>;
    async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<(), DnsError>;
}
