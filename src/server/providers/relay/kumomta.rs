//! The real relay: the policy files KumoMTA reads, then its admin HTTP API
//! (`bump-config-epoch`, tenant-scoped `suspend/v1` and `bounce/v1`). InboxGrove must be one
//! of kumod's `trusted_hosts` (see `deploy/kumomta/README.md`).

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

use super::files::PolicyWriter;
use super::{Relay, RelayActionId, RelayError, TenantRelayData};
use crate::domain::TenantId;

pub struct KumoRelay {
    files: PolicyWriter,
    http: reqwest::Client,
    /// e.g. `http://127.0.0.1:8000`, no trailing slash.
    api: String,
}

#[derive(Deserialize)]
struct IdResponse {
    id: String,
}

impl KumoRelay {
    pub fn new(files: PolicyWriter, api_url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent("InboxGrove")
            .build()
            .context("building the KumoMTA HTTP client")?;
        Ok(Self {
            files,
            http,
            api: api_url.trim_end_matches('/').to_string(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<String, RelayError> {
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let body = response.text().await.map_err(unavailable)?;
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(RelayError::Unavailable(format!("{status}: {body}")))
        } else {
            Err(RelayError::Refused {
                status: status.as_u16(),
                body,
            })
        }
    }

    async fn bump(&self) -> Result<(), RelayError> {
        self.send(
            self.http
                .post(format!("{}/api/admin/bump-config-epoch", self.api)),
        )
        .await
        .map(drop)
    }

    fn id_of(body: &str) -> Result<RelayActionId, RelayError> {
        serde_json::from_str::<IdResponse>(body)
            .map(|r| RelayActionId(r.id))
            .map_err(|e| {
                RelayError::Unexpected(anyhow::anyhow!(
                    "KumoMTA answered without an id ({e}): {body}"
                ))
            })
    }
}

/// A transport failure, saying so when it was the request timeout (a hanging KumoMTA).
fn unavailable(e: reqwest::Error) -> RelayError {
    if e.is_timeout() {
        RelayError::Unavailable(format!("timed out waiting for KumoMTA: {e}"))
    } else {
        RelayError::Unavailable(e.to_string())
    }
}

#[async_trait]
impl Relay for KumoRelay {
    fn name(&self) -> &'static str {
        "kumomta"
    }

    async fn publish(&self, data: &TenantRelayData) -> Result<(), RelayError> {
        self.files.write_tenant(data).await?;
        self.bump().await
    }

    async fn remove_tenant(&self, tenant: TenantId) -> Result<(), RelayError> {
        self.files.remove_tenant(tenant).await?;
        self.bump().await
    }

    async fn suspend_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
        until: DateTime<Utc>,
    ) -> Result<RelayActionId, RelayError> {
        let body = serde_json::json!({
            "tenant": tenant.0.to_string(),
            "reason": reason,
            "expires": until.to_rfc3339(),
        });
        let answer = self
            .send(
                self.http
                    .post(format!("{}/api/admin/suspend/v1", self.api))
                    .json(&body),
            )
            .await?;
        Self::id_of(&answer)
    }

    async fn resume_tenant(&self, suspension: &RelayActionId) -> Result<(), RelayError> {
        let result = self
            .send(
                self.http
                    .delete(format!("{}/api/admin/suspend/v1", self.api))
                    .json(&serde_json::json!({ "id": suspension.0 })),
            )
            .await;
        match result {
            // 404: it expired (or kumod restarted); either way nothing is held any more.
            Ok(_) | Err(RelayError::Refused { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn bounce_tenant(
        &self,
        tenant: TenantId,
        reason: &str,
    ) -> Result<RelayActionId, RelayError> {
        let body = serde_json::json!({
            "tenant": tenant.0.to_string(),
            "reason": reason,
        });
        let answer = self
            .send(
                self.http
                    .post(format!("{}/api/admin/bounce/v1", self.api))
                    .json(&body),
            )
            .await?;
        Self::id_of(&answer)
    }
}
