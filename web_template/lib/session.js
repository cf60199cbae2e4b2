// Load the model and the pinned browser runtime from the bundle's own origin, trying the
// manifest's backends in order. Each runtime (onnxruntime-web, TF.js) has an adapter in
// runtimes/ that opens one backend; this file fetches and hash-checks the model. Each backend must pass a self-check before it is used:
// its warm-up run on an all-zero input is compared with the reference output recorded at
// export, because a backend can run without error and still return wrong numbers.

import { onnxRuntime } from "./runtimes/onnx.js";
import { tfjsRuntime } from "./runtimes/tfjs.js";

/** Adapters by the manifest's runtime.name. */
const RUNTIMES = { onnx: onnxRuntime, tfjs: tfjsRuntime };

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
  const model = await fetchModel(manifest, baseUrl);
  const runtime = RUNTIMES[manifest.runtime.name];
  if (!runtime) throw new Error(`runtime ${manifest.runtime.name} is not known to this page: export the bundle again`);

  const wanted = options.backends ?? manifest.runtime.backends.map((b) => b.name);
  const failures = [];
  for (const name of wanted) {
    const backend = manifest.runtime.backends.find((b) => b.name === name);
    if (!backend) {
      failures.push(`${name}: not shipped in this bundle`);
      continue;
    }
    let opened = null;
    try {
      for (const path of backend.files.filter((f) => f.endsWith(".wasm"))) await checkRuntimeFile(new URL(path, baseUrl));
      opened = await runtime.open({ manifest, baseUrl, backend, model, threads });
      // The warm-up doubles as the self-check, so the first real frame is not slow.
      const check = manifest.runtime.self_check;
      const size = check.input_shape.reduce((a, b) => a * b, 1);
      const problem = selfCheckProblem(check, await opened.run(new Float32Array(size), check.input_shape));
      if (problem) throw new Error(`self-check failed: ${problem}`);
      return {
        backend: name,
        threads: opened.threads,
        crossOriginIsolated: isolated,
        failures,
        run: opened.run,
        release: opened.release,
        memory: opened.memory,
      };
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
      await opened?.release?.();
    }
  }
  throw new Error(`no backend could run ${modelUrl}: ${failures.join("; ")}`);
}

/**
 * Fetch the model's files and check each against the manifest's SHA-256.
 * @returns {Promise<{bytes: ArrayBuffer, parts: Map<string, ArrayBuffer>}>} the main file and
 *   any further files (TF.js weight shards) by their path in the bundle
 */
async function fetchModel(manifest, baseUrl) {
  const files = [{ path: manifest.model.file, sha256: manifest.model.sha256 }, ...(manifest.model.parts ?? [])];
  const loaded = await Promise.all(
    files.map(async (file) => {
      const url = new URL(file.path, baseUrl);
      const bytes = await fetchBytes(url, "model");
      if (globalThis.crypto?.subtle) {
        const actual = await sha256Hex(bytes);
        if (actual !== file.sha256) {
          throw new Error(`model file ${url} has SHA-256 ${actual}, the manifest expects ${file.sha256}: copy the bundle again`);
        }
      }
      return [file.path, bytes];
    }),
  );
  return { bytes: loaded[0][1], parts: new Map(loaded.slice(1)) };
}
