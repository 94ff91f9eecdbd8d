// The multi-memory bridge the crate generates: Chromium validates it, and it copies bytes between
// 64-bit memories at offsets past 4 GiB, both ways, exactly as the TypedArray fallback does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

let session;
let page;
before(async () => {
  session = await launch();
  ({ page } = await openHarness(session));
});
after(() => session?.close());

test('bridge copies between memory64 memories above 4 GiB, both ways, in both kinds', { timeout: 120_000 }, async () => {
  const result = await page.evaluate(async () => {
    const { bindings } = await window.gguf64testing.runtimeFor('wasm64');
    const bytes = bindings.bridgeModule(2);
    const valid = WebAssembly.validate(bytes);
    const GiB = 2 ** 30;
    const pages = (b) => BigInt(Math.ceil(b / 65536));
    const main = new WebAssembly.Memory({ address: 'i64', initial: pages(4.25 * GiB), maximum: pages(5 * GiB) });
    const s1 = new WebAssembly.Memory({ address: 'i64', initial: pages(1 * GiB), maximum: pages(1 * GiB) });
    const s2 = new WebAssembly.Memory({ address: 'i64', initial: pages(4.5 * GiB), maximum: pages(5 * GiB) });
    const out = { valid };
    for (const features of [{ multiMemory: true }, { multiMemory: false }]) {
      const bridge = window.gguf64testing.createBridge(bindings, main, [undefined, s1, s2], features);
      const src = 4 * GiB + 12345; // in s2, past 4 GiB
      const dst = 4 * GiB + 777;   // in main, past 4 GiB
      const len = 3 << 20;
      const pattern = new Uint8Array(len);
      for (let i = 0; i < len; i++) pattern[i] = (i * 31 + 7) & 255;
      new Uint8Array(s2.buffer, src, len).set(pattern);
      bridge.load(2, src, dst, len);
      const landed = new Uint8Array(main.buffer, dst, len).every((b, i) => b === pattern[i]);
      bridge.store(1, dst, 100, len); // main → s1
      const stored = new Uint8Array(s1.buffer, 100, len).every((b, i) => b === pattern[i]);
      new Uint8Array(main.buffer, dst, len).fill(0);
      new Uint8Array(s1.buffer, 100, len).fill(0);
      out[bridge.kind] = { landed, stored };
    }
    return out;
  });
  assert.deepEqual(result, {
    valid: true,
    'multi-memory': { landed: true, stored: true },
    'typed-array': { landed: true, stored: true },
  });
});
