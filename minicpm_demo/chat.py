"""A conversation as the user sees it, and its translation to the model card's message format.

A ``Conversation`` is an immutable value kept per browser session; undo / regenerate / clear return a new
one and never touch what the UI rendered. ``to_messages`` produces exactly what the model card's snippet
passes to ``processor.apply_chat_template``: content lists of ``{"type": "image"|"video", "path": …}`` and
``{"type": "text", "text": …}`` items, earlier turns' media kept, after the system prompt's message where one is set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

IMAGE, VIDEO = "image", "video"
FILE = "file"  # the kind of an attachment not looked at yet (``Conversation.with_kinds`` finds it)
GONE = "gone"  # a file of a chat read back (minicpm_demo/saved.py) whose file this server has swept: its name only


@dataclass(frozen=True)
class Attachment:
    path: str
    kind: str  # IMAGE or VIDEO (FILE until known)


@dataclass(frozen=True)
class Turn:
    text: str
    attachments: tuple[Attachment, ...] = ()
    reply: str | None = None  # None while the reply is pending
    reasoning: str = ""
    stopped: bool = False
    stats: dict[str, Any] | None = None
    loading: dict[str, Any] | None = None  # while the pending reply waits for the model: the loader's progress


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
                                                       stats=stats, loading=None),))

    def waiting(self, progress: dict[str, Any]) -> Conversation:
        """The pending question, its reply waiting for the model, whose loader is at ``progress``."""
        return Conversation(self.turns[:-1] + (replace(self.turns[-1], loading=progress),))

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

    def edited(self, index: int, text: str) -> Conversation:
        """The conversation up to turn ``index``, whose question becomes ``text`` (its files kept), ready to be
        answered: the turns after it are dropped, as their questions followed the old one."""
        return Conversation(self.turns[:index] + (Turn(text=text, attachments=self.turns[index].attachments),))

    @property
    def text_chars(self) -> int:
        """Characters of text this conversation sends the model: every question and every reply."""
        return sum(len(turn.text) + len(turn.reply or "") for turn in self.turns)

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """Every file of the conversation the model is given (a gone one is not)."""
        return tuple(attachment for turn in self.turns for attachment in turn.attachments if attachment.kind != GONE)

    def with_kinds(self, kind_of: Callable[[str], str]) -> Conversation:
        """The same conversation with each ``FILE`` attachment given its kind, ``kind_of(path)``, asked once a path."""
        kinds: dict[str, str] = {}

        def known(attachment: Attachment) -> Attachment:
            if attachment.kind != FILE:
                return attachment
            if attachment.path not in kinds:
                kinds[attachment.path] = kind_of(attachment.path)
            return replace(attachment, kind=kinds[attachment.path])

        return Conversation(tuple(replace(turn, attachments=tuple(map(known, turn.attachments)))
                                  for turn in self.turns))

    @property
    def pending(self) -> bool:
        return bool(self.turns) and self.turns[-1].reply is None

    def to_messages(self, system_prompt: str = "") -> list[dict[str, Any]]:
        """The card's messages, after a system message holding ``system_prompt`` unless it is blank. Its content is
        a plain string, the form Qwen-style chat templates and OpenAI-compatible servers take for a system message
        (the transformers processor looks for media only in content lists)."""
        messages: list[dict[str, Any]] = []
        if system_prompt.strip():
            messages.append({"role": "system", "content": system_prompt.strip()})
        for turn in self.turns:
            content: list[dict[str, Any]] = [{"type": a.kind, "path": a.path} for a in turn.attachments
                                             if a.kind != GONE]
            if turn.text:
                content.append({"type": "text", "text": turn.text})
            messages.append({"role": "user", "content": content})
            if turn.reply is not None:
                messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.reply}]})
        return messages


def conversation_from_messages(messages: list[dict[str, Any]] | None,
                               kind_of: Callable[[str], str] | None = None) -> Conversation:
    """Rebuild a ``Conversation`` from chat history in the messages format.

    Accepts Gradio's (content as a string, a file dict, or a list of ``{"type": "text"|"file", …}`` parts; the
    user's files and text may be separate consecutive messages) and the model card's (``{"type": "image"|"video",
    "path": …}`` items). Assistant messages titled in ``metadata`` are reasoning. ``kind_of(path)`` tells an
    image from a video; without it, Gradio's file parts stay ``FILE`` (``with_kinds`` tells them later, so that a
    caller can check the conversation's size before opening any file). Raises ``ValueError`` with a readable
    message for anything else.
    """
    turns: list[Turn] = []
    text, attachments, reply, reasoning = [], [], None, ""

    def close_turn():
        nonlocal text, attachments, reply, reasoning
        if text or attachments or reply is not None:
            if not (text or attachments):
                raise ValueError("history has an assistant message with no user message before it")
            turns.append(Turn(text="\n".join(text), attachments=tuple(attachments),
                              reply=reply if reply is not None else "", reasoning=reasoning))
        text, attachments, reply, reasoning = [], [], None, ""

    for index, message in enumerate(messages or []):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise ValueError(f"history item {index} must be a dict with role 'user' or 'assistant'")
        if message["role"] == "system":
            continue
        parts = message.get("content")
        parts = parts if isinstance(parts, list) else [parts]
        if message["role"] == "user":
            if reply is not None:
                close_turn()
            for part in parts:
                kind, value = _part(part, index)
                if kind == "text":
                    text.append(value)
                else:
                    if kind == FILE and kind_of is not None:
                        kind = kind_of(value)
                    attachments.append(Attachment(path=value, kind=kind))
        else:
            words = "".join(value for kind, value in (_part(p, index) for p in parts) if kind == "text")
            metadata = message.get("metadata")
            if isinstance(metadata, dict) and metadata.get("title"):
                reasoning += words
            else:
                reply = (reply or "") + words
    close_turn()
    return Conversation(tuple(turns))


def _part(part: Any, index: int) -> tuple[str, str]:
    if isinstance(part, str):
        return "text", part
    if isinstance(part, dict):
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            return "text", part["text"]
        if kind in (IMAGE, VIDEO):
            for key in ("path", kind):
                if isinstance(part.get(key), str):
                    return kind, part[key]
        file = part.get("file") if kind == FILE else part
        if isinstance(file, dict) and isinstance(file.get("path"), str):
            return FILE, file["path"]
    raise ValueError(f"history item {index} has content this demo does not understand: {str(part)[:80]!r}")
