//! The tenant guard. A `TenantCtx` can only be made here, from a live session and a real
//! membership, and every tenant-owned query takes one.

use crate::domain::{Role, TenantId, UserId};
use crate::error::{AppError, internal};
use crate::server::auth::TypedSession;
use crate::server::auth::session::SessionAuth;
use crate::server::auth::tx::{HasPool, tenant_tx};
use anyhow::Context;

#[derive(Clone, Copy, Debug)]
pub struct TenantCtx {
    tenant_id: TenantId,
    user_id: UserId,
    role: Role,
    email_verified: bool,
}

impl TenantCtx {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    /// The user opened the link mailed to their address.
    pub fn email_verified(&self) -> bool {
        self.email_verified
    }

    /// Buying or connecting a domain and creating inboxes call this first: an address nobody
    /// confirmed owning can look around, not send mail.
    pub fn require_verified(&self) -> Result<(), AppError> {
        if self.email_verified {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Confirm your email address first: open the link we sent you, or send it \
                 again from the dashboard."
                    .into(),
            ))
        }
    }

    /// A transaction that sees this tenant's rows only (row-level security), for the tenant's
    /// own reads and writes; commit it at the end. Cross-tenant work (staff, webhooks, jobs,
    /// "is this name taken anywhere") uses `state.pool`, the explicit system path.
    /// `db` is the app's pool, or anything that holds it (`AppState`).
    pub async fn begin(
        &self,
        db: &(impl HasPool + ?Sized),
    ) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        tenant_tx(db.pool(), self.tenant_id)
            .await
            .context("starting the tenant's transaction")
    }

    /// Owner/admin-only actions call this first.
    pub fn require_manager(&self) -> Result<(), AppError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Only owners and admins can do this.".into(),
            ))
        }
    }
}

/// What the door learned about a signed-in customer's request, in one query: the member's
/// tenant context and the tenant's open suspension (its category), if any. Made once per
/// request (`http::middleware::kill_switch`), kept in the request's extensions, and reused by
/// [`require_tenant`] so a page's server functions do not ask again.
#[derive(Clone, Debug)]
pub struct Admission {
    ctx: TenantCtx,
    suspension: Option<String>,
    needs_2fa: bool,
    read_only: bool,
}

impl Admission {
    pub fn ctx(&self) -> TenantCtx {
        self.ctx
    }
    /// The workspace requires two-factor sign-in and this member has not set it up.
    pub fn needs_2fa(&self) -> bool {
        self.needs_2fa
    }
    /// The category of the tenant's oldest open suspension.
    pub fn suspension(&self) -> Option<&str> {
        self.suspension.as_deref()
    }
    /// Staff viewing the tenant as its owner: nothing may change.
    pub fn read_only(&self) -> bool {
        self.read_only
    }
    #[cfg(test)]
    pub(crate) fn for_tests(
        tenant_id: TenantId,
        user_id: UserId,
        role: Role,
        suspension: Option<String>,
    ) -> Self {
        Self {
            ctx: TenantCtx {
                tenant_id,
                user_id,
                role,
                email_verified: true,
            },
            suspension,
            needs_2fa: false,
            read_only: false,
        }
    }
}

/// Staff viewing `tenant` as its owner would: a tenant context with the owner's role, marked
/// read-only for the door. `None` unless the session's user is staff and the session lives.
async fn admit_viewer(
    db: &(impl HasPool + ?Sized),
    auth: SessionAuth,
    tenant: uuid::Uuid,
) -> anyhow::Result<Option<Admission>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT (SELECT s.category FROM suspensions s
                  WHERE s.tenant_id = t.id AND s.lifted_at IS NULL
                  ORDER BY s.created_at LIMIT 1)
           FROM users u
           JOIN user_sessions us ON us.id = $3 AND us.user_id = u.id
           JOIN tenants t ON t.id = $2
          WHERE u.id = $1 AND u.is_staff AND t.status <> 'closed'",
    )
    .bind(auth.user_id)
    .bind(tenant)
    .bind(auth.sid)
    .fetch_optional(db.pool())
    .await
    .context("admitting a staff viewer")?;
    Ok(row.map(|(suspension,)| Admission {
        ctx: TenantCtx {
            tenant_id: TenantId(tenant),
            user_id: UserId(auth.user_id),
            role: Role::Owner,
            email_verified: true,
        },
        suspension,
        needs_2fa: false,
        read_only: true,
    }))
}

/// Admits the session's member of its tenant: `None` without a tenant in the session (staff),
/// without a membership (removed, tenant deleted) or once the session was ended elsewhere (its
/// `user_sessions` row is gone). One query, which also says whether the address is verified
/// and whether the tenant is suspended. Extends the session's sliding expiry, and its "last
/// seen" every few minutes (off the request's path).
///
/// `may_cache`: the answer may come from the process's [`AuthCache`](super::cache::AuthCache),
/// which learns of a change (suspension, removal, sign-out elsewhere) a few milliseconds after
/// its commit. Only reads (GET/HEAD pages) take that: a request that may change something
/// always asks the database, so no write slips through the moment after a kill switch.
pub async fn admit(
    db: &(impl HasPool + ?Sized),
    session: &TypedSession,
    auth: SessionAuth,
    may_cache: bool,
) -> anyhow::Result<Option<Admission>> {
    let Some(tenant) = auth.tenant_id else {
        return match auth.view_as {
            Some(viewed) => admit_viewer(db, auth, viewed).await,
            None => Ok(None),
        };
    };
    let key = (auth.user_id, tenant, auth.sid);
    let cache = db.auth_cache().filter(|_| may_cache);
    if let Some(admission) = cache.and_then(|c| c.admission(&key)) {
        session.keep_alive(auth).await?;
        return Ok(Some(admission));
    }
    let read_at = cache.and_then(|c| c.generation());
    let row: Option<(String, bool, bool, Option<String>, bool)> = sqlx::query_as(
        "SELECT m.role, u.email_verified_at IS NOT NULL,
                us.last_seen_at < now() - interval '5 minutes',
                (SELECT s.category FROM suspensions s
                  WHERE s.tenant_id = m.tenant_id AND s.lifted_at IS NULL
                  ORDER BY s.created_at LIMIT 1),
                t.require_2fa AND NOT EXISTS (SELECT 1 FROM user_totp ut
                                               WHERE ut.user_id = m.user_id
                                                 AND ut.confirmed_at IS NOT NULL)
           FROM memberships m
           JOIN users u ON u.id = m.user_id
           JOIN tenants t ON t.id = m.tenant_id
           JOIN user_sessions us ON us.id = $3 AND us.user_id = m.user_id
          WHERE m.user_id = $1 AND m.tenant_id = $2 AND t.status <> 'closed'",
    )
    .bind(auth.user_id)
    .bind(tenant)
    .bind(auth.sid)
    .fetch_optional(db.pool())
    .await
    .context("admitting the member")?;
    let Some((role, email_verified, stale, suspension, needs_2fa)) = row else {
        return Ok(None);
    };
    session.keep_alive(auth).await?;
    if stale {
        let (pool, sid) = (db.pool().clone(), auth.sid);
        tokio::spawn(async move {
            let touched =
                sqlx::query("UPDATE user_sessions SET last_seen_at = now() WHERE id = $1")
                    .bind(sid)
                    .execute(&pool)
                    .await;
            if let Err(e) = touched {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "updating a session's last seen failed"
                );
            }
        });
    }
    let admission = Admission {
        ctx: TenantCtx {
            tenant_id: TenantId(tenant),
            user_id: UserId(auth.user_id),
            role: Role::parse(&role).map_err(anyhow::Error::msg)?,
            email_verified,
        },
        suspension,
        needs_2fa,
        read_only: false,
    };
    if let (Some(cache), Some(read_at)) = (cache, read_at) {
        cache.keep_admission(read_at, key, admission.clone());
    }
    Ok(Some(admission))
}

/// The context of the member with address `email` in their first workspace, for a system task
/// acting as that person (the demo seed under `make run`). Never reached from a request.
pub async fn member_by_email(
    db: &(impl HasPool + ?Sized),
    email: &str,
) -> anyhow::Result<Option<TenantCtx>> {
    let row: Option<(uuid::Uuid, uuid::Uuid, String, bool)> = sqlx::query_as(
        "SELECT m.tenant_id, u.id, m.role, u.email_verified_at IS NOT NULL
           FROM users u JOIN memberships m ON m.user_id = u.id
           JOIN tenants t ON t.id = m.tenant_id AND t.status <> 'closed'
          WHERE u.email = $1 ORDER BY m.created_at LIMIT 1",
    )
    .bind(email)
    .fetch_optional(db.pool())
    .await
    .context("finding the member")?;
    row.map(|(tenant, user, role, email_verified)| {
        Ok(TenantCtx {
            tenant_id: TenantId(tenant),
            user_id: UserId(user),
            role: Role::parse(&role).map_err(anyhow::Error::msg)?,
            email_verified,
        })
    })
    .transpose()
}

/// What the API's door learned about a request's key: the tenant context it acts in (its
/// creator's current role there), its scopes and the tenant's open suspension.
#[derive(Clone, Debug)]
pub struct KeyAdmission {
    ctx: TenantCtx,
    pub key_id: uuid::Uuid,
    pub prefix: String,
    pub scopes: Vec<crate::domain::api::Scope>,
    pub suspension: Option<String>,
    /// The key's last use was recorded over a minute ago (record it again, off the path).
    pub stale: bool,
}

impl KeyAdmission {
    /// The tenant context, for a request that needs `scope` and whose action needs `need`:
    /// refused (403) when the key lacks the scope or its creator's role lacks the need.
    pub fn allow(
        &self,
        scope: crate::domain::api::Scope,
        need: crate::permissions::Need,
    ) -> Result<TenantCtx, AppError> {
        if !self.scopes.contains(&scope) {
            return Err(AppError::Forbidden(format!(
                "This API key lacks the “{}” scope.",
                scope.as_str()
            )));
        }
        if !need.allows(self.ctx.role) {
            return Err(AppError::Forbidden(format!(
                "{} The key's creator is now a {}.",
                need.refusal(),
                self.ctx.role.as_str()
            )));
        }
        Ok(self.ctx)
    }

    pub fn tenant_id(&self) -> TenantId {
        self.ctx.tenant_id
    }
    pub fn user_id(&self) -> UserId {
        self.ctx.user_id
    }
}

/// The SHA-256 of an API key: all that is stored of it (the key carries 256 random bits).
pub fn key_hash(token: &str) -> [u8; 32] {
    crate::server::crypto::token_hash(token)
}

/// The visible prefix of a key `igk_xxxxxxxx_secret` (`igk_xxxxxxxx`), if it has that shape.
pub fn key_prefix(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("igk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 8 && id.bytes().all(|b| b.is_ascii_alphanumeric()) && secret.len() >= 32)
        .then(|| &token[..12])
}

/// Admits an API key: `None` for a key that does not exist, was revoked or expired, whose
/// creator is no longer a member of its workspace, or whose workspace is closed. One query;
/// the hash is compared in constant time.
pub async fn admit_key(
    db: &(impl HasPool + ?Sized),
    token: &str,
) -> anyhow::Result<Option<KeyAdmission>> {
    use subtle::ConstantTimeEq;
    let Some(prefix) = key_prefix(token) else {
        return Ok(None);
    };
    #[allow(clippy::type_complexity)]
    let row: Option<(
        uuid::Uuid,
        Vec<u8>,
        Vec<String>,
        uuid::Uuid,
        uuid::Uuid,
        String,
        bool,
        Option<String>,
        bool,
    )> = sqlx::query_as(
        "SELECT k.id, k.secret_hash, k.scopes, k.tenant_id, k.created_by, m.role,
                u.email_verified_at IS NOT NULL,
                (SELECT s.category FROM suspensions s
                  WHERE s.tenant_id = k.tenant_id AND s.lifted_at IS NULL
                  ORDER BY s.created_at LIMIT 1),
                k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'
           FROM api_keys k
           JOIN memberships m ON m.user_id = k.created_by AND m.tenant_id = k.tenant_id
           JOIN users u ON u.id = k.created_by
           JOIN tenants t ON t.id = k.tenant_id
          WHERE k.prefix = $1 AND k.revoked_at IS NULL
            AND (k.expires_at IS NULL OR k.expires_at > now()) AND t.status <> 'closed'",
    )
    .bind(prefix)
    .fetch_optional(db.pool())
    .await
    .context("admitting an API key")?;
    let Some((key_id, hash, scopes, tenant, user, role, verified, suspension, stale)) = row else {
        return Ok(None);
    };
    if !bool::from(hash.as_slice().ct_eq(&key_hash(token))) {
        return Ok(None);
    }
    Ok(Some(KeyAdmission {
        ctx: TenantCtx {
            tenant_id: TenantId(tenant),
            user_id: UserId(user),
            role: Role::parse(&role).map_err(anyhow::Error::msg)?,
            email_verified: verified,
        },
        key_id,
        prefix: prefix.to_string(),
        scopes: scopes
            .iter()
            .filter_map(|s| crate::domain::api::Scope::parse(s))
            .collect(),
        suspension,
        stale,
    }))
}

/// The signed-in user's tenant context, or `Unauthorized`. `db` is the app's pool (the system
/// path), or anything that holds it (`AppState`). `admitted`: the door's admission of this
/// request, reused when it admitted the session's current user and tenant (without one, or
/// for a session changed since, the membership is asked for again).
pub async fn require_tenant(
    db: &(impl HasPool + ?Sized),
    session: &TypedSession,
    admitted: Option<&Admission>,
) -> Result<TenantCtx, AppError> {
    let auth = session
        .auth()
        .await
        .map_err(internal)?
        .ok_or(AppError::Unauthorized)?;
    match admitted {
        Some(a)
            if a.ctx.user_id.0 == auth.user_id
                && auth.tenant_id.or(auth.view_as) == Some(a.ctx.tenant_id.0) =>
        {
            Ok(a.ctx)
        }
        _ => tenant_of(db, session, auth).await,
    }
}

async fn tenant_of(
    db: &(impl HasPool + ?Sized),
    session: &TypedSession,
    auth: SessionAuth,
) -> Result<TenantCtx, AppError> {
    if auth.tenant_id.is_none() && auth.view_as.is_none() {
        return Err(AppError::Forbidden(
            "This staff account has no customer workspace.".into(),
        ));
    }
    // Reached without the door's admission: ask the database.
    admit(db, session, auth, false)
        .await
        .map_err(internal)?
        .map(|a| a.ctx)
        // The membership or the session is gone: the session is no longer valid.
        .ok_or(AppError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ctx(role: Role) -> TenantCtx {
        TenantCtx {
            tenant_id: TenantId(Uuid::new_v4()),
            user_id: UserId(Uuid::new_v4()),
            role,
            email_verified: false,
        }
    }

    #[test]
    fn a_key_prefix_is_read_only_from_a_well_formed_key() {
        let key = format!("igk_ab12cd34_{}", "x".repeat(43));
        assert_eq!(key_prefix(&key), Some("igk_ab12cd34"));
        assert_eq!(key_prefix("igk_ab12cd34_short"), None);
        assert_eq!(
            key_prefix(&format!("igk_ab12cd3!_{}", "x".repeat(43))),
            None
        );
        assert_eq!(key_prefix(&format!("sk_ab12cd34_{}", "x".repeat(43))), None);
        assert_eq!(key_prefix("igk_é"), None);
    }

    #[test]
    fn owners_and_admins_pass_the_manager_check() {
        assert!(ctx(Role::Owner).require_manager().is_ok());
        assert!(ctx(Role::Admin).require_manager().is_ok());
    }

    #[test]
    fn a_member_is_forbidden_from_manager_actions_with_a_403() {
        let err = ctx(Role::Member).require_manager().unwrap_err();
        assert_eq!(err.status_code(), 403);
        assert_eq!(err.to_string(), "Only owners and admins can do this.");
    }
}
