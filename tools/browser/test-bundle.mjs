#!/usr/bin/env node
// test-bundle.mjs: drives a bundle written by `sbmoe bundle` in headless Chromium, the way a
// visitor's page uses it, and prints one JSON object with what it saw. The Go test
// (wasm/browsertest) writes the bundle and the expectations, runs this, and compares.
//
//   node tools/browser/test-bundle.mjs --bundle DIR --spec spec.json [--coi] [--screenshot out.png]
//
// spec.json: {"queries": [...], "k": 10, "feedback": [{"query","doc_id"}], "learn": {...},
//             "corrupt": "DIR of a damaged copy, or empty"}
// Output: {"info", "results": [[{id,score}]], "head": base64, "afterLearn": [[...]],
//          "reload": {...}, "reset": {...}, "corruptError": "...", "errors": [...]}
import fs from 'node:fs/promises';
import { launch, openPage, screenshot } from './chromium.mjs';
import { startServer } from './serve.mjs';

function args() {
  const out = { coi: false };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--bundle': out.bundle = a[++i]; break;
      case '--spec': out.spec = a[++i]; break;
      case '--coi': out.coi = true; break;
      case '--screenshot': out.screenshot = a[++i]; break;
      case '--query': out.query = a[++i]; break;
      default: throw new Error(`unknown argument ${a[i]}`);
    }
  }
  if (!out.bundle || !out.spec) throw new Error('usage: test-bundle.mjs --bundle DIR --spec FILE [--coi] [--screenshot PNG]');
  return out;
}

// ready waits until the demo page has opened the bundle (window.sbmoeSearch) or shown an error.
async function ready(page) {
  await page.waitForFunction(() => window.sbmoeSearch || document.getElementById('status').className === 'error',
    null, { timeout: 120000 });
  return page.evaluate(() => window.sbmoeSearch ? { info: window.sbmoeSearch.info }
    : { error: document.getElementById('status').textContent });
}

async function main() {
  const opt = args();
  const spec = JSON.parse(await fs.readFile(opt.spec, 'utf8'));
  const k = spec.k || 10;
  const server = await startServer({ root: opt.bundle, coi: opt.coi, mounts: spec.corrupt ? { '/corrupt': spec.corrupt } : {} });
  const browser = await launch();
  const out = { errors: [] };
  try {
    const context = await browser.newContext();
    const page = await openPage(browser, server.url + 'index.html', { context });
    const first = await ready(page);
    if (first.error) throw new Error(`the page did not open the bundle: ${first.error}`);
    out.info = first.info;
    out.crossOriginIsolated = await page.evaluate(() => self.crossOriginIsolated);
    out.results = await page.evaluate(async ({ queries, k }) => {
      const all = [];
      for (const q of queries) all.push((await window.sbmoeSearch.search(q, { k })).map((h) => ({ id: h.id, score: h.score })));
      return all;
    }, { queries: spec.queries, k });
    if (opt.query) {
      await page.fill('#q', opt.query);
      await page.waitForFunction(() => document.querySelectorAll('#results li').length > 0, null, { timeout: 30000 });
      out.shown = await page.evaluate(() => [...document.querySelectorAll('#results li .title')].map((e) => e.textContent));
      if (opt.screenshot) await screenshot(page, opt.screenshot, { fullPage: true });
    }
    if (spec.feedback && spec.feedback.length) {
      out.learn = await page.evaluate(async ({ feedback, learn }) => {
        for (const f of feedback) await window.sbmoeSearch.feedback(f.query, f.doc_id);
        const progress = [];
        const r = await window.sbmoeSearch.trainHead({ ...learn, onProgress: (p) => progress.push(p.step) });
        const head = await window.sbmoeSearch.exportHead();
        let bin = '';
        for (const b of head) bin += String.fromCharCode(b);
        return { result: r, progressCalls: progress.length, head: btoa(bin) };
      }, { feedback: spec.feedback, learn: spec.learn || {} });
      out.afterLearn = await page.evaluate(async ({ queries, k }) => {
        const all = [];
        for (const q of queries) all.push((await window.sbmoeSearch.search(q, { k })).map((h) => ({ id: h.id, score: h.score })));
        return all;
      }, { queries: spec.queries, k });
      // A reload finds the learned head in IndexedDB and downloads nothing: the Cache API has the files.
      await page.reload();
      const again = await ready(page);
      out.reload = again.info || again;
      out.afterReload = await page.evaluate(async ({ queries, k }) => {
        const all = [];
        for (const q of queries) all.push((await window.sbmoeSearch.search(q, { k })).map((h) => ({ id: h.id, score: h.score })));
        return all;
      }, { queries: spec.queries, k });
      await page.evaluate(() => window.sbmoeSearch.resetHead({ forgetFeedback: true }));
      await page.reload();
      const reset = await ready(page);
      out.reset = reset.info || reset;
    }
    // Chromium reports some completed worker fetches as net::ERR_ABORTED (a known CDP quirk);
    // every file is checked against its SHA-256 by the worker, so network events are not errors.
    for (const m of page.messages) if (m.type === 'error' && m.source !== 'network') out.errors.push(`${m.source}: ${m.text}`);
    await context.close();
    if (spec.corrupt) {
      const ctx2 = await browser.newContext();
      const bad = await openPage(browser, server.url + 'corrupt/index.html', { context: ctx2 });
      const r = await ready(bad);
      out.corruptError = r.error || null;
      await ctx2.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(`test-bundle: ${e.stack || e}\n`); process.exit(1); });
