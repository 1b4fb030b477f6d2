#!/usr/bin/env node
// bench-report.mjs: results/bench-browser.md from the JSON lines of bench-browser.mjs.
//
//   node tools/browser/bench-report.mjs out/bench-browser/results.jsonl "COMMAND" [PROFILE.json ...] > results/bench-browser.md
//
// Every number in the report comes from the lines (and the profiles, written by
// profile-sbmoe.mjs); COMMAND is the command line that made the lines.

import fs from 'node:fs';

const [file, command, ...profiles] = process.argv.slice(2);
if (!file) throw new Error('usage: bench-report.mjs RESULTS.jsonl [COMMAND]');
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const env = lines.find((l) => l.measure === 'env');
const envEnd = lines.find((l) => l.measure === 'env_end');
const get = (system, key, measure, extra = {}) => lines.find((l) => l.system === system && (system === 'sbmoe' ? l.name === key : l.dtype === key)
  && l.measure === measure && Object.entries(extra).every(([k, v]) => l[k] === v));

const MB = (b) => (b / 1e6).toFixed(2);
const MiB = (b) => (b / 2 ** 20).toFixed(0);
const f0 = (x) => Math.round(x).toLocaleString('en-US');
const f1 = (x) => x.toFixed(1);
const ratio = (a, b) => (a == null || b == null || !b ? '–' : (a / b).toFixed(2));

const out = [];
const p = (...xs) => out.push(...xs);
p('# Browser benchmark: sbmoe and transformers.js in one Chromium run', '');
p(`Written by \`make bench-browser\` (\`bash tools/browser/bench.sh bench\`): \`${command || 'node tools/browser/bench-browser.mjs'}\`, then`,
  `\`node tools/browser/bench-report.mjs\` on its lines (out/bench-browser/results.jsonl). Run ${env.date.slice(0, 16).replace('T', ' ')} UTC on`,
  `${env.cpu}, ${env.cores} cores, **shared with other engineers' jobs** (load average ${env.loadavgStart.map((x) => x.toFixed(1)).join(' / ')} at the start,`,
  `${envEnd.loadavgEnd.map((x) => x.toFixed(1)).join(' / ')} at the end): single numbers move between runs; the ratios come from interleaved runs of the same round.`, '');
p(`Chromium ${env.chromium} headless (Debian), one tab per freshly launched browser with an empty profile, served from 127.0.0.1 by`,
  '`tools/browser/serve.mjs` with COOP/COEP and Brotli (`Content-Encoding: br`). transformers.js ' + env.transformers + ' on onnxruntime-web',
  `${env.onnxruntimeWeb} (\`ort-wasm-simd-threaded.wasm\`, WebAssembly backend, 1 thread) in a module worker; sbmoe: the bundle's own`,
  '`sbmoe.js` and `sbmoe-worker.js` (Go WebAssembly, GOMAXPROCS 1) in a worker, wrapped only to read the worker\'s clock',
  '(`tools/browser/sbmoe-bench/`). Same model (all-MiniLM-L6-v2), same queries and documents. Each round runs every pair\'s',
  `transformers.js page, then its sbmoe page; round 1 is the full run, rounds 2–${env.coldRuns} measure the cold start only.`, '');
p('Pairs: ' + env.pairs.map((x) => `sbmoe \`${x.bundle}\` (${x.weights} weights, ${x.documents} SciFact documents indexed) against transformers.js ${x.dtype}`).join('; ') + '.', '');

const targets = [];
for (const pair of env.pairs) {
  const S = (m, e) => get('sbmoe', pair.name, m, e);
  const T = (m, e) => get('transformers.js', pair.dtype, m, e);
  const kernels = S('cold_start_ms')?.kernels;
  p(`## sbmoe ${pair.weights} against transformers.js ${pair.dtype}`, '');
  p(`| | sbmoe ${pair.weights} | transformers.js ${pair.dtype} | sbmoe ÷ transformers.js |`, '|---|---:|---:|---:|');
  const row = (name, s, t, r) => p(`| ${name} | ${s} | ${t} | ${r} |`);
  const cs = S('cold_start_ms'), ct = T('cold_start_ms');
  row(`cold start to first result, median of ${cs.runs.length} (ms)`, f0(cs.median), f0(ct.median), ratio(cs.median, ct.median));
  row('… keyword (BM25) search ready, median (ms, page clock)', f0(cs.lexicalMedian), '–', '–');
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
  const load = med(cs.phases.map((x) => x.modelLoadMs));
  const fetchMs = med(cs.phases.map((x) => x.modelFetchMs));
  row('… model + vector index: fetch and verify / load into the module, medians (ms)', `${f0(fetchMs)} / ${f0(load)}`, '–', '–');
  for (const [label, ph] of [['queries 1–100', 'first100'], ['queries 1–25', 'first25'], ['queries 26–100', 'after25'], ['queries 101–200 (steady)', 'steady']]) {
    const s = S('query_latency_ms', { phase: ph });
    const t = ph === 'first100' ? null : T('query_latency_ms', { phase: ph });
    if (!s) continue;
    if (ph === 'first100') {
      const t100 = T('query_latency_ms', { phase: 'first100' });
      row(`query vector p50 / p95, ${label} (ms)`, `${f1(s.p50)} / ${f1(s.p95)}`, t100 ? `${f1(t100.p50)} / ${f1(t100.p95)}` : '–', t100 ? `${ratio(s.p50, t100.p50)} / ${ratio(s.p95, t100.p95)}` : '–');
      continue;
    }
    row(`query vector p50 / p95, ${label} (ms)`, `${f1(s.p50)} / ${f1(s.p95)}`, t ? `${f1(t.p50)} / ${f1(t.p95)}` : '–', t ? `${ratio(s.p50, t.p50)} / ${ratio(s.p95, t.p95)}` : '–');
  }
  const ss = S('search_latency_ms', { phase: 'first100' });
  row('whole search (vector, index, BM25, fusion) p50 / p95, 100 other queries (ms)', `${f1(ss.p50)} / ${f1(ss.p95)}`, '–', '–');
  const ds = S('docs_per_s'), dt = T('docs_per_s');
  row(`documents/s at 128 tokens, batches of ${ds.batch}, ${ds.docs} documents`, f1(ds.value), f1(dt.value), ratio(ds.value, dt.value));
  const bs = S('bytes_before_first_result'), bt = T('bytes_before_first_result');
  row('bytes before the first result, transferred (MB, Brotli)', MB(bs.transferred), MB(bt.transferred), ratio(bs.transferred, bt.transferred));
  row('bytes before the first result, raw (MB)', MB(bs.raw), MB(bt.raw), ratio(bs.raw, bt.raw));
  row('… of which the keyword step (module, documents, BM25), transferred / raw (MB)', `${MB(bs.keywordStep.transferred)} / ${MB(bs.keywordStep.raw)}`, '–', '–');
  const ms = S('renderer_memory_bytes'), mt = T('renderer_memory_bytes');
  row(`renderer peak resident memory (MiB; a blank page: ${MiB(env.blankPageRendererPeakRss)})`, MiB(ms.peakRss), MiB(mt.peakRss), ratio(ms.peakRss, mt.peakRss));
  row('… above the blank page (MiB)', MiB(ms.peakRss - env.blankPageRendererPeakRss), MiB(mt.peakRss - env.blankPageRendererPeakRss),
    ratio(ms.peakRss - env.blankPageRendererPeakRss, mt.peakRss - env.blankPageRendererPeakRss));
  row('JS + wasm memory at the end, measureUserAgentSpecificMemory (MiB)', ms.uaSpecificMemory != null ? MiB(ms.uaSpecificMemory) : '–', mt.uaSpecificMemory != null ? MiB(mt.uaSpecificMemory) : '–', ratio(ms.uaSpecificMemory, mt.uaSpecificMemory));
  const tr = S('train_head_ms');
  row(`train the head on ${tr.pairs} feedback pairs (s; ${tr.result.epochs} epochs, ${tr.result.steps} steps)`, (tr.workerMs / 1000).toFixed(2), 'not offered', '–');
  const cS = S('cosine'), cT = T('cosine', { vs: 'sentence-transformers' });
  if (cS && cT) row(`cosine with sentence-transformers, min of ${cS.texts} texts`, cS.min.toFixed(6), `${cT.min.toFixed(6)} (${cT.minFit.toFixed(6)} without the 2 cut texts)`, '–');
  const cF = lines.find((l) => l.system === 'sbmoe' && l.name === pair.name && l.measure === 'cosine' && l.vs.startsWith('sbmoe'));
  if (cF) row(`cosine with ${cF.vs}, min of ${cF.texts}`, cF.min.toFixed(6), '–', '–');
  p('', `sbmoe kernels in Chromium: ${kernels}. Query vectors are timed inside each worker (sbmoe: the worker's clock around the call, JSON of the vector included; transformers.js: tokenizer, model, pooling, \`tolist()\`); the page-side round trip adds ${f1(S('query_latency_ms', { phase: 'first100' }).pageP50 - S('query_latency_ms', { phase: 'first100' }).p50)} ms at the p50 for sbmoe. Cold start runs (ms): sbmoe ${cs.runs.map(f0).join(', ')}; transformers.js ${ct.runs.map(f0).join(', ')}.`, '');

  // Targets of issue 8.
  const lat = S('query_latency_ms', { phase: 'first100' });
  const tLat = T('query_latency_ms', { phase: 'first100' });
  if (pair.weights === 'int8' && tLat) targets.push({ t: `int8 query latency at or below transformers.js ${pair.dtype}'s (p50, queries 1–100)`, v: `${f1(lat.p50)} ms vs ${f1(tLat.p50)} ms (${ratio(lat.p50, tLat.p50)}×)`, ok: lat.p50 <= tLat.p50 });
  if (pair.weights === 'fp32' && tLat) targets.push({ t: `fp32 query latency at or below transformers.js ${pair.dtype}'s (p50, queries 1–100)`, v: `${f1(lat.p50)} ms vs ${f1(tLat.p50)} ms (${ratio(lat.p50, tLat.p50)}×)`, ok: lat.p50 <= tLat.p50 });
  targets.push({ t: `cold start to first result under 1 s (sbmoe ${pair.weights})`, v: `${f0(cs.median)} ms (keyword results at ${f0(cs.lexicalMedian)} ms)`, ok: cs.median < 1000 });
  const q8b = get('transformers.js', 'q8', 'bytes_before_first_result');
  if (q8b) targets.push({ t: `bytes before the first result at most half of transformers.js q8's (sbmoe ${pair.weights})`, v: `${MB(bs.transferred)} MB vs ${MB(q8b.transferred)} MB transferred (${ratio(bs.transferred, q8b.transferred)}×), ${MB(bs.raw)} MB vs ${MB(q8b.raw)} MB raw (${ratio(bs.raw, q8b.raw)}×)`, ok: bs.transferred <= q8b.transferred / 2 && bs.raw <= q8b.raw / 2 });
  const q8m = get('transformers.js', 'q8', 'renderer_memory_bytes');
  if (q8m) targets.push({ t: `page memory below transformers.js q8's (sbmoe ${pair.weights}, renderer peak RSS)`, v: `${MiB(ms.peakRss)} MiB vs ${MiB(q8m.peakRss)} MiB`, ok: ms.peakRss < q8m.peakRss });
}

p('## Targets (issue 8)', '', '| target | measured | |', '|---|---|---|');
for (const t of targets) p(`| ${t.t} | ${t.v} | ${t.ok ? 'met' : '**missed**'} |`);
p('');

// What the bytes are, per file, for every system (largest first).
p('## Bytes before the first result, per file (transferred with Brotli / raw, MB)', '');
for (const l of lines.filter((x) => x.measure === 'bytes_before_first_result')) {
  const fl = Object.entries(l.files).sort((a, b) => b[1].transferred - a[1].transferred);
  const big = fl.filter(([, v]) => v.raw >= 100e3).map(([k, v]) => `\`${k.replace(/^\/(models\/[^/]+\/)?/, '')}\` ${MB(v.transferred)} / ${MB(v.raw)}`);
  const rest = fl.filter(([, v]) => v.raw < 100e3).reduce((a, [, v]) => a + v.transferred, 0);
  p(`- ${l.system} ${l.name || l.dtype}: ${big.join(', ')}; ${fl.length - big.length} smaller files ${MB(rest)}.`);
}
p('');

// What would close the gaps: the figures behind each, from the lines and the profiles.
const prof = Object.fromEntries(profiles.map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))).map((x) => [x.weights, x]));
const share = (w, phase, fn) => prof[w]?.phases[phase].top.filter((r) => r.fn.includes(fn)).reduce((a, r) => a + r.share, 0);
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(0)} %`);
const sb = (name, m, e) => get('sbmoe', name, m, e);
const fpName = env.pairs.find((x) => x.weights === 'fp32')?.name, i8Name = env.pairs.find((x) => x.weights === 'int8')?.name;
p('## Where the gaps are and what would close them', '');
if (fpName && i8Name && prof.fp32 && prof.int8) {
  const q8b = get('transformers.js', 'q8', 'bytes_before_first_result');
  const i8b = sb(i8Name, 'bytes_before_first_result');
  const file = (l, re) => Object.entries(l.files).find(([k]) => re.test(k))?.[1];
  const m8 = file(i8b, /model\.int8\.safetensors$/), mq = file(q8b, /model_quantized\.onnx$/), ix = file(i8b, /\/index\.idx$/);
  p(`- **Query latency.** The encoder's matrix products are the time: the 4×8 float tile and the rows below it take ${pct(share('fp32', 'encode', 'SIMD128'))} of an fp32 encode, the int8 tile ${pct(share('int8', 'encode', 'tile2x4Int8SIMD128'))} of an int8 one`,
    '  (profiles below). They are `simd/archsimd` code: f32x4 multiply then add (SIMD128 has no fused multiply-add, and archsimd does not offer',
    '  relaxed SIMD), and for int8 widening multiplies and adds, because archsimd does not expose `i32x4.dot_i16x8_s`. onnxruntime-web runs',
    '  hand-written kernels and gets faster for ~100 calls after load, which sbmoe does not (compare the 1–25, 26–100 and 101–200 rows).',
    '  What would close it: B packed in contiguous 8-wide panels (sequential loads, one bounds check per panel instead of one per step; a',
    '  4×16 tile was tried and is slower: it needs more live vectors than the 16 SIMD registers V8 allocates on x86-64), and for int8 a `.s`',
    '  kernel with `i32x4.dot_i16x8_s`, measured faster than the archsimd form in tools/browser/README.md ("int8 on wasm"). Already done:',
    '  the rows below the tiles in SIMD128 (they were scalar code) and the weights digest computed on first use instead of at load.');
  p(`- **Bytes.** The int8 weights are ${MB(m8.raw)} MB and compress to ${MB(m8.transferred)} MB; transformers.js's q8 file is ${MB(mq.raw)} MB and compresses to`,
    `  ${MB(mq.transferred)} MB. Per-row scales use the whole int8 range (cosine ${sb(i8Name, 'cosine', { vs: 'sentence-transformers' })?.min.toFixed(4)} with the reference model);`,
    `  q8's one scale per tensor leaves most values small, which compresses but costs accuracy (cosine ${get('transformers.js', 'q8', 'cosine', { vs: 'sentence-transformers' })?.min.toFixed(4)}). sbmoe also sends`,
    `  what transformers.js does not have: the vector index (${MB(ix.transferred)} MB, float32 vectors; \`--int8-index\` makes it 4× smaller), the documents and the BM25 index.`,
    `  Keyword results need only the first step, ${MB(i8b.keywordStep.transferred)} MB. What would close it: \`--int8-index\`, pruning the embedding table to the corpus's`,
    '  vocabulary (half of the int8 weights; `--prune-vocab`), and 4-bit weights for the rest.');
  const c8 = sb(i8Name, 'cold_start_ms');
  p(`- **Cold start.** Neither system starts in 1 s on this shared machine (transformers.js q8: ${f0(get('transformers.js', 'q8', 'cold_start_ms').median)} ms). sbmoe's keyword search is ready at`,
    `  ${f0(c8.lexicalMedian)} ms (int8); the model's fetch and check take ${f0(c8.phases.map((x) => x.modelFetchMs).sort((a, b) => a - b)[1] ?? c8.phases[0].modelFetchMs)} ms and its load ${f0(c8.phases.map((x) => x.modelLoadMs).sort((a, b) => a - b)[1] ?? c8.phases[0].modelLoadMs)} ms (medians). In the profile (the page's main`,
    `  thread, no checksums, no cache) the int8 model loads in Go in ${f0(prof.int8.phases.load.result.t.loadModel)} ms. What would close it: the module compiled while it streams`,
    '  (`WebAssembly.compileStreaming`, where it now waits for the whole file and its SHA-256), the model fetched in parallel with the first step,',
    '  and a smaller module (7.4 MB raw).');
  const mf = sb(fpName, 'renderer_memory_bytes');
  p(`- **Memory.** The int8 bundle's renderer peaks below q8's; the fp32 one (${MiB(mf.peakRss)} MiB) holds an fp32 model and cannot be below an int8 one. (\`measureUserAgentSpecificMemory\``,
    `  reports ${MiB(sb(i8Name, 'renderer_memory_bytes').uaSpecificMemory)} MiB for the sbmoe pages, so it does not see the worker's WebAssembly memory there (not investigated); the resident set does.)`);
  p('- **Documents/s.** The same products at 8×128 tokens: what speeds up queries speeds this up.');
}
p('');
for (const f of profiles) {
  const pr = JSON.parse(fs.readFileSync(f, 'utf8'));
  const t = pr.phases.load.result.t;
  p(`## Profile: sbmoe ${pr.weights} (\`${pr.bundle}\`)`, '');
  p('Written by `node tools/browser/profile-sbmoe.mjs` in the same `make bench-browser`: the bundle\'s files and a build of the',
    'module that keeps its function names, loaded on the main thread of a page (no worker, no checksums, no Cache API) so that the',
    `DevTools CPU profiler (CDP \`Profiler\`, 100 µs sampling) sees it; then ${pr.queries} single 10-word queries through \`encode\` and the`,
    'same through `search`. Self time per function (Go names, as the wasm name section gives them):', '');
  p(`Load steps (ms): fetch docs + BM25 + module ${f0(t.fetchFirst)}, compile and start the module ${f0(t.instantiate)}, open the keyword index ${f0(t.openLexical)},`,
    `fetch model + vector index ${f0(t.fetchModel)}, **load the model in Go ${f0(t.loadModel)}**. Per query: encode ${f1(pr.phases.encode.result)} ms, search ${f1(pr.phases.search.result)} ms.`, '');
  for (const [name, label] of [['load', 'the whole load'], ['encode', `${pr.queries} encodes`], ['search', `${pr.queries} searches`]]) {
    const ph = pr.phases[name];
    p(`| ${label}: function | self ms | share |`, '|---|---:|---:|');
    for (const r of ph.top.slice(0, 10)) p(`| \`${r.fn}\` | ${f1(r.ms)} | ${(r.share * 100).toFixed(1)} % |`);
    p('');
  }
}
process.stdout.write(out.join('\n') + '\n');
