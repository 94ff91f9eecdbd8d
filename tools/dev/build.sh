#!/usr/bin/env bash
# Builds everything the browser needs:
#   pkg/wasm64/  the memory64 build (default target, std built from source: none is shipped)
#   pkg/wasm32/  the fallback for browsers without memory64 (rustup's prebuilt std)
#   dist/www/    the demo page, bundled by webpack
# Beside each build's gguf64_bg.wasm goes a gguf64_relaxed_bg.wasm: the same crate compiled with
# relaxed SIMD (+relaxed-simd), for browsers that validate it (src/js/runtime.js). Its wasm-bindgen
# glue is the plain build's byte for byte (checked below), so each directory ships one gguf64.js.
# Cargo and webpack are incremental, so a second build with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\033[1mbuild:\033[0m %s\n' "$*"; }

# wasm-opt's features: every build's, and relaxed SIMD for the relaxed builds.
OPT_FEATURES=(--enable-memory64 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue)

# wasm-bindgen + wasm-opt for one target. Binaryen from npm: Debian's cannot read 64-bit tables.
# Skipped while the .wasm cargo wrote is the one the stamp names.
bind() { # target out-dir
  local wasm="target/$1/release/gguf64.wasm"
  local stamp="$2/.built-from"
  local fingerprint
  fingerprint=$(stat -c '%Y %s' "$wasm")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then return; fi
  step "wasm-bindgen + wasm-opt -> $2"
  rm -rf "$2" # the relaxed build's .wasm and stamp too: bind_relaxed follows and remakes them
  wasm-bindgen --target web --out-dir "$2" "$wasm"
  wasm-opt -O3 "${OPT_FEATURES[@]}" "$2/gguf64_bg.wasm" -o "$2/gguf64_bg.wasm"
  echo "$fingerprint" > "$stamp"
}

# The relaxed build of one target (cargo's output under target/relaxed/) -> out-dir/gguf64_relaxed_bg.wasm,
# after `bind` made out-dir. Its glue must equal the plain build's, which loads it (src/js/runtime.js).
bind_relaxed() { # target out-dir
  local wasm="target/relaxed/$1/release/gguf64.wasm"
  local stamp="$2/.built-from-relaxed"
  local fingerprint tmp
  fingerprint=$(stat -c '%Y %s' "$wasm")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then return; fi
  step "wasm-bindgen + wasm-opt -> $2/gguf64_relaxed_bg.wasm"
  tmp=$(mktemp -d)
  wasm-bindgen --target web --out-dir "$tmp" "$wasm"
  if ! cmp -s "$tmp/gguf64.js" "$2/gguf64.js"; then
    echo "build: the relaxed build's wasm-bindgen glue differs from $2/gguf64.js; both builds must export the same" >&2
    diff "$2/gguf64.js" "$tmp/gguf64.js" | head -20 >&2
    rm -rf "$tmp"
    return 1
  fi
  wasm-opt -O3 "${OPT_FEATURES[@]}" --enable-relaxed-simd "$tmp/gguf64_bg.wasm" -o "$2/gguf64_relaxed_bg.wasm"
  rm -rf "$tmp"
  echo "$fingerprint" > "$stamp"
}

# The relaxed builds: the flags of .cargo/config.toml plus relaxed SIMD, in their own target
# directory so that the plain builds' caches stay valid. Cargo appends a CARGO_TARGET_<triple>_RUSTFLAGS
# to the config file's target.<triple>.rustflags (arrays from both are merged), so this adds only
# the one flag.
relaxed() { # cargo build arguments...
  CARGO_TARGET_DIR=target/relaxed \
  CARGO_TARGET_WASM64_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+relaxed-simd" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+relaxed-simd" \
    cargo build --release --lib --quiet "$@"
}

# `--bench`: the wasm64 build also carries the benchmark hooks (cargo feature `bench`), for
# tools/bench/parse.mjs and kernels.mjs. A later build without it drops them again.
FEATURES=()
if [ "${1:-}" = "--bench" ]; then FEATURES=(--features bench); fi

step "cargo build (wasm64-unknown-unknown, memory64${FEATURES:+, with the benchmark hooks})"
cargo build --release --lib --quiet -Zbuild-std=std,panic_abort "${FEATURES[@]}"
bind wasm64-unknown-unknown pkg/wasm64
step "cargo build (wasm64-unknown-unknown, relaxed SIMD${FEATURES:+, with the benchmark hooks})"
relaxed -Zbuild-std=std,panic_abort "${FEATURES[@]}"
bind_relaxed wasm64-unknown-unknown pkg/wasm64

step "cargo build (wasm32-unknown-unknown, fallback)"
cargo build --release --lib --quiet --target wasm32-unknown-unknown
bind wasm32-unknown-unknown pkg/wasm32
step "cargo build (wasm32-unknown-unknown, fallback, relaxed SIMD)"
relaxed --target wasm32-unknown-unknown
bind_relaxed wasm32-unknown-unknown pkg/wasm32

step "webpack (demo) -> dist/www"
webpack --mode production --no-stats
