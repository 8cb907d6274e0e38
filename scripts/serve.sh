#!/usr/bin/env bash
# Serves a built binary (release|debug) with sandbox providers after migrating and seeding.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
bin="target/$profile/inboxgrove"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export INBOXGROVE_LOG__FORMAT="${INBOXGROVE_LOG__FORMAT:-text}"
"$bin" seed
echo "Serving InboxGrove on http://$LEPTOS_SITE_ADDR"
exec "$bin" serve
