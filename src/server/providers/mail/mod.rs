//! Mail: one trait, the real SMTP client (lettre, rustls) and the sandbox outbox.
//!
//! Every message, whichever transport, is recorded in the `mail_outbox` table with its status,
//! so `/dev/outbox` (sandbox only) and support can see what was sent. A message with an
//! idempotency key is sent at most once: sending it again finds the `sent` row and stops.

use async_trait::async_trait;
use sqlx::PgPool;
use std::sync::Arc;

use crate::domain::{EmailAddress, TenantId};
use crate::server::config::Settings;
use crate::server::db;

pub mod sandbox;
pub mod smtp;

pub use sandbox::SandboxMailer;
pub use smtp::SmtpMailer;

#[derive(Clone, Debug)]
pub struct OutgoingMail {
    pub to: EmailAddress,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub tenant_id: Option<TenantId>,
    /// What the message is *for* (e.g. `trial_reminder:{tenant}:{trial_end}`): sent once.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused the message for good (bad recipient, policy): retrying won't help.
    #[error("the mail server refused the message: {0}")]
    Rejected(String),
    /// Try again later (connection refused, timeout, 4xx).
    #[error("the mail server is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::server::db::Error> for MailError {
    fn from(e: crate::server::db::Error) -> Self {
        Self::Unexpected(e.into())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    Sandbox,
    Smtp,
}

impl MailTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Smtp => "smtp",
        }
    }
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, msg: &OutgoingMail) -> Result<(), MailError>;
    fn transport(&self) -> MailTransport;
}

/// SMTP when `mail.smtp_host` is set (and `providers.mail` is not `sandbox`), else the outbox.
pub fn from_settings(settings: &Settings, pool: PgPool) -> anyhow::Result<Arc<dyn Mailer>> {
    let mailer: Arc<dyn Mailer> = if settings.uses_real_smtp() {
        Arc::new(SmtpMailer::new(&settings.mail, &settings.smtp, pool)?)
    } else {
        Arc::new(SandboxMailer::new(pool, &settings.mail.from))
    };
    tracing::info!(transport = mailer.transport().as_str(), "mail provider");
    Ok(mailer)
}

/// Records the message as `sending` and returns its outbox row, or `None` when a message with
/// the same idempotency key was already sent.
async fn begin(
    pool: &PgPool,
    msg: &OutgoingMail,
    from: &str,
    transport: MailTransport,
) -> Result<Option<uuid::Uuid>, MailError> {
    Ok(db::mail::begin(
        pool,
        &db::mail::NewOutboxMail {
            tenant_id: msg.tenant_id.map(|t| t.0),
            to: msg.to.as_str(),
            from,
            subject: &msg.subject,
            body: &msg.body,
            transport: transport.as_str(),
            idempotency_key: msg.idempotency_key.as_deref(),
        },
    )
    .await?)
}
