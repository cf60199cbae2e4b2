// Registry of head kinds; the twins of the modules in exporter/heads/.
// Each head's decode returns {boxes: Float32Array [N*4] xyxy in model-input pixels,
// scores: Float32Array [N*C] row-major, numClasses}.

import * as ssdDecoded from "./ssd_decoded.js";
import * as yolov8 from "./yolov8.js";
import * as yolox from "./yolox.js";

const HEADS = new Map([
  [yolov8.name, yolov8],
  [yolox.name, yolox],
  [ssdDecoded.name, ssdDecoded],
]);

/** @param {string} name */
export function getHead(name) {
  const head = HEADS.get(name);
  if (!head) throw new Error(`unknown head kind "${name}": this runtime knows ${[...HEADS.keys()].join(", ")}`);
  return head;
}
