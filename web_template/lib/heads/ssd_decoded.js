// SSD-style head with priors decoded in the graph: boxes [1, N, 4] normalised xyxy and
// scores [1, N, K]; the background_class column, when set, is dropped.

export const name = "ssd_decoded";

/** @param {Object<string, {data: Float32Array, dims: number[]}>} outputs */
export function decode(outputs, params, inputHw) {
  const [height, width] = inputHw;
  const boxData = outputs.boxes.data;
  const { data: scoreData, dims } = outputs.scores;
  const count = dims[1];
  const columns = dims[2];
  const background = params.background_class ?? null;
  const numClasses = background === null ? columns : columns - 1;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count * numClasses);
  const scale = [width, height, width, height];
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < 4; i++) boxes[n * 4 + i] = boxData[n * 4 + i] * Math.fround(scale[i]);
    let c = 0;
    for (let column = 0; column < columns; column++) {
      if (column === background) continue;
      scores[n * numClasses + c] = scoreData[n * columns + column];
      c++;
    }
  }
  return { boxes, scores, numClasses };
}
