#!/usr/bin/env bash
# Fuzzes the GGUF header parser (fuzz/, cargo-fuzz + libFuzzer) for a while; not part of npm test.
#   bash tools/dev/fuzz.sh [seconds per target, default 60]
# Runs parse_header, then incremental_parse, one process each (the machine has 2 cores), with the
# memory limits the parser must live within. Seeds the corpora first if they are missing.
# A finding stops that target and leaves the input in fuzz/artifacts/<target>/; replay it with
#   cargo fuzz run -O <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-60}"
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort

if ! command -v cargo-fuzz > /dev/null; then
  # Installed with the stable toolchain from outside the repository; it runs with the pinned
  # nightly (rust-toolchain.toml), which the sanitizer flags need.
  (cd "$HOME" && cargo +stable install cargo-fuzz)
fi
[ -d fuzz/corpus/incremental_parse ] || bash fuzz/seed.sh

status=0
for target in parse_header incremental_parse; do
  printf '\033[1mfuzz:\033[0m %s for %s s\n' "$target" "$seconds"
  # --target: the repository's default target is wasm64. CARGO_UNSTABLE_BUILD_STD (below) builds
  # std with the sanitizer too (slow the first time, then cached).
  # The corpus is fuzz/corpus/<target> (the default), findings go to fuzz/artifacts/<target>/.
  cargo fuzz run -O --target x86_64-unknown-linux-gnu "$target" -- \
    -max_total_time="$seconds" -max_len=2100000 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 || status=1
done
exit "$status"
