#!/usr/bin/env node
// test-site.mjs: a visitor's session with the search widget of a site that `sbmoe site`
// indexed, in headless Chromium; prints one JSON object with what it saw. The Go test
// (tools/sitetest) builds the site and the expectations, runs this and checks.
//
//   node tools/browser/test-site.mjs --site DIR --spec spec.json [--screenshot out.png]
//
// spec.json: {"start": "pkg/sync/",            the page the session starts on
//             "first": "wait for goroutines",  typed first, the moment the box has focus (keyword results:
//                                               the keyword step loaded when the page was idle)
//             "queries": ["...", ...],          each searched once the model is ready; results recorded
//             "keys": "query",                  arrows, Escape tried on its results
//             "clicks": [{"query", "key"?}],    each: search, choose the first result on this page (a
//                                               click, or the arrows and Enter with "key": true)
//             "shot": "query"}                  the results shown in the screenshot
import fs from 'node:fs/promises';
import { launch, openPage, screenshot } from './chromium.mjs';
import { startServer } from './serve.mjs';

function args() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--site': out.site = a[++i]; break;
      case '--spec': out.spec = a[++i]; break;
      case '--screenshot': out.screenshot = a[++i]; break;
      default: throw new Error(`unknown argument ${a[i]}`);
    }
  }
  if (!out.site || !out.spec) throw new Error('usage: test-site.mjs --site DIR --spec FILE [--screenshot PNG]');
  return out;
}

const root = '[data-sbmoe-search]';

// widgetStarted waits for the widget's first render.
async function widgetStarted(page) {
  await page.waitForFunction(() => window.sbmoeWidget && window.sbmoeWidget.ready, null, { timeout: 60000 });
}

async function phase(page) {
  return page.$eval(root, (el) => el.dataset.phase);
}

// waitPhase waits for the widget's phase (or an error).
async function waitPhase(page, want, timeout = 180000) {
  await page.waitForFunction(([sel, want]) => {
    const p = document.querySelector(sel).dataset.phase;
    return p === want || p === 'error';
  }, [root, want], { timeout });
  const p = await phase(page);
  if (p === 'error') throw new Error(`the widget failed: ${await page.$eval('#sbmoe-status', (e) => e.textContent)}`);
}

// search types a query into an empty box and waits for its results.
async function search(page, q) {
  await page.focus('#sbmoe-input');
  await page.fill('#sbmoe-input', '');
  await page.keyboard.type(q);
  await page.waitForFunction(([sel, q]) => document.querySelector(sel).dataset.shown === q, [root, q], { timeout: 60000 });
  return shown(page);
}

// shown is what the results panel shows.
async function shown(page) {
  return page.$$eval('#sbmoe-results [role=option]', (opts) => opts.map((o) => ({
    id: o.id,
    selected: o.getAttribute('aria-selected'),
    title: o.querySelector('.sbmoe-title > span').textContent,
    heading: o.querySelector('.sbmoe-heading')?.textContent || '',
    href: o.querySelector('a').getAttribute('href'),
    mark: o.querySelector('mark')?.textContent || '',
    snippet: o.querySelector('.sbmoe-snippet')?.textContent || '',
  })));
}

async function boxState(page) {
  return page.$eval('#sbmoe-input', (el) => ({
    value: el.value,
    expanded: el.getAttribute('aria-expanded'),
    active: el.getAttribute('aria-activedescendant'),
    panel: !!document.querySelector('.sbmoe-panel'),
    focused: document.activeElement === el,
  }));
}

async function learning(page) {
  return page.evaluate(() => window.sbmoeWidget.retriever.learning());
}

async function head(page) {
  return page.evaluate(async () => {
    const h = await window.sbmoeWidget.retriever.exportHead();
    if (!h) return null;
    let bin = '';
    for (const b of h) bin += String.fromCharCode(b);
    return btoa(bin);
  });
}

// reopen reloads the page and opens the retriever (a focus) until the model is ready.
async function reopen(page) {
  await page.reload();
  await widgetStarted(page);
  await page.focus('#sbmoe-input');
  await waitPhase(page, 'ready');
  return page.evaluate(() => window.sbmoeWidget.retriever.info);
}

async function main() {
  const opt = args();
  const spec = JSON.parse(await fs.readFile(opt.spec, 'utf8'));
  const server = await startServer({ root: opt.site });
  const browser = await launch();
  const out = { errors: [] };
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: 'light' });
    const page = await openPage(browser, server.url + spec.start, { context });
    await widgetStarted(page);
    // Once the page is idle the keyword step loads; the model waits for the visitor.
    await waitPhase(page, 'lexical', 60000);
    await page.waitForTimeout(500);
    out.idle = { phase: await phase(page), requests: server.stats().log.map((r) => r.path) };

    // The first query, typed as soon as the box has focus: answered by keywords while the
    // model downloads. Times are the page's clock, from the first keystroke.
    await page.evaluate((sel) => {
      window.__first = {};
      document.getElementById('sbmoe-input').addEventListener('keydown', () => {
        if (!window.__first.key) window.__first.key = performance.now();
      });
      new MutationObserver(() => {
        if (!window.__first.shown && document.querySelector('#sbmoe-results [role=option]')) {
          window.__first.shown = performance.now();
          window.__first.phase = document.querySelector(sel).dataset.phase;
        }
      }).observe(document.querySelector(sel), { subtree: true, childList: true });
    }, root);
    await page.focus('#sbmoe-input');
    await page.keyboard.type(spec.first);
    await page.waitForFunction(() => window.__first.shown, null, { timeout: 120000 });
    const first = await page.evaluate(() => window.__first);
    // The results of the whole query, read with the ranking that made them in one step: the
    // model may finish loading (and hybrid results replace the keyword ones) at any moment.
    await page.waitForFunction(([sel, q]) => document.querySelector(sel).dataset.shown === q, [root, spec.first], { timeout: 60000 });
    const mode = await page.$eval(root, (el) => el.dataset.mode);
    const results = await shown(page);
    const still = await page.$eval(root, (el) => el.dataset.mode);
    out.first = { ms: first.shown - first.key, phase: first.phase, mode: mode === still ? mode : 'changing', results };

    await waitPhase(page, 'ready');
    out.ready = await page.evaluate(() => window.sbmoeWidget.retriever.info);
    out.results = [];
    for (const q of spec.queries) out.results.push({ query: q, hits: await search(page, q) });

    // Keyboard: arrows move the highlighted result, Escape closes, then clears.
    await search(page, spec.keys);
    const keys = [];
    for (const k of ['ArrowDown', 'ArrowDown', 'ArrowUp', 'ArrowUp']) {
      await page.keyboard.press(k);
      const opts = await shown(page);
      keys.push({ key: k, ...(await boxState(page)), selected: opts.filter((o) => o.selected === 'true').map((o) => o.id) });
    }
    await page.keyboard.press('Escape');
    keys.push({ key: 'Escape', ...(await boxState(page)) });
    await page.keyboard.press('Escape');
    keys.push({ key: 'Escape', ...(await boxState(page)) });
    out.keys = keys;

    // Clicks on results of this page (the anchor changes; the page stays): each recorded,
    // and after enough of them the head learns when the page is idle.
    out.clicks = [];
    for (const c of spec.clicks) {
      const hits = await search(page, c.query);
      const here = new URL(page.url()).pathname;
      let i = hits.findIndex((h) => new URL(h.href, page.url()).pathname === here);
      if (i < 0) i = 0;
      const before = (await learning(page)).feedback;
      if (c.key) {
        for (let n = 0; n <= i; n++) await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
      } else {
        await page.click(`#sbmoe-option-${i} a`);
      }
      const want = new URL(hits[i].href, page.url()).href;
      const samePage = new URL(want).pathname === here;
      if (samePage) {
        await page.waitForFunction((want) => location.href === want, want, { timeout: 30000 });
      } else {
        await page.waitForURL(want, { timeout: 30000 });
        await widgetStarted(page);
      }
      const hash = decodeURIComponent(new URL(want).hash.slice(1));
      const click = { query: c.query, chose: hits[i].href, landed: page.url(), key: !!c.key, samePage,
        anchor: await page.evaluate((id) => !!document.getElementById(id), hash), panel: (await boxState(page)).panel };
      if (!samePage) {
        // Another page: its widget opens the retriever on focus; then back to the start.
        await page.focus('#sbmoe-input');
        await waitPhase(page, 'ready');
      }
      await page.waitForFunction(async (n) => (await window.sbmoeWidget.retriever.learning()).feedback > n, before, { timeout: 30000 });
      out.clicks.push(click);
      if (!samePage) {
        await page.goto(server.url + spec.start);
        await widgetStarted(page);
        await page.focus('#sbmoe-input');
        await waitPhase(page, 'ready');
      }
    }
    const t0 = Date.now();
    await page.waitForFunction(async () => (await window.sbmoeWidget.retriever.learning()).learned, null, { timeout: 300000 });
    out.learned = { ms: Date.now() - t0, learning: await learning(page), head: await head(page),
      text: await page.evaluate(() => document.querySelector('.sbmoe-learn')?.textContent || '') };

    // The head is kept for the next visit.
    out.reload = { info: await reopen(page), head: await head(page) };

    // The reset control forgets it.
    await search(page, spec.keys);
    out.resetText = await page.$eval('.sbmoe-learn', (e) => e.textContent).catch(() => '');
    await page.click('.sbmoe-reset');
    await page.waitForFunction(async () => !(await window.sbmoeWidget.retriever.learning()).learned, null, { timeout: 30000 });
    out.reset = { info: await reopen(page), head: await head(page) };

    // The page's colours: the widget follows a dark page.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction((sel) => document.querySelector(sel).dataset.theme === 'dark', root, { timeout: 10000 });
    out.theme = await page.$eval(root, (el) => ({ theme: el.dataset.theme, style: el.getAttribute('style') || '' }));
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction((sel) => document.querySelector(sel).dataset.theme === 'light', root, { timeout: 10000 });

    if (opt.screenshot) {
      await search(page, spec.shot || spec.first);
      await page.keyboard.press('ArrowDown');
      await page.mouse.move(0, 0);
      await screenshot(page, opt.screenshot, { fullPage: false });
    }
    for (const m of page.messages) if (m.type === 'error' && m.source !== 'network') out.errors.push(`${m.source}: ${m.text}`);
    await context.close();
  } finally {
    await browser.close();
    await server.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(`test-site: ${e.stack || e}\n`); process.exit(1); });
