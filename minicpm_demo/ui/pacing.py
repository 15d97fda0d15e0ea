"""Keep Gradio's queue from competing with generation, and an idle app from using the CPU.

Gradio's queue looks for new work every 1 ms on Linux, and for progress updates every 10 ms. Each wake-up
takes the GIL and a core: an idle app used ~10 % of a core on the 2-core development machine, and while a
reply was generated the app decoded ~20 % slower than the same engine outside Gradio (bench/app_overhead.py,
docs/PERFORMANCE.md). So the queue polls every 5 ms while idle (~3.6 % of a core; a request waits 2.5 ms on
average to be picked up), every 50 ms while a reply is being generated (a request arriving then waits for
the model anyway), and for progress every 0.25 s (this app sends no progress updates).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

IDLE_POLL_S = 0.005
BUSY_POLL_S = 0.05
PROGRESS_POLL_S = 0.25


class QueuePacer:
    def __init__(self, demo):
        self.demo = demo
        self._active = 0
        self._lock = threading.Lock()

    def _queue(self):
        queue = getattr(self.demo, "_queue", None)  # private in Gradio 6; left alone if it ever changes
        return queue if queue is not None and hasattr(queue, "sleep_when_free") else None

    def settle(self) -> None:
        """Set the idle pace; call once the page's queue is configured (``demo.queue()`` makes a new one)."""
        with self._lock:
            self._apply_pace()

    def paced(self, replies: Iterator[T]) -> Iterator[T]:
        """``replies``, with the queue polling slowly until they end (or the consumer closes this)."""
        with self._lock:
            self._active += 1
            self._apply_pace()
        try:
            yield from replies
        finally:
            with self._lock:
                self._active -= 1
                self._apply_pace()

    def _apply_pace(self) -> None:  # with self._lock held
        queue = self._queue()
        if queue is not None:
            queue.sleep_when_free = BUSY_POLL_S if self._active else IDLE_POLL_S
            queue.progress_update_sleep_when_free = PROGRESS_POLL_S
