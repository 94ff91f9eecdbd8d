#!/usr/bin/env bash
# Builds the reproducible llama.cpp reference: llama-cpp-python 0.3.36 (which vendors llama.cpp
# at commit 0c1e5709) from its PyPI source distribution, as a *portable* CPU build, into a
# virtual environment at .setup/llamacpp-portable/ (git-ignored). Opt-in, not part of npm test:
# it compiles for 10-20 minutes on two cores.
#
#   bash tools/golden/build-portable-llamacpp.sh        # idempotent; prints the python to use
#
# Portable means ggml's generic C kernels only, so logits do not depend on the CPU that runs
# them: no -march=native, every x86 extension beyond x86-64's SSE2 off (AVX, AVX2, AVX-512,
# FMA, F16C, BMI2, SSE4.2, VNNI), no runtime weight repacking, no llamafile sgemm, no OpenMP.
# The golden files say so beside their numbers (tools/golden/llamacpp_portable.py writes
# `reference.build`). Flash attention off, F16 KV cache and one thread are settings of the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=0.3.36
SDIST_SHA=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
VENV=.setup/llamacpp-portable
FLAGS="-DGGML_NATIVE=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_AVX_VNNI=OFF \
-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
-DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF -DGGML_CPU_REPACK=OFF -DGGML_LLAMAFILE=OFF -DGGML_OPENMP=OFF \
-DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BLAS=OFF -DGGML_CCACHE=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF"
STAMP="$VERSION $SDIST_SHA $FLAGS"
if [ "$(cat "$VENV/.ok" 2>/dev/null)" = "$STAMP" ]; then
  echo "$VENV/bin/python"; exit 0
fi
rm -rf "$VENV" && python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check numpy "scikit-build-core>=0.9" cmake
mkdir -p .setup/sdist
"$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  --no-build-isolation "llama-cpp-python==$VERSION" -d .setup/sdist >/dev/null
echo "$SDIST_SHA  .setup/sdist/llama_cpp_python-$VERSION.tar.gz" | sha256sum -c --quiet
CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$VENV/bin/pip" install --disable-pip-version-check --no-build-isolation --no-deps \
  ".setup/sdist/llama_cpp_python-$VERSION.tar.gz" "typing-extensions" "diskcache" "jinja2" "markupsafe"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "gguf==0.17.1"
echo "$STAMP" > "$VENV/.ok"
echo "$VENV/bin/python"
