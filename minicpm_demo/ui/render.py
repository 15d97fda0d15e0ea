"""Turn a ``Conversation`` into what ``gr.Chatbot`` shows: thumbnails, collapsed reasoning, answer, stats."""

from __future__ import annotations

from typing import Any

from minicpm_demo.chat import Conversation, Turn
from minicpm_demo.text import dollar_math_to_parens, normalize_response_text

STOPPED_MARK = "⏹ stopped"
REASONING_TITLE = "💭 Reasoning"

# No single-dollar delimiter: inline $…$ math arrives as \(…\) (see ``dollar_math_to_parens``), so a $ in a price
# stays a dollar sign.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "\\[", "right": "\\]", "display": True},
]


def _display_text(text: str) -> str:
    return dollar_math_to_parens(normalize_response_text(text))


def format_stats(stats: dict[str, Any] | None) -> str:
    if not stats:
        return ""
    parts = [f"visual tokens {stats['visual_tokens']}"] if stats.get("visual_tokens") is not None else []
    if stats["prompt_tokens"]:  # 0 when the reply was stopped before a prompt was built
        parts.append(f"prompt tokens {stats['prompt_tokens']}")
    if stats["generated_tokens"]:  # none when stopped before the first token
        parts += [f"TTFT {stats['ttft_s']:.2f} s", f"{stats['tokens_per_s']:.1f} tokens/s"]
    notes = list(stats.get("notes") or ())
    return "<sub>" + " · ".join(parts + notes) + "</sub>"


def _assistant_messages(turn: Turn, streaming: bool) -> list[dict[str, Any]]:
    messages = []
    if turn.reasoning:
        still_thinking = streaming and not turn.reply
        messages.append({"role": "assistant", "content": _display_text(turn.reasoning),
                         "metadata": {"title": REASONING_TITLE, "status": "pending" if still_thinking else "done"}})
    answer = _display_text(turn.reply or "")
    if turn.stopped:
        answer = f"{answer}\n\n*{STOPPED_MARK}*" if answer else f"*{STOPPED_MARK}*"
    stats = format_stats(turn.stats)
    if stats:
        answer = f"{answer}\n\n{stats}"
    if answer or not messages:
        messages.append({"role": "assistant", "content": answer or "…"})
    return messages


def to_chatbot(conversation: Conversation, streaming: bool = False) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(conversation.turns):
        for attachment in turn.attachments:
            messages.append({"role": "user", "content": {"path": attachment.path}})
        if turn.text:
            messages.append({"role": "user", "content": dollar_math_to_parens(turn.text)})
        is_last = index == len(conversation.turns) - 1
        if turn.reply is not None or (is_last and streaming):
            messages.extend(_assistant_messages(turn, streaming and is_last))
    return messages
