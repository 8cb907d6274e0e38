#!/usr/bin/env bash
# Builds the server and the site it serves (target/site): the SSR binary, the hydration wasm
# with its wasm-bindgen glue, the Tailwind stylesheet and the public assets.
#   scripts/build-site.sh            debug (make test's browser suite)
#   scripts/build-site.sh --release  release (make run, make bench, make soak)
#
# The same steps cargo-leptos takes, run directly with the tools setup-tools.sh installs:
# building cargo-leptos from source costs ~25 of a fresh machine's minutes (there is no
# prebuilt binary on the registries this machine reaches), and its debug build compiles the
# server with `--cfg erase_components`, i.e. every crate a second time after `cargo test` has
# built them once. Here the debug server reuses the Rust tests' build (only the crates whose
# features the test-only dependencies change are compiled again).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

release=false
case "${1:-}" in
    --release) release=true ;;
    "") ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac

name=inboxgrove        # Lib output name: Leptos.toml's server.output_name
site=target/site       # server.site_root
pkg="$site/pkg"        # server.site_pkg_dir
front=target/front     # the wasm build's own target dir, so its flags never rebuild the server's
ssr=(--no-default-features --features ssr)
hydrate=(--lib --no-default-features --features hydrate --target wasm32-unknown-unknown --target-dir "$front")

if $release; then
    cargo build --release --bin "$name" "${ssr[@]}"
    # wasm-release: LTO and opt-level z (Cargo.toml).
    cargo build --profile wasm-release "${hydrate[@]}"
    wasm="$front/wasm32-unknown-unknown/wasm-release/$name.wasm"
else
    cargo build --bin "$name" "${ssr[@]}"
    # No `--cfg erase_components` (cargo-leptos' debug default) on either half: server and
    # browser render the same component types, as in release.
    cargo build "${hydrate[@]}"
    wasm="$front/wasm32-unknown-unknown/debug/$name.wasm"
fi

# Build into a fresh directory and swap it in, so a failed step never leaves half a site.
next="$site.next"
rm -rf "$next"
mkdir -p "$next/pkg"
if [ -d public ]; then
    cp -R public/. "$next/"
fi
# Emits $name.js and ${name}_bg.wasm: the names Leptos' hydration scripts link when the server
# was not built by cargo-leptos (which renames the wasm and says so at compile time).
wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$next/pkg" "$wasm"
if $release; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
        "$next/pkg/${name}_bg.wasm" -o "$next/pkg/${name}_bg.wasm"
    tailwindcss --input style/tailwind.css --output "$next/pkg/$name.css" --minify
else
    tailwindcss --input style/tailwind.css --output "$next/pkg/$name.css"
fi
rm -rf "$site"
mv "$next" "$site"
echo "[build-site] $site: $(du -sh "$site" | cut -f1) ($($release && echo release || echo debug))"
