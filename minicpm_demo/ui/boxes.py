"""A reply's boxes drawn on the picture it is about, as a file the chat shows; drawn once per picture and boxes,
and only the most recent ones kept on disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from contextlib import suppress

from PIL import ImageDraw

from minicpm_demo.grounding import Box
from minicpm_demo.media import MediaError, load_image

KEPT = 64  # pictures with boxes kept for the chats on the page; older ones are drawn again when shown
COLOURS = ("#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2")

_drawn: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()
_removed = 0  # drawn pictures removed so far: a reply rendered before a removal may point at a missing file


def removals() -> int:
    """How many drawn pictures were removed; a rendering of a reply made at another count may be out of date."""
    return _removed


FOLDER = os.path.join(tempfile.gettempdir(), "minicpm-demo-boxes")  # served to the page (app.py's allowed_paths)


def _folder() -> str:
    os.makedirs(FOLDER, exist_ok=True)
    return FOLDER


def boxed_picture(image_path: str, boxes: list[Box]) -> str | None:
    """The picture at ``image_path`` with ``boxes`` drawn and numbered, or None when it cannot be read now."""
    global _removed
    key = hashlib.sha256(repr((image_path, boxes)).encode()).hexdigest()[:32]
    with _lock:
        if key in _drawn and os.path.exists(_drawn[key]):
            _drawn.move_to_end(key)
            return _drawn[key]
    try:
        picture = load_image(image_path).image
    except (MediaError, OSError):  # swept from the server since: the text still says where the boxes are
        return None
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    for number, box in enumerate(boxes, 1):
        colour = COLOURS[(number - 1) % len(COLOURS)]
        x1, y1, x2, y2 = box.on(*picture.size)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        caption = f"{number} {box.label}".strip()[:60]
        left, top, right, bottom = draw.textbbox((x1, y1), caption)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=colour)
        draw.text((x1, y1), caption, fill="white")
    path = os.path.join(_folder(), f"{key}.png")
    picture.save(path)
    with _lock:
        _drawn[key] = path
        while len(_drawn) > KEPT:
            _, old = _drawn.popitem(last=False)
            with suppress(OSError):
                os.remove(old)
            _removed += 1
    return path
