// MediaPipe BlazeFace head: preds [1, A, 4+2K] offsets in 1/scale of an anchor, conf [1, A, 1]
// logits, anchors [A, 4] (x_center, y_center, w, h) normalised to the input.

export const name = "blazeface";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params, inputHw) {
  const [height, width] = inputHw;
  const preds = outputs.preds.data;
  const channels = outputs.preds.dims[2];
  const count = outputs.preds.dims[1];
  const conf = outputs.conf.data;
  const scale = params.scale;
  const numKeypoints = params.num_keypoints;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count);
  const keypoints = new Float32Array(count * numKeypoints * 2);
  const size = [Math.fround(width), Math.fround(height)];
  for (let n = 0; n < count; n++) {
    const [ax, ay, aw, ah] = params.anchors[n].map(Math.fround);
    const row = n * channels;
    const anchorXy = [ax, ay];
    const anchorWh = [aw, ah];
    for (let axis = 0; axis < 2; axis++) {
      const offset = Math.fround(Math.fround(preds[row + axis] / scale) * anchorWh[axis]);
      const center = Math.fround(Math.fround(offset + anchorXy[axis]) * size[axis]);
      const half = Math.fround(Math.fround(Math.fround(Math.fround(preds[row + 2 + axis] / scale) * anchorWh[axis]) * size[axis]) * 0.5);
      boxes[n * 4 + axis] = center - half;
      boxes[n * 4 + 2 + axis] = center + half;
    }
    for (let k = 0; k < numKeypoints; k++) {
      for (let axis = 0; axis < 2; axis++) {
        const offset = Math.fround(Math.fround(preds[row + 4 + 2 * k + axis] / scale) * anchorWh[axis]);
        keypoints[(n * numKeypoints + k) * 2 + axis] = Math.fround(offset + anchorXy[axis]) * size[axis];
      }
    }
    const logit = Math.min(Math.max(conf[n], -100), 100);
    scores[n] = 1 / (1 + Math.exp(-logit));
  }
  return { boxes, scores, numClasses: 1, keypoints, numKeypoints };
}
