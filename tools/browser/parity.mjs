#!/usr/bin/env node
// parity.mjs: does a bundle rank in Chromium as the native CLI ranks it? For each bundle, the
// test queries of a BEIR collection go through the bundle's own demo page in headless Debian
// chromium (sbmoe.js, the worker, the WebAssembly module with its SIMD128 kernels:
// search(q, {k, mode: 'dense'})) and through `sbmoe search --model BUNDLE/model --index
// BUNDLE/index.idx --json` natively; the top-k ids and scores are compared. Writes a Markdown
// report (make browser-parity: results/browser-parity.md).
//
//   node tools/browser/parity.mjs --bundle out/bench-browser/scifact-fp32 \
//        [--bundle out/bench-browser/scifact-int8 --limit 50] [--data ../shared/data/scifact]
//        [--native simd=bin/sbmoe --native scalar=bin/sbmoe-scalar] [--k 10] [--tolerance 1e-5]
//        [--out results/browser-parity.md]
//
// --limit N applies to the --bundle before it: the first N test queries only (a spot check).
// --native LABEL=BINARY: a native sbmoe to compare with (default simd=bin/sbmoe); each bundle is
// compared with each. bin/sbmoe-scalar, built without GOEXPERIMENT=simd, runs the scalar kernels.
// With --strict, the exit status is 1 when a ranking or a score against the first --native is off.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { launch, openPage, repoRoot } from './chromium.mjs';
import { startServer } from './serve.mjs';
import { readJsonl } from './bench-peer.mjs';

const log = (...a) => process.stderr.write(a.join(' ') + '\n');

function parseArgs(argv) {
  const o = { bundles: [], data: path.resolve(repoRoot, '..', 'shared', 'data', 'scifact'), natives: [], k: 10, tolerance: 1e-5, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--bundle': o.bundles.push({ dir: v(), limit: 0 }); break;
      case '--limit': o.bundles[o.bundles.length - 1].limit = Number(v()); break;
      case '--data': o.data = v(); break;
      case '--native': { const [label, bin] = v().split('='); o.natives.push({ label, bin }); break; }
      case '--k': o.k = Number(v()); break;
      case '--tolerance': o.tolerance = Number(v()); break;
      case '--out': o.out = v(); break;
      case '--strict': o.strict = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.bundles.length) throw new Error('no --bundle given');
  if (!o.natives.length) o.natives.push({ label: 'simd', bin: 'bin/sbmoe' });
  return o;
}

// testQueries: the queries of qrels/test.tsv, in the order of queries.jsonl.
function testQueries(data) {
  const ids = new Set(fs.readFileSync(path.join(data, 'qrels', 'test.tsv'), 'utf8').split('\n').slice(1)
    .map((l) => l.split('\t')[0]).filter(Boolean));
  return readJsonl(path.join(data, 'queries.jsonl')).filter((q) => ids.has(String(q._id ?? q.id)))
    .map((q) => ({ id: String(q._id ?? q.id), text: q.text }));
}

function native(bin, o, dir, queries) {
  const t0 = performance.now();
  const r = spawnSync(path.resolve(repoRoot, bin), ['search', '--model', path.join(dir, 'model'), '--index', path.join(dir, 'index.idx'),
    '--json', '--k', String(o.k), '--threads', '1'], { input: queries.map((q) => q.text.replace(/\n/g, ' ')).join('\n') + '\n', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`sbmoe search: ${r.stderr}`);
  const out = r.stdout.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l).hits.map((h) => ({ id: h.id, score: h.score })));
  if (out.length !== queries.length) throw new Error(`sbmoe search: ${out.length} answers to ${queries.length} queries`);
  return { results: out, ms: performance.now() - t0 };
}

async function browser(o, dir, queries, version) {
  const server = await startServer({ root: dir, coi: true });
  const b = await launch();
  version.chromium = b.version();
  try {
    const page = await openPage(b, server.url + 'index.html');
    await page.waitForFunction(() => window.sbmoeSearch || document.getElementById('status').className === 'error', null, { timeout: 300000 });
    const info = await page.evaluate(() => (window.sbmoeSearch ? window.sbmoeSearch.info : { error: document.getElementById('status').textContent }));
    if (info.error) throw new Error(`${dir}: the page did not open the bundle: ${info.error}`);
    const t0 = performance.now();
    const results = await page.evaluate(async ({ texts, k }) => {
      const all = [];
      for (const q of texts) all.push((await window.sbmoeSearch.search(q, { k, mode: 'dense' })).map((h) => ({ id: h.id, score: h.score })));
      return all;
    }, { texts: queries.map((q) => q.text), k: o.k });
    return { results, info, ms: performance.now() - t0 };
  } finally {
    await b.close();
    await server.close();
  }
}

function compare(a, b) {
  let sameIds = 0, sameSet = 0, maxDiff = 0, maxAt = null;
  const mismatches = [];
  for (let i = 0; i < a.length; i++) {
    const ia = a[i].map((h) => h.id), ib = b[i].map((h) => h.id);
    if (ia.join('\n') === ib.join('\n')) sameIds++;
    else mismatches.push(i);
    if ([...ia].sort().join('\n') === [...ib].sort().join('\n')) sameSet++;
    const byId = new Map(b[i].map((h) => [h.id, h.score]));
    for (const h of a[i]) {
      if (!byId.has(h.id)) continue;
      const d = Math.abs(h.score - byId.get(h.id));
      if (d > maxDiff) { maxDiff = d; maxAt = { query: i, id: h.id }; }
    }
  }
  return { sameIds, sameSet, maxDiff, maxAt, mismatches };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const all = testQueries(o.data);
  const version = {};
  const rows = [];
  let ok = true;
  for (const bd of o.bundles) {
    const dir = path.resolve(repoRoot, bd.dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const queries = bd.limit ? all.slice(0, bd.limit) : all;
    log(`${bd.dir}: ${queries.length} queries in chromium ...`);
    const c = await browser(o, dir, queries, version);
    for (const [i, nat] of o.natives.entries()) {
      log(`${bd.dir}: ${queries.length} queries natively (${nat.label}: ${nat.bin}) ...`);
      const n = native(nat.bin, o, dir, queries);
      n.kernels = nat.label;
      const cmp = compare(c.results, n.results);
      const pass = cmp.sameIds === queries.length && cmp.maxDiff <= o.tolerance;
      if (i === 0) ok &&= pass;
      rows.push({ bd, manifest, queries, n, c, cmp, pass, nat });
      log(`  same top-${o.k} ids ${cmp.sameIds}/${queries.length}, max score difference ${cmp.maxDiff.toExponential(2)}`);
    }
  }
  const cmd = `node tools/browser/parity.mjs ${process.argv.slice(2).join(' ')}`;
  const L = [];
  L.push('# Browser parity: a bundle in Chromium ranks as the native CLI', '');
  L.push(`Written by \`${cmd}\` (\`make browser-parity\`) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC:`,
    `${os.cpus()[0]?.model}, ${os.cpus().length} cores (shared with other jobs), Chromium ${version.chromium} headless.`, '');
  L.push(`Each query goes through the bundle's own demo page (\`sbmoe.js\`, the Web Worker, the WebAssembly module):`,
    `\`search(q, {k: ${o.k}, mode: 'dense'})\`, and natively through \`sbmoe search --model BUNDLE/model --index BUNDLE/index.idx --json --k ${o.k} --threads 1\``,
    `(${o.natives.map((x) => `${x.label}: \`${x.bin}\``).join(', ')}; \`bin/sbmoe\` is built with GOEXPERIMENT=simd and picks this CPU's kernels, \`bin/sbmoe-scalar\` without it runs the scalar twins).`,
    `Queries: the SciFact test queries (\`qrels/test.tsv\`), in the order of \`queries.jsonl\`. Scores are dot products of`,
    `unit vectors; the tolerance is ${o.tolerance}.`, '');
  L.push(`| bundle | weights | queries | Chromium kernels | native | same top-${o.k} ids, same order | same top-${o.k} set | max score difference | within ${o.tolerance} |`);
  L.push('|---|---|---:|---|---|---:|---:|---:|---|');
  for (const r of rows) {
    L.push(`| \`${r.bd.dir}\` | ${r.manifest.weights} | ${r.queries.length}${r.bd.limit ? ' (spot check)' : ''} | ${r.c.info.kernels} | ${r.nat.label} | ${r.cmp.sameIds} / ${r.queries.length} | ${r.cmp.sameSet} / ${r.queries.length} | ${r.cmp.maxDiff.toExponential(2)} | ${r.pass ? 'yes' : '**no**'} |`);
  }
  L.push('');
  for (const r of rows) {
    const m = r.cmp.mismatches.slice(0, 5);
    if (!m.length) continue;
    L.push(`Rankings that differ, \`${r.bd.dir}\` against ${r.nat.label} (first ${m.length} of ${r.cmp.mismatches.length}):`, '');
    for (const i of m) {
      const a = r.c.results[i], b = r.n.results[i];
      const j = a.findIndex((h, x) => h.id !== b[x]?.id);
      L.push(`- query ${r.queries[i].id} "${r.queries[i].text}": from rank ${j + 1}, Chromium ${a.slice(j, j + 3).map((h) => `${h.id} ${h.score}`).join(', ')}; native ${b.slice(j, j + 3).map((h) => `${h.id} ${h.score}`).join(', ')}`);
    }
    L.push('');
  }
  L.push('Times (not a benchmark): ' + rows.map((r) => `${r.manifest.weights} ${r.queries.length} queries ${(r.c.ms / 1000).toFixed(1)} s in Chromium, ${(r.n.ms / 1000).toFixed(1)} s natively ${r.nat.label} (with the model load)`).join('; ') + '.');
  const text = L.join('\n') + '\n';
  if (o.out) fs.writeFileSync(path.resolve(repoRoot, o.out), text);
  process.stdout.write(text);
  process.exit(ok || !o.strict ? 0 : 1);
}

main().catch((e) => { log(`parity: ${e.stack || e}`); process.exit(2); });
