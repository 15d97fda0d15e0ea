"""A request sent while the model loads waits for it, rather than being refused: a script's first request, or a
Space visitor's on a cold start, is answered once the model is ready.

Only a failed load, or the wait outlasting ``RequestLimits.load_wait_s``, ends it with an error; a Stop (or a
client that goes away) ends the wait at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from minicpm_demo.engine.base import Engine, EngineNotReady
from minicpm_demo.phrases import Phrase

POLL_S = 0.25  # how often a waiting request looks at the loader's progress (and at Stop)


def load_wait_s(engine: Engine) -> float:
    """How long a request may wait for ``engine``'s model (0: not at all)."""
    return float(getattr(getattr(engine, "request_limits", None), "load_wait_s", 0) or 0)


def check_can_wait(engine: Engine) -> None:
    """Raise ``EngineNotReady`` now, for a question still in its input box, when it could not wait for the model:
    the load failed, or requests may not wait (``load_wait_s`` 0); return when it is ready or may wait."""
    try:
        engine.ready_model()
    except EngineNotReady:
        if engine.status().state != "loading" or load_wait_s(engine) <= 0:
            raise


def model_ready(engine: Engine, stop: threading.Event, wait_s: float | None = None,
                poll_s: float = POLL_S) -> Iterator[dict[str, Any]]:
    """Wait for ``engine``'s model: yields the loader's progress (``step``, ``steps``, ``doing``) each time it
    changes while it loads, and returns once requests can be answered, or once ``stop`` is set.

    Raises ``EngineNotReady`` saying why when the load failed (or a server cannot be reached), or when the model
    is still loading after ``wait_s`` (default: the engine's ``load_wait_s``).
    """
    wait_s = load_wait_s(engine) if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    shown = None
    while True:
        try:
            engine.ready_model()
            return
        except EngineNotReady:
            status = engine.status()
            if status.state != "loading" or wait_s <= 0:
                raise
        if stop.is_set():
            return
        progress = loading_progress(status.details)
        if time.monotonic() >= deadline:
            raise EngineNotReady(Phrase("model.load_wait", seconds=round(wait_s), doing=progress["doing"]))
        if progress != shown:
            shown = progress
            yield progress
        stop.wait(poll_s)


def loading_progress(details: dict[str, Any]) -> dict[str, Any]:
    """What a waiting request shows of a loading engine's status details: step x of y, and what is being done."""
    return {"step": details.get("step"), "steps": details.get("steps"),
            "doing": details.get("doing") or "Waiting to load"}
