#!/usr/bin/env bash
# Runs one of the crate's native command-line tools (src/bin/<name>.rs) on the host, optimised:
#   bash tools/dev/native.sh inspect models/x.gguf --json
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$1"
shift
# The default cargo target is wasm64; the tools are host programs with the prebuilt std.
# Built from the repository (its toolchain file and cargo config apply), run from the caller's folder.
(cd "$root" && cargo build --quiet --release --bin "$bin" --target x86_64-unknown-linux-gnu)
exec "$root/target/x86_64-unknown-linux-gnu/release/$bin" "$@"
