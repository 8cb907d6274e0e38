//! Row-level security, the second wall: a query that forgets `WHERE tenant_id`, run in one
//! tenant's transaction, sees none of another tenant's rows.

use crate::helpers::{Signup, browser, spawn_app};
use inboxgrove::domain::TenantId;
use inboxgrove::server::db;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

/// Two tenants (signed up through the app), each with a domain, its records and saga steps,
/// two inboxes and an audit row. Returns (A, B).
async fn two_tenants(pool: PgPool) -> (crate::helpers::TestApp, TenantId, TenantId) {
    let app = spawn_app(pool).await;
    app.signup(&Signup::valid("ann@alpha.io")).await;
    let mut b = Signup::valid("bob@beta.io");
    b.company = "Beta Co";
    app.signup_with(&browser(), &b).await;
    let tenant = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            let id: Uuid = sqlx::query_scalar(
                "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id
                  WHERE u.email = $1",
            )
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
            TenantId(id)
        }
    };
    let (a, b) = (tenant("ann@alpha.io").await, tenant("bob@beta.io").await);
    for (t, name) in [(a, "alpha.io"), (b, "beta.io")] {
        sqlx::query(
            "WITH d AS (INSERT INTO domains (id, tenant_id, name, status)
                        VALUES (gen_random_uuid(), $1, $2, 'active') RETURNING id, tenant_id),
                  r AS (INSERT INTO domain_records (domain_id, purpose, kind, name, content)
                        SELECT id, 'spf', 'TXT', $2, 'v=spf1 -all' FROM d),
                  s AS (INSERT INTO domain_saga_steps (domain_id, step, status)
                        SELECT id, 'verify', 'done' FROM d),
                  a AS (INSERT INTO audit_log (actor_kind, actor_label, tenant_id, action, target)
                        SELECT 'user', $2, tenant_id, 'test.seed', $2 FROM d)
             INSERT INTO inboxes (id, tenant_id, domain_id, local_part, status)
             SELECT gen_random_uuid(), d.tenant_id, d.id, n::text, 'active'
               FROM d, generate_series(1, 2) n",
        )
        .bind(t.0)
        .bind(name)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    (app, a, b)
}

/// Every table row-level security guards (public schema).
async fn rls_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity
          ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Rows of `table` that belong to `tenant` (through its parent domain or membership where the
/// table has no tenant_id of its own).
fn owned_by(table: &str) -> String {
    match table {
        "tenants" => "SELECT count(*) FROM tenants WHERE id = $1".into(),
        "users" => "SELECT count(*) FROM users u WHERE u.id IN \
                    (SELECT user_id FROM memberships WHERE tenant_id = $1)"
            .into(),
        "domain_records" | "domain_saga_steps" => format!(
            "SELECT count(*) FROM {table} x WHERE x.domain_id IN \
             (SELECT id FROM domains WHERE tenant_id = $1)"
        ),
        t => format!("SELECT count(*) FROM {t} WHERE tenant_id = $1"),
    }
}

#[sqlx::test]
async fn a_query_without_its_tenant_filter_sees_only_its_own_tenants_rows(pool: PgPool) {
    let (app, a, b) = two_tenants(pool).await;

    let mut tx = db::tenant_tx(&app.pool, a).await.unwrap();
    // Written as if someone forgot the filter.
    let owners: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM domains")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(owners, vec![a.0]);
    let inboxes: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM inboxes")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inboxes, vec![a.0, a.0]);
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM tenants")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, vec!["Acme Outreach".to_string()]);
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(emails, vec!["ann@alpha.io".to_string()]);

    // Every guarded table: B's rows exist (system path) and none shows in A's transaction.
    let tables = rls_tables(&app.pool).await;
    for t in [
        "audit_log",
        "domains",
        "inboxes",
        "memberships",
        "domain_records",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "{t} is not guarded: {tables:?}"
        );
    }
    let mut seen_by_system = 0;
    for t in &tables {
        let sql = owned_by(t);
        let system: i64 = sqlx::query_scalar(&sql)
            .bind(b.0)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        seen_by_system += system;
        let in_a: i64 = sqlx::query_scalar(&sql)
            .bind(b.0)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            in_a, 0,
            "tenant A's transaction sees {in_a} of B's rows in {t}"
        );
    }
    assert!(
        seen_by_system >= 10,
        "B's rows are missing: {seen_by_system}"
    );
    tx.commit().await.unwrap();

    // Committed: the connection is back on the system path, and sees both tenants again.
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM domains")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(all, 2);
}

#[sqlx::test]
async fn a_tenant_cannot_write_a_row_for_another_tenant(pool: PgPool) {
    let (app, a, b) = two_tenants(pool).await;
    let mut tx = db::tenant_tx(&app.pool, a).await.unwrap();
    let err = sqlx::query(
        "INSERT INTO domains (id, tenant_id, name, status) VALUES ($1, $2, 'stolen.io', 'active')",
    )
    .bind(Uuid::new_v4())
    .bind(b.0)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("42501"), "{err}"); // new row violates the policy
    drop(tx);

    // Nor move its own rows to B, nor touch B's.
    let mut tx = db::tenant_tx(&app.pool, a).await.unwrap();
    let moved = sqlx::query("UPDATE inboxes SET tenant_id = $1")
        .bind(b.0)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        moved.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501")
    );
    drop(tx);
    let mut tx = db::tenant_tx(&app.pool, a).await.unwrap();
    let touched = sqlx::query("DELETE FROM domain_records WHERE name = 'beta.io'")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    assert_eq!(touched, 0);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM domain_records")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 2);
}

#[sqlx::test]
async fn a_connection_with_neither_scope_nor_tenant_sees_no_tenant_rows(pool: PgPool) {
    let (app, _, _) = two_tenants(pool).await;
    // The same server, role and database, without the system scope the app's pool carries.
    let o = app.pool.connect_options();
    let mut bare = PgConnectOptions::new_without_pgpass()
        .host(o.get_host())
        .port(o.get_port())
        .username(o.get_username());
    if let Some(d) = o.get_database() {
        bare = bare.database(d);
    }
    let mut conn = sqlx::PgConnection::connect_with(&bare).await.unwrap();
    let mut hidden = 0;
    for t in rls_tables(&app.pool).await {
        let system: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        hidden += system;
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 0, "an unscoped connection sees {n} rows of {t}");
    }
    assert!(hidden >= 20, "too few rows to hide: {hidden}");
}

#[sqlx::test]
async fn the_app_connects_as_a_role_that_cannot_bypass_row_level_security(pool: PgPool) {
    let app = spawn_app(pool).await;
    let p = db::rls_posture(&app.state.pool).await.unwrap();
    assert!(!p.superuser, "{} is a superuser", p.role);
    assert!(!p.bypass_rls, "{} has BYPASSRLS", p.role);
    assert_eq!(p.scope.as_deref(), Some("system"));
}

/// Future tables cannot forget it: a table with a tenant_id column, or a foreign key to a
/// guarded table, must have row-level security enabled and forced, with both policies (the
/// staff-only `tenant_notes` has the system path alone).
#[sqlx::test]
async fn every_tenant_owned_table_has_forced_row_level_security(pool: PgPool) {
    let app = spawn_app(pool).await;
    let missing: Vec<String> = sqlx::query_scalar(
        "WITH owned AS (
             SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                          AND NOT a.attisdropped))
         ), guarded AS (
             SELECT oid FROM owned
             UNION
             SELECT k.conrelid FROM pg_constraint k
              WHERE k.contype = 'f' AND k.confrelid IN (SELECT oid FROM owned)
         )
         SELECT c.relname::text FROM pg_class c JOIN guarded g ON g.oid = c.oid
          WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)
             OR NOT EXISTS (SELECT 1 FROM pg_policy p
                             WHERE p.polrelid = c.oid AND p.polname = 'system_path')
             OR (c.relname <> 'tenant_notes' AND NOT EXISTS (SELECT 1 FROM pg_policy p
                             WHERE p.polrelid = c.oid AND p.polname = 'tenant_rows'))
          ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(missing.is_empty(), "tables without RLS: {missing:?}");
}

/// A policy that compares each row with `current_setting(...)` calls the function per row; in
/// a scalar subquery it is read once per statement (an InitPlan). Every policy reads its
/// settings the second way, including those of tables added later.
#[sqlx::test]
async fn every_policy_reads_its_settings_once_per_statement(pool: PgPool) {
    let app = spawn_app(pool).await;
    let per_row: Vec<String> = sqlx::query_scalar(
        "SELECT tablename || '.' || policyname FROM pg_policies
          WHERE schemaname = 'public'
            AND (regexp_replace(coalesce(qual, ''), '\\(\\s*SELECT\\s+\\(?(NULLIF\\()?current_setting\\(', '', 'gi')
                     ~* 'current_setting\\('
              OR regexp_replace(coalesce(with_check, ''), '\\(\\s*SELECT\\s+\\(?(NULLIF\\()?current_setting\\(', '', 'gi')
                     ~* 'current_setting\\(')
          ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        per_row.is_empty(),
        "policies reading a setting per row: {per_row:?}"
    );
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(total > 40, "{total}");
}

/// Staff-only notes about a tenant stay out of the tenant's own transaction.
#[sqlx::test]
async fn a_tenant_cannot_read_the_staff_notes_about_itself(pool: PgPool) {
    let (app, a, _) = two_tenants(pool).await;
    sqlx::query(
        "INSERT INTO tenant_notes (tenant_id, author, body) VALUES ($1, 'staff@ig.io', 'watch')",
    )
    .bind(a.0)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut tx = db::tenant_tx(&app.pool, a).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_notes")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A pool of one connection on the system path, as the app's: whatever one borrower leaves
/// on it, the next one meets.
async fn one_connection(pool: &PgPool) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db::system_path(pool.connect_options().as_ref().clone()))
        .await
        .unwrap()
}

/// A tenant's read ends without a COMMIT (`end_read`: the ROLLBACK rides with the pool's
/// release check). The connection must come back to the pool as it went out: on the system
/// path, no tenant named, no transaction open, so the next borrower (a webhook, a job, another
/// tenant) never inherits the last tenant's scope.
#[sqlx::test]
async fn a_read_ended_without_commit_returns_the_connection_on_the_system_path(pool: PgPool) {
    let (app, a, _b) = two_tenants(pool).await;
    let one = one_connection(&app.pool).await;
    for _ in 0..3 {
        let mut tx = inboxgrove::server::auth::tenant_tx(&one, a).await.unwrap();
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM domains")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen, 1, "inside the tenant's read: its own domain only");
        inboxgrove::server::auth::end_read(tx);
        let (scope, tenant, all): (Option<String>, Option<String>, i64) = sqlx::query_as(
            "SELECT current_setting('app.rls_scope', true),
                    nullif(current_setting('app.tenant_id', true), ''),
                    (SELECT count(*) FROM domains)",
        )
        .fetch_one(&one)
        .await
        .unwrap();
        assert_eq!(scope.as_deref(), Some("system"));
        assert_eq!(tenant, None);
        assert_eq!(all, 2, "the system path sees both tenants again");
        // Outside a transaction block a savepoint is refused: no transaction was left open.
        let err = sqlx::query("SAVEPOINT probe")
            .execute(&one)
            .await
            .expect_err("the read's transaction was left open");
        assert!(err.to_string().contains("transaction block"), "{err}");
    }
}

/// A caller that goes away while its tenant transaction is beginning (a browser that hangs up
/// mid-request drops the request's future) must not leave the connection inside that
/// transaction: sqlx's own BEGIN, dropped before the server answers, hands the connection back
/// to the pool with the transaction — and this tenant's scope — still open, and the next
/// borrower (a webhook on the system path, another tenant) would run in it. Every point of
/// the begin is cut short in turn; after each, the pool's one connection is clean.
#[sqlx::test]
async fn a_tenant_transaction_dropped_while_beginning_leaves_no_transaction_behind(pool: PgPool) {
    let (app, a, _b) = two_tenants(pool).await;
    let one = one_connection(&app.pool).await;
    for polls in 0..60 {
        let mut begin = Box::pin(inboxgrove::server::auth::tenant_tx(&one, a));
        for _ in 0..polls {
            let ready = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(begin.as_mut(), cx).is_ready())
            })
            .await;
            if ready {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(begin);
        let (scope, all): (Option<String>, i64) = sqlx::query_as(
            "SELECT current_setting('app.rls_scope', true), (SELECT count(*) FROM domains)",
        )
        .fetch_one(&one)
        .await
        .unwrap();
        assert_eq!(scope.as_deref(), Some("system"), "after {polls} polls");
        assert_eq!(
            all, 2,
            "after {polls} polls: the system path sees both tenants"
        );
        let err = sqlx::query("SAVEPOINT probe").execute(&one).await;
        assert!(
            err.is_err(),
            "after {polls} polls a transaction was left open"
        );
    }
}
