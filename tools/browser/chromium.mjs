// Launch Debian's chromium through playwright-core and measure what a page costs.
//
//   import { launch, openPage, rendererMemory, screenshot } from './chromium.mjs';
//   const browser = await launch();
//   const page = await openPage(browser, url);      // page.messages: console + page errors
//   ...
//   const mem = await rendererMemory(browser, page); // {rssBytes, peakRssBytes, jsHeapUsedBytes, ...}
//   await browser.close();
//
// playwright-core is installed by tools/browser/install.sh into out/browser-node (or
// $SBMOE_BROWSER_NODE); browsers are never downloaded: the executable is Debian's chromium
// ($CHROMIUM, /usr/lib/chromium/chromium, /usr/bin/chromium).

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const nodeDir = path.resolve(process.env.SBMOE_BROWSER_NODE || path.join(repoRoot, 'out', 'browser-node'));
export const nodeModules = path.join(nodeDir, 'node_modules');

export function requireTool(name) {
  const req = createRequire(path.join(nodeDir, 'package.json'));
  try {
    return req(name);
  } catch (err) {
    throw new Error(`${name} not found under ${nodeModules}: run tools/browser/install.sh (${err.message})`);
  }
}

export function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].filter(Boolean);
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {}
  }
  throw new Error(`no chromium executable (tried ${candidates.join(', ')}): run tools/browser/install.sh`);
}

export const DEFAULT_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// launch({args, headless}) starts chromium with a new, empty profile (playwright makes a fresh
// temporary user-data-dir for every launch() and removes it on close).
export async function launch(opts = {}) {
  const { chromium } = requireTool('playwright-core');
  const executablePath = opts.executablePath || findChromium();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...DEFAULT_ARGS, ...(opts.args || [])],
    timeout: opts.timeout ?? 60000,
  });
  browser.executablePath = executablePath;
  return browser;
}

// openPage(browser, url, {context}) opens url in a new context (no cache, no cookies) and records
// console messages, page errors and worker console messages in page.messages.
export async function openPage(browser, url, opts = {}) {
  const context = opts.context || (await browser.newContext(opts.contextOptions || {}));
  const page = await context.newPage();
  page.messages = [];
  const push = (m) => {
    page.messages.push(m);
    if (opts.echo) process.stderr.write(`[${m.source}:${m.type}] ${m.text}\n`);
  };
  page.on('console', (msg) => push({ source: 'console', type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => push({ source: 'pageerror', type: 'error', text: String(err && err.stack || err) }));
  page.on('worker', (w) => {
    push({ source: 'worker', type: 'start', text: w.url() });
  });
  page.on('requestfailed', (req) => push({ source: 'network', type: 'error', text: `${req.url()} ${req.failure()?.errorText}` }));
  if (url) await page.goto(url, { waitUntil: opts.waitUntil || 'load', timeout: opts.timeout ?? 60000 });
  return page;
}

// Network accounting from the browser's side (CDP Network domain): for each response the encoded
// (transferred) and decoded body sizes. Call before page.goto. Returns {entries, totals()}.
export async function trackNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const reqs = new Map();
  cdp.on('Network.responseReceived', (e) => {
    reqs.set(e.requestId, { url: e.response.url, status: e.response.status, encoding: e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || null, encodedBytes: 0, decodedBytes: 0 });
  });
  cdp.on('Network.dataReceived', (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.decodedBytes += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.encodedBytes = e.encodedDataLength; // includes headers
  });
  return {
    cdp,
    entries: reqs,
    totals() {
      let encoded = 0, decoded = 0;
      for (const r of reqs.values()) { encoded += r.encodedBytes; decoded += r.decodedBytes; }
      return { requests: reqs.size, encodedBytes: encoded, decodedBytes: decoded };
    },
  };
}

// Renderer processes of a browser launched by launch(): pids from the browser-level CDP
// SystemInfo.getProcessInfo (types 'browser', 'renderer', 'GPU', 'utility'...), memory from /proc.
export async function processes(browser) {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
    return processInfo.map((p) => ({ pid: p.id, type: p.type, cpuTime: p.cpuTime, ...procStatus(p.id) }));
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// VmRSS (resident now) and VmHWM (peak resident since the process started) from /proc/PID/status.
export function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => {
      const m = s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) * 1024 : null;
    };
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return { rssBytes: null, peakRssBytes: null };
  }
}

// rendererMemory(browser, page): what the page's renderer uses.
//   jsHeapUsedBytes / jsHeapTotalBytes: CDP Performance.getMetrics on the page's main thread
//     (wasm memories and ArrayBuffer backing stores are not in it, and a worker's heap is not either);
//   uaMemoryBytes: performance.measureUserAgentSpecificMemory() (only when crossOriginIsolated;
//     counts JS + wasm memory of the page and its workers; Chromium may take seconds to answer);
//   rssBytes / peakRssBytes: /proc VmRSS / VmHWM of the renderer with the largest peak (one page per
//     browser: the other renderers are spare or extension processes of a few MB).
export async function rendererMemory(browser, page, opts = {}) {
  const out = {};
  if (page) {
    const cdp = await page.context().newCDPSession(page);
    try {
      await cdp.send('Performance.enable');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      out.jsHeapUsedBytes = m.JSHeapUsedSize;
      out.jsHeapTotalBytes = m.JSHeapTotalSize;
    } finally {
      await cdp.detach().catch(() => {});
    }
    if (opts.uaMemory) {
      out.uaMemoryBytes = await page.evaluate(async () => {
        if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
        const r = await performance.measureUserAgentSpecificMemory();
        return r.bytes;
      }).catch(() => null);
    }
  }
  const procs = await processes(browser);
  const renderers = procs.filter((p) => p.type === 'renderer').sort((a, b) => (b.peakRssBytes || 0) - (a.peakRssBytes || 0));
  if (renderers.length) {
    out.rendererPid = renderers[0].pid;
    out.rssBytes = renderers[0].rssBytes;
    out.peakRssBytes = renderers[0].peakRssBytes;
  }
  out.processes = procs;
  return out;
}

export async function screenshot(page, file, opts = {}) {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
  return file;
}

export async function tmpDir(prefix = 'sbmoe-browser-') {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}
