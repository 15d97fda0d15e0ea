"""What an upload may be (size, pixels, length) and the error a user sees when it is not."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import TypeVar

from minicpm_demo.phrases import Phrase

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
    # What one request may decode, so that a small file named many times, or one that declares a huge picture or
    # thousands of frames, is refused before its pixels are decoded (see RequestBudget). Thirty-two 12-megapixel
    # photos (a conversation at --max-images) fit in the image pixels; a 30-minute 1080p video sampled at the
    # default frame count fits in the frame pixels.
    max_request_image_pixels: int = 400_000_000
    max_request_frame_pixels: int = 40_000_000_000
    # The largest frame a video or animation may have (8K with room): a decoder holds several frames of this size.
    max_video_frame_pixels: int = 8192 * 4352
    # A PDF gives its first pages, each rendered at about this many pixels whatever its paper size (A4 at
    # 1262×1784): enough for small print once the processor cuts it into slices (see docs/MEDIA.md, PDF documents).
    max_pdf_pages: int = 8
    pdf_page_pixels: int = 1500 * 1500

    def budget(self) -> RequestBudget:
        """A fresh budget for one request under these limits."""
        return RequestBudget(self)

    def for_request(self, images: int, videos: int) -> MediaLimits:
        """The limits for each file of one request of ``images`` images and ``videos`` videos.

        Refuses more images than ``max_images``; the videos share the frame memory.
        """
        if images > self.max_images:
            raise MediaError(Phrase("images.too_many", images=images, most=self.max_images))
        return replace(self, max_video_frames_bytes=self.max_video_frames_bytes // videos) if videos > 1 else self


# Frames smaller than this are charged as this large: each decoded frame costs a fixed amount besides its pixels.
FRAME_COST_FLOOR_PIXELS = 100_000


class RequestBudget:
    """What one request may still decode: pixels of images, and pixels of video and animation frames.

    Each reader charges it from a file's header, before decoding (a video also while decoding, for frames beyond
    those charged up front); over budget, the charge raises a MediaError that says what to send instead. Create
    one per request and pass it to every reader of that request; a file read once and used twice is charged
    once. Several decoding threads may charge it at once.
    """

    def __init__(self, limits: MediaLimits):
        self.limits = limits
        self.image_pixels = 0  # charged so far
        self.frame_pixels = 0
        self._lock = threading.Lock()

    def charge_image(self, name: str, width: int, height: int) -> None:
        """Charge a picture of ``width`` × ``height`` about to be decoded."""
        limit = self.limits.max_request_image_pixels
        with self._lock:
            total = self.image_pixels + width * height
            if total > limit:
                raise MediaError(Phrase("images.request_pixels", name=name, width=width, height=height,
                                        megapixels=_megapixels(width * height), total=_megapixels(total),
                                        limit=_megapixels(limit)))
            self.image_pixels = total

    def charge_frames(self, name: str, width: int, height: int, frames: int, cost: float = 1.0,
                      of_file: int | None = None) -> None:
        """Charge ``frames`` frames of ``width`` × ``height`` about to be decoded, each pixel at ``cost``
        (``of_file``: the file's frames decoded in all, for the message, when it is charged frame by frame)."""
        limit = self.limits.max_request_frame_pixels
        with self._lock:
            total = self.frame_pixels + round(frames * max(width * height, FRAME_COST_FLOOR_PIXELS) * cost)
            if total > limit:
                left = (Phrase("video.frames_left", left=max(0, limit - self.frame_pixels) / 1e9)
                        if self.frame_pixels else "")
                raise MediaError(Phrase("video.request_frames", name=name, frames=of_file or frames, width=width,
                                        height=height, limit=limit / 1e9, left=left))
            self.frame_pixels = total

    def meter(self, name: str, width: int, height: int, reserved: int) -> Callable[[], None]:
        """Charge ``reserved`` frames now; the function returned is told of each frame decoded, and charges
        those past the reserved ones as they come."""
        self.charge_frames(name, width, height, reserved)
        decoded = [0]
        lock = threading.Lock()

        def one_decoded() -> None:
            with lock:
                decoded[0] += 1
                count = decoded[0]
            if count > reserved:
                self.charge_frames(name, width, height, 1, of_file=count)

        return one_decoded


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.0f}" if pixels >= 10_000_000 else f"{pixels / 1e6:.1f}"


def check_frame_size(name: str, width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_video_frame_pixels:
        raise MediaError(Phrase("video.frame_size", name=name, width=width, height=height,
                                megapixels=limits.max_video_frame_pixels / 1e6))


def describe_duration(seconds: float) -> Phrase:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return Phrase("duration.h", hours=hours, minutes=minutes)
    if minutes:
        return Phrase("duration.ms", minutes=minutes, seconds=secs) if secs else Phrase("duration.m", minutes=minutes)
    return Phrase("duration.s", seconds=secs)


def check_file(path: str | os.PathLike, kind: str, max_bytes: int, flag: str) -> str:
    name = os.path.basename(str(path))
    try:
        size = os.path.getsize(path)
    except OSError:
        raise MediaError(Phrase("file.unreadable", kind=Phrase(f"kind.{kind}"), name=name)) from None
    if size == 0:
        raise MediaError(Phrase("file.empty", kind=Phrase(f"kind.{kind}"), name=name))
    if size > max_bytes:
        raise MediaError(Phrase("file.too_large", kind=Phrase(f"kind.{kind}"), name=name, size_mb=size / MB,
                                max_mb=max_bytes / MB, flag=flag))
    return name


def check_duration(name: str, seconds: float, limits: MediaLimits) -> None:
    if seconds > limits.max_video_seconds:
        raise MediaError(Phrase("video.too_long", name=name, duration=describe_duration(seconds),
                                most=describe_duration(limits.max_video_seconds)))
