// Candidate selection, NMS and inverse letterbox: the twin of exporter/reference/pipeline.py.

import { getHead } from "./heads/index.js";
import { nms, orderByScore } from "./nms.js";
import { unletterboxPoints } from "./preprocess.js";

/**
 * Pick each row's best class and keep rows scoring above threshold, at most
 * maxCandidates of the highest-scoring rows, in their original row order.
 * Ties for the best class go to the lowest class index, as numpy's argmax does.
 * @param {Float32Array} scores row-major [N, C], or [N] when classIds is given
 * @param {number} numClasses @param {number} threshold @param {number} maxCandidates
 * @param {Int32Array} [classIds] the class of each row, for heads that chose it already
 * @returns {{rows: Int32Array, scores: Float32Array, classIds: Int32Array}}
 */
export function selectCandidates(scores, numClasses, threshold, maxCandidates, classIds) {
  const perRow = classIds ? 1 : numClasses;
  const count = perRow > 0 ? scores.length / perRow : 0;
  const limit = Math.fround(threshold);
  const rows = new Int32Array(count);
  const best = new Float32Array(count);
  const classes = new Int32Array(count);
  let found = 0;
  for (let n = 0, base = 0; n < count; n++, base += perRow) {
    let classId = classIds ? classIds[n] : 0;
    let score = scores[base];
    for (let c = 1; c < perRow; c++) {
      const value = scores[base + c];
      if (value > score) {
        score = value;
        classId = c;
      }
    }
    if (score > limit) {
      rows[found] = n;
      best[found] = score;
      classes[found] = classId;
      found++;
    }
  }
  if (found <= maxCandidates) {
    return { rows: rows.slice(0, found), scores: best.slice(0, found), classIds: classes.slice(0, found) };
  }
  const picked = orderByScore(best.subarray(0, found)).slice(0, maxCandidates).sort();
  return {
    rows: picked.map((i) => rows[i]),
    scores: Float32Array.from(picked, (i) => best[i]),
    classIds: picked.map((i) => classes[i]),
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
  const decoded = head.decode(byRole, post.head_params, inputHw);
  const picked = selectCandidates(decoded.scores, decoded.numClasses, post.score_threshold, post.max_candidates, decoded.classIds);

  const count = picked.rows.length;
  const candidateBoxes = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const row = picked.rows[i] * 4;
    candidateBoxes[i * 4] = decoded.boxes[row];
    candidateBoxes[i * 4 + 1] = decoded.boxes[row + 1];
    candidateBoxes[i * 4 + 2] = decoded.boxes[row + 2];
    candidateBoxes[i * 4 + 3] = decoded.boxes[row + 3];
  }
  let keep;
  if (head.appliesNms === false) {
    keep = Array.from(orderByScore(picked.scores).subarray(0, post.max_detections));
  } else {
    keep = nms(candidateBoxes, picked.scores, picked.classIds, post.iou_threshold, post.max_detections, post.agnostic_nms);
  }
  const pointsPerRow = (decoded.numKeypoints || 0) * 2;
  return keep.map((i) => {
    const classId = picked.classIds[i];
    const detection = {
      box: unletterboxPoints(candidateBoxes.subarray(i * 4, i * 4 + 4), geometry, post.clip_boxes),
      score: picked.scores[i],
      class_id: classId,
      label: classId < labels.length ? labels[classId] : String(classId),
    };
    if (decoded.keypoints) {
      const row = picked.rows[i];
      const flat = unletterboxPoints(decoded.keypoints.subarray(row * pointsPerRow, (row + 1) * pointsPerRow), geometry, post.clip_boxes);
      detection.keypoints = [];
      for (let k = 0; k < flat.length; k += 2) detection.keypoints.push([flat[k], flat[k + 1]]);
    }
    return detection;
  });
}
