// Candidate selection, NMS and inverse letterbox: the twin of exporter/reference/pipeline.py.

import { getHead } from "./heads/index.js";
import { nms } from "./nms.js";
import { unletterboxBox } from "./preprocess.js";

/**
 * Pick each row's best class and keep rows scoring above threshold, at most
 * maxCandidates of the highest-scoring rows, in their original row order.
 * @param {Float32Array} scores row-major [N, C] @param {number} numClasses
 * @param {number} threshold @param {number} maxCandidates
 */
export function selectCandidates(scores, numClasses, threshold, maxCandidates) {
  const count = numClasses > 0 ? scores.length / numClasses : 0;
  const limit = Math.fround(threshold);
  let rows = [];
  const best = [];
  const classes = [];
  for (let n = 0; n < count; n++) {
    let classId = 0;
    let score = scores[n * numClasses];
    for (let c = 1; c < numClasses; c++) {
      const value = scores[n * numClasses + c];
      if (value > score) {
        score = value;
        classId = c;
      }
    }
    if (score > limit) {
      rows.push(n);
      best.push(score);
      classes.push(classId);
    }
  }
  let picked = rows.map((_, i) => i);
  if (rows.length > maxCandidates) {
    picked = picked.sort((a, b) => best[b] - best[a] || a - b).slice(0, maxCandidates).sort((a, b) => a - b);
  }
  return {
    rows: Int32Array.from(picked, (i) => rows[i]),
    scores: Float32Array.from(picked, (i) => best[i]),
    classIds: Int32Array.from(picked, (i) => classes[i]),
  };
}

/**
 * Decode raw outputs by head kind, then threshold, NMS and map boxes back.
 * @param {Object<string, {data: Float32Array, dims: number[]}>} rawOutputs by output name
 * @param {object} post the manifest's postprocess section (with any threshold overrides)
 * @param {[number, number]} inputHw @param {import("./preprocess.js").LetterboxGeometry} geometry
 * @param {string[]} labels
 */
export function postprocess(rawOutputs, post, inputHw, geometry, labels) {
  const head = getHead(post.head);
  const byRole = {};
  for (const [role, name] of Object.entries(post.outputs)) byRole[role] = rawOutputs[name];
  const { boxes, scores, numClasses } = head.decode(byRole, post.head_params, inputHw);
  const picked = selectCandidates(scores, numClasses, post.score_threshold, post.max_candidates);
  const candidateBoxes = new Float32Array(picked.rows.length * 4);
  picked.rows.forEach((row, i) => candidateBoxes.set(boxes.subarray(row * 4, row * 4 + 4), i * 4));
  const keep = nms(candidateBoxes, picked.scores, picked.classIds, post.iou_threshold, post.max_detections, post.agnostic_nms);
  return keep.map((i) => {
    const classId = picked.classIds[i];
    return {
      box: unletterboxBox(candidateBoxes.subarray(i * 4, i * 4 + 4), geometry, post.clip_boxes),
      score: picked.scores[i],
      class_id: classId,
      label: classId < labels.length ? labels[classId] : String(classId),
    };
  });
}
