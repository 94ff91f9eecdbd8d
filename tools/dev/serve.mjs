#!/usr/bin/env node
// A small static file server for the demo, the tests and the headless runner: 127.0.0.1 only,
// byte ranges (206 / 416), ETag and Last-Modified, CORS, and the right type for .wasm.
//
//   node tools/dev/serve.mjs --demo                 the demo at http://127.0.0.1:8080
//   node tools/dev/serve.mjs --port 0 --mount /=dir  (as a module: startServer({ port, mounts }))

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.gguf': 'application/octet-stream', '.map': 'application/json',
};

/** Parses a single `bytes=a-b` range against a file of `size` bytes; null if absent, 'bad' if unsatisfiable. */
export function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start;
  let end;
  if (m[1] === '') { // suffix: the last N bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : 'bad';
}

/** Maps a URL path to a file under one of the mounts, refusing anything that escapes it. */
function resolvePath(mounts, urlPath) {
  const decoded = decodeURIComponent(urlPath);
  const mount = mounts
    .filter(([prefix]) => decoded === prefix.replace(/\/$/, '') || decoded.startsWith(prefix))
    .sort((a, b) => b[0].length - a[0].length)[0];
  if (!mount) return null;
  const [prefix, dir] = mount;
  const rel = decoded.slice(prefix.length).replace(/^\/+/, '');
  const file = path.resolve(dir, rel || 'index.html');
  return file === dir || file.startsWith(dir + path.sep) ? file : null;
}

async function handle(mounts, req, res, isolated) {
  if (isolated) {
    // Cross-origin isolation (SharedArrayBuffer, the threads' shared-memory transport).
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  }
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-Range');
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  let file = resolvePath(mounts, new URL(req.url, 'http://x').pathname);
  let info = file && await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    file = path.join(file, 'index.html');
    info = await stat(file).catch(() => null);
  }
  if (!info?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  // Test hooks, by query string: `?norange` plays a server without Range support; `?dropAfter=N`
  // cuts the connection after N body bytes (of whole-file answers; with `&dropRanged`, of ranged
  // ones too); `?failRanges` answers 503 to ranged requests (so a resume cannot succeed);
  // `?status=N` answers with that status; `?slowMs=N` waits N ms before each 64 KiB of body;
  // `?stallAfter=N` sends N body bytes of a whole-file answer, then nothing, without closing.
  const query = new URL(req.url, 'http://x').searchParams;
  const ignoreRange = query.has('norange');
  if (query.has('status')) {
    res.writeHead(Number(query.get('status')), { 'Content-Type': 'text/plain' }).end('as asked\n');
    return;
  }
  if (query.has('failRanges') && req.headers.range) {
    res.writeHead(503, { 'Content-Type': 'text/plain' }).end('unavailable\n');
    return;
  }
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', ignoreRange ? 'none' : 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', info.mtime.toUTCString());
  res.setHeader('Cache-Control', 'no-cache');
  const ifRange = req.headers['if-range'];
  const range = ignoreRange || (ifRange && ifRange !== etag) ? null : parseRange(req.headers.range, info.size);
  if (range === 'bad') {
    res.writeHead(416, { 'Content-Range': `bytes */${info.size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  const headers = { 'Content-Length': String(Math.max(0, end - start + 1)) };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || info.size === 0) {
    res.end();
    return;
  }
  const drops = query.has('dropAfter') && (!req.headers.range || query.has('dropRanged'));
  const dropAfter = drops ? Number(query.get('dropAfter')) : Infinity;
  const last = Math.min(end, start + dropAfter - 1);
  const slowMs = Number(query.get('slowMs') ?? 0);
  if (query.has('stallAfter') && !req.headers.range) {
    const stalled = createReadStream(file, { start, end: Math.min(end, start + Number(query.get('stallAfter')) - 1) });
    stalled.on('error', () => res.destroy());
    stalled.pipe(res, { end: false }); // the connection stays open until the client gives up
    return;
  }
  const body = createReadStream(file, { start, end: last, highWaterMark: slowMs ? 1 << 16 : 1 << 20 });
  body.on('error', () => res.destroy());
  res.on('close', () => body.destroy());
  if (last < end) body.on('end', () => res.destroy());
  if (slowMs) {
    // Written by hand, not piped: a pipe resumes the file stream whenever the socket drains.
    (async () => {
      for await (const chunk of body) {
        if (!res.write(chunk)) await once(res, 'drain');
        await new Promise((resolve) => setTimeout(resolve, slowMs));
      }
      if (last >= end) res.end();
      else res.destroy();
    })().catch(() => res.destroy());
    return;
  }
  body.pipe(res, { end: last >= end });
}

/**
 * Starts the server on 127.0.0.1.
 * @param {{ port?: number, mounts: Array<[string, string]> }} options mounts: [urlPrefix, directory]
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export function startServer({ port = 0, mounts, isolated = false }) {
  const resolved = mounts.map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, path.resolve(dir)]);
  const server = http.createServer((req, res) => {
    handle(resolved, req, res, isolated).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`${err.message}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://127.0.0.1:${actual}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

/** The mounts the demo and the tests use: the built demo at /, models, and the package sources. */
export function projectMounts() {
  return [
    ['/', path.join(ROOT, 'dist/www')],
    ['/models/', path.join(ROOT, 'models')],
    ['/src/', path.join(ROOT, 'src')],
    ['/pkg/', path.join(ROOT, 'pkg')],
    ['/tests/', path.join(ROOT, 'tests')],
  ];
}

async function main(argv) {
  const args = { port: 8080, mounts: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--demo') args.mounts.push(...projectMounts());
    else if (argv[i] === '--port') args.port = Number(argv[++i]);
    else if (argv[i] === '--mount') {
      const [prefix, dir] = argv[++i].split('=');
      args.mounts.push([prefix, dir]);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (args.mounts.length === 0) args.mounts.push(...projectMounts());
  const { url } = await startServer(args);
  console.log(`gguf64 demo: ${url}/  (models under ${url}/models/; Ctrl-C stops)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
