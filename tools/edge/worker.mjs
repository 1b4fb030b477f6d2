// The Worker's entry module (sbmoe edge build copies it beside the Go module).
//
// syumai/workers' own worker.mjs starts a new Go instance for every request, so the model
// would load on every request. This one starts the Go module (wasm/edge) once per isolate
// and keeps it: the first request (and any that arrive while it starts) waits for it;
// every later request goes straight to the running instance. Should the Go program ever
// exit, the next request starts a new one.
//
// The bundle's files come from the ASSETS binding (Workers Static Assets; a disk service
// under local workerd), listed in edge.json: each with its size and SHA-256 from the
// bundle's manifest, and the parts (at most 25 MiB each, the platform's limit per asset)
// it was split into. They are checked here, with the platform's native SHA-256, before Go
// sees them.
import "./wasm_exec.js"; // Go's own, from the toolchain that built the module
import mod from "./sbmoe-edge.wasm";

let running = null; // {go, binding} of the live instance
let starting = null; // the promise of the instance being started

export default {
  async fetch(request, env) {
    let inst;
    try {
      inst = await instance(env);
    } catch (e) {
      return answer(503, { error: `the worker did not start: ${e.message}`, code: "not_ready" });
    }
    try {
      return await inst.binding.handleRequest(request);
    } catch (e) {
      return answer(500, { error: `internal error: ${e.message ?? e}`, code: "internal" });
    }
  },
};

function instance(env) {
  if (running !== null && !running.go.exited) return running;
  if (starting === null) {
    starting = start(env).finally(() => { starting = null; });
  }
  return starting;
}

async function start(env) {
  running = null;
  // The files are reachable from context.files alone, which Go empties as it copies them.
  const context = { env, binding: {}, files: await loadBundle(env.ASSETS) };
  let ready;
  const isReady = new Promise((resolve) => { ready = resolve; });
  const go = new Go();
  const inst = new WebAssembly.Instance(mod, { ...go.importObject, workers: { ready: () => ready() } });
  // The library reads globalThis.context when its packages initialise: one instance per
  // isolate needs no per-request context (its own worker.mjs proxies one per instance).
  context.wasmMemoryBytes = () => inst.exports.mem.buffer.byteLength;
  globalThis.context = context;
  const exited = go.run(inst).then(() => { throw new Error("the Go program exited while starting"); });
  await Promise.race([isReady, exited]);
  exited.catch(() => {}); // an exit from now on is seen by instance() through go.exited
  delete context.files;
  running = { go, binding: context.binding };
  return running;
}

// loadBundle returns {path: Uint8Array} of every file edge.json lists, each reassembled
// from its parts and checked against its size and SHA-256.
async function loadBundle(assets) {
  if (!assets) throw new Error("no ASSETS binding: configure the assets folder (wrangler.toml [assets])");
  const plan = await (await asset(assets, "edge.json")).json();
  const files = {};
  await Promise.all(plan.files.map(async (f) => { files[f.path] = await loadFile(assets, f); }));
  return files;
}

async function loadFile(assets, f) {
  let data, size = 0;
  if (f.parts.length === 1) {
    data = new Uint8Array(await (await asset(assets, f.parts[0])).arrayBuffer());
    size = data.length;
  } else {
    data = new Uint8Array(f.size);
    for (const part of f.parts) {
      const b = new Uint8Array(await (await asset(assets, part)).arrayBuffer());
      if (size + b.length <= f.size) data.set(b, size);
      size += b.length;
    }
  }
  if (size !== f.size) throw new Error(`${f.path}: ${size} bytes, the manifest says ${f.size} (truncated or replaced)`);
  const sum = [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  if (sum !== f.sha256) throw new Error(`${f.path}: sha256 ${sum}, the manifest says ${f.sha256} (corrupt, truncated or replaced)`);
  return data;
}

async function asset(assets, path) {
  const res = await assets.fetch(new Request(new URL(path, "https://assets.invalid/")));
  if (!res.ok) throw new Error(`asset ${path}: HTTP ${res.status}`);
  return res;
}

function answer(status, body) {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Access-Control-Allow-Origin": "*" },
  });
}
