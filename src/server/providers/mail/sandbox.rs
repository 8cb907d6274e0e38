//! The sandbox: messages go only into the `mail_outbox` table (listed at `/dev/outbox`).

use async_trait::async_trait;
use sqlx::PgPool;

use super::{MailError, MailTransport, Mailer, OutgoingMail, begin};
use crate::server::db;

#[derive(Clone)]
pub struct SandboxMailer {
    pool: PgPool,
    from: String,
}

impl SandboxMailer {
    pub fn new(pool: PgPool, from: &str) -> Self {
        Self {
            pool,
            from: from.to_string(),
        }
    }
}

#[async_trait]
impl Mailer for SandboxMailer {
    async fn send(&self, msg: &OutgoingMail) -> Result<(), MailError> {
        let Some(id) = begin(&self.pool, msg, &self.from, MailTransport::Sandbox).await? else {
            return Ok(());
        };
        db::mail::mark_sent(&self.pool, id).await?;
        Ok(())
    }

    fn transport(&self) -> MailTransport {
        MailTransport::Sandbox
    }
}
