// Registry of head kinds; the twins of the modules in exporter/heads/.
// Each head's decode returns {boxes: Float32Array [N*4] xyxy in model-input pixels,
// scores: Float32Array [N*C] row-major (or [N] with classIds: Int32Array [N]), numClasses,
// and, for heads with landmarks, keypoints: Float32Array [N*K*2] with numKeypoints K}.
// A module that exports appliesNms = false already ran NMS in the graph.

import * as blazeface from "./blazeface.js";
import * as end2end from "./end2end.js";
import * as gfl from "./gfl.js";
import * as ssdDecoded from "./ssd_decoded.js";
import * as yolov5 from "./yolov5.js";
import * as yolov8 from "./yolov8.js";
import * as yolox from "./yolox.js";
import * as yunet from "./yunet.js";

const HEADS = new Map([blazeface, end2end, gfl, ssdDecoded, yolov5, yolov8, yolox, yunet].map((head) => [head.name, head]));

/** @param {string} name */
export function getHead(name) {
  const head = HEADS.get(name);
  if (!head) throw new Error(`unknown head kind "${name}": this runtime knows ${[...HEADS.keys()].join(", ")}`);
  return head;
}
