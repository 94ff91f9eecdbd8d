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

# The wasm-bindgen tests: cargo runs each test binary through wasm-bindgen-test-runner (the
# runner in .cargo/config.toml, installed with wasm-bindgen-cli), headless, in the browser whose
# driver the environment names (webdriver.json names Debian's firefox-esr for geckodriver). Only
# the library's tests are built: the integration tests are native-only, and building them for
# wasm (as `wasm-pack test` does, twice: a dev build first) took gigabytes of disk for nothing.
# wasm64 needs std built from source.
CHROMEDRIVER=$(command -v chromedriver)
GECKODRIVER=$(command -v geckodriver)
step "wasm64 in headless chrome (cargo test --lib, wasm-bindgen-test-runner)"
env -u GECKODRIVER CHROMEDRIVER="$CHROMEDRIVER" cargo test --lib -Zbuild-std=std,panic_abort
step "wasm64 in headless firefox (cargo test --lib, wasm-bindgen-test-runner)"
env -u CHROMEDRIVER GECKODRIVER="$GECKODRIVER" cargo test --lib -Zbuild-std=std,panic_abort
# The relaxed-SIMD kernels against the scalar ones: the same tests built with +relaxed-simd, as
# the wasm32 fallback (rustup's prebuilt std: no std build; the kernels are the same source for
# both targets). Cargo adds these flags to .cargo/config.toml's, as tools/dev/build.sh does; its
# own target directory keeps the plain build's cache.
step "wasm32 with relaxed SIMD in headless chrome"
env -u GECKODRIVER CHROMEDRIVER="$CHROMEDRIVER" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+relaxed-simd" \
  CARGO_TARGET_DIR=target/relaxed-test cargo test --lib --target wasm32-unknown-unknown

step "build"
bash tools/dev/build.sh

step "command-line tools against Python gguf, and end to end in headless Chromium (node --test)"
GGUF64_BROWSER=chromium node --test --test-concurrency=1 tests/cli/ tests/e2e/

step "end to end in headless Firefox (node --test, driven over WebDriver BiDi)"
GGUF64_BROWSER=firefox node --test --test-concurrency=1 tests/e2e/
