"""What an upload may be (size, pixels, length) and the error a user sees when it is not."""

from __future__ import annotations

import os
import threading
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
    # What one request may decode, so that a small file named many times, or one that declares a huge picture or
    # thousands of frames, is refused before its pixels are decoded (see RequestBudget). Thirty-two 12-megapixel
    # photos (a conversation at --max-images) fit in the image pixels; a 30-minute 1080p video sampled at the
    # default frame count fits in the frame pixels.
    max_request_image_pixels: int = 400_000_000
    max_request_frame_pixels: int = 40_000_000_000
    # The largest frame a video or animation may have (8K with room): a decoder holds several frames of this size.
    max_video_frame_pixels: int = 8192 * 4352

    def budget(self) -> RequestBudget:
        """A fresh budget for one request under these limits."""
        return RequestBudget(self)

    def for_request(self, images: int, videos: int) -> MediaLimits:
        """The limits for each file of one request of ``images`` images and ``videos`` videos.

        Refuses more images than ``max_images``; the videos share the frame memory.
        """
        if images > self.max_images:
            raise MediaError(f"This conversation has {images} images; this demo takes up to {self.max_images} in "
                             "one conversation, as every question sends all of them to the model again. Start a new "
                             "conversation (Clear) with fewer, or raise --max-images.")
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
                raise MediaError(
                    f"The image {name!r} is {width}×{height} ({_megapixels(width * height)} megapixels); with it, "
                    f"this request's images would take {_megapixels(total)} megapixels, and this demo decodes up to "
                    f"{_megapixels(limit)} in one request, as every question sends the conversation's images again. "
                    "Send smaller or fewer images (Clear starts a new conversation), or raise "
                    "--max-request-megapixels.")
            self.image_pixels = total

    def charge_frames(self, name: str, width: int, height: int, frames: int, cost: float = 1.0,
                      of_file: int | None = None) -> None:
        """Charge ``frames`` frames of ``width`` × ``height`` about to be decoded, each pixel at ``cost``
        (``of_file``: the file's frames decoded in all, for the message, when it is charged frame by frame)."""
        limit = self.limits.max_request_frame_pixels
        with self._lock:
            total = self.frame_pixels + round(frames * max(width * height, FRAME_COST_FLOOR_PIXELS) * cost)
            if total > limit:
                left = f", {max(0, limit - self.frame_pixels) / 1e9:.1f} of them left" if self.frame_pixels else ""
                raise MediaError(
                    f"Reading {name!r} means decoding {of_file or frames:,} frames of {width}×{height}, more than "
                    f"this demo decodes for one request ({limit / 1e9:g} gigapixels of video frames{left}). Send a "
                    "shorter or smaller video (an MP4 rather than an animation), lower max_num_frames or "
                    "stack_frames, or raise --max-request-video-gigapixels.")
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
        raise MediaError(f"The video {name!r} has frames of {width}×{height}: more pixels than the "
                         f"{limits.max_video_frame_pixels / 1e6:.1f} megapixels a frame may have in this demo. "
                         "Scale it down (to 4K, say) and upload it again.")


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
