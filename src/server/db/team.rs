//! A workspace's people: its members and open invitations (tenant reads and writes take the
//! tenant's transaction), and an invitation by its token (the system path: the person opening
//! the link is not a member yet).

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Role, TenantId, UserId};
use crate::server::auth::TenantCtx;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

pub async fn members(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<Vec<MemberRow>> {
    sqlx::query_as(
        "SELECT m.user_id, u.email, m.role, m.created_at
           FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.tenant_id = $1
          ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, u.email",
    )
    .bind(ctx.tenant_id().0)
    .fetch_all(conn)
    .await
    .context("listing members")
}

/// The member's role, locked for the rest of the transaction (role changes and removals
/// serialise on it), or `None` for a user who is not a member.
pub async fn member_role_for_update(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    user: UserId,
) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(ctx.tenant_id().0)
    .bind(user.0)
    .fetch_optional(conn)
    .await
    .context("loading a member")
}

/// How many owners the workspace has, the owner rows locked (so two owners cannot both leave
/// at once and leave none).
pub async fn owners_for_update(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<i64> {
    let owners: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'owner' FOR UPDATE",
    )
    .bind(ctx.tenant_id().0)
    .fetch_all(conn)
    .await
    .context("counting owners")?;
    Ok(owners.len() as i64)
}

pub async fn set_role(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    user: UserId,
    role: Role,
) -> super::Result<()> {
    sqlx::query("UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind(ctx.tenant_id().0)
        .bind(user.0)
        .bind(role.as_str())
        .execute(conn)
        .await
        .context("changing a role")
        .map(drop)
}

pub async fn remove(conn: &mut PgConnection, ctx: &TenantCtx, user: UserId) -> super::Result<()> {
    sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(ctx.tenant_id().0)
        .bind(user.0)
        .execute(conn)
        .await
        .context("removing a member")
        .map(drop)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

/// Open invitations (not accepted, not revoked, not expired).
pub async fn invitations(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> super::Result<Vec<InvitationRow>> {
    sqlx::query_as(
        "SELECT id, email, role, expires_at FROM invitations
          WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
            AND expires_at > now()
          ORDER BY created_at DESC",
    )
    .bind(ctx.tenant_id().0)
    .fetch_all(conn)
    .await
    .context("listing invitations")
}

/// True when `email` is already a member of the workspace.
pub async fn is_member_email(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    email: &str,
) -> super::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                         WHERE m.tenant_id = $1 AND u.email = $2)",
    )
    .bind(ctx.tenant_id().0)
    .bind(email)
    .fetch_one(conn)
    .await
    .context("checking a member")
}

/// A new invitation; an open one for the same address is revoked first (its link stops
/// working). Returns its id.
pub async fn invite(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
    email: &str,
    role: Role,
    token_hash: &[u8],
    ttl_secs: i64,
) -> super::Result<Uuid> {
    sqlx::query(
        "UPDATE invitations SET revoked_at = now()
          WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(ctx.tenant_id().0)
    .bind(email)
    .execute(&mut *conn)
    .await
    .context("replacing an invitation")?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
    )
    .bind(id)
    .bind(ctx.tenant_id().0)
    .bind(email)
    .bind(role.as_str())
    .bind(token_hash)
    .bind(ctx.user_id().0)
    .bind(ttl_secs as f64)
    .execute(conn)
    .await
    .context("storing an invitation")?;
    Ok(id)
}

/// Revokes an open invitation of this workspace; false when there is none with this id.
pub async fn revoke(conn: &mut PgConnection, ctx: &TenantCtx, id: Uuid) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = now()
          WHERE id = $1 AND tenant_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(ctx.tenant_id().0)
    .execute(conn)
    .await
    .context("revoking an invitation")?;
    Ok(done.rows_affected() == 1)
}

/// A live invitation by its token, with its workspace's name.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OpenInvitation {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub email: String,
    pub role: String,
}

pub async fn open_by_token(
    pool: &PgPool,
    token_hash: &[u8],
) -> super::Result<Option<OpenInvitation>> {
    sqlx::query_as(
        "SELECT i.id, i.tenant_id, t.name AS tenant_name, i.email, i.role
           FROM invitations i JOIN tenants t ON t.id = i.tenant_id
          WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
            AND i.expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
    .context("loading an invitation")
}

/// Uses the invitation (once: of two parallel uses one wins) and makes `user` a member with
/// its role. False when it was no longer open.
pub async fn accept(
    conn: &mut PgConnection,
    invitation: &OpenInvitation,
    user: UserId,
) -> super::Result<bool> {
    let taken = sqlx::query(
        "UPDATE invitations SET accepted_at = now()
          WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(invitation.id)
    .execute(&mut *conn)
    .await
    .context("using an invitation")?;
    if taken.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id) DO NOTHING",
    )
    .bind(invitation.tenant_id)
    .bind(user.0)
    .bind(&invitation.role)
    .execute(conn)
    .await
    .context("adding a member")?;
    Ok(true)
}

/// The user's workspaces: (id, name, role), oldest membership first.
pub async fn workspaces_of(
    pool: &PgPool,
    user: UserId,
) -> super::Result<Vec<(TenantId, String, String)>> {
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT t.id, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
          WHERE m.user_id = $1 ORDER BY m.created_at, t.id",
    )
    .bind(user.0)
    .fetch_all(pool)
    .await
    .context("listing the user's workspaces")?;
    Ok(rows
        .into_iter()
        .map(|(id, name, role)| (TenantId(id), name, role))
        .collect())
}
