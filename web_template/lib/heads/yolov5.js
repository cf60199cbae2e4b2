// YOLOv5-style decoded head: [1, N, 5+C] rows of cx, cy, w, h (input pixels), objectness, C class scores.

export const name = "yolov5";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs) {
  const { data, dims } = outputs.predictions;
  const count = dims[1];
  const channels = dims[2];
  const numClasses = channels - 5;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count * numClasses);
  for (let n = 0; n < count; n++) {
    const row = n * channels;
    const halfW = Math.fround(data[row + 2] * 0.5);
    const halfH = Math.fround(data[row + 3] * 0.5);
    boxes[n * 4] = data[row] - halfW;
    boxes[n * 4 + 1] = data[row + 1] - halfH;
    boxes[n * 4 + 2] = data[row] + halfW;
    boxes[n * 4 + 3] = data[row + 1] + halfH;
    const objectness = data[row + 4];
    for (let c = 0; c < numClasses; c++) scores[n * numClasses + c] = objectness * data[row + 5 + c];
  }
  return { boxes, scores, numClasses };
}
