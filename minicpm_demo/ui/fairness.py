"""Fair queueing: a session, and a visitor, may each have only a few requests waiting for the model at once, so
that one client cannot fill the queue everybody shares; and each kind of request has its own room in the queue,
so that the budget lines' quick measurements never take the place of a question for the model.

The page asks before a question joins the queue (``ChatTab.add_user_turn``); ``/chat`` is asked at the HTTP layer
as a request joins (``ui/http_guard.py``), before it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minicpm_demo.phrases import Phrase
from minicpm_demo.ui.gradio_patches import concurrency_id_of, fn_index_of, queued, waiting_requests
from minicpm_demo.ui.preflight_api import CONCURRENCY_ID as PREFLIGHT_ID
from minicpm_demo.ui.preflight_api import ROOM as PREFLIGHT_ROOM
from minicpm_demo.ui.visitors import visitor_address


@dataclass(frozen=True)
class QueueShare:
    per_session: int  # requests one session (a page, a gradio_client Client) may have waiting or running; 0: any
    per_visitor: int  # the same for all sessions of one visitor (an address) together; 0: any
    forwarded_for: str = "auto"  # which X-Forwarded-For entry names a visitor (ui/visitors.py)

    def refusal(self, demo, concurrency_id: str, session: str | None, scope: dict | None) -> str | None:
        """Why a request of ``session``, sent over the connection of ASGI ``scope``, may not join ``demo``'s queue
        for ``concurrency_id`` now, or None when it may."""
        waiting = waiting_requests(demo, concurrency_id) if scope is not None else None
        if not waiting:
            return None
        in_session = sum(1 for session_hash, _ in waiting if session_hash == session)
        if self.per_session and in_session >= self.per_session:
            return Phrase("queue.session", waiting=in_session, most=self.per_session)
        visitor = visitor_address(scope, self.forwarded_for)
        of_visitor = sum(1 for _, other in waiting if visitor_address(other, self.forwarded_for) == visitor)
        if self.per_visitor and of_visitor >= self.per_visitor:
            return Phrase("queue.visitor", waiting=of_visitor, most=self.per_visitor)
        return None


def queue_rooms(model_id: str, queue_size: int) -> dict[str, int]:
    """The most requests of each kind that may wait at once: ``queue_size`` for the model (``model_id``), and a
    room of their own for the budget lines, so that they never take a question's place."""
    return {model_id: queue_size, PREFLIGHT_ID: PREFLIGHT_ROOM}


def whole_queue(model_id: str, queue_size: int | None) -> int | None:
    """Gradio's own bound on its queue, which counts every kind of request together: the rooms' sum, behind the
    room of each kind that ``join_admission`` keeps."""
    return None if queue_size is None else sum(queue_rooms(model_id, queue_size).values())


@dataclass(frozen=True)
class Refusal:
    message: str | Phrase
    status: int = 422  # 503: no room in the queue, the answer Gradio's clients show as a full queue


def join_admission(demo, share: QueueShare, concurrency_id: str, rooms: dict[str, int],
                   sign_in=None) -> Callable[[Any, dict], Refusal | None]:
    """For the HTTP guard: why the JSON body of a ``queue/join`` may not join now, or None. Any request may wait
    only while its kind (its concurrency id) has room: ``rooms`` holds the most of each that may wait at once.
    ``/chat`` is also held to its session's and visitor's share of the model's queue (``concurrency_id``);
    ``sign_in`` (ui/sign_in.py), where visitors must sign in, is asked first."""
    chat = fn_index_of(demo, "chat")

    def admission(body: Any, scope: dict) -> Refusal | None:
        if not isinstance(body, dict):
            return None
        is_chat = chat is not None and body.get("fn_index") == chat
        if is_chat and sign_in is not None and (problem := sign_in.refusal(scope)) is not None:
            return Refusal(problem)
        kind = concurrency_id_of(demo, body.get("fn_index"))
        room = rooms.get(kind) if kind is not None else None
        if room is not None and (waiting := queued(demo, kind)) is not None and waiting >= room:
            return Refusal(f"Queue is full. Max size is {room} and size is {waiting}.", 503)
        if is_chat and (problem := share.refusal(demo, concurrency_id, str(body.get("session_hash")), scope)):
            return Refusal(problem)
        return None

    return admission
