#!/usr/bin/env bash
# make bench, against the release build:
#  1. signed-in GET /dashboard, 50 connections for 10 s: requests/s, p50/p95/p99, peak RSS;
#  2. 1,000 signed Stripe webhook events at concurrency 20: events/s, p50/p99 apply latency;
#  3. payment webhook → domain active (sandbox providers): each saga step and the total, p50 of 5;
#  1b. the per-tenant rate limiter alone: ns per check, 2 threads;
#  4. the magic button: Provision → Instantly CSV, 50 and 1,000 inboxes, p50 of 5, and peak RSS.
# Numbers, not assertions. BENCH_BIN runs another build of the server (e.g. an older commit's, to
# compare before and after in one sitting); the bench clients are always this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?run through scripts/with-db.sh}"
addr="${BENCH_ADDR:-127.0.0.1:3200}"
conns="${BENCH_CONNECTIONS:-50}"
duration="${BENCH_DURATION:-10s}"
base="${DATABASE_URL%/*}"
bin="${BENCH_BIN:-target/release/inboxgrove}"
mkdir -p .bench
psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS inboxgrove_bench WITH (FORCE)" -c "CREATE DATABASE inboxgrove_bench"

export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_bench_$(date +%s)}"
# The trial caps are raised so one bench customer can hold 10 domains and 1,000 inboxes (part 4);
# the rate limits stay on (their cost is in the figures) but high enough never to refuse.
INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE=100000000 INBOXGROVE_RATE_LIMITS__TENANT_PER_HOUR=100000000 \
    INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE=100000 \
    INBOXGROVE_TRIAL__MAX_DOMAINS=20 INBOXGROVE_TRIAL__MAX_INBOXES=2000 INBOXGROVE_RELAY__POLICY_DIR=.bench/relay \
    INBOXGROVE_DNS__RESOLVER=127.0.0.1:0 DATABASE_URL="$base/inboxgrove_bench" LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="$addr" \
    INBOXGROVE_LOG__FORMAT=json "$bin" serve > .bench/server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://$addr/health/ready" >/dev/null && break; sleep 0.1; done

jar=.bench/cookies.txt; rm -f "$jar"
curl -fs -c "$jar" -o /dev/null -X POST "http://$addr/api/auth/signup" \
    --data-urlencode "company=Bench Co" --data-urlencode "email=bench@inboxgrove.test" \
    --data-urlencode "password=bench-password-2026" --data-urlencode "website="
cookie="ig_session=$(awk '$6 == "ig_session" {print $7}' "$jar")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://$addr/dashboard")
[ "$code" = 200 ] || { echo "signed-in /dashboard answered $code, not 200" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "== InboxGrove bench: signed-in GET /dashboard, $conns connections, $duration, release build"
echo "server RSS before load: $(( $(rss_kib) / 1024 )) MiB"
wrk -t2 -c"$conns" -d"$duration" -s scripts/bench-report.lua -H "Cookie: $cookie" "http://$addr/dashboard" \
    | sed -n '/^requests:/,$p'
echo "server RSS after load:  $(( $(rss_kib) / 1024 )) MiB"
echo "server peak RSS (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"

echo
cargo run -q --release --no-default-features --features ssr --example rate_limit_bench

echo
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example webhook_bench
echo "server peak RSS after webhooks (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"

echo
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example domain_bench

echo
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example inbox_bench
echo "server peak RSS after the magic button (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
