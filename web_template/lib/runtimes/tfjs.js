// TensorFlow.js adapter: opens one TF.js backend (wasm, webgl or webgpu) on a graph model.
// Inputs and outputs are bound by the graph node names the manifest records at export,
// because a converted graph does not keep the source model's output order.

/** Join the weight shards in the order model.json lists them into one buffer. */
function weightData(topology, modelFile, parts) {
  const folder = modelFile.includes("/") ? modelFile.slice(0, modelFile.lastIndexOf("/") + 1) : "";
  const buffers = topology.weightsManifest.flatMap((group) =>
    group.paths.map((path) => {
      const bytes = parts.get(folder + path);
      if (!bytes) throw new Error(`weight file ${folder + path} is not listed in the manifest: export the bundle again`);
      return new Uint8Array(bytes);
    }),
  );
  const joined = new Uint8Array(buffers.reduce((total, b) => total + b.length, 0));
  let offset = 0;
  for (const bytes of buffers) {
    joined.set(bytes, offset);
    offset += bytes.length;
  }
  return joined.buffer;
}

/**
 * Load the backend module and make it TF.js's active backend; return the wasm thread count.
 *
 * The wasm backend runs single-threaded: its threaded build starts its workers from
 * blob: URLs, which the bundle's Content-Security-Policy (worker-src 'self') forbids.
 */
async function activateBackend(tf, backend, baseUrl) {
  // Importing the entry registers its backend. WebGL's entry is the core module, already loaded.
  const entryUrl = new URL(backend.entry, baseUrl);
  const entry = await import(/* @vite-ignore */ entryUrl.href);
  if (backend.name === "wasm") {
    // The .wasm files sit beside the backend module in the bundle.
    entry.setWasmPaths(new URL(".", entryUrl).href);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  }
  if (!(await tf.setBackend(backend.name))) throw new Error(`TF.js backend ${backend.name} could not start`);
  await tf.ready();
  return backend.name === "wasm" ? 1 : null;
}

export const tfjsRuntime = {
  /**
   * @param {{manifest: object, baseUrl: URL, backend: {name: string, entry: string},
   *   model: {bytes: ArrayBuffer, parts: Map<string, ArrayBuffer>}}} request
   */
  async open({ manifest, baseUrl, backend, model }) {
    const tf = await import(/* @vite-ignore */ new URL(manifest.runtime.core, baseUrl).href);
    const usedThreads = await activateBackend(tf, backend, baseUrl);
    const topology = JSON.parse(new TextDecoder().decode(model.bytes));
    const graph = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: topology.modelTopology,
        format: topology.format,
        generatedBy: topology.generatedBy,
        convertedBy: topology.convertedBy,
        signature: topology.signature,
        userDefinedMetadata: topology.userDefinedMetadata,
        weightSpecs: topology.weightsManifest.flatMap((group) => group.weights),
        weightData: weightData(topology, manifest.model.file, model.parts),
      }),
    );
    const binding = manifest.model.tfjs;
    const inputNode = binding.input_node.replace(/:0$/, "");
    const outputNames = Object.keys(binding.output_nodes);
    const outputNodes = outputNames.map((name) => binding.output_nodes[name]);
    // execute() runs graphs without control flow; TF.js logs a warning on every
    // executeAsync() call for those. A graph with dynamic ops makes execute() throw,
    // and from then on every frame uses executeAsync().
    let useAsync = false;
    const execute = async (feeds) => {
      if (!useAsync) {
        try {
          return graph.execute(feeds, outputNodes);
        } catch (error) {
          if (!/executeAsync/.test(String(error?.message))) throw error;
          useAsync = true;
        }
      }
      return graph.executeAsync(feeds, outputNodes);
    };
    return {
      async run(tensor, dims) {
        const input = tf.tensor(tensor, dims, "float32");
        let results;
        try {
          results = await execute({ [inputNode]: input });
        } finally {
          input.dispose();
        }
        const list = Array.isArray(results) ? results : [results];
        const outputs = {};
        try {
          for (let i = 0; i < list.length; i++) {
            outputs[outputNames[i]] = { data: await list[i].data(), dims: list[i].shape.slice() };
          }
        } finally {
          tf.dispose(list);
        }
        return outputs;
      },
      release: () => graph.dispose(),
      threads: usedThreads,
      // Live tensor count, so a page (and the tests) can see that frames leave nothing behind.
      memory: () => ({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes }),
    };
  },
};
