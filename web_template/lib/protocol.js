// Messages between the page and the detection worker.
//
//   page -> worker  {id, type: "load",    baseUrl, manifest, options}
//   page -> worker  {id, type: "detect",  bitmap (transferred) | image {data, width, height}, options}
//   page -> worker  {id, type: "dispose"}
//   worker -> page  {id, ok: true, value} | {id, ok: false, error}
//
// Pixel buffers and ImageBitmaps travel as transferables, never as copies.

export const LOAD = "load";
export const DETECT = "detect";
export const DISPOSE = "dispose";

/** A promise-based client for a worker that replies to every request with the same id. */
export class WorkerClient {
  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    worker.addEventListener("message", (event) => {
      const { id, ok, value, error } = event.data;
      const request = this.pending.get(id);
      if (!request) return;
      this.pending.delete(id);
      if (ok) request.resolve(value);
      else request.reject(new Error(error));
    });
    worker.addEventListener("error", (event) => {
      const error = new Error(`the detection worker failed: ${event.message || "script error"}`);
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
    });
  }

  /** @param {string} type @param {object} payload @param {Transferable[]} [transfer] */
  request(type, payload = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  get busy() {
    return this.pending.size > 0;
  }

  terminate() {
    this.worker.terminate();
  }
}
