// The memory map: one row per WebAssembly memory or the disk tier's file (how full it is, which
// layers it holds, resident or paged), one cell per group that fills as the group's bytes arrive.

import { $, formatBytes } from './format.js';

/** Per-load state: the layout drawn, the bytes landed per memory, where the current group began. */
export class MemoryMap {
  #layout;

  #landedBytes = new Map();

  #lastGroupBytes = 0;

  #groupStart = 0;

  #pending = [];

  /** Draws the rows once the layout is known. */
  draw(layout) {
    this.#layout = layout;
    this.#pending = layout.memories.flatMap((m) => names(m).map((name) => ({ name, memory: m.index })));
    $('map').replaceChildren(...layout.memories.map((m) => this.#row(m)));
    for (const m of layout.memories) this.#labelMemory(m);
    $('log').replaceChildren();
    $('map-section').hidden = false;
  }

  get drawn() {
    return this.#layout !== undefined;
  }

  #row(m) {
    const row = document.createElement('div');
    row.className = 'memory';
    const label = document.createElement('div');
    label.className = 'label';
    label.id = `memory-label-${m.index}`;
    const bar = document.createElement('div');
    bar.className = 'bar thin';
    bar.innerHTML = `<div id="memory-bar-${m.index}"></div>`;
    const cells = document.createElement('div');
    cells.className = 'cells';
    cells.append(...names(m).map((name) => cell(name, m.index !== 0)));
    row.append(label, bar, cells);
    return row;
  }

  #labelMemory(m) {
    const label = document.getElementById(`memory-label-${m.index}`);
    if (!label) return;
    const landed = this.#landedBytes.get(m.index) ?? 0;
    const role = where(m);
    const kind = m.index === 0 ? 'resident' : m.tier === 'disk' ? 'read from disk when used' : 'paged in when used';
    const slots = m.index === 0 && this.#layout.workingSetLayers ? ` · working set of ${this.#layout.workingSetLayers} layer slots` : '';
    label.textContent = `${role} · ${formatBytes(landed)} of ${formatBytes(m.bytes)} · ${m.layers.length} layers ${kind}${slots}`;
    const bar = document.getElementById(`memory-bar-${m.index}`);
    if (bar) bar.style.width = `${Math.min(100, (landed / Math.max(1, m.bytes)) * 100).toFixed(1)}%`;
  }

  /** A group landed: its cell fills, its memory's fill grows, the log says so. */
  landed(group, bytesLoaded) {
    const name = group.kind === 'layer' ? group.layer : group.kind;
    const el = document.getElementById(`cell-${name}`);
    el?.classList.add('landed');
    el?.querySelector('i')?.style.setProperty('width', '100%');
    this.#pending = this.#pending.filter((p) => p.name !== name);
    this.#landedBytes.set(group.memory, (this.#landedBytes.get(group.memory) ?? 0) + group.bytes);
    const memory = this.#layout.memories.find((m) => m.index === group.memory);
    if (memory) this.#labelMemory(memory);
    this.#lastGroupBytes = group.bytes;
    this.#groupStart = bytesLoaded;
    const title = { embeddings: 'Embeddings', output: 'Output norm / LM head' }[group.kind] ?? `Layer ${group.layer}`;
    const line = document.createElement('div');
    line.textContent = `✓ ${title} loaded (${formatBytes(group.bytes)}) → ${memory ? where(memory) : `memory ${group.memory}`}`;
    $('log').append(line);
  }

  /** Keeps the log's last line in view. Once per drawing: reading its height lays the page out. */
  scrollLog() {
    $('log').scrollTop = $('log').scrollHeight;
  }

  /**
   * The group now streaming (the first not landed) fills by the bytes since the last group
   * landed, against the last group's size (layers of a model are alike).
   */
  streaming(bytesLoaded) {
    const next = this.#pending.find((p) => typeof p.name === 'number') ?? this.#pending[0];
    if (!next || !this.#lastGroupBytes) return;
    const fraction = Math.min(0.99, (bytesLoaded - this.#groupStart) / this.#lastGroupBytes);
    document.getElementById(`cell-${next.name}`)?.querySelector('i')?.style.setProperty('width', `${(fraction * 100).toFixed(0)}%`);
    const title = typeof next.name === 'number' ? `layer ${next.name}` : next.name;
    $('layer-line').textContent = `streaming ${title}: about ${(fraction * 100).toFixed(0)}%`;
    $('layer-bar').style.width = `${(fraction * 100).toFixed(1)}%`;
  }

  /** Everything landed. */
  finished(layersDone) {
    $('layer-line').textContent = `all ${layersDone} layers in memory`;
    $('layer-bar').style.width = '100%';
  }
}

/** What a memory of the layout is, by its tier. */
function where(m) {
  if (m.index === 0) return 'main memory';
  return m.tier === 'disk' ? 'disk tier (OPFS file)' : `storage memory ${m.index}`;
}

/** The groups a memory holds, in file order: embeddings, layers, output. */
function names(m) {
  return [...m.holds.filter((h) => h === 'embeddings'), ...m.layers, ...m.holds.filter((h) => h === 'output')];
}

function cell(name, paged) {
  const el = document.createElement('div');
  el.className = paged ? 'cell paged' : 'cell';
  el.id = `cell-${name}`;
  el.title = typeof name === 'number' ? `layer ${name}${paged ? ' (paged)' : ' (resident)'}` : name;
  const fill = document.createElement('i');
  const text = document.createElement('span');
  text.textContent = typeof name === 'number' ? String(name) : name[0].toUpperCase();
  el.append(fill, text);
  return el;
}
