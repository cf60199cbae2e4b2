// YuNet face head: per stride s, cls/obj [1, N, 1], bbox [1, N, 4], kps [1, N, 10]. Anchors sit at
// (gx*s, gy*s), row-major; centre = bbox[:2]*s + anchor, size = exp(bbox[2:])*s,
// landmark = kps*s + anchor; score = cls * obj.

export const name = "yunet";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params, inputHw) {
  let count = 0;
  for (const stride of params.strides) count += Math.floor(inputHw[0] / stride) * Math.floor(inputHw[1] / stride);
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count);
  const keypoints = new Float32Array(count * 10);
  let n = 0;
  for (const stride of params.strides) {
    const rows = Math.floor(inputHw[0] / stride);
    const cols = Math.floor(inputHw[1] / stride);
    const cls = outputs[`cls_${stride}`].data;
    const obj = outputs[`obj_${stride}`].data;
    const bbox = outputs[`bbox_${stride}`].data;
    const kps = outputs[`kps_${stride}`].data;
    for (let i = 0; i < rows * cols; i++, n++) {
      const ax = (i % cols) * stride;
      const ay = Math.floor(i / cols) * stride;
      const cx = Math.fround(Math.fround(bbox[i * 4] * stride) + ax);
      const cy = Math.fround(Math.fround(bbox[i * 4 + 1] * stride) + ay);
      const halfW = Math.fround(Math.fround(Math.fround(Math.exp(bbox[i * 4 + 2])) * stride) * 0.5);
      const halfH = Math.fround(Math.fround(Math.fround(Math.exp(bbox[i * 4 + 3])) * stride) * 0.5);
      boxes[n * 4] = cx - halfW;
      boxes[n * 4 + 1] = cy - halfH;
      boxes[n * 4 + 2] = cx + halfW;
      boxes[n * 4 + 3] = cy + halfH;
      for (let k = 0; k < 5; k++) {
        keypoints[n * 10 + 2 * k] = Math.fround(kps[i * 10 + 2 * k] * stride) + ax;
        keypoints[n * 10 + 2 * k + 1] = Math.fround(kps[i * 10 + 2 * k + 1] * stride) + ay;
      }
      scores[n] = cls[i] * obj[i];
    }
  }
  return { boxes, scores, numClasses: 1, keypoints, numKeypoints: 5 };
}
