// The demo page: choose a model (URL, local file, or the default), watch it stream into
// WebAssembly memory in a worker (progress per layer and overall, throughput, memory map, cache),
// then generate text from a prompt.
import './index.html';
import { cache, detectFeatures, loadModel } from 'gguf64';

import { generateInto, newChat, stopGeneration } from './generate.js';
import { $, explain, formatBytes, groupDigits } from './format.js';
import { MemoryMap } from './map.js';

const DEFAULT_MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';

/** The models `npm start` and the tests fetch into models/ (only the first by default). */
const SERVED_MODELS = [
  { url: DEFAULT_MODEL, label: 'SmolLM2 135M Instruct · llama · Q4_1 · 98 MB' },
  { url: '/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf', label: 'Qwen2.5-Coder 0.5B Instruct · qwen2 · Q4_K_M · 491 MB', fetch: 'qwen2' },
  { url: '/models/gemma-3-270m-q4_k_m.gguf', label: 'Gemma 3 270M · gemma3 · Q4_K_M · 253 MB', fetch: 'gemma3' },
];

/** Lists the served models in the picker (the page never requests a model itself: its worker does). */
function listServedModels() {
  for (const m of SERVED_MODELS) {
    const option = document.createElement('option');
    option.value = m.url;
    option.textContent = m.label;
    $('preset').append(option);
  }
}

/** How to get a served model that is not downloaded yet, if `source` is one. */
function fetchHint(source, err) {
  const m = SERVED_MODELS.find((x) => x.url === source && x.fetch);
  return m && err.code === 'HTTP_STATUS' && err.status === 404 ? ` It is not downloaded yet: run bash tools/dev/fetch-models.sh ${m.fetch}` : '';
}

/** Build and layout settings from the page address, e.g. `?build=wasm32`, `?layout=multi&shardCap=20000000&budget=10000000` or `?memoryLimit=1200000000`. */
function layoutOptions() {
  const q = new URLSearchParams(location.search);
  const number = (key) => (q.has(key) ? Number(q.get(key)) : undefined);
  return { build: q.get('build') ?? 'auto', layout: q.get('layout') ?? 'auto', shardCap: number('shardCap'), memoryBudget: number('budget'), workingSetLayers: number('workingSet'), memoryLimit: number('memoryLimit') };
}

let controller;
let current;
let view;

function showFeatures() {
  const f = detectFeatures();
  const badge = (ok, label) => `<span class="badge ${ok ? 'yes' : 'no'}">${label} ${ok ? '✓' : '✗'}</span>`;
  $('features').innerHTML = badge(f.memory64, 'memory64') + badge(f.multiMemory, 'multi-memory') + badge(f.simd, 'SIMD128');
  if (!f.memory64) {
    $('fallback').hidden = false;
    $('fallback').textContent = 'This browser has no WebAssembly memory64: gguf64 uses its wasm32 build instead, '
      + 'which holds models up to about 2 GB per memory. Everything else works the same.';
  }
  if (!f.simd) {
    $('fallback').hidden = false;
    $('fallback').textContent += ' This browser has no WebAssembly SIMD: gguf64 cannot run here.';
  }
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

/** What the cache holds for a URL, before the load. */
async function showCacheFor(source) {
  if (!cache.available) {
    $('cache').textContent = 'Cache: not available in this browser (no OPFS); every load downloads.';
    return;
  }
  if (typeof source !== 'string') {
    $('cache').textContent = 'Cache: a local file is read directly, not cached.';
    return;
  }
  const href = new URL(source, location.href).href;
  const entry = (await cache.list()).find((e) => e.url === href);
  if (!entry) $('cache').textContent = 'Cache: not cached yet — this load downloads and stores it.';
  else if (entry.complete) $('cache').textContent = `Cache: complete copy stored (${formatBytes(entry.cachedBytes)}) — loads without downloading.`;
  else $('cache').textContent = `Cache: ${formatBytes(entry.cachedBytes)} of ${formatBytes(entry.size ?? 0)} stored — the rest downloads.`;
}

/** Where the bytes came from, and what the cache holds now. */
async function showCacheAfter(source, info) {
  const fromCache = info.cache?.bytesFromCache ?? 0;
  if (fromCache > 0) {
    $('cache').textContent = `Cache: read ${formatBytes(fromCache)} from the cache.`;
    return;
  }
  if (typeof source === 'string' && cache.available) {
    const href = new URL(source, location.href).href;
    const entry = (await cache.list()).find((e) => e.url === href);
    if (entry?.complete) $('cache').textContent = `Cache: downloaded and stored (${formatBytes(entry.cachedBytes)}) — the next load reads it from here.`;
  }
}

/**
 * Load progress on the page, drawn at most once per animation frame: an event only records what
 * changed (the groups that landed, the latest figures), so a burst of events costs the main thread
 * one style and layout pass, not one each, and a hidden tab draws nothing until the end. 'done' is
 * drawn at once. A cancelled view ignores late events (of a load that was replaced or failed).
 */
class ProgressView {
  #map = new MemoryMap();

  #landed = [];

  #latest;

  #frame = 0;

  #cancelled = false;

  /** One progress event from the worker. */
  update(p) {
    if (this.#cancelled) return;
    if (p.phase === 'warning') {
      $('cache').textContent = `Cache: ${p.message}`;
      return;
    }
    if (p.phase === 'resume') {
      setStatus(`connection dropped at byte ${p.offset}; resuming (attempt ${p.attempt})…`);
      return;
    }
    if (p.phase === 'group') this.#landed.push(p);
    else this.#latest = p;
    if (p.phase === 'done') this.flush();
    else this.#frame ||= requestAnimationFrame(() => this.flush());
  }

  /** Draws what changed since the last drawing: the map, the overall bar, the status line. */
  flush() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    if (this.#cancelled) return;
    const map = this.#map;
    const [landed, p] = [this.#landed.splice(0), this.#latest];
    this.#latest = undefined;
    const layout = p?.layout ?? landed[0]?.layout;
    if (!map.drawn && layout) map.draw(layout);
    for (const g of landed) map.landed(g.group, g.bytesLoaded);
    if (p) {
      if (map.drawn) map.streaming(p.bytesLoaded);
      const fraction = p.bytesTotal ? p.bytesLoaded / p.bytesTotal : 0;
      $('bar').style.width = `${(fraction * 100).toFixed(1)}%`;
      const total = p.bytesTotal ? ` of ${formatBytes(p.bytesTotal)}` : '';
      const phase = { header: 'reading header', data: 'streaming weights', done: 'done' }[p.phase] ?? p.phase;
      const layers = p.layersTotal ? ` · layer ${p.layersDone}/${p.layersTotal}` : '';
      setStatus(`${phase}: ${formatBytes(p.bytesLoaded)}${total} (${(fraction * 100).toFixed(0)}%)${layers} · ${p.mbPerSec.toFixed(0)} MB/s`);
      if (p.phase === 'done') map.finished(p.layersDone);
    }
    if (landed.length) map.scrollLog(); // last: one layout for all the writes above
  }

  /** Draws nothing more: the load ended in an error, or another load replaced it. */
  cancel() {
    this.#cancelled = true;
    cancelAnimationFrame(this.#frame);
  }
}

/** "2 (shared memory)", "1", or "1 of 3 asked (the heads do not divide)". */
function threadsFact({ threads, requested, transport }) {
  const how = transport ? ` (${transport.replace('-', ' ')})` : '';
  const fewer = requested > threads ? `, ${requested} asked: the model's heads do not divide further` : '';
  return `${threads}${how}${fewer}`;
}

function showFacts(info) {
  const fromCache = info.cache?.bytesFromCache ?? 0;
  const facts = [
    ['Name', info.name ?? '—'],
    ['Architecture', info.arch ?? '—'],
    ['Layers', info.nLayers ?? '—'],
    ['Tensors', info.nTensors],
    ['File size', `${formatBytes(info.fileBytes)} (${groupDigits(info.fileBytes)} bytes)`],
    ['GGUF version', info.ggufVersion],
    ['Build', info.build === 'wasm64' ? 'wasm64 (memory64)' : 'wasm32 (fallback)'],
    ['Layout', `${info.layout.kind}, ${info.layout.memories.length} ${info.layout.memories.length === 1 ? 'memory' : 'memories'}${info.shardBytes ? `, thread 0's shard ${formatBytes(info.shardBytes)}` : ''}`],
    ['Threads', threadsFact(info.parallel)],
    ['Load time', `${(info.loadMs / 1000).toFixed(2)} s (${(info.fileBytes / 1e6 / (info.loadMs / 1000)).toFixed(0)} MB/s)`],
    ['From cache', fromCache ? formatBytes(fromCache) : 'nothing (downloaded)'],
  ];
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = String(v);
    return [dt, dd];
  }));
  $('result').hidden = false;
}

function resetView() {
  $('result').hidden = true;
  $('map-section').hidden = true;
  $('generate-section').hidden = true;
  $('bar').style.width = '0';
  $('layer-bar').style.width = '0';
  $('layer-line').textContent = '';
  delete document.body.dataset.state;
}

async function load(source) {
  performance.mark('gguf64-load'); // the tests measure main-thread tasks from here
  delete document.body.dataset.state;
  controller?.abort();
  stopGeneration();
  const previous = current;
  current = undefined;
  await previous?.unload();
  controller = new AbortController();
  $('load').disabled = true;
  $('abort').disabled = false;
  view?.cancel();
  resetView();
  newChat();
  const progress = new ProgressView();
  view = progress;
  try {
    await showCacheFor(source);
    const threads = $('threads').value === 'auto' ? 'auto' : Number($('threads').value);
    current = await loadModel(source, { ...layoutOptions(), threads, onProgress: (p) => progress.update(p), signal: controller.signal });
    progress.flush();
    showFacts(current.info);
    $('summary').textContent = await current.summary();
    const { threads: n } = current.info.parallel;
    setStatus(`Loaded ${formatBytes(current.info.fileBytes)} into ${current.info.build} memory, ${n === 1 ? 'in a worker' : `split over ${n} worker threads`}.`);
    $('generate-section').hidden = false;
    await showCacheAfter(source, current.info);
    document.body.dataset.state = 'loaded';
  } catch (err) {
    progress.cancel();
    setStatus(explain(err) + fetchHint(source, err), true);
    document.body.dataset.state = 'error';
  } finally {
    $('load').disabled = false;
    $('abort').disabled = true;
  }
}

showFeatures();
listServedModels();
$('url').value = new URLSearchParams(location.search).get('model') ?? DEFAULT_MODEL;
$('load').addEventListener('click', () => load($('url').value.trim()));
$('default').addEventListener('click', () => {
  $('url').value = DEFAULT_MODEL;
  load(DEFAULT_MODEL);
});
$('abort').addEventListener('click', () => controller?.abort());
$('file').addEventListener('change', (e) => e.target.files[0] && load(e.target.files[0]));
$('url').addEventListener('keydown', (e) => e.key === 'Enter' && load($('url').value.trim()));
$('generate').addEventListener('click', () => current && generateInto(current));
$('stop').addEventListener('click', () => stopGeneration());
$('new-chat').addEventListener('click', () => newChat());
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && $('chat').checked && !$('generate').disabled && current) {
    e.preventDefault();
    generateInto(current);
  }
});
$('preset').addEventListener('change', () => {
  const url = $('preset').value;
  if (!url) return;
  $('url').value = url;
  $('preset').value = '';
  load(url);
});
$('clear-cache').addEventListener('click', async () => {
  await cache.clear();
  $('cache').textContent = 'Cache: cleared.';
});
// The default model starts loading after the page's first frame, in a task of its own.
requestAnimationFrame(() => setTimeout(() => load($('url').value.trim())));
