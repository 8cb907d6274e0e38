#!/usr/bin/env bash
# Runs a command with DATABASE_URL set. With DATABASE_URL already set it starts nothing;
# otherwise it starts (once) a private PostgreSQL cluster owned by the `postgres` user, on
# its own port, creates the database and exports its URL.
#   INBOXGROVE_PG_DIR (default /var/tmp/inboxgrove-pg)  INBOXGROVE_PG_PORT (default 54329)
#   INBOXGROVE_DB_NAME (default inboxgrove)
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi

dir="${INBOXGROVE_PG_DIR:-/var/tmp/inboxgrove-pg}"
port="${INBOXGROVE_PG_PORT:-54329}"
db="${INBOXGROVE_DB_NAME:-inboxgrove}"
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

if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "[db] creating a private cluster in $dir"
    "${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
fi
if ! "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "[db] starting PostgreSQL on 127.0.0.1:$port"
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
fi
psql_() { psql -X -q -h 127.0.0.1 -p "$port" -U postgres "$@"; }
if [ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    psql_ -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
fi
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db"
exec "$@"
