//! `inboxgrove [serve|migrate|seed]`: load settings, init telemetry, run.

use anyhow::Context;
use inboxgrove::server::{config::Settings, seed, startup, state::AppState, telemetry};

// glibc malloc spent ~15% of the dashboard benchmark in malloc/free/consolidate; mimalloc
// handles many small, short-lived per-request allocations across threads far better.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = telemetry::init(&settings.log)?;
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let pool = startup::pool(&settings)?;
    match command.as_str() {
        "migrate" => startup::migrate(&pool).await,
        "seed" => {
            startup::migrate(&pool).await?;
            seed::seed_demo(&AppState::new(settings, pool)?).await?;
            println!(
                "Demo customer: {} / {}",
                seed::DEMO_EMAIL,
                seed::DEMO_PASSWORD
            );
            println!(
                "Staff user:    {} / {}",
                seed::STAFF_EMAIL,
                seed::STAFF_PASSWORD
            );
            Ok(())
        }
        "serve" => {
            startup::migrate(&pool).await?;
            startup::warn_if_rls_is_off(&pool).await;
            // make run: a local Dovecot for the mailboxes, stopped when this process ends.
            let _dovecot = startup::start_local_dovecot(&settings)?;
            let addr = settings.server.site_addr;
            let app = startup::Application::build(settings, pool, addr).await?;
            // make run (scripts/serve.sh sets the flag): the demo customer's domain, bought
            // through the sandbox once. Never on a server started any other way.
            if std::env::var("INBOXGROVE_SEED_DEMO_DOMAIN").as_deref() == Ok("1") {
                let state = app.state().clone();
                tokio::spawn(async move {
                    if let Err(e) = seed::seed_demo_domain(&state).await {
                        tracing::warn!(error = format!("{e:#}"), "seeding the demo domain failed");
                    }
                });
            }
            // One line: the settings in force (secrets masked), each provider real or sandbox
            // (sandbox = embedded, offline, stateful).
            tracing::info!(settings = %app.state().settings.summary(), "settings in force");
            tracing::info!(addr = %app.local_addr(), "InboxGrove listening");
            app.run_until_stopped().await
        }
        other => Err(anyhow::anyhow!(
            "unknown command {other:?}; use serve, migrate or seed"
        ))
        .context("parsing arguments"),
    }
}
