// GFL / distribution-focal head (NanoDet, PP-PicoDet): per stride s, class scores [1, cells, C] and
// box distributions [1, cells, 4*(reg_max+1)]. The expected bin of each side's softmax, times s,
// is the distance from the cell centre (g + 0.5) * s + center_shift. Grids are ceil(H/s) x ceil(W/s).

export const name = "gfl";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params, inputHw) {
  const bins = params.reg_max + 1;
  let count = 0;
  let numClasses = 0;
  for (const stride of params.strides) {
    count += outputs[`scores_${stride}`].dims[1];
    numClasses = outputs[`scores_${stride}`].dims[2];
  }
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count * numClasses);
  const probabilities = new Float64Array(bins);
  let n = 0;
  for (const stride of params.strides) {
    const rows = Math.ceil(inputHw[0] / stride);
    const cols = Math.ceil(inputHw[1] / stride);
    const distribution = outputs[`distributions_${stride}`].data;
    scores.set(outputs[`scores_${stride}`].data, n * numClasses);
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < cols; gx++, n++) {
        const cell = (gy * cols + gx) * 4 * bins;
        const cx = Math.fround(Math.fround((gx + 0.5) * stride) + params.center_shift);
        const cy = Math.fround(Math.fround((gy + 0.5) * stride) + params.center_shift);
        const distances = [0, 0, 0, 0];
        for (let side = 0; side < 4; side++) {
          const offset = cell + side * bins;
          let max = -Infinity;
          for (let b = 0; b < bins; b++) max = Math.max(max, distribution[offset + b]);
          let total = 0;
          for (let b = 0; b < bins; b++) {
            probabilities[b] = Math.exp(distribution[offset + b] - max);
            total += probabilities[b];
          }
          let expectation = 0;
          for (let b = 0; b < bins; b++) expectation += (probabilities[b] / total) * b;
          distances[side] = Math.fround(expectation * stride);
        }
        boxes[n * 4] = cx - distances[0];
        boxes[n * 4 + 1] = cy - distances[1];
        boxes[n * 4 + 2] = cx + distances[2];
        boxes[n * 4 + 3] = cy + distances[3];
      }
    }
  }
  return { boxes, scores, numClasses };
}
