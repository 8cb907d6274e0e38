//! The mail store (Dovecot): where every inbox's mail is kept and read over IMAP.
//!
//! InboxGrove does not manage mailboxes through an API: it publishes the same password records
//! the relay gets ([`super::relay::files`], one passwd-file per domain) and Dovecot reads them.
//! What this provider does is *ask* the store: does it accept this login (the proof that an
//! inbox's credentials work before the inbox is called active), and how many messages does
//! the inbox hold. The real client speaks IMAP ([`imap::ImapStore`]); the sandbox checks the
//! same published files with the same scheme Dovecot uses, so both go through one code path.

use async_trait::async_trait;
use zeroize::Zeroizing;

pub mod dovecot;
pub mod imap;
pub mod sandbox;

/// What the store said to one login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginCheck {
    Accepted,
    /// The store answered and said no (a wrong password, an unknown or disabled mailbox).
    Refused(String),
    /// The store could not be asked (down, timed out): nothing is known.
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailStoreError {
    #[error("the mail store refused the login: {0}")]
    Refused(String),
    #[error("the mail store is unavailable: {0}")]
    Unavailable(String),
}

/// One mailbox login to try.
pub struct Login {
    pub address: String,
    pub password: Zeroizing<String>,
}

#[async_trait]
pub trait MailStore: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// How long after a publish the store may still answer from the old files (Dovecot
    /// checks a passwd-file's mtime at most once a second).
    fn settle(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Tries every login (concurrently, bounded); one answer per login, in order.
    async fn check_logins(&self, logins: &[Login]) -> Vec<LoginCheck>;

    /// How many messages the mailbox's INBOX holds, asked as the mailbox itself.
    async fn inbox_messages(&self, login: &Login) -> Result<u32, MailStoreError>;
}
