//! The typed session: who is signed in and in which tenant. Stored server-side (Postgres).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{TenantId, UserId};

const AUTH_KEY: &str = "auth";

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    /// The tenant the user is working in; `None` for staff without a customer workspace.
    pub tenant_id: Option<Uuid>,
    /// When the session's expiry was last pushed forward (unix seconds).
    #[serde(default)]
    pub refreshed_at: i64,
}

pub struct TypedSession(pub Session);

impl TypedSession {
    /// Signs in: a new session id (no fixation), then the identity.
    pub async fn sign_in(&self, user: UserId, tenant: Option<TenantId>) -> anyhow::Result<()> {
        let auth = SessionAuth {
            user_id: user.0,
            tenant_id: tenant.map(|t| t.0),
            refreshed_at: chrono::Utc::now().timestamp(),
        };
        self.0.cycle_id().await.context("rotating the session id")?;
        self.0
            .insert(AUTH_KEY, auth)
            .await
            .context("storing the session")?;
        Ok(())
    }

    pub async fn auth(&self) -> anyhow::Result<Option<SessionAuth>> {
        self.0
            .get::<SessionAuth>(AUTH_KEY)
            .await
            .context("reading the session")
    }

    /// Sliding expiry without a write per request: a session used at least once a day never
    /// expires while in use, yet the store is written at most once a day per session
    /// (re-inserting marks it modified, so the record and cookie get a fresh expiry).
    pub async fn keep_alive(&self, auth: SessionAuth) -> anyhow::Result<()> {
        let now = chrono::Utc::now().timestamp();
        if now - auth.refreshed_at >= 86_400 {
            self.0
                .insert(
                    AUTH_KEY,
                    SessionAuth {
                        refreshed_at: now,
                        ..auth
                    },
                )
                .await
                .context("extending the session")?;
        }
        Ok(())
    }

    /// Signs out: the server-side record is deleted and the cookie cleared.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.0.flush().await.context("deleting the session")
    }
}
