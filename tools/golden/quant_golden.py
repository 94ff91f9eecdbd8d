#!/usr/bin/env python3
"""References for the quantization kernels (src/quant), computed with Python `gguf.quants`.

Usage:
  tools/golden/quant_golden.py fixtures <out_dir>
      Random blocks of every type the kernels support, dequantized by gguf.quants, plus Q8_0
      activation quantization (gguf.quants.Q8_0.quantize, llama.cpp's reference rounding).
      Writes <TYPE>.blocks (raw blocks) and <TYPE>.f32 (little-endian float32) per type, and
      q8_0_act.in.f32 / q8_0_act.blocks. Deterministic (fixed seed); tests/quant_python.rs
      reads them from tests/golden/quant/.
  tools/golden/quant_golden.py dequant <model.gguf> <out_dir> <name>:<row_start>:<row_count> ...
      Reads each tensor with GGUFReader, takes rows [row_start, row_start + row_count) (count 0:
      to the end), dequantizes them with gguf.quants.dequantize and writes <out_dir>/<i>.f32.
  tools/golden/quant_golden.py digests <model.gguf>
      Prints "<name> <n_values> <sha256>" for every tensor: the SHA-256 of its dequantized
      values as little-endian float32 (slow: about a minute for both test models).

Random blocks keep every f16 scale finite (a random exponent other than all ones); every other
byte is uniformly random, so quants cover their whole range (IQ4_XS's 6-bit scales included:
any bits are a valid scale).
"""

import hashlib
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import Q8_0, dequantize

SEED = 20261101
N_BLOCKS_32 = 96  # 32-element types: 3072 values
N_BLOCKS_256 = 24  # k-quants: 6144 values

# Byte offsets of the f16 fields of each block type (ggml-common.h).
F16_FIELDS = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
    T.IQ4_NL: [0],
    T.IQ4_XS: [0],
}
PLAIN = [T.F32, T.F16, T.BF16]
# Types added later: drawn after the Q8_0 activation input, so the random stream of every
# earlier fixture (and so its bytes) stays as it was.
LATER = [T.IQ4_NL, T.IQ4_XS]


def finite_bits(rng, n, exp_mask):
    """n random 16-bit float patterns (f16: exponent mask 0x7C00, bf16: 0x7F80) made finite by
    clearing the top exponent bit where the exponent is all ones; as uint16."""
    bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    bits[(bits & exp_mask) == exp_mask] &= 0xBFFF
    return bits


def random_blocks(rng, qtype):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.standard_normal(1024).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        return finite_bits(rng, 1024, 0x7C00).view(np.uint8)
    if qtype == T.BF16:
        return finite_bits(rng, 1024, 0x7F80).view(np.uint8)
    n = N_BLOCKS_256 if block_size == 256 else N_BLOCKS_32
    blocks = rng.integers(0, 256, size=(n, type_size), dtype=np.uint16).astype(np.uint8)
    for at in F16_FIELDS[qtype]:
        blocks[:, at:at + 2] = finite_bits(rng, n, 0x7C00).view(np.uint8).reshape(n, 2)
    return blocks.reshape(-1)


def q8_0_activation_input(rng):
    """Activations for Q8_0 quantization: normal values, a zero block, a block of one value,
    and blocks where x / d lands exactly on a half (amax = 127, so d = 1)."""
    x = rng.standard_normal((40, 32)).astype(np.float32) * np.float32(3.0)
    x[1] = 0.0
    x[2] = np.float32(-7.25)
    ties = (np.arange(32, dtype=np.float32) - np.float32(16.0)) + np.float32(0.5)
    x[3] = ties
    x[3, 0] = np.float32(127.0)
    x[4] = -ties
    x[4, 31] = np.float32(-127.0)
    return x.reshape(-1)


def fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for qtype in PLAIN + [t for t in F16_FIELDS if t not in LATER]:
        write_fixture(rng, qtype, out_dir)
    x = q8_0_activation_input(rng)
    x.astype("<f4").tofile(os.path.join(out_dir, "q8_0_act.in.f32"))
    Q8_0.quantize(x).tofile(os.path.join(out_dir, "q8_0_act.blocks"))
    for qtype in LATER:
        write_fixture(rng, qtype, out_dir)


def write_fixture(rng, qtype, out_dir):
    raw = random_blocks(rng, qtype)
    values = dequantize(raw, qtype).astype(np.float32)
    raw.tofile(os.path.join(out_dir, f"{qtype.name}.blocks"))
    values.astype("<f4").tofile(os.path.join(out_dir, f"{qtype.name}.f32"))


def dequant(model, out_dir, specs):
    os.makedirs(out_dir, exist_ok=True)
    tensors = {t.name: t for t in GGUFReader(model).tensors}
    for i, spec in enumerate(specs):
        name, start, count = spec.rsplit(":", 2)
        t = tensors[name]
        data = t.data
        if data.ndim == 1:
            data = data.reshape(1, -1)
        data = data.reshape(-1, data.shape[-1])  # rows of ne0 (in bytes for quantized types)
        start, count = int(start), int(count)
        rows = data[start:] if count == 0 else data[start:start + count]
        values = dequantize(np.ascontiguousarray(rows), t.tensor_type).astype(np.float32)
        values.astype("<f4").tofile(os.path.join(out_dir, f"{i}.f32"))


def digests(model):
    for t in GGUFReader(model).tensors:
        values = dequantize(t.data, t.tensor_type).astype("<f4")
        print(t.name, values.size, hashlib.sha256(values.tobytes()).hexdigest(), flush=True)


def main(argv):
    if len(argv) >= 2 and argv[0] == "fixtures":
        fixtures(argv[1])
    elif len(argv) >= 3 and argv[0] == "dequant":
        dequant(argv[1], argv[2], argv[3:])
    elif len(argv) == 2 and argv[0] == "digests":
        digests(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
