//! The typed session: who is signed in and in which tenant. Stored server-side (Postgres).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

const AUTH_KEY: &str = "auth";

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    /// The tenant the user is working in; `None` for staff without a customer workspace.
    pub tenant_id: Option<Uuid>,
}

pub struct TypedSession(pub Session);

impl TypedSession {
    /// Signs in: a new session id (no fixation), then the identity.
    pub async fn sign_in(&self, auth: SessionAuth) -> anyhow::Result<()> {
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

    /// Signs out: the server-side record is deleted and the cookie cleared.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.0.flush().await.context("deleting the session")
    }
}
