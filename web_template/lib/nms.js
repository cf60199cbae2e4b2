// Greedy non-maximum suppression: the twin of exporter/reference/nms.py.

/**
 * IoU of two xyxy boxes stored at offsets a and b of a flat array; 0 when the union is empty.
 * @param {Float32Array} boxes @param {number} a @param {number} b
 */
export function boxIou(boxes, a, b) {
  const interW = Math.max(Math.min(boxes[a + 2], boxes[b + 2]) - Math.max(boxes[a], boxes[b]), 0);
  const interH = Math.max(Math.min(boxes[a + 3], boxes[b + 3]) - Math.max(boxes[a + 1], boxes[b + 1]), 0);
  const inter = interW * interH;
  const areaA = Math.max(boxes[a + 2] - boxes[a], 0) * Math.max(boxes[a + 3] - boxes[a + 1], 0);
  const areaB = Math.max(boxes[b + 2] - boxes[b], 0) * Math.max(boxes[b + 3] - boxes[b + 1], 0);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

// Sort keys pack a score's 32 bits above a 21-bit index into one float64 integer
// (32 + 21 = 53 bits, the exact-integer range of a double).
const INDEX_RANGE = 2 ** 21;

/**
 * Return candidate indices by descending score, equal scores in index order (a stable sort).
 * Scores are compared as float32 values, so pass a Float32Array: float64 scores that
 * round to the same float32 would tie.
 * @param {Float32Array} scores
 * @returns {Int32Array}
 */
export function orderByScore(scores) {
  const count = scores.length;
  const order = new Int32Array(count);
  if (count > INDEX_RANGE) {
    for (let i = 0; i < count; i++) order[i] = i;
    return order.sort((a, b) => scores[b] - scores[a] || a - b);
  }
  // A float32's bits sort as unsigned integers in numeric order once the sign bit is
  // flipped for positives and every bit is flipped for negatives. Subtracting that from
  // 2^32 - 1 gives descending order. The sign of zero is dropped first, so -0 ties with
  // +0 as in a numeric comparison. NaN scores go last, as in numpy's argsort.
  const bits = new Uint32Array(1);
  const value = new Float32Array(bits.buffer);
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const score = scores[i];
    let ascending = 0;
    if (score === score) {
      value[0] = score === 0 ? 0 : score;
      const raw = bits[0];
      ascending = raw >= 0x80000000 ? ~raw >>> 0 : (raw | 0x80000000) >>> 0;
    }
    keys[i] = (0xffffffff - ascending) * INDEX_RANGE + i;
  }
  keys.sort();
  for (let i = 0; i < count; i++) order[i] = keys[i] % INDEX_RANGE;
  return order;
}

/**
 * Return indices of kept boxes, highest score first. Equal scores keep input order.
 * A box is suppressed when its IoU with a kept box of the same class (any class when
 * agnostic) is strictly greater than iouThreshold.
 *
 * Candidates are sorted once. Each position in that order links to the next position
 * of the same class, and a suppressed box is unlinked, so a kept box only visits
 * candidates of its class that are still alive. The IoU arithmetic is boxIou's, in
 * the same float64 operations, so the result is exactly the reference's.
 * @param {Float32Array} boxes flat xyxy, 4 per candidate
 * @param {Float32Array} scores @param {Int32Array} classIds
 * @param {number} iouThreshold @param {number} maxDetections @param {boolean} agnostic
 * @returns {number[]}
 */
export function nms(boxes, scores, classIds, iouThreshold, maxDetections, agnostic) {
  const count = scores.length;
  const order = orderByScore(scores);

  const areas = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    areas[i] = Math.max(boxes[i * 4 + 2] - boxes[i * 4], 0) * Math.max(boxes[i * 4 + 3] - boxes[i * 4 + 1], 0);
  }
  // next[p]: the next position in `order` with the same class as position p, or -1.
  const next = new Int32Array(count);
  const following = new Map();
  for (let p = count - 1; p >= 0; p--) {
    const key = agnostic ? 0 : classIds[order[p]];
    next[p] = following.get(key) ?? -1;
    following.set(key, p);
  }

  const suppressed = new Uint8Array(count);
  const keep = [];
  for (let p = 0; p < count && keep.length < maxDetections; p++) {
    if (suppressed[p]) continue;
    const best = order[p];
    keep.push(best);
    const x1 = boxes[best * 4];
    const y1 = boxes[best * 4 + 1];
    const x2 = boxes[best * 4 + 2];
    const y2 = boxes[best * 4 + 3];
    const area = areas[best];

    let previous = p;
    for (let q = next[p]; q !== -1; q = next[q]) {
      const other = order[q];
      const o = other * 4;
      const interW = Math.max(Math.min(x2, boxes[o + 2]) - Math.max(x1, boxes[o]), 0);
      const interH = Math.max(Math.min(y2, boxes[o + 3]) - Math.max(y1, boxes[o + 1]), 0);
      const inter = interW * interH;
      const union = area + areas[other] - inter;
      const iou = union > 0 ? inter / union : 0;
      if (iou > iouThreshold) {
        suppressed[q] = 1;
        next[previous] = next[q];
      } else {
        previous = q;
      }
    }
  }
  return keep;
}
