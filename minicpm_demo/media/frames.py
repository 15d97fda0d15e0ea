"""A sampled video as the processor takes it, and the rules the video and animation readers share."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from minicpm_demo.media.limits import MB, MediaError, MediaLimits
from minicpm_demo.phrases import Phrase


@dataclass
class SampledVideo:
    frames: np.ndarray  # (num_frames, height, width, 3) uint8, in the order the indices asked for
    metadata: object  # transformers.video_utils.VideoMetadata, with frames_indices set
    notes: list[str] = field(default_factory=list)


def sampled_indices(indices_for: Callable[[object], Sequence[int]], metadata, name: str) -> list[int]:
    indices = [int(index) for index in indices_for(metadata)]
    if not indices:
        raise MediaError(Phrase("video.no_samples", name=name))
    return indices


def decoded_size(name: str, width: int, height: int, frame_count: int,
                 limits: MediaLimits) -> tuple[tuple[int, int] | None, list[str]]:
    """The frame size to decode to (None for the video's own) and the note that says why it is smaller.

    Frames are scaled down when wider than ``max_video_side`` or when ``frame_count`` of them would not fit
    in ``max_video_frames_bytes``.
    """
    side_scale = limits.max_video_side / max(width, height)
    memory_scale = math.sqrt(limits.max_video_frames_bytes / (max(1, frame_count) * width * height * 3))
    scale = min(side_scale, memory_scale)
    if scale >= 1:
        return None, []
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    note = f"{name}: frames scaled from {width}×{height} to {size[0]}×{size[1]}"
    if memory_scale < side_scale:
        note += f" to fit in {limits.max_video_frames_bytes // MB} MB (--max-video-frames-mb)"
    return size, [note]
