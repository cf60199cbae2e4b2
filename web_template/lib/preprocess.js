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

/**
 * Resize RGBA uint8 pixels to an RGB float64 image [outH, outW, 3], horizontal pass first.
 * @param {Uint8ClampedArray|Uint8Array} rgba @param {number} width @param {number} height
 * @param {number} outW @param {number} outH @param {boolean} [antialias]
 * @returns {Float64Array}
 */
export function resizeBilinear(rgba, width, height, outW, outH, antialias = true) {
  let pixels = new Float64Array(width * height * 3);
  for (let p = 0, q = 0; p < width * height; p++, q += 4) {
    pixels[p * 3] = rgba[q];
    pixels[p * 3 + 1] = rgba[q + 1];
    pixels[p * 3 + 2] = rgba[q + 2];
  }
  let curW = width;
  if (outW !== width) {
    const { starts, weights, taps } = filterTaps(width, outW, antialias);
    const out = new Float64Array(height * outW * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outW; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let k = 0; k < taps; k++) {
            const src = Math.min(starts[x] + k, width - 1);
            acc += pixels[(y * width + src) * 3 + c] * weights[x * taps + k];
          }
          out[(y * outW + x) * 3 + c] = acc;
        }
      }
    }
    pixels = out;
    curW = outW;
  }
  if (outH !== height) {
    const { starts, weights, taps } = filterTaps(height, outH, antialias);
    const out = new Float64Array(outH * curW * 3);
    for (let y = 0; y < outH; y++) {
      for (let k = 0; k < taps; k++) {
        const w = weights[y * taps + k];
        const srcRow = Math.min(starts[y] + k, height - 1) * curW * 3;
        const dstRow = y * curW * 3;
        for (let i = 0; i < curW * 3; i++) {
          out[dstRow + i] += pixels[srcRow + i] * w;
        }
      }
    }
    pixels = out;
  }
  return pixels;
}

/**
 * Build the model's float32 input tensor (batch 1) from RGBA pixels.
 * @param {{data: Uint8ClampedArray|Uint8Array, width: number, height: number}} image
 * @param {PreprocessSpec} spec
 * @returns {{tensor: Float32Array, dims: number[], geometry: LetterboxGeometry}}
 */
export function preprocess(image, spec) {
  const geometry = computeGeometry(image.width, image.height, spec);
  const antialias = spec.interpolation === "bilinear-antialias";
  const resized = resizeBilinear(image.data, image.width, image.height, geometry.resizedW, geometry.resizedH, antialias);
  const { width, height } = spec;
  const plane = width * height;
  const tensor = new Float32Array(plane * 3);
  const nchw = spec.layout === "NCHW";
  const bgr = spec.channel_order === "BGR";
  for (let y = 0; y < height; y++) {
    const ry = y - geometry.padTop;
    const insideY = ry >= 0 && ry < geometry.resizedH;
    for (let x = 0; x < width; x++) {
      const rx = x - geometry.padLeft;
      const inside = insideY && rx >= 0 && rx < geometry.resizedW;
      const base = (ry * geometry.resizedW + rx) * 3;
      for (let c = 0; c < 3; c++) {
        const rgbChannel = bgr ? 2 - c : c;
        const pixel = inside ? resized[base + rgbChannel] : spec.pad_value[rgbChannel];
        const value = (pixel * spec.scale - spec.mean[c]) / spec.std[c];
        const index = nchw ? c * plane + y * width + x : (y * width + x) * 3 + c;
        tensor[index] = value;
      }
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
