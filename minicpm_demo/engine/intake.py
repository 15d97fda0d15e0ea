"""One request's media, read the same way by every engine: each file under the request's limits, with the
message a user understands when it cannot be used, and a record of what each attachment became."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from minicpm_demo.cancel import never
from minicpm_demo.engine.base import MediaGiven
from minicpm_demo.media import MediaLimits, SampledVideo, load_image, probe_video, sample_video


def media_counts(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """How many images and how many videos the model-card ``messages`` carry."""
    kinds = [item["type"] for message in messages if not isinstance(message["content"], str)
             for item in message["content"] if "path" in item]
    return kinds.count("image"), kinds.count("video")


def map_media(messages: list[dict[str, Any]],
              convert: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``messages`` with each media item (``{"type": "image"|"video", "path": …}``) replaced by the items
    ``convert(item)`` returns; text items and plain-string contents pass unchanged, in order."""
    resolved = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            resolved.append(message)
            continue
        items: list[dict[str, Any]] = []
        for item in content:
            items.extend(convert(item) if "path" in item else [item])
        resolved.append({**message, "content": items})
    return resolved


@dataclass
class Intake:
    """Reads the files of one request and collects what was done to them."""

    limits: MediaLimits
    cancelled: Callable[[], bool] = never
    notes: list[str] = field(default_factory=list)
    media: list[MediaGiven] = field(default_factory=list)

    @classmethod
    def for_messages(cls, messages: list[dict[str, Any]], limits: MediaLimits,
                     cancelled: Callable[[], bool] = never) -> Intake:
        """Refuses more images than one request may hold; the request's videos share the frame memory."""
        return cls(limits.for_request(*media_counts(messages)), cancelled)

    def image(self, path: str):
        loaded = load_image(path, self.limits)
        self.notes.extend(loaded.notes)
        self.media.append(MediaGiven("image", os.path.basename(path), size=loaded.image.size))
        return loaded.image

    def video(self, path: str, indices_for: Callable[[object], Sequence[int]]) -> SampledVideo:
        """The frames ``indices_for(metadata)`` picks (the video processor's own sampling rule)."""
        sampled = sample_video(path, indices_for, self.limits, self.cancelled)
        self.notes.extend(sampled.notes)
        metadata = sampled.metadata
        height, width = sampled.frames.shape[1:3]
        self.media.append(MediaGiven("video", os.path.basename(path), size=(width, height),
                                     frames_s=tuple(index / metadata.fps for index in metadata.frames_indices)))
        return sampled

    def whole_video(self, path: str) -> None:
        """A video sent as it is (a server samples it): its size, length and decodability checked here."""
        info = probe_video(path, self.limits)
        self.media.append(MediaGiven("video", os.path.basename(path), size=(info.width, info.height)))
