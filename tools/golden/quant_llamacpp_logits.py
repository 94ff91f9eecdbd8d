#!/usr/bin/env python3
"""llama.cpp's logits at every position of a token sequence, for models whose tensor types the
Python `gguf` package can dequantize but no real test model uses (IQ4_NL, IQ4_XS): the reference
`tests/quant_llamacpp.rs` holds gguf64's forward pass to.

Usage (with the Python that has `llama_cpp`, e.g. the portable generic-kernel build):
  python tools/golden/quant_llamacpp_logits.py <model.gguf> <out.json> <synth-args> <id> <id> ...

  <synth-args> is the `synth` command line that wrote the model, recorded so the test can write
  the same bytes again (the SHA-256 is recorded too and checked).

Writes {"model_sha256", "synth", "llama_cpp", "prompt_ids", "logits": [[...n_vocab] per
position]}: raw float32 logits of one evaluation of the whole sequence (every position's logits
kept), single thread, CPU.
"""

import hashlib
import json
import sys

import numpy as np


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    model, out, synth_args = argv[0], argv[1], argv[2]
    ids = [int(a) for a in argv[3:]]
    import llama_cpp

    with open(model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    llm = llama_cpp.Llama(model_path=model, n_ctx=64, n_batch=64, n_threads=1, logits_all=True, verbose=False)
    llm.eval(ids)
    logits = np.asarray(llm.scores[: len(ids)], dtype=np.float32)
    record = {
        "model_sha256": digest,
        "synth": synth_args,
        "llama_cpp": f"llama-cpp-python {llama_cpp.__version__}, CPU, 1 thread",
        "prompt_ids": ids,
        # float32 -> shortest decimal that reads back as the same float32.
        "logits": [[float(np.format_float_positional(v, unique=True)) for v in row] for row in logits],
    }
    with open(out, "w") as f:
        json.dump(record, f, separators=(",", ":"))
        f.write("\n")
    top = logits.argmax(axis=1).tolist()
    print(f"{model}: {len(ids)} positions, top-1 {top}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
