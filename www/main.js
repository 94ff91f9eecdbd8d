// The demo page: stream a GGUF model into WebAssembly memory and show what it holds.
import './index.html';
import { detectFeatures, loadModel } from 'gguf64';

const DEFAULT_MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const $ = (id) => document.getElementById(id);

const MB = 1e6;
const formatBytes = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / MB).toFixed(1)} MB`);

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

function onProgress(p) {
  const fraction = p.bytesTotal ? p.bytesLoaded / p.bytesTotal : 0;
  $('bar').style.width = `${(fraction * 100).toFixed(1)}%`;
  const total = p.bytesTotal ? ` of ${formatBytes(p.bytesTotal)}` : '';
  const phase = { header: 'reading header', data: 'streaming weights', done: 'done' }[p.phase] ?? p.phase;
  setStatus(`${phase}: ${formatBytes(p.bytesLoaded)}${total} · ${p.mbPerSec.toFixed(0)} MB/s`);
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
  $('bar').style.width = '0';
  try {
    current = await loadModel(source, { onProgress, signal: controller.signal });
    showFacts(current.info);
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
