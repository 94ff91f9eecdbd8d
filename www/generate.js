// The prompt box: a conversation with the model (its own chat template, every earlier turn sent
// again so the KV cache reuses what it already holds), or plain text completion; streams each
// reply into the page with its speed, and stops it.

import { $, explain } from './format.js';

let controller;

/** Earlier turns of the conversation: `{ role, content }`, oldest first. */
const history = [];

/** The sampling settings from the form. */
function settings() {
  const number = (id) => Number($(id).value);
  return {
    temperature: number('temperature'),
    topK: number('top-k'),
    topP: number('top-p'),
    maxTokens: Math.max(1, Math.round(number('max-tokens'))),
  };
}

function busy(on) {
  $('generate').disabled = on;
  $('new-chat').disabled = on;
  $('stop').disabled = !on;
}

/** One finished turn in the transcript. */
function showTurn(role, content) {
  const turn = document.createElement('div');
  turn.className = `turn ${role}`;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = role === 'user' ? 'you' : 'model';
  const text = document.createElement('div');
  text.textContent = content;
  turn.append(who, text);
  $('transcript').append(turn);
  $('transcript').hidden = false;
}

/**
 * Moves the last exchange (the user's message above the reply, and the reply in `#output`) into
 * the transcript, so `#output` holds only the reply being generated.
 */
function archiveLastExchange() {
  const shown = $('transcript').querySelectorAll('.turn').length;
  for (const m of history.slice(shown)) showTurn(m.role, m.content);
  $('asked').hidden = true;
  $('output').textContent = '';
}

/** Forgets the conversation (the model keeps its KV cache; the next prompt simply shares less of it). */
export function newChat() {
  history.length = 0;
  $('transcript').replaceChildren();
  $('transcript').hidden = true;
  $('asked').hidden = true;
  $('output').textContent = '';
  $('gen-status').textContent = '';
}

/** Generates from the prompt box with `model`, writing pieces as they come. */
export async function generateInto(model) {
  const chat = $('chat').checked;
  const text = $('prompt').value;
  if (!chat) newChat();
  archiveLastExchange();
  const messages = [...history, { role: 'user', content: text }];
  if (chat) {
    $('asked').textContent = text;
    $('asked').hidden = false;
  }
  controller = new AbortController();
  busy(true);
  document.body.dataset.gen = 'running';
  $('gen-status').classList.remove('error');
  $('gen-status').textContent = 'evaluating the prompt…';
  const started = performance.now();
  let firstAt = 0;
  let pieces = 0;
  try {
    for await (const piece of model.generate(chat ? messages : text, { ...settings(), signal: controller.signal })) {
      firstAt ||= performance.now();
      pieces += 1;
      $('output').append(piece);
      const seconds = (performance.now() - firstAt) / 1000;
      if (seconds > 0) $('gen-status').textContent = `${pieces} pieces · ${(pieces / seconds).toFixed(1)} tokens/s`;
    }
    const g = model.lastGeneration;
    if (chat) history.push(messages.at(-1), { role: 'assistant', content: g.text });
    const why = { length: 'max tokens reached', end_of_generation: 'end of text', stop_string: 'stop string', context_full: 'context full', aborted: 'stopped' }[g.finish] ?? g.finish;
    const reused = g.reusedTokens ? ` (+${g.reusedTokens} reused from the cache)` : '';
    $('gen-status').textContent = `${g.outputIds.length} tokens · prompt ${g.promptTokens} tokens${reused} at ${g.promptTokS.toFixed(1)} tokens/s · `
      + `generation ${g.decodeTokS.toFixed(1)} tokens/s · ${why} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
    if (chat) $('prompt').value = '';
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
