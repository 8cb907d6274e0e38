//! One-time sign-in codes (see `services::accounts`): one live code per user, stored only as
//! a keyed hash bound to the user.

use super::Context;
use sqlx::PgPool;

use crate::domain::UserId;

/// Stores `code_mac` as the user's code for `ttl_secs`, unless a live one (unexpired, not
/// used up by `max_attempts` wrong tries) exists. True when this code was stored (then it
/// must be sent); atomic, so parallel callers store at most one.
pub async fn issue_unless_live(
    pool: &PgPool,
    user: UserId,
    code_mac: &[u8],
    ttl_secs: i64,
    max_attempts: i32,
) -> super::Result<bool> {
    let stored: Option<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO login_codes (user_id, code_mac, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (user_id) DO UPDATE
            SET code_mac = excluded.code_mac, expires_at = excluded.expires_at,
                attempts = 0, created_at = now()
          WHERE login_codes.expires_at <= now() OR login_codes.attempts >= $4
         RETURNING user_id",
    )
    .bind(user.0)
    .bind(code_mac)
    .bind(ttl_secs as f64)
    .bind(max_attempts)
    .fetch_optional(pool)
    .await
    .context("issuing a sign-in code")?;
    Ok(stored.is_some())
}

/// Uses the user's code if `code_mac` is it and it is live (it is deleted: single use).
/// Otherwise counts a wrong try against the live code and returns false.
pub async fn consume(
    pool: &PgPool,
    user: UserId,
    code_mac: &[u8],
    max_attempts: i32,
) -> super::Result<bool> {
    let used: Option<uuid::Uuid> = sqlx::query_scalar(
        "DELETE FROM login_codes
          WHERE user_id = $1 AND code_mac = $2 AND expires_at > now() AND attempts < $3
         RETURNING user_id",
    )
    .bind(user.0)
    .bind(code_mac)
    .bind(max_attempts)
    .fetch_optional(pool)
    .await
    .context("using a sign-in code")?;
    if used.is_some() {
        return Ok(true);
    }
    sqlx::query(
        "UPDATE login_codes SET attempts = attempts + 1 WHERE user_id = $1 AND expires_at > now()",
    )
    .bind(user.0)
    .execute(pool)
    .await
    .context("counting a wrong sign-in code")?;
    Ok(false)
}

/// Deletes expired codes; returns how many.
pub async fn prune(pool: &PgPool) -> super::Result<u64> {
    let done = sqlx::query("DELETE FROM login_codes WHERE expires_at < now()")
        .execute(pool)
        .await
        .context("pruning sign-in codes")?;
    Ok(done.rows_affected())
}
