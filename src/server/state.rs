use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::server::auth::HasPool;
use crate::server::auth::password::PasswordService;
use crate::server::config::{JobSettings, Settings};
use crate::server::crypto::SecretBox;
use crate::server::dkim::KeyGenerator;
use crate::server::dns::DnsChecker;
use crate::server::jobs::{JobContext, JobQueue};
use crate::server::limits::RateLimits;
use crate::server::providers::dns::DnsProvider;
use crate::server::providers::dns::cloudflare::CloudflareClient;
use crate::server::providers::dns::sandbox::SandboxDns;
use crate::server::providers::mail::{self, Mailer};
use crate::server::providers::mailstore::MailStore;
use crate::server::providers::mailstore::imap::ImapStore;
use crate::server::providers::mailstore::sandbox::SandboxMailStore;
use crate::server::providers::payments::Payments;
use crate::server::providers::payments::sandbox::SandboxStripe;
use crate::server::providers::registrar::Registrar;
use crate::server::providers::registrar::cache::AvailabilityCache;
use crate::server::providers::registrar::namecheap::NamecheapClient;
use crate::server::providers::registrar::sandbox::SandboxRegistrar;
use crate::server::providers::relay::Relay;
use crate::server::providers::relay::files::PolicyWriter;
use crate::server::providers::relay::kumomta::KumoRelay;
use crate::server::providers::relay::sandbox::SandboxRelay;
use crate::server::providers::stats::ProviderStats;
use crate::server::providers::timed;

/// Everything a request needs; no global state, so every test builds its own. One `Arc`: the
/// middleware and every rendered page clone the state per request, so a clone is one counter
/// bump, not twenty (the fields are read through `Deref`).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    /// The fields to change (a test swapping a provider): copies them first when shared, so
    /// other holders of this state keep theirs.
    pub fn edit(&mut self) -> &mut Services {
        Arc::make_mut(&mut self.0)
    }
}

/// What `AppState` holds.
#[derive(Clone)]
pub struct Services {
    /// The explicit system path of row-level security: its connections carry
    /// `app.rls_scope=system` and see every tenant (staff, webhooks, jobs, auth, cross-tenant
    /// checks). A tenant's own reads go through `TenantCtx::begin` on the same pool, which
    /// narrows one transaction to that tenant.
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub passwords: PasswordService,
    pub payments: Arc<dyn Payments>,
    /// Present when payments run on the sandbox (its pages, clock and delivery loop).
    pub stripe_sandbox: Option<Arc<SandboxStripe>>,
    /// `STRIPE_WEBHOOK_SECRET`, or a per-boot random one shared with the sandbox.
    pub webhook_secret: SecretString,
    pub mailer: Arc<dyn Mailer>,
    pub jobs: JobQueue,
    pub registrar: Arc<dyn Registrar>,
    pub dns: Arc<dyn DnsProvider>,
    /// Present when zones live in the sandbox DNS (served by the local listener).
    pub dns_sandbox: Option<Arc<SandboxDns>>,
    /// Asks the configured resolver (or the local listener this process started).
    pub dns_checker: Arc<DnsChecker>,
    /// KumoMTA, or the sandbox relay (the same policy files, no HTTP).
    pub relay: Arc<dyn Relay>,
    pub relay_sandbox: Option<Arc<SandboxRelay>>,
    /// Where the mailboxes live (Dovecot over IMAP, or the sandbox reading the same files).
    pub mailstore: Arc<dyn MailStore>,
    /// Per-tenant and per-IP request limits (in memory, per process).
    pub rate_limits: Arc<RateLimits>,
    /// Seals secrets at rest (DKIM private keys) under `INBOXGROVE_SECRET_KEY`.
    pub secrets: SecretBox,
    /// Every DKIM key is made through it: at most `domains.keygen_concurrency` at once.
    pub keygen: KeyGenerator,
    /// Search results per name for `domains.search_cache_secs`.
    pub search_cache: AvailabilityCache,
    /// The dashboard's deliverability box per tenant, for `DASHBOARD_BOX_SECS`: it changes
    /// slowly, and a dashboard load should not pay for it each time. Dropped for a tenant when
    /// its scores are stored (this process; another replica's copy ages out).
    pub dashboard_box:
        moka::sync::Cache<uuid::Uuid, crate::domain::deliverability::DashboardDeliverability>,
    /// The public API's metered calls, counted in memory and flushed in batches.
    pub api_meter: Arc<crate::server::meter::ApiMeter>,
    /// The embedded Instantly / Smartlead accounts inboxes are pushed to in the sandbox.
    pub tool_sandbox: Arc<crate::server::providers::tools::SandboxTools>,
    /// Every provider call's latency and outcome over the last hour (this process). The
    /// payments, registrar, DNS, relay, mailer and mail store above are wrapped to record
    /// into it.
    pub provider_stats: Arc<ProviderStats>,
    /// Prometheus series of this process (`/metrics`).
    pub metrics: Arc<crate::server::metrics::Metrics>,
    /// Session records and admissions between changes (`auth::cache`): live while its
    /// listener, started with the server, is connected.
    pub auth_cache: Arc<crate::server::auth::cache::AuthCache>,
}

/// How long a dashboard's deliverability box is reused.
pub const DASHBOARD_BOX_SECS: u64 = 30;

impl AppState {
    /// State for tools that serve nothing (seeding); the sandbox delivers to `public_url`.
    pub fn new(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        Self::build(settings, pool, None, None)
    }

    /// `listening` is where this process serves: the sandbox delivers its webhooks there.
    /// `dns_listener` is where this process answers DNS for the sandbox zones (the checker
    /// asks there instead of `dns.resolver`).
    pub fn build(
        settings: Settings,
        pool: PgPool,
        listening: Option<SocketAddr>,
        dns_listener: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let registrar: Arc<dyn Registrar> = match (
            settings.uses_real_registrar(),
            &settings.registrar.namecheap,
            &settings.provider_keys.namecheap_api_key,
        ) {
            (true, Some(nc), Some(key)) => Arc::new(NamecheapClient::new(nc.clone(), key)?),
            _ => Arc::new(SandboxRegistrar::new(
                pool.clone(),
                settings.registrar.sandbox.clone(),
            )),
        };
        let (dns, dns_sandbox): (Arc<dyn DnsProvider>, _) = match (
            settings.uses_real_dns(),
            &settings.cloudflare,
            &settings.provider_keys.cloudflare_api_token,
        ) {
            (true, Some(cf), Some(token)) => {
                (Arc::new(CloudflareClient::new(cf.clone(), token)?), None)
            }
            _ => {
                let sandbox = Arc::new(SandboxDns::new(
                    pool.clone(),
                    settings.dns.sandbox_nameservers.clone(),
                ));
                (sandbox.clone() as Arc<dyn DnsProvider>, Some(sandbox))
            }
        };
        let dns_checker = Arc::new(match dns_listener {
            Some(addr) => DnsChecker::with_nameserver(
                addr,
                std::time::Duration::from_millis(settings.dns.resolver_timeout_ms),
            )?,
            None => DnsChecker::new(&settings.dns)?,
        });
        let files = PolicyWriter::new(&settings.relay.policy_dir);
        let m = &settings.mailstore;
        let mailstore: Arc<dyn MailStore> = if m.provider == "dovecot" {
            Arc::new(ImapStore::new(
                &m.imap_host,
                m.imap_port,
                m.imap_tls,
                std::time::Duration::from_millis(m.timeout_ms),
                m.check_concurrency,
            ))
        } else {
            Arc::new(SandboxMailStore::new(files.passwd_dir()))
        };
        let (relay, relay_sandbox): (Arc<dyn Relay>, _) = if settings.uses_real_relay() {
            let client = KumoRelay::new(
                files,
                &settings.relay.kumomta_api_url,
                std::time::Duration::from_millis(settings.relay.request_timeout_ms),
            )?;
            (Arc::new(client), None)
        } else {
            let sandbox = Arc::new(SandboxRelay::new(files));
            (sandbox.clone() as Arc<dyn Relay>, Some(sandbox))
        };
        settings.secret_key.warn_if_development();
        let webhook_secret = settings.stripe.webhook_secret.clone().unwrap_or_else(|| {
            SecretString::from(format!("whsec_sbx_{}", uuid::Uuid::new_v4().simple()))
        });
        let (payments, stripe_sandbox): (Arc<dyn Payments>, _) = if settings.uses_real_stripe() {
            let key = settings
                .stripe
                .secret_key
                .as_ref()
                .expect("checked by uses_real_stripe");
            let client = crate::server::providers::payments::stripe::StripeClient::new(
                key,
                &settings.billing.stripe_api_base,
            )?;
            (Arc::new(client), None)
        } else {
            let webhook_url = match listening {
                Some(addr) if addr.ip().is_unspecified() => {
                    format!("http://127.0.0.1:{}/webhooks/stripe", addr.port())
                }
                Some(addr) => format!("http://{addr}/webhooks/stripe"),
                None => format!(
                    "{}/webhooks/stripe",
                    settings.server.public_url.trim_end_matches('/')
                ),
            };
            let sandbox = Arc::new(SandboxStripe::new(
                pool.clone(),
                settings.clone(),
                webhook_url,
                webhook_secret.clone(),
            )?);
            (sandbox.clone() as Arc<dyn Payments>, Some(sandbox))
        };
        // Every call to a provider is timed; the sandboxes' own handles above stay unwrapped.
        let metrics = Arc::new(crate::server::metrics::Metrics::new());
        let provider_stats = Arc::new(ProviderStats::with_metrics(metrics.clone()));
        let payments = timed::payments(payments, &provider_stats);
        Ok(Self(Arc::new(Services {
            mailer: timed::mailer(mail::from_settings(&settings)?, &provider_stats),
            jobs: JobQueue::new(pool.clone(), &settings.jobs),
            registrar: timed::registrar(registrar, &provider_stats),
            dns: timed::dns(dns, &provider_stats),
            dns_sandbox,
            dns_checker,
            relay: timed::relay(relay, &provider_stats),
            relay_sandbox,
            mailstore: timed::mailstore(mailstore, &provider_stats),
            provider_stats,
            metrics,
            rate_limits: Arc::new(RateLimits::new(&settings.rate_limits)),
            secrets: SecretBox::new(&settings.secret_key),
            keygen: KeyGenerator::new(settings.domains.keygen_concurrency),
            search_cache: AvailabilityCache::new(std::time::Duration::from_secs(
                settings.domains.search_cache_secs,
            )),
            dashboard_box: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(DASHBOARD_BOX_SECS))
                .build(),
            api_meter: Arc::new(crate::server::meter::ApiMeter::new()),
            auth_cache: Arc::default(),
            tool_sandbox: Arc::new(crate::server::providers::tools::SandboxTools::new()),
            pool,
            leptos_options: settings.leptos_options(),
            passwords: PasswordService::new(&settings.security)?,
            settings,
            payments,
            stripe_sandbox,
            webhook_secret,
        })))
    }
}

/// `TenantCtx::begin(state)` and the guard take the pool through this.
impl HasPool for AppState {
    fn pool(&self) -> &PgPool {
        &self.pool
    }
    fn auth_cache(&self) -> Option<&crate::server::auth::cache::AuthCache> {
        Some(&self.auth_cache)
    }
}

/// Job handlers get the whole state; workers use its pool, queue and `[jobs]` settings.
impl JobContext for AppState {
    fn pool(&self) -> &PgPool {
        &self.pool
    }
    fn queue(&self) -> &JobQueue {
        &self.jobs
    }
    fn job_settings(&self) -> &JobSettings {
        &self.settings.jobs
    }
    fn metrics(&self) -> Option<&crate::server::metrics::Metrics> {
        Some(&self.metrics)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
