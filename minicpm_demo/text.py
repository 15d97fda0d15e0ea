"""Text handling for replies: reasoning vs answer, and the model card's display normalisation."""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# Segments where a literal backslash-n is meaningful and must survive: fenced and inline code, and LaTeX
# ($$…$$, $…$, \[…\], \(…\)) — e.g. "\nabla", "\neq", "\newline".
_PROTECTED = re.compile(
    r"```.*?(?:```|$)"
    r"|`[^`\n]*`"
    r"|\$\$.*?\$\$"
    r"|(?<!\\)\$[^$\n]+?\$"
    r"|\\\[.*?\\\]"
    r"|\\\(.*?\\\)",
    re.DOTALL,
)


def normalize_response_text(text: str) -> str:
    """Turn literal ``\\n`` sequences the model sometimes writes into real newlines, outside code and LaTeX."""
    if "\\n" not in text:
        return text
    pieces, position = [], 0
    for match in _PROTECTED.finditer(text):
        pieces.append(text[position:match.start()].replace("\\n", "\n"))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(text[position:].replace("\\n", "\n"))
    return "".join(pieces)


class ReasoningSplitter:
    """Split a streamed reply into reasoning (inside ``<think>…</think>``) and answer text.

    ``feed`` takes each new piece of decoded text and returns ``(reasoning, answer)`` increments. A tag cut
    across two pieces is held back until it is complete. With thinking on, the prompt already opened the
    ``<think>`` block, so the reply starts as reasoning.
    """

    def __init__(self, thinking: bool):
        self.in_reasoning = thinking
        self._pending = ""

    def feed(self, piece: str) -> tuple[str, str]:
        text, self._pending = self._pending + piece, ""
        reasoning, answer = [], []
        while text:
            tag = THINK_CLOSE if self.in_reasoning else THINK_OPEN
            index = text.find(tag)
            if index >= 0:
                (reasoning if self.in_reasoning else answer).append(text[:index])
                text = text[index + len(tag):]
                self.in_reasoning = not self.in_reasoning
                continue
            keep = _partial_tag_suffix(text, tag)
            (reasoning if self.in_reasoning else answer).append(text[: len(text) - keep])
            self._pending = text[len(text) - keep:]
            break
        return "".join(reasoning), "".join(answer)

    def flush(self) -> tuple[str, str]:
        """Whatever was held back waiting for a tag that never completed."""
        pending, self._pending = self._pending, ""
        return (pending, "") if self.in_reasoning else ("", pending)


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for length in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-length:]):
            return length
    return 0
