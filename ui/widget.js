// widget.js: the sbmoe search box for any page of a site that `sbmoe site` indexed.
//
//   <script type="module" src="/_sbmoe/widget.js"></script>
//   <div data-sbmoe-search></div>
//
// It shows a plain search box at once, then starts the widget (widget.wasm, a Go/vugu
// component) in this page, which starts the retriever in a Web Worker (sbmoe.js): its
// keyword step (a few MB) once the page is idle, the model when the box first has focus.
// Keyword results come at once, hybrid (keyword + semantic) ones once the model is in. What a visitor types and clicks stays in
// their browser. The element may set data-placeholder, data-k, data-learn-after,
// data-preload and data-bundle (see ui/widget/doc.go).
import { open } from './sbmoe.js';
import './wasm_exec.js'; // Go's loader: sets globalThis.Go

const here = new URL('./', import.meta.url);
const el = document.querySelector('[data-sbmoe-search]');

function placeholder(el) {
  const input = document.createElement('input');
  input.type = 'search';
  input.placeholder = el.dataset.placeholder || 'Search';
  input.setAttribute('aria-label', 'Search this site');
  input.autocomplete = 'off';
  input.style.cssText = 'width:100%;max-width:44rem;box-sizing:border-box;font:inherit;color:inherit;' +
    'padding:.72rem .85rem .72rem 2.6rem;border:1px solid color-mix(in srgb,currentColor 22%,transparent);' +
    'border-radius:.75rem;background:transparent';
  el.replaceChildren(input);
}

async function start() {
  if (!el) {
    console.warn('sbmoe widget: the page has no <div data-sbmoe-search> element');
    return;
  }
  placeholder(el);
  const bundle = el.dataset.bundle ? new URL(el.dataset.bundle, location.href) : here;
  const widget = {
    bundle: bundle.href,
    retriever: null, // sbmoe.js's Retriever, once open (for the console and tests)
    ready: false, // set by widget.wasm after its first render
    // open starts the retriever's keyword step; the widget asks for the model
    // (retriever.loadModel()) when the visitor first uses the box.
    open(onProgress) {
      if (!this.opening) {
        this.opening = open(bundle, { wait: 'lexical', model: 'later', onProgress }).then((r) => { this.retriever = r; return r; });
      }
      return this.opening;
    },
  };
  globalThis.sbmoeWidget = widget;
  const go = new Go();
  const url = new URL('widget.wasm', here);
  let instance;
  try {
    ({ instance } = await WebAssembly.instantiateStreaming(fetch(url), go.importObject));
  } catch (e) {
    // A server that does not send application/wasm: compile from the bytes.
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`widget.wasm: HTTP ${resp.status}`);
    ({ instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject));
  }
  go.run(instance);
}

start().catch((e) => {
  console.error('sbmoe widget:', e);
  if (el) {
    const p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.textContent = `Search could not start: ${e.message}`;
    el.append(p);
  }
});
