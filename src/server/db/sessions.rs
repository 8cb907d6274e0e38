//! Every signed-in browser (`user_sessions`): made at sign-in, checked by the door on each
//! signed-in request, listed and ended by the user.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::UserId;

/// The longest user agent kept: enough to name a browser, not a place to store a novel.
const MAX_USER_AGENT: usize = 300;

pub async fn start(pool: &PgPool, user: UserId, user_agent: &str, ip: &str) -> super::Result<Uuid> {
    let id = Uuid::new_v4();
    let agent: String = user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT)
        .collect();
    sqlx::query("INSERT INTO user_sessions (id, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(user.0)
        .bind(agent)
        .bind(ip)
        .execute(pool)
        .await
        .context("recording a session")?;
    Ok(id)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The user's sessions, most recently seen first.
pub async fn list(pool: &PgPool, user: UserId) -> super::Result<Vec<SessionRow>> {
    sqlx::query_as(
        "SELECT id, user_agent, ip, created_at, last_seen_at FROM user_sessions
          WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC LIMIT 200",
    )
    .bind(user.0)
    .fetch_all(pool)
    .await
    .context("listing sessions")
}

/// Ends one of the user's sessions; false when the user has no such session.
pub async fn end(pool: &PgPool, user: UserId, id: Uuid) -> super::Result<bool> {
    let done = sqlx::query("DELETE FROM user_sessions WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.0)
        .execute(pool)
        .await
        .context("ending a session")?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the user but `keep` (the current one, when given); returns how many.
pub async fn end_all(
    exec: impl sqlx::PgExecutor<'_>,
    user: UserId,
    keep: Option<Uuid>,
) -> super::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM user_sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind(user.0)
    .bind(keep)
    .execute(exec)
    .await
    .context("ending sessions")?;
    Ok(done.rows_affected())
}

/// True while the session is live and belongs to `user`.
pub async fn is_live(pool: &PgPool, id: Uuid, user: UserId) -> super::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM user_sessions WHERE id = $1 AND user_id = $2)")
        .bind(id)
        .bind(user.0)
        .fetch_one(pool)
        .await
        .context("checking a session")
}
