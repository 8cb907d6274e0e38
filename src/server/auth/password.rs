//! argon2id hashing, off the async runtime and with bounded concurrency.

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use std::sync::Arc;
use tokio::sync::Semaphore;

use crate::domain::Password;
use crate::server::config::SecuritySettings;

/// A PHC-format argon2id hash. Not `Serialize`, and never printed.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_db(phc: String) -> Self {
        Self(phc)
    }
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Longest password we are willing to hash at login; longer input is simply wrong.
pub const MAX_LOGIN_PASSWORD_CHARS: usize = 1024;

#[derive(Clone)]
pub struct PasswordService {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so both paths cost the same.
    dummy: Arc<PasswordHash>,
}

impl PasswordService {
    pub fn new(s: &SecuritySettings) -> anyhow::Result<Self> {
        let params = Params::new(
            s.argon2_memory_kib,
            s.argon2_iterations,
            s.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let permits = if s.argon2_max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            s.argon2_max_concurrent
        };
        let dummy = hash_blocking(&params, "inboxgrove-timing-equaliser-password")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let params = self.params.clone();
        let raw = password.expose().to_string();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &raw))
            .await
            .context("hashing task panicked")?
    }

    /// True when `candidate` matches `hash`. With no hash (unknown user) it verifies against
    /// a dummy and returns false, taking the same time.
    pub async fn verify(
        &self,
        candidate: &str,
        hash: Option<PasswordHash>,
    ) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        let candidate: String = candidate
            .chars()
            .take(MAX_LOGIN_PASSWORD_CHARS + 1)
            .collect();
        let ok = tokio::task::spawn_blocking(move || {
            let parsed = argon2::PasswordHash::new(hash.as_phc())
                .map_err(|e| anyhow::anyhow!("stored hash is malformed: {e}"))?;
            Ok::<_, anyhow::Error>(
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await
        .context("verify task panicked")??;
        Ok(known && ok)
    }
}

fn hash_blocking(params: &Params, raw: &str) -> anyhow::Result<PasswordHash> {
    let salt = SaltString::generate(&mut OsRng);
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let phc = hasher
        .hash_password(raw.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?
        .to_string();
    Ok(PasswordHash(phc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> PasswordService {
        PasswordService::new(&SecuritySettings {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            argon2_max_concurrent: 2,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let s = service();
        let p = Password::parse("correct horse battery").unwrap();
        let h = s.hash(&p).await.unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            s.verify("correct horse battery", Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!s.verify("correct horse battery!", Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies_even_with_the_dummy_password() {
        let s = service();
        assert!(
            !s.verify("inboxgrove-timing-equaliser-password", None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn a_hash_never_shows_in_debug_output() {
        let h = PasswordHash::from_db("$argon2id$secret".into());
        assert!(!format!("{h:?}").contains("secret"));
    }
}
