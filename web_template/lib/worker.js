// The detection worker: runs preprocessing, inference and postprocessing off the page's
// main thread. Loaded as a module worker from this file (never a blob URL), so it works
// under a Content-Security-Policy of worker-src 'self'.

import { bitmapPixels, detectPixels } from "./pipeline.js";
import { DETECT, DISPOSE, LOAD } from "./protocol.js";
import { createSession } from "./session.js";

let session = null;
let manifest = null;

async function handle(message) {
  switch (message.type) {
    case LOAD: {
      manifest = message.manifest;
      session = await createSession(manifest, new URL(message.baseUrl), message.options);
      return { backend: session.backend, threads: session.threads, crossOriginIsolated: session.crossOriginIsolated, failures: session.failures };
    }
    case DETECT: {
      if (!session) throw new Error("the detector is not loaded");
      const image = message.bitmap ? bitmapPixels(message.bitmap) : message.image;
      message.bitmap?.close();
      return detectPixels(session, manifest, image, message.options);
    }
    case DISPOSE: {
      await session?.release();
      session = null;
      return true;
    }
    default:
      throw new Error(`unknown request type ${message.type}`);
  }
}

self.addEventListener("message", async (event) => {
  const { id } = event.data;
  try {
    const value = await handle(event.data);
    const transfer = new Set();
    if (value?.debug) {
      transfer.add(value.debug.inputTensor.buffer);
      for (const output of Object.values(value.debug.outputs)) transfer.add(output.data.buffer);
    }
    self.postMessage({ id, ok: true, value }, [...transfer]);
  } catch (error) {
    self.postMessage({ id, ok: false, error: error.message });
  }
});
