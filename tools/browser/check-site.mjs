#!/usr/bin/env node
// check-site.mjs: opens a site that `sbmoe site` indexed in headless Chromium, asks its
// search box each query the way a visitor would (typing into the widget on the home page),
// and prints the top results as the page shows them, once the model is ready. make demo
// runs it before it serves the site.
//
//   node tools/browser/check-site.mjs --site DIR [--top 3] [--screenshot PNG] [--screenshot-dark PNG] "query" ...
//
// The screenshot shows the first query's results, the page in its light scheme; the dark
// one (by default beside it, NAME-dark.png) the same results once the visitor's preference
// turns dark, which the page and the widget follow. Exits 1 when the widget fails, a query
// shows no results, or the page logs an error.
import { launch, openPage, screenshot } from './chromium.mjs';
import { startServer } from './serve.mjs';

function args() {
  const out = { top: 3, queries: [] };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--site': out.site = a[++i]; break;
      case '--top': out.top = Number(a[++i]); break;
      case '--screenshot': out.screenshot = a[++i]; break;
      case '--screenshot-dark': out.dark = a[++i]; break;
      default: out.queries.push(a[i]);
    }
  }
  if (out.screenshot && !out.dark) out.dark = out.screenshot.replace(/(\.png)?$/, '-dark.png');
  if (!out.site || !out.queries.length) throw new Error('usage: check-site.mjs --site DIR [--top N] [--screenshot PNG] [--screenshot-dark PNG] "query" ...');
  return out;
}

async function main() {
  const opt = args();
  const server = await startServer({ root: opt.site });
  const browser = await launch();
  let failed = false;
  try {
    const context = await browser.newContext({ viewport: { width: 1180, height: 800 }, colorScheme: 'light' });
    const page = await openPage(browser, server.url, { context });
    await page.waitForFunction(() => window.sbmoeWidget && window.sbmoeWidget.ready, null, { timeout: 60000 });
    const t0 = Date.now();
    await page.focus('#sbmoe-input');
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('[data-sbmoe-search]').dataset.phase), null, { timeout: 600000 });
    const phase = await page.$eval('[data-sbmoe-search]', (el) => el.dataset.phase);
    if (phase === 'error') throw new Error(await page.$eval('#sbmoe-status', (e) => e.textContent));
    const info = await page.evaluate(() => window.sbmoeWidget.retriever.info);
    process.stdout.write(`the search box of ${server.url} is ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
      `${info.documents} sections, ${info.kernels} kernels, ${info.mode} search\n`);
    for (const q of opt.queries) {
      await page.fill('#sbmoe-input', '');
      await page.keyboard.type(q);
      await page.waitForFunction((q) => document.querySelector('[data-sbmoe-search]').dataset.shown === q, q, { timeout: 60000 });
      const hits = await page.$$eval('#sbmoe-results [role=option]', (opts) => opts.map((o) => ({
        title: o.querySelector('.sbmoe-title > span').textContent,
        heading: o.querySelector('.sbmoe-heading')?.textContent || '',
        href: o.querySelector('a').getAttribute('href'),
        mark: o.querySelector('mark')?.textContent || '',
      })));
      process.stdout.write(`\n${q}\n`);
      if (!hits.length) { process.stdout.write('  (no results)\n'); failed = true; }
      hits.slice(0, opt.top).forEach((h, i) => {
        process.stdout.write(`  ${i + 1}. ${h.title}${h.heading ? ' › ' + h.heading : ''}  ${h.href}\n`);
        if (h.mark) process.stdout.write(`     “${h.mark}”\n`);
      });
    }
    if (opt.screenshot) {
      await page.fill('#sbmoe-input', '');
      await page.keyboard.type(opt.queries[0]);
      await page.waitForFunction((q) => document.querySelector('[data-sbmoe-search]').dataset.shown === q, opt.queries[0], { timeout: 60000 });
      await page.keyboard.press('ArrowDown');
      await page.mouse.move(0, 0);
      await screenshot(page, opt.screenshot, { fullPage: false });
      process.stdout.write(`\nscreenshot: ${opt.screenshot}\n`);
      if (opt.dark) {
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.waitForFunction(() => document.querySelector('[data-sbmoe-search]').dataset.theme === 'dark', null, { timeout: 10000 });
        await screenshot(page, opt.dark, { fullPage: false });
        process.stdout.write(`screenshot, dark: ${opt.dark}\n`);
      }
    }
    for (const m of page.messages) {
      if (m.type === 'error' && m.source !== 'network') { process.stderr.write(`page error: ${m.text}\n`); failed = true; }
    }
    await context.close();
  } finally {
    await browser.close();
    await server.close();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { process.stderr.write(`check-site: ${e.stack || e}\n`); process.exit(1); });
