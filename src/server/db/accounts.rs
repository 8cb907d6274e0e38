use super::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{CompanyName, EmailAddress, TenantId, UserId, Website};
use crate::server::auth::password::PasswordHash;

pub struct NewSignup<'a> {
    pub company: &'a CompanyName,
    pub website: Option<&'a Website>,
    pub email: &'a EmailAddress,
    pub password_hash: &'a PasswordHash,
    pub trial_ends_at: DateTime<Utc>,
}

/// Creates tenant, owner user and owner membership in one transaction: all or nothing. An
/// email already registered: [`Constraint::UsersEmail`](super::Constraint::UsersEmail).
pub async fn create_signup(pool: &PgPool, s: NewSignup<'_>) -> super::Result<(TenantId, UserId)> {
    let mut tx = pool.begin().await.context("starting signup transaction")?;
    let tenant_id = Uuid::new_v4();
    let user_id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name, website, trial_ends_at) VALUES ($1, $2, $3, $4)")
        .bind(tenant_id)
        .bind(s.company.as_str())
        .bind(s.website.map(Website::as_str))
        .bind(s.trial_ends_at)
        .execute(&mut *tx)
        .await
        .context("inserting tenant")?;
    insert_user(&mut tx, user_id, s.email, s.password_hash, false).await?;
    sqlx::query("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("inserting owner membership")?;
    tx.commit().await.context("committing signup")?;
    Ok((TenantId(tenant_id), UserId(user_id)))
}

async fn insert_user(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    email: &EmailAddress,
    hash: &PasswordHash,
    is_staff: bool,
) -> super::Result<()> {
    // Staff accounts are made by the operator for a known address: verified from the start.
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, is_staff, email_verified_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $4 THEN now() END)",
    )
    .bind(user_id)
    .bind(email.as_str())
    .bind(hash.as_phc())
    .bind(is_staff)
    .execute(&mut **tx)
    .await
    .context("inserting user")?;
    Ok(())
}

/// Creates a staff user with no customer workspace. Returns false if the email exists.
pub async fn create_staff_user(
    pool: &PgPool,
    email: &EmailAddress,
    hash: &PasswordHash,
) -> super::Result<bool> {
    let mut tx = pool.begin().await?;
    match insert_user(&mut tx, Uuid::new_v4(), email, hash, true).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(true)
        }
        Err(e) if e.violated(&super::Constraint::UsersEmail) => Ok(false),
        Err(e) => Err(e),
    }
}

pub struct LoginRow {
    pub user_id: UserId,
    pub password_hash: PasswordHash,
    pub is_staff: bool,
    /// The user's first tenant (the one they signed up with), if any.
    pub tenant_id: Option<TenantId>,
}

pub async fn find_login(pool: &PgPool, email: &EmailAddress) -> super::Result<Option<LoginRow>> {
    let row: Option<(Uuid, String, bool, Option<Uuid>)> = sqlx::query_as(
        "SELECT u.id, u.password_hash, u.is_staff,
                (SELECT m.tenant_id FROM memberships m WHERE m.user_id = u.id
                  ORDER BY m.created_at, m.tenant_id LIMIT 1)
           FROM users u WHERE u.email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(pool)
    .await
    .context("looking up login")?;
    Ok(row.map(|(id, hash, is_staff, tenant)| LoginRow {
        user_id: UserId(id),
        password_hash: PasswordHash::from_db(hash),
        is_staff,
        tenant_id: tenant.map(TenantId),
    }))
}

/// The user's email if the user is staff and the session `sid` is still theirs, and, when
/// `needs_2fa` (an https deployment), staff have two-factor sign-in on; `None` for anyone
/// else (no such user, a session ended elsewhere, staff still to set up 2FA).
pub async fn staff_email(
    pool: &PgPool,
    user: UserId,
    sid: Uuid,
    needs_2fa: bool,
) -> super::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT u.email FROM users u
           JOIN user_sessions s ON s.id = $2 AND s.user_id = u.id
          WHERE u.id = $1 AND u.is_staff
            AND (NOT $3 OR EXISTS (SELECT 1 FROM user_totp t
                                    WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL))",
    )
    .bind(user.0)
    .bind(sid)
    .bind(needs_2fa)
    .fetch_optional(pool)
    .await
    .context("loading staff user")
}

/// Marks the address verified if the user still has it; false otherwise.
pub async fn mark_verified(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    email: &str,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, now())
          WHERE id = $1 AND email = $2",
    )
    .bind(user.0)
    .bind(email)
    .execute(exec)
    .await
    .context("verifying an address")?;
    Ok(done.rows_affected() == 1)
}

/// Sets a new password hash, and verifies the address (a reset link reached it), if the user
/// still has `email`; false otherwise.
pub async fn set_password(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    email: &str,
    hash: &PasswordHash,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $3,
                          email_verified_at = coalesce(email_verified_at, now())
          WHERE id = $1 AND email = $2",
    )
    .bind(user.0)
    .bind(email)
    .bind(hash.as_phc())
    .execute(exec)
    .await
    .context("setting a password")?;
    Ok(done.rows_affected() == 1)
}

/// The user's first workspace (the one they signed up with), if any.
pub async fn first_tenant(pool: &PgPool, user: UserId) -> super::Result<Option<TenantId>> {
    let tenant: Option<Uuid> = sqlx::query_scalar(
        "SELECT tenant_id FROM memberships WHERE user_id = $1
          ORDER BY created_at, tenant_id LIMIT 1",
    )
    .bind(user.0)
    .fetch_optional(pool)
    .await
    .context("loading the user's workspace")?;
    Ok(tenant.map(TenantId))
}

/// The user's email and password hash.
pub async fn credentials(pool: &PgPool, user: UserId) -> super::Result<(String, PasswordHash)> {
    let (email, hash): (String, String) =
        sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_one(pool)
            .await
            .context("loading the user's credentials")?;
    Ok((email, PasswordHash::from_db(hash)))
}

/// The user's email.
pub async fn user_email(pool: &PgPool, user: UserId) -> super::Result<String> {
    Ok(credentials(pool, user).await?.0)
}

/// Replaces the user's password hash.
pub async fn update_password(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    hash: &PasswordHash,
) -> super::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user.0)
        .bind(hash.as_phc())
        .execute(exec)
        .await
        .context("changing a password")
        .map(drop)
}

/// A user who arrived by an invitation link: verified (the link reached the address), in no
/// workspace yet (the invitation adds the membership in the same transaction).
pub async fn create_invited_user(
    conn: &mut sqlx::PgConnection,
    email: &EmailAddress,
    hash: &PasswordHash,
) -> super::Result<UserId> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, email_verified_at) VALUES ($1, $2, $3, now())",
    )
    .bind(id)
    .bind(email.as_str())
    .bind(hash.as_phc())
    .execute(conn)
    .await
    .context("inserting an invited user")?;
    Ok(UserId(id))
}

/// Another workspace for an existing user, who owns it; with its own trial.
pub async fn create_workspace(
    pool: &PgPool,
    user: UserId,
    company: &CompanyName,
    trial_ends_at: DateTime<Utc>,
) -> super::Result<TenantId> {
    let mut tx = pool.begin().await.context("starting a workspace")?;
    let tenant_id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name, trial_ends_at) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(company.as_str())
        .bind(trial_ends_at)
        .execute(&mut *tx)
        .await
        .context("inserting tenant")?;
    sqlx::query("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(tenant_id)
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .context("inserting owner membership")?;
    tx.commit().await.context("committing a workspace")?;
    Ok(TenantId(tenant_id))
}

/// How many workspaces the user owns.
pub async fn owned_workspaces(pool: &PgPool, user: UserId) -> super::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM memberships WHERE user_id = $1 AND role = 'owner'")
        .bind(user.0)
        .fetch_one(pool)
        .await
        .context("counting owned workspaces")
}

/// Whether the user's address is verified.
pub async fn is_verified(pool: &PgPool, user: UserId) -> super::Result<bool> {
    sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_one(pool)
        .await
        .context("checking verification")
}

/// Replaces the user's email with a newly confirmed one. A unique violation
/// ([`Constraint::UsersEmail`](super::Constraint::UsersEmail)) when another account took it.
pub async fn set_email(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    email: &str,
) -> super::Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1")
        .bind(user.0)
        .bind(email)
        .execute(exec)
        .await
        .context("changing an email")
        .map(drop)
}
