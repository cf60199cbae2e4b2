// Heads with NMS inside the graph: [1, K, 6] rows of (x1, y1, x2, y2, score, class), or
// boxes [1, K, 4], scores [1, K], classes [1, K] and a detection count. No second NMS runs.

export const name = "end2end";
export const appliesNms = false;

/** @param {Object<string, {data: ArrayLike<number|bigint>, dims: number[]}>} outputs */
export function decode(outputs) {
  if (outputs.detections) {
    const { data, dims } = outputs.detections;
    const count = dims[1];
    const boxes = new Float32Array(count * 4);
    const scores = new Float32Array(count);
    const classIds = new Int32Array(count);
    for (let n = 0; n < count; n++) {
      for (let i = 0; i < 4; i++) boxes[n * 4 + i] = data[n * 6 + i];
      scores[n] = data[n * 6 + 4];
      classIds[n] = Math.trunc(data[n * 6 + 5]);
    }
    return { boxes, scores, numClasses: 0, classIds };
  }
  const count = Number(outputs.count.data[0]);
  const boxes = Float32Array.from(outputs.boxes.data.slice(0, count * 4), Number);
  const scores = Float32Array.from(outputs.scores.data.slice(0, count), Number);
  const classIds = Int32Array.from(outputs.classes.data.slice(0, count), Number);
  return { boxes, scores, numClasses: 0, classIds };
}
