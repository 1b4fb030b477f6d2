#!/usr/bin/env node
// Benchmark the peer: transformers.js (onnxruntime-web, WebAssembly, one thread) running
// all-MiniLM-L6-v2 in a module worker in headless Debian chromium, from local files only.
//
//   node tools/browser/bench-peer.mjs [--dtypes fp32,q8,int8] [--cold-runs 5] [--queries 100]
//        [--steady-queries 100] [--docs 64] [--batch 8] [--wasm simd-threaded|asyncify] [--threads 1]
//        [--encoding br|identity] [--no-coi] [--model-dir models/all-MiniLM-L6-v2-onnx]
//        [--data ../shared/data/scifact] [--work out/browser-peer] [--echo] [--screenshot]
//
// Needs tools/browser/install.sh (chromium, out/browser-node) and the ONNX export
// (.venv/bin/python tools/reference/export_onnx.py). Prints JSON lines on stdout, one per
// measurement, each with "system":"transformers.js" and "dtype"; progress goes to stderr.
//
// Per dtype: run 1 is a full run (cold start, 100 + 100 single queries, 128-token documents,
// fixed vectors, memory); runs 2..N are cold-start-only, each in a newly launched browser. The site is
// built under --work: the page and worker from tools/browser/peer/, transformers.web.js with its bare
// imports pointed at onnxruntime-web's ort.wasm.min.mjs (workers have no import maps), the ort wasm
// files, the model folder (symlinks) and data/inputs.json; with --encoding br each file gets a
// precompressed .br sibling, which tools/browser/serve.mjs sends with Content-Encoding: br.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { launch, openPage, rendererMemory, screenshot, repoRoot, nodeModules, processes } from './chromium.mjs';
import { startServer } from './serve.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);

export function parseArgs(argv) {
  const o = {
    dtypes: null, coldRuns: 5, queries: 100, steadyQueries: 100, docs: 64, batch: 8, wasm: 'simd-threaded', threads: 1,
    encoding: 'br', coi: true, modelDir: 'models/all-MiniLM-L6-v2-onnx',
    data: path.resolve(repoRoot, '..', 'shared', 'data', 'scifact'), work: 'out/browser-peer',
    echo: false, screenshot: false, timeoutMs: 15 * 60 * 1000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--dtypes': o.dtypes = v().split(',').filter(Boolean); break;
      case '--cold-runs': o.coldRuns = Number(v()); break;
      case '--queries': o.queries = Number(v()); break;
      case '--steady-queries': o.steadyQueries = Number(v()); break;
      case '--docs': o.docs = Number(v()); break;
      case '--batch': o.batch = Number(v()); break;
      case '--wasm': o.wasm = v(); break;
      case '--threads': o.threads = Number(v()); break;
      case '--encoding': o.encoding = v(); break;
      case '--no-coi': o.coi = false; break;
      case '--model-dir': o.modelDir = v(); break;
      case '--data': o.data = v(); break;
      case '--work': o.work = v(); break;
      case '--echo': o.echo = true; break;
      case '--screenshot': o.screenshot = true; break;
      case '--timeout-s': o.timeoutMs = Number(v()) * 1000; break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 20).join('\n') + '\n');
        process.exit(0);
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  o.modelDir = path.resolve(repoRoot, o.modelDir);
  o.work = path.resolve(repoRoot, o.work);
  if (!o.dtypes) {
    o.dtypes = ['fp32', 'q8'];
    if (fs.existsSync(path.join(o.modelDir, 'onnx', 'model_int8.onnx'))) o.dtypes.push('int8');
  }
  return o;
}

const log = (...a) => process.stderr.write(a.join(' ') + '\n');

// ---------- inputs ----------

export function readJsonl(file) {
  let buf;
  if (fs.existsSync(file)) buf = fs.readFileSync(file);
  else if (fs.existsSync(file + '.gz')) buf = zlib.gunzipSync(fs.readFileSync(file + '.gz'));
  else throw new Error(`no ${file}[.gz]`);
  return buf.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

export function makeInputs(o) {
  const words = (s) => s.split(/\s+/).filter(Boolean);
  const seen = new Set();
  const tenWord = [];
  for (const q of readJsonl(path.join(o.data, 'queries.jsonl'))) {
    const w = words(q.text);
    if (w.length < 10) continue;
    const t = w.slice(0, 10).join(' ');
    if (!seen.has(t)) { seen.add(t); tenWord.push(t); }
  }
  const nq = o.queries + o.steadyQueries;
  if (tenWord.length < nq + 1) throw new Error(`only ${tenWord.length} ten-word queries`);
  const corpus = readJsonl(path.join(o.data, 'corpus.jsonl'));
  const docText = (d) => (d.title ? d.title + ' ' : '') + (d.text || '');
  // Documents long enough to give 128 tokens after truncation (the worker checks each one).
  const long = corpus.map(docText).filter((t) => words(t).length >= 150);
  const docs = long.slice(0, o.batch + o.docs + 32);
  const fixedHand = JSON.parse(fs.readFileSync(path.join(here, 'peer', 'fixed-texts.json'), 'utf8'));
  const fixed = [...fixedHand, docText(corpus[0]), docText(corpus[1])];
  return { coldQuery: tenWord[0], queries: tenWord.slice(1, 1 + nq), docs, fixed };
}

// ---------- site ----------

export async function writeIfChanged(file, data) {
  try {
    const cur = await fsp.readFile(file);
    if (Buffer.compare(cur, Buffer.from(data)) === 0) return;
  } catch {}
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, data);
}

export async function link(src, dst) {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  try {
    if ((await fsp.readlink(dst)) === src) return;
    await fsp.unlink(dst);
  } catch (e) {
    if (e.code === 'EINVAL') await fsp.unlink(dst); // a regular file: replace it
  }
  await fsp.symlink(src, dst);
}

export async function buildSite(o, inputs) {
  const site = path.join(o.work, 'site');
  const ortDist = path.join(nodeModules, 'onnxruntime-web', 'dist');
  const tfDist = path.join(nodeModules, '@huggingface', 'transformers', 'dist');
  if (!fs.existsSync(ortDist) || !fs.existsSync(tfDist)) throw new Error(`no ${nodeModules}: run tools/browser/install.sh`);
  if (!fs.existsSync(path.join(o.modelDir, 'onnx', 'model.onnx'))) {
    throw new Error(`no ONNX model in ${o.modelDir}: run .venv/bin/python tools/reference/export_onnx.py`);
  }
  for (const f of ['index.html', 'peer.worker.mjs', 'blank.html']) {
    await writeIfChanged(path.join(site, f), await fsp.readFile(path.join(here, 'peer', f)));
  }
  let tf = await fsp.readFile(path.join(tfDist, 'transformers.web.js'), 'utf8');
  const n0 = tf.length;
  tf = tf.replace(/from\s*"onnxruntime-web\/webgpu"/g, 'from "./ort.wasm.min.mjs"')
         .replace(/from\s*"onnxruntime-common"/g, 'from "./ort.wasm.min.mjs"');
  if (/from\s*"onnxruntime-/.test(tf) || tf.length === n0) throw new Error('transformers.web.js: unexpected imports');
  await writeIfChanged(path.join(site, 'lib', 'transformers.web.mjs'), tf);
  await link(path.join(ortDist, 'ort.wasm.min.mjs'), path.join(site, 'lib', 'ort.wasm.min.mjs'));
  const suffix = o.wasm === 'asyncify' ? '.asyncify' : '';
  for (const ext of ['mjs', 'wasm']) {
    const name = `ort-wasm-simd-threaded${suffix}.${ext}`;
    await link(path.join(ortDist, name), path.join(site, 'lib', name));
  }
  const modelName = path.basename(o.modelDir);
  const mdst = path.join(site, 'models', modelName);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (fs.existsSync(path.join(o.modelDir, f))) await link(path.join(o.modelDir, f), path.join(mdst, f));
  }
  for (const f of await fsp.readdir(path.join(o.modelDir, 'onnx'))) {
    if (f.endsWith('.onnx')) await link(path.join(o.modelDir, 'onnx', f), path.join(mdst, 'onnx', f));
  }
  await writeIfChanged(path.join(site, 'data', 'inputs.json'), JSON.stringify(inputs));
  if (o.encoding === 'br') await precompress(site, o);
  return { site, modelName };
}

// X.br beside every file (quality 11; 5 for .onnx weights, which hardly compress); kept while
// newer than X. A stale .br of a file not used now does no harm: nobody asks for it.
export async function precompress(site, o) {
  const files = [];
  const walk = async (d) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!p.endsWith('.br') && !p.endsWith('.gz')) files.push(p);
    }
  };
  await walk(site);
  await Promise.all(files.map(async (f) => {
    const st = await fsp.stat(f);
    if (st.size < 1024) return;
    try {
      const bst = await fsp.stat(f + '.br');
      if (bst.mtimeMs >= st.mtimeMs) return;
    } catch {}
    const q = f.endsWith('.onnx') ? 5 : 11;
    const t0 = Date.now();
    const data = await fsp.readFile(f);
    const out = await new Promise((res, rej) => zlib.brotliCompress(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: q,
        [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }, (err, b) => (err ? rej(err) : res(b))));
    await fsp.writeFile(f + '.br.partial', out);
    await fsp.rename(f + '.br.partial', f + '.br');
    log(`brotli q${q} ${path.relative(site, f)}: ${data.length} -> ${out.length} (${Date.now() - t0} ms)`);
  }));
}

// ---------- reference vectors ----------

export function loadReference(o, inputs) {
  const fixedFile = path.join(o.work, 'fixed.json');
  const refFile = path.join(o.work, 'reference.json');
  fs.mkdirSync(o.work, { recursive: true });
  fs.writeFileSync(fixedFile, JSON.stringify({ texts: inputs.fixed }));
  let ref = null;
  try {
    ref = JSON.parse(fs.readFileSync(refFile, 'utf8'));
    if (JSON.stringify(ref.texts) !== JSON.stringify(inputs.fixed)) ref = null;
  } catch {}
  if (!ref) {
    const py = path.join(repoRoot, '.venv', 'bin', 'python');
    if (!fs.existsSync(py)) {
      log(`no ${py}: cosines against sentence-transformers skipped`);
      return null;
    }
    log('computing sentence-transformers reference vectors ...');
    const r = spawnSync(py, [path.join(repoRoot, 'tools', 'reference', 'peer_vectors.py'), fixedFile, refFile], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) { log('peer_vectors.py failed: cosines against sentence-transformers skipped'); return null; }
    ref = JSON.parse(fs.readFileSync(refFile, 'utf8'));
  }
  return ref;
}

// ---------- one page ----------

export async function runPage(o, server, dtype, mode, modelName) {
  // ForceEagerMeasureMemory: measureUserAgentSpecificMemory() answers at once instead of at the
  // next garbage collection (up to 20 s later).
  const browser = await launch({ args: ['--enable-blink-features=ForceEagerMeasureMemory'] });
  const result = { events: [], dtype, mode };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    let resolveDone, rejectDone;
    const done = new Promise((res, rej) => { resolveDone = res; rejectDone = rej; });
    let t0 = 0;
    await page.exposeFunction('__report', async (ev) => {
      const now = performance.now() - t0;
      result.events.push({ ...ev, nodeMs: now });
      if (o.echo) log(`[${dtype}/${mode}] ${JSON.stringify(ev).slice(0, 200)}`);
      if (ev.event === 'first-result') {
        result.coldMs = now;
        result.bytes = server.stats();
        result.memFirst = await rendererMemory(browser, null).catch(() => null);
      } else if (ev.event === 'done') resolveDone();
      else if (ev.event === 'error') rejectDone(new Error(ev.text));
    });
    page.on('pageerror', (err) => rejectDone(err));
    page.on('console', (m) => { if (o.echo || m.type() === 'error') log(`[console ${m.type()}] ${m.text()}`); });
    server.reset();
    const params = new URLSearchParams({ dtype, mode, wasm: o.wasm, threads: String(o.threads), model: modelName, batch: String(o.batch), queries: String(o.queries), steadyQueries: String(o.steadyQueries), docs: String(o.docs) });
    t0 = performance.now();
    await page.goto(`${server.url}index.html?${params}`, { waitUntil: 'commit' });
    let timer;
    await Promise.race([done, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), o.timeoutMs); })]);
    clearTimeout(timer);
    result.memEnd = await rendererMemory(browser, page, { uaMemory: o.coi });
    if (o.screenshot) result.screenshot = await screenshot(page, path.join(o.work, `screenshot-${dtype}-${mode}.png`));
    result.crossOriginIsolated = result.events.find((e) => e.event === 'page')?.crossOriginIsolated;
  } finally {
    await browser.close();
  }
  return result;
}

// ---------- stats ----------

export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
const r2 = (x) => (x == null ? null : Math.round(x * 100) / 100);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cos = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};
function cosStats(as, bs) {
  const c = as.map((a, i) => cos(a, bs[i]));
  return { min: +Math.min(...c).toFixed(6), mean: +mean(c).toFixed(6), cosines: c.map((x) => +x.toFixed(6)) };
}

// ---------- main ----------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const inputs = makeInputs(o);
  const ref = loadReference(o, inputs);
  const { site, modelName } = await buildSite(o, inputs);
  const server = await startServer({ root: site, coi: o.coi, log: o.echo });
  const tfPkg = JSON.parse(fs.readFileSync(path.join(nodeModules, '@huggingface', 'transformers', 'package.json'), 'utf8'));
  const ortPkg = JSON.parse(fs.readFileSync(path.join(nodeModules, 'onnxruntime-web', 'package.json'), 'utf8'));
  const base = { system: 'transformers.js' };
  const emit = (obj) => process.stdout.write(JSON.stringify({ ...base, ...obj }) + '\n');

  // Baseline: the renderer of a blank page from the same server in a fresh browser.
  const probe = await launch();
  const chromiumVersion = probe.version();
  const blank = await openPage(probe, `${server.url}blank.html`);
  await new Promise((r) => setTimeout(r, 500));
  const baseline = await rendererMemory(probe, blank);
  await probe.close();
  emit({
    measure: 'env', dtype: null, date: new Date().toISOString(), host: os.hostname(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
    chromium: chromiumVersion, transformers: tfPkg.version, onnxruntimeWeb: ortPkg.version, wasm: `ort-wasm-simd-threaded${o.wasm === 'asyncify' ? '.asyncify' : ''}.wasm`,
    threads: o.threads, encoding: o.encoding, crossOriginIsolatedServer: o.coi, worker: 'module worker', model: modelName,
    queries: o.queries, steadyQueries: o.steadyQueries, docs: o.docs, batch: o.batch, coldRuns: o.coldRuns, coldQuery: inputs.coldQuery,
    blankPageRendererPeakRss: baseline.peakRssBytes, blankPageRendererRss: baseline.rssBytes,
  });

  const runs = [];
  for (let r = 0; r < o.coldRuns; r++) {
    for (const dtype of o.dtypes) {
      const mode = r === 0 ? 'full' : 'cold';
      log(`run ${r + 1}/${o.coldRuns} ${dtype} (${mode}) ...`);
      const res = await runPage(o, server, dtype, mode, modelName);
      runs.push(res);
      log(`  cold start ${res.coldMs.toFixed(0)} ms, ${res.bytes.bodyBytes} bytes transferred`);
    }
  }
  await server.close();
  summarize(o, runs, ref, inputs, emit);
  fs.writeFileSync(path.join(o.work, 'runs.json'), JSON.stringify(runs.map((x) => ({ ...x, memEnd: { ...x.memEnd } })), null, 1));
}

// summarize emits the measurement lines of the runs (runPage results) of every dtype in
// o.dtypes and writes the vectors to o.work/vectors.json.
export function summarize(o, runs, ref, inputs, emit) {
  const vectors = {};
  for (const dtype of o.dtypes) {
    const mine = runs.filter((x) => x.dtype === dtype);
    const full = mine.find((x) => x.mode === 'full');
    const ev = (name) => full.events.find((e) => e.event === name);
    const cold = mine.map((x) => x.coldMs);
    const phases = mine.map((x) => {
      const t = (n) => x.events.find((e) => e.event === n)?.t;
      return { workerStart: r2(t('worker-start')), imported: r2(t('imported')), loaded: r2(t('loaded')), firstResult: r2(t('first-result')) };
    });
    emit({ dtype, measure: 'cold_start_ms', median: r2(quantile(cold, 0.5)), runs: cold.map(r2), phases,
      note: 'fresh browser and page: navigation -> worker -> import transformers.js -> load tokenizer + ONNX session -> first query vector (node clock)' });
    // Bytes of the peer itself: the bench's own inputs (data/inputs.json) are left out.
    const files = {};
    let transferred = 0, raw = 0, requests = 0;
    for (const e of full.bytes.log) {
      if (e.path.startsWith('/data/')) continue;
      files[e.path] = { transferred: e.bodyBytes, raw: e.rawBytes, encoding: e.encoding };
      transferred += e.bodyBytes; raw += e.rawBytes; requests++;
    }
    emit({ dtype, measure: 'bytes_before_first_result', transferred, raw, requests, encoding: o.encoding, files });
    const q = ev('queries');
    const phase = (name, a, b) => {
      const xs = q.ms.slice(a, b);
      if (xs.length) emit({ dtype, measure: 'query_latency_ms', phase: name, queries: `${a + 1}-${a + xs.length}`, n: xs.length, p50: r2(quantile(xs, 0.5)), p95: r2(quantile(xs, 0.95)), mean: r2(mean(xs)), words: 10, meanTokens: r2(mean(q.tokens.slice(a, b))) });
    };
    phase('first25', 0, Math.min(25, o.queries));
    phase('after25', 25, o.queries);
    phase('first100', 0, o.queries);
    phase('steady', o.queries, o.queries + o.steadyQueries);
    const d = ev('docs');
    emit({ dtype, measure: 'docs_per_s', seq: 128, batch: d.batch, docs: d.docs, value: r2(d.docs / (d.ms / 1000)), ms: r2(d.ms) });
    const m = full.memEnd;
    emit({ dtype, measure: 'renderer_memory_bytes', peakRss: m.peakRssBytes, rssEnd: m.rssBytes, rssAtFirstResult: full.memFirst?.rssBytes ?? null,
      uaSpecificMemory: m.uaMemoryBytes ?? null, jsHeapUsedMainThread: m.jsHeapUsedBytes,
      note: 'peakRss: VmHWM of the renderer (/proc; resident, shared pages included; compare blankPageRendererPeakRss in the env line); uaSpecificMemory: performance.measureUserAgentSpecificMemory() at the end (JS + wasm of page and worker)' });
    vectors[dtype] = ev('vectors').vectors;
    vectors.tokens = ev('vectors').tokens;
  }
  // minFit: over the texts of at most 256 tokens; the others are truncated, and transformers.js
  // drops their final [SEP] (see peer.worker.mjs), which sentence-transformers keeps.
  const fit = vectors.tokens.map((n) => n <= 256);
  const cosLine = (dtype, vs, as, bs) => {
    const st = cosStats(as, bs);
    const fitC = st.cosines.filter((_, i) => fit[i]);
    emit({ dtype, measure: 'cosine', vs, texts: as.length, min: st.min, minFit: Math.min(...fitC), textsFit: fitC.length, mean: st.mean, cosines: st.cosines, tokens: vectors.tokens });
  };
  for (const dtype of o.dtypes) {
    if (ref) cosLine(dtype, 'sentence-transformers', vectors[dtype], ref.vectors);
    if (dtype !== 'fp32' && vectors.fp32) cosLine(dtype, 'transformers.js fp32', vectors[dtype], vectors.fp32);
  }
  fs.writeFileSync(path.join(o.work, 'vectors.json'), JSON.stringify({ texts: inputs.fixed, vectors, reference: ref?.vectors ?? null }));
}

// Run as a program; imported (bench-browser.mjs), it only lends its parts.
if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  main().catch((err) => {
    log(String(err && err.stack || err));
    process.exit(1);
  });
}
