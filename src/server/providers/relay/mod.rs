//! The SMTP relay (KumoMTA): one trait, the real client and a stateful sandbox.
//!
//! KumoMTA has no HTTP API for users, domains or DKIM keys: it reads policy data files. So
//! both implementations write the same files ([`files::PolicyWriter`], temp file + rename,
//! one directory per tenant); the real one then asks kumod to reload
//! (`POST /api/admin/bump-config-epoch`) and drives the tenant-scoped suspend / bounce API.
//! The sandbox records those calls instead of making them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::domain::TenantId;

pub mod files;
pub mod kumomta;
pub mod sandbox;

/// Everything the relay needs about one tenant, rendered from the database in one read.
#[derive(Clone, Debug)]
pub struct TenantRelayData {
    pub tenant: TenantId,
    /// False while the tenant is suspended: the published auth data refuses its logins.
    pub active: bool,
    pub domains: Vec<RelayDomain>,
    pub users: Vec<RelayUser>,
}

#[derive(Clone)]
pub struct RelayDomain {
    /// Lower-case ASCII.
    pub name: String,
    pub selector: String,
    /// PKCS#8 PEM; written to the key file the DKIM data names.
    pub private_key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for RelayDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayDomain")
            .field("name", &self.name)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

/// One mailbox login (SMTP at the relay, IMAP at the mail store): the address and a salted
/// hash of its password, and what it may send today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayUser {
    /// Lower-case mailbox address; also the SMTP and IMAP username.
    pub address: String,
    pub inbox_id: uuid::Uuid,
    pub active: bool,
    /// `salt` is 32 hex characters, used as they are (their ASCII bytes);
    /// `sha256 = hex(SHA-256(password || salt))`, which KumoMTA's Lua checks and Dovecot
    /// reads as `{SSHA256.HEX}` (see [`files::dovecot_password`]).
    pub salt: String,
    pub sha256: String,
    /// Messages it may send today: the warm-up stage or its daily cap, whichever is lower.
    pub daily_allowance: i32,
    /// Day of warm-up (1 = the first day, also for an inbox whose warm-up starts when it is live).
    pub warmup_day: i32,
}

impl RelayUser {
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Not reachable, timed out or 5xx: try again later.
    #[error("the relay is unavailable: {0}")]
    Unavailable(String),
    /// It answered and said no.
    #[error("the relay refused the request ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(RelayError);

/// What a tenant-scoped suspension or bounce at the relay is known by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayActionId(pub String);

#[async_trait]
pub trait Relay: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Writes the tenant's data atomically and makes the relay load it (one reload per call).
    async fn publish(&self, data: &TenantRelayData) -> Result<(), RelayError>;

    /// Takes every file of the tenant away, then reloads.
    async fn remove_tenant(&self, tenant: TenantId) -> Result<(), RelayError>;

    /// Holds the tenant's queues until `until` (or resume).
    async fn suspend_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
        until: DateTime<Utc>,
    ) -> Result<RelayActionId, RelayError>;

    async fn resume_tenant(&self, suspension: &RelayActionId) -> Result<(), RelayError>;

    /// Bounces (irreversibly) what the tenant has queued. Always scoped to the tenant: an
    /// unscoped bounce would empty every queue on the relay.
    async fn bounce_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
    ) -> Result<RelayActionId, RelayError>;
}
