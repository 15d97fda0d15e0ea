"""A conversation as the user sees it, and its translation to the model card's message format.

A ``Conversation`` is an immutable value kept per browser session; undo / regenerate / clear return a new
one and never touch what the UI rendered. ``to_messages`` produces exactly what the model card's snippet
passes to ``processor.apply_chat_template``: content lists of ``{"type": "image"|"video", "path": …}`` and
``{"type": "text", "text": …}`` items, earlier turns' media kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

IMAGE, VIDEO = "image", "video"


@dataclass(frozen=True)
class Attachment:
    path: str
    kind: str  # IMAGE or VIDEO


@dataclass(frozen=True)
class Turn:
    text: str
    attachments: tuple[Attachment, ...] = ()
    reply: str | None = None  # None while the reply is pending
    reasoning: str = ""
    stopped: bool = False
    stats: dict[str, Any] | None = None


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...] = field(default_factory=tuple)

    def ask(self, text: str, attachments: tuple[Attachment, ...] = ()) -> Conversation:
        if self.turns and self.turns[-1].reply is None:
            raise ValueError("the previous question has no reply yet")
        return Conversation(self.turns + (Turn(text=text, attachments=tuple(attachments)),))

    def answer(self, reply: str, reasoning: str = "", stopped: bool = False,
               stats: dict[str, Any] | None = None) -> Conversation:
        last = self.turns[-1]
        return Conversation(self.turns[:-1] + (replace(last, reply=reply, reasoning=reasoning, stopped=stopped,
                                                       stats=stats),))

    def undo(self) -> tuple[Conversation, Turn | None]:
        """Drop the last turn; returns it too so its question can be put back in the text box."""
        if not self.turns:
            return self, None
        return Conversation(self.turns[:-1]), self.turns[-1]

    def for_regenerate(self) -> Conversation:
        """The same conversation with the last reply cleared, ready to be answered again."""
        if not self.turns:
            return self
        last = self.turns[-1]
        return Conversation(self.turns[:-1] + (replace(last, reply=None, reasoning="", stopped=False, stats=None),))

    @property
    def pending(self) -> bool:
        return bool(self.turns) and self.turns[-1].reply is None

    def to_messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for turn in self.turns:
            content: list[dict[str, Any]] = [{"type": a.kind, "path": a.path} for a in turn.attachments]
            if turn.text:
                content.append({"type": "text", "text": turn.text})
            messages.append({"role": "user", "content": content})
            if turn.reply is not None:
                messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.reply}]})
        return messages
