#!/usr/bin/env bash
# One idempotent setup for a fresh machine of this kind: installs only what is missing, and only
# what the command at hand needs. A second run only checks, and takes seconds.
#
#   bash tools/dev/setup.sh start   what `npm start` needs: the pinned nightly Rust with rust-src and
#                                   the wasm32 target, wasm-bindgen-cli, the npm packages the build
#                                   uses, and the demo's model (SmolLM2-135M)
#   bash tools/dev/setup.sh test    (the default) everything, for `npm test` and CI: the above plus
#                                   geckodriver, Debian's chromium, chromium-driver,
#                                   firefox-esr and wabt, every npm
#                                   package (llama.cpp's native binaries included), Python gguf,
#                                   the second test model (Gemma 3 270M) and llama.cpp's tokenizer
#                                   test vocabularies (models/llama.cpp-vocab/)
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE="${1:-test}"
case "$MODE" in
  start | test) ;;
  *) echo "usage: bash tools/dev/setup.sh [start|test]" >&2; exit 2 ;;
esac

NIGHTLY=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
BINDGEN_VERSION=0.2.130      # must equal the exact wasm-bindgen version in Cargo.toml
GECKODRIVER_VERSION=0.37.1   # WebDriver for the wasm-bindgen tests in Firefox
GGUF_PY_VERSION=0.17.1

step() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
export PATH="$HOME/.cargo/bin:$PATH"

# Cargo installs run outside the repo so they use the machine's default toolchain, not our nightly.
cargo_install() { # crate version binary [cargo install options]
  local crate=$1 version=$2 binary=$3
  shift 3
  # (The output is captured first: with pipefail, `cmd | grep -q` can fail on SIGPIPE.)
  if [[ "$("$binary" --version 2>/dev/null)" != *" $version"* ]]; then
    step "installing $crate $version (compiles from crates.io; a few minutes)"
    (cd "$HOME" && cargo install "$crate" --version "$version" --force "$@")
  fi
}

rust_toolchain() {
  local installed
  installed=$(rustup toolchain list)
  if ! grep -q "^$NIGHTLY" <<<"$installed"; then
    step "installing Rust $NIGHTLY with rust-src and the wasm32 target"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target wasm32-unknown-unknown
  fi
  local comps
  comps=$(rustup component list --installed --toolchain "$NIGHTLY")
  grep -q '^rust-src' <<<"$comps" || rustup component add rust-src --toolchain "$NIGHTLY"
  grep -q '^rust-std-wasm32-unknown-unknown' <<<"$comps" || rustup target add wasm32-unknown-unknown --toolchain "$NIGHTLY"
}

debian_packages() {
  local missing=()
  have chromium || missing+=(chromium)
  have chromedriver || missing+=(chromium-driver)
  have firefox-esr || missing+=(firefox-esr)
  have wasm-validate || missing+=(wabt) # validates the generated multi-memory bridge in a unit test
  if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

NPM_STAMP=node_modules/.gguf64-setup  # which kind of install node_modules holds: start or test
npm_packages() {
  # node_modules/.package-lock.json is written by npm ci; reinstall when the lock file changed.
  local current=""
  if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    # An install from before the stamp existed was a full one.
    current=$(cat "$NPM_STAMP" 2>/dev/null || echo test)
  fi
  if [ "$current" = test ] || [ "$current" = "$MODE" ]; then return; fi
  if [ "$MODE" = start ]; then
    # The build needs binaryen, webpack and webpack-cli only. Optional dependencies are
    # node-llama-cpp's prebuilt llama.cpp binaries (CPU, CUDA, Vulkan: the bulk of the download),
    # which only the tests and benchmarks use; without them its install script would try to
    # build llama.cpp, so it is told to skip that. `setup.sh test` installs everything.
    step "installing npm dependencies for the build (npm ci --omit=optional)"
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund --loglevel=error
  else
    step "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  echo "$MODE" > "$NPM_STAMP"
}

python_gguf() {
  if [ "$(pip show gguf 2>/dev/null | sed -n 's/^Version: //p')" != "$GGUF_PY_VERSION" ]; then
    step "installing Python gguf $GGUF_PY_VERSION (reference reader for tests)"
    pip install --quiet --disable-pip-version-check --root-user-action=ignore "gguf==$GGUF_PY_VERSION"
  fi
}

rust_toolchain
# Without default features: no TLS stack (rustls, ring) to compile. Neither wasm-bindgen nor the
# test runner (which talks to chromedriver on 127.0.0.1) makes https requests.
cargo_install wasm-bindgen-cli "$BINDGEN_VERSION" wasm-bindgen --no-default-features
if [ "$MODE" = test ]; then
  cargo_install geckodriver "$GECKODRIVER_VERSION" geckodriver --locked
  debian_packages
fi
npm_packages
if [ "$MODE" = test ]; then
  python_gguf
  bash tools/dev/fetch-models.sh smollm2 gemma3 qwen2 vocabs templates
else
  bash tools/dev/fetch-models.sh smollm2
fi
step "ready for npm $MODE"
