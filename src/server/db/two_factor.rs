//! Two-factor sign-in records (see `services::two_factor`): the sealed TOTP secret, the last
//! step a code was accepted for, and the hashed recovery codes. Users are global: the system
//! path.

use super::Context;
use sqlx::{PgConnection, PgPool};

use crate::domain::UserId;
use crate::server::auth::TenantCtx;

pub struct TotpRow {
    pub secret_enc: Vec<u8>,
    pub confirmed: bool,
}

/// Stores a new, unconfirmed secret unless the user has a confirmed one (false then).
pub async fn start(pool: &PgPool, user: UserId, secret_enc: &[u8]) -> super::Result<bool> {
    let stored: Option<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO user_totp (user_id, secret_enc) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE
            SET secret_enc = excluded.secret_enc, last_step = 0, created_at = now()
          WHERE user_totp.confirmed_at IS NULL
         RETURNING user_id",
    )
    .bind(user.0)
    .bind(secret_enc)
    .fetch_optional(pool)
    .await
    .context("storing a TOTP secret")?;
    Ok(stored.is_some())
}

pub async fn get(pool: &PgPool, user: UserId) -> super::Result<Option<TotpRow>> {
    let row: Option<(Vec<u8>, bool)> = sqlx::query_as(
        "SELECT secret_enc, confirmed_at IS NOT NULL FROM user_totp WHERE user_id = $1",
    )
    .bind(user.0)
    .fetch_optional(pool)
    .await
    .context("loading a TOTP secret")?;
    Ok(row.map(|(secret_enc, confirmed)| TotpRow {
        secret_enc,
        confirmed,
    }))
}

/// Whether the user has confirmed two-factor sign-in.
pub async fn enabled(pool: &PgPool, user: UserId) -> super::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL)",
    )
    .bind(user.0)
    .fetch_one(pool)
    .await
    .context("checking two-factor sign-in")
}

/// Accepts a code for `step` only if no code for this or a later step was accepted before:
/// false for a replayed code. Atomic.
pub async fn advance_step(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    step: i64,
) -> super::Result<bool> {
    let done =
        sqlx::query("UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2")
            .bind(user.0)
            .bind(step)
            .execute(exec)
            .await
            .context("recording a TOTP step")?;
    Ok(done.rows_affected() == 1)
}

/// Confirms the secret and replaces the recovery codes.
pub async fn confirm(
    conn: &mut PgConnection,
    user: UserId,
    recovery_hashes: &[[u8; 32]],
) -> super::Result<()> {
    sqlx::query("UPDATE user_totp SET confirmed_at = now() WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .context("confirming a TOTP secret")?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .context("dropping old recovery codes")?;
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.0)
            .bind(hash.as_slice())
            .execute(&mut *conn)
            .await
            .context("storing a recovery code")?;
    }
    Ok(())
}

/// Uses a recovery code (once); false when it is not one of the user's unused codes.
pub async fn use_recovery(pool: &PgPool, user: UserId, hash: &[u8]) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = now()
          WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user.0)
    .bind(hash)
    .execute(pool)
    .await
    .context("using a recovery code")?;
    Ok(done.rows_affected() == 1)
}

/// How many unused recovery codes the user has left.
pub async fn recovery_left(pool: &PgPool, user: UserId) -> super::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.0)
        .fetch_one(pool)
        .await
        .context("counting recovery codes")
}

/// Turns two-factor sign-in off: the secret and every recovery code go.
pub async fn disable(pool: &PgPool, user: UserId) -> super::Result<()> {
    let mut tx = pool.begin().await.context("starting to disable 2FA")?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .context("dropping recovery codes")?;
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .context("dropping a TOTP secret")?;
    tx.commit().await.context("committing 2FA off")?;
    Ok(())
}

/// Whether the workspace requires two-factor sign-in of its members.
pub async fn required(conn: &mut PgConnection, ctx: &TenantCtx) -> super::Result<bool> {
    sqlx::query_scalar("SELECT require_2fa FROM tenants WHERE id = $1")
        .bind(ctx.tenant_id().0)
        .fetch_one(conn)
        .await
        .context("reading the workspace's 2FA rule")
}

pub async fn set_required(conn: &mut PgConnection, ctx: &TenantCtx, on: bool) -> super::Result<()> {
    sqlx::query("UPDATE tenants SET require_2fa = $2 WHERE id = $1")
        .bind(ctx.tenant_id().0)
        .bind(on)
        .execute(conn)
        .await
        .context("setting the workspace's 2FA rule")
        .map(drop)
}

/// Whether the user must have two-factor sign-in: staff when `staff_must` (an https
/// deployment), or anyone whose current workspace requires it.
pub async fn required_for(
    pool: &PgPool,
    user: UserId,
    tenant: Option<crate::domain::TenantId>,
    staff_must: bool,
) -> super::Result<bool> {
    sqlx::query_scalar(
        "SELECT (u.is_staff AND $3)
                OR coalesce((SELECT t.require_2fa FROM tenants t WHERE t.id = $2), false)
           FROM users u WHERE u.id = $1",
    )
    .bind(user.0)
    .bind(tenant.map(|t| t.0))
    .bind(staff_must)
    .fetch_one(pool)
    .await
    .context("checking whether 2FA is required")
}
