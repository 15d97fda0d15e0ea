"""A sampled video as the processor takes it, and the rules the video and animation readers share."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from minicpm_demo.media.limits import MB, MediaError, MediaLimits


@dataclass
class SampledVideo:
    frames: np.ndarray  # (num_frames, height, width, 3) uint8, in the order the indices asked for
    metadata: object  # transformers.video_utils.VideoMetadata, with frames_indices set
    notes: list[str] = field(default_factory=list)


def sampled_indices(indices_for: Callable[[object], Sequence[int]], metadata, name: str) -> list[int]:
    indices = [int(index) for index in indices_for(metadata)]
    if not indices:
        raise MediaError(f"No frames could be sampled from {name!r}. Upload a longer video.")
    return indices


def scaled_size(width: int, height: int, frame_count: int, limits: MediaLimits) -> tuple[int, int] | None:
    """The frame size to decode to, or None for the video's own.

    Frames are scaled down when wider than ``max_video_side`` or when ``frame_count`` of them would not fit
    in ``max_video_frames_bytes``.
    """
    scale = min(_scales(width, height, frame_count, limits))
    return (max(2, round(width * scale)), max(2, round(height * scale))) if scale < 1 else None


def scaling_notes(name: str, width: int, height: int, frame_count: int, size: tuple[int, int] | None,
                  limits: MediaLimits) -> list[str]:
    if not size:
        return []
    note = f"{name}: frames scaled from {width}×{height} to {size[0]}×{size[1]}"
    side_scale, memory_scale = _scales(width, height, frame_count, limits)
    if memory_scale < side_scale:
        note += f" to fit in {limits.max_video_frames_bytes // MB} MB (--max-video-frames-mb)"
    return [note]


def _scales(width: int, height: int, frame_count: int, limits: MediaLimits) -> tuple[float, float]:
    """The scale that meets ``max_video_side`` and the one that meets ``max_video_frames_bytes``."""
    return (limits.max_video_side / max(width, height),
            math.sqrt(limits.max_video_frames_bytes / (max(1, frame_count) * width * height * 3)))
