#!/usr/bin/env bash
# The server Playwright starts: the debug build on its own fresh database and port.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?run through scripts/with-db.sh}"
base="${DATABASE_URL%/*}"
db="inboxgrove_e2e"
psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export DATABASE_URL="$base/$db"
export LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="${E2E_ADDR:-127.0.0.1:3100}"
export INBOXGROVE_SERVER__PUBLIC_URL="http://${LEPTOS_SITE_ADDR}"
export INBOXGROVE_DNS__RESOLVER=127.0.0.1:0   # sandbox DNS on a free port, not make run's
export INBOXGROVE_LOG__FORMAT=text
# Every browser of the suite signs in from 127.0.0.1: the per-IP login limit would be shared.
export INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE=10000
export INBOXGROVE_RELAY__POLICY_DIR="${TMPDIR:-/tmp}/inboxgrove-e2e-relay"   # the sandbox relay's files
# A real Dovecot holds the mailboxes, as in make run (its own port and directory).
export INBOXGROVE_MAILSTORE__PROVIDER=dovecot
export INBOXGROVE_MAILSTORE__RUN_DIR="${TMPDIR:-/tmp}/inboxgrove-e2e-dovecot"
export INBOXGROVE_MAILSTORE__IMAP_PORT="${E2E_IMAP_PORT:-1144}"
export INBOXGROVE_RELAY__IMAP_HOST=127.0.0.1 INBOXGROVE_RELAY__IMAP_PORT="$INBOXGROVE_MAILSTORE__IMAP_PORT"
export INBOXGROVE_RELAY__IMAP_SECURITY=None
target/debug/inboxgrove seed >/dev/null   # the staff user drives the sandbox clock
exec target/debug/inboxgrove serve
