#!/usr/bin/env bash
# Runs a command with DATABASE_URL set. With DATABASE_URL already set it starts nothing;
# otherwise it starts (once) a private PostgreSQL cluster on its own port, creates the app's
# login role and database, and exports its URL.
#
# Two modes, two clusters (INBOXGROVE_DB_MODE):
#   run  (default; make run, make bench)  Postgres' durable defaults (fsync, full_page_writes,
#        synchronous_commit): a crash of the machine cannot corrupt a customer's data.
#        /var/tmp/inboxgrove-pg on port 54329.
#   test (make test)  throwaway data, traded for speed: fsync, full_page_writes and
#        synchronous_commit off. /var/tmp/inboxgrove-pg-test on port 54339.
#   INBOXGROVE_PG_DIR, INBOXGROVE_PG_PORT, INBOXGROVE_DB_NAME (default inboxgrove) override.
#
# The app connects as the login role `inboxgrove` (NOSUPERUSER NOBYPASSRLS CREATEDB), which owns
# the database: a superuser or a BYPASSRLS role would walk through row-level security.
# CREATEDB lets `#[sqlx::test]` create a database per test. In test mode the URL also carries
# `app.rls_scope=system`, so test fixtures that query the per-test pool directly read every
# tenant; the app itself derives its own system and tenant pools whatever the URL says.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi

mode="${INBOXGROVE_DB_MODE:-run}"
case "$mode" in
    run)
        dir="${INBOXGROVE_PG_DIR:-/var/tmp/inboxgrove-pg}"
        port="${INBOXGROVE_PG_PORT:-54329}"
        tuning=""
        ;;
    test)
        dir="${INBOXGROVE_PG_DIR:-/var/tmp/inboxgrove-pg-test}"
        port="${INBOXGROVE_PG_PORT:-54339}"
        tuning="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        ;;
    *) echo "INBOXGROVE_DB_MODE must be run or test, not '$mode'" >&2; exit 2 ;;
esac
db="${INBOXGROVE_DB_NAME:-inboxgrove}"
role=inboxgrove
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# initdb/postgres refuse to run as root: run them as `postgres` (the data dir must be reachable).
if [ "$(id -u)" = 0 ]; then
    as_pg=(runuser -u postgres --)
    mkdir -p "$dir"; chown postgres:postgres "$dir"
else
    as_pg=()
    mkdir -p "$dir"
fi

psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
start() {
    echo "[db] starting PostgreSQL ($mode mode) on 127.0.0.1:$port"
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $tuning" start >/dev/null
}

if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "[db] creating a private cluster in $dir"
    "${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
fi
if ! "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    start
elif [ "$mode" = run ] && [ "$(psql_ -d postgres -tAc 'SHOW fsync')" != on ]; then
    # Started by an older with-db.sh with fsync=off: bring it back to durable defaults.
    echo "[db] the cluster in $dir runs with fsync=off; restarting it with durable settings"
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null
    start
fi

# The app's role: never a superuser, never BYPASSRLS (both skip row-level security).
psql_ -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
    ELSE
        ALTER ROLE $role LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
    END IF;
END \$\$;
SQL
if [ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    psql_ -d postgres -c "CREATE DATABASE \"$db\" OWNER $role" >/dev/null
fi
# A database made by an older with-db.sh belongs to `postgres` (and so do its tables, which
# `postgres` created by migrating): hand it all to the app's role, once. So do leftover
# `#[sqlx::test]` databases, which a later run must be able to drop.
if [ "$(psql_ -d postgres -tAc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'")" != "$role" ]; then
    echo "[db] handing database $db over to role $role"
    psql_ -d postgres -c "ALTER DATABASE \"$db\" OWNER TO $role" >/dev/null
    psql_ -d "$db" >/dev/null <<SQL
DO \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT nspname FROM pg_namespace
              WHERE nspowner = 'postgres'::regrole AND nspname <> 'public'
                AND nspname <> 'information_schema' AND nspname NOT LIKE 'pg\_%' LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO $role', r.nspname);
    END LOOP;
    -- Tables first: their serial sequences follow them.
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relowner = 'postgres'::regrole AND c.relkind IN ('r', 'p', 'v', 'm')
                AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
        EXECUTE format('ALTER %s %s OWNER TO $role',
            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
            r.rel);
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relowner = 'postgres'::regrole AND c.relkind = 'S'
                AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO $role', r.rel);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE p.proowner = 'postgres'::regrole
                AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO $role', r.fn);
    END LOOP;
    FOR r IN SELECT t.oid::regtype AS ty FROM pg_type t
               JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE t.typowner = 'postgres'::regrole AND t.typtype IN ('e', 'd')
                AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO $role', r.ty);
    END LOOP;
END \$\$;
SQL
    for stale in $(psql_ -d postgres -tAc "SELECT datname FROM pg_database
            WHERE datname LIKE '\_sqlx\_test%' AND datdba = 'postgres'::regrole"); do
        psql_ -d postgres -c "ALTER DATABASE \"$stale\" OWNER TO $role" >/dev/null
    done
fi

url="postgres://$role@127.0.0.1:$port/$db"
if [ "$mode" = test ]; then url="$url?options=-c%20app.rls_scope%3Dsystem"; fi
export DATABASE_URL="$url"
exec "$@"
