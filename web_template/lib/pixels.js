// Read the natural pixels of an image source as RGBA.
//
// Decoding policy, mirrored by exporter/reference/images.py: EXIF orientation is
// applied, embedded colour profiles are ignored, alpha is not premultiplied.
// Drawing happens at the source's natural size, so the browser never scales pixels.

const DECODE_OPTIONS = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };

/** @param {any} source */
function naturalSize(source) {
  if (typeof HTMLVideoElement !== "undefined" && source instanceof HTMLVideoElement) {
    return [source.videoWidth, source.videoHeight];
  }
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
    return [source.naturalWidth, source.naturalHeight];
  }
  return [source.width, source.height];
}

/**
 * @param {Blob|ImageBitmap|HTMLImageElement|HTMLVideoElement|HTMLCanvasElement|OffscreenCanvas|ImageData} source
 * @returns {Promise<{data: Uint8ClampedArray, width: number, height: number}>}
 */
export async function readPixels(source) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { data: source.data, width: source.width, height: source.height };
  }
  let drawable = source;
  let owned = null;
  if (source instanceof Blob) {
    try {
      owned = await createImageBitmap(source, DECODE_OPTIONS);
    } catch (error) {
      throw new Error(`the image could not be decoded (${error.message}): use a JPEG, PNG, WebP, GIF or BMP file`);
    }
    drawable = owned;
  } else if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement && !source.complete) {
    await source.decode();
  }
  const [width, height] = naturalSize(drawable);
  if (!width || !height) {
    owned?.close();
    throw new Error("the image source has no pixels yet (width or height is 0): wait until it has loaded");
  }
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(drawable, 0, 0, width, height);
  owned?.close();
  const pixels = context.getImageData(0, 0, width, height);
  return { data: pixels.data, width, height };
}
