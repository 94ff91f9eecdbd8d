#!/usr/bin/env bash
# One idempotent setup for a fresh machine of this kind: installs only what is missing.
# A second run only checks, and takes seconds. Used by `npm start`, `npm test` and CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

NIGHTLY=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
BINDGEN_VERSION=0.2.130      # must equal the exact wasm-bindgen version in Cargo.toml
WASM_PACK_VERSION=0.15.1
GGUF_PY_VERSION=0.17.1

step() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
export PATH="$HOME/.cargo/bin:$PATH"

# Cargo installs run outside the repo so they use the machine's default toolchain, not our nightly.
cargo_install() { # crate version binary
  if ! "$3" --version 2>/dev/null | grep -q "$2"; then
    step "installing $1 $2 (compiles from crates.io; a few minutes)"
    (cd "$HOME" && cargo install "$1" --version "$2" --force)
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
  have wasm-validate || missing+=(wabt) # validates the generated multi-memory bridge in a unit test
  if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

npm_packages() {
  # node_modules/.package-lock.json is written by npm ci; reinstall when the lock file changed.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

python_gguf() {
  if ! pip show gguf 2>/dev/null | grep -qx "Version: $GGUF_PY_VERSION"; then
    step "installing Python gguf $GGUF_PY_VERSION (reference reader for tests)"
    pip install --quiet --disable-pip-version-check --root-user-action=ignore "gguf==$GGUF_PY_VERSION"
  fi
}

rust_toolchain
cargo_install wasm-bindgen-cli "$BINDGEN_VERSION" wasm-bindgen
cargo_install wasm-pack "$WASM_PACK_VERSION" wasm-pack
debian_packages
npm_packages
python_gguf
bash tools/dev/fetch-models.sh
step "ready"
