#!/usr/bin/env bash
# Serves a built binary (release|debug) with sandbox providers and a local Dovecot, after
# migrating and seeding.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
bin="target/$profile/inboxgrove"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export INBOXGROVE_LOG__FORMAT="${INBOXGROVE_LOG__FORMAT:-text}"
# The mailboxes: a real Dovecot (IMAP on 127.0.0.1:1143, no TLS, loopback only) started by the
# app from a config it writes under $data/dovecot, reading the passwd-files published beside
# the relay data. Under /var/tmp so Dovecot's unprivileged user can reach them.
data="${INBOXGROVE_DATA_DIR:-/var/tmp/inboxgrove}"
mkdir -p "$data"; chmod 755 "$data"
export INBOXGROVE_RELAY__POLICY_DIR="${INBOXGROVE_RELAY__POLICY_DIR:-$data/relay}"
export INBOXGROVE_MAILSTORE__PROVIDER="${INBOXGROVE_MAILSTORE__PROVIDER:-dovecot}"
export INBOXGROVE_MAILSTORE__RUN_DIR="${INBOXGROVE_MAILSTORE__RUN_DIR:-$data/dovecot}"
export INBOXGROVE_MAILSTORE__IMAP_PORT="${INBOXGROVE_MAILSTORE__IMAP_PORT:-1143}"
# What the exports and inbox pages tell customers: the same local IMAP.
export INBOXGROVE_RELAY__IMAP_HOST="${INBOXGROVE_RELAY__IMAP_HOST:-127.0.0.1}"
export INBOXGROVE_RELAY__IMAP_PORT="${INBOXGROVE_RELAY__IMAP_PORT:-$INBOXGROVE_MAILSTORE__IMAP_PORT}"
export INBOXGROVE_RELAY__IMAP_SECURITY="${INBOXGROVE_RELAY__IMAP_SECURITY:-None}"
"$bin" seed
# The demo customer's bought domain (sandbox Stripe and registrar only), bought at start.
export INBOXGROVE_SEED_DEMO_DOMAIN=1
echo "Serving InboxGrove on http://$LEPTOS_SITE_ADDR"
echo "Prometheus metrics on http://${INBOXGROVE_METRICS__LISTEN:-127.0.0.1:9464}/metrics (README, Operations)"
exec "$bin" serve
