"""Fair queueing: a session, and a visitor, may each have only a few requests waiting for the model at once, so
that one client cannot fill the queue everybody shares.

The page asks before a question joins the queue (``ChatTab.add_user_turn``); ``/chat`` is asked at the HTTP layer
as a request joins (``ui/http_guard.py``), before it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minicpm_demo.phrases import Phrase
from minicpm_demo.ui.gradio_patches import fn_index_of, waiting_requests
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


def chat_admission(demo, share: QueueShare, concurrency_id: str, sign_in=None) -> Callable[[Any, dict], str | None]:
    """For the HTTP guard: why the JSON body of a ``queue/join`` for ``/chat`` may not join now, or None;
    ``sign_in`` (ui/sign_in.py), where visitors must sign in, is asked first."""
    chat = fn_index_of(demo, "chat")

    def admission(body: Any, scope: dict) -> str | None:
        if chat is None or not isinstance(body, dict) or body.get("fn_index") != chat:
            return None
        if sign_in is not None and (problem := sign_in.refusal(scope)) is not None:
            return problem
        return share.refusal(demo, concurrency_id, str(body.get("session_hash")), scope)

    return admission
