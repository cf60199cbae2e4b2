// Public ES module API of a vision-export bundle.
//
//   import { loadDetector } from "./vision-export.js";
//   const detector = await loadDetector();            // or loadDetector({ baseUrl })
//   const result = await detector.detect(imageOrBlobOrVideo);
//   result.detections  // [{box: [x1, y1, x2, y2], score, class_id, label}], original-image pixels
//   detector.dispose();

import { readPixels } from "./lib/pixels.js";
import { postprocess } from "./lib/postprocess.js";
import { preprocess } from "./lib/preprocess.js";
import { createSession } from "./lib/session.js";

export const MANIFEST_FORMAT = 1;

/**
 * @typedef {{box: number[], score: number, class_id: number, label: string}} Detection
 * @typedef {{detections: Detection[], timings: {preprocess: number, inference: number, postprocess: number, total: number},
 *   backend: string, threads: number|null, imageSize: {width: number, height: number}, debug?: object}} DetectResult
 */

export class Detector {
  /** @param {object} manifest @param {object} session */
  constructor(manifest, session) {
    this.manifest = manifest;
    this.labels = manifest.labels;
    this.backend = session.backend;
    this.threads = session.threads;
    this.crossOriginIsolated = session.crossOriginIsolated;
    this._session = session;
  }

  /**
   * Detect objects in an image, canvas, ImageBitmap, video element, ImageData or image Blob/File.
   * @param {any} source
   * @param {{scoreThreshold?: number, iouThreshold?: number, debug?: boolean}} [options]
   * @returns {Promise<DetectResult>}
   */
  async detect(source, options = {}) {
    if (!this._session) throw new Error("this detector was disposed: call loadDetector() again");
    const start = performance.now();
    const image = await readPixels(source);
    const { tensor, dims, geometry } = preprocess(image, this.manifest.preprocess);
    const afterPreprocess = performance.now();
    const outputs = await this._session.run(tensor, dims);
    const afterInference = performance.now();
    const post = { ...this.manifest.postprocess };
    if (options.scoreThreshold !== undefined) post.score_threshold = options.scoreThreshold;
    if (options.iouThreshold !== undefined) post.iou_threshold = options.iouThreshold;
    const inputHw = [this.manifest.preprocess.height, this.manifest.preprocess.width];
    const detections = postprocess(outputs, post, inputHw, geometry, this.labels);
    const end = performance.now();
    const result = {
      detections,
      timings: {
        preprocess: afterPreprocess - start,
        inference: afterInference - afterPreprocess,
        postprocess: end - afterInference,
        total: end - start,
      },
      backend: this.backend,
      threads: this.threads,
      imageSize: { width: image.width, height: image.height },
    };
    if (options.debug) result.debug = { inputTensor: tensor, inputDims: dims, outputs, geometry };
    return result;
  }

  /** Release the inference session; the detector cannot be used afterwards. */
  dispose() {
    this._session?.release();
    this._session = null;
  }
}

/**
 * Load a bundle's manifest, runtime and model.
 * @param {{baseUrl?: string|URL, numThreads?: number}} [options] baseUrl defaults to this module's folder
 * @returns {Promise<Detector>}
 */
export async function loadDetector(options = {}) {
  const baseUrl = new URL(options.baseUrl ?? "./", import.meta.url);
  if (!baseUrl.href.endsWith("/")) baseUrl.pathname += "/";
  const manifestUrl = new URL("manifest.json", baseUrl);
  const response = await fetch(manifestUrl);
  if (!response.ok) throw new Error(`manifest ${manifestUrl} could not be fetched: HTTP ${response.status}`);
  const manifest = await response.json();
  if (manifest.format_version !== MANIFEST_FORMAT) {
    throw new Error(`manifest ${manifestUrl} has format ${manifest.format_version}; this runtime reads format ${MANIFEST_FORMAT}`);
  }
  const session = await createSession(manifest, baseUrl, options);
  return new Detector(manifest, session);
}
