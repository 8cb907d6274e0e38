//! DKIM signing keys: RSA-2048 pairs made here, the private half stored encrypted
//! ([`SecretBox`], associated data `dkim:{domain_id}`) and handed to KumoMTA as a PKCS#8 PEM
//! file; the public half published as `v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo DER>`.
//!
//! Key generation costs 0.1–1 s of CPU in release (far more unoptimised): async code makes
//! keys through [`KeyGenerator`] (in `AppState`), which runs them on the blocking pool and at
//! most `domains.keygen_concurrency` at a time, so a burst of "Connect" requests cannot take
//! every core (or fill the blocking pool) away from the rest of the server.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::server::crypto::{CryptoError, SecretBox};

/// The size of keys InboxGrove makes (RFC 8301: at least 1024, 2048 is today's norm; 2048
/// still fits one DNS TXT record as two character-strings).
pub const DKIM_KEY_BITS: usize = 2048;
/// The smallest key [`DkimKey::from_private_pem`] accepts (RFC 8301 §3.2).
pub const MIN_KEY_BITS: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("generating the RSA key failed")]
    Generate(#[source] rsa::Error),
    #[error("the key generation task did not finish")]
    Task(#[source] tokio::task::JoinError),
    #[error("the key generator is shut down")]
    Closed,
    #[error(
        "not an RSA private key in PEM (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 \
         `BEGIN RSA PRIVATE KEY`)"
    )]
    InvalidPem(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the RSA key has {0} bits; DKIM needs at least {MIN_KEY_BITS}")]
    TooShort(usize),
    #[error("encoding the key failed")]
    Encode(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the stored DKIM key does not decrypt for this domain")]
    Decrypt(#[from] CryptoError),
}

/// An RSA private key for DKIM. Prints only its size; zeroized on drop (by `rsa`).
pub struct DkimKey {
    private: RsaPrivateKey,
}

impl fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimKey")
            .field("bits", &self.bits())
            .field("private", &"[REDACTED]")
            .finish()
    }
}

impl DkimKey {
    /// A new RSA-2048 key (e = 65537). Blocks for a noticeable time: from async code use
    /// [`KeyGenerator::generate`].
    pub fn generate() -> Result<Self, DkimError> {
        RsaPrivateKey::new(&mut OsRng, DKIM_KEY_BITS)
            .map(|private| Self { private })
            .map_err(DkimError::Generate)
    }

    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM, the two
    /// forms KumoMTA loads; the key is checked for consistency and a minimum size.
    pub fn from_private_pem(pem: &str) -> Result<Self, DkimError> {
        let private = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| DkimError::InvalidPem(Box::new(e)))?
        } else {
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| DkimError::InvalidPem(Box::new(e)))?
        };
        let key = Self { private };
        if key.bits() < MIN_KEY_BITS {
            return Err(DkimError::TooShort(key.bits()));
        }
        Ok(key)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.private.n().bits()
    }

    pub fn public_key(&self) -> RsaPublicKey {
        self.private.to_public_key()
    }

    /// The DER SubjectPublicKeyInfo (what sits between a public PEM's armour lines).
    pub fn public_key_der(&self) -> Result<Vec<u8>, DkimError> {
        self.public_key()
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|e| DkimError::Encode(Box::new(e)))
    }

    /// Base64 of the SubjectPublicKeyInfo DER: the DKIM record's `p=` tag.
    pub fn public_key_b64(&self) -> Result<String, DkimError> {
        Ok(BASE64.encode(self.public_key_der()?))
    }

    /// The private key as a PKCS#8 PEM (`BEGIN PRIVATE KEY`, LF line ends), for KumoMTA's
    /// key file; wiped from memory when dropped.
    pub fn private_pem(&self) -> Result<Zeroizing<String>, DkimError> {
        self.private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| DkimError::Encode(Box::new(e)))
    }

    /// The private key sealed for storage in the row of domain `domain_id`.
    pub fn encrypt_with(&self, secrets: &SecretBox, domain_id: Uuid) -> Result<Vec<u8>, DkimError> {
        let pem = self.private_pem()?;
        Ok(secrets.encrypt(pem.as_bytes(), aad(domain_id).as_bytes()))
    }

    /// Opens a key sealed by [`DkimKey::encrypt_with`] for the same domain.
    pub fn decrypt_with(
        secrets: &SecretBox,
        domain_id: Uuid,
        blob: &[u8],
    ) -> Result<Self, DkimError> {
        let pem = secrets.decrypt(blob, aad(domain_id).as_bytes())?;
        let pem = std::str::from_utf8(&pem).map_err(|e| DkimError::InvalidPem(Box::new(e)))?;
        Self::from_private_pem(pem)
    }
}

/// Makes DKIM keys on tokio's blocking pool, at most `permits` at a time (a
/// [`tokio::sync::Semaphore`]); callers beyond that wait their turn. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct KeyGenerator {
    permits: Arc<tokio::sync::Semaphore>,
    size: usize,
    stats: Arc<KeygenStats>,
}

#[derive(Debug, Default)]
struct KeygenStats {
    running: AtomicUsize,
    peak: AtomicUsize,
    generated: AtomicU64,
}

impl KeyGenerator {
    /// `concurrency` 0 means one per CPU.
    pub fn new(concurrency: usize) -> Self {
        let size = match concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(size)),
            size,
            stats: Arc::default(),
        }
    }

    /// How many keys may be made at once.
    pub fn concurrency(&self) -> usize {
        self.size
    }

    /// A new RSA-2048 key, once a permit is free.
    pub async fn generate(&self) -> Result<DkimKey, DkimError> {
        let key = self.run(DkimKey::generate).await??;
        self.stats.generated.fetch_add(1, Ordering::Relaxed);
        Ok(key)
    }

    /// Runs `work` on the blocking pool under one permit (the bound every key goes through).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DkimError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DkimError::Closed)?;
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || {
            let now = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
            stats.peak.fetch_max(now, Ordering::SeqCst);
            let out = work();
            stats.running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(DkimError::Task)
    }

    /// The most jobs that ever ran at once.
    pub fn peak(&self) -> usize {
        self.stats.peak.load(Ordering::SeqCst)
    }

    /// How many keys this generator has made.
    pub fn generated(&self) -> u64 {
        self.stats.generated.load(Ordering::Relaxed)
    }
}

/// Binds a sealed key to its domain row.
fn aad(domain_id: Uuid) -> String {
    format!("dkim:{domain_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::crypto::{ENV_KEY_ID, MasterKey, generate_key_base64};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePublicKey;
    use std::sync::OnceLock;

    /// Generating is slow unoptimised, so the tests that only read a key share one.
    fn key() -> &'static DkimKey {
        static KEY: OnceLock<DkimKey> = OnceLock::new();
        KEY.get_or_init(|| DkimKey::generate().unwrap())
    }

    fn secrets() -> SecretBox {
        SecretBox::new(&MasterKey::from_base64(ENV_KEY_ID, &generate_key_base64()).unwrap())
    }

    #[tokio::test]
    async fn a_generated_key_is_2048_bit_rsa_with_exponent_65537() {
        let keygen = KeyGenerator::new(1);
        let key = keygen.generate().await.unwrap();
        assert_eq!(keygen.generated(), 1);
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.public_key().e(), &rsa::BigUint::from(65537u32));
        assert_ne!(
            key.public_key(),
            self::key().public_key(),
            "keys must be fresh"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_keys_than_the_permits_are_made_at_once_and_the_rest_wait_their_turn() {
        let keygen = KeyGenerator::new(2);
        assert_eq!(keygen.concurrency(), 2);
        let jobs: Vec<_> = (0..8)
            .map(|i| {
                let k = keygen.clone();
                tokio::spawn(async move {
                    k.run(move || {
                        std::thread::sleep(std::time::Duration::from_millis(40));
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut done = Vec::new();
        for j in jobs {
            done.push(j.await.unwrap().unwrap());
        }
        done.sort_unstable();
        assert_eq!(done, (0..8).collect::<Vec<_>>(), "every job ran");
        // Eight 40 ms jobs on a pool of 512 blocking threads: unbounded, all eight overlap.
        assert_eq!(keygen.peak(), 2, "at most two ran at once");
    }

    #[test]
    fn zero_permits_means_one_per_cpu() {
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(KeyGenerator::new(0).concurrency(), cpus);
    }

    #[test]
    fn the_public_key_b64_is_a_subject_public_key_info_that_parses_back() {
        let b64 = key().public_key_b64().unwrap();
        // The fixed SPKI prefix of every 2048-bit RSA key (PKCS#1 would start "MIIBCgKCAQEA").
        assert!(
            b64.starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            "{b64}"
        );
        assert_eq!(b64.len(), 392);
        let der = BASE64.decode(&b64).unwrap();
        let parsed = RsaPublicKey::from_public_key_der(&der).unwrap();
        assert_eq!(parsed, key().public_key());
    }

    #[test]
    fn the_dns_record_built_from_it_carries_the_whole_key() {
        let b64 = key().public_key_b64().unwrap();
        let record = crate::server::dns::expected::dkim_value(&b64);
        assert_eq!(record, format!("v=DKIM1; k=rsa; p={b64}"));
    }

    #[test]
    fn the_private_pem_is_pkcs8_and_round_trips() {
        let pem = key().private_pem().unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "not PKCS#8"
        );
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
        let back = DkimKey::from_private_pem(&pem).unwrap();
        assert_eq!(back.public_key(), key().public_key());
        assert_eq!(*back.private_pem().unwrap(), *pem);
    }

    #[test]
    fn a_pkcs1_pem_is_accepted_too() {
        let pkcs1 = key().private.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let back = DkimKey::from_private_pem(&pkcs1).unwrap();
        assert_eq!(back.public_key(), key().public_key());
    }

    #[test]
    fn garbage_and_short_keys_are_refused() {
        assert!(matches!(
            DkimKey::from_private_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(DkimError::InvalidPem(_))
        ));
        assert!(matches!(
            DkimKey::from_private_pem(""),
            Err(DkimError::InvalidPem(_))
        ));
        let small = RsaPrivateKey::new(&mut OsRng, 512).unwrap();
        let pem = small.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(matches!(
            DkimKey::from_private_pem(&pem),
            Err(DkimError::TooShort(512))
        ));
    }

    #[test]
    fn the_encrypted_private_key_opens_for_its_own_domain_only() {
        let secrets = secrets();
        let (domain, other) = (Uuid::new_v4(), Uuid::new_v4());
        let blob = key().encrypt_with(&secrets, domain).unwrap();
        assert!(
            !blob
                .windows(27)
                .any(|w| w == b"-----BEGIN PRIVATE KEY-----")
        );

        let back = DkimKey::decrypt_with(&secrets, domain, &blob).unwrap();
        assert_eq!(back.public_key(), key().public_key());
        assert!(matches!(
            DkimKey::decrypt_with(&secrets, other, &blob),
            Err(DkimError::Decrypt(CryptoError::Rejected))
        ));
        assert!(matches!(
            DkimKey::decrypt_with(&self::secrets(), domain, &blob),
            Err(DkimError::Decrypt(CryptoError::Rejected))
        ));
    }

    #[test]
    fn a_key_prints_without_its_private_parts() {
        let printed = format!("{:?}", key());
        assert_eq!(printed, r#"DkimKey { bits: 2048, private: "[REDACTED]" }"#);
    }
}
