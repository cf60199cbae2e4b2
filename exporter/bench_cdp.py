"""Peak JS heap of a bench page and its workers, read over the Chrome DevTools Protocol."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)


class HeapSampler:
    """Peak JS heap of the page plus its workers, in bytes, sampled between frames over CDP.

    The page's heap is ``Performance.getMetrics`` JSHeapUsedSize. Each dedicated worker
    (the bundle runs detection in one) is attached with ``Target.setAutoAttach`` and asked
    for ``Runtime.getHeapUsage``. A frame's short-lived allocations show only when the
    garbage collector has not freed them yet. ArrayBuffer backing stores (the frame
    pixels, tensors and WebAssembly memory) are outside the JS heap; the workers'
    ``backingStorageSize`` is kept separately as ``peak_worker_buffers_bytes``.
    """

    REPLY_TIMEOUT_MS = 2000

    def __init__(self, page) -> None:
        self.page = page
        self.peak = 0
        self.peak_buffers = 0
        self.workers: dict[str, str] = {}
        self.worker_urls: set[str] = set()
        self.replies: dict[int, dict] = {}
        self.next_id = 1
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")
        self.cdp.on("Target.attachedToTarget", self._attached)
        self.cdp.on("Target.detachedFromTarget", lambda event: self.workers.pop(event.get("sessionId", ""), None))
        self.cdp.on("Target.receivedMessageFromTarget", self._received)
        # NOTE: non-flat sessions and Target.sendMessageToTarget are deprecated in the protocol
        # (Chromium 156 still serves them). Flat sessions would need a CDP client that can
        # address child sessions, which Playwright's CDPSession cannot.
        self.cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": False})

    def _attached(self, event: dict) -> None:
        info = event["targetInfo"]
        if info.get("type") == "worker":
            self.workers[event["sessionId"]] = info.get("url", "")
            self.worker_urls.add(info.get("url", ""))

    def _received(self, event: dict) -> None:
        message = json.loads(event["message"])
        if "id" in message:
            self.replies[message["id"]] = message

    def _worker_heaps(self) -> list[dict]:
        from playwright.sync_api import Error as PlaywrightError

        self.replies.clear()  # late replies to requests that timed out before
        pending = {}
        for session_id, url in list(self.workers.items()):
            request_id, self.next_id = self.next_id, self.next_id + 1
            request = json.dumps({"id": request_id, "method": "Runtime.getHeapUsage"})
            try:
                self.cdp.send("Target.sendMessageToTarget", {"sessionId": session_id, "message": request})
            except PlaywrightError as exc:  # the worker ended between listing and asking
                logger.debug("worker %s did not take the heap request: %s", url, exc)
                continue
            pending[request_id] = session_id
        waited = 0
        while any(request_id not in self.replies for request_id in pending) and waited < self.REPLY_TIMEOUT_MS:
            self.page.wait_for_timeout(10)  # lets Playwright deliver the CDP events
            waited += 10
        results = [self.replies.pop(request_id, {}).get("result") for request_id in pending]
        if None in results:
            logger.warning("a worker did not report its heap within %d ms; the peak leaves it out", self.REPLY_TIMEOUT_MS)
        return [result for result in results if result]

    def sample(self) -> None:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        page_heap = int(next((m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"), 0))
        workers = self._worker_heaps()
        self.peak = max(self.peak, page_heap + sum(int(w["usedSize"]) for w in workers))
        self.peak_buffers = max(self.peak_buffers, sum(int(w.get("backingStorageSize", 0)) for w in workers))

    def describe(self) -> dict[str, Any]:
        return {
            "peak_js_heap_bytes": self.peak,
            "peak_worker_buffers_bytes": self.peak_buffers,
            "workers_seen": sorted(self.worker_urls),
            "source": "CDP: page Performance.getMetrics JSHeapUsedSize + worker Runtime.getHeapUsage usedSize, sampled after each frame",
        }
