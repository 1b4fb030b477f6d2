#!/usr/bin/env node
// bench-site.mjs: sbmoe site and Pagefind side by side, each through its real browser
// search, in the same headless Chromium, over one site that carries both indexes
// (_sbmoe/ written by `sbmoe site`, pagefind/ by `pagefind --site`). Prints one JSON
// object; `sbmoe-benchsite report` scores it and writes results/bench-site.md.
//
//   node tools/browser/bench-site.mjs --site DIR --queries FILE.json [--k 100]
//        [--godoc DIR --demo "query one|query two|..."] > runs.json
//
// For each system, in a new browser context (empty caches) on a blank page of the site:
//   first:   from the first call to the first query's ten results with their excerpts
//            (sbmoe: open() with wait 'lexical', search(q, {k: 10, highlight: true});
//            Pagefind: import pagefind.js, search(q), data() of the top ten), its time and
//            the bytes of the requests it made (served bytes, after Content-Encoding);
//   ten:     the same for the first ten queries; for sbmoe also everything once the model
//            has loaded (the model is fetched in the background after the first results);
//   run:     every query's top k URLs (sbmoe: hybrid, once the model is ready), and the
//            median time per query; for Pagefind also words: each distinct word of the
//            query searched alone and the pages ranked by their summed scores.
// widget:   sbmoe's search box on the site's home page: from the first keystroke to the
//            first result shown, the box focused as soon as the widget has started; and
//            warm: the keyword step loaded while the page was idle, the query entered at
//            once, from that input to the first result shown.
// godoc:    the demo queries on the Go documentation site, top five of each system.
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch } from './chromium.mjs';
import { startServer } from './serve.mjs';

function args() {
  const out = { k: 100 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--site': out.site = a[++i]; break;
      case '--queries': out.queries = a[++i]; break;
      case '--k': out.k = Number(a[++i]); break;
      case '--godoc': out.godoc = a[++i]; break;
      case '--demo': out.demo = a[++i].split('|'); break;
      default: throw new Error(`unknown argument ${a[i]}`);
    }
  }
  if (!out.site || !out.queries) throw new Error('usage: bench-site.mjs --site DIR --queries FILE [--k N] [--godoc DIR --demo "q|q"]');
  return out;
}

const BLANK = '__bench.html';
// The blank page names its icon, so that the browser asks for no /favicon.ico (a 404).
const BLANK_HTML = '<!doctype html><title>bench</title><link rel="icon" href="data:,">';

async function blankPage(browser, server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(server.url + BLANK);
  return { context, page, errors };
}

// sum adds up the bytes of the server's log entries that pass keep.
function sum(log, keep = () => true) {
  let body = 0, raw = 0, n = 0;
  for (const r of log) if (keep(r.path)) { body += r.bodyBytes; raw += r.rawBytes; n++; }
  return { requests: n, bytes: body, rawBytes: raw };
}

const model = (p) => p.includes('/_sbmoe/model/') || p.endsWith('/_sbmoe/index.idx');

async function sbmoe(browser, server, queries, k) {
  const { context, page, errors } = await blankPage(browser, server);
  server.reset();
  const first = await page.evaluate(async (q) => {
    const t0 = performance.now();
    const { open } = await import('/_sbmoe/sbmoe.js');
    const r = await open('/_sbmoe/', { wait: 'lexical' });
    const hits = await r.search(q, { k: 10, highlight: true });
    window.__r = r;
    return { ms: performance.now() - t0, mode: r.mode, hits: hits.length };
  }, queries[0].text);
  const log1 = server.stats().log.slice();
  const ten = await page.evaluate(async (qs) => {
    const t0 = performance.now();
    const modes = [];
    for (const q of qs) { await window.__r.search(q, { k: 10, highlight: true }); modes.push(window.__r.mode); }
    return { ms: performance.now() - t0, modes };
  }, queries.slice(1, 10).map((q) => q.text));
  const log10 = server.stats().log.slice();
  const ready = await page.evaluate(async () => { const t0 = performance.now(); await window.__r.ready; return { ms: performance.now() - t0, info: window.__r.info }; });
  const logReady = server.stats().log.slice();
  const run = await page.evaluate(async ({ qs, k }) => {
    const out = {}; const times = [];
    for (const q of qs) {
      const t0 = performance.now();
      const hits = await window.__r.search(q.text, { k });
      times.push(performance.now() - t0);
      out[q.id] = hits.map((h) => h.url || h.id);
    }
    times.sort((a, b) => a - b);
    return { runs: out, medianMs: times[Math.floor(times.length / 2)], mode: window.__r.mode };
  }, { qs: queries, k });
  await context.close();
  return {
    first: { ...first, ...sum(log1, (p) => !model(p)), inFlightOrDone: sum(log1) },
    ten: { ...ten, ...sum(log10, (p) => !model(p)), all: sum(log10) },
    ready: { ...ready, ...sum(logReady) },
    run, errors,
  };
}

async function pagefind(browser, server, queries, k) {
  const { context, page, errors } = await blankPage(browser, server);
  server.reset();
  const first = await page.evaluate(async (q) => {
    const t0 = performance.now();
    const pf = await import('/pagefind/pagefind.js');
    const s = await pf.search(q);
    const top = await Promise.all(s.results.slice(0, 10).map((r) => r.data()));
    window.__pf = pf;
    return { ms: performance.now() - t0, hits: top.length, matched: s.results.length };
  }, queries[0].text);
  const log1 = server.stats().log.slice();
  const ten = await page.evaluate(async (qs) => {
    const t0 = performance.now();
    for (const q of qs) {
      const s = await window.__pf.search(q);
      await Promise.all(s.results.slice(0, 10).map((r) => r.data()));
    }
    return { ms: performance.now() - t0 };
  }, queries.slice(1, 10).map((q) => q.text));
  const log10 = server.stats().log.slice();
  const run = await page.evaluate(async ({ qs, k }) => {
    const out = {}; const times = []; const matched = [];
    for (const q of qs) {
      const t0 = performance.now();
      const s = await window.__pf.search(q.text);
      const data = await Promise.all(s.results.slice(0, k).map((r) => r.data()));
      times.push(performance.now() - t0);
      matched.push(s.results.length);
      out[q.id] = data.map((d) => d.url);
    }
    times.sort((a, b) => a - b);
    matched.sort((a, b) => a - b);
    return { runs: out, medianMs: times[Math.floor(times.length / 2)], medianMatched: matched[Math.floor(matched.length / 2)],
      noResults: matched.filter((m) => m === 0).length };
  }, { qs: queries, k });
  // Pagefind at its most forgiving: each distinct word of the query searched alone, the
  // pages ranked by the sum of their scores over the words (what a site could build on
  // pagefind.js for long queries; Pagefind's own search wants every known word on a page).
  const words = await page.evaluate(async ({ qs, k }) => {
    const out = {}; const times = [];
    for (const q of qs) {
      const t0 = performance.now();
      const terms = [...new Set(q.text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1))];
      const score = new Map(); const byId = new Map();
      for (const term of terms) {
        const s = await window.__pf.search(term);
        for (const r of s.results) { score.set(r.id, (score.get(r.id) || 0) + r.score); byId.set(r.id, r); }
      }
      const top = [...score.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
      const data = await Promise.all(top.map(([id]) => byId.get(id).data()));
      times.push(performance.now() - t0);
      out[q.id] = data.map((d) => d.url);
    }
    times.sort((a, b) => a - b);
    return { runs: out, medianMs: times[Math.floor(times.length / 2)] };
  }, { qs: queries, k });
  await context.close();
  return { first: { ...first, ...sum(log1) }, ten: { ...ten, ...sum(log10) }, run, words, errors };
}

// widget times sbmoe's search box on the home page: keystroke to first result.
async function widget(browser, server, query) {
  const context = await browser.newContext();
  const page = await context.newPage();
  server.reset();
  await page.goto(server.url + 'index.html');
  await page.waitForFunction(() => window.sbmoeWidget && window.sbmoeWidget.ready, null, { timeout: 60000 });
  const started = await page.evaluate(() => performance.now());
  await page.evaluate(() => {
    window.__first = {};
    document.getElementById('sbmoe-input').addEventListener('keydown', () => { if (!window.__first.key) window.__first.key = performance.now(); });
    const root = document.querySelector('[data-sbmoe-search]');
    new MutationObserver(() => {
      if (!window.__first.shown && document.querySelector('#sbmoe-results [role=option]')) {
        window.__first.shown = performance.now(); window.__first.phase = root.dataset.phase;
      }
    }).observe(root, { subtree: true, childList: true });
  });
  await page.focus('#sbmoe-input');
  await page.keyboard.type(query);
  await page.waitForFunction(() => window.__first.shown, null, { timeout: 120000 });
  const f = await page.evaluate(() => window.__first);
  // Once the model is ready, a keystroke's hybrid answer.
  await page.waitForFunction(() => document.querySelector('[data-sbmoe-search]').dataset.phase === 'ready', null, { timeout: 300000 });
  const hybrid = [];
  for (const ch of ' now') {
    const t = await page.evaluate(() => performance.now());
    await page.keyboard.type(ch);
    await page.waitForFunction((q) => document.querySelector('[data-sbmoe-search]').dataset.shown === q, query + ' now'.slice(0, hybrid.length + 1), { timeout: 60000 });
    hybrid.push((await page.evaluate(() => performance.now())) - t);
  }
  await context.close();
  return { keystrokeToFirstMs: f.shown - f.key, startToFirstMs: f.shown - started, phase: f.phase, widgetStartedMs: started,
    hybridKeystrokeMs: hybrid, warm: await widgetWarm(browser, server, query) };
}

// widgetWarm times the search box as a visitor who reads the page for a moment meets it:
// the keyword step loaded while the page was idle (the widget's default), then the whole
// query entered at once (one input event, as a paste does): from that event to the
// first result shown, and the mode it was answered in.
async function widgetWarm(browser, server, query) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + 'index.html');
  await page.waitForFunction(() => window.sbmoeWidget && window.sbmoeWidget.ready, null, { timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('[data-sbmoe-search]').dataset.phase === 'lexical', null, { timeout: 120000 });
  await page.evaluate(() => {
    window.__first = {};
    document.getElementById('sbmoe-input').addEventListener('input', () => { if (!window.__first.input) window.__first.input = performance.now(); });
    const root = document.querySelector('[data-sbmoe-search]');
    new MutationObserver(() => {
      if (!window.__first.shown && document.querySelector('#sbmoe-results [role=option]')) {
        window.__first.shown = performance.now(); window.__first.phase = root.dataset.phase;
      }
    }).observe(root, { subtree: true, childList: true });
  });
  await page.focus('#sbmoe-input');
  await page.keyboard.insertText(query);
  await page.waitForFunction(() => window.__first.shown, null, { timeout: 120000 });
  const f = await page.evaluate(() => window.__first);
  await context.close();
  return { inputToFirstMs: f.shown - f.input, phase: f.phase };
}

// godoc runs the demo queries on the Go documentation site through both systems.
async function godoc(browser, dir, queries) {
  const server = await startServer({ root: dir });
  await fs.writeFile(path.join(dir, BLANK), BLANK_HTML);
  try {
    const { context, page } = await blankPage(browser, server);
    const out = await page.evaluate(async (qs) => {
      const { open } = await import('/_sbmoe/sbmoe.js');
      const r = await open('/_sbmoe/');
      const pf = await import('/pagefind/pagefind.js');
      const res = [];
      for (const q of qs) {
        const s = (await r.search(q, { k: 5 })).map((h) => ({ title: h.title, heading: h.heading || '', url: h.url }));
        const found = await pf.search(q);
        const p = (await Promise.all(found.results.slice(0, 5).map((x) => x.data()))).map((d) => ({ title: d.meta.title, url: d.url,
          sub: (d.sub_results && d.sub_results[0] && d.sub_results[0].title) || '' }));
        res.push({ query: q, sbmoe: s, pagefind: p, pagefindMatched: found.results.length });
      }
      return res;
    }, queries);
    await context.close();
    return out;
  } finally {
    await server.close();
  }
}

async function main() {
  const opt = args();
  const queries = JSON.parse(await fs.readFile(opt.queries, 'utf8'));
  await fs.writeFile(path.join(opt.site, BLANK), BLANK_HTML);
  const server = await startServer({ root: opt.site });
  const browser = await launch();
  const out = { chromium: browser.version(), queries: queries.length, k: opt.k };
  try {
    process.stderr.write('pagefind ...\n');
    out.pagefind = await pagefind(browser, server, queries, opt.k);
    process.stderr.write('sbmoe ...\n');
    out.sbmoe = await sbmoe(browser, server, queries, opt.k);
    process.stderr.write('widget ...\n');
    out.widget = await widget(browser, server, queries[0].text);
    if (opt.godoc) {
      process.stderr.write('godoc ...\n');
      out.godoc = await godoc(browser, opt.godoc, opt.demo || []);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(`bench-site: ${e.stack || e}\n`); process.exit(1); });
