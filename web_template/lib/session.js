// Load the pinned onnxruntime-web build and the model from the bundle's own origin.

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
 * Create an inference session for the bundle's model.
 * @param {object} manifest @param {URL} baseUrl
 * @param {{numThreads?: number}} options
 */
export async function createSession(manifest, baseUrl, options = {}) {
  const entry = new URL(manifest.runtime.entry, baseUrl);
  let ort;
  try {
    ort = await import(entry.href);
  } catch (error) {
    throw new Error(`runtime ${entry} could not be loaded: ${error.message}`);
  }
  // Threads need SharedArrayBuffer, which browsers only expose to cross-origin isolated pages.
  const isolated = globalThis.crossOriginIsolated === true;
  const requested = options.numThreads ?? Math.min(4, navigator.hardwareConcurrency || 1);
  const threads = isolated ? Math.max(1, requested) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";

  const modelUrl = new URL(manifest.model.file, baseUrl);
  const bytes = await fetchBytes(modelUrl, "model");
  if (globalThis.crypto?.subtle) {
    const actual = await sha256Hex(bytes);
    if (actual !== manifest.model.sha256) {
      throw new Error(`model ${modelUrl} has SHA-256 ${actual}, the manifest expects ${manifest.model.sha256}: re-copy the bundle`);
    }
  }
  const errors = [];
  for (const backend of manifest.runtime.backends) {
    try {
      const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
        executionProviders: [backend],
        graphOptimizationLevel: "all",
      });
      return {
        backend,
        threads: backend === "wasm" ? threads : null,
        crossOriginIsolated: isolated,
        async run(tensor, dims) {
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
        },
        release: () => session.release(),
      };
    } catch (error) {
      errors.push(`${backend}: ${error.message}`);
    }
  }
  throw new Error(`no backend could run ${modelUrl}: ${errors.join("; ")}`);
}
