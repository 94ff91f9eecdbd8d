#!/usr/bin/env python3
"""Every intermediate tensor of one forward pass of the portable llama.cpp build, for the per-op
comparison with gguf64 (tools/golden/trace_compare.py; gguf64's side: `src/bin/trace.rs`).

    PY=/path/to/.setup/llamacpp-portable/bin/python     # tools/golden/build-portable-llamacpp.sh
    $PY tools/golden/llamacpp_trace.py models/X.gguf --ids 1,2,3 --out /tmp/trace-ref

The token ids are evaluated in ONE llama_decode with logits for every position, as the teacher
forcing goldens are made (one thread, flash attention off, F16 K and V cache, context 512).
llama.cpp's scheduler calls the context's eval callback (`cb_eval`) after computing each graph
node; every node with a name and F32 data is copied out, in execution order, as
`<out>/NNNN.f32` (raw little-endian floats, row-major: `rows` rows of `width` = ne[0] values,
`rows` = ne[1] * ne[2] * ne[3]) and listed in `<out>/index.json` with its name (llama.cpp's
graph names: `attn_norm-0`, `Qcur-0`, `kq_soft_max-0`, `ffn_out-3`, `result_output`, ...), op,
shape and strides. Names repeat (llama.cpp names a tensor again after each step); order tells
them apart.
"""

import argparse
import ctypes
import json
import sys
from pathlib import Path

import numpy as np

GGML_MAX_DIMS = 4
GGML_TYPE_F32 = 0


class GgmlTensor(ctypes.Structure):
    """`struct ggml_tensor` at llama.cpp 0c1e5709 (ggml/include/ggml.h)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


def tensor_values(t):
    """The tensor's values as a (rows, ne0) float32 array, read through its strides (views and
    permutations included)."""
    ne = [int(t.ne[i]) for i in range(GGML_MAX_DIMS)]
    nb = [int(t.nb[i]) for i in range(GGML_MAX_DIMS)]
    span = sum((n - 1) * s for n, s in zip(ne, nb)) + 4
    raw = np.frombuffer(bytes((ctypes.c_char * span).from_address(t.data)), dtype=np.uint8)
    offsets = np.zeros(ne[::-1], dtype=np.int64)
    for d in range(GGML_MAX_DIMS):
        shape = [1] * GGML_MAX_DIMS
        shape[GGML_MAX_DIMS - 1 - d] = ne[d]
        offsets = offsets + (np.arange(ne[d], dtype=np.int64) * nb[d]).reshape(shape)
    flat = offsets.reshape(-1)
    words = np.stack([raw[flat + k] for k in range(4)], axis=1).copy()
    return words.view("<f4").reshape(-1, ne[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-ctx", type=int, default=512)
    args = ap.parse_args()
    import llama_cpp as L

    ids = [int(x) for x in args.ids.split(",") if x]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []

    def on_eval(tensor_ptr, ask, _user):
        t = ctypes.cast(tensor_ptr, ctypes.POINTER(GgmlTensor)).contents
        if ask:
            return True  # we want to see every node
        name = t.name.decode(errors="replace")
        if t.type != GGML_TYPE_F32 or not name or not t.data:
            return True
        values = tensor_values(t)
        n = len(index)
        (out / f"{n:04d}.f32").write_bytes(values.astype("<f4").tobytes())
        index.append({"name": name, "op": int(t.op), "ne": [int(t.ne[i]) for i in range(4)],
                      "rows": int(values.shape[0]), "width": int(values.shape[1]), "file": f"{n:04d}.f32"})
        return True

    callback = L.ggml_backend_sched_eval_callback(on_eval)
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    mparams.n_gpu_layers = 0
    model = L.llama_model_load_from_file(args.model.encode(), mparams)
    if not model:
        sys.exit(f"cannot load {args.model}")
    cparams = L.llama_context_default_params()
    cparams.n_ctx = args.n_ctx
    cparams.n_batch = cparams.n_ubatch = max(len(ids), 64)
    cparams.n_threads = cparams.n_threads_batch = 1
    cparams.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
    cparams.type_k = cparams.type_v = L.GGML_TYPE_F16
    cparams.cb_eval = callback
    cparams.cb_eval_user_data = None
    ctx = L.llama_init_from_model(model, cparams)
    batch = L.llama_batch_init(len(ids), 0, 1)
    batch.n_tokens = len(ids)
    for i, tok in enumerate(ids):
        batch.token[i] = tok
        batch.pos[i] = i
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
        batch.logits[i] = True
    if L.llama_decode(ctx, batch) != 0:
        sys.exit("llama_decode failed")
    (out / "index.json").write_text(json.dumps({"side": "llama.cpp (portable build)", "ids": ids, "tensors": index}, indent=1))
    print(f"{len(index)} tensors -> {out}", file=sys.stderr)
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
