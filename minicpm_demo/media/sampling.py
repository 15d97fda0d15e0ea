"""A sampled video as the processor takes it, and the rules the video and animation readers share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from minicpm_demo.media.limits import MediaError, MediaLimits


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


def scaled_size(width: int, height: int, limits: MediaLimits) -> tuple[int, int] | None:
    """The frame size to decode to when the video is larger than ``max_video_side``, else None."""
    scale = limits.max_video_side / max(width, height)
    return (max(2, round(width * scale)), max(2, round(height * scale))) if scale < 1 else None


def scaling_notes(name: str, width: int, height: int, size: tuple[int, int] | None) -> list[str]:
    return [f"{name}: frames scaled from {width}×{height} to {size[0]}×{size[1]}"] if size else []
