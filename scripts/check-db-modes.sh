#!/usr/bin/env bash
# make test runs this first: `make run`'s cluster keeps Postgres' durable defaults (a crash of
# the machine must not corrupt a customer's data); only the test cluster trades them for speed.
# Starts each mode of with-db.sh on a throwaway data dir and port, asks the server, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
scratch="$(mktemp -d /var/tmp/inboxgrove-pg-check.XXXXXX)"
chmod 755 "$scratch" # initdb runs as `postgres` when we are root
cleanup() {
    for d in "$scratch"/*/data; do
        [ -f "$d/PG_VERSION" ] && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d" -w -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$scratch"
}
trap cleanup EXIT

settings() { # mode port -> "fsync full_page_writes synchronous_commit"
    DATABASE_URL= INBOXGROVE_DB_MODE="$1" INBOXGROVE_PG_DIR="$scratch/$1" INBOXGROVE_PG_PORT="$2" \
        scripts/with-db.sh bash -c 'psql -X "$DATABASE_URL" -tA -c "SHOW fsync" -c "SHOW full_page_writes" -c "SHOW synchronous_commit"' \
        | tail -3 | paste -sd' '
}
base=$((55000 + RANDOM % 4000))
run="$(settings run "$base")"
test="$(settings test "$((base + 1))")"
fail=0
[ "$run" = "on on on" ] || { echo "make run's Postgres must be durable (fsync full_page_writes synchronous_commit): got '$run'" >&2; fail=1; }
[ "$test" = "off off off" ] || { echo "the test cluster should trade durability for speed: got '$test'" >&2; fail=1; }
[ "$fail" = 0 ] && echo "[db] run mode durable ($run), test mode fast ($test)"
exit "$fail"
