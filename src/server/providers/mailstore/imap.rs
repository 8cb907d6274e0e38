//! The real mail store client: IMAP (`async-imap`) to Dovecot, plain on loopback in
//! development, implicit TLS (993, rustls with the webpki roots) in production.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{Login, LoginCheck, MailStore, MailStoreError};

#[derive(Clone)]
pub struct ImapStore {
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    timeout: Duration,
    concurrency: usize,
}

impl ImapStore {
    pub fn new(host: &str, port: u16, tls: bool, timeout: Duration, concurrency: usize) -> Self {
        let tls = tls.then(|| {
            let roots = tokio_rustls::rustls::RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            );
            let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        });
        Self {
            host: host.to_string(),
            port,
            tls,
            timeout,
            concurrency: concurrency.max(1),
        }
    }

    async fn check_one(&self, login: &Login) -> LoginCheck {
        match self.session(login, false).await {
            Ok(_) => LoginCheck::Accepted,
            Err(MailStoreError::Refused(why)) => LoginCheck::Refused(why),
            Err(MailStoreError::Unavailable(why)) => LoginCheck::Unavailable(why),
        }
    }

    /// Logs in as `login`, optionally asks for the INBOX's message count, logs out.
    async fn session(&self, login: &Login, count: bool) -> Result<Option<u32>, MailStoreError> {
        let work = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| MailStoreError::Unavailable(format!("connecting: {e}")))?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => run(tcp, login, count).await,
                Some(connector) => {
                    let name =
                        tokio_rustls::rustls::pki_types::ServerName::try_from(self.host.clone())
                            .map_err(|e| {
                                MailStoreError::Unavailable(format!("server name: {e}"))
                            })?;
                    let tls = connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| MailStoreError::Unavailable(format!("TLS: {e}")))?;
                    run(tls, login, count).await
                }
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| MailStoreError::Unavailable("timed out".into()))?
    }
}

async fn run<T>(stream: T, login: &Login, count: bool) -> Result<Option<u32>, MailStoreError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut client = async_imap::Client::new(stream);
    // The server speaks first (`* OK … ready`).
    match client.read_response().await {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(MailStoreError::Unavailable(format!("greeting: {e}"))),
        None => return Err(MailStoreError::Unavailable("closed before greeting".into())),
    }
    let mut session = match client.login(&login.address, login.password.as_str()).await {
        Ok(s) => s,
        Err((async_imap::error::Error::No(why), _)) => return Err(MailStoreError::Refused(why)),
        Err((async_imap::error::Error::Validate(e), _)) => {
            return Err(MailStoreError::Refused(format!("not a valid login: {e}")));
        }
        Err((e, _)) => return Err(MailStoreError::Unavailable(e.to_string())),
    };
    let messages = if count {
        let mailbox = session
            .status("INBOX", "(MESSAGES)")
            .await
            .map_err(|e| MailStoreError::Unavailable(format!("STATUS: {e}")))?;
        Some(mailbox.exists)
    } else {
        None
    };
    let _ = session.logout().await;
    Ok(messages)
}

#[async_trait]
impl MailStore for ImapStore {
    fn name(&self) -> &'static str {
        "dovecot"
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(1100)
    }

    async fn check_logins(&self, logins: &[Login]) -> Vec<LoginCheck> {
        let each: Vec<_> = logins.iter().map(|login| self.check_one(login)).collect();
        futures_util::stream::iter(each)
            .buffered(self.concurrency)
            .collect()
            .await
    }

    async fn inbox_messages(&self, login: &Login) -> Result<u32, MailStoreError> {
        Ok(self.session(login, true).await?.unwrap_or_default())
    }
}
