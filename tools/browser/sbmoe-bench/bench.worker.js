// bench.worker.js: sbmoe-worker.js as it ships, plus what make bench-browser needs to see
// inside the worker: how long each call took on the worker's clock (a 'progress' message
// {bench: 'call', workerMs} just before the reply, so postMessage and the page's event loop
// are left out, as the transformers.js peer times itself inside its worker), when keyword
// search became ready ({bench: 'lexical', at}), and one bench-only call, benchEncodeDocs
// (the encoder alone on texts cut to maxTokens, in batches). Copied beside the bundle's
// files by tools/browser/bench-browser.mjs; the page opens it with open(url, {workerURL}).
/* global sbmoeGo */
'use strict';

const realPost = self.postMessage.bind(self);
const started = new Map(); // call id → performance.now() when it arrived
self.postMessage = function (msg, transfer) {
  if (msg && msg.type === 'lexical') realPost({ type: 'progress', bench: 'lexical', at: performance.timeOrigin + performance.now() });
  if (msg && msg.id != null && !msg.type && started.has(msg.id)) {
    realPost({ type: 'progress', bench: 'call', workerMs: performance.now() - started.get(msg.id) });
    started.delete(msg.id);
  }
  realPost(msg, transfer || []);
};

importScripts('sbmoe-worker.js');

const shipped = self.onmessage;
self.onmessage = (ev) => {
  const { id, op, args } = ev.data;
  started.set(id, performance.now());
  if (op !== 'benchEncodeDocs') { shipped(ev); return; }
  try {
    const out = JSON.parse(sbmoeGo.encodeDocs(JSON.stringify(args.texts), args.maxTokens, args.batch));
    if (out.error) throw new Error(out.error);
    self.postMessage({ id, result: out });
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
};
