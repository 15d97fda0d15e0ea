"""Animated WebP and PNG as short videos, read with Pillow (FFmpeg does not animate them)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from minicpm_demo.cancel import Cancelled, never
from minicpm_demo.media.frames import SampledVideo, decoded_size, sampled_indices
from minicpm_demo.media.images import opened_picture, to_rgb
from minicpm_demo.media.limits import MediaLimits, check_duration

# Browsers play GIF/WebP/PNG animation frames that declare 0–10 ms for 100 ms; so do we.
SHORTEST_ANIMATION_FRAME_MS = 10
DEFAULT_ANIMATION_FRAME_MS = 100


def sample_animation(path, name: str, indices_for: Callable[[object], Sequence[int]],
                     limits: MediaLimits, cancelled: Callable[[], bool] = never) -> SampledVideo:
    """An animated WebP or PNG read with Pillow as a short video, on the same rule as a real video: frame
    ``i`` is the picture shown at ``i / fps`` seconds, ``fps`` being the average frame rate. Transparency is
    composited on white, as for images. Only the sampled pictures are kept. Raises ``Cancelled`` within a
    picture of ``cancelled()`` turning true."""
    from transformers.video_utils import VideoMetadata

    with opened_picture(path, name, limits) as animation:
        starts: list[float] = []
        elapsed = 0.0
        for number in range(animation.n_frames):
            if cancelled():
                raise Cancelled
            animation.seek(number)
            animation.load()  # WebP reports a frame's duration only once it is decoded
            starts.append(elapsed)
            milliseconds = animation.info.get("duration") or 0
            if milliseconds <= SHORTEST_ANIMATION_FRAME_MS:
                milliseconds = DEFAULT_ANIMATION_FRAME_MS
            elapsed += milliseconds / 1000
        check_duration(name, elapsed, limits)
        fps = len(starts) / elapsed
        width, height = animation.size
        metadata = VideoMetadata(total_num_frames=len(starts), fps=fps, duration=elapsed, width=width,
                                 height=height, video_backend="pillow")
        indices = sampled_indices(indices_for, metadata, name)
        size, notes = decoded_size(name, width, height, len(indices), limits)
        # a small tolerance, so that the start of frame i, summed from durations, counts as time i / fps
        shown = {index: bisect.bisect_right(starts, index / fps + 1e-6) - 1 for index in set(indices)}
        pictures: dict[int, np.ndarray] = {}
        for number in sorted(set(shown.values())):
            if cancelled():
                raise Cancelled
            animation.seek(number)
            picture = to_rgb(animation)
            pictures[number] = np.asarray(picture.resize(size, Image.Resampling.BILINEAR) if size else picture)
    metadata.frames_indices = indices
    return SampledVideo(frames=np.stack([pictures[shown[index]] for index in indices]), metadata=metadata,
                        notes=notes)
