// The demo page: webcam, video files and photos through the bundle's public API.

import { loadDetector } from "../vision-export.js";
import { overlayContext } from "./overlay.js";
import { drawDetections, drawFrame } from "./render.js";

const $ = (id) => document.getElementById(id);
const state = { detector: null, stream: null, video: null, busy: false, photos: [], lastFrameTime: 0, fps: 0 };

function setStatus(text) {
  $("status").textContent = text;
}

function showMessage(text) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
}

function thresholds() {
  return { scoreThreshold: Number($("score-threshold").value), iouThreshold: Number($("iou-threshold").value) };
}

function formatTimings(t) {
  return `preprocess ${t.preprocess.toFixed(1)} ms · inference ${t.inference.toFixed(1)} ms · postprocess ${t.postprocess.toFixed(1)} ms`;
}

function describeBackend(detector) {
  const threads = detector.threads === null ? "" : `, ${detector.threads} thread${detector.threads === 1 ? "" : "s"}`;
  const note = detector.crossOriginIsolated ? "" : " (not cross-origin isolated: serve with COOP/COEP headers for threads)";
  const skipped = detector.backendFailures.length ? ` · skipped ${detector.backendFailures.join("; ")}` : "";
  return `backend ${detector.backend}${threads}${note}${skipped}`;
}

function detectionTable(detections) {
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const title of ["label", "score", "box (x1, y1, x2, y2)"]) {
    const cell = document.createElement("th");
    cell.textContent = title;
    head.appendChild(cell);
  }
  const body = table.createTBody();
  for (const d of detections) {
    const row = body.insertRow();
    row.insertCell().textContent = d.label;
    row.insertCell().textContent = d.score.toFixed(3);
    row.insertCell().textContent = d.box.map((v) => v.toFixed(0)).join(", ");
  }
  return table;
}

async function renderPhoto(photo) {
  const result = await state.detector.detect(photo.bitmap, thresholds());
  const { width, height } = result.imageSize;
  drawFrame(photo.canvas, photo.bitmap, width, height, result.detections);
  photo.summary.textContent = `${result.detections.length} detections · ${formatTimings(result.timings)}`;
  photo.table.replaceWith((photo.table = detectionTable(result.detections)));
}

async function addPhoto(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const card = document.createElement("article");
  card.className = "card";
  const title = document.createElement("h2");
  title.textContent = file.name;
  const canvas = document.createElement("canvas");
  const summary = document.createElement("p");
  summary.className = "stats";
  const table = document.createElement("table");
  card.append(title, canvas, summary, table);
  $("gallery").prepend(card);
  const photo = { bitmap, canvas, summary, table };
  state.photos.push(photo);
  await renderPhoto(photo);
}

async function rerunPhotos() {
  for (const photo of state.photos) await renderPhoto(photo);
}

function startVideoLoop(video) {
  state.video = video;
  $("live").hidden = false;
  const stage = $("live-stage");
  stage.replaceChildren(video, $("live-overlay"));
  const tick = async () => {
    if (state.video !== video) return;
    // Frames that arrive while a detection runs are dropped, never queued. Detection starts
    // only once the video has data and a real size (phones deliver portrait, whatever was asked).
    if (!state.busy && video.readyState >= 2 && video.videoWidth > 0) {
      state.busy = true;
      try {
        const result = await state.detector.detect(video, thresholds());
        const { context, cssPerPixel } = overlayContext($("live-overlay"), video, video.videoWidth, video.videoHeight);
        drawDetections(context, result.detections, 1 / cssPerPixel);
        $("live-detections").replaceWith(Object.assign(detectionTable(result.detections), { id: "live-detections" }));
        const now = performance.now();
        if (state.lastFrameTime) state.fps = 0.9 * state.fps + 0.1 * (1000 / (now - state.lastFrameTime));
        state.lastFrameTime = now;
        $("live-stats").textContent = `${video.videoWidth}x${video.videoHeight} · ${state.fps.toFixed(1)} fps · ${result.detections.length} detections · ${formatTimings(result.timings)}`;
      } catch (error) {
        showMessage(`Detection failed: ${error.message}`);
      } finally {
        state.busy = false;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function stopVideo() {
  state.stream?.getTracks().forEach((track) => track.stop());
  state.stream = null;
  if (state.video) {
    state.video.pause();
    if (state.video.src.startsWith("blob:")) URL.revokeObjectURL(state.video.src);
  }
  state.video = null;
  state.lastFrameTime = 0;
  $("camera-toggle").textContent = "Start camera";
}

async function toggleCamera() {
  if (state.stream) {
    stopVideo();
    return;
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    showMessage("This page cannot use a camera: open it from https:// or http://127.0.0.1. Photos and video files still work.");
    return;
  }
  stopVideo();
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
  } catch (error) {
    showMessage(`The camera is not available (${error.name}: ${error.message}). Photos and video files still work.`);
    return;
  }
  showMessage("");
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = state.stream;
  await video.play();
  $("camera-toggle").textContent = "Stop camera";
  startVideoLoop(video);
}

async function openFiles(files) {
  showMessage("");
  for (const file of files) {
    try {
      if (file.type.startsWith("video/")) {
        stopVideo();
        const video = document.createElement("video");
        video.muted = true;
        video.loop = true;
        video.playsInline = true;
        video.src = URL.createObjectURL(file);
        await video.play();
        startVideoLoop(video);
      } else {
        await addPhoto(file);
      }
    } catch (error) {
      showMessage(`${file.name}: ${error.message}`);
    }
  }
}

function bindThreshold(id, outputId, value) {
  const input = $(id);
  input.value = String(value);
  $(outputId).textContent = Number(value).toFixed(2);
  let pending = null;
  input.addEventListener("input", () => {
    $(outputId).textContent = Number(input.value).toFixed(2);
    clearTimeout(pending);
    pending = setTimeout(() => rerunPhotos().catch((error) => showMessage(error.message)), 150);
  });
}

async function main() {
  try {
    state.detector = await loadDetector({ baseUrl: new URL("../", import.meta.url) });
  } catch (error) {
    setStatus(`The model could not be loaded: ${error.message}`);
    return;
  }
  const post = state.detector.manifest.postprocess;
  bindThreshold("score-threshold", "score-value", post.score_threshold);
  bindThreshold("iou-threshold", "iou-value", post.iou_threshold);
  setStatus(`Ready · ${state.detector.labels.length} classes · ${describeBackend(state.detector)}`);
  $("camera-toggle").disabled = false;
  $("file-input").disabled = false;
  $("camera-toggle").addEventListener("click", () => toggleCamera());
  $("file-input").addEventListener("change", (event) => openFiles([...event.target.files]));
}

main();
