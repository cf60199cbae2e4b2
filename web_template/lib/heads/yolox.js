// YOLOX raw head: [1, N, 5+C] rows of grid offsets, log sizes, objectness and class scores,
// ordered by stride (smallest first), then row-major over each grid.

export const name = "yolox";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params, inputHw) {
  const { data, dims } = outputs.predictions;
  const channels = dims[2];
  const numClasses = channels - 5;
  const count = dims[1];
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count * numClasses);
  let n = 0;
  for (const stride of params.strides) {
    const rows = Math.floor(inputHw[0] / stride);
    const cols = Math.floor(inputHw[1] / stride);
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < cols; gx++, n++) {
        const row = n * channels;
        const cx = Math.fround(Math.fround(data[row] + gx) * stride);
        const cy = Math.fround(Math.fround(data[row + 1] + gy) * stride);
        const halfW = Math.fround(Math.fround(Math.fround(Math.exp(data[row + 2])) * stride) * 0.5);
        const halfH = Math.fround(Math.fround(Math.fround(Math.exp(data[row + 3])) * stride) * 0.5);
        boxes[n * 4] = cx - halfW;
        boxes[n * 4 + 1] = cy - halfH;
        boxes[n * 4 + 2] = cx + halfW;
        boxes[n * 4 + 3] = cy + halfH;
        const objectness = data[row + 4];
        for (let c = 0; c < numClasses; c++) scores[n * numClasses + c] = objectness * data[row + 5 + c];
      }
    }
  }
  if (n !== count) throw new Error(`yolox output has ${count} rows but strides ${params.strides} give ${n}`);
  return { boxes, scores, numClasses };
}
