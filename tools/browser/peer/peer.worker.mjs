// transformers.js in a module worker: load all-MiniLM-L6-v2 from local files only, answer one
// query (cold start), then time single queries, 128-token document batches and encode fixed texts.
// Reports go to the page with postMessage; times are ms on the page's clock (performance.now()
// of the page: the worker's own clock plus the difference of the two time origins).

let cfg;
const clock = () => performance.timeOrigin + performance.now() - cfg.pageTimeOrigin;
const post = (o) => postMessage({ t: +clock().toFixed(2), ...o });

self.onmessage = async (e) => {
  cfg = e.data;
  try {
    await run();
  } catch (err) {
    post({ event: 'error', text: String(err && err.stack || err) });
  }
};

async function run() {
  post({ event: 'worker-start' });
  const inputsP = fetch(cfg.inputs).then((r) => r.json());
  const tf = await import(cfg.lib + 'transformers.web.mjs');
  const { env, AutoTokenizer, AutoModel, mean_pooling } = tf;
  post({ event: 'imported', version: env.version });

  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = cfg.models;
  env.useBrowserCache = false; // every run loads from the server: a first visit
  env.useWasmCache = false;    // onnxruntime-web fetches and compiles the wasm itself (streaming)
  const suffix = cfg.wasm === 'asyncify' ? '.asyncify' : '';
  const onnxWasm = env.backends.onnx.wasm;
  onnxWasm.wasmPaths = {
    mjs: cfg.lib + `ort-wasm-simd-threaded${suffix}.mjs`,
    wasm: cfg.lib + `ort-wasm-simd-threaded${suffix}.wasm`,
  };
  onnxWasm.numThreads = cfg.threads;
  onnxWasm.proxy = false;

  const [tokenizer, model] = await Promise.all([
    AutoTokenizer.from_pretrained(cfg.model),
    AutoModel.from_pretrained(cfg.model, { dtype: cfg.dtype, device: 'wasm' }),
  ]);
  post({ event: 'loaded' });

  // embed(texts, maxLength): tokenizer -> BertModel -> mean pooling over the mask -> L2 normalise.
  async function embed(texts, maxLength = 256) {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: maxLength });
    const out = await model(inputs);
    const pooled = mean_pooling(out.last_hidden_state, inputs.attention_mask).normalize(2, -1);
    const v = pooled.tolist();
    return { vectors: v, tokens: inputs.input_ids.dims[1] };
  }

  const inputs = await inputsP;
  const first = await embed([inputs.coldQuery]);
  post({ event: 'first-result', tokens: first.tokens, dim: first.vectors[0].length });
  if (cfg.mode === 'cold') return post({ event: 'done' });

  // Single queries: fresh 10-word texts, one at a time: cfg.queries measured ones, then
  // cfg.steadyQueries more (wasm tier-up goes on for tens of calls).
  const lat = [];
  const toks = [];
  for (const q of inputs.queries.slice(0, cfg.queries + cfg.steadyQueries)) {
    const t0 = performance.now();
    const r = await embed([q]);
    lat.push(performance.now() - t0);
    toks.push(r.tokens);
  }
  post({ event: 'queries', ms: lat, tokens: toks });

  // Documents of exactly 128 tokens (longer ones truncated), in batches.
  const enc = tokenizer(inputs.docs, { truncation: true, max_length: 128 });
  const lens = enc.attention_mask.tolist().map((row) => row.reduce((a, b) => a + Number(b), 0));
  const docs = inputs.docs.filter((_, i) => lens[i] === 128);
  const warm = docs.slice(0, cfg.batch);
  const timed = docs.slice(cfg.batch, cfg.batch + cfg.docs);
  await embed(warm, 128);
  const batches = [];
  const t0 = performance.now();
  for (let i = 0; i < timed.length; i += cfg.batch) {
    const b0 = performance.now();
    const r = await embed(timed.slice(i, i + cfg.batch), 128);
    batches.push({ n: Math.min(cfg.batch, timed.length - i), tokens: r.tokens, ms: performance.now() - b0 });
  }
  const total = performance.now() - t0;
  post({ event: 'docs', docs: timed.length, batch: cfg.batch, ms: total, batches });

  // Fixed texts, one at a time (no padding), for the cosine check against the reference stack.
  // transformers.js 4.3.2 truncates by cutting the id list (truncateHelper), which drops the final
  // [SEP] of a text longer than max_length; Hugging Face tokenizers keep it. The untruncated
  // token counts are reported so the bench can tell such texts apart.
  const vectors = [];
  const fixedTokens = inputs.fixed.map((t) => tokenizer(t).input_ids.dims[1]);
  for (const t of inputs.fixed) vectors.push((await embed([t], 256)).vectors[0]);
  post({ event: 'vectors', vectors, tokens: fixedTokens, maxLength: 256 });
  post({ event: 'done' });
}
