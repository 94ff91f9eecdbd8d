// The prompt box: streams a model's generated text into the page with its speed, and stops it.

import { $, explain } from './format.js';

let controller;

/** The sampling settings from the form. */
function settings() {
  const number = (id) => Number($(id).value);
  return {
    temperature: number('temperature'),
    topK: number('top-k'),
    topP: number('top-p'),
    maxTokens: Math.max(1, Math.round(number('max-tokens'))),
    chat: $('chat').checked,
  };
}

function busy(on) {
  $('generate').disabled = on;
  $('stop').disabled = !on;
}

/** Generates from the prompt box with `model`, writing pieces as they come. */
export async function generateInto(model) {
  controller = new AbortController();
  busy(true);
  document.body.dataset.gen = 'running';
  $('output').textContent = '';
  $('gen-status').classList.remove('error');
  $('gen-status').textContent = 'evaluating the prompt…';
  const started = performance.now();
  let firstAt = 0;
  let pieces = 0;
  try {
    for await (const piece of model.generate($('prompt').value, { ...settings(), signal: controller.signal })) {
      firstAt ||= performance.now();
      pieces += 1;
      $('output').append(piece);
      const seconds = (performance.now() - firstAt) / 1000;
      if (seconds > 0) $('gen-status').textContent = `${pieces} pieces · ${(pieces / seconds).toFixed(1)} tokens/s`;
    }
    const g = model.lastGeneration;
    const why = { length: 'max tokens reached', end_of_generation: 'end of text', stop_string: 'stop string', context_full: 'context full', aborted: 'stopped' }[g.finish] ?? g.finish;
    $('gen-status').textContent = `${g.outputIds.length} tokens · prompt ${g.promptTokens} tokens at ${g.promptTokS.toFixed(1)} tokens/s · `
      + `generation ${g.decodeTokS.toFixed(1)} tokens/s · ${why} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
    document.body.dataset.gen = 'done';
  } catch (err) {
    $('gen-status').textContent = explain(err);
    $('gen-status').classList.add('error');
    document.body.dataset.gen = 'error';
  } finally {
    busy(false);
  }
}

/** Stops the running generation after its current token. */
export function stopGeneration() {
  controller?.abort();
}
