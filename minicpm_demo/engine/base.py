"""What every engine yields, and the one method every engine has."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from minicpm_demo.media import Cancelled
from minicpm_demo.settings import Settings

T = TypeVar("T")
STOP_POLL_S = 0.02  # how often a request being prepared looks at the Stop switch


class EngineNotReady(RuntimeError):
    """The model is still loading, failed to load, or its server is unreachable; the message says which."""


@dataclass(frozen=True)
class ReplyStats:
    prompt_tokens: int
    visual_tokens: int | None  # None where the engine cannot count them (a remote server)
    generated_tokens: int
    ttft_s: float  # from the request to the first streamed text, media preparation included
    tokens_per_s: float  # decode speed after the first token
    total_s: float
    stopped: bool = False
    notes: tuple[str, ...] = ()  # what was done to the media (first frame of a GIF, downscaled, …)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepared_unless_stopped(prepare: Callable[[Callable[[], bool]], T], stop_event: threading.Event) -> T | None:
    """``prepare(cancelled)`` (the request's media read and its inputs built), or None as soon as Stop is pressed
    before it ends: then the model must not run.

    Reading a video ends within a frame of Stop. The processor's own step cannot be interrupted (at the frame
    sliders' maximum it takes seconds), so it runs in a worker thread that is left to finish on its own: the
    reply ends at once and its result is dropped.

    That thread also keeps CPU inference from slowing down. Torch's CPU ops run on OpenMP (libgomp), which
    gives every thread that uses it a team of helper threads for as long as that thread lives. Once more such
    threads exist than CPU cores, libgomp stops letting idle helpers spin and puts them to sleep between ops,
    so the ``generate`` thread's helpers must be woken for every op. Gradio's worker threads live for the whole
    process: tensor work done on them (the processor) would keep a team alive beside ``generate``'s. Measured
    on 2 cores: the tiny checkpoint's first token in 0.28 s instead of 0.69-0.74 s, decoding 1.3x faster; the
    full-size shape twin, whose ops are large, ~5 %."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = prepare(stop_event.is_set)
        except BaseException as error:  # handed to the caller below, or dropped if Stop came first
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name="prepare-inputs", daemon=True).start()
    while not finished.wait(STOP_POLL_S):
        if stop_event.is_set():
            return None
    if isinstance(outcome.get("error"), Cancelled) or stop_event.is_set():
        return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def stopped_before_the_model(started: float) -> ReplyStats:
    """The stats of a reply stopped while its media was read (or before), so the model never ran."""
    elapsed = time.perf_counter() - started
    return ReplyStats(prompt_tokens=0, visual_tokens=None, generated_tokens=0, ttft_s=elapsed, tokens_per_s=0.0,
                      total_s=elapsed, stopped=True, notes=("before the model ran",))


@dataclass(frozen=True)
class Delta:
    """One streamed increment: new reasoning text, new answer text, or (last) the reply's stats."""

    answer: str = ""
    reasoning: str = ""
    stats: ReplyStats | None = None


def media_counts(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """How many images and how many videos the model-card ``messages`` carry."""
    kinds = [item["type"] for message in messages if not isinstance(message["content"], str)
             for item in message["content"] if "path" in item]
    return kinds.count("image"), kinds.count("video")


class Engine(Protocol):
    def start_loading(self) -> None:
        """Begin getting ready (load weights, reach the server) without blocking the page."""

    def status(self) -> EngineStatus:
        """What the page's status line shows."""

    def ready_model(self) -> Any:
        """Return once requests can be answered; otherwise raise ``EngineNotReady`` saying why."""

    def unsupported_settings(self) -> dict[str, str]:
        """Settings this engine cannot apply, each with the reason (the page greys them out)."""

    def stream(self, messages: list[dict[str, Any]], settings: Settings,
               stop_event: threading.Event) -> Iterator[Delta]:
        """Stream a reply to the model-card ``messages``; stop soon after ``stop_event`` is set."""


@dataclass
class EngineStatus:
    state: str  # "loading" | "ready" | "error"
    message: str = ""  # Markdown for the status line; details["warnings"] are shown after it
    details: dict[str, Any] = field(default_factory=dict)
