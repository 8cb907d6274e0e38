//! Runtime settings: `Leptos.toml`, then `INBOXGROVE_…` environment variables (`__` between
//! levels, e.g. `INBOXGROVE_TRIAL__DAYS=14`), then the standard `DATABASE_URL` and
//! `LEPTOS_SITE_ADDR` / `LEPTOS_SITE_ROOT` / `LEPTOS_SITE_PKG_DIR` / `LEPTOS_OUTPUT_NAME`.
//! Secrets come only from the environment.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::domain::{Cents, PlanView};
use crate::server::crypto::{self, MasterKey};

pub mod dns;
pub mod providers;

pub use dns::DnsSettings;
pub use providers::{CloudflareSettings, Contact, NamecheapSettings, SandboxRegistrarSettings};

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub trial: TrialSettings,
    pub plans: BTreeMap<String, PlanSettings>,
    pub rate_limits: RateLimitSettings,
    pub security: SecuritySettings,
    pub billing: BillingSettings,
    pub providers: ProviderSettings,
    pub dns: DnsSettings,
    pub registrar: RegistrarSettings,
    #[serde(default)]
    pub mail: MailSettings,
    #[serde(default)]
    pub jobs: JobSettings,
    #[serde(default)]
    pub domains: DomainSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub relay: RelaySettings,
    #[serde(default)]
    pub inboxes: InboxSettings,
    #[serde(default)]
    pub mailstore: MailStoreSettings,
    #[serde(default)]
    pub abuse: AbuseSettings,
    #[serde(default)]
    pub deliverability: DeliverabilitySettings,
    #[serde(default)]
    pub api: ApiSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// `METRICS_TOKEN`: with it, `/metrics` also answers on the main address to
    /// `Authorization: Bearer <token>` (environment only; at least 16 characters).
    #[serde(skip)]
    pub metrics_token: Option<SecretString>,
    /// `KUMOMTA_WEBHOOK_SECRET`: the bearer token KumoMTA's log hook sends (environment only).
    #[serde(skip)]
    pub kumomta_webhook_secret: Option<SecretString>,
    /// `SMTP_USERNAME` / `SMTP_PASSWORD`, from the environment only.
    #[serde(skip)]
    pub smtp: SmtpSecrets,
    #[serde(default)]
    pub cloudflare: Option<CloudflareSettings>,
    /// `NAMECHEAP_API_KEY` / `CLOUDFLARE_API_TOKEN`, from the environment only.
    #[serde(skip)]
    pub provider_keys: ProviderKeys,
    /// `STRIPE_SECRET_KEY` / `STRIPE_WEBHOOK_SECRET`, from the environment only.
    #[serde(skip)]
    pub stripe: StripeSecrets,
    /// From `DATABASE_URL` only.
    #[serde(skip)]
    pub database_url: Option<SecretString>,
    /// The key for secrets at rest: `INBOXGROVE_SECRET_KEY` (32 bytes, base64). Without it,
    /// a development key: made in memory by `load_from`, kept in a file by `load`.
    #[serde(skip, default = "MasterKey::ephemeral")]
    pub secret_key: MasterKey,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    pub site_addr: SocketAddr,
    /// The address customers use; `https://…` turns on Secure cookies. Unset (or empty), it
    /// follows the address the app listens on (`site_addr`, i.e. `LEPTOS_SITE_ADDR`).
    #[serde(default)]
    pub public_url: String,
    /// True when `public_url` was not set and follows the listen address (`startup` keeps it on
    /// the address actually bound); false when it was set explicitly, which always wins.
    #[serde(skip)]
    pub public_url_follows_listener: bool,
    pub site_root: String,
    pub site_pkg_dir: String,
    pub output_name: String,
    pub body_limit_bytes: usize,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    pub session_days: i64,
    /// A session ends this many days after sign-in, however active (the absolute lifetime).
    #[serde(default = "default_session_max_days")]
    pub session_max_days: i64,
    pub db_max_connections: u32,
    /// An https deployment whose providers are (some of them) sandboxes, on purpose: a public
    /// demo where no card is charged and nothing real is bought. Without it such a
    /// deployment refuses to start (see `validate`).
    #[serde(default)]
    pub public_demo: bool,
    /// On SIGTERM: new connections are refused at once, requests in flight and running jobs
    /// get this long to finish, then the process exits (a job cut off is retried by any
    /// replica once its lease expires).
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
}

fn default_shutdown_grace_secs() -> u64 {
    20
}

/// Prometheus metrics (`/metrics`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// A separate listener that serves only `/metrics`, without a token: keep it on a private
    /// address. Empty: none (then `/metrics` answers only with `METRICS_TOKEN`, on the main
    /// address). A port already taken (another replica on this machine) is warned about and
    /// skipped.
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

/// The environment variable that sets [`MetricsSettings::listen`].
pub const METRICS_LISTEN_VAR: &str = "INBOXGROVE_METRICS__LISTEN";

impl MetricsSettings {
    /// The listener's address, `None` when switched off.
    pub fn listen_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        let listen = self.listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen.parse().map(Some).with_context(|| {
            format!("metrics.listen ({METRICS_LISTEN_VAR}) is not an address: {listen:?}")
        })
    }
}

fn default_session_max_days() -> i64 {
    30
}

/// The setting that allows sandbox providers behind an https public URL, as operators type it.
pub const PUBLIC_DEMO_VAR: &str = "INBOXGROVE_SERVER__PUBLIC_DEMO";

#[derive(Clone, Debug, Deserialize)]
pub struct TrialSettings {
    pub days: i64,
    pub max_domains: i64,
    pub max_inboxes: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PlanSettings {
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub stripe_price_id: String,
    pub max_domains: i64,
    pub max_inboxes: i64,
    pub api_calls_per_month: i64,
    /// Inboxes past `max_inboxes` are allowed and billed at this much per extra inbox a month
    /// (the peak of the period, through Stripe's billing meter); unset: the limit is hard.
    #[serde(default)]
    pub overage_cents_per_inbox: Option<i64>,
    /// With real Stripe: the plan's metered price (on the `billing.overage_meter_event`
    /// meter, aggregation `last`), added to the subscription at Checkout.
    #[serde(default)]
    pub overage_price_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RateLimitSettings {
    /// Failed logins / signups allowed per (email, client address) inside the window (tight).
    pub auth_max_failures: i64,
    pub auth_window_secs: i64,
    /// Failed logins / signups allowed per client address (an IPv6 /64), any email, inside
    /// the window: loose, sized for an office behind one NAT.
    #[serde(default = "default_auth_ip_max_failures")]
    pub auth_ip_max_failures: i64,
    #[serde(default = "default_hour_secs")]
    pub auth_ip_window_secs: i64,
    /// Failed logins for one email from every address inside the window, after which the
    /// password alone no longer signs in: a one-time code mailed to the address is needed too.
    #[serde(default = "default_auth_email_max_failures")]
    pub auth_email_max_failures: i64,
    #[serde(default = "default_hour_secs")]
    pub auth_email_window_secs: i64,
    /// How long a mailed sign-in code is valid, and the wrong tries that void it.
    #[serde(default = "default_login_code_ttl_secs")]
    pub login_code_ttl_secs: i64,
    #[serde(default = "default_login_code_max_attempts")]
    pub login_code_max_attempts: i32,
    /// Requests per signed-in tenant (pages, server functions, exports) per minute / hour.
    #[serde(default = "default_tenant_per_minute")]
    pub tenant_per_minute: u32,
    #[serde(default = "default_tenant_per_hour")]
    pub tenant_per_hour: u32,
    /// Login and signup attempts per client IP per minute (successful or not).
    #[serde(default = "default_ip_auth_per_minute")]
    pub ip_auth_per_minute: u32,
}

fn default_auth_ip_max_failures() -> i64 {
    50
}
fn default_auth_email_max_failures() -> i64 {
    20
}
fn default_hour_secs() -> i64 {
    3600
}
fn default_login_code_ttl_secs() -> i64 {
    900
}
fn default_login_code_max_attempts() -> i32 {
    5
}
fn default_tenant_per_minute() -> u32 {
    60
}
fn default_tenant_per_hour() -> u32 {
    1000
}
fn default_ip_auth_per_minute() -> u32 {
    20
}

#[derive(Clone, Debug, Deserialize)]
pub struct SecuritySettings {
    /// argon2id memory in KiB, iterations, lanes (OWASP: 19456 / 2 / 1).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub argon2_max_concurrent: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BillingSettings {
    /// Collect a card in Checkout before the trial starts (`payment_method_collection=always`);
    /// false lets a trial start without one (`if_required`).
    pub card_required: bool,
    /// Failed payments (invoice attempts) before the tenant is suspended for billing.
    pub failed_payments_before_suspension: i32,
    /// Stripe's API root, ending in `/` (a local fake in tests).
    pub stripe_api_base: String,
    /// Webhook bodies may be larger than form posts (invoices with many lines).
    pub webhook_body_limit_bytes: usize,
    /// A webhook signature older or newer than this is refused.
    pub webhook_tolerance_secs: i64,
    /// The `event_name` of the Stripe billing meter that extra inboxes are reported to.
    #[serde(default = "default_overage_meter_event")]
    pub overage_meter_event: String,
    /// The sandbox Stripe retries undelivered webhooks this often (one deliverer at a time
    /// across replicas).
    #[serde(default = "default_sandbox_redeliver_ms")]
    pub sandbox_redeliver_ms: u64,
}

fn default_sandbox_redeliver_ms() -> u64 {
    5000
}

fn default_overage_meter_event() -> String {
    "inboxgrove_extra_inboxes".into()
}

/// `[registrar]`: what customers can buy and what we add on top of the registrar's cost.
#[derive(Clone, Debug, Deserialize)]
pub struct RegistrarSettings {
    /// Extensions offered in search, e.g. `["com", "io", "co"]`.
    pub tlds: Vec<String>,
    /// Added to the registrar's cost for the customer's price, in cents.
    pub margin_cents: Cents,
    /// Registration length sold (years).
    pub years: u32,
    pub sandbox: SandboxRegistrarSettings,
    /// The registrant of every domain we register (InboxGrove as reseller; the organisation is
    /// replaced by the customer's company and the email by its owner's).
    pub contact: Contact,
    /// Used when `NAMECHEAP_API_KEY` is set.
    #[serde(default)]
    pub namecheap: Option<NamecheapSettings>,
}

#[derive(Clone, Debug, Default)]
pub struct ProviderKeys {
    pub namecheap_api_key: Option<SecretString>,
    pub cloudflare_api_token: Option<SecretString>,
}

#[derive(Clone, Debug, Default)]
pub struct StripeSecrets {
    pub secret_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ProviderSettings {
    /// `auto` (Stripe when `STRIPE_SECRET_KEY` is set, else the sandbox), `stripe`, `sandbox`.
    pub payments: String,
    pub registrar: String,
    pub dns: String,
    pub relay: String,
    /// `auto` (SMTP when `mail.smtp_host` is set, else the sandbox outbox), `smtp`, `sandbox`.
    pub mail: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// The SMTP relay; unset (or empty) means the sandbox outbox.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    /// The `From:` of every message, e.g. `InboxGrove <hello@inboxgrove.com>`.
    pub from: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            from: "InboxGrove <hello@inboxgrove.local>".into(),
        }
    }
}

/// How the SMTP connection is secured: `none` (local relays only), `starttls`, implicit `tls`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Clone, Debug, Default)]
pub struct SmtpSecrets {
    pub username: Option<SecretString>,
    pub password: Option<SecretString>,
}

/// The durable job queue (`server::jobs`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// Job-running tasks in this process; 0 runs none (another process does the work).
    pub workers: usize,
    /// How often an idle worker looks for due jobs (an enqueue in this process wakes it early).
    pub poll_interval_ms: u64,
    /// A running job whose lease is not renewed for this long is taken again by any worker.
    pub lease_secs: u64,
    /// Attempts before a job ends `failed` (a job may ask for another number).
    pub max_attempts: i32,
    /// Retry n waits `backoff_base_ms * 2^(n-1)`, at most `backoff_max_secs`.
    pub backoff_base_ms: u64,
    pub backoff_max_secs: u64,
    /// How often the trial-reminder scanner runs.
    pub trial_scan_every_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval_ms: 1000,
            lease_secs: 300,
            max_attempts: 8,
            backoff_base_ms: 10_000,
            backoff_max_secs: 3600,
            trial_scan_every_secs: 900,
        }
    }
}

/// `[domains]`: the purchase saga and the DNS health checks.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct DomainSettings {
    /// Attempts of the purchase saga; a step still failing transiently on the last one is
    /// treated as permanent (the payment is refunded).
    pub saga_max_attempts: i32,
    /// Attempts of a refund (Stripe down for a while must not lose it).
    pub refund_max_attempts: i32,
    /// A domain still awaiting payment after this long (Checkout abandoned) frees its name.
    pub pending_payment_ttl_secs: i64,
    /// How long a name's availability and price from the registrar is reused by searches.
    pub search_cache_secs: u64,
    /// DKIM keys (RSA-2048) made at once; 0 means one per CPU.
    pub keygen_concurrency: usize,
    /// A bought domain with auto-renew on is renewed this many days before it expires.
    pub renew_days_before: i64,
    /// Attempts of one renewal (a declined card, the registrar down) before it is given up,
    /// the money returned and the owner told.
    pub renewal_max_attempts: i32,
    /// How often expiries are looked at (reminders, renewals that fell due).
    pub renewal_scan_secs: u64,
    /// Hours between tries of a renewal whose card was declined.
    pub renewal_retry_hours: i64,
}

impl Default for DomainSettings {
    fn default() -> Self {
        Self {
            saga_max_attempts: 6,
            refund_max_attempts: 20,
            pending_payment_ttl_secs: 3600,
            search_cache_secs: 300,
            keygen_concurrency: 0,
            renew_days_before: 14,
            renewal_max_attempts: 4,
            renewal_scan_secs: 3600,
            renewal_retry_hours: 24,
        }
    }
}

/// `[relay]`: where the relay's policy data is written and what customers put in their tools.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RelaySettings {
    /// The directory KumoMTA reads (`/opt/kumomta/etc/inboxgrove`); the sandbox writes the same
    /// files into a local one.
    pub policy_dir: String,
    /// KumoMTA's HTTP listener (`providers.relay = "kumomta"`); InboxGrove must be one of its
    /// `trusted_hosts`.
    pub kumomta_api_url: String,
    pub request_timeout_ms: u64,
    /// Attempts of a publish before its job ends `failed` (the inboxes stay `pending_relay`,
    /// and the next change or a retry from the admin panel publishes again).
    pub publish_max_attempts: i32,
    /// How long a tenant-scoped suspension at the relay lasts (re-asserted while suspended).
    pub suspend_days: i64,
    /// What the credential exports say.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: String,
    /// What the exports and the inbox page say about IMAP (production: the Dovecot host's
    /// public name, 993, `SSL/TLS`; `make run`: the local Dovecot on 127.0.0.1).
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_security: String,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            policy_dir: ".data/relay".into(),
            kumomta_api_url: "http://127.0.0.1:8000".into(),
            request_timeout_ms: 5000,
            publish_max_attempts: 20,
            suspend_days: 30,
            smtp_host: "smtp.inboxgrove.local".into(),
            smtp_port: 587,
            smtp_security: "STARTTLS".into(),
            imap_host: "imap.inboxgrove.local".into(),
            imap_port: 993,
            imap_security: "SSL/TLS".into(),
        }
    }
}

/// `[mailstore]`: the Dovecot that holds the mailboxes, as InboxGrove asks it whether a login
/// works (the proof before an inbox is `active`) and how many messages an inbox holds.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MailStoreSettings {
    /// `sandbox` (checks the published passwd-files itself; holds no mail) or `dovecot`
    /// (IMAP to `imap_host:imap_port`).
    pub provider: String,
    /// Where InboxGrove reaches Dovecot's IMAP (may differ from what customers are told).
    pub imap_host: String,
    pub imap_port: u16,
    /// Implicit TLS (993) to `imap_host`, verified against the webpki roots.
    pub imap_tls: bool,
    pub timeout_ms: u64,
    /// IMAP logins at once in a bulk check.
    pub check_concurrency: usize,
    /// Non-empty: InboxGrove writes a Dovecot config under this directory and runs Dovecot
    /// itself on `imap_port` (loopback, no TLS), stopping it on exit: `make run` and tests.
    pub run_dir: String,
}

impl Default for MailStoreSettings {
    fn default() -> Self {
        Self {
            provider: "sandbox".into(),
            imap_host: "127.0.0.1".into(),
            imap_port: 1143,
            imap_tls: false,
            timeout_ms: 5000,
            check_concurrency: 16,
            run_dir: String::new(),
        }
    }
}

/// `[abuse]`: the automatic kill-switch triggers, evaluated from the stored delivery log.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct AbuseSettings {
    /// Spam complaints (KumoMTA Feedback records) in 24 h that suspend the tenant.
    pub complaints_24h: i64,
    /// Bounces / (deliveries + bounces) in 24 h at or above this suspend the tenant ...
    pub bounce_rate: f64,
    /// ... once at least this many messages were delivered or bounced in those 24 h.
    pub bounce_min_messages: i64,
}

impl Default for AbuseSettings {
    fn default() -> Self {
        Self {
            complaints_24h: 10,
            bounce_rate: 0.10,
            bounce_min_messages: 100,
        }
    }
}

/// `[deliverability]`: the health score's thresholds, the blocklists checked, and how often.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct DeliverabilitySettings {
    #[serde(flatten)]
    pub thresholds: crate::domain::deliverability::Thresholds,
    /// How often every active domain and relay IP is looked up on every list.
    pub blocklist_every_secs: u64,
    /// How often every tenant's scores are recomputed (they also are after each log batch).
    pub score_every_secs: u64,
    /// A log batch rescores its tenants this long after it (one pending job per tenant), so a
    /// burst of batches is scored once.
    pub score_delay_secs: u64,
    /// "Check now" asks the lists again at most this often per domain (their free quotas are
    /// shared by every tenant); sooner, the last result is shown.
    pub check_now_min_secs: i64,
    /// A domain listing suspends its tenant (actor `system`, category `abuse`).
    pub suspend_on_listing: bool,
    /// Lookups in flight at once during a scan.
    pub lookup_concurrency: usize,
    /// The sandbox relay makes up some deliveries, bounces and a complaint for new inboxes
    /// (marked as sandbox data), so `make run` shows charts. Sandbox relay only.
    pub sandbox_traffic: bool,
    pub blocklists: Vec<BlocklistSettings>,
}

/// The public `/v1` API, its metering and the outbound webhooks.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// A list's page size when the caller names none, and the most it may ask for.
    pub page_size: i64,
    pub max_page_size: i64,
    /// Each process writes its counted calls to the database this often: a crash loses at
    /// most this long's counts, and several replicas may overshoot a spent allowance by as
    /// much between them.
    pub meter_flush_secs: u64,
    /// A workspace's month total is re-read from the database at most this often (other
    /// replicas' calls), besides after each flush of its own.
    pub meter_refresh_secs: u64,
    /// The allowance while on the free trial (plans name their own).
    pub trial_calls_per_month: i64,
    /// Webhook targets and tool pushes may resolve to private, loopback or link-local
    /// addresses (tests and local development only).
    pub allow_private_targets: bool,
    /// One webhook attempt's time limit.
    pub webhook_timeout_ms: u64,
    /// Attempts of one delivery before it is given up (exponential backoff between them).
    pub webhook_attempts: i32,
    /// The first retry's wait; each next one doubles, up to `webhook_max_backoff_secs`.
    pub webhook_backoff_secs: u64,
    pub webhook_max_backoff_secs: u64,
    /// An endpoint failing without a success for this long is disabled, and the owner mailed.
    pub webhook_disable_after_hours: i64,
    /// A rotated-out secret keeps signing beside the new one this long.
    pub webhook_rotation_overlap_hours: i64,
    /// The cold-email tools' API base URLs (fakes in tests); `sandbox` pushes into the
    /// embedded sandbox account instead.
    pub instantly_base_url: String,
    pub smartlead_base_url: String,
    pub push_timeout_ms: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            page_size: 50,
            max_page_size: 200,
            meter_flush_secs: 5,
            meter_refresh_secs: 30,
            trial_calls_per_month: 1_000,
            allow_private_targets: false,
            webhook_timeout_ms: 5_000,
            webhook_attempts: 12,
            webhook_backoff_secs: 30,
            webhook_max_backoff_secs: 6 * 3600,
            webhook_disable_after_hours: 72,
            webhook_rotation_overlap_hours: 24,
            instantly_base_url: "sandbox".into(),
            smartlead_base_url: "sandbox".into(),
            push_timeout_ms: 10_000,
        }
    }
}

impl Default for DeliverabilitySettings {
    fn default() -> Self {
        Self {
            thresholds: Default::default(),
            blocklist_every_secs: 6 * 3600,
            score_every_secs: 3600,
            score_delay_secs: 30,
            check_now_min_secs: 60,
            suspend_on_listing: false,
            lookup_concurrency: 8,
            sandbox_traffic: false,
            blocklists: Vec::new(),
        }
    }
}

/// What a blocklist lists.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlocklistKind {
    /// Domain names: `<domain>.<zone>`.
    Domain,
    /// IPv4 addresses: `<reversed octets>.<zone>`.
    Ip,
}

/// One DNS blocklist: its zone and which A answers mean "listed" and which mean the list
/// refused the question (over quota, a public resolver): never a listing.
#[derive(Clone, Debug, Deserialize)]
pub struct BlocklistSettings {
    pub name: String,
    pub zone: String,
    pub kind: BlocklistKind,
    /// Addresses or IPv4 prefixes (`127.0.1.0/24`) meaning listed.
    pub listed: Vec<String>,
    /// Addresses or prefixes meaning "refused / over quota".
    #[serde(default)]
    pub errors: Vec<String>,
}

impl BlocklistSettings {
    /// The zone is a name and every answer prefix parses (startup refuses a list otherwise).
    pub fn validate(&self) -> Result<(), String> {
        let zone = self.zone.trim().trim_end_matches('.');
        if zone.is_empty() || zone.contains(char::is_whitespace) || !zone.contains('.') {
            return Err(format!("blocklist {}: zone is not a DNS name", self.name));
        }
        if self.listed.is_empty() {
            return Err(format!(
                "blocklist {}: `listed` must name the answers that mean listed",
                self.name
            ));
        }
        for p in self.listed.iter().chain(&self.errors) {
            crate::domain::deliverability::Prefix::parse(p)
                .map_err(|e| format!("blocklist {}: {e}", self.name))?;
        }
        Ok(())
    }
}

/// `[inboxes]`: the magic button's bounds and the warm-up ramp.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct InboxSettings {
    /// Inboxes per domain in one batch.
    pub max_per_domain: u32,
    /// A new inbox's daily sending cap.
    pub default_daily_cap: i32,
    /// Warm-up: `warmup_start` messages a day on day 1, `+warmup_step` a day, up to
    /// `warmup_max` (never above the inbox's own cap).
    pub warmup_start: i32,
    pub warmup_step: i32,
    pub warmup_max: i32,
    pub page_size: i64,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            max_per_domain: 100,
            default_daily_cap: 30,
            warmup_start: 5,
            warmup_step: 5,
            warmup_max: 30,
            page_size: 50,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    /// `json` (default) or `text`.
    pub format: String,
    pub filter: String,
    /// OTLP/HTTP traces URL (e.g. `http://collector:4318/v1/traces`): every span (a request,
    /// its queries' callers, jobs) is exported there in batches. Empty (default): off.
    #[serde(default)]
    pub otlp_endpoint: String,
    /// `service.name` on the exported spans.
    #[serde(default = "default_otlp_service")]
    pub otlp_service: String,
}

fn default_otlp_service() -> String {
    "inboxgrove".into()
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "json".into(),
            filter: "info".into(),
            otlp_endpoint: String::new(),
            otlp_service: default_otlp_service(),
        }
    }
}

impl Settings {
    /// Loads from the file named by `INBOXGROVE_CONFIG` (default `Leptos.toml`) and the
    /// environment.
    /// Without `INBOXGROVE_SECRET_KEY` (and only where that is allowed, see `validate`), the
    /// development key in `.inboxgrove-dev-secret-key` is used, made on the first run.
    pub fn load() -> anyhow::Result<Self> {
        let path = std::env::var("INBOXGROVE_CONFIG").unwrap_or_else(|_| "Leptos.toml".into());
        let mut settings = Self::load_from(&path, std::env::vars())?;
        if settings.secret_key.is_development() {
            let file = std::path::Path::new(crypto::DEV_KEY_FILE);
            settings.secret_key = MasterKey::load_or_create_dev_file(file)
                .context("INBOXGROVE_SECRET_KEY is not set and the development key is unusable")?;
        }
        Ok(settings)
    }

    pub fn load_from(
        path: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
        // The master key never enters the config tree (or its error messages).
        let mut config_vars = vars.clone();
        config_vars.remove(crypto::SECRET_KEY_VAR);
        let mut builder = config::Config::builder()
            .add_source(config::File::with_name(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("INBOXGROVE")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(config_vars)),
            );
        for (var, key) in [
            ("LEPTOS_SITE_ADDR", "server.site_addr"),
            ("LEPTOS_SITE_ROOT", "server.site_root"),
            ("LEPTOS_SITE_PKG_DIR", "server.site_pkg_dir"),
            ("LEPTOS_OUTPUT_NAME", "server.output_name"),
        ] {
            if let Some(v) = vars.get(var) {
                builder = builder.set_override(key, v.clone())?;
            }
        }
        let mut settings: Settings = builder
            .build()
            .with_context(|| format!("reading settings from {path} and the environment"))?
            .try_deserialize()
            .with_context(|| format!("settings in {path} or INBOXGROVE_* are invalid"))?;
        settings.database_url = vars
            .get("DATABASE_URL")
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.clone()));
        let secret = |name: &str| {
            vars.get(name)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.clone()))
        };
        settings.provider_keys = ProviderKeys {
            namecheap_api_key: secret("NAMECHEAP_API_KEY"),
            cloudflare_api_token: secret("CLOUDFLARE_API_TOKEN"),
        };
        settings.stripe = StripeSecrets {
            secret_key: secret("STRIPE_SECRET_KEY"),
            webhook_secret: secret("STRIPE_WEBHOOK_SECRET"),
        };
        settings.smtp = SmtpSecrets {
            username: secret("SMTP_USERNAME"),
            password: secret("SMTP_PASSWORD"),
        };
        settings.kumomta_webhook_secret = secret("KUMOMTA_WEBHOOK_SECRET");
        settings.metrics_token = secret("METRICS_TOKEN");
        if settings
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            anyhow::bail!("METRICS_TOKEN must be at least 16 characters");
        }
        settings.metrics.listen_addr()?;
        settings.secret_key = match secret(crypto::SECRET_KEY_VAR) {
            Some(encoded) => MasterKey::from_base64(crypto::ENV_KEY_ID, &encoded)
                .context("INBOXGROVE_SECRET_KEY is invalid")?,
            None => MasterKey::ephemeral(),
        };
        if settings.server.public_url.trim().is_empty() {
            settings.server.public_url = url_for_listener(settings.server.site_addr);
            settings.server.public_url_follows_listener = true;
        }
        if settings
            .mail
            .smtp_host
            .as_deref()
            .is_some_and(|h| h.trim().is_empty())
        {
            settings.mail.smtp_host = None;
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.trial.days > 0, "trial.days must be positive");
        if !self.log.otlp_endpoint.is_empty() {
            let ok = reqwest::Url::parse(&self.log.otlp_endpoint)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            anyhow::ensure!(
                ok,
                "log.otlp_endpoint must be an http(s) URL such as http://collector:4318/v1/traces"
            );
        }
        anyhow::ensure!(!self.plans.is_empty(), "at least one plan is required");
        for (id, p) in &self.plans {
            anyhow::ensure!(p.price_cents >= 0, "plan {id}: price_cents must be >= 0");
            anyhow::ensure!(
                p.max_domains > 0 && p.max_inboxes > 0,
                "plan {id}: limits must be positive"
            );
            anyhow::ensure!(
                p.overage_cents_per_inbox
                    .is_none_or(|c| (1..=1_000_000).contains(&c)),
                "plan {id}: overage_cents_per_inbox must be between 1 and 1000000"
            );
        }
        let r = &self.rate_limits;
        anyhow::ensure!(
            r.auth_max_failures > 0
                && r.auth_window_secs > 0
                && r.auth_ip_max_failures > 0
                && r.auth_ip_window_secs > 0
                && r.auth_email_max_failures > 0
                && r.auth_email_window_secs > 0
                && r.login_code_ttl_secs > 0
                && r.login_code_max_attempts > 0,
            "rate_limits.auth_* and rate_limits.login_code_* must be positive"
        );
        anyhow::ensure!(
            self.rate_limits.tenant_per_minute > 0
                && self.rate_limits.tenant_per_hour > 0
                && self.rate_limits.ip_auth_per_minute > 0,
            "rate_limits.tenant_per_minute, tenant_per_hour and ip_auth_per_minute must be positive"
        );
        let d = &self.deliverability;
        anyhow::ensure!(
            d.thresholds.at_risk <= d.thresholds.good && d.thresholds.good <= 100,
            "deliverability: at_risk <= good <= 100"
        );
        anyhow::ensure!(
            d.thresholds.window_days > 0 && d.blocklist_every_secs > 0 && d.score_every_secs > 0,
            "deliverability: window_days, blocklist_every_secs and score_every_secs must be positive"
        );
        for list in &d.blocklists {
            list.validate().map_err(|e| anyhow::anyhow!(e))?;
        }
        anyhow::ensure!(
            self.billing.failed_payments_before_suspension > 0,
            "billing.failed_payments_before_suspension must be positive"
        );
        anyhow::ensure!(
            self.billing.stripe_api_base.ends_with('/'),
            "billing.stripe_api_base must end with /"
        );
        let meter = &self.billing.overage_meter_event;
        anyhow::ensure!(
            !meter.is_empty()
                && meter.len() <= 100
                && meter
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'),
            "billing.overage_meter_event must be 1 to 100 letters, digits, '_', '-' or '.'"
        );
        match self.providers.payments.as_str() {
            "auto" | "sandbox" => {}
            "stripe" => anyhow::ensure!(
                self.stripe.secret_key.is_some(),
                "providers.payments = \"stripe\" needs STRIPE_SECRET_KEY"
            ),
            other => {
                anyhow::bail!("providers.payments must be auto, stripe or sandbox, not {other}")
            }
        }
        match self.providers.mail.as_str() {
            "auto" | "sandbox" => {}
            "smtp" => anyhow::ensure!(
                self.mail.smtp_host.is_some(),
                "providers.mail = \"smtp\" needs mail.smtp_host"
            ),
            other => anyhow::bail!("providers.mail must be auto, smtp or sandbox, not {other}"),
        }
        anyhow::ensure!(
            self.smtp.username.is_some() == self.smtp.password.is_some(),
            "set both SMTP_USERNAME and SMTP_PASSWORD, or neither"
        );
        anyhow::ensure!(
            self.jobs.poll_interval_ms > 0
                && self.jobs.lease_secs > 0
                && self.jobs.max_attempts > 0
                && self.jobs.trial_scan_every_secs > 0,
            "jobs.poll_interval_ms, lease_secs, max_attempts and trial_scan_every_secs must be positive"
        );
        self.dns.validate()?;
        match self.providers.relay.as_str() {
            "sandbox" | "kumomta" => {}
            other => anyhow::bail!("providers.relay must be sandbox or kumomta, not {other}"),
        }
        anyhow::ensure!(
            !self.relay.policy_dir.trim().is_empty(),
            "relay.policy_dir must be set"
        );
        anyhow::ensure!(
            !self.relay.imap_host.trim().is_empty() && self.relay.imap_port > 0,
            "relay.imap_host and relay.imap_port must be set: every export carries IMAP"
        );
        match self.mailstore.provider.as_str() {
            "sandbox" | "dovecot" => {}
            other => anyhow::bail!("mailstore.provider must be sandbox or dovecot, not {other}"),
        }
        anyhow::ensure!(
            self.mailstore.run_dir.is_empty() || self.mailstore.provider == "dovecot",
            "mailstore.run_dir starts a local Dovecot: set mailstore.provider = \"dovecot\" too"
        );
        anyhow::ensure!(
            self.mailstore.imap_port > 0
                && self.mailstore.timeout_ms > 0
                && (1..=256).contains(&self.mailstore.check_concurrency),
            "mailstore.imap_port and timeout_ms must be positive, check_concurrency 1 to 256"
        );
        let i = &self.inboxes;
        anyhow::ensure!(
            i.max_per_domain > 0
                && i.default_daily_cap > 0
                && i.warmup_start > 0
                && i.warmup_step >= 0
                && i.warmup_max >= i.warmup_start
                && i.page_size > 0,
            "inboxes.* must be positive, with warmup_max >= warmup_start"
        );
        anyhow::ensure!(
            !(self.secure_cookies() && self.secret_key.is_development()),
            "server.public_url is https (production) but INBOXGROVE_SECRET_KEY is not set: set it \
             to 32 random bytes in base64 (`openssl rand -base64 32`) and keep it safe. Secrets \
             at rest are never encrypted with a development key in production."
        );
        anyhow::ensure!(
            self.server.session_days > 0 && self.server.session_max_days > 0,
            "server.session_days and server.session_max_days must be positive"
        );
        // Sandbox payments approve the test card 4242…: with a real registrar that card would
        // buy real domains. No setting allows it, in any mode.
        anyhow::ensure!(
            !self.uses_real_registrar() || self.uses_real_stripe(),
            "a real registrar (NAMECHEAP_API_KEY and [registrar.namecheap]) is configured but \
             payments run on the sandbox, whose test cards would buy real domains: set \
             STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (providers.payments = \"auto\" or \
             \"stripe\"), or remove NAMECHEAP_API_KEY. {PUBLIC_DEMO_VAR} does not allow this."
        );
        let sandboxed = self.sandboxed_providers();
        anyhow::ensure!(
            !self.secure_cookies() || self.server.public_demo || sandboxed.is_empty(),
            "server.public_url is https (production) but these providers run on their sandbox: \
             {}. Configure the real providers (see the README), or, for a public demo where \
             nothing is real, set {PUBLIC_DEMO_VAR}=true (server.public_demo).",
            sandboxed.join(", ")
        );
        if self.uses_real_stripe() {
            anyhow::ensure!(
                self.stripe.webhook_secret.is_some(),
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: webhooks could not be verified"
            );
        }
        Ok(())
    }

    /// The providers that run on their embedded sandbox.
    pub fn sandboxed_providers(&self) -> Vec<&'static str> {
        [
            ("payments", self.uses_real_stripe()),
            ("registrar", self.uses_real_registrar()),
            ("dns", self.uses_real_dns()),
            ("relay", self.uses_real_relay()),
            ("mail", self.uses_real_smtp()),
        ]
        .into_iter()
        .filter(|(_, real)| !real)
        .map(|(name, _)| name)
        .collect()
    }

    /// True when domains are registered at Namecheap rather than in the sandbox registrar.
    pub fn uses_real_registrar(&self) -> bool {
        self.providers.registrar != "sandbox"
            && self.provider_keys.namecheap_api_key.is_some()
            && self.registrar.namecheap.is_some()
    }

    /// True when zones live at Cloudflare rather than in the sandbox DNS.
    pub fn uses_real_dns(&self) -> bool {
        self.providers.dns != "sandbox"
            && self.provider_keys.cloudflare_api_token.is_some()
            && self.cloudflare.is_some()
    }

    /// True when the relay is a real KumoMTA (files + its admin API) rather than the sandbox.
    pub fn uses_real_relay(&self) -> bool {
        self.providers.relay == "kumomta"
    }

    /// True when payments go to Stripe itself rather than the sandbox.
    pub fn uses_real_stripe(&self) -> bool {
        self.providers.payments != "sandbox" && self.stripe.secret_key.is_some()
    }

    /// The plan whose Stripe price is `price_id`.
    pub fn plan_by_price(&self, price_id: &str) -> Option<(&str, &PlanSettings)> {
        self.plans
            .iter()
            .find(|(_, p)| p.stripe_price_id == price_id)
            .map(|(id, p)| (id.as_str(), p))
    }

    /// True when mail goes out over SMTP rather than only into the sandbox outbox.
    pub fn uses_real_smtp(&self) -> bool {
        self.providers.mail != "sandbox" && self.mail.smtp_host.is_some()
    }

    pub fn secure_cookies(&self) -> bool {
        self.server.public_url.starts_with("https://")
    }

    /// Plans ordered by price, as customers see them.
    pub fn plan_views(&self) -> Vec<PlanView> {
        let mut plans: Vec<PlanView> = self
            .plans
            .iter()
            .map(|(id, p)| PlanView {
                id: id.clone(),
                name: p.name.clone(),
                price_cents: Cents(p.price_cents),
                currency: p.currency.clone(),
                max_domains: p.max_domains,
                max_inboxes: p.max_inboxes,
                api_calls_per_month: p.api_calls_per_month,
                overage_cents_per_inbox: p.overage_cents_per_inbox.map(Cents),
            })
            .collect();
        plans.sort_by_key(|p| (p.price_cents, p.id.clone()));
        plans
    }

    /// The settings in force, as one line for the start-up log: addresses, limits and, per
    /// provider, "real" or "sandbox". Secrets appear only as set/unset; the database URL
    /// without its password.
    pub fn summary(&self) -> String {
        let real = |r: bool| if r { "real" } else { "sandbox" };
        let set = |s: bool| if s { "set" } else { "unset" };
        let public_url = if self.server.public_url_follows_listener {
            format!("{} (follows the listen address)", self.server.public_url)
        } else {
            self.server.public_url.clone()
        };
        let database = self
            .database_url
            .as_ref()
            .map(|u| mask_database_url(u.expose_secret()))
            .unwrap_or_else(|| "unset".into());
        format!(
            "listen={} public_url={} database={} db_max_connections={} \
             providers: payments={} registrar={} dns={} relay={} mail={} mailstore={}; \
             secrets: secret_key={} stripe_secret_key={} stripe_webhook_secret={} \
             namecheap_api_key={} cloudflare_api_token={} smtp_password={} \
             kumomta_webhook_secret={}; trial_days={} job_workers={} public_demo={} \
             trust_forwarded_for={} log={}/{} otlp={}",
            self.server.site_addr,
            public_url,
            database,
            self.server.db_max_connections,
            real(self.uses_real_stripe()),
            real(self.uses_real_registrar()),
            real(self.uses_real_dns()),
            real(self.uses_real_relay()),
            real(self.uses_real_smtp()),
            if self.mailstore.provider == "dovecot" {
                format!(
                    "dovecot(imap {}:{}{})",
                    self.mailstore.imap_host,
                    self.mailstore.imap_port,
                    if self.mailstore.run_dir.is_empty() {
                        ""
                    } else {
                        ", local"
                    }
                )
            } else {
                "sandbox".to_string()
            },
            if self.secret_key.is_development() {
                "development"
            } else {
                "set"
            },
            set(self.stripe.secret_key.is_some()),
            set(self.stripe.webhook_secret.is_some()),
            set(self.provider_keys.namecheap_api_key.is_some()),
            set(self.provider_keys.cloudflare_api_token.is_some()),
            set(self.smtp.password.is_some()),
            set(self.kumomta_webhook_secret.is_some()),
            self.trial.days,
            self.jobs.workers,
            self.server.public_demo,
            self.server.trust_forwarded_for,
            self.log.format,
            self.log.filter,
            if self.log.otlp_endpoint.is_empty() {
                "off"
            } else {
                "on"
            },
        )
    }

    pub fn leptos_options(&self) -> leptos::config::LeptosOptions {
        leptos::config::LeptosOptions::builder()
            .output_name(self.server.output_name.clone())
            .site_root(self.server.site_root.clone())
            .site_pkg_dir(self.server.site_pkg_dir.clone())
            .site_addr(self.server.site_addr)
            .build()
    }
}

/// The URL of the address the app listens on: an unspecified address (`0.0.0.0`, `::`) is
/// reached on the loopback one.
pub fn url_for_listener(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

/// `DATABASE_URL` without its password (nor a password passed as a query parameter).
fn mask_database_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "(unparsable, not shown)".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.contains("pass") || k.contains("key") || k.contains("secret");
                let v = if secret { "***".into() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn manifest_file() -> String {
        format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn the_shipped_settings_file_loads_with_a_seven_day_trial_and_three_plans() {
        let s = Settings::load_from(&manifest_file(), []).unwrap();
        assert_eq!(s.trial.days, 7);
        let names: Vec<String> = s.plan_views().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["Starter", "Growth", "Scale"]);
        assert!(s.database_url.is_none());
    }

    #[test]
    fn an_environment_variable_overrides_a_nested_key() {
        let s = Settings::load_from(
            &manifest_file(),
            [
                ("INBOXGROVE_TRIAL__DAYS".to_string(), "14".to_string()),
                (
                    "INBOXGROVE_PLANS__GROWTH__PRICE_CENTS".to_string(),
                    "12300".to_string(),
                ),
                ("LEPTOS_SITE_ADDR".to_string(), "127.0.0.1:4999".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(s.trial.days, 14);
        assert_eq!(s.plans["growth"].price_cents, 12300);
        assert_eq!(s.server.site_addr.port(), 4999);
    }

    #[test]
    fn the_public_url_follows_the_listen_address_when_it_is_not_set() {
        let on = |addr: &str| {
            Settings::load_from(
                &manifest_file(),
                [("LEPTOS_SITE_ADDR".to_string(), addr.to_string())],
            )
            .unwrap()
        };
        let s = on("127.0.0.1:4999");
        assert_eq!(s.server.public_url, "http://127.0.0.1:4999");
        assert!(s.server.public_url_follows_listener);
        // An unspecified address is reached on the loopback one.
        assert_eq!(
            on("0.0.0.0:8080").server.public_url,
            "http://127.0.0.1:8080"
        );
        assert_eq!(on("[::]:8080").server.public_url, "http://[::1]:8080");
        // The shipped file sets no public URL: the default address gives the default URL.
        let s = Settings::load_from(&manifest_file(), []).unwrap();
        assert_eq!(s.server.public_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn an_explicit_public_url_wins_over_the_listen_address() {
        let s = Settings::load_from(
            &manifest_file(),
            [
                ("LEPTOS_SITE_ADDR".to_string(), "0.0.0.0:8080".to_string()),
                (
                    "INBOXGROVE_SERVER__PUBLIC_URL".to_string(),
                    "http://mail.example.test".to_string(),
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.server.public_url, "http://mail.example.test");
        assert!(!s.server.public_url_follows_listener);
    }

    #[test]
    fn the_start_up_summary_names_real_and_sandbox_providers_and_masks_every_secret() {
        let key = crypto::generate_key_base64();
        let secrets = [
            (
                "DATABASE_URL",
                "postgres://app:hunter2-db@db.internal:5432/inboxgrove?sslpassword=hunter3-q&sslmode=require",
            ),
            ("STRIPE_SECRET_KEY", "sk_live_hunter4"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_hunter5"),
            ("SMTP_USERNAME", "smtp-user-hunter6"),
            ("SMTP_PASSWORD", "hunter7"),
            ("KUMOMTA_WEBHOOK_SECRET", "hunter8"),
            ("INBOXGROVE_MAIL__SMTP_HOST", "smtp.example.test"),
        ];
        let mut vars: Vec<(&str, &str)> = secrets.to_vec();
        vars.push((crypto::SECRET_KEY_VAR, key.expose_secret()));
        let s = load(&vars).unwrap();
        let line = s.summary();
        for (_, value) in secrets.iter().filter(|(k, _)| !k.contains("SMTP_HOST")) {
            assert!(!line.contains(value), "{value} leaked: {line}");
        }
        for leak in ["hunter", key.expose_secret()] {
            assert!(!line.contains(leak), "{leak} leaked: {line}");
        }
        assert!(line.contains("db.internal:5432/inboxgrove"), "{line}");
        assert!(line.contains("sslmode=require"), "{line}");
        assert!(line.contains("payments=real"), "{line}");
        assert!(line.contains("mail=real"), "{line}");
        for sandboxed in ["registrar=sandbox", "dns=sandbox", "relay=sandbox"] {
            assert!(line.contains(sandboxed), "{line}");
        }
        assert!(line.contains("stripe_secret_key=set"), "{line}");
        assert!(line.contains("cloudflare_api_token=unset"), "{line}");
        assert!(line.contains("public_url=http://127.0.0.1:3000 (follows the listen address)"));
    }

    fn https_with_key(key: Option<&str>) -> anyhow::Result<Settings> {
        let mut vars = vec![
            (
                "INBOXGROVE_SERVER__PUBLIC_URL".to_string(),
                "https://app.inboxgrove.com".to_string(),
            ),
            // Every provider is a sandbox here: these tests are about the key.
            (PUBLIC_DEMO_VAR.to_string(), "true".to_string()),
        ];
        if let Some(key) = key {
            vars.push(("INBOXGROVE_SECRET_KEY".to_string(), key.to_string()));
        }
        Settings::load_from(&manifest_file(), vars)
    }

    #[test]
    fn secure_cookies_follow_the_public_url_scheme() {
        let key = crypto::generate_key_base64();
        let s = https_with_key(Some(key.expose_secret())).unwrap();
        assert!(s.secure_cookies());
    }

    #[test]
    fn an_https_public_url_without_inboxgrove_secret_key_is_refused() {
        let err = https_with_key(None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("INBOXGROVE_SECRET_KEY is not set"), "{msg}");
        assert!(msg.contains("https"), "{msg}");
        let err = https_with_key(Some("")).unwrap_err();
        assert!(format!("{err:#}").contains("INBOXGROVE_SECRET_KEY is not set"));
    }

    #[test]
    fn the_secret_key_comes_from_the_environment_and_never_from_the_config_tree() {
        let key = crypto::generate_key_base64();
        let s = https_with_key(Some(key.expose_secret())).unwrap();
        assert!(!s.secret_key.is_development());
        assert_eq!(s.secret_key.id(), crypto::ENV_KEY_ID);
        assert!(!format!("{s:?}").contains(key.expose_secret()));
        // The same key opens what it sealed, through a second load.
        let again = https_with_key(Some(key.expose_secret())).unwrap();
        let blob = crypto::SecretBox::new(&s.secret_key).encrypt(b"x", b"a");
        let opened = crypto::SecretBox::new(&again.secret_key).decrypt(&blob, b"a");
        assert_eq!(opened.unwrap().as_slice(), b"x");
    }

    #[test]
    fn a_malformed_secret_key_is_refused_without_echoing_it() {
        let err = https_with_key(Some("c2hvcnQ=")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("INBOXGROVE_SECRET_KEY is invalid"), "{msg}");
        assert!(msg.contains("32 random bytes"), "{msg}");
        assert!(!msg.contains("c2hvcnQ="), "{msg}");
    }

    #[test]
    fn without_a_key_plain_http_gets_an_in_memory_development_key() {
        let a = Settings::load_from(&manifest_file(), []).unwrap();
        let b = Settings::load_from(&manifest_file(), []).unwrap();
        assert_eq!(a.secret_key.origin(), &crypto::KeyOrigin::Ephemeral);
        let blob = crypto::SecretBox::new(&a.secret_key).encrypt(b"x", b"a");
        assert!(
            crypto::SecretBox::new(&b.secret_key)
                .decrypt(&blob, b"a")
                .is_err()
        );
    }

    fn load(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let key = crypto::generate_key_base64();
        let mut vars = vec![(
            crypto::SECRET_KEY_VAR.to_string(),
            key.expose_secret().to_string(),
        )];
        vars.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::load_from(&manifest_file(), vars)
    }

    const HTTPS: (&str, &str) = (
        "INBOXGROVE_SERVER__PUBLIC_URL",
        "https://app.inboxgrove.com",
    );
    const DEMO: (&str, &str) = (PUBLIC_DEMO_VAR, "true");
    /// A real registrar: the key plus `[registrar.namecheap]`.
    const NAMECHEAP: [(&str, &str); 5] = [
        ("NAMECHEAP_API_KEY", "nc-key"),
        (
            "INBOXGROVE_REGISTRAR__NAMECHEAP__API_BASE",
            "https://api.namecheap.com/xml.response",
        ),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__API_USER", "ig"),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__USER_NAME", "ig"),
        ("INBOXGROVE_REGISTRAR__NAMECHEAP__CLIENT_IP", "203.0.113.7"),
    ];

    #[test]
    fn https_with_sandbox_providers_is_refused_naming_the_public_demo_setting() {
        let err = load(&[HTTPS]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("INBOXGROVE_SERVER__PUBLIC_DEMO"), "{msg}");
        assert!(
            msg.contains("payments, registrar, dns, relay, mail"),
            "{msg}"
        );
        // Plain http (development) starts on the sandboxes as before.
        assert!(load(&[]).is_ok());
    }

    #[test]
    fn https_with_sandbox_providers_starts_when_declared_a_public_demo() {
        let s = load(&[HTTPS, DEMO]).unwrap();
        assert!(s.server.public_demo && s.secure_cookies());
        assert_eq!(s.sandboxed_providers().len(), 5);
    }

    #[test]
    fn a_real_registrar_with_sandbox_payments_is_refused_in_every_mode() {
        for extra in [vec![], vec![DEMO], vec![HTTPS, DEMO]] {
            let mut vars = NAMECHEAP.to_vec();
            vars.extend(extra.iter().copied());
            let err = load(&vars).unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains("STRIPE_SECRET_KEY"), "{extra:?}: {msg}");
            assert!(msg.contains("real domains"), "{extra:?}: {msg}");
        }
        // With real Stripe the same registrar is accepted (on http; https wants the rest real).
        let mut vars = NAMECHEAP.to_vec();
        vars.extend([
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ]);
        let s = load(&vars).unwrap();
        assert!(s.uses_real_registrar() && s.uses_real_stripe());
    }

    #[test]
    fn the_absolute_session_lifetime_defaults_to_thirty_days() {
        let s = load(&[]).unwrap();
        assert_eq!(s.server.session_max_days, 30);
        assert!(load(&[("INBOXGROVE_SERVER__SESSION_MAX_DAYS", "0")]).is_err());
    }

    #[test]
    fn a_non_positive_trial_is_refused() {
        let err = Settings::load_from(
            &manifest_file(),
            [("INBOXGROVE_TRIAL__DAYS".to_string(), "0".to_string())],
        )
        .unwrap_err();
        assert!(err.to_string().contains("trial.days"));
    }
}
