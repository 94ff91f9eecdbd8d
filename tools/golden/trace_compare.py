#!/usr/bin/env python3
"""Walks gguf64's and llama.cpp's intermediate tensors of one forward pass in order and prints
the first op whose difference exceeds float noise, with max and mean |Δ| (and, with --all,
every op). Needs numpy.

    PY=.setup/llamacpp-portable/bin/python
    $PY tools/golden/llamacpp_trace.py models/X.gguf --ids 1,2,3 --out /tmp/ref    # llama.cpp
    bash tools/dev/native.sh trace models/X.gguf --ids 1,2,3 --out /tmp/ours     # gguf64
    python3 tools/golden/trace_compare.py /tmp/ours /tmp/ref [--all] [--rel 1e-6]

Both sides must have evaluated the same ids (checked). gguf64's names (`src/bin/trace.rs`) map
to llama.cpp's graph names (`MAP` below); llama.cpp names a tensor again after each step, so a
rule takes the first or the last node of that name with the same width. gguf64 computes the
final norm and logits for the last token only: such entries are compared with llama.cpp's last
rows. "Float noise" is max|Δ| <= rel · max|reference| (default rel 1e-6: a few ulp of f32).
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

# gguf64 name pattern -> (llama.cpp candidate names, "first" or "last" node of that name).
# {n}: the layer, {p}: the previous layer, {L}: the last layer.
MAP = [
    (r"embeddings", (["inp_scaled", "embd", "inp_embd"], "last")),
    (r"norm_input:blk\.0\.attn_norm\.weight", (["inp_scaled", "embd", "inp_embd"], "last")),
    (r"norm_input:blk\.(\d+)\.attn_norm\.weight", (["l_out-{p}"], "last")),
    (r"norm:blk\.(\d+)\.attn_norm\.weight", (["attn_norm-{n}"], "last")),
    (r"matmul:blk\.(\d+)\.attn_q\.weight", (["Qcur-{n}"], "first")),
    (r"matmul:blk\.(\d+)\.attn_k\.weight", (["Kcur-{n}"], "first")),
    (r"matmul:blk\.(\d+)\.attn_v\.weight", (["Vcur-{n}"], "first")),
    (r"norm:blk\.(\d+)\.attn_q_norm\.weight", (["Qcur_normed-{n}"], "last")),
    (r"norm:blk\.(\d+)\.attn_k_norm\.weight", (["Kcur_normed-{n}"], "last")),
    (r"matmul_input:blk\.(\d+)\.attn_output\.weight", (["kqv_out-{n}"], "last")),
    (r"matmul:blk\.(\d+)\.attn_output\.weight", (["attn_out-{n}"], "first")),
    (r"norm:blk\.(\d+)\.post_attention_norm\.weight", (["attn_post_norm-{n}"], "last")),
    (r"norm_input:blk\.(\d+)\.ffn_norm\.weight", (["ffn_inp-{n}", "sa_out-{n}"], "last")),
    (r"norm:blk\.(\d+)\.ffn_norm\.weight", (["ffn_norm-{n}"], "last")),
    (r"matmul:blk\.(\d+)\.ffn_gate\.weight", (["ffn_gate-{n}"], "first")),
    (r"matmul:blk\.(\d+)\.ffn_up\.weight", (["ffn_up-{n}"], "first")),
    (r"matmul_input:blk\.(\d+)\.ffn_down\.weight", (["ffn_swiglu-{n}", "ffn_geglu-{n}", "ffn_gelu-{n}", "ffn_silu-{n}"], "last")),
    (r"matmul:blk\.(\d+)\.ffn_down\.weight", (["ffn_out-{n}"], "first")),
    (r"norm:blk\.(\d+)\.post_ffw_norm\.weight", (["ffn_post_norm-{n}"], "last")),
    (r"norm_input:output_norm\.weight", (["l_out-{L}"], "last")),
    (r"norm:output_norm\.weight", (["result_norm"], "last")),
    (r"matmul:(output|token_embd)\.weight", (["result_output"], "last")),
]


def load(folder):
    index = json.loads((Path(folder) / "index.json").read_text())
    return index["ids"], index["tensors"]


def values(folder, entry):
    raw = np.fromfile(Path(folder) / entry["file"], dtype="<f4")
    return raw.reshape(entry["rows"], entry["width"])


def reference_for(name, ref, n_layers):
    """The llama.cpp entry that gguf64's `name` corresponds to, or None."""
    for pattern, (candidates, which) in MAP:
        m = re.fullmatch(pattern, name)
        if not m:
            continue
        n = int(m.group(1)) if m.groups() and m.group(1).isdigit() else 0
        for cand in candidates:
            want = cand.format(n=n, p=n - 1, L=n_layers - 1)
            hits = [e for e in ref if e["name"] == want]
            if hits:
                return hits[0] if which == "first" else hits[-1]
        return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours")
    ap.add_argument("reference")
    ap.add_argument("--all", action="store_true", help="print every op, not just the first beyond noise")
    ap.add_argument("--rel", type=float, default=1e-6)
    args = ap.parse_args()
    ids_a, ours = load(args.ours)
    ids_b, ref = load(args.reference)
    if ids_a != ids_b:
        sys.exit(f"the two traces evaluated different ids: {ids_a} vs {ids_b}")
    layers = [int(m.group(1)) for e in ref for m in [re.fullmatch(r"l_out-(\d+)", e["name"])] if m]
    n_layers = max(layers) + 1 if layers else 0
    first_bad, rows_out, unmatched = None, [], []
    for e in ours:
        r = reference_for(e["name"], ref, n_layers)
        if r is None or r["width"] != e["width"] or r["rows"] < e["rows"]:
            unmatched.append(e["name"])
            continue
        a = values(args.ours, e)
        b = values(args.reference, r)[-e["rows"]:]
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        scale = float(np.abs(b).max()) or 1.0
        line = (e["name"], r["name"], float(d.max()), float(d.mean()), scale)
        rows_out.append(line)
        if first_bad is None and line[2] > args.rel * scale:
            first_bad = line
    fmt = "{:<44} {:<18} max|Δ| {:.3e}  mean|Δ| {:.3e}  (max|ref| {:.3g})"
    print(f"{len(rows_out)} ops compared over {len(ids_a)} tokens; noise: max|Δ| <= {args.rel:g} · max|ref|")
    if args.all:
        for line in rows_out:
            print(fmt.format(*line))
    if first_bad:
        print("first op beyond float noise:")
        print("  " + fmt.format(*first_bad))
    else:
        print("no op beyond float noise")
    print("last op:\n  " + fmt.format(*rows_out[-1]) if rows_out else "nothing compared")
    if unmatched:
        print(f"not compared ({len(unmatched)}, no llama.cpp node of that name and width): "
              + ", ".join(sorted(set(unmatched))[:8]) + (" ..." if len(set(unmatched)) > 8 else ""))


if __name__ == "__main__":
    main()
