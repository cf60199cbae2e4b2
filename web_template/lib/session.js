// Load the pinned onnxruntime-web build and the model from the bundle's own origin, trying
// the manifest's backends in order. Each backend must pass a self-check before it is used:
// its warm-up run on an all-zero input is compared with the reference output recorded at
// export, because a backend can run without error and still return wrong numbers.

/** @param {ArrayBuffer} bytes */
async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {URL} url @param {string} kind a word for the file in error messages */
async function fetchBytes(url, kind) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${kind} ${url} could not be fetched: ${error.message}`);
  }
  if (!response.ok) throw new Error(`${kind} ${url} could not be fetched: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/**
 * Check that a runtime file URL serves the file, not an HTML fallback page: a .wasm
 * request that returns index.html otherwise fails with a cryptic "magic word" error.
 * @param {URL} url
 */
async function checkRuntimeFile(url) {
  const response = await fetch(url, { method: "HEAD" });
  if (!response.ok) throw new Error(`runtime file ${url} is missing: HTTP ${response.status}`);
  const type = response.headers.get("content-type") || "";
  if (type.startsWith("text/html")) throw new Error(`runtime file ${url} is served as ${type}: the server returned a page, not the file`);
}

/** Compare a warm-up output with the manifest's recorded sample; return a message or null. */
function selfCheckProblem(selfCheck, outputs) {
  for (const [name, expected] of Object.entries(selfCheck.outputs)) {
    const actual = outputs[name];
    if (!actual) return `output ${name} is missing`;
    const limit = selfCheck.relative_tolerance * Math.max(1, expected.max_abs);
    for (let i = 0; i < expected.indices.length; i++) {
      const value = Number(actual.data[expected.indices[i]]);
      const difference = Math.abs(value - expected.values[i]);
      if (!(difference <= limit)) {
        return `output ${name}[${expected.indices[i]}] is ${value}, the reference is ${expected.values[i]} (allowed difference ${limit.toPrecision(3)})`;
      }
    }
  }
  return null;
}

/** @param {any} ort @param {object} manifest */
function makeRunner(ort, session, manifest) {
  return async (tensor, dims) => {
    const feeds = { [manifest.model.input_name]: new ort.Tensor("float32", tensor, dims) };
    const results = await session.run(feeds);
    const outputs = {};
    for (const [name, value] of Object.entries(results)) {
      let data = value.data;
      // int64 outputs (class ids, counts) arrive as BigInt64Array; decoders use plain numbers.
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data = Float64Array.from(data, Number);
      outputs[name] = { data, dims: Array.from(value.dims) };
      value.dispose?.();
    }
    return outputs;
  };
}

/**
 * Create an inference session for the bundle's model on the first backend that loads and
 * passes the self-check.
 * @param {object} manifest @param {URL} baseUrl
 * @param {{numThreads?: number, backends?: string[]}} options
 * @returns {Promise<{backend: string, threads: number|null, crossOriginIsolated: boolean,
 *   failures: string[], run: Function, release: Function}>}
 */
export async function createSession(manifest, baseUrl, options = {}) {
  // Threads need SharedArrayBuffer, which browsers only expose to cross-origin isolated pages.
  const isolated = globalThis.crossOriginIsolated === true;
  const requested = options.numThreads ?? Math.min(4, navigator.hardwareConcurrency || 1);
  const threads = isolated ? Math.max(1, requested) : 1;

  const modelUrl = new URL(manifest.model.file, baseUrl);
  const bytes = await fetchBytes(modelUrl, "model");
  if (globalThis.crypto?.subtle) {
    const actual = await sha256Hex(bytes);
    if (actual !== manifest.model.sha256) {
      throw new Error(`model ${modelUrl} has SHA-256 ${actual}, the manifest expects ${manifest.model.sha256}: copy the bundle again`);
    }
  }

  const wanted = options.backends ?? manifest.runtime.backends.map((b) => b.name);
  const failures = [];
  for (const name of wanted) {
    const backend = manifest.runtime.backends.find((b) => b.name === name);
    if (!backend) {
      failures.push(`${name}: not shipped in this bundle`);
      continue;
    }
    let session = null;
    try {
      const entry = new URL(backend.entry, baseUrl);
      for (const path of backend.files.filter((f) => f.endsWith(".wasm"))) await checkRuntimeFile(new URL(path, baseUrl));
      const ort = await import(/* @vite-ignore */ entry.href);
      ort.env.wasm.numThreads = threads;
      ort.env.logLevel = "error";
      session = await ort.InferenceSession.create(new Uint8Array(bytes), {
        executionProviders: [name],
        graphOptimizationLevel: "all",
      });
      const run = makeRunner(ort, session, manifest);
      // The warm-up doubles as the self-check, so the first real frame is not slow.
      const check = manifest.runtime.self_check;
      const size = check.input_shape.reduce((a, b) => a * b, 1);
      const problem = selfCheckProblem(check, await run(new Float32Array(size), check.input_shape));
      if (problem) throw new Error(`self-check failed: ${problem}`);
      return {
        backend: name,
        threads: name === "wasm" ? threads : null,
        crossOriginIsolated: isolated,
        failures,
        run,
        release: () => session.release(),
      };
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
      await session?.release?.();
    }
  }
  throw new Error(`no backend could run ${modelUrl}: ${failures.join("; ")}`);
}
