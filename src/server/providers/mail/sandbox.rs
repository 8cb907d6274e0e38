//! The sandbox: messages go only into the `mail_outbox` table (listed at `/dev/outbox`), which
//! `services::outbox::send` writes for every transport; delivering is nothing more.

use async_trait::async_trait;

use super::{MailError, MailParts, MailTransport, Mailer, OutgoingMail};

#[derive(Clone)]
pub struct SandboxMailer {
    from: String,
}

impl SandboxMailer {
    pub fn new(from: &str) -> Self {
        Self {
            from: from.to_string(),
        }
    }
}

#[async_trait]
impl Mailer for SandboxMailer {
    async fn deliver(&self, _msg: &OutgoingMail, _parts: &MailParts) -> Result<(), MailError> {
        Ok(())
    }

    fn transport(&self) -> MailTransport {
        MailTransport::Sandbox
    }

    fn sender(&self) -> String {
        self.from.clone()
    }
}
