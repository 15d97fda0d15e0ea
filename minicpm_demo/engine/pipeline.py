"""The one place a request runs, for every engine: prepare the model's inputs, then generate, streamed.

What every reply shares lives here and nowhere else: a Stop pressed before the model runs, the split of the
reply into reasoning and answer, the timing, and the ``ReplyStats`` the page and ``/chat`` show. ``stop`` is
the user's Stop switch (or a client that went away): only they set it, so ``stats.stopped`` means exactly that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

from minicpm_demo.cancel import Cancelled
from minicpm_demo.engine.base import Engine, Generated, Prepared, ReasoningText
from minicpm_demo.engine.follow_up import reuse_notes
from minicpm_demo.engine.waiting import model_ready
from minicpm_demo.settings import Settings
from minicpm_demo.text import ReasoningSplitter

STOP_POLL_S = 0.02  # how often a request being prepared looks at the Stop switch
BEFORE_THE_MODEL = "before the model ran"


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
    frames: tuple[dict[str, float], ...] = ()  # each video frame given, {"t": seconds}
    slices: tuple[int, ...] = ()  # per image: the slices cut besides its whole view
    python: str | None = None  # a script that gives this reply again (engine/reproduce.py), where one can
    gradio_client: str | None = None  # the same question to this server's /chat
    curl: str | None = None  # the same request to a vLLM server
    # what the conversation's earlier questions spared this one: {"prefix_tokens", "files", "image_units" and
    # "video_units" as [reused, in all]}; empty where nothing was kept
    reused: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Delta:
    """One streamed increment: new reasoning text, new answer text, or (last) the reply's stats."""

    answer: str = ""
    reasoning: str = ""
    stats: ReplyStats | None = None
    seen: tuple = ()  # with the stats: Prepared.seen, the small pictures of what the model was given
    loading: dict[str, Any] | None = None  # while the request waits for the model: the loader's progress ({}: ready)


def run_request(engine: Engine, messages: list[dict[str, Any]], settings: Settings,
                stop: threading.Event, conversation: str | None = None) -> Iterator[Delta]:
    """Stream the reply to the model-card ``messages``: text deltas, then one ``Delta`` with the stats.

    A Stop before the model runs ends the reply at once, with nothing generated; after that, ``engine.generate``
    ends within a token (locally, within a layer) of it. Closing this iterator ends the generation too.
    ``conversation`` (the server's key for the conversation asking) lets the engine reuse what it kept. Sent
    while the model loads, the request waits for it (engine/waiting.py), with a ``Delta`` of the loader's
    progress each time it changes, and an empty one once the model is ready."""
    started = time.perf_counter()
    waited = False
    for progress in model_ready(engine, stop):
        waited = True
        yield Delta(loading=progress)
    if waited and not stop.is_set():
        yield Delta(loading={})
    if stop.is_set():
        yield Delta(stats=stopped_before_the_model(started))
        return
    prepared = prepared_unless_stopped(partial(engine.prepare, messages, settings, conversation=conversation), stop)
    if prepared is None:
        yield Delta(stats=stopped_before_the_model(started))
        return
    reply = _Reply(started, ReasoningSplitter(settings.enable_thinking))
    prepared_at = time.perf_counter()
    pieces = engine.generate(prepared, stop)
    try:
        for piece in pieces:
            if isinstance(piece, Generated):
                reply.generated = piece
                break
            delta = reply.add(piece)
            if delta is not None:
                yield delta
        delta = reply.flush()
        if delta is not None:
            yield delta
        stats = replace(reply.stats(prepared, stopped=stop.is_set()), **engine.reproduction(messages, prepared))
        if reply.first_piece_at is not None and prepared.prompt_tokens:  # what the next estimate learns from
            engine.calibration.observe(prepared.prompt_tokens, reply.first_piece_at - prepared_at)
        yield Delta(stats=stats, seen=prepared.seen)
    finally:
        pieces.close()
        prepared.release()


def stopped_before_the_model(started: float) -> ReplyStats:
    """The stats of a reply stopped while its media was read (or before), so the model never ran."""
    nothing = Prepared(inputs=None, calls={}, prompt_tokens=0, notes=(BEFORE_THE_MODEL,))
    return _Reply(started, ReasoningSplitter(False)).stats(nothing, stopped=True)


class _Reply:
    """The reply being streamed: its text split into reasoning and answer, and when its pieces came."""

    def __init__(self, started: float, splitter: ReasoningSplitter):
        self.started = started
        self.splitter = splitter
        self.first_piece_at: float | None = None
        self.pieces = 0  # the token count until the engine gives the real one (it won't if stopped mid-pass)
        self.generated: Generated | None = None

    def add(self, piece: str) -> Delta | None:
        if not piece:
            return None
        self.first_piece_at = self.first_piece_at or time.perf_counter()
        self.pieces += 1
        if isinstance(piece, ReasoningText):
            # The server's reasoning parser splits this reply: its plain text is the answer, thinking or not.
            self.splitter.in_reasoning = False
            return Delta(reasoning=str(piece))
        return self._delta(*self.splitter.feed(piece))

    def flush(self) -> Delta | None:
        return self._delta(*self.splitter.flush())

    @staticmethod
    def _delta(reasoning: str, answer: str) -> Delta | None:
        return Delta(answer=answer, reasoning=reasoning) if reasoning or answer else None

    def stats(self, prepared: Prepared, stopped: bool) -> ReplyStats:
        finished = time.perf_counter()
        first = self.first_piece_at or finished
        generated = self.generated.tokens if self.generated else self.pieces
        prompt_tokens = prepared.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = (self.generated.prompt_tokens if self.generated else None) or 0
        decode_time = finished - first
        reused = dict(prepared.reuse.reused) if prepared.reuse is not None else {}
        return ReplyStats(
            prompt_tokens=prompt_tokens,
            visual_tokens=prepared.visual_tokens,
            generated_tokens=generated,
            ttft_s=first - self.started,
            tokens_per_s=(generated - 1) / decode_time if generated > 1 and decode_time > 0 else 0.0,
            total_s=finished - self.started,
            stopped=stopped,
            notes=prepared.notes + tuple(reuse_notes(reused)),
            reused=reused,
            frames=tuple({"t": round(t, 3)} for media in prepared.media for t in media.frames_s),
            slices=prepared.slices,
        )


def prepared_unless_stopped(prepare: Callable[[Callable[[], bool]], Prepared],
                            stop: threading.Event) -> Prepared | None:
    """``prepare(cancelled)`` (the request's media read and its inputs built), or None as soon as Stop is pressed
    before it ends: then the model must not run.

    Reading a video ends within a frame of Stop. The processor's own step cannot be interrupted (at the frame
    sliders' maximum it takes seconds), so it runs in a worker thread that is left to finish on its own: the
    reply ends at once and its result is dropped.

    That thread is short-lived for a second reason. Torch's CPU ops run on OpenMP (libgomp), which gives every
    thread that uses it a team of helper threads for as long as that thread lives. Once more such threads exist
    than CPU cores, libgomp stops letting idle helpers spin and puts them to sleep between ops, so the
    ``generate`` thread's helpers must be woken for every op. Gradio's worker threads live for the whole process:
    tensor work done on them would keep a team alive beside ``generate``'s and slow every reply down (measured in
    docs/PERFORMANCE.md, "What the app adds")."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = prepare(stop.is_set)
        except BaseException as error:  # handed to the caller below, or dropped if Stop came first
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name="prepare-inputs", daemon=True).start()
    while not finished.wait(STOP_POLL_S):
        if stop.is_set():
            return None
    if isinstance(outcome.get("error"), Cancelled) or stop.is_set():
        return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
