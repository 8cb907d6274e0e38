//! Mail: one trait, the real SMTP client (lettre, rustls) and the sandbox outbox.
//!
//! A mailer only hands a message to its transport and says how that went. Recording it is
//! `services::outbox::send`'s job: every message, whichever transport, goes into the
//! `mail_outbox` table with its status (so `/dev/outbox`, sandbox only, and support can see what
//! was sent), and one with an idempotency key is sent at most once.

use async_trait::async_trait;
use std::sync::Arc;

use crate::domain::{EmailAddress, TenantId};
use crate::server::config::Settings;

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

/// A message's two parts as sent: plain text and HTML, both rendered from the one layout
/// (`services::outbox`).
#[derive(Clone, Debug)]
pub struct MailParts {
    pub text: String,
    pub html: String,
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

crate::server::db::unexpected_from_db!(MailError);

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
    /// Hands the message to the transport: `Ok` once it accepted it. Send through
    /// `services::outbox::send`, which records the message and this outcome.
    async fn deliver(&self, msg: &OutgoingMail, parts: &MailParts) -> Result<(), MailError>;
    fn transport(&self) -> MailTransport;
    /// The `From` the message goes out with, as the outbox records it.
    fn sender(&self) -> String;
}

/// SMTP when `mail.smtp_host` is set (and `providers.mail` is not `sandbox`), else the outbox.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let mailer: Arc<dyn Mailer> = if settings.uses_real_smtp() {
        Arc::new(SmtpMailer::new(&settings.mail, &settings.smtp)?)
    } else {
        Arc::new(SandboxMailer::new(&settings.mail.from))
    };
    tracing::info!(transport = mailer.transport().as_str(), "mail provider");
    Ok(mailer)
}
