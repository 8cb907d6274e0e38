//! Building and running the application: one function used by `main` and by every test.

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{SameSite, time};
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::app::{App, shell};
use crate::server::config::Settings;
use crate::server::db;
use crate::server::http::{export, health, kumomta, middleware, outbox, sandbox_stripe, webhooks};
use crate::server::jobs;
use crate::server::services::billing::usage;
use crate::server::services::deliverability::{blocklists, scores};
use crate::server::services::domains::{health as domain_health, renewal, saga};
use crate::server::services::inboxes::mailstore as inbox_store;
use crate::server::services::inboxes::relay;
use crate::server::services::trial_reminder;
use crate::server::services::workspace_export;
use crate::server::services::{accounts, closure};
use crate::server::state::AppState;

pub const SESSION_COOKIE: &str = "ig_session";

/// Every job kind the app runs, and its periodic work: assembled here, where the app is, so
/// `jobs` knows no service.
pub fn app_registry(settings: &Settings) -> jobs::Registry<AppState> {
    jobs::Registry::new()
        .handle(trial_reminder::SCAN_KIND, |state, _job| async move {
            trial_reminder::scan(&state).await?;
            Ok(())
        })
        .every(
            trial_reminder::SCAN_KIND,
            Duration::from_secs(settings.jobs.trial_scan_every_secs),
        )
        .handle(trial_reminder::REMINDER_KIND, |state, job| async move {
            let reminder = job.payload()?;
            trial_reminder::send_reminder(&state, &reminder)
                .await
                .map(drop)
                .map_err(trial_reminder::TrialReminderError::into_job_error)
        })
        .handle(saga::SAGA_KIND, |state, job| async move {
            saga::run(&state, &job).await
        })
        .handle(saga::REFUND_KIND, |state, job| async move {
            saga::refund(&state, &job).await
        })
        .handle(renewal::SCAN_KIND, |state, _job| async move {
            renewal::scan(&state).await?;
            Ok(())
        })
        .every(
            renewal::SCAN_KIND,
            Duration::from_secs(settings.domains.renewal_scan_secs.max(60)),
        )
        .handle(renewal::SYNC_KIND, |state, _job| async move {
            renewal::sync_expiries(&state).await?;
            Ok(())
        })
        .every(renewal::SYNC_KIND, Duration::from_secs(86_400))
        .handle(renewal::RENEW_KIND, |state, job| async move {
            renewal::renew(&state, &job).await
        })
        .handle(renewal::REFUND_KIND, |state, job| async move {
            renewal::refund(&state, &job).await
        })
        // Usage events per workspace and day, and extra inboxes reported to Stripe's meter.
        .handle(usage::RECORD_KIND, |state, _job| async move {
            usage::run(&state).await?;
            Ok(())
        })
        .every(usage::RECORD_KIND, usage::RECORD_EVERY)
        .handle(domain_health::SCAN_KIND, |state, _job| async move {
            domain_health::scan(&state).await?;
            Ok(())
        })
        .every(
            domain_health::SCAN_KIND,
            Duration::from_secs((settings.dns.check_interval_secs / 4).clamp(30, 900)),
        )
        .handle(domain_health::CHECK_KIND, |state, job| async move {
            domain_health::run_check(&state, &job.payload()?).await
        })
        .handle(
            crate::server::services::integrations::webhooks::DELIVER_JOB,
            crate::server::services::integrations::webhooks::deliver,
        )
        .handle(closure::CLOSE_KIND, |state, job| async move {
            closure::run(&state, &job).await
        })
        .handle(workspace_export::EXPORT_KIND, |state, job| async move {
            workspace_export::run(&state, &job).await
        })
        .handle(relay::PUBLISH_KIND, |state, job| async move {
            relay::run(&state, &job).await
        })
        .handle(relay::REASSERT_KIND, |state, _job| async move {
            relay::reassert_holds(&state).await?;
            Ok(())
        })
        .every(relay::REASSERT_KIND, Duration::from_secs(600))
        .handle(inbox_store::CHECK_KIND, |state, job| async move {
            inbox_store::run_check(&state, &job).await
        })
        .handle(inbox_store::REHASH_KIND, |state, _job| async move {
            inbox_store::rehash_all(&state).await?;
            Ok(())
        })
        .handle(inbox_store::ALLOWANCE_KIND, |state, _job| async move {
            inbox_store::republish_allowances(&state).await?;
            Ok(())
        })
        // Each inbox's warm-up day starts at its own hour: hourly, the tenants whose inboxes
        // entered a new day are republished.
        .every(inbox_store::ALLOWANCE_KIND, inbox_store::ALLOWANCE_EVERY)
        .handle(scores::SCORE_KIND, |state, job| async move {
            scores::run(&state, &job).await
        })
        .handle(scores::SCAN_KIND, |state, _job| async move {
            scores::scan(&state).await?;
            Ok(())
        })
        .every(
            scores::SCAN_KIND,
            Duration::from_secs(settings.deliverability.score_every_secs),
        )
        .handle(blocklists::CHECK_KIND, |state, job| async move {
            blocklists::run_check(&state, &job).await
        })
        .handle(blocklists::SCAN_KIND, |state, _job| async move {
            blocklists::scan(&state).await?;
            Ok(())
        })
        .every(
            blocklists::SCAN_KIND,
            Duration::from_secs(settings.deliverability.blocklist_every_secs),
        )
        // They carry out the suspension (the relay) or give money back (or, for scores, only
        // describe); every other tenant job is skipped and stays pending until resume.
        .run_while_suspended(relay::PUBLISH_KIND)
        .run_while_suspended(saga::REFUND_KIND)
        .run_while_suspended(renewal::REFUND_KIND)
        // A suspended workspace still hears about it (workspace.suspended) and its other events.
        .run_while_suspended(crate::server::services::integrations::webhooks::DELIVER_JOB)
        // A suspended tenant's scores still follow its figures (staff read them).
        .run_while_suspended(scores::SCORE_KIND)
}

/// Starts the local Dovecot `mailstore.run_dir` asks for (none when it is empty): on
/// `mailstore.imap_port`, reading the passwd-files under `relay.policy_dir`.
pub fn start_local_dovecot(
    settings: &Settings,
) -> anyhow::Result<Option<crate::server::providers::mailstore::dovecot::RunningDovecot>> {
    let m = &settings.mailstore;
    if m.run_dir.trim().is_empty() {
        return Ok(None);
    }
    let files =
        crate::server::providers::relay::files::PolicyWriter::new(&settings.relay.policy_dir);
    let local = crate::server::providers::mailstore::dovecot::LocalDovecot {
        dir: m.run_dir.clone().into(),
        passwd_dir: files.passwd_dir(),
        port: m.imap_port,
    };
    Ok(Some(local.start().context("starting the local Dovecot")?))
}

/// The blocklist zones the sandbox DNS answers for, each with an answer its settings call
/// "listed" (the first listed address; a prefix's `.0` becomes `.2`, as lists answer).
fn sandbox_listings(settings: &Settings) -> Vec<(String, String)> {
    settings
        .deliverability
        .blocklists
        .iter()
        .filter_map(|l| {
            let first = l.listed.first()?;
            let addr = first.split('/').next()?.trim();
            let addr = match addr.strip_suffix(".0") {
                Some(net) => format!("{net}.2"),
                None => addr.to_string(),
            };
            Some((l.zone.clone(), addr))
        })
        .collect()
}

/// How long a pooled connection may sit unused before it is pinged when next handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// A lazily connecting pool: the app starts even while the database is down (readiness
/// reports it). It is the explicit system path of row-level security (`db::system_path`);
/// tenants' reads narrow it per transaction (`TenantCtx::begin`).
pub fn pool(settings: &Settings) -> anyhow::Result<PgPool> {
    let url = settings
        .database_url
        .as_ref()
        .context("DATABASE_URL is not set (make run / make test start a local Postgres)")?;
    let options =
        PgConnectOptions::from_str(url.expose_secret()).context("parsing DATABASE_URL")?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.server.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings every connection it hands out by default: one extra round trip per
        // query, which was a fifth of a signed-in page's time. A connection used within the
        // last half minute is handed out as is; one idle longer (the database may have
        // restarted or a proxy dropped it) is still pinged first and replaced if dead.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < IDLE_BEFORE_PING {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        .connect_lazy_with(db::system_path(options)))
}

/// Row-level security is the second wall between tenants; a superuser or BYPASSRLS role walks
/// through it, and a pool without the system scope sees no tenant's rows. Says so loudly.
pub async fn warn_if_rls_is_off(pool: &PgPool) {
    match db::rls_posture(pool).await {
        Ok(p) if p.superuser || p.bypass_rls => tracing::warn!(
            role = %p.role,
            superuser = p.superuser,
            bypass_rls = p.bypass_rls,
            "the database role bypasses row-level security: connect as a NOSUPERUSER NOBYPASSRLS role (see README, Deploy)"
        ),
        Ok(p) if p.scope.as_deref() != Some("system") => tracing::warn!(
            role = %p.role,
            "the pool does not carry app.rls_scope=system: staff, webhooks and jobs will see no tenant rows"
        ),
        Ok(p) => tracing::info!(role = %p.role, "row-level security applies to the app's role"),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the database role for row-level security")
        }
    }
}

/// Applies the app's migrations and the session store's table.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("running migrations")?;
    PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("creating the session table")?;
    Ok(())
}

pub struct Application {
    /// The sandbox DNS listener, stopped with the app.
    dns_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    listener: TcpListener,
    /// `metrics.listen`'s listener (`/metrics` only), when configured and free.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
}

impl Application {
    /// Builds the app on `pool` and binds `addr` (port 0 picks a free port).
    pub async fn build(
        mut settings: Settings,
        pool: PgPool,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        // A public URL nobody set follows the address actually served (port 0 picks one).
        if settings.server.public_url_follows_listener {
            settings.server.public_url =
                crate::server::config::url_for_listener(listener.local_addr()?);
        }
        // Sandbox DNS: this process answers for the sandbox zones on `dns.resolver`, so the
        // checker asks real DNS offline. Port 0 (tests) picks a free port; a port already taken
        // by another process on this machine serving the same database is used as it is.
        let mut dns_listener = None;
        let mut dns_task = None;
        if !settings.uses_real_dns() {
            let source = std::sync::Arc::new(
                crate::server::providers::dns::sandbox::SandboxDns::new(
                    pool.clone(),
                    settings.dns.sandbox_nameservers.clone(),
                )
                .with_blocklists(sandbox_listings(&settings)),
            );
            match crate::server::dns::authority::spawn(settings.dns.resolver, source).await {
                Ok((bound, task)) => {
                    tracing::info!(addr = %bound, "sandbox DNS listening");
                    dns_listener = Some(bound);
                    dns_task = Some(task);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    tracing::warn!(addr = %settings.dns.resolver, "sandbox DNS port in use; using the listener already there");
                }
                Err(e) => return Err(e).context("starting the sandbox DNS listener"),
            }
        }
        let metrics_listener = match settings.metrics.listen_addr()? {
            Some(addr) => match TcpListener::bind(addr).await {
                Ok(l) => Some(l),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    tracing::warn!(%addr, "metrics port in use (another replica here?): /metrics is served only with METRICS_TOKEN on the main address");
                    None
                }
                Err(e) => return Err(e).with_context(|| format!("binding metrics.listen {addr}")),
            },
            None => None,
        };
        let state = AppState::build(settings, pool, Some(listener.local_addr()?), dns_listener)?;
        let router = router(state.clone())?;
        Ok(Self {
            dns_task,
            listener,
            metrics_listener,
            router,
            state,
        })
    }

    /// The state the app serves with (tests drive its job workers and providers directly).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Where `/metrics` answers without a token, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (see [`Self::run_until`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then: new connections are refused, requests in flight
    /// and running jobs get `server.shutdown_grace_secs` to finish (workers claim nothing
    /// new), the API meter is flushed, and it returns. A job cut off at the limit keeps its
    /// lease until it expires; then any replica retries it.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let store = PostgresStore::new(self.state.pool.clone());
        let limits = self.state.rate_limits.clone();
        let cleanup_state = self.state.clone();
        let cleanup = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                limits.shrink();
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired sessions failed");
                }
                if let Err(e) = accounts::prune_auth_records(&cleanup_state).await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "pruning login throttle rows failed"
                    );
                }
            }
        });
        // The sandbox Stripe retries webhook deliveries that failed (e.g. during a restart).
        let every = Duration::from_millis(self.state.settings.billing.sandbox_redeliver_ms.max(50));
        let redeliver = self.state.stripe_sandbox.clone().map(|sandbox| {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    if let Err(e) = sandbox.deliver().await {
                        tracing::warn!(error = ?e, "sandbox webhook redelivery failed");
                    }
                }
            })
        });
        // The API meter's counts reach the database every few seconds (and once more below,
        // on the way out).
        let meter_state = self.state.clone();
        let meter = tokio::spawn(async move {
            let every = Duration::from_secs(meter_state.settings.api.meter_flush_secs.max(1));
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = meter_state.api_meter.flush(&meter_state.pool).await {
                    tracing::warn!(error = format!("{e:#}"), "flushing API call counts failed");
                }
                meter_state.api_meter.shrink();
            }
        });
        // Sessions and admissions are kept between changes while this listens (auth::cache).
        let auth_listener = tokio::spawn(
            self.state
                .auth_cache
                .clone()
                .listen(self.state.pool.clone()),
        );
        let workers = jobs::spawn_workers(
            &self.state,
            app_registry(&self.state.settings),
            self.state.settings.jobs.workers,
        );
        // Streamed SSR writes several small chunks per response; with Nagle's algorithm on,
        // each waits ~40 ms for the client's delayed ACK (make bench: 228 -> 1458 req/s at 10 conns).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let metrics_server = self.metrics_listener.map(|l| {
            let router = crate::server::http::metrics::listener_router(self.state.clone());
            tokio::spawn(async move { axum::serve(l, router).await })
        });
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_secs);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = std::sync::Arc::new(stop_tx);
        let signal = {
            let tx = stop_tx.clone();
            tokio::spawn(async move {
                stop.await;
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "stopping: finishing requests in flight and running jobs"
                );
                tx.send_replace(true);
            })
        };
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let serve = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(stop_rx.clone()));
        let drain_limit = {
            let rx = stop_rx.clone();
            async move {
                stopped(rx).await;
                tokio::time::sleep(grace).await;
            }
        };
        let http = async {
            let served = tokio::select! {
                served = serve.into_future() => served,
                () = drain_limit => {
                    tracing::warn!("requests still in flight after the grace period; closing them");
                    Ok(())
                }
            };
            // Served out for any reason: the workers stop too.
            stop_tx.send_replace(true);
            served
        };
        let jobs = async {
            stopped(stop_rx.clone()).await;
            workers.stop(grace).await;
        };
        let (served, ()) = tokio::join!(http, jobs);
        signal.abort();
        if let Some(task) = metrics_server {
            task.abort();
        }
        cleanup.abort();
        meter.abort();
        auth_listener.abort();
        if let Err(e) = self.state.api_meter.flush(&self.state.pool).await {
            tracing::error!(
                error = format!("{e:#}"),
                "the last flush of API call counts failed"
            );
        }
        if let Some(task) = self.dns_task {
            task.abort();
        }
        if let Some(task) = redeliver {
            task.abort();
        }
        tracing::info!("stopped");
        served.context("serving HTTP")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

pub fn router(state: AppState) -> anyhow::Result<Router> {
    let settings = state.settings.clone();
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    // The guards read their path lists from `routes::PAGES`; a page routed in app.rs but
    // missing there (or the reverse) would be served unguarded, so the app refuses to start.
    if let Err(e) = crate::routes::check_router(routes.iter().map(|r| r.path())) {
        anyhow::bail!("the route table (src/routes.rs) disagrees with app.rs: {e}");
    }

    let store = crate::server::auth::cache::CachedStore::new(
        PostgresStore::new(state.pool.clone()),
        state.auth_cache.clone(),
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            settings.server.session_days,
        )));

    let page_state = state.clone();
    let page_context = move || {
        provide_context(page_state.clone());
        leptos::nonce::provide_nonce();
    };

    // Machine-to-machine endpoints: no session, no origin check, their own body limit.
    let webhooks = Router::new()
        .route("/webhooks/stripe", post(webhooks::stripe))
        .route("/webhooks/kumomta", post(kumomta::log_hook))
        .layer(RequestBodyLimitLayer::new(
            settings.billing.webhook_body_limit_bytes,
        ));

    // The sandbox Stripe's hosted pages (404 when real Stripe is configured).
    let sandbox = Router::new()
        .route(
            "/sandbox/stripe/checkout/{id}",
            get(sandbox_stripe::checkout_page).post(sandbox_stripe::checkout_pay),
        )
        .route(
            "/sandbox/stripe/portal/{id}",
            get(sandbox_stripe::portal_page),
        )
        .route(
            "/sandbox/stripe/portal/{id}/card",
            post(sandbox_stripe::portal_card),
        )
        .route(
            "/sandbox/stripe/portal/{id}/cancel",
            post(sandbox_stripe::portal_cancel),
        )
        .route(
            "/sandbox/stripe/portal/{id}/keep",
            post(sandbox_stripe::portal_keep),
        )
        .route(
            "/sandbox/stripe/invoices/{id}",
            get(sandbox_stripe::invoice_page),
        )
        .route(
            "/sandbox/stripe/invoices/{id}/pdf",
            get(sandbox_stripe::invoice_pdf),
        );

    let app = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(crate::server::http::metrics::guarded))
        .route("/health/ready", get(health::ready))
        .merge(sandbox)
        .route("/dev/outbox", get(outbox::list))
        .route("/dev/outbox/signup", get(outbox::signup_message))
        .route("/dev/outbox/signup/html", get(outbox::signup_html))
        .route("/dev/outbox/{id}/html", get(outbox::message_html))
        .route("/inboxes/export", get(export::download))
        .route("/settings/export", get(export::archive))
        .route("/api/auth/me", get(export::me))
        .leptos_routes_with_context(&state, routes, page_context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        .layer(from_fn_with_state(state.clone(), middleware::door))
        .layer(sessions)
        .layer(from_fn_with_state(state.clone(), middleware::same_origin))
        .layer(RequestBodyLimitLayer::new(settings.server.body_limit_bytes));

    let app = app
        .merge(webhooks)
        .merge(crate::server::http::v1::router(&state)?)
        .layer(from_fn(middleware::security_headers));
    // Browsers then never try plain http for this host (only meaningful when served over https).
    let app = if settings.secure_cookies() {
        app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(middleware::HSTS),
        ))
    } else {
        app
    };
    Ok(app
        .layer(from_fn_with_state(state.clone(), middleware::track))
        .layer(from_fn(middleware::run_to_completion))
        .layer(from_fn_with_state(state.clone(), middleware::client_ip))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // Path only: query strings and headers (cookies) are never logged.
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(middleware::RequestIds))
        .with_state(state))
}
