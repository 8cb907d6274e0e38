//! The typed session: who is signed in and in which tenant. Stored server-side (Postgres).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{TenantId, UserId};

const AUTH_KEY: &str = "auth";
const SIGNUP_SENT_KEY: &str = "signup_sent";
const PENDING_2FA_KEY: &str = "pending_2fa";
/// How long the password step of a two-factor sign-in waits for its code.
const PENDING_2FA_SECS: i64 = 300;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    /// The tenant the user is working in; `None` for staff without a customer workspace.
    pub tenant_id: Option<Uuid>,
    /// When the session's expiry was last pushed forward (unix seconds).
    #[serde(default)]
    pub refreshed_at: i64,
    /// When the user signed in (unix seconds): the session ends `server.session_max_days`
    /// later however active it is. A session from before this field reads 0: already over.
    #[serde(default)]
    pub signed_in_at: i64,
    /// The browser's row in `user_sessions`: the session lives while that row does. A
    /// session from before the registry reads nil: no row, so it is over.
    #[serde(default)]
    pub sid: Uuid,
    /// Staff viewing a tenant's pages as its owner would see them (read-only).
    #[serde(default)]
    pub view_as: Option<Uuid>,
}

/// A sign-in whose password was right, waiting for the second factor (not signed in yet).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct PendingTwoFactor {
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub at: i64,
}

/// What a visitor's browser remembers about the signup it just sent: the address (for "we
/// sent a link to …") and the key of the message sent, which the sandbox outbox opens for
/// this browser only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignupSent {
    pub email: String,
    pub mail_key: String,
}

impl SessionAuth {
    /// True once the session is older than `max_days` since sign-in.
    pub fn outlived(&self, max_days: i64, now: i64) -> bool {
        now - self.signed_in_at > max_days.saturating_mul(86_400)
    }
}

pub struct TypedSession(pub Session);

impl TypedSession {
    /// Signs in: a new session id (no fixation), then the identity. `sid` is the browser's
    /// row in `user_sessions` (made by `services::accounts::start_session`).
    pub async fn sign_in(
        &self,
        user: UserId,
        tenant: Option<TenantId>,
        sid: Uuid,
    ) -> anyhow::Result<()> {
        let now = chrono::Utc::now().timestamp();
        let auth = SessionAuth {
            user_id: user.0,
            tenant_id: tenant.map(|t| t.0),
            refreshed_at: now,
            signed_in_at: now,
            sid,
            view_as: None,
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

    /// Staff start (`Some`) or stop (`None`) viewing a tenant as its owner.
    pub async fn set_view_as(&self, tenant: Option<Uuid>) -> anyhow::Result<()> {
        let Some(auth) = self.auth().await? else {
            anyhow::bail!("no one is signed in");
        };
        self.0
            .insert(
                AUTH_KEY,
                SessionAuth {
                    view_as: tenant,
                    ..auth
                },
            )
            .await
            .context("storing the view")
    }

    /// Remembers the signup this browser just sent (see [`SignupSent`]).
    pub async fn set_signup_sent(&self, sent: SignupSent) -> anyhow::Result<()> {
        self.0
            .insert(SIGNUP_SENT_KEY, sent)
            .await
            .context("storing the signup")
    }

    pub async fn signup_sent(&self) -> anyhow::Result<Option<SignupSent>> {
        self.0
            .get::<SignupSent>(SIGNUP_SENT_KEY)
            .await
            .context("reading the signup")
    }

    /// Remembers that the password was right; the code comes next (within five minutes).
    pub async fn set_pending_2fa(
        &self,
        user: UserId,
        tenant: Option<TenantId>,
    ) -> anyhow::Result<()> {
        let pending = PendingTwoFactor {
            user_id: user.0,
            tenant_id: tenant.map(|t| t.0),
            at: chrono::Utc::now().timestamp(),
        };
        self.0
            .insert(PENDING_2FA_KEY, pending)
            .await
            .context("storing the pending sign-in")
    }

    /// The sign-in waiting for its code, if it has not timed out.
    pub async fn pending_2fa(&self) -> anyhow::Result<Option<PendingTwoFactor>> {
        let pending = self
            .0
            .get::<PendingTwoFactor>(PENDING_2FA_KEY)
            .await
            .context("reading the pending sign-in")?;
        let now = chrono::Utc::now().timestamp();
        Ok(pending.filter(|p| now - p.at <= PENDING_2FA_SECS))
    }

    /// Forgets the pending sign-in (done, or abandoned).
    pub async fn clear_pending_2fa(&self) -> anyhow::Result<()> {
        self.0
            .remove::<PendingTwoFactor>(PENDING_2FA_KEY)
            .await
            .context("clearing the pending sign-in")
            .map(drop)
    }

    /// Switches the signed-in user to another of their workspaces (the caller checked the
    /// membership; the door checks it again on every request).
    pub async fn switch_tenant(&self, auth: SessionAuth, tenant: TenantId) -> anyhow::Result<()> {
        self.0
            .insert(
                AUTH_KEY,
                SessionAuth {
                    tenant_id: Some(tenant.0),
                    ..auth
                },
            )
            .await
            .context("switching the workspace")
    }

    /// Signs out: the server-side record is deleted and the cookie cleared.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.0.flush().await.context("deleting the session")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(at: i64) -> SessionAuth {
        SessionAuth {
            user_id: Uuid::nil(),
            tenant_id: None,
            refreshed_at: at,
            signed_in_at: at,
            sid: Uuid::nil(),
            view_as: None,
        }
    }

    #[test]
    fn a_session_outlives_its_absolute_lifetime_only_after_the_last_day() {
        let now = 1_800_000_000;
        assert!(!signed_in(now - 30 * 86_400).outlived(30, now));
        assert!(signed_in(now - 30 * 86_400 - 1).outlived(30, now));
    }

    #[test]
    fn a_session_without_a_sign_in_time_is_over() {
        let old: SessionAuth = serde_json::from_str(&format!(
            "{{\"user_id\":\"{}\",\"tenant_id\":null}}",
            Uuid::nil()
        ))
        .unwrap();
        assert!(old.outlived(30, 1_800_000_000));
    }
}
