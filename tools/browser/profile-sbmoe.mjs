#!/usr/bin/env node
// profile-sbmoe.mjs: where a bundle's time goes in Chromium. The bundle's files and a build
// of the module with its function names (the bundle's own is stripped) are served with
// sbmoe-bench/profile.html, which loads them on the page's main thread; the DevTools CPU
// profiler (CDP Profiler, 100 µs sampling) records the model load and then N single-query
// encodes. Prints one JSON object: the load steps' times and, per phase, the functions with
// the most self time (wasm functions by their Go names).
//
//   node tools/browser/profile-sbmoe.mjs --bundle DIR --wasm out/bench-browser/sbmoe-names.wasm [--queries 100]
//        [--data ../shared/data/scifact] [--top 25]
//
// The module with names: GOEXPERIMENT=simd GOOS=js GOARCH=wasm go build -trimpath -o FILE ./wasm/browser
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { launch, openPage, repoRoot } from './chromium.mjs';
import { startServer } from './serve.mjs';
import { readJsonl, link } from './bench-peer.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);

function parseArgs(argv) {
  const o = { queries: 100, data: path.resolve(repoRoot, '..', 'shared', 'data', 'scifact'), top: 25, work: 'out/bench-browser/profile-site' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--bundle': o.bundle = path.resolve(repoRoot, v()); break;
      case '--wasm': o.wasm = path.resolve(repoRoot, v()); break;
      case '--queries': o.queries = Number(v()); break;
      case '--data': o.data = v(); break;
      case '--top': o.top = Number(v()); break;
      case '--work': o.work = v(); break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.bundle || !o.wasm) throw new Error('usage: profile-sbmoe.mjs --bundle DIR --wasm FILE');
  o.work = path.resolve(repoRoot, o.work);
  return o;
}

// selfTimes: ms of self time per function name in a CDP Profiler profile.
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) || 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  const out = new Map();
  let total = 0;
  for (const [id, ms] of dt) {
    const f = byId.get(id).callFrame;
    const name = f.functionName || `(${f.url ? path.basename(f.url) : 'anonymous'})`;
    out.set(name, (out.get(name) || 0) + ms);
    total += ms;
  }
  return { total, rows: [...out].sort((a, b) => b[1] - a[1]) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  await fsp.rm(o.work, { recursive: true, force: true });
  for (const f of ['manifest.json', 'docs.json', 'lexical.idx', 'index.idx', 'wasm_exec.js']) await link(path.join(o.bundle, f), path.join(o.work, f));
  const m = JSON.parse(fs.readFileSync(path.join(o.bundle, 'manifest.json'), 'utf8'));
  for (const f of m.files) if (f.path.startsWith('model/')) await link(path.join(o.bundle, f.path), path.join(o.work, f.path));
  await link(o.wasm, path.join(o.work, 'sbmoe-names.wasm'));
  await fsp.copyFile(path.join(here, 'sbmoe-bench', 'profile.html'), path.join(o.work, 'profile.html'));
  const words = (s) => s.split(/\s+/).filter(Boolean);
  const queries = [...new Set(readJsonl(path.join(o.data, 'queries.jsonl')).map((q) => words(q.text)).filter((w) => w.length >= 10).map((w) => w.slice(0, 10).join(' ')))].slice(0, o.queries);

  const server = await startServer({ root: o.work });
  const browser = await launch();
  const out = { bundle: path.relative(repoRoot, o.bundle), weights: m.weights, queries: queries.length, phases: {} };
  try {
    const page = await openPage(browser, server.url + 'profile.html');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    const phase = async (name, f) => {
      await cdp.send('Profiler.start');
      const r = await f();
      const { profile } = await cdp.send('Profiler.stop');
      const s = selfTimes(profile);
      out.phases[name] = { result: r, profiledMs: +s.total.toFixed(1), top: s.rows.slice(0, o.top).map(([fn, ms]) => ({ fn, ms: +ms.toFixed(1), share: +(ms / s.total).toFixed(4) })) };
    };
    await phase('load', () => page.evaluate(() => window.load('sbmoe-names.wasm')));
    await page.evaluate((q) => window.encodeAll(q, 'encode'), queries.slice(0, 5)); // warm-up
    await phase('encode', () => page.evaluate((q) => window.encodeAll(q, 'encode'), queries));
    await phase('search', () => page.evaluate((q) => window.encodeAll(q, 'search'), queries));
  } finally {
    await browser.close();
    await server.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(`profile-sbmoe: ${e.stack || e}\n`); process.exit(1); });
