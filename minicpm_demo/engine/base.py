"""What an engine is: the two steps of every request, and the values that pass between them.

``prepare`` builds everything the model will be given, without running it, as one inspectable ``Prepared``;
``generate`` runs the model on it and streams text. Everything a request does around those two steps (Stop,
timing, the reasoning split, the reply's stats) is ``engine/pipeline.py``'s, the same for every engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from minicpm_demo.settings import Settings


class EngineNotReady(RuntimeError):
    """The model is still loading, failed to load, or its server is unreachable; the message says which."""


class ResourceError(RuntimeError):
    """A request this machine cannot afford (out of device memory, over the ZeroGPU time cap); the message says
    what to send instead."""


@dataclass(frozen=True)
class MediaGiven:
    """What one attachment became for the model."""

    kind: str  # "image" | "video"
    name: str  # the file's name, as the user knows it
    size: tuple[int, int] | None = None  # (width, height) of the picture given; for a video, of its frames
    frames_s: tuple[float, ...] = ()  # for a video sampled here: the time of each frame given, in seconds
    page: int | None = None  # for a PDF's page: its number, from 1
    scale: float | None = None  # and the scale it was rendered at (pixels per point), for a script to do the same


@dataclass
class Prepared:
    """Everything one request gives the model, built without running it.

    ``inputs`` is what ``generate`` consumes (the processor's tensors, or a server's request body) and the only
    large part: ``release()`` drops it once the reply is done, so a ``Prepared`` is cheap to keep.
    """

    inputs: Any
    calls: dict[str, dict[str, Any]]  # the exact keyword arguments of each call, by the call's name
    prompt_tokens: int | None = None  # None where only a model server can count them
    visual_tokens: int | None = None
    media: tuple[MediaGiven, ...] = ()
    notes: tuple[str, ...] = ()  # what was done to the media (first frame of a GIF, downscaled, …)
    slices: tuple[int, ...] = ()  # per image: the slices the processor cut besides its whole view
    seen: tuple[tuple[float | None, Any], ...] = ()  # small pictures of what is given: (video seconds or None, picture)
    reuse: Any = None  # a local engine's follow_up.Plan: what the conversation's earlier questions kept

    def release(self) -> None:
        self.inputs = None
        if self.reuse is not None:
            self.reuse.release()


@dataclass(frozen=True)
class Generated:
    """The last item ``generate`` yields when it knows the count: what the model produced."""

    tokens: int
    prompt_tokens: int | None = None  # given by engines that learn it only from the model server


class ReasoningText(str):
    """Text a model server already separated as reasoning (its reasoning parser), not to be split again."""


class Engine(Protocol):
    def start_loading(self) -> None:
        """Begin getting ready (load weights, reach the server) without blocking the page."""

    def status(self) -> EngineStatus:
        """What the page's status line shows."""

    def ready_model(self) -> Any:
        """Return once requests can be answered; otherwise raise ``EngineNotReady`` saying why."""

    def unsupported_settings(self) -> dict[str, str]:
        """Settings this engine cannot apply, each with the reason (the page greys them out)."""

    calibration: Any  # preflight.Calibration: the time to a first token here, measured or estimated

    def prepare(self, messages: list[dict[str, Any]], settings: Settings, cancelled: Callable[[], bool],
                within_limits: bool = True, conversation: str | None = None) -> Prepared:
        """Read the media of the model-card ``messages`` and build the model's inputs; nothing runs the model.
        Raises ``cancel.Cancelled`` when ``cancelled()`` turns true while media is read; with ``within_limits``,
        a limit error for a prompt past the request limits. ``conversation`` (a key the server made, never a
        client's) lets an engine reuse what the conversation's earlier questions kept."""

    def forget(self, conversation: str | None) -> None:
        """Drop what ``conversation`` kept (it was cleared, or its browser session ended)."""

    def reproduction(self, messages: list[dict[str, Any]], prepared: Prepared) -> dict[str, str]:
        """Code that gives the reply to ``prepared`` again outside the demo (ReplyStats' python, gradio_client and
        curl), where the engine can write it."""

    def gpu_seconds(self, prepared: Prepared) -> int | None:
        """The GPU time a ZeroGPU call for ``prepared`` asks for, where a cap applies (else None)."""

    def memory(self, prepared: Prepared) -> tuple[int | None, int | None]:
        """Bytes ``prepared`` would hold on the device at its peak (the weights included), and the bytes free
        for it; None where not known."""

    def budget_problems(self, prepared: Prepared, gpu_seconds: int | None,
                        memory: tuple[int | None, int | None]) -> list[str]:
        """Why ``prepared`` would be refused or fail on this engine, given its ``gpu_seconds`` and ``memory`` (as
        those methods gave them); empty when it fits."""

    def generate(self, prepared: Prepared, stop: threading.Event) -> Iterator[str | Generated]:
        """Stream the reply's text pieces, then (when known) ``Generated``; end soon after ``stop`` is set.
        Closing the iterator ends the generation too."""


@dataclass
class EngineStatus:
    state: str  # "loading" | "ready" | "error"
    message: str = ""  # Markdown for the status line; details["warnings"] are shown after it
    details: dict[str, Any] = field(default_factory=dict)
