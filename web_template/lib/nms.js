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

/**
 * Return indices of kept boxes, highest score first. Equal scores keep input order;
 * a box is suppressed when its IoU with a kept box of the same class (any class when
 * agnostic) is strictly greater than iouThreshold.
 * @param {Float32Array} boxes flat xyxy, 4 per candidate
 * @param {Float32Array} scores @param {Int32Array} classIds
 * @param {number} iouThreshold @param {number} maxDetections @param {boolean} agnostic
 * @returns {number[]}
 */
export function nms(boxes, scores, classIds, iouThreshold, maxDetections, agnostic) {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  const suppressed = new Uint8Array(scores.length);
  const keep = [];
  for (let i = 0; i < order.length && keep.length < maxDetections; i++) {
    const best = order[i];
    if (suppressed[best]) continue;
    keep.push(best);
    for (let j = i + 1; j < order.length; j++) {
      const other = order[j];
      if (suppressed[other]) continue;
      if (!agnostic && classIds[other] !== classIds[best]) continue;
      if (boxIou(boxes, best * 4, other * 4) > iouThreshold) suppressed[other] = 1;
    }
  }
  return keep;
}
