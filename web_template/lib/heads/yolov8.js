// Ultralytics YOLOv8 raw head: [1, 4+C, N] (channels first) or [1, N, 4+C].

export const name = "yolov8";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params) {
  const { data, dims } = outputs.predictions;
  const channelsFirst = params.channels_first !== false;
  const count = channelsFirst ? dims[2] : dims[1];
  const channels = channelsFirst ? dims[1] : dims[2];
  const numClasses = channels - 4;
  const at = channelsFirst ? (n, c) => data[c * count + n] : (n, c) => data[n * channels + c];
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count * numClasses);
  for (let n = 0; n < count; n++) {
    const cx = at(n, 0);
    const cy = at(n, 1);
    const halfW = Math.fround(at(n, 2) * 0.5);
    const halfH = Math.fround(at(n, 3) * 0.5);
    boxes[n * 4] = cx - halfW;
    boxes[n * 4 + 1] = cy - halfH;
    boxes[n * 4 + 2] = cx + halfW;
    boxes[n * 4 + 3] = cy + halfH;
    for (let c = 0; c < numClasses; c++) scores[n * numClasses + c] = at(n, 4 + c);
  }
  return { boxes, scores, numClasses };
}
