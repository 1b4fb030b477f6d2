#!/usr/bin/env node
// Static file server for browser tests and benchmarks. Node built-ins only.
//
//   node tools/browser/serve.mjs [--port N] [--coi] [--cache] [--log] [--mount /prefix=DIR]... ROOT
//
// Serves ROOT on http://127.0.0.1:PORT/ (PORT 0, the default, picks a free one) and prints the URL.
//   --coi          send Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy:
//                  require-corp and Cross-Origin-Resource-Policy: same-origin (crossOriginIsolated,
//                  needed for SharedArrayBuffer / wasm threads and measureUserAgentSpecificMemory)
//   --cache        allow caching (default: Cache-Control: no-store, so every run downloads again)
//   --log          print one JSON line per request to stderr
//   --mount P=DIR  serve DIR under the URL prefix P as well (e.g. /nm=out/browser-node/node_modules)
//
// Precompressed files: a request for X from a client whose Accept-Encoding names br (or gzip)
// is answered with X.br (or X.gz) as-is, with Content-Encoding and the Content-Type of X, when that
// file exists. When only X.br / X.gz exists and the client does not accept it, it is decompressed on
// the fly. A request for X.br itself is served as-is (application/octet-stream, no Content-Encoding).
//
// Every request is counted: GET /__stats returns {requests, bodyBytes, rawBytes, log:[...]} where
// bodyBytes is what went over the wire (after Content-Encoding) and rawBytes the decoded size;
// GET /__stats?reset=1 returns the counts and clears them. As a module, startServer() gives the same
// numbers directly (server.stats(), server.reset()).

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.onnx': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.br': 'application/octet-stream',
  '.gz': 'application/octet-stream',
};

export function mimeOf(file) {
  return MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
}

function acceptsEncoding(header, enc) {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name.trim().toLowerCase() !== enc) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || parseFloat(q.slice(2)) > 0;
  }
  return false;
}

async function statFile(p) {
  try {
    const st = await fsp.stat(p);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

// startServer({root, port=0, host='127.0.0.1', coi=false, cache=false, log=false, mounts={}})
// resolves to {url, port, server, stats(), reset(), close()}.
export async function startServer(opts = {}) {
  const root = path.resolve(opts.root || '.');
  const host = opts.host || '127.0.0.1';
  const mounts = Object.entries(opts.mounts || {})
    .map(([prefix, dir]) => [prefix.replace(/\/+$/, ''), path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  let log = [];
  const counts = () => ({
    requests: log.length,
    bodyBytes: log.reduce((s, r) => s + r.bodyBytes, 0),
    rawBytes: log.reduce((s, r) => s + r.rawBytes, 0),
    log,
  });
  const reset = () => {
    const c = counts();
    log = [];
    return c;
  };

  function resolvePath(urlPath) {
    let decoded;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    let base = root;
    let rest = decoded;
    for (const [prefix, dir] of mounts) {
      if (decoded === prefix || decoded.startsWith(prefix + '/')) {
        base = dir;
        rest = decoded.slice(prefix.length) || '/';
        break;
      }
    }
    const full = path.resolve(base, '.' + path.posix.normalize('/' + rest));
    if (full !== base && !full.startsWith(base + path.sep)) return null;
    return full;
  }

  const server = http.createServer(async (req, res) => {
    const t0 = performance.now();
    const url = new URL('http://x' + (req.url.startsWith('/') ? req.url : '/' + req.url));
    const entry = { method: req.method, path: url.pathname, status: 0, encoding: null, bodyBytes: 0, rawBytes: 0, ms: 0 };
    const common = {};
    if (opts.coi) {
      common['Cross-Origin-Opener-Policy'] = 'same-origin';
      common['Cross-Origin-Embedder-Policy'] = 'require-corp';
      common['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    common['Cache-Control'] = opts.cache ? 'no-cache' : 'no-store';
    const finish = (status, headers, body) => {
      entry.status = status;
      res.writeHead(status, { ...common, ...headers });
      res.end(body);
    };
    res.on('finish', () => {
      entry.ms = +(performance.now() - t0).toFixed(2);
      if (!url.pathname.startsWith('/__stats')) {
        log.push(entry);
        if (opts.log) process.stderr.write(JSON.stringify(entry) + '\n');
      }
    });

    if (url.pathname === '/__stats') {
      const c = url.searchParams.has('reset') ? reset() : counts();
      return finish(200, { 'Content-Type': 'application/json' }, JSON.stringify(c));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return finish(405, { Allow: 'GET, HEAD' }, 'method not allowed\n');
    }
    let file = resolvePath(url.pathname);
    if (!file) return finish(400, { 'Content-Type': 'text/plain' }, 'bad path\n');
    try {
      const st = await fsp.stat(file);
      if (st.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          return finish(301, { Location: url.pathname + '/' + url.search }, '');
        }
        file = path.join(file, 'index.html');
      }
    } catch {}

    const type = mimeOf(file);
    const ae = req.headers['accept-encoding'] || '';
    let chosen = null; // {path, size, encoding, decode}
    for (const [enc, ext] of [['br', '.br'], ['gzip', '.gz']]) {
      if (!acceptsEncoding(ae, enc)) continue;
      const st = await statFile(file + ext);
      if (st) {
        chosen = { path: file + ext, size: st.size, encoding: enc };
        break;
      }
    }
    if (!chosen) {
      const st = await statFile(file);
      if (st) chosen = { path: file, size: st.size, encoding: null };
    }
    if (!chosen) {
      for (const [ext, decode] of [['.br', zlib.createBrotliDecompress], ['.gz', zlib.createGunzip]]) {
        const st = await statFile(file + ext);
        if (st) {
          chosen = { path: file + ext, size: null, encoding: null, decode };
          break;
        }
      }
    }
    if (!chosen) return finish(404, { 'Content-Type': 'text/plain' }, 'not found\n');

    const headers = { 'Content-Type': type, Vary: 'Accept-Encoding' };
    if (chosen.encoding) headers['Content-Encoding'] = chosen.encoding;
    if (chosen.size != null) headers['Content-Length'] = String(chosen.size);
    entry.status = 200;
    entry.encoding = chosen.encoding;
    entry.file = path.relative(process.cwd(), chosen.path);
    res.writeHead(200, { ...common, ...headers });
    if (req.method === 'HEAD') return res.end();

    let stream = fs.createReadStream(chosen.path);
    let rawCounter = null;
    if (chosen.encoding) {
      // Decoded size of a precompressed file: decompress on the side while sending (counting only).
      rawCounter = chosen.encoding === 'br' ? zlib.createBrotliDecompress() : zlib.createGunzip();
      rawCounter.on('data', (b) => (entry.rawBytes += b.length));
      rawCounter.on('error', () => {});
      stream.on('data', (b) => rawCounter.write(b));
      stream.on('end', () => rawCounter.end());
    }
    if (chosen.decode) stream = stream.pipe(chosen.decode());
    stream.on('data', (b) => {
      entry.bodyBytes += b.length;
      if (!chosen.encoding) entry.rawBytes += b.length;
    });
    stream.on('error', (err) => {
      entry.error = String(err);
      res.destroy(err);
    });
    stream.pipe(res);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, host, resolve);
  });
  const port = server.address().port;
  return {
    url: `http://${host}:${port}/`,
    port,
    server,
    stats: counts,
    reset,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

function parseArgs(argv) {
  const o = { mounts: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') o.port = Number(argv[++i]);
    else if (a === '--coi') o.coi = true;
    else if (a === '--cache') o.cache = true;
    else if (a === '--log') o.log = true;
    else if (a === '--mount') {
      const [p, d] = argv[++i].split('=');
      o.mounts[p] = d;
    } else if (a === '-h' || a === '--help') o.help = true;
    else if (/^\d+$/.test(a) && o.root !== undefined && o.port === undefined) o.port = Number(a);
    else if (o.root === undefined) o.root = a;
    else if (/^\d+$/.test(a)) o.port = Number(a);
    else throw new Error(`unexpected argument ${a}`);
  }
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write('usage: node tools/browser/serve.mjs [--port N] [--coi] [--cache] [--log] [--mount /prefix=DIR]... [ROOT [PORT]]\n');
    process.exit(0);
  }
  const s = await startServer({ root: o.root || '.', ...o });
  process.stdout.write(s.url + '\n');
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
