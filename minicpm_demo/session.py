"""One browser session's chat: its conversation, its Stop switch, and a reply streamed into it.

Nothing here is shared between sessions; the UI keeps one ``ChatSession`` per tab per browser session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from minicpm_demo.chat import Conversation
from minicpm_demo.engine import Engine, run_request
from minicpm_demo.settings import Settings

# Streamed updates are sent at most this often (the first as soon as there is text), so a fast model does not
# flood the browser: each update takes the GIL from generate (our hop to Gradio's event loop, its postprocess,
# diff, JSON and send). Five updates a second still read as a stream and keep decoding at raw speed
# (docs/PERFORMANCE.md, "What the app adds").
UPDATE_INTERVAL_S = 0.2


class ChatSession:
    # A plain class, not a dataclass: Gradio serialises dataclass state values, and an Event cannot be.
    def __init__(self, conversation: Conversation | None = None):
        self.conversation = conversation or Conversation()
        self.stop_event = threading.Event()

    def new_request(self) -> threading.Event:
        """A fresh Stop switch for the next reply (a Stop pressed while it waits in the queue still counts)."""
        self.stop_event = threading.Event()
        return self.stop_event

    def stop(self) -> None:
        self.stop_event.set()

    def __deepcopy__(self, memo):  # Gradio deep-copies state defaults; a session is never shared
        return ChatSession(conversation=self.conversation)


def stream_reply(engine: Engine, conversation: Conversation, settings: Settings,
                 stop_event: threading.Event, interval_s: float = UPDATE_INTERVAL_S) -> Iterator[Conversation]:
    """Answer the pending last turn of ``conversation``; yields it with the reply so far, last with stats.

    Errors from the engine propagate unchanged; the caller still holds the conversation as it was.
    """
    if not conversation.pending:
        raise ValueError("the conversation has no question waiting for a reply")
    answer, reasoning = "", ""
    last_sent = 0.0
    for delta in run_request(engine, conversation.to_messages(), settings, stop_event):
        answer += delta.answer
        reasoning += delta.reasoning
        if delta.stats is not None:
            yield conversation.answer(answer, reasoning, stopped=delta.stats.stopped, stats=delta.stats.to_dict())
            return
        now = time.monotonic()
        if now - last_sent >= interval_s:
            last_sent = now
            yield conversation.answer(answer, reasoning)
