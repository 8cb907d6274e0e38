use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

use crate::server::auth::password::PasswordService;
use crate::server::config::Settings;

/// Everything a request needs; no global state, so every test builds its own.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub passwords: PasswordService,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        Ok(Self {
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
