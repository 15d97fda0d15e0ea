"""One browser session's chat: its conversation, its Stop switch, and a reply streamed into it.

Nothing here is shared between sessions; the UI keeps one ``ChatSession`` per tab per browser session.
"""

from __future__ import annotations

import contextvars
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from minicpm_demo.chat import Conversation
from minicpm_demo.engine import Engine, run_request
from minicpm_demo.seen import forget
from minicpm_demo.settings import Settings

# Streamed updates are sent at most this often (the first as soon as there is text), so a fast model does not
# flood the browser: each update takes the GIL from generate (our hop to Gradio's event loop, its postprocess,
# diff, JSON and send). Five updates a second still read as a stream and keep decoding at raw speed
# (docs/PERFORMANCE.md, "What the app adds").
UPDATE_INTERVAL_S = 0.2
# While a reply has nothing new, it is yielded again this often, so that a request cancelled before its first
# token ends then (see stream_reply).
HEARTBEAT_S = 0.5
T = TypeVar("T")


class ChatSession:
    # A plain class, not a dataclass: Gradio serialises dataclass state values, and an Event cannot be.
    def __init__(self, conversation: Conversation | None = None, language: str = "en",
                 forget: Callable[[str], None] | None = None):
        self.conversation = conversation or Conversation()
        # The engine keeps what this conversation's follow-ups reuse under this key: made here, never sent to a
        # browser, and new for each conversation, so no other conversation can reach what it keeps.
        self.reuse_key = secrets.token_hex(16)
        self._forget = forget  # engine.forget: drops what the key kept
        self.stop_event = threading.Event()
        self.language = language  # of the browser that asked last: for what the server says to it
        self._answering = False
        self.seen_folder: str | None = None  # where the pictures of what the model saw are kept (seen.py)

    def new_request(self) -> threading.Event:
        """A fresh Stop switch for the next reply (a Stop pressed while it waits in the queue still counts)."""
        self.stop_event = threading.Event()
        self._answering = True
        return self.stop_event

    def finished(self, stop_event: threading.Event) -> None:
        """The request given ``stop_event`` has ended (answered, stopped or failed)."""
        if not self.superseded(stop_event):
            self._answering = False

    @property
    def answering(self) -> bool:
        """Whether a reply is on its way: from the question sent until its request ends, unless it was stopped
        (a conversation streaming a reply has no pending turn, as the turn holds the reply so far)."""
        return self.conversation.pending or (self._answering and not self.stop_event.is_set())

    def stop(self) -> None:
        self.stop_event.set()

    def replace_conversation(self, conversation: Conversation) -> None:
        """Another conversation in this tab (Clear, a chat opened or deleted): a reply still running for the old
        one is stopped, and its request, whose Stop switch is not this session's any more, shows nothing more."""
        self.stop_event.set()
        self.stop_event = threading.Event()
        self._answering = False
        forget(self.seen_folder)
        self.seen_folder = None
        self.end()
        self.conversation = conversation

    def end(self) -> None:
        """Drop what the engine keeps for this conversation's follow-ups, and take a new key for the next."""
        if self._forget is not None:
            self._forget(self.reuse_key)
        self.reuse_key = secrets.token_hex(16)

    def superseded(self, stop_event: threading.Event) -> bool:
        """Whether the request that was given ``stop_event`` is not this session's current one."""
        return stop_event is not self.stop_event

    def __deepcopy__(self, memo):  # Gradio deep-copies state defaults; a session is never shared
        return ChatSession(conversation=self.conversation, language=self.language, forget=self._forget)


def stream_reply(engine: Engine, conversation: Conversation, settings: Settings, stop_event: threading.Event,
                 interval_s: float = UPDATE_INTERVAL_S, heartbeat_s: float = HEARTBEAT_S,
                 keep_seen: Callable[[tuple], list[dict]] | None = None,
                 reuse_key: str | None = None) -> Iterator[Conversation]:
    """Answer the pending last turn of ``conversation``; yields it with the reply so far, last with stats.

    The reply is produced on a worker thread. The pending conversation is yielded first, and while nothing new
    arrives (media being read, the processor's step, the prompt's pass) the last update is yielded again every
    ``heartbeat_s``, as the same object. Gradio can close a generator only where it yields: so a client that
    cancels or goes away is noticed within a heartbeat, and counts as Stop. Errors from the engine propagate
    unchanged; the caller still holds the conversation as it was. ``reuse_key`` (``ChatSession.reuse_key``)
    lets the engine reuse what the conversation's earlier questions kept.
    """
    if not conversation.pending:
        raise ValueError("the conversation has no question waiting for a reply")
    messages = conversation.to_messages(settings.system_prompt)
    deltas = _on_a_worker(run_request(engine, messages, settings, stop_event, reuse_key), heartbeat_s)
    answer, reasoning = "", ""
    last_sent, shown = 0.0, conversation
    try:
        # At once, before any work: Gradio can close a generator only once its first value has come back.
        yield shown
        for delta in deltas:
            if delta is None:
                yield shown
                continue
            if delta.loading is not None:  # the model is loading: the reply says how far it is, until it is ready
                shown = conversation.waiting(delta.loading) if delta.loading else conversation
                yield shown
                continue
            answer += delta.answer
            reasoning += delta.reasoning
            if delta.stats is not None:
                stats = delta.stats.to_dict()
                if keep_seen is not None and delta.seen:  # the page's filmstrip; /chat has frames and slices
                    stats["seen"] = keep_seen(delta.seen)
                yield conversation.answer(answer, reasoning, stopped=delta.stats.stopped, stats=stats)
                return
            now = time.monotonic()
            if now - last_sent >= interval_s:
                last_sent = now
                shown = conversation.answer(answer, reasoning)
                yield shown
    except GeneratorExit:  # the consumer went away (a cancelled request, a closed page): that is a Stop
        stop_event.set()
        raise
    finally:
        deltas.close()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()


def _on_a_worker(items: Iterator[T], heartbeat_s: float) -> Iterator[T | None]:
    """``items``, produced on a short-lived thread, with None each time ``heartbeat_s`` passes without one."""
    handoff: queue.SimpleQueue = queue.SimpleQueue()

    def produce() -> None:
        try:
            for item in items:
                handoff.put(item)
            handoff.put(_END)
        except BaseException as error:  # raised again in the consumer
            handoff.put(_Failed(error))

    # In the caller's context: on ZeroGPU, ``spaces`` reads the visitor's request from Gradio's context variables
    # to charge the GPU time to the visitor's own quota, and to see whether they are still connected.
    threading.Thread(target=contextvars.copy_context().run, args=(produce,), name="reply", daemon=True).start()
    while True:
        try:
            item = handoff.get(timeout=heartbeat_s)
        except queue.Empty:
            yield None
            continue
        if item is _END:
            return
        if isinstance(item, _Failed):
            raise item.error
        yield item
