// Headless Debian Chromium driven by playwright-core, with the flags this machine kind needs and
// a fresh profile per launch. Never downloads a browser.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { projectMounts, startServer } from './serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Starts the project's static server and a headless Chromium with a fresh profile.
 * @param {{ extraMounts?: Array<[string, string]> }} [options]
 * @returns {Promise<{ server: { url: string }, context: import('playwright-core').BrowserContext, close(): Promise<void> }>}
 */
export async function launch({ extraMounts = [] } = {}) {
  const server = await startServer({ port: 0, mounts: [...projectMounts(), ...extraMounts] });
  const profile = await mkdtemp(path.join(os.tmpdir(), 'gguf64-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1000, height: 800 },
    });
  } catch (err) {
    await server.close();
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    context,
    async close() {
      await context.close().catch(() => {});
      await server.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the test harness page (it exposes the public API as `window.gguf64`). */
export async function openHarness(session) {
  const page = await session.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  await page.goto(`${session.server.url}/tests/browser/harness.html`);
  await page.waitForFunction(() => window.gguf64Ready === true);
  return { page, errors };
}
