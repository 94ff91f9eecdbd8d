#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, not committed):
#   - the first 2 MB of SmolLM2-135M-Instruct.Q4_1.gguf (its whole header, ~1.7 MB, and the
#     start of the tensor data), if the model is present (npm run setup fetches it);
#   - small hand-made headers covering every value type, nested arrays, `general.alignment`,
#     version 2, zero-length and scalar tensors.
# The incremental_parse target reads two control bytes and up to 15 u16 cut steps before the
# file (see fuzz_targets/incremental_parse.rs); its seeds get a few such prefixes.
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
model="$fuzz/../models/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$fuzz/corpus/parse_header" "$fuzz/corpus/incremental_parse"

python3 - "$fuzz/corpus" "$model" <<'PY'
import os, struct, sys

corpus, model = sys.argv[1], sys.argv[2]

def s(text):
    b = text.encode()
    return struct.pack('<Q', len(b)) + b

def kv(key, ty, payload):
    return s(key) + struct.pack('<I', ty) + payload

def arr(elem, items):
    return struct.pack('<IQ', elem, len(items)) + b''.join(items)

def tensor(name, dims, ggml_type, offset):
    out = s(name) + struct.pack('<I', len(dims))
    out += b''.join(struct.pack('<Q', d) for d in dims)
    return out + struct.pack('<IQ', ggml_type, offset)

def gguf(kvs, tensors, data_len, version=3, align=32):
    head = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs))
    head += b''.join(kvs) + b''.join(tensors)
    head += b'\0' * (-len(head) % align)
    return head + b'\0' * data_len

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
scalars = [
    kv('a.u8', U8, b'\x07'), kv('a.i8', I8, b'\xff'), kv('a.u16', U16, struct.pack('<H', 9)),
    kv('a.i16', I16, struct.pack('<h', -9)), kv('a.i32', I32, struct.pack('<i', -1)),
    kv('a.f32', F32, struct.pack('<f', 1.5)), kv('a.bool', BOOL, b'\x01'),
    kv('a.u64', U64, struct.pack('<Q', 1 << 40)), kv('a.i64', I64, struct.pack('<q', -2)),
    kv('a.f64', F64, struct.pack('<d', 0.25)),
]
arrays = [
    kv('tokenizer.ggml.tokens', ARR, arr(STR, [s('<s>'), s('é'), s('')])),
    kv('tokenizer.ggml.scores', ARR, arr(F32, [struct.pack('<f', x) for x in (0.0, -1.0, 2.0)])),
    kv('b.bools', ARR, arr(BOOL, [b'\x00', b'\x01'])),
    kv('b.nested', ARR, arr(ARR, [arr(U32, [struct.pack('<I', 1)]), arr(STR, [s('x')]), arr(ARR, [])])),
    kv('b.empty', ARR, arr(I64, [])),
]
f32_4 = lambda name, off: tensor(name, [4], 0, off)
seeds = {
    'minimal': gguf([kv('general.architecture', STR, s('llama')), kv('general.alignment', U32, struct.pack('<I', 32))],
                    [f32_4('a', 0), f32_4('b', 32)], 48),
    'scalars': gguf(scalars, [], 0),
    'arrays': gguf(arrays, [f32_4('t', 0)], 16),
    'align64_v2': gguf([kv('general.alignment', U32, struct.pack('<I', 64))],
                       [tensor('q', [32, 2], 2, 0), tensor('s', [], 0, 64), tensor('z', [0, 7], 0, 128)], 132,
                       version=2, align=64),
    'empty': gguf([], [], 0),
}
model_head = open(model, 'rb').read(2 << 20) if os.path.exists(model) else None
if model_head:
    seeds['smollm2_head'] = model_head

def cuts(*steps):
    return bytes([1, len(steps)]) + b''.join(struct.pack('<H', x) for x in steps)

for name, body in seeds.items():
    open(os.path.join(corpus, 'parse_header', name), 'wb').write(body)
    # Unknown length, no cuts; known length, byte-sized and larger steps.
    for tag, prefix in (('whole', bytes([0, 0])), ('small', cuts(1, 3, 7, 24, 40)),
                        ('big', cuts(4096, 65535, 65535, 65535, 65535, 65535))):
        open(os.path.join(corpus, 'incremental_parse', f'{name}_{tag}'), 'wb').write(prefix + body)
print(f'seeded {len(seeds)} files' + ('' if model_head else ' (no SmolLM2 model: run npm run setup)'))
PY
