// Headless Debian Chromium or Firefox ESR driven by playwright-core, with the flags this machine
// kind needs and a fresh profile per launch. Never downloads a browser.
//
// The browser is chosen by GGUF64_BROWSER (`chromium`, the default, or `firefox`), so every test
// and tool runs unchanged in either. Chromium is driven over CDP; Firefox over WebDriver BiDi
// (playwright-core's `moz-firefox` channel drives a stock, unpatched Firefox that way).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, firefox } from 'playwright-core';

import { projectMounts, startServer } from '../dev/serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** `chromium` or `firefox`: the browser this process tests in. */
export const BROWSER = process.env.GGUF64_BROWSER ?? 'chromium';
if (!['chromium', 'firefox'].includes(BROWSER)) throw new Error(`GGUF64_BROWSER must be chromium or firefox, not ${BROWSER}`);

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** What the browser executable says it is (`--version`). */
export function browserVersion(browser = BROWSER) {
  const out = execFileSync(browser === 'firefox' ? FIREFOX : CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.trim().replace(/ built on .*$/, '');
}

/** `/proc/<pid>/<file>` as text, or '' where unreadable. */
const procText = (pid, file) => readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '');

/** The pids of the processes that hold this profile's pages: Chromium's renderers, Firefox's content processes. */
async function pageProcesses(profile, browser) {
  const pids = (await readdir('/proc').catch(() => [])).filter((pid) => /^\d+$/.test(pid));
  const cmdlines = new Map(await Promise.all(pids.map(async (pid) => [pid, await procText(pid, 'cmdline')])));
  if (browser === 'chromium') return pids.filter((pid) => cmdlines.get(pid).includes('--type=renderer') && cmdlines.get(pid).includes(profile));
  // Firefox: content processes do not name the profile; they descend (through its fork server)
  // from the process that does.
  const parentOf = new Map(await Promise.all(pids.map(async (pid) => [pid, /PPid:\s+(\d+)/.exec(await procText(pid, 'status'))?.[1]])));
  const roots = new Set(pids.filter((pid) => cmdlines.get(pid).includes(profile) && !cmdlines.get(pid).includes('-contentproc')));
  const descends = (pid) => {
    for (let p = parentOf.get(pid), depth = 0; p && depth < 8; p = parentOf.get(p), depth++) if (roots.has(p)) return true;
    return false;
  };
  return pids.filter((pid) => cmdlines.get(pid).includes('-isForBrowser') && descends(pid));
}

/** A field (in kB) of /proc/<pid>/status of every process holding this profile's pages, in bytes. */
async function rendererStatus(profile, field, browser) {
  const values = [];
  for (const pid of await pageProcesses(profile, browser)) {
    const status = await procText(pid, 'status');
    values.push(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024);
  }
  return values;
}

/**
 * The peak resident set (VmHWM) of this profile's largest renderer process (the page's), in
 * bytes: what the OS reports for its memory, wasm memories included. Linux only; 0 where unreadable.
 */
export async function rendererPeakBytes(profile, browser = BROWSER) {
  return Math.max(0, ...(await rendererStatus(profile, 'VmHWM', browser)));
}

/** The current resident set (VmRSS) of this profile's largest renderer (the page's), in bytes. */
export async function rendererRssBytes(profile, browser = BROWSER) {
  return Math.max(0, ...(await rendererStatus(profile, 'VmRSS', browser)));
}

/**
 * Starts the project's static server and the headless browser with a fresh profile (or the one
 * in `profileDir`, kept afterwards: its cache survives between runs).
 * `browser` overrides GGUF64_BROWSER; `firefoxPrefs` are preferences for a Firefox profile;
 * `isolated` serves every file with COOP/COEP headers (a cross-origin isolated page).
 * @param {{ extraMounts?: Array<[string, string]>, profileDir?: string, port?: number, firefoxPrefs?: object, isolated?: boolean }} [options]
 * @returns {Promise<{ server: { url: string }, context: import('playwright-core').BrowserContext, close(): Promise<void> }>}
 */
export async function launch({ extraMounts = [], profileDir, port = 0, firefoxPrefs = {}, browser = BROWSER, isolated = false } = {}) {
  const server = await startServer({ port, mounts: [...projectMounts(), ...extraMounts], isolated });
  const profile = profileDir ? path.resolve(profileDir) : await mkdtemp(path.join(os.tmpdir(), `gguf64-${browser}-`));
  if (profileDir) await mkdir(profile, { recursive: true });
  let context;
  try {
    const viewport = { width: 1000, height: 800 };
    context = browser === 'firefox'
      ? await firefox.launchPersistentContext(profile, { channel: 'moz-firefox', executablePath: FIREFOX, headless: true, viewport, firefoxUserPrefs: firefoxPrefs })
      : await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport });
  } catch (err) {
    await server.close();
    if (!profileDir) await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    context,
    profile,
    browser,
    /** e.g. `Chromium 156.0.7704.0` or `Mozilla Firefox 153.8.0esr`, from the executable. */
    browserVersion: browserVersion(browser),
    peakBytes: () => rendererPeakBytes(profile, browser),
    rssBytes: () => rendererRssBytes(profile, browser),
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
