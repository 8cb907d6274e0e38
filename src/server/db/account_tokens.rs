//! Single-use links mailed to a user (see `services::account_links`). Only the token's
//! SHA-256 is stored; a link is bound to the address it was sent to.

use super::Context;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::UserId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    /// Confirms a new address; `email` is the new one.
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
        }
    }
}

/// Stores a new link for `user` and `email`, live for `ttl_secs`. Earlier unused links of the
/// same purpose stop working: only the newest one mailed opens.
pub async fn issue(
    pool: &PgPool,
    token_hash: &[u8],
    user: UserId,
    purpose: Purpose,
    email: &str,
    ttl_secs: i64,
) -> super::Result<()> {
    let mut tx = pool
        .begin()
        .await
        .context("starting a link's transaction")?;
    sqlx::query(
        "UPDATE account_tokens SET used_at = now()
          WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(user.0)
    .bind(purpose.as_str())
    .execute(&mut *tx)
    .await
    .context("retiring earlier links")?;
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(purpose.as_str())
    .bind(email)
    .bind(ttl_secs as f64)
    .execute(&mut *tx)
    .await
    .context("storing a link")?;
    tx.commit().await.context("committing a link")?;
    Ok(())
}

/// Uses the link: the user and address it was for, if it is live (unused, unexpired, of this
/// purpose); it is then used up, whatever the caller does next. Atomic: of two parallel uses
/// one wins.
pub async fn consume(
    exec: impl sqlx::PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> super::Result<Option<(UserId, String)>> {
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "UPDATE account_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id, email",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(exec)
    .await
    .context("using a link")?;
    Ok(row.map(|(u, e)| (UserId(u), e)))
}

/// Seconds since the user's newest link of this purpose was made, if any (for "send again").
pub async fn newest_age_secs(
    pool: &PgPool,
    user: UserId,
    purpose: Purpose,
) -> super::Result<Option<i64>> {
    let age: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM now() - max(created_at))::float8
           FROM account_tokens WHERE user_id = $1 AND purpose = $2",
    )
    .bind(user.0)
    .bind(purpose.as_str())
    .fetch_one(pool)
    .await
    .context("reading the newest link")?;
    Ok(age.map(|a| a.max(0.0) as i64))
}

/// Deletes links expired for a day (hourly, from the cleanup loop).
pub async fn prune(pool: &PgPool) -> super::Result<u64> {
    let done =
        sqlx::query("DELETE FROM account_tokens WHERE expires_at < now() - interval '1 day'")
            .execute(pool)
            .await
            .context("pruning links")?;
    Ok(done.rows_affected())
}
