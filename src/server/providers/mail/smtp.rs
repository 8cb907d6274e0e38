//! Real mail over SMTP (lettre on tokio, rustls); `services::outbox::send` records the outcome.

use anyhow::Context;
use async_trait::async_trait;
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

use super::{MailError, MailParts, MailTransport, Mailer, OutgoingMail};
use crate::server::config::{MailSettings, SmtpSecrets, SmtpTls};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Builds the client; it connects on the first send.
    pub fn new(settings: &MailSettings, secrets: &SmtpSecrets) -> anyhow::Result<Self> {
        let host = settings
            .smtp_host
            .as_deref()
            .context("mail.smtp_host is not set")?;
        let tls = match settings.smtp_tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(host)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.smtp_port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(password)) = (&secrets.username, &secrets.password) {
            builder = builder.credentials(Credentials::new(
                user.expose_secret().to_string(),
                password.expose_secret().to_string(),
            ));
        }
        let from: Mailbox = settings
            .from
            .parse()
            .with_context(|| format!("mail.from {:?} is not a valid mailbox", settings.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

fn tls_parameters(host: &str) -> anyhow::Result<TlsParameters> {
    TlsParameters::new_rustls(host.to_string()).context("setting up TLS for SMTP")
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn deliver(&self, msg: &OutgoingMail, parts: &MailParts) -> Result<(), MailError> {
        let to: Mailbox = msg
            .to
            .as_str()
            .parse()
            .map_err(|e| MailError::Rejected(format!("invalid recipient: {e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                parts.text.clone(),
                parts.html.clone(),
            ))
            .context("building the message")?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
            Err(e) => Err(MailError::Unavailable(anyhow::Error::new(e))),
        }
    }

    fn transport(&self) -> MailTransport {
        MailTransport::Smtp
    }

    fn sender(&self) -> String {
        self.from.to_string()
    }
}
