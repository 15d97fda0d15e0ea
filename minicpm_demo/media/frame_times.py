"""How long each frame of an animated PNG or WebP shows, read from the file's chunks without decoding a picture,
so that an animation's length and sampling are known before any of its frames is decoded."""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def frame_milliseconds(path, format_name: str, frames: int) -> list[float] | None:
    """The declared duration of each of the ``frames`` frames Pillow counts, or None when the chunks do not
    describe exactly that many (the caller then asks Pillow)."""
    try:
        with open(path, "rb") as file:
            read = _png_durations if format_name == "PNG" else _webp_durations if format_name == "WEBP" else None
            durations = read(file, frames) if read else None
    except (OSError, struct.error):
        return None
    return durations if durations is not None and len(durations) == frames else None


def _png_durations(file, frames: int) -> list[float] | None:
    """From each fcTL chunk's delay; a default image stored before the first fcTL is a frame of its own (as
    Pillow counts it) with no declared duration."""
    if file.read(8) != PNG_SIGNATURE:
        return None
    durations: list[float] = []
    while len(durations) <= frames:
        header = file.read(8)
        if len(header) < 8:
            return None
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            return durations
        if kind == b"fcTL":
            body = file.read(length)
            numerator, denominator = struct.unpack(">HH", body[20:24])
            durations.append(numerator / (denominator or 100) * 1000)  # a zero denominator means 1/100 s
            file.seek(4, 1)
        else:
            if kind == b"IDAT" and not durations:
                durations.append(0.0)
            file.seek(length + 4, 1)
    return None


def _webp_durations(file, frames: int) -> list[float] | None:
    """From each ANMF chunk's 24-bit duration."""
    riff = file.read(12)
    if riff[:4] != b"RIFF" or riff[8:12] != b"WEBP":
        return None
    durations: list[float] = []
    while len(durations) <= frames:
        header = file.read(8)
        if len(header) < 8:
            return durations
        kind, length = struct.unpack("<4sI", header)
        if kind == b"ANMF":
            body = file.read(16)
            durations.append(float(int.from_bytes(body[12:15], "little")))
            file.seek(length + (length & 1) - 16, 1)
        else:
            file.seek(length + (length & 1), 1)
    return None
