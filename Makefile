# InboxGrove. Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
CARGO_FEATURES := --no-default-features --features ssr

.PHONY: run test test-unit test-e2e build-debug lint release-front fmt bench soak tools

## Build in release mode, start Postgres if needed, migrate, seed the demo logins, serve.
run:
	scripts/setup-tools.sh build
	scripts/build-site.sh --release
	scripts/with-db.sh scripts/serve.sh release

## Every suite: unit + integration (real Postgres), then end-to-end (Playwright, Chromium).
## Tests use their own cluster (fsync off, for speed); make run's keeps durable defaults, which
## check-db-modes.sh proves first. policy_test.lua runs the KumoMTA policy's decisions (AUTH, RCPT,
## LMTP routing, daily allowance) under Lua 5.4. layers.py (first, it takes a second) fails on an import that
## points up a layer or closes a cycle (docs: "Imports run one way").
test:
	python3 scripts/layers.py
	scripts/setup-tools.sh test
	lua5.4 deploy/kumomta/test/policy_test.lua
	scripts/check-db-modes.sh
	INBOXGROVE_DB_MODE=test scripts/with-db.sh $(MAKE) --no-print-directory test-unit
	scripts/build-site.sh
	INBOXGROVE_DB_MODE=test scripts/with-db.sh $(MAKE) --no-print-directory test-e2e

test-unit:
	cargo test --no-fail-fast $(CARGO_FEATURES) --lib --tests

test-e2e:
	cd end2end && npx playwright test

## Formatting and clippy for both halves, warnings denied.
lint:
	cargo fmt --check
	cargo clippy --all-targets $(CARGO_FEATURES) -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

## The browser half as `make run` builds it (wasm-release: LTO, opt-level z). Deep view types
## can overflow rustc's query depth there only, so CI builds it too.
release-front:
	cargo build --lib --profile wasm-release --no-default-features --features hydrate --target wasm32-unknown-unknown --target-dir target/front

fmt:
	cargo fmt

## Signed-in GET /dashboard under load against the release build; prints rps, latency, RSS.
## Uses make run's (durable) cluster: the figure is the one production would see.
bench:
	scripts/setup-tools.sh bench
	scripts/build-site.sh --release
	scripts/with-db.sh scripts/bench.sh

## SOAK_SECS (600) of mixed load (pages, webhooks, provisioning, exports) against the release
## build: p50/p99 and errors per kind, server RSS at start, every minute and at the end.
soak:
	scripts/setup-tools.sh build
	scripts/build-site.sh --release
	scripts/with-db.sh scripts/soak.sh
