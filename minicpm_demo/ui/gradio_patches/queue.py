"""How often Gradio's queue polls, and what it holds: the patch that paces it, and the reads fair queueing needs."""

from __future__ import annotations

import numbers
import weakref
from dataclasses import dataclass
from typing import Any

from minicpm_demo.ui.gradio_patches.version import enabled


@dataclass(frozen=True)
class QueuePolling:
    new_work_s: float  # how often the queue looks for a request to start
    progress_s: float  # how often it looks for progress updates to send


_gradio_polling: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # queue -> Gradio's own intervals


def _queue(demo):
    queue = getattr(demo, "_queue", None)
    if not enabled() or not all(isinstance(getattr(queue, name, None), numbers.Real)
                                for name in ("sleep_when_free", "progress_update_sleep_when_free")):
        return None
    return queue


def queue_polling(demo) -> QueuePolling | None:
    """The intervals ``demo``'s queue polls at now; None where they are not ours to set."""
    queue = _queue(demo)
    return None if queue is None else QueuePolling(queue.sleep_when_free, queue.progress_update_sleep_when_free)


def set_queue_polling(demo, polling: QueuePolling | None) -> None:
    """Make ``demo``'s queue poll at ``polling`` (None: Gradio's own intervals); the loop reads them each turn.

    ``demo.queue()`` makes a new queue: set them after it. Does nothing where they are not ours to set.
    """
    queue = _queue(demo)
    if queue is None:
        return
    current = queue_polling(demo)
    polling = polling or _gradio_polling.get(queue, current)
    _gradio_polling.setdefault(queue, current)
    queue.sleep_when_free, queue.progress_update_sleep_when_free = polling.new_work_s, polling.progress_s


def _live_events(demo) -> list | None:
    """The events ``demo``'s queue holds waiting or running. Gradio's ``event_ids_to_events`` is not read: an event
    cancelled twice while it winds down stays there for good (tests/test_fairness.py), and would count forever."""
    queue = getattr(demo, "_queue", None)
    queues, jobs = getattr(queue, "event_queue_per_concurrency_id", None), getattr(queue, "active_jobs", None)
    if not enabled() or not isinstance(queues, dict) or not isinstance(jobs, list):
        return None
    waiting = [event for event_queue in list(queues.values()) for event in list(getattr(event_queue, "queue", []))]
    return waiting + [event for job in list(jobs) if job for event in job]


def waiting_requests(demo, concurrency_id: str) -> list[tuple[str, dict]] | None:
    """(session hash, ASGI scope) of every request of ``concurrency_id`` in ``demo``'s queue, waiting or running;
    None where the queue's events are not ours to read."""
    events = _live_events(demo)
    if events is None:
        return None
    return [(event.session_hash, getattr(event.request, "scope", {})) for event in events
            if getattr(event, "concurrency_id", None) == concurrency_id and not getattr(event, "closed", False)]


def queued(demo, concurrency_id: str) -> int | None:
    """How many requests of ``concurrency_id`` wait in ``demo``'s queue (not those running), as Gradio's own
    ``max_size`` counts them; None where the queue is not ours to read."""
    queues = getattr(getattr(demo, "_queue", None), "event_queue_per_concurrency_id", None)
    if not enabled() or not isinstance(queues, dict):
        return None
    return len(getattr(queues.get(concurrency_id), "queue", []))


def concurrency_id_of(demo, fn_index: Any) -> str | None:
    """The concurrency id of ``demo``'s event number ``fn_index`` (the requests it queues with); None if unknown."""
    functions = getattr(demo, "fns", None)
    if not enabled() or not isinstance(functions, dict) or not isinstance(fn_index, int):
        return None
    return getattr(functions.get(fn_index), "concurrency_id", None)


def fn_index_of(demo, api_name: str) -> int | None:
    """The index clients send (``fn_index``) for ``demo``'s event named ``api_name``; None if there is none."""
    functions = getattr(demo, "fns", None)
    if not enabled() or not isinstance(functions, dict):
        return None
    return next((index for index, function in functions.items() if getattr(function, "api_name", None) == api_name),
                None)
