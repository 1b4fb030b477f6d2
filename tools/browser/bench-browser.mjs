#!/usr/bin/env node
// bench-browser.mjs: sbmoe bundles and the transformers.js peer in the same benchmark run, in
// headless Debian chromium, one thread each, the same model (all-MiniLM-L6-v2), the same
// inputs. make bench-browser runs it and turns its lines into results/bench-browser.md
// (tools/browser/bench-report.mjs).
//
//   node tools/browser/bench-browser.mjs --pair fp32=out/bench-browser/scifact-fp32:fp32 \
//        [--pair int8=out/bench-browser/scifact-int8:q8] [--cold-runs 5] [--queries 100]
//        [--steady-queries 100] [--docs 64] [--batch 8] [--feedback 200] [--work out/bench-browser]
//        [--data ../shared/data/scifact] [--feedback-data DIR] [--echo] > out/bench-browser/results.jsonl
//
// --pair NAME=BUNDLE:DTYPE: the bundle written by `sbmoe bundle` (its manifest says fp32 or
// int8 weights) and the transformers.js dtype it is compared with. Runs are interleaved: for
// each round, every pair's peer then its bundle, each in a newly launched browser with a new
// profile (empty Cache API, IndexedDB and HTTP cache). Feedback pairs come from
// --feedback-data (default --data): qrels/train.tsv, or test.tsv where it has none. Round 1 is a full run, the others are
// cold-start-only. Both sides are served by tools/browser/serve.mjs on 127.0.0.1 with COOP/COEP
// and brotli (.br files beside each one: sbmoe bundle writes them, bench-peer.mjs makes the
// peer's). JSON lines on stdout ("system": "sbmoe" or "transformers.js"), progress on stderr;
// every event of every run in WORK/runs-sbmoe.json and WORK/runs-peer.json.
//
// What the sbmoe page does (tools/browser/sbmoe-bench/): open() the bundle with the shipped
// sbmoe.js and sbmoe-worker.js (wrapped by bench.worker.js, which only adds the worker's own
// times), search the cold query (first result: a hybrid search with the model loaded), then
// time 100 + 100 fresh 10-word queries through encode() (what the peer times: tokenizer,
// encoder, pooling) and 200 others through search() (encode, index, BM25, fusion), encode 8 +
// 64 SciFact documents cut to 128 tokens in batches of 8, encode the fixed texts, and train
// the head from 200 SciFact training pairs (persist: false).

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { launch, openPage, rendererMemory, repoRoot, nodeModules } from './chromium.mjs';
import { startServer } from './serve.mjs';
import * as peer from './bench-peer.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

function parseArgs(argv) {
  const o = { pairs: [], feedback: 200, echo: false, work: 'out/bench-browser', peerArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--pair': {
        const m = v().match(/^([^=]+)=(.+):([a-z0-9]+)$/);
        if (!m) throw new Error('--pair NAME=BUNDLE:DTYPE');
        o.pairs.push({ name: m[1], bundle: path.resolve(repoRoot, m[2]), dtype: m[3] });
        break;
      }
      case '--feedback': o.feedback = Number(v()); break;
      case '--feedback-data': o.feedbackData = v(); break;
      case '--work': o.work = v(); break;
      case '--echo': o.echo = true; o.peerArgs.push(a); break;
      case '--cold-runs': case '--queries': case '--steady-queries': case '--docs': case '--batch': case '--data':
        o.peerArgs.push(a, v()); break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 26).join('\n') + '\n');
        process.exit(0);
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.pairs.length) throw new Error('no --pair given');
  o.work = path.resolve(repoRoot, o.work);
  return o;
}

// sbmoeInputs: the peer's inputs (cold query, 200 queries, documents, fixed texts) and 200
// other fresh 10-word queries for whole searches, and feedback pairs from SciFact's training qrels.
function sbmoeInputs(po, inputs, nFeedback, feedbackData) {
  const words = (s) => s.split(/\s+/).filter(Boolean);
  const queries = peer.readJsonl(path.join(po.data, 'queries.jsonl'));
  const used = new Set([inputs.coldQuery, ...inputs.queries]);
  const seen = new Set();
  const other = [];
  for (const q of queries) {
    const w = words(q.text);
    if (w.length < 10) continue;
    const t = w.slice(0, 10).join(' ');
    if (!used.has(t) && !seen.has(t)) { seen.add(t); other.push(t); }
  }
  const n = po.queries + po.steadyQueries;
  if (other.length < n) throw new Error(`only ${other.length} more ten-word queries`);
  const fbDir = feedbackData || po.data;
  const fbQueries = fbDir === po.data ? queries : peer.readJsonl(path.join(fbDir, 'queries.jsonl'));
  const text = new Map(fbQueries.map((q) => [String(q.id ?? q._id), q.text]));
  const feedback = [];
  const qrels = ['train.tsv', 'test.tsv'].map((f) => path.join(fbDir, 'qrels', f)).find((f) => fs.existsSync(f));
  const rows = fs.readFileSync(qrels, 'utf8').split('\n').slice(1);
  for (const r of rows) {
    const [qid, did, score] = r.split('\t');
    if (!did || Number(score) <= 0 || !text.has(qid)) continue;
    feedback.push({ query: text.get(qid), doc_id: did });
    if (feedback.length === nFeedback) break;
  }
  if (feedback.length < nFeedback) throw new Error(`only ${feedback.length} training pairs`);
  return { ...inputs, searchQueries: other.slice(0, n), feedback, batch: po.batch, nDocs: po.docs };
}

// buildSite: out/bench-browser/site-NAME holds links to every file of the bundle, the bench
// page and worker wrapper, and data/inputs.json (left out of the byte counts).
async function buildSite(o, pair, inputs) {
  const site = path.join(o.work, `site-${pair.name}`);
  await fsp.rm(site, { recursive: true, force: true });
  const walk = async (dir, rel) => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const src = path.join(dir, e.name);
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(src, r);
      else await peer.link(src, path.join(site, r));
    }
  };
  await walk(pair.bundle, '');
  for (const f of ['index.html', 'bench.worker.js']) {
    await fsp.rm(path.join(site, f), { force: true });
    await fsp.rm(path.join(site, f + '.br'), { force: true });
    await fsp.rm(path.join(site, f + '.gz'), { force: true });
    await fsp.copyFile(path.join(here, 'sbmoe-bench', f), path.join(site, f));
  }
  await peer.writeIfChanged(path.join(site, 'data', 'inputs.json'), JSON.stringify(inputs));
  const manifest = JSON.parse(await fsp.readFile(path.join(pair.bundle, 'manifest.json'), 'utf8'));
  return { site, manifest };
}

async function runSbmoe(o, server, pair, mode) {
  const browser = await launch({ args: ['--enable-blink-features=ForceEagerMeasureMemory'] });
  const result = { events: [], name: pair.name, mode };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    let resolveDone, rejectDone;
    const done = new Promise((res, rej) => { resolveDone = res; rejectDone = rej; });
    let t0 = 0;
    await page.exposeFunction('__report', async (ev) => {
      const now = performance.now() - t0;
      result.events.push({ ...ev, nodeMs: now });
      if (o.echo) log(`[sbmoe ${pair.name}/${mode}] ${JSON.stringify(ev).slice(0, 200)}`);
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
    t0 = performance.now();
    await page.goto(`${server.url}index.html?mode=${mode}`, { waitUntil: 'commit' });
    let timer;
    await Promise.race([done, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), 15 * 60 * 1000); })]);
    clearTimeout(timer);
    result.memEnd = await rendererMemory(browser, page, { uaMemory: true });
    result.crossOriginIsolated = result.events.find((e) => e.event === 'page')?.crossOriginIsolated;
  } finally {
    await browser.close();
  }
  return result;
}

const r2 = (x) => (x == null ? null : Math.round(x * 100) / 100);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cos = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

function summarizeSbmoe(po, pair, manifest, runs, ref, peerVectors, emit) {
  const mine = runs.filter((x) => x.name === pair.name);
  const full = mine.find((x) => x.mode === 'full');
  const ev = (name) => full.events.find((e) => e.event === name);
  const base = { name: pair.name, weights: manifest.weights, peerDtype: pair.dtype };
  const cold = mine.map((x) => x.coldMs);
  const phases = mine.map((x) => {
    const t = (n) => x.events.find((e) => e.event === n)?.t;
    const info = x.events.find((e) => e.event === 'loaded')?.info || {};
    return { lexical: r2(t('lexical')), loaded: r2(t('loaded')), firstResult: r2(t('first-result')), ...(info.timings || {}) };
  });
  emit({ ...base, measure: 'cold_start_ms', median: r2(peer.quantile(cold, 0.5)), runs: cold.map(r2), phases,
    lexicalMedian: r2(peer.quantile(phases.map((p) => p.lexical), 0.5)),
    note: 'fresh browser and page: navigation -> worker -> module, docs, BM25 index (keyword search ready: lexical) -> model + vector index (loaded) -> first hybrid search results (node clock)' });
  const files = {};
  let transferred = 0, raw = 0, requests = 0, kwT = 0, kwR = 0;
  for (const e of full.bytes.log) {
    if (e.path.startsWith('/data/')) continue;
    files[e.path] = { transferred: e.bodyBytes, raw: e.rawBytes, encoding: e.encoding };
    transferred += e.bodyBytes; raw += e.rawBytes; requests++;
    if (!e.path.startsWith('/model/') && e.path !== '/index.idx') { kwT += e.bodyBytes; kwR += e.rawBytes; }
  }
  emit({ ...base, measure: 'bytes_before_first_result', transferred, raw, requests, keywordStep: { transferred: kwT, raw: kwR }, files });
  const lat = (measure, evName) => {
    const q = ev(evName);
    const phase = (name, a, b) => {
      const xs = q.workerMs.slice(a, b);
      const page = q.ms.slice(a, b);
      if (xs.length) {
        emit({ ...base, measure, phase: name, queries: `${a + 1}-${a + xs.length}`, n: xs.length, p50: r2(peer.quantile(xs, 0.5)),
          p95: r2(peer.quantile(xs, 0.95)), mean: r2(mean(xs)), pageP50: r2(peer.quantile(page, 0.5)), pageP95: r2(peer.quantile(page, 0.95)), words: 10 });
      }
    };
    phase('first25', 0, Math.min(25, po.queries));
    phase('after25', 25, po.queries);
    phase('first100', 0, po.queries);
    phase('steady', po.queries, po.queries + po.steadyQueries);
  };
  lat('query_latency_ms', 'queries');
  lat('search_latency_ms', 'searches');
  const d = ev('docs');
  const wms = d.batches.reduce((s, b) => s + b.workerMs, 0);
  emit({ ...base, measure: 'docs_per_s', seq: 128, batch: d.batch, docs: d.docs, value: r2(d.docs / (d.ms / 1000)), worker: r2(d.docs / (wms / 1000)), ms: r2(d.ms),
    tokensMin: Math.min(...d.tokens), tokensMax: Math.max(...d.tokens) });
  const m = full.memEnd;
  emit({ ...base, measure: 'renderer_memory_bytes', peakRss: m.peakRssBytes, rssEnd: m.rssBytes, rssAtFirstResult: full.memFirst?.rssBytes ?? null,
    uaSpecificMemory: m.uaMemoryBytes ?? null, jsHeapUsedMainThread: m.jsHeapUsedBytes });
  const t = ev('train');
  emit({ ...base, measure: 'train_head_ms', pairs: t.pairs, ms: r2(t.ms), workerMs: r2(t.workerMs), result: t.result });
  const vecs = ev('vectors').vectors;
  if (ref) {
    const c = vecs.map((v, i) => cos(v, ref.vectors[i]));
    emit({ ...base, measure: 'cosine', vs: 'sentence-transformers', texts: c.length, min: +Math.min(...c).toFixed(6), mean: +mean(c).toFixed(6), cosines: c.map((x) => +x.toFixed(6)) });
  }
  return vecs;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const po = peer.parseArgs([...o.peerArgs, '--dtypes', [...new Set(o.pairs.map((p) => p.dtype))].join(','), '--work', 'out/browser-peer']);
  const inputs = peer.makeInputs(po);
  const ref = peer.loadReference(po, inputs);
  const { site: peerSite, modelName } = await peer.buildSite(po, inputs);
  const sInputs = sbmoeInputs(po, inputs, o.feedback, o.feedbackData);
  const servers = { peer: await startServer({ root: peerSite, coi: po.coi }) };
  const manifests = {};
  for (const pair of o.pairs) {
    const { site, manifest } = await buildSite(o, pair, sInputs);
    manifests[pair.name] = manifest;
    servers[pair.name] = await startServer({ root: site, coi: true });
  }
  const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  const tfPkg = JSON.parse(fs.readFileSync(path.join(nodeModules, '@huggingface', 'transformers', 'package.json'), 'utf8'));
  const ortPkg = JSON.parse(fs.readFileSync(path.join(nodeModules, 'onnxruntime-web', 'package.json'), 'utf8'));
  const probe = await launch();
  const chromiumVersion = probe.version();
  const blank = await openPage(probe, `${servers.peer.url}blank.html`);
  await new Promise((r) => setTimeout(r, 500));
  const baseline = await rendererMemory(probe, blank);
  await probe.close();
  const load = os.loadavg();
  emit({
    system: 'env', measure: 'env', date: new Date().toISOString(), host: os.hostname(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
    loadavgStart: load, chromium: chromiumVersion, transformers: tfPkg.version, onnxruntimeWeb: ortPkg.version, model: modelName,
    pairs: o.pairs.map((p) => ({ name: p.name, bundle: path.relative(repoRoot, p.bundle), dtype: p.dtype, weights: manifests[p.name].weights,
      documents: manifests[p.name].documents, kernels: null })),
    queries: po.queries, steadyQueries: po.steadyQueries, docs: po.docs, batch: po.batch, coldRuns: po.coldRuns, feedback: o.feedback,
    coldQuery: inputs.coldQuery, blankPageRendererPeakRss: baseline.peakRssBytes,
  });

  const peerRuns = [];
  const sbRuns = [];
  for (let r = 0; r < po.coldRuns; r++) {
    const mode = r === 0 ? 'full' : 'cold';
    for (const pair of o.pairs) {
      if (!peerRuns.some((x) => x.dtype === pair.dtype && x.round === r)) {
        log(`round ${r + 1}/${po.coldRuns} transformers.js ${pair.dtype} (${mode}) ...`);
        const res = await peer.runPage(po, servers.peer, pair.dtype, mode, modelName);
        res.round = r;
        peerRuns.push(res);
        log(`  cold start ${res.coldMs.toFixed(0)} ms, ${res.bytes.bodyBytes} bytes transferred`);
      }
      log(`round ${r + 1}/${po.coldRuns} sbmoe ${pair.name} (${mode}) ...`);
      const res = await runSbmoe(o, servers[pair.name], pair, mode);
      sbRuns.push(res);
      log(`  cold start ${res.coldMs.toFixed(0)} ms, ${res.bytes.bodyBytes} bytes transferred`);
    }
  }
  for (const s of Object.values(servers)) await s.close();
  const envEnd = { system: 'env', measure: 'env_end', loadavgEnd: os.loadavg(), date: new Date().toISOString() };

  peer.summarize(po, peerRuns, ref, inputs, (obj) => emit({ system: 'transformers.js', ...obj }));
  const vecs = {};
  for (const pair of o.pairs) {
    const kernels = sbRuns.find((x) => x.name === pair.name && x.mode === 'full').events.find((e) => e.event === 'loaded')?.info?.kernels;
    vecs[pair.name] = summarizeSbmoe(po, pair, manifests[pair.name], sbRuns, ref, null, (obj) => emit({ system: 'sbmoe', kernels, ...obj }));
  }
  const fp = o.pairs.find((p) => manifests[p.name].weights === 'fp32');
  for (const pair of o.pairs) {
    if (fp && pair !== fp) {
      const c = vecs[pair.name].map((v, i) => cos(v, vecs[fp.name][i]));
      emit({ system: 'sbmoe', name: pair.name, weights: manifests[pair.name].weights, measure: 'cosine', vs: `sbmoe ${fp.name}`, texts: c.length,
        min: +Math.min(...c).toFixed(6), mean: +mean(c).toFixed(6), cosines: c.map((x) => +x.toFixed(6)) });
    }
  }
  emit(envEnd);
  fs.writeFileSync(path.join(o.work, 'runs-sbmoe.json'), JSON.stringify(sbRuns, null, 1));
  fs.writeFileSync(path.join(o.work, 'runs-peer.json'), JSON.stringify(peerRuns.map((x) => ({ ...x, memEnd: { ...x.memEnd } })), null, 1));
}

main().catch((err) => {
  log(String(err && err.stack || err));
  process.exit(1);
});
