// sbmoe.js: semantic search in the page, from a bundle written by `sbmoe bundle`.
//
//   import { open } from './sbmoe.js';
//   const search = await open('./', { onProgress: (p) => console.log(p.loaded, p.total) });
//   const hits = await search.search('how do I split a string', { k: 5 });
//
// The model, the index and the documents download once (checked against the bundle's
// manifest, kept in the Cache API) and run in a Web Worker as WebAssembly, so the page
// stays responsive. Feedback and learned heads stay in this browser (IndexedDB): nothing
// about a visitor's searches leaves the page. Works with and without cross-origin
// isolation, and needs nothing from a CDN.

/**
 * @typedef {Object} Hit
 * @property {string} id        the document's id
 * @property {number} score     dot product (dense), BM25 score (lexical) or the fused, normalised scores (hybrid); higher is better
 * @property {string} [title]
 * @property {string} [heading] the section of the page (bundles of a site)
 * @property {string} [url]
 * @property {string} [snippet]
 * @property {{text: string, mark?: boolean}[]} [highlight]  with search(q, {highlight: true}), for bundles
 *           with texts: the snippet around the sentence that best matches the query (mark: that sentence)
 */

/**
 * @typedef {Object} Learning   what this browser holds for the bundle
 * @property {number} feedback  choices recorded
 * @property {number} trained   how many of them the stored head learned from
 * @property {boolean} [learned] a learned head is in use
 */

/**
 * @typedef {Object} Progress
 * @property {number} loaded    bytes of model, index and documents available so far
 * @property {number} total     bytes in all
 * @property {number} cached    of loaded, bytes taken from the browser's cache
 */

/**
 * Opens the bundle at bundleURL (a folder URL holding manifest.json).
 *
 * The documents and the keyword (BM25) index arrive first, then the model. With
 * {wait: 'lexical'} the promise resolves as soon as keyword search works, and `ready`
 * resolves when the model has loaded; search() uses the best it has (`mode` says which:
 * 'lexical', then 'hybrid'). The default waits for the model. The model's download starts
 * once keyword search works, or, with {model: 'later'}, when loadModel() is called (a
 * page can then fetch the small keyword step early, and the model when the visitor
 * shows an interest).
 * Rejects with an Error that names the file when a file is missing, truncated or corrupt.
 * @param {string|URL} bundleURL
 * @param {{onProgress?: (p: Progress) => void, wait?: 'model'|'lexical', model?: 'now'|'later', workerURL?: string|URL}} [options]
 * @returns {Promise<Retriever>}
 */
export async function open(bundleURL, options = {}) {
  const workerURL = options.workerURL || new URL('./sbmoe-worker.js', import.meta.url);
  const r = new Retriever(new Worker(workerURL), options.onProgress);
  let lexical;
  const lexicalReady = new Promise((resolve) => { lexical = resolve; });
  r.ready = r._call('open', { bundleURL: new URL(bundleURL, location.href).href, model: options.model || 'now' }, null, (info) => {
    r.info = info; r.mode = info.mode; lexical();
  }).then((info) => { r.info = info; r.mode = info.mode; lexical(); return r; });
  if (options.wait === 'lexical') {
    await Promise.race([lexicalReady, r.ready]);
  } else {
    await r.ready;
  }
  return r;
}

/** A bundle opened in a worker. Create one with open(). */
export class Retriever {
  constructor(worker, onProgress) {
    this._worker = worker;
    this._next = 1;
    this._pending = new Map();
    this._onProgress = onProgress;
    /** What open() found: fingerprint, documents, dim, kernels, mode, learned, feedback, trained, downloaded. */
    this.info = null;
    /** How search() ranks now: 'lexical' (keywords, the model still loading), 'hybrid' or 'dense'. */
    this.mode = null;
    /** Resolves (to this retriever) when the model has loaded. */
    this.ready = null;
    worker.onmessage = (ev) => this._receive(ev.data);
    worker.onerror = (ev) => {
      const err = new Error(`sbmoe worker: ${ev.message || 'failed to start'}`);
      for (const p of this._pending.values()) p.reject(err);
      this._pending.clear();
      ev.preventDefault();
    };
  }

  _receive(msg) {
    if (msg.type === 'progress') { if (this._onProgress) this._onProgress(msg); return; }
    const p = this._pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'train-progress') { if (p.onProgress) p.onProgress(msg); return; }
    if (msg.type === 'lexical') { if (p.onLexical) p.onLexical(msg.info); return; }
    this._pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error)); else p.resolve(msg.result);
  }

  _call(op, args, onProgress, onLexical) {
    const id = this._next++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, onProgress, onLexical });
      this._worker.postMessage({ id, op, args });
    });
  }

  /**
   * Starts the model's download, for a retriever opened with {model: 'later'}; `ready`
   * resolves when it has loaded. Calling it again, or without 'later', does nothing.
   * @returns {Promise<void>}
   */
  async loadModel() {
    await this._call('loadModel', {});
  }

  /**
   * The k best documents for a query, best first. By default ranked the best way loaded
   * now (`mode` after the call says which); {mode: 'dense'} ranks by the model alone (as
   * the native `sbmoe search` ranks the bundle's index), 'lexical' by BM25 alone, 'hybrid'
   * by both; a mode that needs what is not loaded yet rejects.
   * @param {string} query
   * @param {{k?: number, highlight?: boolean, mode?: 'dense'|'lexical'|'hybrid'}} [options]
   * @returns {Promise<Hit[]>}
   */
  async search(query, { k = 10, highlight = false, mode } = {}) {
    const out = await this._call('search', { query, k, highlight, mode });
    this.mode = out.mode;
    return out.hits;
  }

  /**
   * Query vectors of texts (the learned head applied), one Float32Array per text.
   * @param {string[]} texts
   * @returns {Promise<Float32Array[]>}
   */
  async encode(texts) {
    return (await this._call('encode', { texts })).vectors.map((v) => Float32Array.from(v));
  }

  /**
   * Records that a visitor chose document docId for query (kept in this browser).
   * @returns {Promise<Learning & {count: number}>} how much feedback is recorded (count = feedback)
   */
  feedback(query, docId) {
    return this._call('feedback', { query, docId });
  }

  /**
   * What this browser holds for the bundle: choices recorded, how many the head learned from.
   * @returns {Promise<Learning>}
   */
  learning() {
    return this._call('learning', {});
  }

  /**
   * Trains the head from the recorded feedback, in the worker, and keeps it in this
   * browser so a reload finds it. Documents keep their vectors: the index stays valid.
   * @param {{epochs?: number, seed?: number, experts?: number, lr?: number, router?: string,
   *          feedback?: {query: string, doc_id: string}[], persist?: boolean,
   *          onProgress?: (p: {epoch: number, epochs: number, step: number, steps: number, loss: number}) => void}} [options]
   * @returns {Promise<{epochs: number, steps: number, loss: number, examples: number} & Learning>}
   */
  trainHead(options = {}) {
    const { onProgress, ...args } = options;
    return this._call('train', args, onProgress);
  }

  /**
   * Forgets the learned head (and, with forgetFeedback, the recorded feedback).
   * @param {{forgetFeedback?: boolean}} [options]
   * @returns {Promise<Learning>}
   */
  resetHead(options = {}) {
    return this._call('resetHead', { forgetFeedback: !!options.forgetFeedback });
  }

  /**
   * The learned head as a head file (head.safetensors) that the native sbmoe reads, or null.
   * @returns {Promise<Uint8Array|null>}
   */
  async exportHead() {
    return (await this._call('exportHead', {})).head;
  }

  /** Stops the worker. */
  close() {
    this._worker.terminate();
    for (const p of this._pending.values()) p.reject(new Error('sbmoe: closed'));
    this._pending.clear();
  }
}
