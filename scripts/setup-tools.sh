#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already present.
#   scripts/setup-tools.sh build   wasm target, wasm-bindgen, npm packages (tailwind, binaryen)
#   scripts/setup-tools.sh test    the above + Debian's Chromium for Playwright
#   scripts/setup-tools.sh bench   the above (build) + wrk
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "[setup] $*"; }

apt_install() {
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown
fi


# The CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
wb_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
    say "installing wasm-bindgen-cli $wb_version"
    # Not --locked: its lock file names a webpki-roots release the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] \
    || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (tailwind, binaryen, playwright)"
    # `npm ci`, never `npm install`: it installs exactly what the committed lock says and never
    # writes it, so a fresh clone's `make run` / `make test` leaves `git status` clean (`npm
    # install` rewrote the lock whenever this npm would have written it differently, e.g. adding
    # other platforms' optional Tailwind oxide packages). A lock that no longer fits
    # package.json fails here, loudly: refresh it on purpose with `npm install` and commit it.
    npm ci --no-audit --no-fund --loglevel=error
fi

# The mail store (make run and the tests run a local, unprivileged Dovecot): Debian 12's 2.3.
if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/lib/dovecot/imap ]; then
    say "installing Dovecot (IMAP)"; apt_install dovecot-core dovecot-imapd
fi
# The KumoMTA policy's Lua is tested with Debian's Lua 5.4 (KumoMTA embeds 5.4) and cjson.
if [ "$what" = test ] && ! lua5.4 -e 'require "cjson"' >/dev/null 2>&1; then
    say "installing Lua 5.4 and lua-cjson"; apt_install lua5.4 lua-cjson
fi
if [ "$what" = test ] && [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium"; apt_install chromium
fi
if [ "$what" = bench ] && ! command -v wrk >/dev/null; then
    say "installing wrk"; apt_install wrk
fi
# The server only when we must start one ourselves; the psql client always (scripts use it).
if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing PostgreSQL"; apt_install postgresql
elif ! command -v psql >/dev/null; then
    say "installing the PostgreSQL client"; apt_install postgresql-client
fi
