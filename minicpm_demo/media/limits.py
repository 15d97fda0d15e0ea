"""What an upload may be (size, pixels, length) and the error a user sees when it is not."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import TypeVar

MB = 1024 * 1024
T = TypeVar("T")


class MediaError(ValueError):
    """An upload that cannot be used, with a message written for the person who uploaded it.

    ``path`` is the file it is about (set by the public readers below), so a UI can take that file back out.
    """

    path: str | None = None


def names_the_file(read: Callable[..., T]) -> Callable[..., T]:
    @wraps(read)
    def reader(path, *args, **kwargs):
        try:
            return read(path, *args, **kwargs)
        except MediaError as error:
            error.path = error.path or str(path)
            raise

    return reader


@dataclass(frozen=True)
class MediaLimits:
    max_image_bytes: int = 50 * MB
    max_image_pixels: int = 180_000_000  # beyond this Pillow's decompression-bomb guard refuses the file
    max_image_side: int = 4480  # longer sides are downscaled before the processor (10 × the 448 slice)
    max_video_bytes: int = 1024 * MB
    max_video_seconds: float = 30 * 60
    # Sampled frames wider than this are scaled down while decoding, so that a 4K video's frames take a quarter
    # of the memory they would at full size.
    max_video_side: int = 1920
    # One request's decoded frames (RGB) are scaled down to fit in this, so the most frames the settings allow
    # (256 × 8 stacked = 2048) cannot exhaust the server's memory; the processor's own copies need more on top
    # (see --max-video-frames-mb in docs/CONFIGURATION.md). 256 frames of 1080p fit unscaled.
    max_video_frames_bytes: int = 1600 * MB
    # Images in one request, i.e. in one conversation: every question sends the earlier turns' images again, and
    # each costs the processor memory in proportion to its pixels (see --max-images in docs/CONFIGURATION.md).
    max_images: int = 32

    def for_request(self, images: int, videos: int) -> MediaLimits:
        """The limits for each file of one request of ``images`` images and ``videos`` videos.

        Refuses more images than ``max_images``; the videos share the frame memory.
        """
        if images > self.max_images:
            raise MediaError(f"This conversation has {images} images; this demo takes up to {self.max_images} in "
                             "one conversation, as every question sends all of them to the model again. Start a new "
                             "conversation (Clear) with fewer, or raise --max-images.")
        return replace(self, max_video_frames_bytes=self.max_video_frames_bytes // videos) if videos > 1 else self


def describe_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def check_file(path: str | os.PathLike, kind: str, max_bytes: int, flag: str) -> str:
    name = os.path.basename(str(path))
    try:
        size = os.path.getsize(path)
    except OSError:
        raise MediaError(f"The {kind} {name!r} could not be read (it may have been removed). "
                         "Upload it again.") from None
    if size == 0:
        raise MediaError(f"The {kind} {name!r} is empty (0 bytes). Upload the file again.")
    if size > max_bytes:
        raise MediaError(
            f"The {kind} {name!r} is {size / MB:.0f} MB; this demo takes up to {max_bytes / MB:.0f} MB. "
            f"Upload a smaller file or raise {flag}."
        )
    return name


def check_duration(name: str, seconds: float, limits: MediaLimits) -> None:
    if seconds > limits.max_video_seconds:
        raise MediaError(
            f"The video {name!r} is {describe_duration(seconds)}; this demo takes up to "
            f"{describe_duration(limits.max_video_seconds)} — trim it or raise --max-video-seconds."
        )
