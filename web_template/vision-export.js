// Public ES module API of a vision-export bundle.
//
//   import { loadDetector } from "./vision-export.js";
//   const detector = await loadDetector();            // or loadDetector({ baseUrl })
//   const result = await detector.detect(imageOrBlobOrVideo);
//   result.detections  // [{box: [x1, y1, x2, y2], score, class_id, label, keypoints?}], original-image pixels
//   detector.dispose();
//
// Detection runs in a module Web Worker (lib/worker.js); frames travel to it as
// transferable ImageBitmaps. All requests go to URLs under baseUrl.

import { bitmapPixels, detectPixels } from "./lib/pipeline.js";
import { DETECT, DISPOSE, LOAD, WorkerClient } from "./lib/protocol.js";
import { createSession } from "./lib/session.js";

export const MANIFEST_FORMAT = 1;

// Decoding policy shared with the Python reference: EXIF orientation applied,
// colour profiles ignored, alpha not premultiplied.
const DECODE_OPTIONS = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };

/** @param {any} source */
function naturalSize(source) {
  if (typeof HTMLVideoElement !== "undefined" && source instanceof HTMLVideoElement) return [source.videoWidth, source.videoHeight];
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) return [source.naturalWidth, source.naturalHeight];
  if (typeof VideoFrame !== "undefined" && source instanceof VideoFrame) return [source.displayWidth, source.displayHeight];
  return [source.width, source.height];
}

/**
 * Turn any supported source into an ImageBitmap at its natural size.
 * @param {Blob|ImageBitmap|HTMLImageElement|HTMLVideoElement|HTMLCanvasElement|OffscreenCanvas|VideoFrame} source
 */
async function toImageBitmap(source) {
  if (source instanceof Blob) {
    try {
      return await createImageBitmap(source, DECODE_OPTIONS);
    } catch (error) {
      throw new Error(`the image could not be decoded (${error.message}): use a JPEG, PNG, WebP, GIF or BMP file`);
    }
  }
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement && !source.complete) await source.decode();
  const [width, height] = naturalSize(source);
  if (!width || !height) throw new Error("the image source has no pixels yet (width or height is 0): wait until it has loaded");
  return createImageBitmap(source);
}

export class Detector {
  /** @param {object} manifest @param {object} loaded @param {WorkerClient|null} client @param {object|null} session */
  constructor(manifest, loaded, client, session) {
    this.manifest = manifest;
    this.labels = manifest.labels;
    /** The execution provider that passed the self-check: "wasm" or "webgpu". */
    this.backend = loaded.backend;
    /** wasm threads in use (1 when the page is not cross-origin isolated), null for other backends. */
    this.threads = loaded.threads;
    this.crossOriginIsolated = loaded.crossOriginIsolated;
    /** Reasons the backends tried before this one were skipped. */
    this.backendFailures = loaded.failures;
    this._client = client;
    this._session = session;
    this._busy = false;
  }

  /** True while a detection is running; a camera loop should skip frames meanwhile. */
  get busy() {
    return this._busy;
  }

  /**
   * Detect objects in an image, canvas, ImageBitmap, video element, ImageData or image Blob/File.
   * With dropIfBusy, a call made while another detection runs resolves to null at once.
   * @param {any} source
   * @param {{scoreThreshold?: number, iouThreshold?: number, debug?: boolean, dropIfBusy?: boolean}} [options]
   * @returns {Promise<import("./vision-export").DetectResult|null>} null only with dropIfBusy
   */
  async detect(source, options = {}) {
    if (!this._client && !this._session) throw new Error("this detector was disposed: call loadDetector() again");
    if (options.dropIfBusy && this._busy) return null;
    this._busy = true;
    try {
      const { dropIfBusy, ...rest } = options;
      let result;
      if (typeof ImageData !== "undefined" && source instanceof ImageData) {
        const image = { data: source.data.slice(), width: source.width, height: source.height };
        result = this._client
          ? await this._client.request(DETECT, { image, options: rest }, [image.data.buffer])
          : await detectPixels(this._session, this.manifest, image, rest);
      } else {
        const bitmap = await toImageBitmap(source);
        if (this._client) {
          result = await this._client.request(DETECT, { bitmap, options: rest }, [bitmap]);
        } else {
          const image = bitmapPixels(bitmap);
          bitmap.close();
          result = await detectPixels(this._session, this.manifest, image, rest);
        }
      }
      return { ...result, backend: this.backend, threads: this.threads };
    } finally {
      this._busy = false;
    }
  }

  /** Release the inference session and the worker; the detector cannot be used afterwards. */
  dispose() {
    if (this._client) {
      this._client.request(DISPOSE).finally(() => this._client?.terminate());
    }
    this._session?.release();
    this._client = null;
    this._session = null;
  }
}

/**
 * Load a bundle's manifest, runtime and model.
 * @param {{baseUrl?: string|URL, numThreads?: number, backends?: string[], worker?: boolean}} [options]
 *   baseUrl defaults to this module's folder; worker: false runs detection on the calling thread.
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
  const sessionOptions = { numThreads: options.numThreads, backends: options.backends };
  if (options.worker !== false && typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined") {
    const worker = new Worker(new URL("./lib/worker.js", import.meta.url), { type: "module", name: "vision-export" });
    const client = new WorkerClient(worker);
    try {
      const loaded = await client.request(LOAD, { baseUrl: baseUrl.href, manifest, options: sessionOptions });
      return new Detector(manifest, loaded, client, null);
    } catch (error) {
      client.terminate();
      throw error;
    }
  }
  const session = await createSession(manifest, baseUrl, sessionOptions);
  return new Detector(manifest, session, null, session);
}
