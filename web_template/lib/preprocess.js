// Letterbox/stretch resize and normalisation: the twin of exporter/reference/letterbox.py.
// Both sides use the same separable, antialiased bilinear filter in float64 with no
// intermediate rounding, so they produce the same float32 tensor. Canvas scaling is
// never used: its filter is unspecified and cannot be reproduced in Python.

/** @typedef {{width:number,height:number,resize:string,pad_position:string,pad_value:number[],
 *   interpolation:string,channel_order:string,scale:number,mean:number[],std:number[],layout:string}} PreprocessSpec */
/** @typedef {{srcW:number,srcH:number,resizedW:number,resizedH:number,padLeft:number,padTop:number}} LetterboxGeometry */

/** @param {number} value */
export function roundHalfUp(value) {
  return Math.floor(value + 0.5);
}

/**
 * Compute where a srcW x srcH image lands in the model input.
 * @param {number} srcW @param {number} srcH @param {PreprocessSpec} spec
 * @returns {LetterboxGeometry}
 */
export function computeGeometry(srcW, srcH, spec) {
  if (spec.resize === "stretch") {
    return { srcW, srcH, resizedW: spec.width, resizedH: spec.height, padLeft: 0, padTop: 0 };
  }
  const ratio = Math.min(spec.width / srcW, spec.height / srcH);
  const resizedW = Math.min(spec.width, Math.max(1, roundHalfUp(srcW * ratio)));
  const resizedH = Math.min(spec.height, Math.max(1, roundHalfUp(srcH * ratio)));
  let padLeft = 0;
  let padTop = 0;
  if (spec.pad_position === "center") {
    padLeft = Math.floor((spec.width - resizedW) / 2);
    padTop = Math.floor((spec.height - resizedH) / 2);
  }
  return { srcW, srcH, resizedW, resizedH, padLeft, padTop };
}

/**
 * Tap start indices and normalised triangle-filter weights for one axis.
 * @param {number} inSize @param {number} outSize
 * @param {boolean} [antialias] widen the filter with the downscale factor
 * @returns {{starts: Int32Array, weights: Float64Array, taps: number}}
 */
export function filterTaps(inSize, outSize, antialias = true) {
  const scale = inSize / outSize;
  const filterScale = antialias ? Math.max(scale, 1.0) : 1.0;
  const support = filterScale;
  const firsts = [];
  const rows = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const first = Math.max(Math.floor(center - support + 0.5), 0);
    const last = Math.min(Math.floor(center + support + 0.5), inSize);
    const row = [];
    let total = 0;
    for (let j = first; j < last; j++) {
      const w = Math.max(0.0, 1.0 - Math.abs((j + 0.5 - center) / filterScale));
      row.push(w);
      total += w;
    }
    firsts.push(first);
    rows.push(total > 0 ? row.map((w) => w / total) : [1.0]);
  }
  const taps = Math.max(...rows.map((r) => r.length));
  const starts = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const first = inSize >= taps ? Math.min(firsts[i], inSize - taps) : 0;
    const offset = firsts[i] - first;
    rows[i].forEach((w, k) => {
      weights[i * taps + offset + k] = w;
    });
    starts[i] = first;
  }
  return { starts, weights, taps };
}

// The camera loop resizes frames of one size again and again, so each axis's taps are
// computed once per (input size, output size, filter) and kept.
const TAPS_CACHE_SIZE = 8;
const tapsCache = new Map();

/**
 * filterTaps with each tap's source index already clamped to the input, as
 * letterbox.py's np.minimum(starts + k, in_size - 1) does.
 * @returns {{indices: Int32Array, weights: Float64Array, taps: number}} indices and weights [outSize * taps]
 */
function clampedTaps(inSize, outSize, antialias) {
  const key = `${inSize}:${outSize}:${antialias}`;
  let entry = tapsCache.get(key);
  if (!entry) {
    const { starts, weights, taps } = filterTaps(inSize, outSize, antialias);
    const indices = new Int32Array(outSize * taps);
    for (let i = 0; i < outSize; i++) {
      for (let k = 0; k < taps; k++) indices[i * taps + k] = Math.min(starts[i] + k, inSize - 1);
    }
    entry = { indices, weights, taps };
    if (tapsCache.size >= TAPS_CACHE_SIZE) tapsCache.delete(tapsCache.keys().next().value);
    tapsCache.set(key, entry);
  }
  return entry;
}

// Scratch planes are reused between calls, because a 1280x720 frame needs 11 MiB for the
// horizontal pass. A request above this many float64 values gets a fresh array, not kept.
const MAX_KEPT_SCRATCH = 4 * 1024 * 1024;
const scratch = [new Float64Array(0), new Float64Array(0)];

/** @param {0|1} slot @param {number} length */
function scratchArray(slot, length) {
  if (length > MAX_KEPT_SCRATCH) return new Float64Array(length);
  if (scratch[slot].length < length) scratch[slot] = new Float64Array(length);
  return scratch[slot];
}

/**
 * Resize RGBA uint8 pixels to planar RGB float64 [3, outH, outW], horizontal pass first.
 * Every output value is the same float64 sum as in letterbox.py: products of a pixel
 * and a weight, added tap by tap in tap order, starting from the first tap. The result
 * may live in a scratch array that the next call overwrites.
 * @param {Uint8ClampedArray|Uint8Array} rgba @param {number} width @param {number} height
 * @param {number} outW @param {number} outH @param {boolean} antialias
 * @returns {Float64Array}
 */
function resizePlanes(rgba, width, height, outW, outH, antialias) {
  const resizeX = outW !== width;
  const resizeY = outH !== height;
  const vertical = resizeY ? clampedTaps(height, outH, antialias) : null;
  // Rows that no vertical tap reads (strong downscales without antialiasing) are skipped.
  let needed = null;
  if (vertical) {
    needed = new Uint8Array(height);
    for (let i = 0; i < vertical.indices.length; i++) needed[vertical.indices[i]] = 1;
  }

  const planeH = height * outW;
  const rows = scratchArray(0, 3 * planeH);
  if (resizeX) {
    const { indices, weights, taps } = clampedTaps(width, outW, antialias);
    const offsets = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) offsets[i] = indices[i] * 4;
    for (let y = 0; y < height; y++) {
      if (needed && !needed[y]) continue;
      const rowStart = y * width * 4;
      const outRow = y * outW;
      for (let x = 0; x < outW; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = x * taps, end = k + taps; k < end; k++) {
          const src = rowStart + offsets[k];
          const w = weights[k];
          r += rgba[src] * w;
          g += rgba[src + 1] * w;
          b += rgba[src + 2] * w;
        }
        rows[outRow + x] = r;
        rows[planeH + outRow + x] = g;
        rows[2 * planeH + outRow + x] = b;
      }
    }
  } else {
    for (let p = 0, q = 0; p < planeH; p++, q += 4) {
      rows[p] = rgba[q];
      rows[planeH + p] = rgba[q + 1];
      rows[2 * planeH + p] = rgba[q + 2];
    }
  }
  if (!vertical) return rows;

  const { indices, weights, taps } = vertical;
  const planeOut = outH * outW;
  const out = scratchArray(1, 3 * planeOut);
  out.fill(0, 0, 3 * planeOut);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < outH; y++) {
      const dst = c * planeOut + y * outW;
      for (let k = y * taps, end = k + taps; k < end; k++) {
        const w = weights[k];
        const src = c * planeH + indices[k] * outW;
        for (let x = 0; x < outW; x++) out[dst + x] += rows[src + x] * w;
      }
    }
  }
  return out;
}

/**
 * Resize RGBA uint8 pixels to an RGB float64 image [outH, outW, 3], horizontal pass first.
 * @param {Uint8ClampedArray|Uint8Array} rgba @param {number} width @param {number} height
 * @param {number} outW @param {number} outH @param {boolean} [antialias]
 * @returns {Float64Array}
 */
export function resizeBilinear(rgba, width, height, outW, outH, antialias = true) {
  const planes = resizePlanes(rgba, width, height, outW, outH, antialias);
  const plane = outW * outH;
  const pixels = new Float64Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    pixels[p * 3] = planes[p];
    pixels[p * 3 + 1] = planes[plane + p];
    pixels[p * 3 + 2] = planes[2 * plane + p];
  }
  return pixels;
}

/**
 * Build the model's float32 input tensor (batch 1) from RGBA pixels.
 * Each value is (pixel * scale - mean) / std in float64, rounded once to float32.
 * @param {{data: Uint8ClampedArray|Uint8Array, width: number, height: number}} image
 * @param {PreprocessSpec} spec
 * @returns {{tensor: Float32Array, dims: number[], geometry: LetterboxGeometry}}
 */
export function preprocess(image, spec) {
  const geometry = computeGeometry(image.width, image.height, spec);
  const { resizedW, resizedH, padLeft, padTop } = geometry;
  const antialias = spec.interpolation === "bilinear-antialias";
  const planes = resizePlanes(image.data, image.width, image.height, resizedW, resizedH, antialias);

  const { width, height, scale } = spec;
  const plane = width * height;
  const tensor = new Float32Array(plane * 3);
  const nchw = spec.layout === "NCHW";
  const bgr = spec.channel_order === "BGR";
  // NCHW keeps each channel in its own plane; NHWC interleaves them.
  const step = nchw ? 1 : 3;
  const resizedPlane = resizedW * resizedH;

  for (let c = 0; c < 3; c++) {
    const rgbChannel = bgr ? 2 - c : c;
    const mean = spec.mean[c];
    const std = spec.std[c];
    const channelStart = nchw ? c * plane : c;
    const padded = (spec.pad_value[rgbChannel] * scale - mean) / std;
    for (let y = 0; y < height; y++) {
      const ry = y - padTop;
      let index = channelStart + y * width * step;
      if (ry < 0 || ry >= resizedH) {
        for (let x = 0; x < width; x++, index += step) tensor[index] = padded;
        continue;
      }
      for (let x = 0; x < padLeft; x++, index += step) tensor[index] = padded;
      const source = rgbChannel * resizedPlane + ry * resizedW;
      for (let x = 0; x < resizedW; x++, index += step) tensor[index] = (planes[source + x] * scale - mean) / std;
      for (let x = padLeft + resizedW; x < width; x++, index += step) tensor[index] = padded;
    }
  }
  const dims = nchw ? [1, 3, height, width] : [1, height, width, 3];
  return { tensor, dims, geometry };
}

/**
 * Map flat (x, y) pairs from model-input pixels back to original-image pixels.
 * A box [x1, y1, x2, y2] is two such pairs.
 * @param {ArrayLike<number>} points @param {LetterboxGeometry} g @param {boolean} clip
 * @returns {number[]}
 */
export function unletterboxPoints(points, g, clip) {
  const scaleX = g.resizedW / g.srcW;
  const scaleY = g.resizedH / g.srcH;
  const out = [];
  for (let i = 0; i < points.length; i += 2) {
    let x = (points[i] - g.padLeft) / scaleX;
    let y = (points[i + 1] - g.padTop) / scaleY;
    if (clip) {
      x = Math.min(Math.max(x, 0), g.srcW);
      y = Math.min(Math.max(y, 0), g.srcH);
    }
    out.push(x, y);
  }
  return out;
}
