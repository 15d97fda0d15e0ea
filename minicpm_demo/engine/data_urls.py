"""Media sent inline to a model server, as data: URLs."""

from __future__ import annotations

import base64
import io

# Frames sent as images are scaled to one 448×448 slice's area, so each costs one slice, as a video frame does.
FRAME_PIXELS = 448 * 448
PNG_UP_TO_PIXELS = 1_000_000  # small images go lossless (screenshots, charts); photos as JPEG


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_url(image) -> str:
    buffer = io.BytesIO()
    if image.width * image.height <= PNG_UP_TO_PIXELS:
        image.save(buffer, "PNG")
        return data_url(buffer.getvalue(), "image/png")
    image.save(buffer, "JPEG", quality=92)
    return data_url(buffer.getvalue(), "image/jpeg")


def frame_url(array) -> str:
    from PIL import Image

    frame = Image.fromarray(array)
    scale = min(1.0, (FRAME_PIXELS / (frame.width * frame.height)) ** 0.5)
    if scale < 1:
        frame = frame.resize((max(1, round(frame.width * scale)), max(1, round(frame.height * scale))),
                             Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=90)
    return data_url(buffer.getvalue(), "image/jpeg")
