// onnxruntime-web adapter: opens one execution provider (wasm or webgpu) on the model bytes.

/** Wrap an InferenceSession as run(tensor, dims) -> {name: {data, dims}}. */
function makeRunner(ort, session, inputName) {
  return async (tensor, dims) => {
    const results = await session.run({ [inputName]: new ort.Tensor("float32", tensor, dims) });
    const outputs = {};
    for (const [name, value] of Object.entries(results)) {
      let data = value.data;
      // int64 outputs (class ids, counts) arrive as BigInt64Array; decoders use plain numbers.
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data = Float64Array.from(data, Number);
      outputs[name] = { data, dims: Array.from(value.dims) };
      value.dispose?.();
    }
    return outputs;
  };
}

export const onnxRuntime = {
  /**
   * @param {{manifest: object, baseUrl: URL, backend: {name: string, entry: string},
   *   model: {bytes: ArrayBuffer}, threads: number}} request
   */
  async open({ manifest, baseUrl, backend, model, threads }) {
    const ort = await import(/* @vite-ignore */ new URL(backend.entry, baseUrl).href);
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = "error";
    const session = await ort.InferenceSession.create(new Uint8Array(model.bytes), {
      executionProviders: [backend.name],
      graphOptimizationLevel: "all",
    });
    return {
      run: makeRunner(ort, session, manifest.model.input_name),
      release: () => session.release(),
      threads: backend.name === "wasm" ? threads : null,
    };
  },
};
