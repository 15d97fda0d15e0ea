"""Animated WebP, PNG and AVIF as short videos, read with Pillow (FFmpeg does not animate them)."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from minicpm_demo.cancel import Cancelled, never
from minicpm_demo.media.frame_times import frame_milliseconds
from minicpm_demo.media.frames import SampledVideo, decoded_size, sampled_indices
from minicpm_demo.media.images import opened_picture, to_rgb
from minicpm_demo.media.limits import (
    MediaError,
    MediaLimits,
    RequestBudget,
    check_duration,
    check_frame_size,
    describe_duration,
)
from minicpm_demo.phrases import Phrase

# Browsers play GIF/WebP/PNG animation frames that declare 0–10 ms for 100 ms; so do we.
SHORTEST_ANIMATION_FRAME_MS = 10
DEFAULT_ANIMATION_FRAME_MS = 100
# Pillow composes every frame on a copy of the whole canvas: on the largest canvases a frame costs about this many
# times the decoding of a video frame of that size (docs/PERFORMANCE.md, Bounded requests), and is charged so.
PILLOW_FRAME_COST = 3.0


def sample_animation(path, name: str, indices_for: Callable[[object], Sequence[int]], limits: MediaLimits,
                     budget: RequestBudget, cancelled: Callable[[], bool] = never) -> SampledVideo:
    """An animation read with Pillow as a short video, on the same rule as a real video: frame ``i`` is the
    picture shown at ``i / fps`` seconds, ``fps`` being the average frame rate. Transparency is composited on
    white, as for images. Only the sampled pictures are kept.

    Its length and the sampled frames come from the frame durations in its chunks (for formats other than PNG and
    WebP, from decoding every frame, charged first). Pillow composes each frame on the whole canvas, so the frames
    up to the last one sampled, each the canvas's size, are charged to ``budget`` before the first is decoded.
    Raises ``Cancelled`` within a picture of ``cancelled()`` turning true."""
    from transformers.video_utils import VideoMetadata

    with opened_picture(path, name, limits) as animation:
        width, height = animation.size
        check_frame_size(name, width, height, limits)
        count = animation.n_frames  # from the header (acTL, ANIM), nothing decoded
        most = int(limits.max_video_seconds * 1000 / SHORTEST_ANIMATION_FRAME_MS)
        if count > most:
            raise MediaError(Phrase("animation.too_many", name=name, count=count, most=most,
                                    duration=describe_duration(limits.max_video_seconds)))
        declared = frame_milliseconds(path, animation.format, count)
        if declared is None:  # only Pillow can tell the durations: by decoding every frame
            budget.charge_frames(name, width, height, count, cost=PILLOW_FRAME_COST)
            declared = _decoded_milliseconds(animation, count, cancelled)
        starts = [0.0, *itertools.accumulate(_played_seconds(milliseconds) for milliseconds in declared)]
        elapsed = starts.pop()
        check_duration(name, elapsed, limits)
        fps = count / elapsed
        metadata = VideoMetadata(total_num_frames=count, fps=fps, duration=elapsed, width=width,
                                 height=height, video_backend="pillow")
        indices = sampled_indices(indices_for, metadata, name)
        size, notes = decoded_size(name, width, height, len(indices), limits)
        # a small tolerance, so that the start of frame i, summed from durations, counts as time i / fps
        shown = {index: bisect.bisect_right(starts, index / fps + 1e-6) - 1 for index in set(indices)}
        needed = set(shown.values())
        last = max(needed)
        budget.charge_frames(name, width, height, last + 1, cost=PILLOW_FRAME_COST)
        pictures: dict[int, np.ndarray] = {}
        for number in range(last + 1):  # Pillow composes frame n on frame n - 1: each is decoded in turn
            if cancelled():
                raise Cancelled
            animation.seek(number)
            animation.load()
            if number in needed:
                picture = to_rgb(animation)
                pictures[number] = np.asarray(picture.resize(size, Image.Resampling.BILINEAR) if size else picture)
    metadata.frames_indices = indices
    return SampledVideo(frames=np.stack([pictures[shown[index]] for index in indices]), metadata=metadata,
                        notes=notes)


def _played_seconds(milliseconds: float) -> float:
    return (milliseconds if milliseconds > SHORTEST_ANIMATION_FRAME_MS else DEFAULT_ANIMATION_FRAME_MS) / 1000


def _decoded_milliseconds(animation, count: int, cancelled: Callable[[], bool]) -> list[float]:
    durations = []
    for number in range(count):
        if cancelled():
            raise Cancelled
        animation.seek(number)
        animation.load()  # WebP reports a frame's duration only once it is decoded
        durations.append(animation.info.get("duration") or 0)
    return durations
