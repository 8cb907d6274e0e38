//! How a `TenantCtx` begins its row-level-security transaction, and the one thing `auth` needs
//! from the app: its pool (so `auth` never names `AppState`, which sits far above it).

use sqlx::PgPool;

/// The setting row-level security reads for the explicit system path (see the migration
/// `row_level_security`): a connection that carries `app.rls_scope=system` sees every tenant.
pub const RLS_SCOPE: &str = "app.rls_scope";

/// Whatever holds the app's pool: the pool itself, or `AppState` (implemented in `state`).
pub trait HasPool {
    fn pool(&self) -> &PgPool;
    /// The process's cache of sessions and admissions (`AppState`'s); none for a bare pool.
    fn auth_cache(&self) -> Option<&super::cache::AuthCache> {
        None
    }
}

impl HasPool for PgPool {
    fn pool(&self) -> &PgPool {
        self
    }
}

/// A transaction that sees one tenant's rows only, whatever its queries forget: it drops the
/// connection's system scope and names the tenant, both `SET LOCAL` (undone at commit or
/// rollback, so the connection goes back to the pool as it came). One round trip: BEGIN and the
/// settings go as one simple-query batch; the id is a typed uuid, so formatting it is safe.
///
/// The begin runs on a task of its own. sqlx's BEGIN is not cancel-safe: dropped while waiting
/// for the server's answer (a browser hanging up drops its request's future), it hands the
/// connection back to the pool still inside the transaction, in this tenant's scope, and the
/// next borrower (a webhook on the system path, another tenant) would run there. On its own
/// task the begin always finishes; a caller that went away leaves a transaction that rolls
/// back when dropped.
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: crate::domain::TenantId,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let pool = pool.clone();
    let begin = format!(
        "BEGIN; SET LOCAL {RLS_SCOPE} = 'tenant'; SET LOCAL app.tenant_id = '{}'",
        tenant.0.hyphenated()
    );
    tokio::spawn(async move { pool.begin_with(begin).await })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// Ends a transaction that only read. There is nothing to commit, so it is dropped: sqlx
/// queues its ROLLBACK and sends it together with the pool's check of the returned connection,
/// one round trip fewer than a COMMIT (which a signed-in page would otherwise wait for).
pub fn end_read(tx: sqlx::Transaction<'static, sqlx::Postgres>) {
    drop(tx);
}
