// Tokenizer reference data from llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binary, vocabulary
// only) for tests/tokenizer_llamacpp.rs.
//
//   node tools/golden/llamacpp-tokens.mjs            both test models -> tests/golden/llamacpp/<model>.tokens.json
//   node tools/golden/llamacpp-tokens.mjs <file.gguf> <out.json>
//
// Run tools/golden/chat_golden.py first: the chat cases come from tests/golden/llamacpp/<model>.chat.json.
//
// What is recorded, per model:
// - the special ids node-llama-cpp reports (`bos`, `eos`, `eot`, `nl`, `sep`: null when llama.cpp
//   has none or, for bos/eos/eot/sep, when the token is not a control token; the addon hides
//   those), `add_bos`/`add_eos` (llama_vocab_get_add_bos/eos), the end-of-generation ids
//   (llama_vocab_is_eog over the whole vocabulary) and every token's attribute bits
//   (llama_vocab_get_attr) run-length coded as [first id, count, attr];
// - `pieces_sha256`: SHA-256 over all ids of (u32 LE byte length, bytes) of the UTF-8 of
//   detokenize([id], special) -- once with special = true, once false -- plus a sample of pieces.
//   The addon turns invalid UTF-8 into U+FFFD, so lone byte tokens hash as U+FFFD;
// - per corpus string: `ids` = llama_tokenize(text, add_special = false, parse_special = false),
//   `ids_special` with parse_special = true (only when it differs, else null), `detok` =
//   llama_detokenize(ids, remove_special = false, unparse_special = false) and `detok_special`
//   (ids_special, unparse_special = true). With add_special = true llama.cpp puts `bos` first when
//   `add_bos` and `eos` last when `add_eos`; the addon always tokenizes with add_special = false.
// - per chat case of <model>.chat.json: the ids of `prompt_text` (parse_special = true) and of the
//   raw `rendered` text, which shows what tokenizing a template's leading BOS string does.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const GOLDEN_DIR = join(ROOT, 'tests/golden/llamacpp');
const MODELS = ['SmolLM2-135M-Instruct.Q4_1', 'gemma-3-270m-q4_k_m'];
const LLAMA_CPP = 'node-llama-cpp 3.21.1';
/** Every this many ids, one piece goes into the sample (plus all ids below 600). */
const PIECE_SAMPLE_STRIDE = 997;

// ---------------------------------------------------------------------------------------------
// Corpus

/** A deterministic ~5 kB paragraph mixing scripts, digits, code, emoji and whitespace. */
function mixedParagraph() {
  const parts = [
    'In 1969, Apollo 11 landed on the Moon; 600 million people watched. ',
    'Le café coûte 3,50 € — déjà trop cher! ',
    'Москва — столица России, 12 миллионов жителей. ',
    'Η Αθήνα είναι η πρωτεύουσα της Ελλάδας. ',
    '東京は日本の首都で、人口は約1400万人です。 ',
    '서울은 한국의 수도입니다. ',
    'مرحبا بالعالم، كيف حالك؟ ',
    'שלום עולם! ',
    'नमस्ते दुनिया, आप कैसे हैं? ',
    'สวัสดีชาวโลก ',
    'Emoji: 👩🏽‍💻🚀✨ 🇩🇪🇧🇷 ❤️‍🔥. ',
    "for (let i = 0; i < n; i++) { sum += a[i] * 2; }\n",
    '    indented line\twith\ttabs\r\n',
    "It's what they'd've wanted, isn't it? WE'LL SEE. ",
    'https://example.org/a/b?c=1&d=%20x#top ',
    '3.14159265358979 2.71828 1e-9 0x1F 1,234,567.89\n\n',
  ];
  let out = '';
  for (let i = 0; out.length < 5000; i++) out += parts[(i * 7) % parts.length];
  return out;
}

/** [name, text] pairs; names are unique. */
function corpus() {
  const prompts = JSON.parse(readFileSync(join(GOLDEN_DIR, 'prompts.json'), 'utf8')).prompts;
  const fromPrompts = prompts.filter((p) => typeof p.text === 'string').map((p) => [`prompts.${p.name}`, p.text]);
  const cases = [
    // whitespace
    ['empty', ''],
    ['space', ' '],
    ['two_spaces', '  '],
    ['three_spaces', '   '],
    ['many_spaces', ' '.repeat(100)],
    ['tab', '\t'],
    ['tabs', '\t\t\t'],
    ['newline', '\n'],
    ['three_newlines', '\n\n\n'],
    ['many_newlines', '\n'.repeat(45)],
    ['crlf', 'line one\r\nline two\r\n'],
    ['cr_alone', 'a\rb'],
    ['leading_spaces', '   leading'],
    ['trailing_spaces', 'trailing   '],
    ['both_ends', '  both  '],
    ['inner_spaces', 'a  b   c    d'],
    ['space_newline', ' \n '],
    ['newline_spaces', 'x \n\n y'],
    ['tab_mix', '\tkey:\t value \t\n'],
    ['whitespace_soup', ' \t\n\r\n\t  \n'],
    ['vertical_tab_ff', 'a\u000bb\u000cc'],
    ['nbsp', 'a\u00a0b \u00a0 c'],
    ['ideographic_space', '日本\u3000語'],
    ['unicode_spaces', 'a\u2003b\u2009c\u202fd\u205fe'],
    ['line_separator', 'one\u2028two\u2029three'],
    ['zero_width', 'zero\u200bwidth\u200djoiner\u200cnon'],
    ['bom', '\ufeffBOM at start'],
    // digits
    ['digits_7', '1234567'],
    ['pi', '3.14159'],
    ['zero', '0'],
    ['digits_spaced', ' 42 and 7'],
    ['thousands', '1,000,000'],
    ['version', 'v1.2.3-rc.4'],
    ['alnum', 'a1b2c3 12abc34'],
    ['long_number', '98765432109876543210'],
    ['fullwidth_digits', '２０２４年'],
    ['arabic_indic_digits', '٠١٢٣٤٥٦٧٨٩'],
    ['devanagari_digits', '१२३'],
    ['other_numbers', '½ ⅓ ¾ Ⅻ ⅷ ² ³ ①'],
    ['phone', '+1 (555) 010-9999'],
    ['date_time', '2024-02-29T23:59:59Z'],
    ['money', '$19.99 €5 £3 ¥100'],
    // contractions
    ['contraction_s', "it's John's"],
    ['contraction_t', "don't can't"],
    ['contraction_re', "they're we're"],
    ['contraction_ve', "we've I've"],
    ['contraction_m', "I'm"],
    ['contraction_ll', "you'll she'll"],
    ['contraction_d', "he'd I'd"],
    ['contraction_upper', "IT'S DON'T THEY'RE I'M YOU'LL"],
    ['contraction_mixed_case', "It'S dOn'T"],
    ['apostrophe_alone', "'"],
    ['apostrophes', "'' ''' 's 't"],
    ['rock_n_roll', "rock 'n' roll"],
    ['irish_name', "O'Neil's"],
    ['curly_apostrophe', 'it’s ‘quoted’ “double”'],
    // punctuation
    ['punct_run', '!!!???...'],
    ['ellipsis', '...'],
    ['dashes', '— – - −'],
    ['symbols', '#$%&*()[]{}<>@^_`|~\\'],
    ['angle_runs', '<<>> <=> ->'],
    ['dots_between', 'a...b'],
    ['quotes', '"quoted" and \'single\''],
    ['guillemets', '«bonjour» ‹x›'],
    ['spanish', '¿Qué tal? ¡Muy bien!'],
    ['markdown', '# Title\n\n**bold** _italic_ `code`\n- item\n> quote'],
    ['punct_space', 'Hello , world ! How are you ? Fine .'],
    // URLs, paths
    ['url', 'https://example.com/path/to/page?query=1&x=y#frag'],
    ['mailto', 'mailto:someone@example.org'],
    ['www', 'www.test.co.uk/a_b-c'],
    ['path_unix', '/usr/local/bin/python3 --version'],
    ['path_windows', 'C:\\Users\\Public\\file.txt'],
    ['ip', '192.168.0.1:8080'],
    // code
    ['python', 'def add(a, b):\n    """Add."""\n    return a + b\n\nprint(add(1, 2))\n'],
    ['javascript', "const f = async (x) => {\n  await fetch(`/api/${x}`);\n  return x ?? null;\n};\n"],
    ['rust', 'fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!("{:?}", v);\n}\n'],
    ['c', '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }\n'],
    ['sql', "SELECT id, name FROM users WHERE age >= 18 AND name LIKE 'A%';"],
    ['html', '<div class="box"><p>Hi &amp; bye</p><br/></div>'],
    ['json', '{"key": [1, 2.5, true, null], "nested": {"a": "b"}}'],
    ['shell', 'for f in *.txt; do echo "$f" | wc -l; done 2>&1 > /dev/null'],
    ['latex', '\\frac{a}{b} + \\sum_{i=1}^{n} x_i^2 = \\alpha'],
    ['go', 'package main\n\nfunc main() {\n\tfmt.Println("hi")\n}\n'],
    ['yaml', 'key:\n  - a: 1\n    b: "two"\n'],
    ['regex_text', '^(?:[a-z0-9]+\\.)*[a-z]{2,}$'],
    // Latin with accents
    ['french_accents', 'café naïve résumé à la crème brûlée'],
    ['swedish', 'Ångström Ärlig Öl'],
    ['vietnamese', 'Đặng Thị Ngọc Hân, tiếng Việt'],
    ['german', 'Zürich Straße Größe Äpfel'],
    ['polish', 'Zażółć gęślą jaźń'],
    ['turkish', 'İstanbul ılık ŞĞÜÖÇ'],
    ['ligature', 'ﬁnance ﬂow'],
    // scripts
    ['cyrillic', 'Съешь же ещё этих мягких французских булок, да выпей чаю.'],
    ['ukrainian', 'Ґанок, їжак, європейський'],
    ['greek', 'Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.'],
    ['arabic', 'اللغة العربية جميلة جدا'],
    ['hebrew', 'עברית היא שפה שמית'],
    ['hindi', 'हिन्दी एक भारतीय भाषा है।'],
    ['bengali', 'আমি বাংলায় গান গাই'],
    ['tamil', 'தமிழ் ஒரு மொழி'],
    ['chinese_simplified', '我们今天去公园散步，天气很好。'],
    ['chinese_traditional', '臺灣的繁體中文與簡體不同。'],
    ['japanese_mixed', 'ひらがなとカタカナと漢字を混ぜた文章です。'],
    ['japanese_halfwidth', 'ﾊﾝｶｸｶﾀｶﾅ ｱｲｳ'],
    ['korean', '한국어는 아름다운 언어입니다.'],
    ['thai', 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ'],
    ['georgian', 'ქართული ენა'],
    ['armenian', 'Հայերեն լեզու'],
    ['amharic', 'አማርኛ ቋንቋ'],
    ['mixed_scripts', 'English, Русский, 中文, العربية, हिन्दी in one line'],
    // emoji
    ['emoji_single', '😀'],
    ['emoji_skin', '👍🏽 👋🏿 🤝🏻'],
    ['emoji_family_zwj', '👨‍👩‍👧‍👦'],
    ['emoji_rainbow_flag', '🏳️‍🌈'],
    ['emoji_flags', '🇫🇷🇯🇵🇺🇸'],
    ['emoji_heart_vs', '❤️ ♥ ❤'],
    ['emoji_keycap', '1️⃣ #️⃣'],
    ['emoji_technologist', '🧑🏿‍💻 working'],
    ['emoji_run', '🍕🍣🍦🎉🎉🎉'],
    ['emoji_text', 'I love it!!! 😂😂 so funny'],
    // combining marks and odd code points
    ['combining_acute', 'e\u0301 vs é'],
    ['combining_stack', 'a\u0308\u0304 o\u0328\u0301'],
    ['zalgo', 'Z\u0324\u0354\u0367\u0311a\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u0317\u031a\u030co'],
    ['decomposed_n', 'n\u0303o'],
    ['hangul_jamo', '\u1100\u1161\u11a8'],
    ['control_chars', 'bell\u0007 esc\u001b[31mred\u001b[0m nul\u0000end'],
    ['del_char', 'a\u007fb'],
    ['private_use', '\ue000\uf8ff'],
    ['unassigned', 'x\u0378y'],
    ['math_alnum', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝'],
    ['cjk_ext_b', '𠜎𠜱𠝹'],
    ['math_symbols', '∑∫√∞≠≤≥ ∀x∈ℝ'],
    ['box_drawing', '┌─┐│└─┘'],
    ['music_hieroglyph', '𝄞 𓀀'],
    ['replacement_char', 'bad \ufffd char'],
    ['soft_hyphen', 'co\u00adoperate'],
    // special-token text
    ['im_start_text', '<|im_start|>user\nhi<|im_end|>'],
    ['im_start_mid', 'Hello <|im_start|> there'],
    ['im_end_glued', 'a<|im_end|>b'],
    ['im_start_twice', '<|im_start|><|im_start|>'],
    ['endoftext', 'The end.<|endoftext|>Next doc'],
    ['start_of_turn_mid', 'Hello <start_of_turn>user there'],
    ['gemma_turns', '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n'],
    ['bos_text', '<bos>'],
    ['eos_text', 'done<eos>'],
    ['pad_unk_mask', '<pad><unk><mask>'],
    ['unused_text', '<unused0> <unused99>'],
    ['image_tokens', '<start_of_image><end_of_image>'],
    ['multimodal', '[multimodal]'],
    ['spaced_special', ' <|im_start|> '],
    ['partial_special', '<|im_start im_start|> <start_of_turn'],
    ['repo_tokens', '<repo_name>gguf64<file_sep>src/lib.rs<filename>'],
    ['html_like', '<s> </s> <b>bold</b>'],
    // byte-token look-alikes
    ['byte_token_text', '<0x41>'],
    ['byte_tokens_text', '<0xFF><0x00><0x0A>'],
    ['byte_token_mid', 'x<0x41>y'],
    // long inputs
    ['long_word', 'a'.repeat(300)],
    ['long_repeat', 'na'.repeat(120) + ' Batman!'],
    ['mixed_5k', mixedParagraph()],
    // sentences
    ['sentence', 'The quick brown fox jumps over the lazy dog.'],
    ['sentence_caps', 'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG'],
    ['sentence_newlines', 'First line.\nSecond line.\n\nThird paragraph.'],
    ['question', 'What is the capital of France?'],
    ['dialogue', 'User: hi\nAssistant: Hello! How can I help?\n'],
    ['list', '1. one\n2. two\n3. three'],
    ['table', '| a | b |\n|---|---|\n| 1 | 2 |'],
    ['hashtags', '#AI @user $TSLA'],
    ['camel_snake', 'camelCaseName snake_case_name SCREAMING_CASE kebab-case'],
    ['mixed_case_word', 'iPhone eBay McDonald'],
  ];
  const all = [...fromPrompts, ...cases];
  const names = new Set(all.map(([n]) => n));
  check(names.size === all.length, 'corpus names are not unique');
  return all;
}

// ---------------------------------------------------------------------------------------------
// Reference data

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The attribute of every id, run-length coded. */
function attributeRuns(addon, nVocab) {
  const runs = [];
  for (let id = 0; id < nVocab; id++) {
    const attr = addon.getTokenAttributes(id);
    const last = runs[runs.length - 1];
    if (last && last[2] === attr && last[0] + last[1] === id) last[1]++;
    else runs.push([id, 1, attr]);
  }
  return runs;
}

/** SHA-256 over (u32 LE length, UTF-8 bytes) of every token's piece, and a sample of pieces. */
function pieces(model, nVocab) {
  const hashes = { special: createHash('sha256'), plain: createHash('sha256') };
  const sample = [];
  for (let id = 0; id < nVocab; id++) {
    const entry = [id];
    for (const special of [true, false]) {
      const piece = model.detokenize([id], special);
      const bytes = Buffer.from(piece, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length);
      hashes[special ? 'special' : 'plain'].update(len).update(bytes);
      entry.push(piece);
    }
    if (id < 600 || id % PIECE_SAMPLE_STRIDE === 0 || id === nVocab - 1) sample.push(entry);
  }
  return { sha256: { special: hashes.special.digest('hex'), plain: hashes.plain.digest('hex') }, sample };
}

function caseFor(model, name, text) {
  const ids = model.tokenize(text, false);
  const special = model.tokenize(text, true);
  const detok = model.detokenize(ids, false);
  return {
    name,
    text,
    ids,
    ids_special: sameIds(ids, special) ? null : special,
    detok,
    detok_special: model.detokenize(special, true),
    roundtrip: detok === text,
  };
}

function chatCases(model, stem) {
  const path = join(GOLDEN_DIR, `${stem}.chat.json`);
  check(existsSync(path), `${path} is missing: run tools/golden/chat_golden.py first`);
  const chat = JSON.parse(readFileSync(path, 'utf8'));
  return chat.cases
    .filter((c) => typeof c.prompt_text === 'string')
    .map((c) => ({
      name: c.name,
      prompt_text: c.prompt_text,
      ids_special: model.tokenize(c.prompt_text, true),
      rendered_ids_special: model.tokenize(c.rendered, true),
    }));
}

async function reference(llama, modelPath, stem) {
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  try {
    const addon = model._model;
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    check(Number.isInteger(nVocab) && nVocab > 0, 'no tokenizer.ggml.tokens');
    const eog = [];
    for (let id = 0; id < nVocab; id++) if (addon.isEogToken(id)) eog.push(id);
    const t = model.tokens;
    return {
      about:
        'Token ids from llama.cpp (tools/golden/llamacpp-tokens.mjs): ids = llama_tokenize(add_special=false, ' +
        'parse_special=false); ids_special with parse_special=true (null when equal); detok = ' +
        'llama_detokenize(ids, remove_special=false, unparse_special=false); detok_special from ids_special ' +
        'with unparse_special=true. add_special=true puts bos first when add_bos, eos last when add_eos.',
      llama_cpp: LLAMA_CPP,
      model: stem,
      n_vocab: nVocab,
      bos: t.bos,
      eos: t.eos,
      eot: t.eot,
      nl: t.nl,
      sep: t.sep,
      add_bos: addon.shouldPrependBosToken(),
      add_eos: addon.shouldAppendEosToken(),
      eog,
      attrs: attributeRuns(addon, nVocab),
      pieces: pieces(model, nVocab),
      cases: corpus().map(([name, text]) => caseFor(model, name, text)),
      chat: chatCases(model, stem),
    };
  } finally {
    await model.dispose();
  }
}

/** JSON with one case, chat case or piece per line, so diffs stay readable. */
function format(ref) {
  const { attrs, pieces: p, cases, chat, ...head } = ref;
  const headJson = JSON.stringify(head, null, 1).slice(0, -2);
  const lines = (xs) => xs.map((x) => '  ' + JSON.stringify(x)).join(',\n');
  return (
    `${headJson},\n "attrs": ${JSON.stringify(attrs)},\n` +
    ` "pieces_sha256": ${JSON.stringify(p.sha256)},\n` +
    ` "pieces_sample": [\n${lines(p.sample)}\n ],\n` +
    ` "cases": [\n${lines(cases)}\n ],\n` +
    ` "chat": [\n${lines(chat)}\n ]\n}\n`
  );
}

async function main(argv) {
  const jobs =
    argv.length === 2
      ? [[argv[0], argv[1], argv[0].replace(/^.*\//, '').replace(/\.gguf$/, '')]]
      : argv.length === 0
        ? MODELS.map((m) => [join(ROOT, 'models', `${m}.gguf`), join(GOLDEN_DIR, `${m}.tokens.json`), m])
        : null;
  if (jobs === null) {
    console.error('usage: node tools/golden/llamacpp-tokens.mjs [<file.gguf> <out.json>]');
    process.exit(2);
  }
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  try {
    for (const [modelPath, out, stem] of jobs) {
      const t0 = performance.now();
      const ref = await reference(llama, modelPath, stem);
      const text = format(ref);
      JSON.parse(text); // the hand-joined layout is valid JSON
      writeFileSync(out, text);
      const ms = Math.round(performance.now() - t0);
      console.log(`wrote ${out}: ${ref.cases.length} strings, ${ref.chat.length} chat cases (${ms} ms)`);
    }
  } finally {
    await llama.dispose();
  }
}

await main(process.argv.slice(2));
