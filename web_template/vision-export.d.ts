// TypeScript declarations for the vision-export bundle API (vision-export.js).

/** One detection, in pixels of the original (upright) image. */
export interface Detection {
  /** [x1, y1, x2, y2] */
  box: [number, number, number, number];
  score: number;
  class_id: number;
  label: string;
  /** [x, y] landmarks, for heads that predict them (faces). */
  keypoints?: [number, number][];
}

/** Milliseconds spent in each stage of one detection. */
export interface Timings {
  preprocess: number;
  inference: number;
  postprocess: number;
  total: number;
}

export interface DetectResult {
  detections: Detection[];
  timings: Timings;
  /** The execution provider that ran: "wasm" or "webgpu". */
  backend: string;
  /** wasm threads in use; null for other backends. */
  threads: number | null;
  imageSize: { width: number; height: number };
  /** TF.js bundles only: live tensors and their bytes after this frame, to spot leaks. */
  runtimeMemory?: { tensors: number; bytes: number };
  /** Intermediate tensors, present when detect() was called with debug: true. */
  debug?: {
    inputTensor: Float32Array;
    inputDims: number[];
    outputs: Record<string, { data: Float32Array | Float64Array | Int32Array | Uint8Array; dims: number[] }>;
  };
}

export type ImageSource =
  | Blob
  | ImageBitmap
  | ImageData
  | HTMLImageElement
  | HTMLVideoElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | VideoFrame;

export interface DetectOptions {
  /** Keep detections scoring above this, 0..1 (default: the manifest's). */
  scoreThreshold?: number;
  /** NMS IoU threshold, 0..1 (default: the manifest's). */
  iouThreshold?: number;
  /** Resolve to null at once when another detection is still running (for camera loops). */
  dropIfBusy?: boolean;
  /** Include the preprocessed tensor and raw outputs in the result. */
  debug?: boolean;
}

export interface LoadOptions {
  /** Folder of the bundle (default: the folder of vision-export.js). */
  baseUrl?: string | URL;
  /** wasm threads; used only when the page is cross-origin isolated (default: up to 4). TF.js bundles run one. */
  numThreads?: number;
  /** Backends to try, in order (default: the manifest's list). */
  backends?: string[];
  /** false runs detection on the calling thread instead of a Web Worker (default: true). */
  worker?: boolean;
}

export declare const MANIFEST_FORMAT: number;

export declare class Detector {
  readonly manifest: Record<string, unknown>;
  readonly labels: string[];
  readonly backend: string;
  readonly threads: number | null;
  readonly crossOriginIsolated: boolean;
  /** Reasons the backends tried before `backend` were skipped. */
  readonly backendFailures: string[];
  readonly busy: boolean;
  detect(source: ImageSource, options: DetectOptions & { dropIfBusy: true }): Promise<DetectResult | null>;
  detect(source: ImageSource, options?: DetectOptions): Promise<DetectResult>;
  dispose(): void;
}

export declare function loadDetector(options?: LoadOptions): Promise<Detector>;
