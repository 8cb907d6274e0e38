//! The sandbox mail store: no IMAP server, but the same decision Dovecot makes. It reads the
//! passwd-file InboxGrove published for the login's domain and verifies the password with
//! Dovecot's `SSHA256` rule, so a login it accepts is one Dovecot would accept from those files.
//! It holds no mail: every mailbox it accepts is empty.

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Login, LoginCheck, MailStore, MailStoreError};

#[derive(Clone, Debug)]
pub struct SandboxMailStore {
    passwd_dir: PathBuf,
}

impl SandboxMailStore {
    pub fn new(passwd_dir: impl Into<PathBuf>) -> Self {
        Self {
            passwd_dir: passwd_dir.into(),
        }
    }

    fn check(&self, login: &Login) -> Result<(), MailStoreError> {
        let address = login.address.to_ascii_lowercase();
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Err(MailStoreError::Refused("not a mailbox address".into()));
        };
        if domain.is_empty() || domain.starts_with('.') || domain.contains(['/', '\\', '\0']) {
            return Err(MailStoreError::Refused("not a mailbox address".into()));
        }
        let path = self.passwd_dir.join(format!("{domain}.passwd"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(MailStoreError::Refused("unknown mailbox".into()));
            }
            Err(e) => {
                return Err(MailStoreError::Unavailable(format!(
                    "reading {path:?}: {e}"
                )));
            }
        };
        let record = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .find(|(user, _)| *user == address)
            .map(|(_, rest)| rest.split(':').next().unwrap_or_default());
        match record {
            Some(r) if verify_ssha256_hex(r, login.password.as_bytes()) => Ok(()),
            Some(_) => Err(MailStoreError::Refused("wrong password".into())),
            None => Err(MailStoreError::Refused("unknown mailbox".into())),
        }
    }
}

/// Dovecot's `{SSHA256.HEX}`: hex of `SHA-256(password || salt) || salt`.
pub fn verify_ssha256_hex(record: &str, password: &[u8]) -> bool {
    let Some(hexed) = record.strip_prefix("{SSHA256.HEX}") else {
        return false;
    };
    let Ok(raw) = hex::decode(hexed) else {
        return false;
    };
    if raw.len() <= 32 {
        return false;
    }
    let (digest, salt) = raw.split_at(32);
    let mut h = Sha256::new();
    h.update(password);
    h.update(salt);
    h.finalize().as_slice().ct_eq(digest).into()
}

#[async_trait]
impl MailStore for SandboxMailStore {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn check_logins(&self, logins: &[Login]) -> Vec<LoginCheck> {
        logins
            .iter()
            .map(|l| match self.check(l) {
                Ok(()) => LoginCheck::Accepted,
                Err(MailStoreError::Refused(why)) => LoginCheck::Refused(why),
                Err(MailStoreError::Unavailable(why)) => LoginCheck::Unavailable(why),
            })
            .collect()
    }

    async fn inbox_messages(&self, login: &Login) -> Result<u32, MailStoreError> {
        self.check(login)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::providers::relay::files::dovecot_password;

    #[test]
    fn the_published_record_verifies_the_password_it_was_made_from_and_no_other() {
        // The shared vector (services::inboxes::relay_hash, the Lua test, doveadm pw -t).
        let record = dovecot_password(
            "00112233445566778899aabbccddeeff",
            "0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2",
        );
        assert!(verify_ssha256_hex(&record, b"Xq7vR2mT9pL4sW8nK3dF6hJ1"));
        assert!(!verify_ssha256_hex(&record, b"Xq7vR2mT9pL4sW8nK3dF6hJ2"));
        assert!(!verify_ssha256_hex(&record, b""));
        assert!(!verify_ssha256_hex(
            "{PLAIN}Xq7vR2mT9pL4sW8nK3dF6hJ1",
            b"Xq7vR2mT9pL4sW8nK3dF6hJ1"
        ));
        assert!(!verify_ssha256_hex("{SSHA256.HEX}zz", b"x"));
    }
}
