"""Text handling for replies: reasoning vs answer, and the model card's display normalisation."""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# Inline $…$ math by Pandoc's rule, which tells it from prices: the opening $ is followed by a non-space, the
# closing $ follows a non-space and is not followed by a digit. "costs $4.50 and $3.20" has no math in it.
_DOLLAR_MATH = (r"(?<![\\$])\$(?![\s$])"
                r"(?P<dollar_math>(?:\\.|[^$\\\n])*?(?:\\.|[^\s$\\]))"
                r"\$(?![\d$])")

# Code, and LaTeX ($$…$$, $…$, \[…\], \(…\)): where a literal backslash-n is meaningful and must survive
# (e.g. "\nabla", "\neq", "\newline"), and where a $ is not the start of inline math.
_PROTECTED = re.compile(
    r"```.*?(?:```|$)"
    r"|`[^`\n]*`"
    r"|\$\$.*?\$\$"
    r"|\\\[.*?\\\]"
    r"|\\\(.*?\\\)"
    r"|" + _DOLLAR_MATH,
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


def dollar_math_to_parens(text: str) -> str:
    """Rewrite inline ``$…$`` math as ``\\(…\\)`` for display, leaving every other ``$`` as a literal character.

    The chat window renders ``\\(…\\)`` but not single-dollar math: KaTeX pairs any two dollars, so a
    receipt's "$4.50 and $3.20" would turn into italic math. Code and ``$$…$$`` blocks are left as they are.
    """
    if "$" not in text:
        return text
    return _PROTECTED.sub(_parens_if_dollar_math, text)


def _parens_if_dollar_math(match: re.Match) -> str:
    math = match.group("dollar_math")
    return match.group(0) if math is None else f"\\({math}\\)"


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


# The control tokens of MiniCPM-V 4.6's tokenizer, by shape: what a model server's tokenizer would read as one.
MINICPM_CONTROL_TOKENS = re.compile(
    r"<\|[A-Za-z0-9_]+\|>"
    r"|</?(?:think|image|slice|image_id|ref|box|quad|point|timestamp|tool_call|tool_response|unk)>"
    r"|<tts_[a-z_]+>"
)
WORD_JOINER = "\u2060"


def control_token_pattern(tokens) -> re.Pattern:
    """A pattern matching any of the ``tokens`` strings (longest first, so that a token containing another wins)."""
    return re.compile("|".join(re.escape(token) for token in sorted(set(tokens), key=len, reverse=True) if token))


def neutralize_control_tokens(text: str, pattern: re.Pattern = MINICPM_CONTROL_TOKENS) -> str:
    """``text`` with every control token it spells broken by a word joiner after its first character.

    It reads the same, but the tokenizer sees plain text: typed into a question, ``<|im_end|><|im_start|>`` would
    otherwise end the user's turn and forge another, and ``<|image_pad|>`` would claim a media slot."""
    return pattern.sub(lambda match: match.group(0)[0] + WORD_JOINER + match.group(0)[1:], text)
