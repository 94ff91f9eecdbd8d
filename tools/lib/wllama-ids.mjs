// The token ids wllama generated, rebuilt from its streamed text.
//
// wllama 3.x has no tokenize/detokenize call, and its only way to return generated ids (logprobs)
// aborts the request when a token is not valid UTF-8 on its own (a byte or part of a character:
// nlohmann::json refuses to serialise it), which happens in Japanese and emoji text. Its stream does
// work: each chunk carries the text that became complete and, with `timings_per_token`, the count
// of tokens generated so far. So a chunk is a group of k tokens whose bytes are known; the ids are
// the ways to cut those bytes into k vocabulary entries. Most groups have one way; the others, and
// the end-of-generation token (it has no text), are settled by banning a candidate id and seeing
// whether the stream changes (see settle() in wllama-driver.mjs).

const SPACE = '\u2581'; // SentencePiece's visible space

/** GPT-2 byte-level BPE: the character each byte is written as in the vocabulary, inverted. */
function gpt2CharToByte() {
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = new Map();
  let next = 256;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : next++), b);
  return map;
}

/** Token types of GGUF's tokenizer.ggml.token_type. */
const TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };

/** The bytes llama.cpp prints for one token (special tokens excluded: null), as a latin1 string. */
function tokenBytes(text, type, model, charToByte) {
  const utf8 = (s) => Buffer.from(s, 'utf8').toString('latin1');
  if (type === TYPE.USER_DEFINED) return utf8(text);
  if (type === TYPE.BYTE) return String.fromCharCode(Number.parseInt(text.slice(3, -1), 16));
  if (type !== TYPE.NORMAL) return null;
  if (model === 'gpt2') return [...text].map((c) => String.fromCharCode(charToByte.get(c) ?? 0)).join('');
  if (model === 'llama') return utf8(text.replaceAll(SPACE, ' '));
  throw new Error(`tokenizer model ${model} is not handled`);
}

/**
 * The vocabulary of a model as bytes -> ids, from its GGUF metadata (node-llama-cpp's
 * `model.fileInfo.metadata`). Tokens with no printed text (control, unused) are left out. Where a
 * byte-fallback token (`<0x2C>`) prints the same as another token (`,`), only the other is kept and
 * `shadowed` maps it to the byte token: the model next to never picks the byte token, and the
 * caller checks that by banning it (generatedIds in wllama-driver.mjs).
 * @returns {{ ids: Map<string, number[]>, longest: number, shadowed: Map<number, number[]> }}
 */
export function vocabularyBytes(metadata) {
  const { model, tokens, token_type: types } = metadata.tokenizer.ggml;
  const charToByte = gpt2CharToByte();
  const all = new Map();
  tokens.forEach((text, id) => {
    const type = types?.[id] ?? TYPE.NORMAL;
    const bytes = tokenBytes(text, type, model, charToByte);
    if (bytes !== null && bytes.length > 0) all.set(bytes, [...(all.get(bytes) ?? []), { id, byte: type === TYPE.BYTE }]);
  });
  const ids = new Map();
  const shadowed = new Map();
  let longest = 0;
  for (const [bytes, entries] of all) {
    const words = entries.filter((e) => !e.byte).map((e) => e.id);
    const byteIds = entries.filter((e) => e.byte).map((e) => e.id);
    ids.set(bytes, words.length > 0 ? words : byteIds);
    if (words.length > 0 && byteIds.length > 0) words.forEach((id) => shadowed.set(id, byteIds));
    longest = Math.max(longest, bytes.length);
  }
  return { ids, longest, shadowed };
}

/**
 * Every way (up to `limit`) to cut `bytes` (a latin1 string) into exactly `count` vocabulary
 * entries, as lists of ids.
 */
export function cuts(bytes, count, vocab, limit = 16) {
  const found = [];
  const walk = (at, left, prefix) => {
    if (found.length >= limit) return;
    if (left === 0) {
      if (at === bytes.length) found.push(prefix);
      return;
    }
    const rest = bytes.length - at;
    if (rest < left) return; // every entry has at least one byte
    for (let len = 1; len <= Math.min(vocab.longest, rest - (left - 1)); len++) {
      for (const id of vocab.ids.get(bytes.slice(at, at + len)) ?? []) walk(at + len, left - 1, [...prefix, id]);
    }
  };
  walk(0, count, []);
  return found;
}

/**
 * Stream chunks (`{ text, n }`, n = tokens generated so far) as groups of tokens:
 * `{ bytes, count }` with the group's text as a latin1 string of its UTF-8 bytes.
 */
export function groupsOf(chunks) {
  const groups = [];
  let seen = 0;
  let text = '';
  for (const chunk of chunks) {
    text += chunk.text ?? '';
    if (chunk.n > seen) {
      groups.push({ bytes: Buffer.from(text, 'utf8').toString('latin1'), count: chunk.n - seen });
      seen = chunk.n;
      text = '';
    }
  }
  if (text !== '') throw new Error('text arrived after the last token count');
  return groups;
}

/** Whether two group lists agree on their first `n` groups. */
export function sameGroups(a, b, n) {
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a[i].bytes !== b[i].bytes || a[i].count !== b[i].count) return false;
  return true;
}
