// The demo page: stream a GGUF model into WebAssembly memory and show what it holds.
import './index.html';
import { detectFeatures, loadModel } from 'gguf64';

const DEFAULT_MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const $ = (id) => document.getElementById(id);

const MB = 1e6;
const formatBytes = (n) => {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / MB).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} KB`;
};

/** Layout settings from the page address, e.g. `?layout=multi&shardCap=20000000&budget=10000000`. */
function layoutOptions() {
  const q = new URLSearchParams(location.search);
  const number = (key) => (q.has(key) ? Number(q.get(key)) : undefined);
  return { layout: q.get('layout') ?? 'auto', shardCap: number('shardCap'), memoryBudget: number('budget') };
}

let controller;
let current;

function showFeatures() {
  const f = detectFeatures();
  const badge = (ok, label) => `<span class="badge ${ok ? 'yes' : 'no'}">${label} ${ok ? '✓' : '✗'}</span>`;
  $('features').innerHTML = badge(f.memory64, 'memory64') + badge(f.multiMemory, 'multi-memory') + badge(f.simd, 'SIMD128')
    + (f.memory64 ? '' : ' — no memory64 here: the wasm32 fallback (models up to about 3 GB) is used.');
}

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

/** One row per memory, one cell per group; cells light up as their group lands. */
function drawMap(layout) {
  const rows = layout.memories.map((m) => {
    const row = document.createElement('div');
    row.className = 'memory';
    const label = document.createElement('div');
    label.className = 'label';
    const role = m.index === 0 ? 'main memory' : `storage memory ${m.index}`;
    const slots = m.index === 0 && layout.workingSetLayers ? ` · working set of ${layout.workingSetLayers} layer slots` : '';
    label.textContent = `${role} · ${formatBytes(m.bytes)} · ${m.layers.length} layers resident${slots}`;
    const cells = document.createElement('div');
    cells.className = 'cells';
    const names = [...m.holds.filter((h) => h === 'embeddings'), ...m.layers, ...m.holds.filter((h) => h === 'output')];
    for (const name of names) {
      const cell = document.createElement('div');
      cell.className = 'cell';
      cell.id = `cell-${name}`;
      cell.title = typeof name === 'number' ? `layer ${name}` : name;
      cell.textContent = typeof name === 'number' ? String(name) : name[0].toUpperCase();
      cells.append(cell);
    }
    row.append(label, cells);
    return row;
  });
  $('map').replaceChildren(...rows);
  $('log').replaceChildren();
  $('map-section').hidden = false;
}

/** The seed's log: "Embeddings loaded (30.1 MB)", "Layer 0 loaded (2.2 MB)", "LM head loaded". */
function logGroup(group) {
  const name = { embeddings: 'Embeddings', output: 'Output norm / LM head' }[group.kind] ?? `Layer ${group.layer}`;
  const line = document.createElement('div');
  line.textContent = `✓ ${name} loaded (${formatBytes(group.bytes)}) → memory ${group.memory}`;
  $('log').append(line);
  $('log').scrollTop = $('log').scrollHeight;
  document.getElementById(`cell-${group.kind === 'layer' ? group.layer : group.kind}`)?.classList.add('landed');
}

let drawnLayout = false;

function onProgress(p) {
  if (!drawnLayout && p.layout) {
    drawMap(p.layout);
    drawnLayout = true;
  }
  if (p.phase === 'group') {
    logGroup(p.group);
    return;
  }
  const fraction = p.bytesTotal ? p.bytesLoaded / p.bytesTotal : 0;
  $('bar').style.width = `${(fraction * 100).toFixed(1)}%`;
  const total = p.bytesTotal ? ` of ${formatBytes(p.bytesTotal)}` : '';
  const phase = { header: 'reading header', data: 'streaming weights', done: 'done' }[p.phase] ?? p.phase;
  const layers = p.layersTotal ? ` · layer ${p.layersDone}/${p.layersTotal}` : '';
  setStatus(`${phase}: ${formatBytes(p.bytesLoaded)}${total}${layers} · ${p.mbPerSec.toFixed(0)} MB/s`);
}

function showFacts(info) {
  const facts = [
    ['Name', info.name ?? '—'],
    ['Architecture', info.arch ?? '—'],
    ['Layers', info.nLayers ?? '—'],
    ['Tensors', info.nTensors],
    ['File size', `${formatBytes(info.fileBytes)} (${info.fileBytes.toLocaleString('en')} bytes)`],
    ['GGUF version', info.ggufVersion],
    ['Build', info.build === 'wasm64' ? 'wasm64 (memory64)' : 'wasm32 (fallback)'],
    ['Load time', `${(info.loadMs / 1000).toFixed(2)} s (${(info.fileBytes / MB / (info.loadMs / 1000)).toFixed(0)} MB/s)`],
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

async function load(source) {
  controller?.abort();
  current?.unload();
  current = undefined;
  controller = new AbortController();
  $('load').disabled = true;
  $('abort').disabled = false;
  $('result').hidden = true;
  $('map-section').hidden = true;
  drawnLayout = false;
  $('bar').style.width = '0';
  try {
    current = await loadModel(source, { ...layoutOptions(), onProgress, signal: controller.signal });
    showFacts(current.info);
    $('summary').textContent = await current.summary();
    setStatus(`Loaded ${formatBytes(current.info.fileBytes)} into ${current.info.build} memory.`);
    document.body.dataset.state = 'loaded';
  } catch (err) {
    setStatus(`${err.code ?? 'ERROR'}: ${err.message}`, true);
    document.body.dataset.state = 'error';
  } finally {
    $('load').disabled = false;
    $('abort').disabled = true;
  }
}

showFeatures();
$('url').value = new URLSearchParams(location.search).get('model') ?? DEFAULT_MODEL;
$('load').addEventListener('click', () => load($('url').value.trim()));
$('abort').addEventListener('click', () => controller?.abort());
$('file').addEventListener('change', (e) => e.target.files[0] && load(e.target.files[0]));
$('url').addEventListener('keydown', (e) => e.key === 'Enter' && load($('url').value.trim()));
load($('url').value);
