// End to end: the demo page (as `npm start` serves it) streams the default model and shows its facts.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launch } from '../../tools/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let session;

before(async () => { session = await launch(); });
after(async () => { await session?.close(); });

test('the demo loads SmolLM2 and shows architecture, layers, tensors and bytes', async () => {
  const page = await session.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  await page.goto(`${session.server.url}/`);
  await page.waitForSelector('body[data-state]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'loaded', await page.textContent('#status'));
  const facts = Object.fromEntries(await page.$$eval('#facts dt', (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  assert.equal(facts.Architecture, 'llama');
  assert.equal(facts.Layers, '30');
  assert.equal(facts.Tensors, '272');
  assert.match(facts['File size'], /98,362,432 bytes/);
  assert.match(facts.Build, /wasm64/);
  await mkdir(path.join(ROOT, 'results'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'results/demo.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
