#!/usr/bin/env bash
# Every test, in order: native unit and integration tests, wasm-bindgen tests in headless Chromium
# and Firefox (wasm64; and the relaxed-SIMD kernels as wasm32 in Chromium), then a full build and
# the browser end-to-end tests, in Chromium and then in Firefox. Run by `npm test` after setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\n\033[1mtest:\033[0m %s\n' "$*"; }
# Setup fetched the test models: a test that finds one missing fails instead of skipping.
export GGUF64_REQUIRE_MODELS=1

step "native (cargo test on the host)"
cargo test --target x86_64-unknown-linux-gnu

# wasm-pack passes the options after -- to cargo; wasm64 needs std built from source.
# (webdriver.json names Debian's firefox-esr for geckodriver.)
for browser in chrome firefox; do
  step "wasm64 in headless $browser (wasm-pack test --$browser)"
  wasm-pack test --headless "--$browser" -- --lib -Zbuild-std=std,panic_abort
done
# The relaxed-SIMD kernels against the scalar ones: the same tests built with +relaxed-simd, as
# the wasm32 fallback (rustup's prebuilt std: no std build; the kernels are the same source for
# both targets). Cargo adds these flags to .cargo/config.toml's, as tools/dev/build.sh does; its
# own target directory keeps the plain build's cache.
step "wasm32 with relaxed SIMD in headless chrome"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+relaxed-simd" \
  CARGO_TARGET_DIR=target/relaxed-test wasm-pack test --headless --chrome -- --lib --target wasm32-unknown-unknown

step "build"
bash tools/dev/build.sh

step "command-line tools against Python gguf, and end to end in headless Chromium (node --test)"
GGUF64_BROWSER=chromium node --test --test-concurrency=1 tests/cli/ tests/e2e/

step "end to end in headless Firefox (node --test, driven over WebDriver BiDi)"
GGUF64_BROWSER=firefox node --test --test-concurrency=1 tests/e2e/
