// One detection: pixels -> tensor -> session -> detections, with per-stage timings.
// Shared by the Web Worker and by the in-page fallback, so both compute the same thing.

import { postprocess } from "./postprocess.js";
import { preprocess } from "./preprocess.js";

/**
 * @param {{run: Function}} session @param {object} manifest
 * @param {{data: Uint8ClampedArray, width: number, height: number}} image RGBA pixels
 * @param {{scoreThreshold?: number, iouThreshold?: number, debug?: boolean}} options
 */
export async function detectPixels(session, manifest, image, options = {}) {
  const start = performance.now();
  const { tensor, dims, geometry } = preprocess(image, manifest.preprocess);
  const afterPreprocess = performance.now();
  // The session may take ownership of the input buffer, so keep a copy only for debugging.
  const debugTensor = options.debug ? tensor.slice() : null;
  const outputs = await session.run(tensor, dims);
  const afterInference = performance.now();
  const post = { ...manifest.postprocess };
  if (options.scoreThreshold !== undefined) post.score_threshold = options.scoreThreshold;
  if (options.iouThreshold !== undefined) post.iou_threshold = options.iouThreshold;
  const inputHw = [manifest.preprocess.height, manifest.preprocess.width];
  const detections = postprocess(outputs, post, inputHw, geometry, manifest.labels);
  const end = performance.now();
  const result = {
    detections,
    timings: {
      preprocess: afterPreprocess - start,
      inference: afterInference - afterPreprocess,
      postprocess: end - afterInference,
      total: end - start,
    },
    imageSize: { width: image.width, height: image.height },
  };
  if (session.memory) result.runtimeMemory = session.memory();
  if (options.debug) result.debug = { inputTensor: debugTensor, inputDims: dims, outputs, geometry };
  return result;
}

/**
 * Read an ImageBitmap's pixels at its natural size, so the browser never scales them.
 * @param {ImageBitmap} bitmap
 */
export function bitmapPixels(bitmap) {
  const { width, height } = bitmap;
  // Browsers without OffscreenCanvas run detection on the page, where a canvas element exists.
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, width, height);
  return { data: pixels.data, width, height };
}
