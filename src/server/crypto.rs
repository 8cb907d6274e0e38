//! Secrets at rest: AES-256-GCM under one master key from `INBOXGROVE_SECRET_KEY`.
//!
//! A stored secret (a DKIM private key; later an SMTP inbox password) is one `bytea`:
//!
//! ```text
//! version (1 byte) | key id (1 byte) | nonce (12 random bytes) | ciphertext | GCM tag (16 bytes)
//! ```
//!
//! The caller's associated data names the row the secret belongs to (`dkim:{domain_id}`,
//! `inbox-password:{inbox_id}`), so a ciphertext copied into another row does not decrypt. The
//! version and key id bytes are authenticated too.
//!
//! **Rotation** (not wired to the environment yet): the key id says which key sealed a value.
//! A new key gets a new id and becomes the primary; the old one stays for decryption
//! ([`SecretBox::with_retired`]) until every row whose second byte is the old id has been
//! re-encrypted (`WHERE get_byte(ciphertext, 1) = <old id>`).
//!
//! Nonces are random (96 bits), which is safe for far more values than InboxGrove will seal
//! under one key (NIST's bound is 2^32 per key).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Master keys are 32 random bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// The environment variable that holds the production key, base64.
pub const SECRET_KEY_VAR: &str = "INBOXGROVE_SECRET_KEY";
/// Where `Settings::load` keeps a development key when `INBOXGROVE_SECRET_KEY` is unset.
pub const DEV_KEY_FILE: &str = ".inboxgrove-dev-secret-key";
/// The key id of `INBOXGROVE_SECRET_KEY`.
pub const ENV_KEY_ID: u8 = 1;
/// The key id of development keys (the file, or one made in memory), so a value sealed under
/// one is recognisable after a real key is configured.
pub const DEV_KEY_ID: u8 = 0;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 2 + NONCE_LEN;

/// Why a stored value could not be opened. None of these carries key or plaintext bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the encrypted value is too short to be one")]
    Truncated,
    #[error("the encrypted value has format version {0}, which this build cannot read")]
    UnsupportedVersion(u8),
    #[error("the encrypted value was sealed with key id {0}, which is not configured")]
    UnknownKey(u8),
    #[error("the encrypted value does not open: wrong key, another row's value, or altered")]
    Rejected,
}

/// A master key that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not base64")]
    NotBase64,
    #[error(
        "the key decodes to {0} bytes; it must be {KEY_LEN} random bytes in base64 \
         (e.g. `openssl rand -base64 32`)"
    )]
    WrongLength(usize),
    #[error("the development key file {path} cannot be used")]
    DevFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the development key file {path} does not hold a key; delete it to make a new one \
         (values encrypted under the old one are then lost)"
    )]
    DevFileInvalid {
        path: PathBuf,
        #[source]
        source: Box<KeyError>,
    },
    #[error("two keys have the id {0}")]
    DuplicateId(u8),
}

/// Where the master key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `INBOXGROVE_SECRET_KEY`.
    Environment,
    /// A development key kept in this file (`Settings::load` without the variable).
    DevFile(PathBuf),
    /// A development key made in memory for this process (tests, settings built by hand):
    /// whatever it seals is unreadable after a restart.
    Ephemeral,
}

/// 32 key bytes with an id; prints as `[REDACTED]`, never serialized, cheap to clone.
#[derive(Clone, Debug)]
pub struct MasterKey {
    id: u8,
    bytes: Arc<secrecy::SecretBox<[u8; KEY_LEN]>>,
    origin: KeyOrigin,
}

impl MasterKey {
    /// Decodes a base64 key (surrounding whitespace ignored).
    pub fn from_base64(id: u8, encoded: &SecretString) -> Result<Self, KeyError> {
        let decoded = Zeroizing::new(
            BASE64
                .decode(encoded.expose_secret().trim())
                .map_err(|_| KeyError::NotBase64)?,
        );
        if decoded.len() != KEY_LEN {
            return Err(KeyError::WrongLength(decoded.len()));
        }
        Ok(Self {
            id,
            bytes: Arc::new(secrecy::SecretBox::init_with_mut(
                |k: &mut [u8; KEY_LEN]| k.copy_from_slice(&decoded),
            )),
            origin: KeyOrigin::Environment,
        })
    }

    /// A random key with this id, made here from the OS random source.
    pub fn random(id: u8, origin: KeyOrigin) -> Self {
        Self {
            id,
            bytes: Arc::new(secrecy::SecretBox::init_with_mut(
                |k: &mut [u8; KEY_LEN]| OsRng.fill_bytes(k),
            )),
            origin,
        }
    }

    /// A development key that lives only as long as this process.
    pub fn ephemeral() -> Self {
        Self::random(DEV_KEY_ID, KeyOrigin::Ephemeral)
    }

    /// The development key in `path`: read if the file exists, otherwise made and written
    /// (mode 0600) so that later runs reuse it. Two processes starting at once agree on one key.
    pub fn load_or_create_dev_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::DevFile {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            let key = Self::random(DEV_KEY_ID, KeyOrigin::DevFile(path.to_owned()));
            // Write a private temporary file, then link it into place: the link fails if
            // another process got there first, and nobody ever reads a half-written key.
            let tmp = path.with_file_name(format!(
                "{}.{}.tmp",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
                uuid::Uuid::new_v4().simple()
            ));
            let written = write_private(&tmp, &key.to_base64());
            let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => return Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let text = SecretString::from(std::fs::read_to_string(path).map_err(io)?);
        let mut key =
            Self::from_base64(DEV_KEY_ID, &text).map_err(|e| KeyError::DevFileInvalid {
                path: path.to_owned(),
                source: Box::new(e),
            })?;
        key.origin = KeyOrigin::DevFile(path.to_owned());
        Ok(key)
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// True for any key that did not come from `INBOXGROVE_SECRET_KEY`.
    pub fn is_development(&self) -> bool {
        self.origin != KeyOrigin::Environment
    }

    /// Says loudly, once per process start, that secrets are sealed under a development key.
    pub fn warn_if_development(&self) {
        match &self.origin {
            KeyOrigin::Environment => {}
            KeyOrigin::DevFile(path) => tracing::warn!(
                file = %path.display(),
                "INBOXGROVE_SECRET_KEY is not set: secrets at rest are encrypted with a \
                 DEVELOPMENT key kept in this file. Set INBOXGROVE_SECRET_KEY \
                 (`openssl rand -base64 32`) for any real deployment."
            ),
            KeyOrigin::Ephemeral => tracing::warn!(
                "INBOXGROVE_SECRET_KEY is not set: secrets at rest are encrypted with a \
                 DEVELOPMENT key that exists only in memory and is lost at exit."
            ),
        }
    }

    /// HMAC-SHA256 of `data` under a key for one `purpose`, itself HMAC-SHA256(master key,
    /// purpose): a stable pseudonym (to count by email without storing it) or a verifier (of a
    /// one-time code) that means nothing without the master key. Purposes never share a key.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> anyhow::Result<[u8; 32]> {
        use hmac::{Hmac, Mac};
        type HmacSha256 = Hmac<sha2::Sha256>;
        // HMAC accepts keys of any length; the error cannot happen but is not unwrapped.
        let mut derive = <HmacSha256 as Mac>::new_from_slice(self.bytes.expose_secret())
            .map_err(|_| anyhow::anyhow!("HMAC refused the master key"))?;
        derive.update(purpose.as_bytes());
        let subkey: Zeroizing<[u8; 32]> = Zeroizing::new(derive.finalize().into_bytes().into());
        let mut mac = <HmacSha256 as Mac>::new_from_slice(subkey.as_slice())
            .map_err(|_| anyhow::anyhow!("HMAC refused a derived key"))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.bytes.expose_secret()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.bytes.expose_secret()))
    }
}

/// A fresh random key in the `INBOXGROVE_SECRET_KEY` format (what `openssl rand -base64 32`
/// prints); tests give each app its own.
pub fn generate_key_base64() -> SecretString {
    let key = MasterKey::random(ENV_KEY_ID, KeyOrigin::Ephemeral);
    SecretString::from(key.to_base64().as_str())
}

/// A one-time code of six decimal digits from the OS random source (the modulo bias of
/// 2^64 mod 10^6 is far below anything measurable).
pub fn one_time_code() -> Zeroizing<String> {
    Zeroizing::new(format!("{:06}", OsRng.next_u64() % 1_000_000))
}

/// A token for a mailed link: 32 bytes from the OS random source, base64url without padding
/// (43 characters, safe in a URL).
pub fn url_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// What is stored of a mailed link's token: its SHA-256. The token has 256 random bits, so a
/// plain hash is enough (nothing to guess), and a copy of the table opens no link.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.trim().as_bytes()).into()
}

/// `n` random bytes from the OS random source (a TOTP secret, a recovery code).
pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    OsRng.fill_bytes(bytes.as_mut_slice());
    bytes
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Seals and opens secrets at rest. Cheap to clone (one `Arc`); prints no key material.
#[derive(Clone)]
pub struct SecretBox {
    keys: Arc<Keyring>,
}

struct Keyring {
    primary: u8,
    /// The primary first, then retired keys still accepted for decryption.
    ciphers: Vec<(u8, Aes256Gcm)>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("primary_key_id", &self.keys.primary)
            .field(
                "key_ids",
                &self
                    .keys
                    .ciphers
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SecretBox {
    pub fn new(key: &MasterKey) -> Self {
        Self {
            keys: Arc::new(Keyring {
                primary: key.id,
                ciphers: vec![(key.id, key.cipher())],
            }),
        }
    }

    /// Seals under `primary`; also opens values sealed under any of `retired` (rotation).
    pub fn with_retired<'a>(
        primary: &MasterKey,
        retired: impl IntoIterator<Item = &'a MasterKey>,
    ) -> Result<Self, KeyError> {
        let mut ciphers = vec![(primary.id, primary.cipher())];
        for key in retired {
            if ciphers.iter().any(|(id, _)| *id == key.id) {
                return Err(KeyError::DuplicateId(key.id));
            }
            ciphers.push((key.id, key.cipher()));
        }
        Ok(Self {
            keys: Arc::new(Keyring {
                primary: primary.id,
                ciphers,
            }),
        })
    }

    /// The id new values are sealed under.
    pub fn primary_key_id(&self) -> u8 {
        self.keys.primary
    }

    /// Seals `plaintext` for the row named by `aad` (e.g. `dkim:{domain_id}`) under the
    /// primary key, with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let (id, cipher) = &self.keys.ciphers[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        blob.extend_from_slice(&[VERSION, *id]);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(plaintext);
        let tag = cipher
            .encrypt_in_place_detached(
                &nonce,
                &associated_data(VERSION, *id, aad),
                &mut blob[HEADER_LEN..],
            )
            // AES-GCM refuses only messages over 64 GiB.
            .expect("a secret is far smaller than AES-GCM's 64 GiB limit");
        blob.extend_from_slice(&tag);
        blob
    }

    /// Opens a value sealed by [`SecretBox::encrypt`] with the same `aad`. Fails (never
    /// panics) on a truncated, altered or foreign value, a different key or different `aad`.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(CryptoError::Truncated);
        }
        let (version, id) = (blob[0], blob[1]);
        if version != VERSION {
            return Err(CryptoError::UnsupportedVersion(version));
        }
        let cipher = self
            .keys
            .ciphers
            .iter()
            .find(|(key_id, _)| *key_id == id)
            .map(|(_, c)| c)
            .ok_or(CryptoError::UnknownKey(id))?;
        let nonce = Nonce::from_slice(&blob[2..HEADER_LEN]);
        let (body, tag) = blob[HEADER_LEN..].split_at(blob.len() - HEADER_LEN - TAG_LEN);
        let mut plaintext = Zeroizing::new(body.to_vec());
        cipher
            .decrypt_in_place_detached(
                nonce,
                &associated_data(version, id, aad),
                &mut plaintext,
                Tag::from_slice(tag),
            )
            .map_err(|_| CryptoError::Rejected)?;
        Ok(plaintext)
    }
}

/// The header bytes are authenticated with the caller's context; the header has a fixed
/// length, so the concatenation is unambiguous.
fn associated_data(version: u8, id: u8, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + aad.len());
    out.extend_from_slice(&[version, id]);
    out.extend_from_slice(aad);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_key() -> MasterKey {
        MasterKey::from_base64(ENV_KEY_ID, &generate_key_base64()).unwrap()
    }

    #[test]
    fn a_keyed_hash_is_stable_per_key_and_purpose_and_differs_across_them() {
        let (a, b) = (env_key(), env_key());
        let h = |k: &MasterKey, p: &str| k.keyed_hash(p, b"jane@acme.io").unwrap();
        assert_eq!(h(&a, "email"), h(&a, "email"));
        assert_ne!(h(&a, "email"), h(&b, "email"));
        assert_ne!(h(&a, "email"), h(&a, "code"));
    }

    #[test]
    fn one_time_codes_are_six_digits() {
        for _ in 0..100 {
            let c = one_time_code();
            assert!(
                c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                *c
            );
        }
    }

    #[test]
    fn a_sealed_value_opens_to_the_same_bytes_under_the_same_context() {
        let secrets = SecretBox::new(&env_key());
        let blob = secrets.encrypt(b"-----BEGIN PRIVATE KEY-----", b"dkim:1");
        assert_eq!(blob.len(), HEADER_LEN + 27 + TAG_LEN);
        assert_eq!(&blob[..2], &[VERSION, ENV_KEY_ID]);
        assert!(!blob.windows(5).any(|w| w == b"BEGIN"), "plaintext leaked");
        let opened = secrets.decrypt(&blob, b"dkim:1").unwrap();
        assert_eq!(opened.as_slice(), b"-----BEGIN PRIVATE KEY-----");
    }

    #[test]
    fn an_empty_secret_round_trips() {
        let secrets = SecretBox::new(&env_key());
        let blob = secrets.encrypt(b"", b"x");
        assert_eq!(blob.len(), HEADER_LEN + TAG_LEN);
        assert!(secrets.decrypt(&blob, b"x").unwrap().is_empty());
    }

    #[test]
    fn two_encryptions_of_the_same_text_differ() {
        let secrets = SecretBox::new(&env_key());
        let a = secrets.encrypt(b"hunter2", b"inbox-password:7");
        let b = secrets.encrypt(b"hunter2", b"inbox-password:7");
        assert_ne!(a, b);
        assert_ne!(a[2..HEADER_LEN], b[2..HEADER_LEN], "nonces must differ");
    }

    #[test]
    fn every_flipped_byte_is_rejected_without_a_panic() {
        let secrets = SecretBox::new(&env_key());
        let blob = secrets.encrypt(b"secret", b"dkim:1");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            let err = secrets.decrypt(&bad, b"dkim:1").unwrap_err();
            let expected = match i {
                0 => CryptoError::UnsupportedVersion(VERSION ^ 1),
                1 => CryptoError::UnknownKey(ENV_KEY_ID ^ 1),
                _ => CryptoError::Rejected,
            };
            assert_eq!(err, expected, "byte {i}");
        }
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let secrets = SecretBox::new(&env_key());
        let blob = secrets.encrypt(b"secret", b"dkim:1");
        assert_eq!(
            secrets.decrypt(&blob, b"dkim:2").unwrap_err(),
            CryptoError::Rejected
        );
        assert_eq!(
            secrets.decrypt(&blob, b"").unwrap_err(),
            CryptoError::Rejected
        );
    }

    #[test]
    fn another_key_with_the_same_id_does_not_open_it() {
        let blob = SecretBox::new(&env_key()).encrypt(b"secret", b"dkim:1");
        let other = SecretBox::new(&env_key());
        assert_eq!(
            other.decrypt(&blob, b"dkim:1").unwrap_err(),
            CryptoError::Rejected
        );
    }

    #[test]
    fn a_value_sealed_under_a_development_key_names_its_key_id() {
        let blob = SecretBox::new(&MasterKey::ephemeral()).encrypt(b"secret", b"a");
        assert_eq!(
            SecretBox::new(&env_key()).decrypt(&blob, b"a").unwrap_err(),
            CryptoError::UnknownKey(DEV_KEY_ID)
        );
    }

    #[test]
    fn truncated_values_are_rejected() {
        let secrets = SecretBox::new(&env_key());
        let blob = secrets.encrypt(b"secret", b"a");
        for len in 0..blob.len() {
            assert!(secrets.decrypt(&blob[..len], b"a").is_err(), "length {len}");
        }
        assert_eq!(
            secrets.decrypt(&[], b"a").unwrap_err(),
            CryptoError::Truncated
        );
    }

    #[test]
    fn after_rotation_old_values_still_open_and_new_ones_use_the_new_key() {
        let old = env_key();
        let before = SecretBox::new(&old).encrypt(b"old secret", b"a");
        let new = MasterKey::from_base64(2, &generate_key_base64()).unwrap();
        let rotated = SecretBox::with_retired(&new, [&old]).unwrap();
        assert_eq!(
            rotated.decrypt(&before, b"a").unwrap().as_slice(),
            b"old secret"
        );
        let after = rotated.encrypt(b"new secret", b"a");
        assert_eq!(after[1], 2);
        assert_eq!(rotated.primary_key_id(), 2);
        assert_eq!(
            SecretBox::new(&old).decrypt(&after, b"a").unwrap_err(),
            CryptoError::UnknownKey(2)
        );
        assert!(matches!(
            SecretBox::with_retired(&new, [&new]),
            Err(KeyError::DuplicateId(2))
        ));
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        let short = SecretString::from(BASE64.encode([7u8; 16]));
        assert!(matches!(
            MasterKey::from_base64(1, &short),
            Err(KeyError::WrongLength(16))
        ));
        assert!(matches!(
            MasterKey::from_base64(1, &SecretString::from("not base64!")),
            Err(KeyError::NotBase64)
        ));
        let padded = SecretString::from(format!(" {}\n", BASE64.encode([7u8; 32])));
        assert_eq!(MasterKey::from_base64(1, &padded).unwrap().id(), 1);
    }

    #[test]
    fn keys_and_boxes_print_no_key_material() {
        let encoded = generate_key_base64();
        let key = MasterKey::from_base64(ENV_KEY_ID, &encoded).unwrap();
        let printed = format!("{key:?} {:?}", SecretBox::new(&key));
        assert!(printed.contains("REDACTED"), "{printed}");
        assert!(!printed.contains(encoded.expose_secret()), "{printed}");
        assert!(!printed.contains(&format!("{:?}", key.bytes.expose_secret())));
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("ig-crypto-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir(&dir).unwrap();
            Self(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_development_key_file_is_created_once_private_and_reused() {
        let dir = TempDir::new();
        let path = dir.0.join(DEV_KEY_FILE);
        let first = MasterKey::load_or_create_dev_file(&path).unwrap();
        assert_eq!(first.origin(), &KeyOrigin::DevFile(path.clone()));
        assert!(first.is_development());
        assert_eq!(first.id(), DEV_KEY_ID);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let blob = SecretBox::new(&first).encrypt(b"kept across restarts", b"a");
        let written = std::fs::read(&path).unwrap();

        let second = MasterKey::load_or_create_dev_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), written, "file rewritten");
        assert_eq!(
            SecretBox::new(&second)
                .decrypt(&blob, b"a")
                .unwrap()
                .as_slice(),
            b"kept across restarts"
        );
        // Only the key file is left behind (no temporary files).
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_development_key_file_is_an_error_that_says_what_to_do() {
        let dir = TempDir::new();
        let path = dir.0.join(DEV_KEY_FILE);
        std::fs::write(&path, "garbage").unwrap();
        let err = MasterKey::load_or_create_dev_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::DevFileInvalid { .. }));
        assert!(err.to_string().contains("delete it"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
    }
}
