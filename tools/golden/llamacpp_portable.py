#!/usr/bin/env python3
"""Reference logits from the portable llama.cpp build (tools/golden/build-portable-llamacpp.sh).

Run it with that build's python (.setup/llamacpp-portable/bin/python, `import llama_cpp`):

    PY=.setup/llamacpp-portable/bin/python
    # any GGUF, sequences of token ids (a JSON list of lists), one JSON file out:
    $PY tools/golden/llamacpp_portable.py eval model.gguf --ids ids.json --out ref.json
    # (--no-flash-check skips the second, flash-attention run: for files too large to run twice)
    # the synthetic-architecture goldens tests/golden/synth/<preset>.json and
    # <preset>.f32.json (writes each file with `synth --preset <p> --seed <s> [--type f32]`
    # into a temporary folder, then evaluates it):
    $PY tools/golden/llamacpp_portable.py synth [--preset tiny-qwen3 ...]
    # the real-model teacher-forcing goldens tests/golden/llamacpp/<model>.portable.json:
    $PY tools/golden/llamacpp_portable.py teacher [--model SmolLM2-135M-Instruct.Q4_1 ...]

`teacher`: for each prompt of tests/golden/llamacpp/<model>.reference.json (its `prompt_ids`,
which llama.cpp's tokenizer made and gguf64's must equal), the reference's own greedy
continuation of `--tokens` (32) tokens, decoded one token at a time after the prompt; then the
prompt plus that continuation (but its last token) evaluated again in one pass, teacher
forcing, and at each of the 32 positions that predict a continuation token: the top-1 id, its
log-softmax, the top-1/top-2 logit gap and the top 5. `greedy_equals_teacher_top1` says
whether the one-pass argmax equals the token-by-token greedy pick everywhere (ggml's arithmetic
does not depend on the batch split here, so it should).

Each sequence is evaluated in ONE llama_decode pass with logits for every position
(logits_all), one thread, flash attention off, F16 K and V cache, and a context of --n-ctx
(llama.cpp rounds it up to a multiple of 256; the effective value is recorded). Inputs are
token ids, never text, so no tokenizer is involved.

For every sequence and position the output holds the top-k token ids with their log-softmax
values, the top-1/top-2 logit gap, and a summary of the whole distribution (entropy in nats,
max logit, standard deviation of the logits) so a degenerate model (near-uniform or one-hot)
shows.

The same sequences are also run with flash attention ON, which changes only the order and
precision of the attention arithmetic; `flash_attention_max_abs_diff` is the largest change
that makes to a reference top-k log-softmax value (per position too: `fa_diff`). It measures
how far llama.cpp's own kernels move these numbers: rounding differences of one ulp flip
roundings of quantized activations further on, so in the synthetic files with quantized
weights they grow to 0.10-0.36 (0.004-0.013 with F32 weights). A test cannot ask gguf64 to be
closer to llama.cpp than llama.cpp is to itself unless gguf64 repeats ggml's arithmetic bit
for bit.

`reference.build` names llama.cpp's commit and the cmake flags of the build (read from the
build's .ok stamp); `reference.settings` the run settings.
"""

import argparse
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# The build folder: this checkout's, else the main checkout's (worktrees share one build).
PORTABLE = Path(os.environ.get("LLAMACPP_PORTABLE", ROOT / ".setup/llamacpp-portable"))
# llama-cpp-python 0.3.36 vendors llama.cpp at this commit (its sdist's CHANGELOG:
# "update llama.cpp to ggml-org/llama.cpp@0c1e57098").
LLAMA_CPP_PYTHON = "0.3.36"
LLAMA_CPP_COMMIT = "0c1e57098"

# The synthetic presets checked against llama.cpp (gguf64::synth::Preset::SMALL), the seed
# their golden files are written with, and the token sequences.
SYNTH_PRESETS = [
    "tiny", "tiny-llama3", "tiny-llama-yarn", "tiny-llama-linear", "tiny-qwen2",
    "tiny-qwen3", "tiny-phi3", "tiny-gemma2", "tiny-gemma3", "tiny-smollm3",
    "tiny-granite", "tiny-olmo2",
]
SYNTH_SEED = 1
# Ids 0..2 are <unk>, <s>, </s>; 3..258 the byte tokens; pieces from 259 (src/synth/vocab.rs).
SEQUENCES = 2
SEQUENCE_LEN = 40


def build_info(n_ctx_requested, n_ctx, n_batch):
    stamp = (PORTABLE / ".ok").read_text().split()
    version, sdist_sha, flags = stamp[0], stamp[1], stamp[2:]
    return {
        "build": {
            "tool": "tools/golden/llamacpp_portable.py",
            "llama_cpp_python": version,
            "sdist_sha256": sdist_sha,
            "llama_cpp_commit": LLAMA_CPP_COMMIT,
            "cmake_flags": flags,
        },
        "settings": {
            "n_threads": 1,
            "n_threads_batch": 1,
            "flash_attn": False,
            "type_k": "f16",
            "type_v": "f16",
            "n_ctx_requested": n_ctx_requested,
            "n_ctx": n_ctx,
            "n_batch": n_batch,
            "n_ubatch": n_batch,
            "logits_all": True,
            "one_pass_per_sequence": True,
        },
    }


def log_softmax(logits):
    x = logits.astype(np.float64)
    m = x.max()
    return x - (m + math.log(np.exp(x - m).sum()))


def summarize(logits, top_k):
    """The reference record of one position."""
    lsm = log_softmax(logits)
    order = np.argsort(-logits, kind="stable")[:top_k]
    p = np.exp(lsm)
    return {
        "top": [{"id": int(i), "logprob": round(float(lsm[i]), 6)} for i in order],
        "top1_top2_gap": round(float(logits[order[0]] - logits[order[1]]), 6),
        "entropy": round(float(-(p * lsm).sum()), 6),
        "max_logit": round(float(logits.max()), 6),
        "logit_sd": round(float(logits.astype(np.float64).std()), 6),
    }


def run_logits(llama_cpp, model_path, sequences, n_ctx, n_batch, flash_attn):
    """Each sequence's logits, every position, from one llama_decode."""
    llm = llama_cpp.Llama(
        model_path=str(model_path), n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch,
        n_threads=1, n_threads_batch=1, logits_all=True, flash_attn=flash_attn,
        type_k=llama_cpp.GGML_TYPE_F16, type_v=llama_cpp.GGML_TYPE_F16,
        n_gpu_layers=0, use_mmap=True, verbose=False,
    )
    out = []
    for ids in sequences:
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm.eval(ids)  # n_batch >= len(ids): one llama_decode with every position's logits
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        if not np.isfinite(scores).all():
            sys.exit(f"{model_path}: non-finite logits")
        out.append(scores)
    n_ctx_effective = llm.n_ctx()
    del llm
    return out, n_ctx_effective


def evaluate(model_path, sequences, n_ctx, top_k, flash_check=True):
    import llama_cpp

    if llama_cpp.__version__ != LLAMA_CPP_PYTHON:
        sys.exit(f"llama_cpp {llama_cpp.__version__} is not the portable build's {LLAMA_CPP_PYTHON}")
    longest = max(len(s) for s in sequences)
    if longest > n_ctx:
        sys.exit(f"a sequence of {longest} tokens does not fit --n-ctx {n_ctx}")
    n_batch = max(longest, 64)
    plain, n_ctx_effective = run_logits(llama_cpp, model_path, sequences, n_ctx, n_batch, False)
    if flash_check:
        flash, _ = run_logits(llama_cpp, model_path, sequences, n_ctx, n_batch, True)
    else:
        flash = [[None] * len(s) for s in plain]
    out, fa_max = [], 0.0 if flash_check else None
    for ids, scores, fa_scores in zip(sequences, plain, flash):
        positions = []
        for s, f in zip(scores, fa_scores):
            rec = summarize(s, top_k)
            if f is not None:
                lsm_f = log_softmax(f)
                diff = max(abs(lsm_f[t["id"]] - t["logprob"]) for t in rec["top"])
                rec["fa_diff"] = round(float(diff), 6)
                fa_max = max(fa_max, rec["fa_diff"])
            positions.append(rec)
        out.append({"ids": list(ids), "positions": positions})
    info = build_info(n_ctx, n_ctx_effective, n_batch)
    info["flash_attention_max_abs_diff"] = fa_max
    return out, info


def distribution_check(name, runs):
    """Warns if the logits are degenerate: near-uniform or one-hot."""
    ent = [p["entropy"] for r in runs for p in r["positions"]]
    top1 = [math.exp(p["top"][0]["logprob"]) for r in runs for p in r["positions"]]
    summary = {
        "mean_entropy": round(float(np.mean(ent)), 4),
        "min_entropy": round(float(np.min(ent)), 4),
        "max_entropy": round(float(np.max(ent)), 4),
        "mean_top1_prob": round(float(np.mean(top1)), 4),
        "max_top1_prob": round(float(np.max(top1)), 4),
    }
    print(f"{name}: {summary}", file=sys.stderr)
    return summary


def dump(golden):
    """Indented JSON with one line per position, so the files stay small and diff well."""
    sequences = golden["sequences"]
    head = json.dumps({**golden, "sequences": None}, indent=1)
    runs = ",\n".join(
        ' {"ids": ' + json.dumps(r["ids"]) + ', "positions": [\n'
        + ",\n".join("  " + json.dumps(p, separators=(",", ":")) for p in r["positions"])
        + "\n ]}"
        for r in sequences
    )
    return head.replace('"sequences": null', '"sequences": [\n' + runs + "\n]") + "\n"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def synth_sequences(n_vocab, seed):
    """`SEQUENCES` sequences of `SEQUENCE_LEN` ids: <s>, then pieces and byte tokens drawn
    with Python's Mersenne Twister seeded with `seed`, with a repeated stretch so attention has
    something to find."""
    rng = random.Random(seed)
    seqs = []
    for _ in range(SEQUENCES):
        body = [rng.randrange(3, n_vocab) for _ in range(SEQUENCE_LEN // 2)]
        tail = body[2:2 + SEQUENCE_LEN // 4] + [rng.randrange(3, n_vocab) for _ in range(SEQUENCE_LEN)]
        seqs.append(([1] + body + tail)[:SEQUENCE_LEN])
    return seqs


# ---- real models under teacher forcing ------------------------------------------------------

TEACHER_MODELS = ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-q4_k_m", "qwen2.5-coder-0.5b-instruct-q4_k_m"]
TEACHER_TOP = 5


def open_llama(llama_cpp, model_path, n_ctx, n_batch):
    return llama_cpp.Llama(
        model_path=str(model_path), n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch,
        n_threads=1, n_threads_batch=1, logits_all=True, flash_attn=False,
        type_k=llama_cpp.GGML_TYPE_F16, type_v=llama_cpp.GGML_TYPE_F16,
        n_gpu_layers=0, use_mmap=True, verbose=False,
    )


def greedy(llm, prompt, n):
    """`n` argmax tokens (lowest id on ties) after `prompt`, one llama_decode per token."""
    llm.reset()
    llm._ctx.kv_cache_clear()
    llm.eval(prompt)
    out = []
    for _ in range(n):
        scores = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        out.append(int(np.argmax(scores)))
        llm.eval([out[-1]])
    return out


def teacher(llm, prompt, continuation):
    """Logits at the positions predicting each continuation token, from one llama_decode of the
    prompt and the continuation but its last token."""
    ids = list(prompt) + list(continuation[:-1])
    llm.reset()
    llm._ctx.kv_cache_clear()
    llm.eval(ids)
    scores = np.array(llm.scores[len(prompt) - 1: len(ids)], dtype=np.float32)
    if not np.isfinite(scores).all():
        sys.exit("non-finite logits")
    return scores


def teacher_position(logits):
    lsm = log_softmax(logits)
    order = np.argsort(-logits, kind="stable")[:TEACHER_TOP]
    return {
        "top1": int(order[0]),
        "logprob": round(float(lsm[order[0]]), 6),
        "gap": round(float(logits[order[0]] - logits[order[1]]), 6),
        "top": [[int(i), round(float(lsm[i]), 6)] for i in order],
    }


def teacher_golden(stem, n_tokens, n_ctx):
    import llama_cpp

    if llama_cpp.__version__ != LLAMA_CPP_PYTHON:
        sys.exit(f"llama_cpp {llama_cpp.__version__} is not the portable build's {LLAMA_CPP_PYTHON}")
    model = ROOT / "models" / f"{stem}.gguf"
    ref = json.loads((ROOT / "tests/golden/llamacpp" / f"{stem}.reference.json").read_text())
    n_batch = n_ctx
    llm = open_llama(llama_cpp, model, n_ctx, n_batch)
    prompts = []
    for p in ref["prompts"]:
        ids = p["prompt_ids"]
        cont = greedy(llm, ids, n_tokens)
        positions = [teacher_position(s) for s in teacher(llm, ids, cont)]
        same = all(pos["top1"] == t for pos, t in zip(positions, cont))
        prompts.append({"name": p["name"], "prompt_ids": ids, "greedy": cont,
                        "greedy_equals_teacher_top1": same, "positions": positions})
        gaps = [pos["gap"] for pos in positions]
        print(f"{stem} {p['name']}: {len(ids)} prompt ids, greedy == teacher top-1: {same}, "
              f"min gap {min(gaps):.4f}", file=sys.stderr)
    info = build_info(n_ctx, llm.n_ctx(), n_batch)
    info["settings"].update({"logits_all": True, "greedy": "one llama_decode per token after the prompt",
                             "teacher_forcing": "prompt + greedy[:-1] in one llama_decode"})
    del llm
    golden = {"file": {"name": model.name, "sha256": sha256(model)}, "reference": info,
              "tokens": n_tokens, "prompt_ids_from": f"{stem}.reference.json", "prompts": prompts}
    head = json.dumps({**golden, "prompts": None}, indent=1)
    body = ",\n".join(
        " {" + ", ".join(f'"{k}": {json.dumps(p[k])}' for k in ("name", "prompt_ids", "greedy", "greedy_equals_teacher_top1"))
        + ', "positions": [\n' + ",\n".join("  " + json.dumps(x, separators=(",", ":")) for x in p["positions"]) + "\n ]}"
        for p in prompts)
    out = ROOT / "tests/golden/llamacpp" / f"{stem}.portable.json"
    out.write_text(head.replace('"prompts": null', '"prompts": [\n' + body + "\n]") + "\n")
    print(f"wrote {out}", file=sys.stderr)


def synth_binary():
    subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", "synth",
                    "--target", "x86_64-unknown-linux-gnu"], cwd=ROOT, check=True)
    return ROOT / "target/x86_64-unknown-linux-gnu/release/synth"


def synth_golden(preset, weight_type, seed, n_ctx, top_k, out_dir, binary):
    """One golden: the preset's own tensor types (`weight_type` None), or all weights F32."""
    from gguf import GGUFReader

    stem = preset if weight_type is None else f"{preset}.{weight_type}"
    type_args = [] if weight_type is None else ["--type", weight_type]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.gguf"
        subprocess.run([str(binary), "--preset", preset, "--seed", str(seed), *type_args,
                        "--out", str(path)], check=True, capture_output=True)
        reader = GGUFReader(str(path))
        arch = reader.fields["general.architecture"].contents()
        n_vocab = len(reader.fields["tokenizer.ggml.tokens"].contents())
        sequences = synth_sequences(n_vocab, seed)
        runs, info = evaluate(path, sequences, n_ctx, top_k)
        golden = {
            "file": {
                "preset": preset,
                "type": weight_type or "preset",
                "seed": seed,
                "architecture": arch,
                "n_vocab": n_vocab,
                "bytes": path.stat().st_size,
                "sha256": sha256(path),
                "writer": " ".join(["synth", "--preset", preset, "--seed", str(seed), *type_args]),
            },
            "reference": info,
            "top_k": top_k,
            "distribution": distribution_check(stem, runs),
            "sequences": runs,
        }
    out = out_dir / f"{stem}.json"
    out.write_text(dump(golden))
    print(f"wrote {out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("eval", help="evaluate token id sequences in one GGUF")
    ev.add_argument("model")
    ev.add_argument("--ids", required=True, help="JSON file: a list of token id lists")
    ev.add_argument("--out", required=True)
    ev.add_argument("--no-flash-check", action="store_true",
                    help="skip the second run with flash attention (for files too large to run twice)")
    sy = sub.add_parser("synth", help="write tests/golden/synth/<preset>.json")
    sy.add_argument("--preset", action="append", help="default: every small preset")
    sy.add_argument("--seed", type=int, default=SYNTH_SEED)
    sy.add_argument("--out-dir", default=str(ROOT / "tests/golden/synth"))
    te = sub.add_parser("teacher", help="write tests/golden/llamacpp/<model>.portable.json")
    te.add_argument("--model", action="append", help="default: " + ", ".join(TEACHER_MODELS))
    te.add_argument("--tokens", type=int, default=32)
    for p in (ev, sy, te):
        p.add_argument("--n-ctx", type=int, default=512)
        p.add_argument("--top-k", type=int, default=16)
    args = ap.parse_args()
    if not (PORTABLE / ".ok").exists():
        sys.exit(f"no portable llama.cpp at {PORTABLE}: run tools/golden/build-portable-llamacpp.sh "
                 "or set LLAMACPP_PORTABLE")
    if args.cmd == "teacher":
        for stem in args.model or TEACHER_MODELS:
            teacher_golden(stem, args.tokens, args.n_ctx)
    elif args.cmd == "eval":
        sequences = json.loads(Path(args.ids).read_text())
        runs, info = evaluate(args.model, sequences, args.n_ctx, args.top_k, not args.no_flash_check)
        golden = {"file": {"path": args.model, "sha256": sha256(args.model)}, "reference": info,
                  "top_k": args.top_k, "distribution": distribution_check(args.model, runs),
                  "sequences": runs}
        Path(args.out).write_text(dump(golden))
    else:
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        binary = synth_binary()
        for preset in args.preset or SYNTH_PRESETS:
            for weight_type in (None, "f32"):
                synth_golden(preset, weight_type, args.seed, args.n_ctx, args.top_k, out_dir, binary)


if __name__ == "__main__":
    main()
