use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

use crate::server::auth::password::PasswordService;
use crate::server::config::Settings;
use crate::server::jobs::JobQueue;
use crate::server::providers::mail::{self, Mailer};

/// Everything a request needs; no global state, so every test builds its own.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub passwords: PasswordService,
    pub mailer: Arc<dyn Mailer>,
    pub jobs: JobQueue,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        Ok(Self {
            mailer: mail::from_settings(&settings, pool.clone())?,
            jobs: JobQueue::new(pool.clone(), &settings.jobs),
            pool,
            leptos_options: settings.leptos_options(),
            passwords: PasswordService::new(&settings.security)?,
            settings,
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
