#!/usr/bin/env bash
# make soak: SOAK_SECS (600) of mixed load (examples/soak.rs) against the release build on a
# database of its own; prints p50/p99 and errors per kind, and the server's RSS every minute,
# at the start and at the end. Numbers, not assertions: growth beyond 25 % from the first
# minute's RSS to the end is flagged.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?run through scripts/with-db.sh}"
addr="${SOAK_ADDR:-127.0.0.1:3210}"
base="${DATABASE_URL%%\?*}"; base="${base%/*}"
secs="${SOAK_SECS:-600}"
data=/var/tmp/inboxgrove-soak
rm -rf "$data"; mkdir -p "$data" .bench
psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS inboxgrove_soak WITH (FORCE)" -c "CREATE DATABASE inboxgrove_soak"
export STRIPE_WEBHOOK_SECRET="whsec_soak_$(date +%s)"
INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE=100000000 INBOXGROVE_RATE_LIMITS__TENANT_PER_HOUR=100000000 \
    INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE=100000 INBOXGROVE_TRIAL__MAX_INBOXES=100000 \
    INBOXGROVE_INBOXES__MAX_PER_DOMAIN=100000 INBOXGROVE_RELAY__POLICY_DIR="$data/relay" \
    INBOXGROVE_DNS__RESOLVER=127.0.0.1:0 INBOXGROVE_METRICS__LISTEN=127.0.0.1:0 \
    DATABASE_URL="$base/inboxgrove_soak" LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="$addr" \
    target/release/inboxgrove serve > .bench/soak-server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://$addr/health/ready" >/dev/null && break; sleep 0.1; done
eval "$(DATABASE_URL="$base/inboxgrove_soak" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example page_bench_setup)"
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
start_rss=$(rss)
echo "== soak: ${secs} s of mixed load; server RSS at start (after set-up): ${start_rss} MiB"
( for _ in $(seq 1 $(( secs / 60 ))); do sleep 60; echo "   RSS $(rss) MiB"; done ) &
sampler=$!
trap 'kill $sampler $pid 2>/dev/null || true' EXIT
cargo build -q --release --no-default-features --features ssr --example soak
BENCH_URL="http://$addr" BENCH_COOKIE="$BENCH_COOKIE" BENCH_DOMAIN="$BENCH_DOMAIN" SOAK_SECS="$secs" \
    target/release/examples/soak
kill "$sampler" 2>/dev/null || true
end_rss=$(rss)
echo "server RSS at the end: ${end_rss} MiB (start ${start_rss} MiB, peak $(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB)"
awk -v s="$start_rss" -v e="$end_rss" 'BEGIN { g = (e - s) / s * 100; printf "growth: %.0f %% (bound: 25 %%)%s\n", g, (g > 25 ? "  ** over the bound **" : "") }'
