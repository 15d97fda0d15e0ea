"""What kind of media a file is, from its content: a picture Pillow reads, or a video FFmpeg reads."""

from __future__ import annotations

import os
import warnings

from PIL import Image

from minicpm_demo.media import tiff
from minicpm_demo.media.pdf import is_pdf

# Pillow identifies MPEG video streams (without decoding them); those are videos, not pictures.
NOT_PICTURES = {"MPEG"}
# Formats whose several pictures are an animation, played over time; in others (multi-page TIFF, a camera's MPO
# with its previews) they are pages or versions of one picture.
ANIMATIONS = {"GIF", "PNG", "WEBP", "AVIF", "FLI"}


def load_readers() -> None:
    """Import PyAV, pdfium and Pillow's format plugins now, so that the first upload does not wait for them."""
    import av  # noqa: F401
    import pypdfium2  # noqa: F401

    tiff.register()


def picture_format(path: str | os.PathLike) -> tuple[str, bool] | None:
    """(Pillow's format name, whether it holds several pictures) when Pillow reads ``path`` as a picture, else
    None."""
    tiff.register()
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if image.format in NOT_PICTURES:
                return None
            return image.format, bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def is_video(path: str | os.PathLike) -> bool:
    """Whether FFmpeg opens ``path`` as a video with a picture, not as a single image (nothing is decoded)."""
    import av

    try:
        with av.open(str(path)) as container:
            single_picture = container.format.name == "image2" or container.format.name.endswith("_pipe")
            return not single_picture and any(getattr(stream, "width", 0) for stream in container.streams.video)
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError, OSError):
        return False


def detect_kind(path: str | os.PathLike) -> str:
    """"image" if Pillow recognises the content or it is a PDF (its pages are images), otherwise "video" (the
    video reader then explains)."""
    return "image" if is_pdf(path) or picture_format(path) else "video"
