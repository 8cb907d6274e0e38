//! The policy data KumoMTA reads (see `deploy/kumomta/`), written atomically:
//!
//! ```text
//! <root>/dkim_base.toml                          [base] only; written once if absent
//! <root>/keys/<domain>/<selector>.key            PKCS#8 PEM, 0640
//! <root>/tenants/<tenant>/dkim_data.toml         [domain."<d>"] selector, algo, filename
//! <root>/tenants/<tenant>/listener_domains.toml  ["<d>"] relay_from_authz = [mailboxes]
//! <root>/tenants/<tenant>/auth.json              tenant, status, domains, users{address: salt, sha256,
//!                                                 daily_allowance, warmup_day}
//! <root>/dovecot/<domain>.passwd                  Dovecot passwd-file: live mailboxes only
//! ```
//!
//! Each file is written to a hidden temp name (outside KumoMTA's `*.{toml,json}` monitor
//! glob), flushed and renamed over the old one, so the relay never reads half a file. Order on
//! publish: keys, DKIM data, relay permissions, then logins (no login works before signing
//! does), then the mail store's logins; a removal takes the logins away first.
//!
//! The mail store (Dovecot) reads one passwd-file per domain (`passwd-file` with `%Ld` in its
//! path): a line per live mailbox (`address:{SSHA256.HEX}…::::::`), none for a suspended
//! mailbox or any mailbox of a suspended tenant, so such a login fails within the second
//! Dovecot takes to notice the renamed file. Its first line names the tenant that wrote it, so
//! a tenant's publish removes only its own files of domains it no longer has. The key file of a domain the tenant's
//! previous DKIM data named and the new one does not (removed, failed) is deleted after the
//! new files are in place, so no key of a removed domain stays on the relay's disk.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::TenantRelayData;
use crate::domain::TenantId;

pub const DKIM_BASE: &str = "[base]\nselector = \"ig1\"\nheaders = [\"From\", \"To\", \"Cc\", \"Subject\", \"Date\", \"Message-ID\", \"Reply-To\", \"MIME-Version\", \"Content-Type\"]\nover_sign = true\n";

#[derive(Clone, Debug)]
pub struct PolicyWriter {
    root: PathBuf,
}

#[derive(Serialize)]
struct DkimDomain<'a> {
    selector: &'a str,
    algo: &'a str,
    filename: String,
}

#[derive(Serialize)]
struct DkimData<'a> {
    domain: BTreeMap<&'a str, DkimDomain<'a>>,
}

/// What a previous `dkim_data.toml` named: domain → selector.
#[derive(Deserialize, Default)]
struct PublishedDkim {
    #[serde(default)]
    domain: BTreeMap<String, PublishedDomain>,
}

#[derive(Deserialize)]
struct PublishedDomain {
    selector: String,
}

#[derive(Serialize)]
struct ListenerDomain {
    relay_from_authz: Vec<String>,
}

#[derive(Serialize)]
struct AuthUser<'a> {
    inbox_id: String,
    status: &'a str,
    salt: &'a str,
    sha256: &'a str,
    daily_allowance: i32,
    warmup_day: i32,
}

/// The password field of a Dovecot passwd-file line for `sha256 = hex(SHA-256(password ||
/// salt))`: Dovecot's `SSHA256` is `SHA-256(password || salt) || salt`, here hex-encoded, and
/// the salt is the ASCII of our hex salt (which is what the relay hashes too).
pub fn dovecot_password(salt: &str, sha256: &str) -> String {
    format!("{{SSHA256.HEX}}{sha256}{}", hex::encode(salt.as_bytes()))
}

/// The first line of a domain's passwd-file: which tenant wrote it.
fn passwd_header(tenant: TenantId) -> String {
    format!("# inboxgrove tenant {}\n", tenant.0)
}

/// A name that is safe as one path component (published domains always are: lower-case
/// ASCII labels), checked again before it names a file.
fn plain_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

#[derive(Serialize)]
struct AuthFile<'a> {
    tenant: String,
    status: &'a str,
    /// The tenant's hosted domains: the relay is their MX and hands their mail to Dovecot.
    domains: Vec<&'a str>,
    users: BTreeMap<&'a str, AuthUser<'a>>,
}

/// The rendered files of one tenant: (file name, content).
pub struct Rendered {
    pub keys: Vec<(PathBuf, String)>,
    pub files: Vec<(&'static str, String)>,
    /// (domain, passwd-file content), one per published domain.
    pub passwd: Vec<(String, String)>,
}

impl PolicyWriter {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tenant_dir(&self, tenant: TenantId) -> PathBuf {
        self.root.join("tenants").join(tenant.0.to_string())
    }

    /// Where the mail store's passwd-files live (Dovecot's `passwd-file` path, minus `%Ld`).
    pub fn passwd_dir(&self) -> PathBuf {
        self.root.join("dovecot")
    }

    pub fn passwd_path(&self, domain: &str) -> PathBuf {
        self.passwd_dir().join(format!("{domain}.passwd"))
    }

    pub fn key_path(&self, domain: &str, selector: &str) -> PathBuf {
        self.root
            .join("keys")
            .join(domain)
            .join(format!("{selector}.key"))
    }

    /// The files for `data`, in the order they are written.
    pub fn render(&self, data: &TenantRelayData) -> anyhow::Result<Rendered> {
        let absolute = |p: PathBuf| -> String {
            std::path::absolute(&p)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let mut keys = Vec::new();
        let mut dkim = DkimData {
            domain: BTreeMap::new(),
        };
        let mut listener: BTreeMap<&str, ListenerDomain> = BTreeMap::new();
        for d in &data.domains {
            let path = self.key_path(&d.name, &d.selector);
            keys.push((path.clone(), d.private_key_pem.to_string()));
            dkim.domain.insert(
                &d.name,
                DkimDomain {
                    selector: &d.selector,
                    algo: "sha256",
                    filename: absolute(path),
                },
            );
            listener.insert(
                &d.name,
                ListenerDomain {
                    relay_from_authz: Vec::new(),
                },
            );
        }
        let mut users = BTreeMap::new();
        let mut passwd: BTreeMap<&str, String> = data
            .domains
            .iter()
            .map(|d| (d.name.as_str(), passwd_header(data.tenant)))
            .collect();
        for u in &data.users {
            // Only mailboxes on a published domain can log in or relay.
            let Some(l) = listener.get_mut(u.domain()) else {
                continue;
            };
            if u.active && data.active {
                l.relay_from_authz.push(u.address.clone());
                // A published address is lower-case ASCII without ':' or a line break, so
                // it is one passwd-file line; anything else is left out, never written.
                if let Some(file) = passwd.get_mut(u.domain())
                    && u.address.bytes().all(|b| b.is_ascii_graphic() && b != b':')
                {
                    file.push_str(&u.address);
                    file.push(':');
                    file.push_str(&dovecot_password(&u.salt, &u.sha256));
                    file.push_str("::::::\n");
                }
            }
            users.insert(
                u.address.as_str(),
                AuthUser {
                    inbox_id: u.inbox_id.to_string(),
                    status: if u.active { "active" } else { "suspended" },
                    salt: &u.salt,
                    sha256: &u.sha256,
                    daily_allowance: u.daily_allowance,
                    warmup_day: u.warmup_day,
                },
            );
        }
        let auth = AuthFile {
            tenant: data.tenant.0.to_string(),
            status: if data.active { "active" } else { "suspended" },
            domains: data.domains.iter().map(|d| d.name.as_str()).collect(),
            users,
        };
        Ok(Rendered {
            keys,
            files: vec![
                (
                    "dkim_data.toml",
                    toml::to_string(&dkim).context("rendering dkim_data.toml")?,
                ),
                (
                    "listener_domains.toml",
                    toml::to_string(&listener).context("rendering listener_domains.toml")?,
                ),
                (
                    "auth.json",
                    serde_json::to_string_pretty(&auth).context("rendering auth.json")?,
                ),
            ],
            passwd: passwd
                .into_iter()
                .map(|(d, content)| (d.to_string(), content))
                .collect(),
        })
    }

    /// Writes the tenant's files (blocking I/O on a blocking thread).
    pub async fn write_tenant(&self, data: &TenantRelayData) -> anyhow::Result<()> {
        let rendered = self.render(data)?;
        let me = self.clone();
        let tenant = data.tenant;
        tokio::task::spawn_blocking(move || me.write_rendered(tenant, rendered))
            .await
            .context("the relay file writer panicked")?
    }

    fn write_rendered(&self, tenant: TenantId, r: Rendered) -> anyhow::Result<()> {
        let base = self.root.join("dkim_base.toml");
        if !base.exists() {
            write_atomic(&base, DKIM_BASE.as_bytes(), 0o640)?;
        }
        for (path, pem) in &r.keys {
            // A key never changes under its selector for one domain (KumoMTA caches keys for
            // 5 minutes): rotating means a new selector, so the same key is not rewritten. A
            // different key under the path is another (earlier) holder's: it is replaced.
            let same = std::fs::read(path).is_ok_and(|old| old == pem.as_bytes());
            if !same {
                write_atomic(path, pem.as_bytes(), 0o640)?;
            }
        }
        let dir = self.tenant_dir(tenant);
        let before = self.published_keys(tenant);
        let domains_before = self.published_domains(tenant);
        for (name, content) in &r.files {
            write_atomic(&dir.join(name), content.as_bytes(), 0o640)?;
        }
        for (domain, content) in &r.passwd {
            if plain_component(domain) {
                write_atomic(&self.passwd_path(domain), content.as_bytes(), 0o640)?;
            }
        }
        for gone in domains_before
            .iter()
            .filter(|d| !r.passwd.iter().any(|(now, _)| now == *d))
        {
            self.remove_passwd(tenant, gone)?;
        }
        let now: Vec<&PathBuf> = r.keys.iter().map(|(p, _)| p).collect();
        for stale in before.iter().filter(|p| !now.contains(p)) {
            self.remove_key(stale)?;
        }
        Ok(())
    }

    /// Deletes the domain's passwd-file if this tenant wrote it (a domain that moved to
    /// another tenant keeps that tenant's file).
    fn remove_passwd(&self, tenant: TenantId, domain: &str) -> anyhow::Result<()> {
        if !plain_component(domain) {
            return Ok(());
        }
        let path = self.passwd_path(domain);
        let ours = std::fs::read_to_string(&path)
            .is_ok_and(|text| text.starts_with(&passwd_header(tenant)));
        if ours {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {path:?}")),
            }
        }
        Ok(())
    }

    /// The domains the tenant's current `dkim_data.toml` names.
    fn published_domains(&self, tenant: TenantId) -> Vec<String> {
        let file = self.tenant_dir(tenant).join("dkim_data.toml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Vec::new();
        };
        toml::from_str::<PublishedDkim>(&text)
            .map(|p| {
                p.domain
                    .into_keys()
                    .filter(|d| plain_component(d))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The key files the tenant's current `dkim_data.toml` names (none if it has none).
    fn published_keys(&self, tenant: TenantId) -> Vec<PathBuf> {
        let file = self.tenant_dir(tenant).join("dkim_data.toml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Vec::new();
        };
        let published: PublishedDkim = toml::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, ?file, "unreadable DKIM data; no stale keys removed");
            PublishedDkim::default()
        });
        published
            .domain
            .iter()
            .filter(|(name, d)| plain_component(name) && plain_component(&d.selector))
            .map(|(name, d)| self.key_path(name, &d.selector))
            .collect()
    }

    /// Deletes a key file, and its domain's directory once empty.
    fn remove_key(&self, path: &Path) -> anyhow::Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {path:?}")),
        }
        if let Some(dir) = path.parent() {
            // Fails (and is meant to) while another selector's key is still there.
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }

    pub async fn remove_tenant(&self, tenant: TenantId) -> anyhow::Result<()> {
        let dir = self.tenant_dir(tenant);
        let me = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for domain in me.published_domains(tenant) {
                me.remove_passwd(tenant, &domain)?;
            }
            let auth = dir.join("auth.json");
            if auth.exists() {
                std::fs::remove_file(&auth).with_context(|| format!("removing {auth:?}"))?;
            }
            for key in me.published_keys(tenant) {
                me.remove_key(&key)?;
            }
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("removing {dir:?}")),
            }
        })
        .await
        .context("the relay file writer panicked")?
    }
}

/// Writes `path` so that readers see the old content or the new, never a mix: a hidden temp
/// file in the same directory (same filesystem), flushed, renamed over `path`, then the
/// directory flushed so the rename survives a crash.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().context("a policy file needs a directory")?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o750);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {dir:?}"))?;
    let name = path
        .file_name()
        .context("a policy file needs a name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| -> anyhow::Result<()> {
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("creating {tmp:?}"))?;
        f.write_all(content)
            .with_context(|| format!("writing {tmp:?}"))?;
        f.sync_all().with_context(|| format!("flushing {tmp:?}"))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming {tmp:?} to {path:?}"))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::providers::relay::RelayDomain;

    fn data(tenant: TenantId, domains: &[(&str, &str)]) -> TenantRelayData {
        TenantRelayData {
            tenant,
            active: true,
            domains: domains
                .iter()
                .map(|(name, pem)| RelayDomain {
                    name: name.to_string(),
                    selector: "ig1".into(),
                    private_key_pem: zeroize::Zeroizing::new(pem.to_string()),
                })
                .collect(),
            users: vec![],
        }
    }

    fn writer() -> PolicyWriter {
        PolicyWriter::new(
            std::env::temp_dir().join(format!("ig-files-{}", uuid::Uuid::new_v4().simple())),
        )
    }

    #[tokio::test]
    async fn a_domain_left_out_of_a_publish_loses_its_key_file_and_directory() {
        let w = writer();
        let tenant = TenantId(uuid::Uuid::new_v4());
        w.write_tenant(&data(tenant, &[("keep.io", "KEY-K"), ("gone.io", "KEY-G")]))
            .await
            .unwrap();
        let gone = w.key_path("gone.io", "ig1");
        assert_eq!(std::fs::read_to_string(&gone).unwrap(), "KEY-G");

        w.write_tenant(&data(tenant, &[("keep.io", "KEY-K")]))
            .await
            .unwrap();
        assert!(!gone.exists(), "the removed domain's key stays on disk");
        assert!(!w.root().join("keys").join("gone.io").exists());
        assert!(w.key_path("keep.io", "ig1").exists());
        let dkim = std::fs::read_to_string(w.tenant_dir(tenant).join("dkim_data.toml")).unwrap();
        assert!(!dkim.contains("gone.io"), "{dkim}");

        // Taking the tenant away takes its remaining keys too.
        w.remove_tenant(tenant).await.unwrap();
        assert!(!w.key_path("keep.io", "ig1").exists());
        assert!(!w.tenant_dir(tenant).exists());
        let _ = std::fs::remove_dir_all(w.root());
    }

    fn user(address: &str, active: bool) -> crate::server::providers::relay::RelayUser {
        crate::server::providers::relay::RelayUser {
            address: address.into(),
            inbox_id: uuid::Uuid::new_v4(),
            active,
            salt: "00112233445566778899aabbccddeeff".into(),
            sha256: "0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2".into(),
            daily_allowance: 5,
            warmup_day: 1,
        }
    }

    #[tokio::test]
    async fn the_mail_store_files_hold_live_mailboxes_only_one_line_each() {
        let w = writer();
        let tenant = TenantId(uuid::Uuid::new_v4());
        let mut d = data(tenant, &[("acme.io", "K")]);
        d.users = vec![
            user("jane@acme.io", true),
            user("held@acme.io", false),
            // Never published as a line: it would split the record or add another.
            user("evil:x@acme.io", true),
            user("evil\nroot::::::@acme.io", true),
            // Not on a published domain.
            user("bob@elsewhere.io", true),
        ];
        w.write_tenant(&d).await.unwrap();
        let text = std::fs::read_to_string(w.passwd_path("acme.io")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("# inboxgrove tenant {}", tenant.0));
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[1],
            format!(
                "jane@acme.io:{}::::::",
                dovecot_password(
                    "00112233445566778899aabbccddeeff",
                    "0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2"
                )
            )
        );
        assert!(!w.passwd_path("elsewhere.io").exists());

        // A suspended tenant: the file stays, with no login in it.
        d.active = false;
        w.write_tenant(&d).await.unwrap();
        let text = std::fs::read_to_string(w.passwd_path("acme.io")).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let _ = std::fs::remove_dir_all(w.root());
    }

    #[tokio::test]
    async fn a_domain_that_moved_to_another_tenant_keeps_that_tenants_logins() {
        let w = writer();
        let (a, b) = (
            TenantId(uuid::Uuid::new_v4()),
            TenantId(uuid::Uuid::new_v4()),
        );
        let mut da = data(a, &[("moved.io", "KA"), ("kept.io", "KK")]);
        da.users = vec![user("ann@moved.io", true), user("ann@kept.io", true)];
        w.write_tenant(&da).await.unwrap();
        // B now holds moved.io and publishes before A's publish without it.
        let mut db = data(b, &[("moved.io", "KB")]);
        db.users = vec![user("bob@moved.io", true)];
        w.write_tenant(&db).await.unwrap();
        let mut da = data(a, &[("kept.io", "KK")]);
        da.users = vec![user("ann@kept.io", true)];
        w.write_tenant(&da).await.unwrap();
        let moved = std::fs::read_to_string(w.passwd_path("moved.io")).unwrap();
        assert!(
            moved.contains("bob@moved.io:") && !moved.contains("ann@"),
            "{moved}"
        );
        // Removing A takes only A's files.
        w.remove_tenant(a).await.unwrap();
        assert!(!w.passwd_path("kept.io").exists());
        assert!(w.passwd_path("moved.io").exists());
        let _ = std::fs::remove_dir_all(w.root());
    }

    #[tokio::test]
    async fn a_domain_name_that_is_not_one_path_component_never_names_a_file() {
        let w = writer();
        let tenant = TenantId(uuid::Uuid::new_v4());
        w.write_tenant(&data(tenant, &[("..", "K")]))
            .await
            .unwrap_or(());
        assert!(!w.passwd_dir().join("...passwd").exists());
        let _ = std::fs::remove_dir_all(w.root());
    }

    #[tokio::test]
    async fn a_key_left_under_the_path_by_an_earlier_holder_is_replaced_not_reused() {
        let w = writer();
        write_atomic(&w.key_path("moved.io", "ig1"), b"EARLIER-HOLDER", 0o640).unwrap();
        let tenant = TenantId(uuid::Uuid::new_v4());
        w.write_tenant(&data(tenant, &[("moved.io", "NEW-HOLDER")]))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(w.key_path("moved.io", "ig1")).unwrap(),
            "NEW-HOLDER"
        );
        let _ = std::fs::remove_dir_all(w.root());
    }
}
