// Drives wllama (llama.cpp compiled to wasm, npm @wllama/wllama) in headless Chromium through
// tools/lib/wllama-page.html: opening the page, loading models, greedy completions with the generated
// token ids, and checking that wllama evaluates a text as exactly llama.cpp's ids.
//
// wllama 3.x ships one wasm build (esm/wasm/wllama.wasm): a shared 64-bit memory (memory64) with
// pthreads. It runs single-threaded in any page; more threads need a cross-origin isolated page
// (COOP/COEP), which openWllamaPage gives by adding the headers to the page's response in the
// browser (the static server is unchanged).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launch } from './browser.mjs';
import { cuts, groupsOf, sameGroups } from './wllama-ids.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WLLAMA_DIR = path.join(ROOT, 'node_modules/@wllama/wllama');
const PAGE = '/tools/lib/wllama-page.html';

/** The installed @wllama/wllama version. */
export async function wllamaVersion() {
  return JSON.parse(await readFile(path.join(WLLAMA_DIR, 'package.json'), 'utf8')).version;
}

// ---------------------------------------------------------------------------------------------
// The wasm build

/** Reads a LEB128 unsigned integer at `at`; returns [value, next offset]. */
function leb(bytes, at) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const b = bytes[at++];
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (!(b & 0x80)) return [value, at];
  }
}

/**
 * What the memory of a wasm file is (imported or defined): `{ memory64, shared }`, from the limits
 * flags (bit 1 shared, bit 2 64-bit). Null if the file has no memory.
 */
export async function wasmMemoryKind(file) {
  const bytes = await readFile(file);
  const name = (at) => { const [n, next] = leb(bytes, at); return next + Number(n); };
  const limits = (flags) => ({ memory64: (flags & 4) !== 0, shared: (flags & 2) !== 0 });
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    at = body + Number(size);
    if (id === 5) return limits(bytes[leb(bytes, body)[1]]);
    if (id !== 2) continue;
    let [count, p] = leb(bytes, body);
    for (; count > 0n; count--) {
      p = name(name(p));
      const kind = bytes[p++];
      if (kind === 2) return limits(bytes[p]);
      if (kind === 0) p = leb(bytes, p)[1];
      else if (kind === 1) p = skipLimits(bytes, p + 1);
      else if (kind === 3) p += 2;
      else p = leb(bytes, p + 1)[1];
    }
  }
  return null;
}

/** Skips a limits record (flags, min, optional max). */
function skipLimits(bytes, at) {
  const flags = bytes[at];
  let p = leb(bytes, at + 1)[1];
  if (flags & 1) p = leb(bytes, p)[1];
  return p;
}

// ---------------------------------------------------------------------------------------------
// The page

/**
 * A headless Chromium with the wllama page open. `isolated` serves the page with COOP/COEP (needed
 * for wllama's pthreads). Local model files are served from their folder under /wllama-model/.
 */
export async function openWllamaPage({ isolated = false, modelDirs = [] } = {}) {
  const mounts = [['/tools/', path.join(ROOT, 'tools')], ['/wllama/', WLLAMA_DIR]];
  modelDirs.forEach((dir, i) => mounts.push([`/wllama-model/${i}/`, dir]));
  const session = await launch({ extraMounts: mounts });
  try {
    if (isolated) {
      await session.context.route(`**${PAGE}`, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, headers: { ...response.headers(),
          'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } });
      });
    }
    const page = await session.context.newPage();
    await page.goto(`${session.server.url}${PAGE}`);
    await page.waitForFunction(() => window.wllamaPageReady === true);
    const urlOf = (file) => {
      const i = modelDirs.indexOf(path.dirname(path.resolve(file)));
      return `${session.server.url}/wllama-model/${i}/${encodeURIComponent(path.basename(file))}`;
    };
    return { session, page, urlOf, close: () => session.close() };
  } catch (err) {
    await session.close();
    throw err;
  }
}

/** Calls one function of `window.wllamaPage` in the page. */
export function call(page, fn, arg) {
  return page.evaluate(([f, a]) => window.wllamaPage[f](a), [fn, arg]);
}

/**
 * Whether wllama evaluates each text as exactly the given ids: loads the model for last-token
 * embeddings and compares the embedding of the text with that of the ids, element by element.
 * @param {Array<{ text: string, ids: number[] }>} cases
 */
export async function tokenizationMatches(page, url, cases) {
  await call(page, 'load', { url, threads: 1, embeddings: true });
  const same = [];
  for (const { text, ids } of cases) {
    const a = await call(page, 'embed', text);
    const b = await call(page, 'embed', ids);
    same.push(a.tokens === ids.length && a.vector.length === b.vector.length && a.vector.every((x, i) => x === b.vector[i]));
  }
  return same;
}

// ---------------------------------------------------------------------------------------------
// Generated ids

/**
 * Settles a group of generated tokens that several cuts of its bytes fit: at the first place the
 * cuts differ, each candidate id (one not generated before) is banned in turn; the one whose ban
 * changes the stream up to this group is the one wllama picked. Null if that is not exactly one.
 */
async function settle(page, request, base, index, options, before) {
  let left = options;
  for (let at = 0; left.length > 1 && at < left[0].length; at++) {
    const candidates = [...new Set(left.map((o) => o[at]))];
    if (candidates.length === 1) continue;
    if (candidates.some((c) => before.includes(c) || left.some((o) => o.indexOf(c) < at && o.includes(c)))) return null;
    const changed = [];
    for (const c of candidates) {
      const run = await call(page, 'stream', { ...request, ban: [...(request.ban ?? []), c] });
      if (!sameGroups(base, groupsOf(run.chunks), index + 1)) changed.push(c);
    }
    if (changed.length !== 1) return null;
    left = left.filter((o) => o[at] === changed[0]);
  }
  return left.length === 1 ? left[0] : null;
}

/**
 * Which end-of-generation id ended the stream: the one whose ban changes it (no other can: the
 * stream ends at the first one). Null if that is not exactly one.
 */
async function settleEog(page, request, base, eog) {
  const all = groupsOf(base.chunks);
  const changed = [];
  for (const c of eog) {
    const run = await call(page, 'stream', { ...request, ban: [...(request.ban ?? []), c] });
    const groups = groupsOf(run.chunks);
    if (run.finish !== base.finish || groups.length !== all.length || !sameGroups(all, groups, all.length)) changed.push(c);
  }
  return changed.length === 1 ? changed[0] : null;
}

/**
 * wllama's greedy completion with the generated ids, rebuilt from the stream (tools/lib/wllama-ids.mjs).
 * Where a picked id prints the same as a byte-fallback token, one more run bans those byte tokens
 * and must give the same stream. `complete` is false if some group could not be settled (`ids`
 * then stop before it) or that check failed.
 * @returns {Promise<{ ids: number[], complete: boolean, text: string, finish: string, promptTokens: number }>}
 */
export async function generatedIds(page, vocab, request) {
  const base = await call(page, 'stream', request);
  const groups = groupsOf(base.chunks);
  const stopped = base.finish === 'stop' && request.ignoreEos === false;
  if (stopped) {
    const last = groups.at(-1);
    last.count -= 1;
    if (last.count === 0 && last.bytes === '') groups.pop();
  }
  const ids = [];
  const result = (complete) => ({ ids, complete, text: base.chunks.map((c) => c.text).join(''), finish: base.finish, promptTokens: base.promptTokens });
  for (let i = 0; i < groups.length; i++) {
    const options = cuts(groups[i].bytes, groups[i].count, vocab);
    const pick = options.length === 1 ? options[0]
      : options.length > 1 ? await settle(page, request, groupsOf(base.chunks), i, options, ids) : null;
    if (pick === null) return result(false);
    ids.push(...pick);
  }
  const shadowed = [...new Set(ids.flatMap((id) => vocab.shadowed.get(id) ?? []))];
  if (shadowed.length > 0) {
    const run = await call(page, 'stream', { ...request, ban: [...(request.ban ?? []), ...shadowed] });
    const all = groupsOf(base.chunks);
    const groups = groupsOf(run.chunks);
    if (run.finish !== base.finish || groups.length !== all.length || !sameGroups(all, groups, all.length)) return result(false);
  }
  if (stopped) {
    const eog = await call(page, 'eogIds');
    const id = eog.length === 1 ? eog[0] : await settleEog(page, request, base, eog);
    if (id === null) return result(false);
    ids.push(id);
  }
  return result(true);
}
