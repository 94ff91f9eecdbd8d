#!/usr/bin/env python3
"""Expected words of the pre-tokenizer lists llama.cpp runs through `std::regex`, computed with
Python's `regex` module from llama.cpp's own pattern strings, for the unit tests in
src/tokenizer/pretokenize/tests.rs.

Usage: python3 tools/golden/pretokenizer_splits.py [path/to/vendor/llama.cpp] > tests/golden/pretokenizer_splits.txt

Python's `regex` knows Unicode categories of its own Unicode version, and ECMAScript `\\s` is not
Python's. So the script first does to text and pattern what llama.cpp's `unicode_regex_split`
does before calling `std::regex`: every non-ASCII whitespace char becomes U+000B; if the pattern
uses a category, every other non-ASCII char becomes the stand-in of its llama.cpp category
(U+00D1 number, U+00D2 letter, U+00D3 punctuation, U+00D4 mark, U+00D5 symbol, U+00D0 other)
and each `\\p{..}` becomes that stand-in plus its ASCII members (`\\p{Lu}` and the other letter
subcategories become all letters, as in llama.cpp). `\\s` and `\\d` are ASCII (the `ASCII` flag),
as in the C locale. The regexes of a list are applied in order to each piece the previous one
left, matches and the text between them becoming words (`std::regex_iterator`). llama.cpp's
hand-written matchers are ported where a list uses them: the digit grouping of AFMoE/Tiny Aya,
and the GPT-2 regex (run as a regex: llama.cpp's code matches it on these texts).

The pattern strings are read from the vendored llama.cpp's src/llama-vocab.cpp by list; the
categories from src/unicode-data.cpp via gen_unicode_table.py. Output: one line per (list,
text): `list<TAB>hex(text)<TAB>hex(word) hex(word) ...`.
"""

import importlib.util
import os
import re
import sys

import regex

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEFAULT_LLAMA_CPP = "/work/cache/llama_cpp_python-0.3.36/vendor/llama.cpp"

# The lists whose regexes are all std::regex (plus the two hand matchers ported below), by the
# LLAMA_VOCAB_PRE_TYPE_* case that holds them.
LISTS = ["DEFAULT", "FALCON", "DEEPSEEK_LLM", "DEEPSEEK_CODER", "DEEPSEEK3_LLM", "SPARK2_5", "YOUTU",
         "JAIS2", "PORO", "VIKING", "TEKKEN", "CHAMELEON", "GPT4O", "GRANITE_EMB_MULTI", "TINY_AYA",
         "SUPERBPE", "BAILINGMOE", "SEED_CODER", "UFAKZEKA", "AFMOE", "EXAONE_MOE", "MINICPM5",
         "WHITESPACE"]

TEXTS = [
    "Hello world", "HelloWorld camelCase XMLHttpRequest ABCdef éA Éclair ǅungla",
    "don't I'LL we'Re they'VE it's", "1 12 123 1234 12345 1234567 x2y3 3.14",
    "٣٤٥ ²³ ½ Ⅻ", "中文字符 日本語のテキスト カタカナ 한국어 ㄅㄆ ㄱㄴ",
    "สวัสดีครับ नमस्ते مرحبا، بالعالم۔", "e\u0301te\u0301 \u0301alone x\u20dd",
    "emoji 👩🏽‍💻🚀 ❤️", "tabs\there\t\tand\u00a0nbsp\u3000ideo\u0085nel",
    "trailing   ", "   leading", "lines\n\n\nend\r\n\r\nwin\n \n  \n", "a/b/c\n/p/f.txt\n",
    "Hello, world! How? Fine… 。，、 ¿Qué? ¡Sí!", "$100 + 5% = <x> ^ ~y | `z` @h #t",
    "<sentinel:12> IMGIMGABCZ IMGIMGABCDEZ", "    four\n  two\n\tone", "Ω ℃ ™ ∑ ≤ →",
    "Ꭰꭰ ᲐᲑ Ⱒⱒ 𐐀𐐨", "mixed123abc 456def ü3ö", "   \n\t  \u00a0\u00a0x", "x" + " " * 20 + "y",
    "hello world again, and again", "New York's 2 best", "'s 'S 'd'll",
]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen", os.path.join(ROOT, "src/tokenizer/gen_unicode_table.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def categories(llama_cpp_dir):
    gen = load_generator()
    source = open(os.path.join(llama_cpp_dir, "src/unicode-data.cpp"), encoding="utf-8").read()
    kinds = {}
    for first, last, kind in gen.ranges(source):
        for c in range(first, last + 1):
            kinds[c] = kind
    return kinds, set(gen.whitespace(source))


def lists(llama_cpp_dir):
    """LLAMA_VOCAB_PRE_TYPE_* -> its regex strings, from the constructor of llm_tokenizer_bpe."""
    source = open(os.path.join(llama_cpp_dir, "src/llama-vocab.cpp"), encoding="utf-8").read()
    body = source[source.index("struct llm_tokenizer_bpe : llm_tokenizer"):]
    body = body[:body.index("std::vector<std::string> regex_exprs;")]
    out, waiting = {}, []
    for block in re.split(r"\n\s*case LLAMA_VOCAB_PRE_TYPE_|\n\s*default:", body)[1:]:
        name = block.split(":")[0].strip() if not block.lstrip().startswith("//") else "DEFAULT"
        waiting.append(name)
        m = re.search(r"regex_exprs = \{(.*?)\n\s*\};", block, re.S)
        if not m:
            continue
        lines = [l.strip() for l in m.group(1).split("\n") if l.strip() and not l.strip().startswith("//")]
        pats = []
        for l in lines:
            lit = re.match(r'"((?:[^"\\]|\\.)*)",', l)
            pats.append(c_string(lit.group(1)) if lit else None)
        for waiting_name in waiting:
            out.setdefault(waiting_name, pats)
        waiting = []
    out["DEFAULT"] = out.get("DEFAULT") or out.get("default")
    return out


def c_string(body):
    """The value of a C++ string literal's body (only the escapes llama-vocab.cpp uses)."""
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


STAND_IN = {2: "\u00D1", 1: "\u00D2", 4: "\u00D3", 3: "\u00D4", 5: "\u00D5"}
ASCII_OF = {
    2: "0-9", 1: "A-Za-z", 4: "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}", 3: "", 5: "\\$\\+<-=>\\^`\\|~",
}
UCAT = {"\\p{N}": 2, "\\p{L}": 1, "\\p{P}": 4, "\\p{M}": 3, "\\p{S}": 5,
        "\\p{Lu}": 1, "\\p{Ll}": 1, "\\p{Lt}": 1, "\\p{Lm}": 1, "\\p{Lo}": 1}


def collapse_pattern(p):
    out, inside, i = "", False, 0
    while i < len(p):
        c = p[i]
        if c == "[" and (i == 0 or p[i - 1] != "\\"):
            out, inside, i = out + "[", True, i + 1
            continue
        if inside and c == "]" and p[i - 1] != "\\":
            out, inside, i = out + "]", False, i + 1
            continue
        if p.startswith("\\p{", i):
            close = p.find("}", i + 3)
            pat = p[i:close + 1]
            if pat in UCAT:
                cls = STAND_IN[UCAT[pat]] + ASCII_OF[UCAT[pat]]
                out += cls if inside else "[" + cls + "]"
                i = close + 1
                continue
        out, i = out + c, i + 1
    return out


def view(text, kinds, spaces, collapse):
    out = []
    for c in text:
        o = ord(c)
        if o < 128:
            out.append(c)
        elif o in spaces:
            out.append("\x0b")
        elif collapse:
            out.append(STAND_IN.get(kinds.get(o, 0), "\u00D0"))
        else:
            out.append(c)
    return "".join(out)


def regex_cuts(seen, pattern, start, end):
    cuts, last = [], start
    for m in regex.compile(pattern, regex.ASCII | regex.V0).finditer(seen, start, end):
        if m.start() > last:
            cuts.append(m.start())
        if m.end() > m.start():
            cuts.append(m.end())
        last = max(last, m.end())
    if last < end:
        cuts.append(end)
    return cuts


def digit_groups(text, kinds, start, end):
    """llama.cpp's unicode_regex_split_custom_afmoe."""
    cuts, pos, last = [], start, start
    while pos < end:
        if kinds.get(ord(text[pos])) != 2:
            pos += 1
            continue
        run = pos
        while run < end and kinds.get(ord(text[run])) == 2:
            run += 1
        g = pos + (run - pos) % 3 or pos + 3
        while g <= run:
            cuts.append(g)
            last = g
            g += 3
        pos = run
    if last < end:
        cuts.append(end)
    return cuts


def split(text, patterns, kinds, spaces):
    ends = [len(text)] if text else []
    for pattern in patterns:
        collapse = any(u in pattern for u in UCAT)
        seen = view(text, kinds, spaces, collapse)
        pat = collapse_pattern(pattern) if collapse else pattern
        nxt, start = [], 0
        for end in ends:
            if pattern in ("\\p{AFMoE_digits}", "\\d{1,3}(?=(?:\\d{3})*\\b)"):
                nxt += digit_groups(text, kinds, start, end)
            else:
                nxt += regex_cuts(seen, pat, start, end)
            start = end
        ends = nxt
    words, start = [], 0
    for end in ends:
        words.append(text[start:end])
        start = end
    return words


def main(argv):
    llama_cpp_dir = argv[0] if argv else DEFAULT_LLAMA_CPP
    kinds, spaces = categories(llama_cpp_dir)
    table = lists(llama_cpp_dir)
    for name in LISTS:
        patterns = table[name]
        assert all(patterns), name
        for text in TEXTS:
            words = split(text, patterns, kinds, spaces)
            assert "".join(words) == text
            print(f"{name}\t{text.encode().hex()}\t" + " ".join(w.encode().hex() for w in words))


if __name__ == "__main__":
    main(sys.argv[1:])
