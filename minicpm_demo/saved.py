"""Conversations as plain JSON records, kept in the visitor's own browser (and exported, imported), and read back
without trusting them: a record comes from the browser, so every field is checked and bounded, and a file it
names is used only where the server received it and still has it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from minicpm_demo.chat import GONE, IMAGE, VIDEO, Attachment, Conversation, Turn
from minicpm_demo.phrases import Phrase, from_data, to_data

FORMAT = "minicpm-demo-chat/1"
MAX_CHATS = 20  # kept per tab, the least recently used dropped first: a browser's storage is a few MB
MAX_RECORD_CHARS = 400_000  # one chat's record, as JSON
MAX_TURNS = 200
MAX_TEXT = 200_000


class RecordError(ValueError):
    """A record that cannot be read back as a conversation; the message says why."""


def to_record(conversation: Conversation) -> dict[str, Any]:
    """The answered turns of ``conversation`` (a reply still coming is not kept)."""
    turns = [turn for turn in conversation.turns if turn.reply is not None]
    return {"format": FORMAT, "turns": [
        {"text": turn.text, "files": [{"path": a.path, "kind": a.kind} for a in turn.attachments],
         "reply": turn.reply, "reasoning": turn.reasoning, "stopped": turn.stopped, "stats": _stats_data(turn.stats)}
        for turn in turns]}


def _stats_data(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    if not stats or not stats.get("notes"):
        return stats
    return {**stats, "notes": [to_data(note) for note in stats["notes"]]}


def title_of(record: dict[str, Any]) -> str:
    """A chat's name in a list: its first question, shortened."""
    for turn in record.get("turns") or ():
        words = " ".join(str(turn.get("text") or "").split())
        if words:
            return words if len(words) <= 48 else words[:47] + "…"
        if turn.get("files"):
            return str(turn["files"][0].get("path", "")).rsplit("/", 1)[-1][:48]
    return "…"


def from_record(record: Any, served: Callable[[str], str | None]) -> Conversation:
    """The conversation a record holds. ``served(path)`` is the file's path on this server, or None when the
    server never received it or has swept it since: such a file stays in the chat as gone."""
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("turns"), list):
        raise RecordError(Phrase("record.format", format=FORMAT))
    if len(json.dumps(record, ensure_ascii=False)) > MAX_RECORD_CHARS or len(record["turns"]) > MAX_TURNS:
        raise RecordError(Phrase("record.too_large", turns=MAX_TURNS, chars=MAX_RECORD_CHARS))
    turns = []
    for number, item in enumerate(record["turns"], 1):
        if not isinstance(item, dict):
            raise RecordError(Phrase("record.not_a_turn", number=number))
        text, reply, reasoning = (_text(item.get(name), name, number) for name in ("text", "reply", "reasoning"))
        files = item.get("files") or []
        if not isinstance(files, list):
            raise RecordError(Phrase("record.files", number=number))
        attachments = tuple(_attachment(file, served, number) for file in files)
        stats = item.get("stats")
        turns.append(Turn(text=text, attachments=attachments, reply=reply, reasoning=reasoning,
                          stopped=item.get("stopped") is True, stats=_stats(stats)))
    return Conversation(tuple(turns))


def _text(value: Any, name: str, number: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise RecordError(Phrase("record.text", number=number, name=name, most=MAX_TEXT))
    return value


def _attachment(file: Any, served: Callable[[str], str | None], number: int) -> Attachment:
    if not isinstance(file, dict) or not isinstance(file.get("path"), str) or file.get("kind") not in (
            IMAGE, VIDEO, GONE):
        raise RecordError(Phrase("record.file", number=number))
    path = file["path"]
    here = served(path) if file["kind"] != GONE and "\x00" not in path else None
    return Attachment(here, file["kind"]) if here else Attachment(path.rsplit("/", 1)[-1][:200], GONE)


def _stats(stats: Any) -> dict[str, Any] | None:
    """Only the figures the chat shows, each a finite number (or the notes, text): nothing else is kept."""
    if not isinstance(stats, dict):
        return None
    kept: dict[str, Any] = {}
    for name in ("visual_tokens", "prompt_tokens", "generated_tokens", "ttft_s", "tokens_per_s", "total_s"):
        value = stats.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            kept[name] = value
    notes = stats.get("notes")
    if isinstance(notes, list):
        kept["notes"] = [note for note in map(from_data, notes[:20]) if note is not None]
    return kept if {"prompt_tokens", "generated_tokens"} <= kept.keys() else None
