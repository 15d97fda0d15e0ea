"""Keep Gradio's queue from competing with generation for the CPU.

Gradio's queue looks for new work every 1 ms on Linux (and for progress updates every 10 ms while events
run). Each wake-up takes the GIL and a core from the generate thread: on the 2-core development machine an
app decoded ~20 % slower than the same engine outside Gradio (bench/app_overhead.py, docs/PERFORMANCE.md).
While a reply is being generated, the queue polls every 50 ms instead — a request arriving then waits for
the model anyway — and goes back to Gradio's own pace when the last reply ends, so idle requests start at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

BUSY_POLL_S = 0.05
PROGRESS_POLL_S = 0.25  # this app sends no progress updates


class QueuePacer:
    def __init__(self, demo):
        self.demo = demo
        self._active = 0
        self._idle_poll_s: float | None = None
        self._lock = threading.Lock()

    def _queue(self):
        queue = getattr(self.demo, "_queue", None)  # private in Gradio 6; left alone if it ever changes
        return queue if queue is not None and hasattr(queue, "sleep_when_free") else None

    def paced(self, replies: Iterator[T]) -> Iterator[T]:
        """``replies``, with the queue polling slowly until they end (or the consumer closes this)."""
        queue = self._queue()
        with self._lock:
            self._active += 1
            if queue is not None and self._active == 1:
                self._idle_poll_s = queue.sleep_when_free
                queue.sleep_when_free = BUSY_POLL_S
                queue.progress_update_sleep_when_free = PROGRESS_POLL_S
        try:
            yield from replies
        finally:
            with self._lock:
                self._active -= 1
                if queue is not None and self._active == 0:
                    queue.sleep_when_free = self._idle_poll_s
