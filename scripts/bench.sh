#!/usr/bin/env bash
# make bench, against the release build:
#  1. the page table: each signed-in page (/dashboard, /domains, /inboxes with 50 rows, one
#     domain's page, the dashboard's server function, and the API's inbox listing with a key)
#     under wrk, 50 connections for 10 s,
#     each next to ../shared/bench/ref-axum (a bare axum + sqlx signed-in page, the ceiling)
#     measured on the same Postgres a moment before: req/s, p50, p99, errors, the ratio to the
#     reference, CPU microseconds per request of each server and of the whole machine
#     (Postgres, wrk and the kernel included: where the time goes), and the server's peak RSS;
#  1b. the per-tenant rate limiter alone: ns per check, 2 threads; and the API meter alone:
#      ns per metered call, 2 threads, and one flush of 1,000 workspaces' counts;
#  2. 1,000 signed Stripe webhook events at concurrency 20: events/s, p50/p99 apply latency;
#  3. payment webhook → domain active (sandbox providers): each saga step and the total, p50 of 5;
#  4. the magic button: Provision → Instantly CSV, 50 and 1,000 inboxes, p50 of 5, and peak RSS;
#  5. deliverability at scale: 10,000 inboxes in one workspace and 1,000,000 relay log records
#     through the log hook (records/s), then the deliverability pages and the dashboard timed;
#  6. data at scale: 20,000 workspaces, 100,000 domains, 1,000,000 inboxes, 10,000,000 delivery
#     rows (examples/scale_bench.rs), then p50/p95/p99 of the large workspace's and staff pages
#     and the export of 10,000 inboxes.
# Numbers, not assertions. BENCH_BIN runs another build of the server (e.g. an older commit's, to
# compare before and after in one sitting); the bench clients are always this checkout's.
# REF_AXUM_DIR points at the reference elsewhere; BENCH_ROUNDS repeats the page table;
# BENCH_PAGES_ONLY=1 stops after it.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?run through scripts/with-db.sh}"
addr="${BENCH_ADDR:-127.0.0.1:3200}"
conns="${BENCH_CONNECTIONS:-50}"
duration="${BENCH_DURATION:-10s}"
base="${DATABASE_URL%/*}"
bin="${BENCH_BIN:-target/release/inboxgrove}"
mkdir -p .bench
# The relay files and the mail store (a real Dovecot the server starts, as in make run): under
# /var/tmp, where Dovecot's unprivileged user can reach them; fresh each run.
bench_data="${BENCH_DATA_DIR:-/var/tmp/inboxgrove-bench}"
rm -rf "$bench_data"; mkdir -p "$bench_data"; chmod 755 "$bench_data"
psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS inboxgrove_bench WITH (FORCE)" -c "CREATE DATABASE inboxgrove_bench"

export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_bench_$(date +%s)}"
export KUMOMTA_WEBHOOK_SECRET="${KUMOMTA_WEBHOOK_SECRET:-kumo_bench_$(date +%s)}"
# The trial caps are raised so one bench customer can hold 10 domains and 1,000 inboxes (part 4);
# part 5's million records carry ~11 complaints a day, which would suspend its customer: the
# complaint trigger is raised out of the way (its own tests pin it);
# the rate limits stay on (their cost is in the figures) but high enough never to refuse.
INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE=100000000 INBOXGROVE_RATE_LIMITS__TENANT_PER_HOUR=100000000 \
    INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE=100000 \
    INBOXGROVE_TRIAL__MAX_DOMAINS=20 INBOXGROVE_TRIAL__MAX_INBOXES=2000 INBOXGROVE_RELAY__POLICY_DIR="$bench_data/relay" \
    INBOXGROVE_ABUSE__COMPLAINTS_24H=1000000 INBOXGROVE_API__TRIAL_CALLS_PER_MONTH=1000000000000 \
    INBOXGROVE_MAILSTORE__PROVIDER=dovecot INBOXGROVE_MAILSTORE__RUN_DIR="$bench_data/dovecot" \
    INBOXGROVE_MAILSTORE__IMAP_PORT="${BENCH_IMAP_PORT:-1145}" \
    INBOXGROVE_DNS__RESOLVER=127.0.0.1:0 DATABASE_URL="$base/inboxgrove_bench" LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="$addr" \
    INBOXGROVE_LOG__FORMAT=json "$bin" serve > .bench/server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://$addr/health/ready" >/dev/null && break; sleep 0.1; done

rss_kib() { awk "/^$1/ {print \$2}" "/proc/$pid/status"; }
echo "server RSS before load: $(( $(rss_kib VmRSS) / 1024 )) MiB"

# The customer whose pages are measured: one active domain, 50 inboxes (not timed).
# Kept in .bench/page-bench.env too, for loading or profiling a page by hand afterwards.
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example page_bench_setup \
    > .bench/page-bench.env
source .bench/page-bench.env
: "${BENCH_COOKIE:?the page bench set-up printed no cookie}"
: "${BENCH_API_KEY:?the page bench set-up printed no API key}"
for path in /dashboard /domains /inboxes "/domains/$BENCH_DOMAIN"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $BENCH_COOKIE" "http://$addr$path")
    [ "$code" = 200 ] || { echo "signed-in $path answered $code, not 200" >&2; exit 1; }
done

# The reference, built from its own lock file, on its own database in the same cluster.
ref_dir="${REF_AXUM_DIR:-../shared/bench/ref-axum}"
ref_addr="${REF_ADDR:-127.0.0.1:39180}"
ref_pid=
if [ -f "$ref_dir/Cargo.toml" ]; then
    CARGO_TARGET_DIR=target/ref-axum cargo build -q --release --manifest-path "$ref_dir/Cargo.toml"
    psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS inboxgrove_bench_ref WITH (FORCE)" \
        -c "CREATE DATABASE inboxgrove_bench_ref"
    DATABASE_URL="$base/inboxgrove_bench_ref" ADDR="$ref_addr" target/ref-axum/release/ref-axum \
        > .bench/ref-axum.log 2>&1 &
    ref_pid=$!
    trap 'kill $pid $ref_pid 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do curl -fs -o /dev/null -H 'Cookie: sid=benchsession' "http://$ref_addr/dashboard" && break; sleep 0.1; done
else
    echo "!! no reference at $ref_dir (set REF_AXUM_DIR): the table has no ratios" >&2
fi

# CPU time (ticks) of a process, and of the whole machine (every core's busy time: the server,
# Postgres, wrk and the kernel; summing Postgres' own processes is unreliable, as a backend that
# exits takes its ticks with it).
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
hz=$(getconf CLK_TCK)
# One wrk run against the server with pid $4; prints "req/s p50 p99 errors app-us machine-us":
# CPU microseconds per request spent by that server, and by the whole machine, during the run
# (the difference is mostly Postgres and wrk). The full report goes to .bench/wrk.log.
load() { # url cookie-or-header method pid
    local h="Cookie: $2"
    case "$2" in Authorization:*) h="$2" ;; esac
    local a0 m0 out
    a0=$(ticks_of "$4"); m0=$(machine_ticks)
    out=$(WRK_METHOD="${3:-}" wrk -t2 -c"$conns" -d"$duration" -s scripts/bench-report.lua -H "$h" "$1")
    echo "$out" >> .bench/wrk.log
    echo "$out" | awk -v a=$(( $(ticks_of "$4") - a0 )) -v m=$(( $(machine_ticks) - m0 )) -v hz="$hz" '
        /^requests:/ { n = $2 }
        /^summary:/ { s = $2 " " $3 " " $4 " " $5 }
        END { us = 1e6 / hz / (n > 0 ? n : 1)
              printf "%s %.0f %.0f\n", s, a * us, m * us }'
}
: > .bench/wrk.log
# Warm both (connection pools, statement caches) before anything is counted.
BENCH_DURATION_WARM=3s
[ -n "$ref_pid" ] && wrk -t2 -c"$conns" -d"$BENCH_DURATION_WARM" -H 'Cookie: sid=benchsession' "http://$ref_addr/dashboard" >/dev/null
wrk -t2 -c"$conns" -d"$BENCH_DURATION_WARM" -H "Cookie: $BENCH_COOKIE" "http://$addr/dashboard" >/dev/null

echo "== the page table: signed-in pages, wrk $conns connections, $duration each, release build;"
echo "   ref = ../shared/bench/ref-axum's signed-in /dashboard measured just before each row"
echo "   CPU us/req: CPU microseconds per request of the server (app) and of the whole machine"
echo "   (Postgres, wrk and the kernel included) during the row's run; ref's likewise for its run"
printf '%-32s %9s %8s %8s %7s %9s %9s %7s %14s %14s\n' page "req/s" "p50 ms" "p99 ms" errors "ref req/s" "ref p99" ratio \
    "app/all us/req" "ref app/all"
for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
    for page in "/dashboard" "/domains" "/inboxes" "/domains/$BENCH_DOMAIN" "POST /api/dashboard" "/v1/inboxes?limit=50"; do
        method=; path="$page"; cred="$BENCH_COOKIE"
        case "$page" in "POST "*) method=POST; path="${page#POST }" ;; esac
        case "$page" in /v1/*) cred="Authorization: Bearer $BENCH_API_KEY" ;; esac
        ref="- - - - - -"
        [ -n "$ref_pid" ] && ref=$(load "http://$ref_addr/dashboard" "sid=benchsession" "" "$ref_pid")
        app=$(load "http://$addr$path" "$cred" "$method" "$pid")
        label="$page"; [ "$path" = "/domains/$BENCH_DOMAIN" ] && label="/domains/{id}"
        [ "$method" = POST ] && label="$page (server fn)"
        case "$page" in /v1/*) label="GET /v1/inboxes (API key, 50)" ;; esac
        read -r a_rps a_p50 a_p99 a_err a_cpu a_all <<< "$app"
        read -r r_rps _ r_p99 _ r_cpu r_all <<< "$ref"
        ratio=$(awk -v a="$a_rps" -v r="$r_rps" 'BEGIN { if (r + 0 > 0) printf "%.2f", a / r; else print "-" }')
        printf '%-32s %9s %8s %8s %7s %9s %9s %7s %14s %14s\n' "$label" "$a_rps" "$a_p50" "$a_p99" "$a_err" \
            "$r_rps" "$r_p99" "$ratio" "$a_cpu/$a_all" "$r_cpu/$r_all"
    done
done
echo "targets: ratio >= 0.5, p99 < 25 ms, 0 errors, peak RSS < 150 MiB"
echo "server RSS after load:  $(( $(rss_kib VmRSS) / 1024 )) MiB"
echo "server peak RSS (VmHWM): $(( $(rss_kib VmHWM) / 1024 )) MiB"
[ -n "$ref_pid" ] && kill "$ref_pid" 2>/dev/null || true
[ -n "${BENCH_PAGES_ONLY:-}" ] && exit 0

echo
cargo run -q --release --no-default-features --features ssr --example rate_limit_bench

echo
DATABASE_URL="$base/inboxgrove_bench" \
    cargo run -q --release --no-default-features --features ssr --example meter_bench

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

echo
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" \
    cargo run -q --release --no-default-features --features ssr --example deliverability_bench
echo "server peak RSS after deliverability (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"

echo
DATABASE_URL="$base/inboxgrove_bench" BENCH_URL="http://$addr" BENCH_COOKIE="$BENCH_COOKIE" BENCH_DOMAIN="$BENCH_DOMAIN" \
    cargo run -q --release --no-default-features --features ssr --example scale_bench
echo "server peak RSS after data at scale (VmHWM): $(( $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
