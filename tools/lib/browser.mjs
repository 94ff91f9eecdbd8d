// Headless Debian Chromium driven by playwright-core, with the flags this machine kind needs and
// a fresh profile per launch. Never downloads a browser.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { projectMounts, startServer } from '../dev/serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A field (in kB) of /proc/<pid>/status of every renderer process of this profile, in bytes. */
async function rendererStatus(profile, field) {
  const values = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('--type=renderer') || !cmdline.includes(profile)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    values.push(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024);
  }
  return values;
}

/**
 * The peak resident set (VmHWM) of this profile's largest renderer process (the page's), in
 * bytes: what the OS reports for its memory, wasm memories included. Linux only; 0 where unreadable.
 */
export async function rendererPeakBytes(profile) {
  return Math.max(0, ...(await rendererStatus(profile, 'VmHWM')));
}

/** The current resident set (VmRSS) of this profile's largest renderer (the page's), in bytes. */
export async function rendererRssBytes(profile) {
  return Math.max(0, ...(await rendererStatus(profile, 'VmRSS')));
}

/**
 * Starts the project's static server and a headless Chromium with a fresh profile (or the one
 * in `profileDir`, kept afterwards: its cache survives between runs).
 * @param {{ extraMounts?: Array<[string, string]>, profileDir?: string }} [options]
 * @returns {Promise<{ server: { url: string }, context: import('playwright-core').BrowserContext, close(): Promise<void> }>}
 */
export async function launch({ extraMounts = [], profileDir, port = 0 } = {}) {
  const server = await startServer({ port, mounts: [...projectMounts(), ...extraMounts] });
  const profile = profileDir ? path.resolve(profileDir) : await mkdtemp(path.join(os.tmpdir(), 'gguf64-chromium-'));
  if (profileDir) await mkdir(profile, { recursive: true });
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1000, height: 800 },
    });
  } catch (err) {
    await server.close();
    if (!profileDir) await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    context,
    profile,
    peakBytes: () => rendererPeakBytes(profile),
    rssBytes: () => rendererRssBytes(profile),
    async close() {
      await context.close().catch(() => {});
      await server.close();
      if (!profileDir) await rm(profile, { recursive: true, force: true });
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
