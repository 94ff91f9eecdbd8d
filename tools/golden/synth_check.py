#!/usr/bin/env python3
"""Cross-checks a synthetic GGUF model (src/bin/synth.rs) with the Python `gguf` package.

    python3 tools/golden/synth_check.py <file.gguf> [--sample-bytes N]

Checks, independently of the Rust parser: llama metadata and the SentencePiece vocabulary,
every tensor name/shape/type llama.cpp expects, data offsets aligned and in order, and every
tensor dequantized by `gguf.quants` (at most N bytes of each, default 4 MiB, so 4 GB files
stay quick): all finite, norms near 1, weights centred with a spread near 1/sqrt(ne0).
Prints one line per problem and exits 1 if there was any.
"""

import argparse
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

problems = []


def problem(msg):
    problems.append(msg)
    print(f"synth_check: {msg}", file=sys.stderr)


def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def expected_tensors(n_layer, n_embd, n_ff, n_kv, n_vocab):
    out = [("token_embd.weight", [n_embd, n_vocab])]
    for layer in range(n_layer):
        for part, dims in [
            ("attn_norm", [n_embd]),
            ("attn_q", [n_embd, n_embd]),
            ("attn_k", [n_embd, n_kv]),
            ("attn_v", [n_embd, n_kv]),
            ("attn_output", [n_embd, n_embd]),
            ("ffn_norm", [n_embd]),
            ("ffn_gate", [n_embd, n_ff]),
            ("ffn_up", [n_embd, n_ff]),
            ("ffn_down", [n_ff, n_embd]),
        ]:
            out.append((f"blk.{layer}.{part}.weight", dims))
    out += [("output_norm.weight", [n_embd]), ("output.weight", [n_embd, n_vocab])]
    return out


def check_metadata(r):
    if field(r, "general.architecture") != "llama":
        problem("general.architecture is not llama")
    hp = {k: field(r, f"llama.{k}") for k in [
        "context_length", "embedding_length", "block_count", "feed_forward_length",
        "attention.head_count", "attention.head_count_kv", "rope.dimension_count",
        "rope.freq_base", "attention.layer_norm_rms_epsilon"]}
    for k, v in hp.items():
        if v is None:
            problem(f"llama.{k} is missing")
    tokens = field(r, "tokenizer.ggml.tokens") or []
    scores = field(r, "tokenizer.ggml.scores") or []
    types = field(r, "tokenizer.ggml.token_type") or []
    if field(r, "tokenizer.ggml.model") != "llama":
        problem("tokenizer.ggml.model is not llama")
    if not (len(tokens) == len(scores) == len(types)) or len(tokens) < 260:
        problem(f"vocabulary arrays: {len(tokens)} tokens, {len(scores)} scores, {len(types)} types")
    if len(set(tokens)) != len(tokens):
        problem("duplicate tokens")
    if tokens[:3] != ["<unk>", "<s>", "</s>"] or tokens[3 + 0x0A] != "<0x0A>":
        problem(f"special or byte tokens misplaced: {tokens[:4]}")
    if list(types[:4]) != [2, 3, 3, 6]:
        problem(f"token types start {list(types[:4])}")
    return hp, len(tokens)


def check_tensors(r, hp, n_vocab, sample_bytes):
    n_embd, n_head = hp["embedding_length"], hp["attention.head_count"]
    n_kv = n_embd // n_head * hp["attention.head_count_kv"]
    expected = expected_tensors(hp["block_count"], n_embd, hp["feed_forward_length"], n_kv, n_vocab)
    names = [t.name for t in r.tensors]
    if names != [n for n, _ in expected]:
        problem(f"tensor names differ from llama's: {names[:5]}...")
    alignment = field(r, "general.alignment") or 32
    prev_end = 0
    for t, (_, dims) in zip(r.tensors, expected):
        shape = [int(d) for d in t.shape]
        if shape != dims:
            problem(f"{t.name}: shape {shape}, expected {dims}")
        if t.data_offset % alignment or t.data_offset < prev_end:
            problem(f"{t.name}: data offset {t.data_offset} misaligned or overlapping")
        prev_end = t.data_offset + t.n_bytes
        check_values(t, sample_bytes)


def check_values(t, sample_bytes):
    qtype = GGMLQuantizationType(t.tensor_type)
    raw = np.asarray(t.data).reshape(-1).view(np.uint8)
    if raw.size != t.n_bytes:
        problem(f"{t.name}: {raw.size} data bytes, header says {t.n_bytes}")
    block_bytes = 4 if qtype == GGMLQuantizationType.F32 else 2 if qtype == GGMLQuantizationType.F16 else None
    if block_bytes is None:
        from gguf.constants import GGML_QUANT_SIZES
        block_bytes = GGML_QUANT_SIZES[qtype][1]
    take = min(raw.size, max(block_bytes, sample_bytes // block_bytes * block_bytes))
    w = dequantize(raw[:take], qtype).astype(np.float64).reshape(-1)
    if not np.all(np.isfinite(w)):
        problem(f"{t.name}: non-finite values")
        return
    if t.name.endswith("norm.weight"):
        if np.any(np.abs(w - 1.0) > 0.03):
            problem(f"{t.name}: norm weights not within 3% of 1")
        return
    sigma = 1.0 / np.sqrt(float(t.shape[0]))
    if not 0.75 * sigma < w.std() < 1.25 * sigma or abs(w.mean()) > 0.1 * sigma:
        problem(f"{t.name} ({qtype.name}): mean {w.mean():.3g}, sd {w.std():.3g}, aimed at sd {sigma:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--sample-bytes", type=int, default=4 << 20)
    args = ap.parse_args()
    r = GGUFReader(args.path)
    hp, n_vocab = check_metadata(r)
    if all(v is not None for v in hp.values()):
        check_tensors(r, hp, n_vocab, args.sample_bytes)
    kinds = sorted({GGMLQuantizationType(t.tensor_type).name for t in r.tensors})
    status = "FAIL" if problems else "ok"
    print(f"synth_check: {status}: {args.path}: {len(r.tensors)} tensors ({', '.join(kinds)}), "
          f"{n_vocab} tokens, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
