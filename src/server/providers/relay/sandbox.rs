//! The sandbox relay: writes exactly the files the real one writes (into a local directory),
//! and keeps the reloads, suspensions and bounces it would have asked KumoMTA for, so the
//! product and its tests see the same behaviour offline. A tenant with a domain whose name
//! contains `relay-down` cannot be published (the relay is "unreachable"), to show and test
//! the `pending_relay` path.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Mutex;

use super::files::PolicyWriter;
use super::{Relay, RelayActionId, RelayError, TenantRelayData};
use crate::domain::TenantId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxSuspension {
    pub id: String,
    pub tenant: TenantId,
    pub reason: String,
    pub until: DateTime<Utc>,
}

#[derive(Default, Debug)]
struct Recorded {
    reloads: u64,
    suspensions: Vec<SandboxSuspension>,
    bounces: Vec<(String, TenantId, String)>,
}

pub struct SandboxRelay {
    files: PolicyWriter,
    recorded: Mutex<Recorded>,
}

impl SandboxRelay {
    pub fn new(files: PolicyWriter) -> Self {
        Self {
            files,
            recorded: Mutex::new(Recorded::default()),
        }
    }

    pub fn files(&self) -> &PolicyWriter {
        &self.files
    }

    /// How many reloads it would have asked KumoMTA for.
    pub fn reloads(&self) -> u64 {
        self.lock().reloads
    }

    /// The suspensions in force.
    pub fn suspensions(&self) -> Vec<SandboxSuspension> {
        let now = Utc::now();
        self.lock()
            .suspensions
            .iter()
            .filter(|s| s.until > now)
            .cloned()
            .collect()
    }

    pub fn bounces(&self) -> Vec<(String, TenantId, String)> {
        self.lock().bounces.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Relay for SandboxRelay {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn publish(&self, data: &TenantRelayData) -> Result<(), RelayError> {
        if let Some(d) = data.domains.iter().find(|d| d.name.contains("relay-down")) {
            return Err(RelayError::Unavailable(format!(
                "sandbox: the relay is unreachable for {}",
                d.name
            )));
        }
        self.files.write_tenant(data).await?;
        self.lock().reloads += 1;
        Ok(())
    }

    async fn remove_tenant(&self, tenant: TenantId) -> Result<(), RelayError> {
        self.files.remove_tenant(tenant).await?;
        self.lock().reloads += 1;
        Ok(())
    }

    async fn suspend_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
        until: DateTime<Utc>,
    ) -> Result<RelayActionId, RelayError> {
        let mut r = self.lock();
        // Like kumod: the same criteria replace the earlier entry.
        r.suspensions.retain(|s| s.tenant != tenant);
        let id = uuid::Uuid::new_v4().to_string();
        r.suspensions.push(SandboxSuspension {
            id: id.clone(),
            tenant,
            reason: reason.into(),
            until,
        });
        Ok(RelayActionId(id))
    }

    async fn resume_tenant(&self, suspension: &RelayActionId) -> Result<(), RelayError> {
        self.lock().suspensions.retain(|s| s.id != suspension.0);
        Ok(())
    }

    async fn bounce_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
    ) -> Result<RelayActionId, RelayError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock()
            .bounces
            .push((id.clone(), tenant, reason.to_string()));
        Ok(RelayActionId(id))
    }
}
