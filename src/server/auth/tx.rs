//! How a `TenantCtx` begins its row-level-security transaction, and the one thing `auth` needs
//! from the app: its pool (so `auth` never names `AppState`, which sits far above it).

use sqlx::PgPool;

/// The setting row-level security reads for the explicit system path (see the migration
/// `row_level_security`): a connection that carries `app.rls_scope=system` sees every tenant.
pub const RLS_SCOPE: &str = "app.rls_scope";

/// Whatever holds the app's pool: the pool itself, or `AppState` (implemented in `state`).
pub trait HasPool {
    fn pool(&self) -> &PgPool;
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
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: crate::domain::TenantId,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin_with(format!(
        "BEGIN; SET LOCAL {RLS_SCOPE} = 'tenant'; SET LOCAL app.tenant_id = '{}'",
        tenant.0.hyphenated()
    ))
    .await
}

/// Ends a transaction that only read. There is nothing to commit, so it is dropped: sqlx
/// queues its ROLLBACK and sends it together with the pool's check of the returned connection,
/// one round trip fewer than a COMMIT (which a signed-in page would otherwise wait for).
pub fn end_read(tx: sqlx::Transaction<'static, sqlx::Postgres>) {
    drop(tx);
}
