//! The only place SQL lives, one file per aggregate.

pub mod account_tokens;
pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth_failures;
pub mod billing;
pub mod closure;
pub mod deliverability;
pub mod delivery;
pub mod domains;
pub mod error;
pub mod exports;
pub mod inboxes;
pub mod jobs;
pub mod login_codes;
pub mod mail;
pub mod ops;
pub mod renewals;
pub mod revenue;
pub mod sessions;
pub mod suspensions;
pub mod team;
pub mod tenants;
pub mod trials;
pub mod two_factor;
pub mod usage;
pub mod webhooks;

pub(crate) use error::unexpected_from_db;
pub use error::{Constraint, Context, Error, Result};

/// One round trip to the database, for readiness checks.
pub async fn ping(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}

/// The setting row-level security reads for the explicit system path; it lives with the
/// tenant transaction in `auth`.
pub use crate::server::auth::tx::RLS_SCOPE;
/// How a tenant's transaction begins (see `TenantCtx::begin`); it lives in `auth`, below `db`.
pub use crate::server::auth::tx::tenant_tx;

/// Connect options for the app's pool: the system path. Every use of `AppState::pool` is a
/// deliberate cross-tenant read or write (staff, webhooks, jobs, auth, code not yet moved to
/// a tenant transaction); a tenant's reads go through [`tenant_tx`] instead.
///
/// Also turns JIT compilation off for the app's connections: at scale (a million inboxes) the
/// planner's cost estimates for ordinary page queries crossed `jit_above_cost`, and compiling
/// took ~260 ms of a 430 ms staff search; these short queries never win it back.
pub fn system_path(options: sqlx::postgres::PgConnectOptions) -> sqlx::postgres::PgConnectOptions {
    options.options([(RLS_SCOPE, "system"), ("jit", "off")])
}

/// What the connected role and the pool's scope mean for row-level security.
#[derive(Debug, sqlx::FromRow)]
pub struct RlsPosture {
    pub role: String,
    pub superuser: bool,
    pub bypass_rls: bool,
    /// `app.rls_scope` on a fresh connection of the pool (`system` for the app's pool).
    pub scope: Option<String>,
}

pub async fn rls_posture(pool: &sqlx::PgPool) -> Result<RlsPosture, sqlx::Error> {
    sqlx::query_as(
        "SELECT rolname AS role, rolsuper AS superuser, rolbypassrls AS bypass_rls,
                current_setting('app.rls_scope', true) AS scope
           FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
}
