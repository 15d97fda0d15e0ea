"""How often Gradio's queue polls: slowly while a reply is generated, briskly otherwise.

Each wake-up of Gradio's queue takes the GIL and a core. At Gradio's own intervals that slows generation down
and keeps an idle app busy (docs/PERFORMANCE.md, "What the app adds" and "Startup"). So the queue looks for new
work every ``IDLE_POLL_S`` while no reply is being generated (a request is picked up soon enough), every
``BUSY_POLL_S`` while one is (a request arriving then waits for the model anyway), and for progress updates
every ``PROGRESS_POLL_S`` (this app sends none). ``gradio_patches.set_queue_polling`` sets them on the queue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TypeVar

from minicpm_demo.ui.gradio_patches import QueuePolling, set_queue_polling

T = TypeVar("T")

IDLE_POLL_S = 0.005
BUSY_POLL_S = 0.05
PROGRESS_POLL_S = 0.25
IDLE = QueuePolling(new_work_s=IDLE_POLL_S, progress_s=PROGRESS_POLL_S)
BUSY = QueuePolling(new_work_s=BUSY_POLL_S, progress_s=PROGRESS_POLL_S)


class QueuePacer:
    def __init__(self, demo):
        self.demo = demo
        self._active = 0
        self._lock = threading.Lock()

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
        set_queue_polling(self.demo, BUSY if self._active else IDLE)
