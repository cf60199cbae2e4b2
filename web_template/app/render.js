// Drawing detections onto a canvas that contains the frame at its natural size,
// so boxes (original-image pixels) need no coordinate transform.

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"];

/** @param {number} classId */
export function classColor(classId) {
  return PALETTE[classId % PALETTE.length];
}

/**
 * Draw detections with a context whose coordinates are the frame's natural pixels.
 * ``unitsPerCssPixel`` keeps lines and text a constant on-screen size.
 * Labels are drawn with fillText, so label text is never parsed as HTML.
 * @param {CanvasRenderingContext2D} context
 * @param {{box:number[],score:number,class_id:number,label:string,keypoints?:number[][]}[]} detections
 * @param {number} unitsPerCssPixel
 */
export function drawDetections(context, detections, unitsPerCssPixel) {
  const line = 2 * unitsPerCssPixel;
  const fontSize = 13 * unitsPerCssPixel;
  context.lineWidth = line;
  context.font = `${fontSize}px system-ui, sans-serif`;
  context.textBaseline = "top";
  // Lowest score first, so where labels overlap the most confident one is drawn on top.
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const [x1, y1, x2, y2] = d.box;
    const color = classColor(d.class_id);
    context.strokeStyle = color;
    context.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const textHeight = fontSize + 4 * unitsPerCssPixel;
    const ty = y1 - textHeight >= 0 ? y1 - textHeight : y1;
    context.fillStyle = color;
    context.fillRect(x1, ty, context.measureText(text).width + 6 * unitsPerCssPixel, textHeight);
    context.fillStyle = "#fff";
    context.fillText(text, x1 + 3 * unitsPerCssPixel, ty + 2 * unitsPerCssPixel);
    context.fillStyle = color;
    for (const [x, y] of d.keypoints ?? []) {
      context.beginPath();
      context.arc(x, y, 3 * unitsPerCssPixel, 0, 2 * Math.PI);
      context.fill();
    }
  }
}

/**
 * Draw a frame at its natural size, then its detections. CSS may shrink the canvas, so
 * lines and labels are sized for the size it is shown at.
 * @param {HTMLCanvasElement} canvas @param {CanvasImageSource} frame
 * @param {number} width @param {number} height the frame's natural size
 * @param {{box:number[],score:number,class_id:number,label:string,keypoints?:number[][]}[]} detections
 */
export function drawFrame(canvas, frame, width, height, detections) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.drawImage(frame, 0, 0, width, height);
  const unitsPerCssPixel = canvas.clientWidth > 0 ? width / canvas.clientWidth : 1;
  drawDetections(context, detections, unitsPerCssPixel);
}
