#!/usr/bin/env bash
# Builds everything the browser needs:
#   pkg/wasm64/  the memory64 build (default target, std built from source: none is shipped)
#   pkg/wasm32/  the fallback for browsers without memory64 (rustup's prebuilt std)
#   dist/www/    the demo page, bundled by webpack
# Cargo and webpack are incremental, so a second build with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\033[1mbuild:\033[0m %s\n' "$*"; }

# wasm-bindgen + wasm-opt for one target. Binaryen from npm: Debian's cannot read 64-bit tables.
bind() { # target out-dir
  local wasm="target/$1/release/gguf64.wasm"
  local stamp="$2/.built-from"
  local fingerprint
  fingerprint=$(stat -c '%Y %s' "$wasm")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then return; fi
  step "wasm-bindgen + wasm-opt -> $2"
  rm -rf "$2"
  wasm-bindgen --target web --out-dir "$2" "$wasm"
  wasm-opt -O3 --enable-memory64 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$2/gguf64_bg.wasm" -o "$2/gguf64_bg.wasm"
  echo "$fingerprint" > "$stamp"
}

# `--bench`: the wasm64 build also carries the benchmark hooks (cargo feature `bench`), for
# tools/bench/parse.mjs and kernels.mjs. A later build without it drops them again.
FEATURES=()
if [ "${1:-}" = "--bench" ]; then FEATURES=(--features bench); fi

step "cargo build (wasm64-unknown-unknown, memory64${FEATURES:+, with the benchmark hooks})"
cargo build --release --lib --quiet -Zbuild-std=std,panic_abort "${FEATURES[@]}"
bind wasm64-unknown-unknown pkg/wasm64

step "cargo build (wasm32-unknown-unknown, fallback)"
cargo build --release --lib --quiet --target wasm32-unknown-unknown
bind wasm32-unknown-unknown pkg/wasm32

step "webpack (demo) -> dist/www"
webpack --mode production --no-stats
