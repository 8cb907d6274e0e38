//! The tenant guard. A `TenantCtx` can only be made here, from a live session and a real
//! membership, and every tenant-owned query takes one.

use anyhow::Context;
use sqlx::PgPool;

use crate::domain::{Role, TenantId, UserId};
use crate::error::{AppError, internal};
use crate::server::auth::TypedSession;
use crate::server::auth::session::SessionAuth;
use crate::server::auth::tx::{HasPool, tenant_tx};

#[derive(Clone, Copy, Debug)]
pub struct TenantCtx {
    tenant_id: TenantId,
    user_id: UserId,
    role: Role,
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

/// The user's role in the tenant, or `None` without a membership. The guard asks on its own
/// (not through `db`), so `auth` sits below everything that takes a `TenantCtx`.
async fn membership_role(
    pool: &PgPool,
    user: UserId,
    tenant: TenantId,
) -> anyhow::Result<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT m.role FROM memberships m WHERE m.user_id = $1 AND m.tenant_id = $2",
    )
    .bind(user.0)
    .bind(tenant.0)
    .fetch_optional(pool)
    .await
    .context("loading membership")?;
    role.map(|r| Role::parse(&r).map_err(anyhow::Error::msg))
        .transpose()
}

/// What the door learned about a signed-in customer's request, in one query: the member's
/// tenant context and the tenant's open suspension (its category), if any. Made once per
/// request (`http::middleware::kill_switch`), kept in the request's extensions, and reused by
/// [`require_tenant`] so a page's server functions do not ask again.
#[derive(Clone, Debug)]
pub struct Admission {
    ctx: TenantCtx,
    suspension: Option<String>,
}

impl Admission {
    pub fn ctx(&self) -> TenantCtx {
        self.ctx
    }
    /// The category of the tenant's oldest open suspension.
    pub fn suspension(&self) -> Option<&str> {
        self.suspension.as_deref()
    }
}

/// Admits the session's member of its tenant: `None` without a tenant in the session (staff)
/// or without a membership (removed, tenant deleted). Extends the session's sliding expiry.
pub async fn admit(
    db: &(impl HasPool + ?Sized),
    session: &TypedSession,
    auth: SessionAuth,
) -> anyhow::Result<Option<Admission>> {
    let Some(tenant) = auth.tenant_id else {
        return Ok(None);
    };
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT m.role,
                (SELECT s.category FROM suspensions s
                  WHERE s.tenant_id = m.tenant_id AND s.lifted_at IS NULL
                  ORDER BY s.created_at LIMIT 1)
           FROM memberships m WHERE m.user_id = $1 AND m.tenant_id = $2",
    )
    .bind(auth.user_id)
    .bind(tenant)
    .fetch_optional(db.pool())
    .await
    .context("admitting the member")?;
    let Some((role, suspension)) = row else {
        return Ok(None);
    };
    session.keep_alive(auth).await?;
    Ok(Some(Admission {
        ctx: TenantCtx {
            tenant_id: TenantId(tenant),
            user_id: UserId(auth.user_id),
            role: Role::parse(&role).map_err(anyhow::Error::msg)?,
        },
        suspension,
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
        Some(a) if a.ctx.user_id.0 == auth.user_id && auth.tenant_id == Some(a.ctx.tenant_id.0) => {
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
    let Some(tenant) = auth.tenant_id else {
        return Err(AppError::Forbidden(
            "This staff account has no customer workspace.".into(),
        ));
    };
    let role = membership_role(db.pool(), UserId(auth.user_id), TenantId(tenant))
        .await
        .map_err(internal)?
        // The membership is gone (removed, tenant deleted): the session is no longer valid.
        .ok_or(AppError::Unauthorized)?;
    session.keep_alive(auth).await.map_err(internal)?;
    Ok(TenantCtx {
        tenant_id: TenantId(tenant),
        user_id: UserId(auth.user_id),
        role,
    })
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
        }
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
