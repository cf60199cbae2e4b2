// Benchmark harness used by `vision-export bench` and the NMS stress test. It loads the
// bundle through its public API, as another web app would, and times it in the page.
// Python drives it through window.visionBench; every function resolves to plain JSON.
// Stage timings come from detect()'s own `timings` (milliseconds, performance.now());
// `wall` is the time the page waits for detect(), which also covers moving the frame to
// the detection worker and reading its pixels.

import { loadDetector } from "/vision-export.js";

// The same decoding policy as the bundle's pixel reader: EXIF orientation applied,
// colour profiles ignored, alpha not premultiplied.
const DECODE_OPTIONS = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };

let detector = null;
/** @type {ImageBitmap[]} */
let frames = [];

/**
 * Load the detector, once per page. When detection runs on the page's thread,
 * onnxruntime-web keeps the wasm thread count of its first initialisation, so a second
 * load with another thread count would not take effect.
 * @param {{numThreads?: number, backend?: string}} options
 */
async function load(options = {}) {
  if (detector) throw new Error("the detector is already loaded in this page: open a new page to load it again");
  const loadOptions = { baseUrl: "/" };
  if (options.numThreads !== undefined && options.numThreads !== null) loadOptions.numThreads = options.numThreads;
  if (options.backend) loadOptions.backends = [options.backend];
  const start = performance.now();
  detector = await loadDetector(loadOptions);
  const loadMs = performance.now() - start;
  return {
    loadMs,
    backend: detector.backend,
    threads: detector.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    preprocess: detector.manifest.preprocess,
  };
}

/**
 * Decode each image URL into an ImageBitmap kept for the whole run, so decoding is
 * never part of a timed frame.
 * @param {string[]} urls
 */
async function prepareFrames(urls) {
  for (const frame of frames) frame.close();
  frames = [];
  for (const url of urls) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`frame ${url} could not be fetched: HTTP ${response.status}`);
    frames.push(await createImageBitmap(await response.blob(), DECODE_OPTIONS));
  }
  return frames.map((frame) => ({ width: frame.width, height: frame.height }));
}

/**
 * Run detect() once on a prepared frame.
 * @param {number} index @param {{scoreThreshold?: number, iouThreshold?: number}} [options]
 */
async function detectFrame(index, options = {}) {
  const start = performance.now();
  const result = await detector.detect(frames[index], options);
  const wall = performance.now() - start;
  return {
    timings: { ...result.timings, wall },
    detections: result.detections.length,
    backend: result.backend,
    threads: result.threads,
  };
}

/**
 * Run a camera-like loop: detect() on the same frame, one call after another, as a page
 * does on each video frame. Returns frames per second over the timed calls and each
 * call's stage timings.
 * @param {number} index @param {number} warmup @param {number} runs
 */
async function cameraLoop(index, warmup, runs) {
  for (let i = 0; i < warmup; i++) await detector.detect(frames[index]);
  const timings = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const before = performance.now();
    const result = await detector.detect(frames[index]);
    timings.push({ ...result.timings, wall: performance.now() - before });
  }
  const elapsedMs = performance.now() - start;
  return { fps: runs > 0 ? (runs * 1000) / elapsedMs : null, elapsedMs, timings };
}

// RGBA pixels of a prepared frame, read once for preprocessKernel.
const pixelCache = new Map();

/**
 * Time the preprocessing math alone (lib/preprocess.js) on a frame's RGBA pixels,
 * without moving the frame to the worker and reading its pixels back.
 * @param {number} index @param {number} warmup @param {number} runs
 */
async function preprocessKernel(index, warmup, runs) {
  const { preprocess } = await import("/lib/preprocess.js");
  if (!pixelCache.has(index)) {
    const frame = frames[index];
    const canvas = new OffscreenCanvas(frame.width, frame.height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(frame, 0, 0);
    const pixels = context.getImageData(0, 0, frame.width, frame.height);
    pixelCache.set(index, { data: pixels.data, width: frame.width, height: frame.height });
  }
  const image = pixelCache.get(index);
  const spec = detector.manifest.preprocess;
  for (let i = 0; i < warmup; i++) preprocess(image, spec);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    preprocess(image, spec);
    times.push(performance.now() - start);
  }
  return { times };
}

/** @param {string} text base64 of little-endian float32 values */
function decodeFloat32(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

let postprocessCase = null;

/**
 * Keep raw outputs and a postprocess contract sent by Python for postprocessKernel.
 * @param {{outputs: Object<string, {dims: number[], data: string}>, post: object,
 *   inputHw: number[], geometry: object, labels: string[]}} payload data is base64 float32
 */
function setPostprocessCase(payload) {
  const outputs = {};
  for (const [name, value] of Object.entries(payload.outputs)) outputs[name] = { dims: value.dims, data: decodeFloat32(value.data) };
  postprocessCase = { ...payload, outputs };
  return true;
}

/**
 * Run lib/postprocess.js (decode, candidate selection, NMS, inverse letterbox) on the
 * case from setPostprocessCase; return each timed run and the last run's detections.
 * Needs no loaded detector, so a test can call it in any page that serves the bundle.
 * @param {number} warmup @param {number} runs
 */
async function postprocessKernel(warmup, runs) {
  const { postprocess } = await import("/lib/postprocess.js");
  const { outputs, post, inputHw, geometry, labels } = postprocessCase;
  let detections = [];
  for (let i = 0; i < warmup; i++) detections = postprocess(outputs, post, inputHw, geometry, labels);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    detections = postprocess(outputs, post, inputHw, geometry, labels);
    times.push(performance.now() - start);
  }
  return { times, detections };
}

window.visionBench = { load, prepareFrames, detectFrame, cameraLoop, preprocessKernel, setPostprocessCase, postprocessKernel };
document.getElementById("state").textContent = "ready";
document.body.dataset.state = "ready";
