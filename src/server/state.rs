use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::server::auth::password::PasswordService;
use crate::server::config::Settings;
use crate::server::crypto::SecretBox;
use crate::server::jobs::JobQueue;
use crate::server::providers::mail::{self, Mailer};
use crate::server::providers::payments::Payments;
use crate::server::providers::payments::sandbox::SandboxStripe;

/// Everything a request needs; no global state, so every test builds its own.
#[derive(Clone)]
pub struct AppState {
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
    /// Seals secrets at rest (DKIM private keys) under `INBOXGROVE_SECRET_KEY`.
    pub secrets: SecretBox,
}

impl AppState {
    /// State for tools that serve nothing (seeding); the sandbox delivers to `public_url`.
    pub fn new(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        Self::build(settings, pool, None)
    }

    /// `listening` is where this process serves: the sandbox delivers its webhooks there.
    pub fn build(
        settings: Settings,
        pool: PgPool,
        listening: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
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
        Ok(Self {
            mailer: mail::from_settings(&settings, pool.clone())?,
            jobs: JobQueue::new(pool.clone(), &settings.jobs),
            secrets: SecretBox::new(&settings.secret_key),
            pool,
            leptos_options: settings.leptos_options(),
            passwords: PasswordService::new(&settings.security)?,
            settings,
            payments,
            stripe_sandbox,
            webhook_secret,
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
