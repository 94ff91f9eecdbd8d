#!/usr/bin/env bash
# Builds llama.cpp's `test-backend-ops` for this CPU (-march=native: the kernels llama.cpp picks
# here, as node-llama-cpp's prebuilt binaries do) from the llama.cpp that llama-cpp-python 0.3.36
# vendors, into .setup/llamacpp-native/ (git-ignored). For `kernels.mjs --native`: the same
# matrix products natively, per weight type. Opt-in, not part of npm test: about 10 minutes on
# two cores. The sdist is the one tools/dev/fetch-models.sh fetches (pinned by SHA-256).
#
#   bash tools/bench/build-native-ggml.sh      # idempotent; prints the binary's path
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=0.3.36
SDIST=.setup/sdist/llama_cpp_python-$VERSION.tar.gz
SDIST_SHA=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
DIR=.setup/llamacpp-native
BIN=$DIR/build/bin/test-backend-ops
FLAGS="-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF -DLLAMA_CURL=OFF \
-DLLAMA_BUILD_TESTS=ON -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF"
STAMP="$VERSION $SDIST_SHA $FLAGS"
if [ -x "$BIN" ] && [ "$(cat "$DIR/.ok" 2>/dev/null)" = "$STAMP" ]; then
  echo "$BIN"; exit 0
fi
if [ ! -f "$SDIST" ]; then
  mkdir -p .setup/sdist
  pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
    "llama-cpp-python==$VERSION" -d .setup/sdist >/dev/null
fi
echo "$SDIST_SHA  $SDIST" | sha256sum -c --quiet
rm -rf "$DIR" && mkdir -p "$DIR"
tar -xzf "$SDIST" -C "$DIR" --strip-components=1 "llama_cpp_python-$VERSION/vendor/llama.cpp"
# shellcheck disable=SC2086 # FLAGS is a list of options
cmake -S "$DIR/vendor/llama.cpp" -B "$DIR/build" $FLAGS >&2
cmake --build "$DIR/build" --target test-backend-ops -j "$(nproc)" >&2
echo "$STAMP" > "$DIR/.ok"
echo "$BIN"
