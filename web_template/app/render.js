// Drawing detections onto a canvas that contains the frame at its natural size,
// so boxes (original-image pixels) need no coordinate transform.

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"];

/** @param {number} classId */
export function classColor(classId) {
  return PALETTE[classId % PALETTE.length];
}

/**
 * Draw a frame and its detections. Labels are drawn with fillText, so label text is never parsed as HTML.
 * @param {HTMLCanvasElement} canvas @param {CanvasImageSource} frame
 * @param {{box:number[],score:number,class_id:number,label:string,keypoints?:number[][]}[]} detections
 */
export function drawFrame(canvas, frame, width, height, detections) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.drawImage(frame, 0, 0, width, height);
  // Sizes scale with the frame, so labels stay readable when CSS shrinks the canvas.
  const line = Math.max(2, Math.round(Math.max(width, height) / 300));
  const fontSize = Math.max(12, Math.round(Math.max(width, height) / 36));
  context.lineWidth = line;
  context.font = `${fontSize}px system-ui, sans-serif`;
  context.textBaseline = "top";
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box;
    const color = classColor(d.class_id);
    context.strokeStyle = color;
    context.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const metrics = context.measureText(text);
    const textHeight = fontSize + 4;
    const ty = y1 - textHeight >= 0 ? y1 - textHeight : y1;
    context.fillStyle = color;
    context.fillRect(x1, ty, metrics.width + 6, textHeight);
    context.fillStyle = "#fff";
    context.fillText(text, x1 + 3, ty + 2);
    context.fillStyle = color;
    for (const [x, y] of d.keypoints ?? []) {
      context.beginPath();
      context.arc(x, y, line * 1.5, 0, 2 * Math.PI);
      context.fill();
    }
  }
}
