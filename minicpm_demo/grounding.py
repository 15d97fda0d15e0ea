"""Boxes in a reply: grounding output on MiniCPM-V's 0–1000 scale, found in the variants the MiniCPM-V models write,
and the reply made readable without its tags.

The 4.6 card does not document its grounding format; these are the forms MiniCPM-V 2.x–4.x are known to write:
``<ref>label</ref><box>x1 y1 x2 y2</box>``, the box as ``(x1,y1),(x2,y2)`` or ``[x1, y1, x2, y2]``, several boxes
after one label, and a box with no label. Coordinates are clamped to 0–1000 and ordered (x1 ≤ x2, y1 ≤ y2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALE = 1000
MOST_BOXES = 100  # a reply may ramble: no more are drawn

_NUMBER = r"-?\d+(?:\.\d+)?"
_BOX = re.compile(r"<box>\s*(?P<body>[^<]{0,200}?)\s*</box>", re.IGNORECASE)
_REF_BOXES = re.compile(r"<ref>(?P<label>[^<]{0,200})</ref>\s*(?P<boxes>(?:<box>[^<]{0,200}</box>\s*)*)",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Box:
    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    def on(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The box in pixels of a ``width`` × ``height`` picture."""
        return (round(self.x1 * width / SCALE), round(self.y1 * height / SCALE),
                round(self.x2 * width / SCALE), round(self.y2 * height / SCALE))


def _coordinates(body: str) -> tuple[float, float, float, float] | None:
    numbers = [float(number) for number in re.findall(_NUMBER, body)]
    if len(numbers) != 4:
        return None
    x1, y1, x2, y2 = (min(max(number, 0.0), SCALE) for number in numbers)
    if x1 == x2 or y1 == y2:
        return None
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def find_boxes(text: str) -> list[Box]:
    """Every box in ``text``, each with the label of the ``<ref>`` before it (empty when it has none)."""
    boxes: list[tuple[int, Box]] = []  # with where each starts, to keep the text's order
    labelled: set[int] = set()
    for ref in _REF_BOXES.finditer(text):
        label = ref.group("label").strip()
        offset = ref.start("boxes")
        for box in _BOX.finditer(ref.group("boxes")):
            labelled.add(offset + box.start())
            if (found := _coordinates(box.group("body"))) is not None:
                boxes.append((offset + box.start(), Box(label, *found)))
    for box in _BOX.finditer(text):
        if box.start() not in labelled and (found := _coordinates(box.group("body"))) is not None:
            boxes.append((box.start(), Box("", *found)))
    return [box for _, box in sorted(boxes, key=lambda item: item[0])][:MOST_BOXES]


def readable(text: str) -> str:
    """``text`` with its grounding tags as words: a label in bold, each box as its number on the picture."""
    number = 0

    def box(match: re.Match) -> str:
        nonlocal number
        if _coordinates(match.group("body")) is None:
            return match.group(0)
        number += 1
        return f" [{number}]"

    text = re.sub(r"<ref>([^<]{0,200})</ref>", lambda match: f"**{match.group(1).strip()}**", text,
                  flags=re.IGNORECASE)
    return re.sub(r"(?<=\S) {2,}\[(?=\d+\])", " [", _BOX.sub(box, text))
