// Test harness used by `vision-export verify` and `bench`: it embeds the bundle through
// its public API, exactly as another web app would, and returns every stage's output.

import { loadDetector } from "/vision-export.js";

/** @param {ArrayBufferView} view */
function toBase64(view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

const DTYPES = new Map([
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int32Array, "int32"],
  [Uint8Array, "uint8"],
  [Int8Array, "int8"],
]);

let detector = null;

async function detectUrl(url, options) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`image ${url}: HTTP ${response.status}`);
  const blob = await response.blob();
  const result = await detector.detect(blob, { ...options, debug: true });
  const outputs = {};
  for (const [name, value] of Object.entries(result.debug.outputs)) {
    outputs[name] = { dims: value.dims, dtype: DTYPES.get(value.data.constructor) ?? "float32", data: toBase64(value.data) };
  }
  return {
    detections: result.detections,
    timings: result.timings,
    backend: result.backend,
    threads: result.threads,
    imageSize: result.imageSize,
    geometry: result.debug.geometry,
    runtimeMemory: result.runtimeMemory ?? null,
    input: { dims: result.debug.inputDims, data: toBase64(result.debug.inputTensor) },
    outputs,
  };
}

window.visionExport = {
  detectUrl,
  async reload(options = {}) {
    detector?.dispose();
    detector = await loadDetector({ baseUrl: "/", ...options });
    return { backend: detector.backend, threads: detector.threads, crossOriginIsolated: detector.crossOriginIsolated, failures: detector.backendFailures };
  },
};

window.visionExport
  .reload()
  .then(() => {
    document.getElementById("state").textContent = "ready";
    document.body.dataset.state = "ready";
  })
  .catch((error) => {
    document.getElementById("state").textContent = error.message;
    document.body.dataset.state = "error";
  });
