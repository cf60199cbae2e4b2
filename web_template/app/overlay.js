// Draw detections over a <video> or <img> shown with CSS object-fit: contain.
//
// Detections are in the media's natural pixels. The overlay canvas covers the element's
// box; its backing store is that box times devicePixelRatio, so lines stay sharp.

/**
 * Compute where natural pixels land inside a box under object-fit: contain, in CSS pixels.
 * @param {number} mediaWidth @param {number} mediaHeight natural size
 * @param {number} boxWidth @param {number} boxHeight the element's content box, CSS px
 * @returns {{scale: number, offsetX: number, offsetY: number}} css = natural * scale + offset
 */
export function containTransform(mediaWidth, mediaHeight, boxWidth, boxHeight) {
  const scale = Math.min(boxWidth / mediaWidth, boxHeight / mediaHeight);
  return { scale, offsetX: (boxWidth - mediaWidth * scale) / 2, offsetY: (boxHeight - mediaHeight * scale) / 2 };
}

/**
 * Map an xyxy box from natural pixels to CSS pixels of the element's box.
 * @param {number[]} box @param {{scale: number, offsetX: number, offsetY: number}} t
 */
export function boxToCss(box, t) {
  return [box[0] * t.scale + t.offsetX, box[1] * t.scale + t.offsetY, box[2] * t.scale + t.offsetX, box[3] * t.scale + t.offsetY];
}

/**
 * Size the overlay canvas to the media element's box and return a 2D context whose
 * coordinates are the media's natural pixels.
 * @param {HTMLCanvasElement} canvas @param {HTMLElement} media @param {number} mediaWidth @param {number} mediaHeight
 */
export function overlayContext(canvas, media, mediaWidth, mediaHeight) {
  const boxWidth = media.clientWidth;
  const boxHeight = media.clientHeight;
  const ratio = window.devicePixelRatio || 1;
  const backingWidth = Math.round(boxWidth * ratio);
  const backingHeight = Math.round(boxHeight * ratio);
  if (canvas.width !== backingWidth || canvas.height !== backingHeight) {
    canvas.width = backingWidth;
    canvas.height = backingHeight;
  }
  canvas.style.width = `${boxWidth}px`;
  canvas.style.height = `${boxHeight}px`;
  const t = containTransform(mediaWidth, mediaHeight, boxWidth, boxHeight);
  const context = canvas.getContext("2d");
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.setTransform(ratio * t.scale, 0, 0, ratio * t.scale, ratio * t.offsetX, ratio * t.offsetY);
  return { context, transform: t, cssPerPixel: t.scale };
}
