#!/usr/bin/env python3
"""Token ids from llama.cpp itself for every `tokenizer.ggml.pre` name it knows, for
tests/tokenizer_vocab_suite.rs (`every_pre_tokenizer_matches_llamacpp`).

Usage (the portable llama.cpp build with Python bindings, llama-cpp-python 0.3.36, whose vendored
llama.cpp is commit 0c1e5709):

    /work/main/.setup/llamacpp-portable/bin/python tools/golden/pretokenizer_golden.py \
        [path/to/vendor/llama.cpp] > tests/golden/llamacpp/pretokenizers.json

The names are read from that llama.cpp's src/llama-vocab.cpp (every `tokenizer_pre == "..."`),
so a name it knows and gguf64 does not shows up as a failing test. For each name the script
rewrites a vocab-only file of the llama.cpp suite with `tokenizer.ggml.pre` set to the name
(byte-level lists: ggml-vocab-gpt-2.gguf; the raw-UTF-8 lists of Gemma 4, Sarvam and the
whitespace splitter: ggml-vocab-gemma-4.gguf with `tokenizer.ggml.model` = "gpt2"), loads it
with `vocab_only=True` and records llama_tokenize(text, add_special = false, parse_special =
false) for every text of the corpus: the suite's own cases plus strings aimed at the regexes'
corners (scripts, marks, digit runs, case changes, whitespace kinds, Chameleon's markers).
Every suite vocab file is also tokenized as it is, with and without special tokens added (the
SentencePiece, WordPiece and pre-less BPE files). For both, `detok` is llama_detokenize of the
ids (remove_special = false, unparse_special = false) in hex, which shows each name's
`clean_spaces` and the decoding of WordPiece and Gemma 4 tokens. Merges cannot cross a word boundary, so
different cuts often give different ids; to see every
cut, the short `EXACT` texts also go through a synthetic vocabulary (`exact_vocab`) where each
word becomes exactly one token, so two lists agree only if they cut alike. Under the
"whitespace" name llama.cpp aborts on any text with a space (see `ids_for`); those are null.
"""

import ctypes
import json
import os
import re
import struct
import sys
import tempfile

import gguf
import llama_cpp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VOCABS = os.path.join(ROOT, "models", "llama.cpp-vocab")
DEFAULT_LLAMA_CPP = "/work/cache/llama_cpp_python-0.3.36/vendor/llama.cpp"
RAW_UTF8 = {"gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace"}
SEPARATOR = "\n__ggml_vocab_test__\n"

EXTRA = [
    "HelloWorld camelCaseWord XMLHttpRequest ABCdef éA Éclair ǅungla ﬁnal",
    "don't I'LL we'Re they'VE it's O'Neil 'tis",
    "1 12 123 1234 12345 1234567 1234567890 3.14159 1,000,000 x2y3",
    "٣٤٥ ²³ ½ Ⅻ ①②③ 𝟙𝟚",
    "中文字符测试 日本語のテキスト カタカナ 한국어 텍스트 ㄅㄆㄇ ㄱㄴ",
    "Thai: สวัสดีครับ Hindi: नमस्ते दुनिया Arabic: مرحبا، بالعالم۔",
    "Combining: e\u0301te\u0301 a\u0308\u0308 \u0301alone x\u20dd",
    "emoji 👩🏽‍💻🚀✨ ❤️‍🔥 flags 🇩🇪",
    "tabs\there\t\tand\u00a0nbsp\u3000ideo\u0085nel\u2028ls\u2029ps",
    "trailing spaces   ",
    "   leading spaces",
    "lines\n\n\nend\r\n\r\nwindows\n \n  \n",
    "a/b/c\n/path/to/file.txt\n// comment\n",
    "Hello, world! How are you? Fine… 。，、 ¿Qué? ¡Sí!",
    "$100 + 5% = <x> ^ ~y | `z` @home #tag &amp; *bold* _it_",
    "<sentinel:12> <sentinel:x> IMGIMGABCZ IMGIMGABCDEZ IMGIMGAZ",
    "    four spaces\n  two\n\tone tab",
    "def f(x):\n    return x ** 2  # square\n",
    "Ω ℃ № ™ ∑ ∫ ≤ ≥ ≠ → ← ↑",
    "Ꭰꭰ ᲐᲑ Ⱒⱒ Ꙁꙁ 𐐀𐐨 𞤀𞤢",
    "mixed123abc 456def ghi789 ü3ö",
    "   \n\t  \u00a0\u00a0x",
    "x" + " " * 600 + "y",
    "a" + "\u00a0" * 10 + "b  ",
    "a , b . c ! d ? it 's I 'm they 're we 've ' quoted '",
]


def pre_names(llama_cpp_dir):
    source = open(os.path.join(llama_cpp_dir, "src/llama-vocab.cpp"), encoding="utf-8").read()
    names = []
    for name in re.findall(r'tokenizer_pre == "([^"]+)"', source):
        if name not in names:
            names.append(name)
    return names


def string_field(key, value):
    k, v = key.encode(), value.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", int(gguf.GGUFValueType.STRING)) + struct.pack("<Q", len(v)) + v


def with_strings(path, changes):
    """The bytes of `path` with the string keys in `changes` set (replaced or appended)."""
    data = open(path, "rb").read()
    reader = gguf.GGUFReader(path)
    spans = []
    for key, field in reader.fields.items():
        if key in changes:
            spans.append((field.offset, field.offset + sum(p.nbytes for p in field.parts), key))
    spans.sort()
    out, last = bytearray(), 0
    for start, end, key in spans:
        out += data[last:start] + string_field(key, changes[key])
        last = end
    missing = [k for k in changes if k not in reader.fields]
    kv_end = max(f.offset + sum(p.nbytes for p in f.parts) for f in reader.fields.values())
    out += data[last:kv_end]
    for key in missing:
        out += string_field(key, changes[key])
    out += data[kv_end:]
    # n_kv is the u64 at offset 16 (after magic, version and n_tensors).
    n_kv = struct.unpack_from("<Q", out, 16)[0]
    struct.pack_into("<Q", out, 16, n_kv + len(missing))
    return bytes(out)


# Short texts for the exact check (see `exact_vocab`), each at most ~40 chars once spelled.
EXACT = [
    "Hello world", "HelloWorld ABCdef", "XMLHttp éA Éc", "don't I'LL", "we'Re 's 'S",
    "1 12 1234 1234567", "x2y3 3.14 1,000", "٣٤ ² ½", "中文字 日本", "カタ 한국 ㄅㄆ",
    "e\u0301t\u0301 \u0301a", "tab\t\tx\u00a0y", "\u3000i\u0085n", "end   ", "   lead",
    "a\n\n\nb\r\n\r\nc", "x\n \n  \n", "a/b\n/p\n", "Hi, you? Ok… 。、", "$1 + 5% = <x>",
    "^ ~y | `z` @h", "<sentinel:12>", "IMGIMGABCZ x", "    four\n  two", "Ω ℃ ∑ ≤",
    "mix123abc ü3ö", "  \n\t  x", "hello world, again", "New York's 2", "ǅx Ꭰꭰ",
    "a  b   c", "x\r\ny\n", "!!!\n\nok", "ab12cd 99", "한국어텍스트", "สวัสดี", "नमस्ते",
    "👩🏽‍💻🚀", "(abc) [d]", "IMGIMGABCDEZ", "x \u2028y", "Ñandú ÀB",
]


def byte_alphabet():
    """GPT-2's byte alphabet: printable bytes stand for themselves, the others for U+0100 on."""
    keep = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, extra = [], 0
    for b in range(256):
        if b in keep:
            table.append(chr(b))
        else:
            table.append(chr(0x100 + extra))
            extra += 1
    return table


BYTE_ALPHABET = byte_alphabet()


def spell_byte_level(text):
    return "".join(BYTE_ALPHABET[b] for b in text.encode("utf-8"))


def spell_raw(text):
    return text.replace(" ", "\u2581")


def exact_vocab(texts, spell):
    """Tokens: the 256 byte-alphabet chars, "\\n", and every substring of every spelled text,
    sorted by code point. Merges: every token of two chars or more split in two at every point.
    Any two neighbouring symbols of a word then merge, so BPE always ends with one token per
    word and the ids spell out the cuts exactly."""
    subs = set(BYTE_ALPHABET) | {"\n"}
    for text in texts:
        t = spell(text)
        for i in range(len(t)):
            for j in range(i + 1, len(t) + 1):
                subs.add(t[i:j])
    tokens = sorted(subs)
    merges = [f"{s[:k]} {s[k:]}" for s in tokens for k in range(1, len(s))]
    return tokens, merges


def write_exact(path, tokens, merges, pre):
    w = gguf.GGUFWriter(path, "gpt2")
    for key, value in [("block_count", 1), ("context_length", 64), ("embedding_length", 8),
                       ("feed_forward_length", 8), ("attention.head_count", 1)]:
        w.add_uint32(f"gpt2.{key}", value)
    w.add_float32("gpt2.attention.layer_norm_epsilon", 1e-5)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", pre)
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", [1] * len(tokens))
    w.add_array("tokenizer.ggml.merges", merges)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def detokenize(llm, ids):
    """llama_detokenize(ids, remove_special = false, unparse_special = false), as hex (the bytes
    need not be UTF-8)."""
    tokens = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 8 * len(ids)
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_detokenize(llm._model.vocab, tokens, len(ids), buf, size, False, False)
        if n >= 0:
            return buf.raw[:n].hex()
        size = -n


def ids_for(path, texts, name, detok=None):
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    # With "whitespace" and no byte-level spelling, a word holding a space reaches llama.cpp's
    # merge lookup, which aborts on it (GGML_ASSERT in find_bpe_rank): those texts get null.
    skip = lambda t: name == "whitespace" and " " in t
    ids = [None if skip(t) else llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in texts]
    if detok is not None:
        detok.extend(None if i is None else detokenize(llm, i) for i in ids)
    return ids


def main(argv):
    names = pre_names(argv[0] if argv else DEFAULT_LLAMA_CPP)
    inp = open(os.path.join(VOCABS, "ggml-vocab-gpt-2.gguf.inp"), encoding="utf-8").read()
    texts = inp.removesuffix(SEPARATOR).split(SEPARATOR) + EXTRA
    results = {}
    byte_level_vocab = exact_vocab(EXACT, spell_byte_level)
    raw_vocab = exact_vocab(EXACT, spell_raw)
    print(f"exact vocabs: {len(byte_level_vocab[0])}/{len(byte_level_vocab[1])} and "
          f"{len(raw_vocab[0])}/{len(raw_vocab[1])} tokens/merges", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name in RAW_UTF8:
                base, changes = "ggml-vocab-gemma-4.gguf", {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": name}
            else:
                base, changes = "ggml-vocab-gpt-2.gguf", {"tokenizer.ggml.pre": name}
            path = os.path.join(tmp, "vocab.gguf")
            open(path, "wb").write(with_strings(os.path.join(VOCABS, base), changes))
            detok = []
            results[name] = {"vocab": base, "ids": ids_for(path, texts, name, detok), "detok": detok}
            tokens, merges = raw_vocab if name in RAW_UTF8 else byte_level_vocab
            write_exact(path, tokens, merges, name)
            results[name]["exact"] = "raw" if name in RAW_UTF8 else "byte-level"
            results[name]["exact_ids"] = ids_for(path, EXACT, name)
            print(f"{name}: done", file=sys.stderr)
    # Every suite vocab as it is (SentencePiece ones, the BPE ones without a pre name, WordPiece),
    # with and without special tokens added.
    files = {}
    for vocab in sorted(os.listdir(VOCABS)):
        if not vocab.startswith("ggml-vocab-") or not vocab.endswith(".gguf"):
            continue
        llm = llama_cpp.Llama(model_path=os.path.join(VOCABS, vocab), vocab_only=True, verbose=False)
        files[vocab] = {
            "ids": [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in texts],
            "ids_added": [llm.tokenize(t.encode("utf-8"), add_bos=True, special=False) for t in texts],
        }
        files[vocab]["detok"] = [detokenize(llm, ids) for ids in files[vocab]["ids"]]
        print(f"{vocab}: done", file=sys.stderr)
    json.dump({
        "llama_cpp": "llama-cpp-python 0.3.36 (vendored llama.cpp 0c1e5709), portable build",
        "texts": texts,
        "exact_texts": EXACT,
        "pre": results,
        "files": files,
    }, sys.stdout, ensure_ascii=False, indent=None, separators=(",", ":"))
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
