//! The mail outbox: every message the app sends, with its transport and outcome.

use super::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub struct NewOutboxMail<'a> {
    pub tenant_id: Option<Uuid>,
    pub to: &'a str,
    pub from: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub html: &'a str,
    pub transport: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// Records the message as `sending`. With an idempotency key already used, the earlier row is
/// reused unless it was sent, in which case this returns `None`: nothing to send.
pub async fn begin(pool: &PgPool, m: &NewOutboxMail<'_>) -> super::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "INSERT INTO mail_outbox (id, tenant_id, to_addr, from_addr, subject, body_text,
                                  transport, status, idempotency_key, body_html)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', $8, $9)
         ON CONFLICT ON CONSTRAINT mail_outbox_idempotency_key DO UPDATE
            SET status = 'sending', to_addr = EXCLUDED.to_addr, from_addr = EXCLUDED.from_addr,
                subject = EXCLUDED.subject, body_text = EXCLUDED.body_text,
                body_html = EXCLUDED.body_html,
                transport = EXCLUDED.transport, last_error = NULL
          WHERE mail_outbox.status <> 'sent'
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(m.tenant_id)
    .bind(m.to)
    .bind(m.from)
    .bind(m.subject)
    .bind(m.body)
    .bind(m.transport)
    .bind(m.idempotency_key)
    .bind(m.html)
    .fetch_optional(pool)
    .await
    .context("recording an outgoing email")
}

pub async fn mark_sent(pool: &PgPool, id: Uuid) -> super::Result<()> {
    sqlx::query(
        "UPDATE mail_outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await
    .context("marking an email sent")
    .map(drop)
}

pub async fn mark_failed(pool: &PgPool, id: Uuid, error: &str) -> super::Result<()> {
    sqlx::query("UPDATE mail_outbox SET status = 'failed', last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(pool)
        .await
        .context("marking an email failed")
        .map(drop)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub transport: String,
    pub status: String,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The newest `limit` messages, newest first.
pub async fn recent(pool: &PgPool, limit: i64) -> super::Result<Vec<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, to_addr, subject, body_text, body_html, transport, status, last_error, created_at
           FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("listing the mail outbox")
}

/// The message sent under an idempotency key, if any.
pub async fn by_key(pool: &PgPool, key: &str) -> super::Result<Option<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, to_addr, subject, body_text, body_html, transport, status, last_error, created_at
           FROM mail_outbox WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await
    .context("loading a sent email")
}

/// One message by id.
pub async fn by_id(pool: &PgPool, id: Uuid) -> super::Result<Option<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, to_addr, subject, body_text, body_html, transport, status, last_error, created_at
           FROM mail_outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("loading an email")
}
