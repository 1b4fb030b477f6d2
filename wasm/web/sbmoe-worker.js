// sbmoe-worker.js: the Web Worker that runs the sbmoe WebAssembly module, so the page
// never blocks. It fetches a bundle's files with progress, checks each one's size and
// SHA-256 against manifest.json, keeps them in the Cache API (a second visit downloads
// nothing), starts the Go module and answers the page's calls (see sbmoe.js). Learned
// heads and recorded feedback stay in this browser's IndexedDB; nothing is sent anywhere.
/* global Go, sbmoeGo */
'use strict';

importScripts('wasm_exec.js');

let fingerprint = null;
let learned = false; // a head learned in this browser is in use

// Each file download must make progress within this many milliseconds, or it fails.
const STALL_MS = 30000;

function post(msg, transfer) { self.postMessage(msg, transfer || []); }

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

// fetchVerified downloads one file of the manifest (or takes it from the cache) and checks it.
async function fetchVerified(cache, base, file, onBytes) {
  const url = new URL(file.path, base).href;
  if (cache) {
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if (bytes.length === file.size && hex(await crypto.subtle.digest('SHA-256', bytes)) === file.sha256) {
        onBytes(bytes.length, true);
        return bytes;
      }
      await cache.delete(url); // damaged or stale: fetch again
    }
  }
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(), STALL_MS);
  let resp;
  try {
    resp = await fetch(url, { signal: ctrl.signal, cache: 'no-cache' });
  } catch (e) {
    clearTimeout(timer);
    throw new Error(`${file.path}: ${e.name === 'AbortError' ? 'no response within ' + STALL_MS / 1000 + ' s' : e.message}`);
  }
  if (!resp.ok) {
    clearTimeout(timer);
    throw new Error(`${file.path}: HTTP ${resp.status} ${resp.statusText}`.trim());
  }
  const bytes = new Uint8Array(file.size);
  let got = 0;
  const reader = resp.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.abort(), STALL_MS);
      if (got + value.length > file.size) {
        throw new Error(`${file.path}: more than the ${file.size} bytes manifest.json lists (replaced or corrupt)`);
      }
      bytes.set(value, got);
      got += value.length;
      onBytes(value.length, false);
    }
  } catch (e) {
    if (e.name === 'AbortError') throw new Error(`${file.path}: download stalled for ${STALL_MS / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  if (got !== file.size) {
    throw new Error(`${file.path}: ${got} bytes, manifest.json lists ${file.size} (truncated)`);
  }
  const sum = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (sum !== file.sha256) {
    throw new Error(`${file.path}: sha256 ${sum}, manifest.json lists ${file.sha256} (corrupt or replaced)`);
  }
  // Kept for the next visit while this one goes on: writing 90 MB to the cache takes a
  // second or more, and a reload before it is done only downloads again.
  if (cache) cache.put(url, new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => {});
  return bytes;
}

// The learned head, the feedback and how much of it the head learned from ('meta':
// {trained}), per bundle fingerprint, in IndexedDB.
function idb() {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') { resolve(null); return; }
    const req = indexedDB.open('sbmoe', 2);
    req.onupgradeneeded = () => {
      for (const name of ['heads', 'feedback', 'meta']) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name, op, ...args) {
  const db = await idb();
  if (!db) return undefined;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, op === 'get' ? 'readonly' : 'readwrite');
    const req = tx.objectStore(name)[op](...args);
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

function call(name, ...args) {
  const out = JSON.parse(sbmoeGo[name](...args));
  if (out.error) throw new Error(out.error);
  return out;
}

let manifest = null;
// The model loads once no search has come for QUIET_MS.
const QUIET_MS = 400;
let lastSearch = -Infinity;
let modelWanted = false; // the page asked for the model (loadModel)
let startModel = null; // set while open() waits for it (model: 'later')
let cacheStore = null;
let base = null;
const textsLoading = new Map(); // path → promise of its bytes

// open fetches the bundle in two steps: the documents and the BM25 index first (with the
// module), so the page can search by keywords at once (a 'lexical' message), then the model
// and the vector index, after which search fuses both. The model's download starts once
// keyword search works, so that it does not slow the first step down, or (model: 'later')
// when the page asks for it (loadModel). It resolves when the model is loaded.
async function open({ bundleURL, model }, id) {
  base = new URL(bundleURL, self.location.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const mresp = await fetch(new URL('manifest.json', base), { cache: 'no-cache' }).catch((e) => {
    throw new Error(`manifest.json: ${e.message}`);
  });
  if (!mresp.ok) throw new Error(`manifest.json: HTTP ${mresp.status} ${mresp.statusText}`.trim());
  try { manifest = await mresp.json(); } catch (e) { throw new Error(`manifest.json: ${e.message}`); }
  if (manifest.format !== 'sbmoe-bundle' || !Array.isArray(manifest.files)) {
    throw new Error('manifest.json: not an sbmoe bundle manifest');
  }
  fingerprint = manifest.fingerprint;
  const first = manifest.files.filter((f) => f.path === 'docs.json' || f.path === 'lexical.idx' || f.path === 'sbmoe.wasm');
  const second = manifest.files.filter((f) => f.path === 'index.idx' || f.path.startsWith('model/'));
  if (!first.some((f) => f.path === 'sbmoe.wasm')) throw new Error('manifest.json: lists no sbmoe.wasm');
  const total = [...first, ...second].reduce((n, f) => n + f.size, 0);
  let done = 0; let cached = 0;
  const progress = (n, fromCache) => {
    done += n; if (fromCache) cached += n;
    post({ type: 'progress', loaded: done, total, cached });
  };
  let cache = null;
  if (typeof caches !== 'undefined') {
    try {
      cache = await caches.open('sbmoe-' + fingerprint);
      for (const name of await caches.keys()) {
        if (name.startsWith('sbmoe-') && name !== 'sbmoe-' + fingerprint) await caches.delete(name);
      }
    } catch (e) { cache = null; } // no Cache API here (an opaque origin, say): download every time
  }
  const fetchAll = async (list) => {
    const bytes = await Promise.all(list.map((f) => fetchVerified(cache, base, f, progress)));
    const files = {};
    list.forEach((f, i) => { files[f.path] = bytes[i]; });
    return files;
  };
  cacheStore = cache;
  const lexFiles = await fetchAll(first);
  const go = new Go();
  const { instance } = await WebAssembly.instantiate(lexFiles['sbmoe.wasm'], go.importObject);
  go.run(instance); // runs main until it waits for calls; sbmoeGo is set by then
  delete lexFiles['sbmoe.wasm'];
  lexFiles['manifest.json'] = new TextEncoder().encode(JSON.stringify(manifest));
  const lex = call('openLexical', lexFiles);
  post({ type: 'lexical', id, info: { ...lex, fingerprint, downloaded: done - cached } });
  if (model === 'later' && !modelWanted) await new Promise((resolve) => { startModel = resolve; });
  startModel = null;
  const t0 = performance.now();
  const files = await fetchAll(second);
  // Loading the model takes the worker for a second or more: not while the visitor types.
  while (performance.now() - lastSearch < QUIET_MS) await new Promise((r) => setTimeout(r, QUIET_MS / 4));
  const t1 = performance.now();
  const info = call('loadModel', files);
  info.timings = { modelFetchMs: Math.round(t1 - t0), modelLoadMs: Math.round(performance.now() - t1) };
  const head = await store('heads', 'get', fingerprint).catch(() => undefined);
  if (head) {
    try { call('importHead', head); learned = true; } catch (e) { await store('heads', 'delete', fingerprint); }
  }
  info.learned = learned;
  Object.assign(info, await learning());
  info.downloaded = done - cached;
  return info;
}

// learning is what this browser holds for the bundle: choices recorded, how many of them
// the stored head learned from, and whether a learned head is in use.
async function learning() {
  const list = (await store('feedback', 'get', fingerprint).catch(() => undefined)) || [];
  const meta = (await store('meta', 'get', fingerprint).catch(() => undefined)) || {};
  return { feedback: list.length, trained: meta.trained || 0 };
}

// search answers a query; with highlight, every hit gets the snippet around its sentence
// that best matches the query, after the files of texts it needs (a few kB each) arrive.
async function search({ query, k, highlight, mode }) {
  lastSearch = performance.now();
  const out = call('search', query, k, mode || '');
  if (highlight && out.hits.length) {
    const need = out.texts || [];
    if (need.length) {
      const files = {};
      await Promise.all(need.map(async (p) => { files[p] = await textFile(p); }));
      call('loadTexts', files);
    }
    const { highlights } = call('highlight', query, JSON.stringify(out.hits.map((h) => h.id)));
    out.hits.forEach((h, i) => { if (highlights[i]) h.highlight = highlights[i]; });
  }
  delete out.texts;
  return out;
}

function textFile(p) {
  if (!textsLoading.has(p)) {
    const file = manifest.files.find((f) => f.path === p);
    if (!file) return Promise.reject(new Error(`manifest.json: lists no ${p}`));
    const promise = fetchVerified(cacheStore, base, file, () => {});
    promise.catch(() => textsLoading.delete(p)); // try again on the next search
    textsLoading.set(p, promise);
  }
  return textsLoading.get(p);
}

async function feedback({ query, docId }) {
  const list = (await store('feedback', 'get', fingerprint)) || [];
  list.push({ query, doc_id: docId });
  await store('feedback', 'put', list, fingerprint);
  return { count: list.length, ...(await learning()) };
}

async function train(options, id) {
  const list = (await store('feedback', 'get', fingerprint)) || [];
  const opts = { epochs: options.epochs || 0, seed: options.seed || 0, experts: options.experts || 0,
    lr: options.lr || 0, router: options.router || '' };
  const fb = options.feedback || list;
  const out = call('learn', JSON.stringify(fb), JSON.stringify(opts), (epoch, epochs, step, steps, loss) => {
    post({ type: 'train-progress', id, epoch, epochs, step, steps, loss });
  });
  const head = sbmoeGo.exportHead();
  if (head && options.persist !== false) {
    await store('heads', 'put', head, fingerprint);
    await store('meta', 'put', { trained: list.length }, fingerprint);
  }
  learned = !!head;
  return { ...out, ...(await learning()), learned };
}

async function resetHead({ forgetFeedback }) {
  call('importHead', null);
  await store('heads', 'delete', fingerprint);
  await store('meta', 'delete', fingerprint);
  if (forgetFeedback) await store('feedback', 'delete', fingerprint);
  learned = false;
  return { ...(await learning()), learned };
}

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  try {
    let result;
    switch (op) {
      case 'open': result = await open(args, id); break;
      case 'search': result = await search(args); break;
      case 'encode': result = call('encode', JSON.stringify(args.texts)); break;
      case 'feedback': result = await feedback(args); break;
      case 'train': result = await train(args, id); break;
      case 'resetHead': result = await resetHead(args); break;
      case 'learning': result = { ...(await learning()), learned }; break;
      case 'loadModel': modelWanted = true; if (startModel) startModel(); result = {}; break;
      case 'exportHead': result = { head: sbmoeGo.exportHead() }; break;
      case 'importHead': result = call('importHead', args.head); break;
      default: throw new Error(`unknown call ${op}`);
    }
    post({ id, result });
  } catch (e) {
    post({ id, error: String(e && e.message ? e.message : e) });
  }
};
