// Ultralytics YOLOv8 raw head: [1, 4+C, N] (channels first) or [1, N, 4+C].

export const name = "yolov8";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params) {
  const { data, dims } = outputs.predictions;
  const channelsFirst = params.channels_first !== false;
  const count = channelsFirst ? dims[2] : dims[1];
  const channels = channelsFirst ? dims[1] : dims[2];
  const numClasses = channels - 4;
  // Value (candidate n, channel c) sits at n * rowStep + c * channelStep.
  const rowStep = channelsFirst ? 1 : channels;
  const channelStep = channelsFirst ? count : 1;

  const boxes = new Float32Array(count * 4);
  for (let n = 0; n < count; n++) {
    const at = n * rowStep;
    const cx = data[at];
    const cy = data[at + channelStep];
    const halfW = Math.fround(data[at + 2 * channelStep] * 0.5);
    const halfH = Math.fround(data[at + 3 * channelStep] * 0.5);
    boxes[n * 4] = cx - halfW;
    boxes[n * 4 + 1] = cy - halfH;
    boxes[n * 4 + 2] = cx + halfW;
    boxes[n * 4 + 3] = cy + halfH;
  }

  // Scores are returned row-major [N, C]. The channels-first copy walks the source one
  // class plane at a time, so reads stay sequential.
  const scores = new Float32Array(count * numClasses);
  if (channelsFirst) {
    for (let c = 0; c < numClasses; c++) {
      const plane = (4 + c) * count;
      for (let n = 0, to = c; n < count; n++, to += numClasses) scores[to] = data[plane + n];
    }
  } else {
    for (let n = 0; n < count; n++) {
      const from = n * channels + 4;
      for (let c = 0; c < numClasses; c++) scores[n * numClasses + c] = data[from + c];
    }
  }
  return { boxes, scores, numClasses };
}
