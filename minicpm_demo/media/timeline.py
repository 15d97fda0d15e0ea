"""When each frame of a video is shown: which frame a sample index means, and where to seek for it.

A stream that declares a frame rate and a length has frame ``i`` at ``i / fps`` (``FrameClock``). One that lacks
either, as a browser's MediaRecorder WebM does (no constant rate, no duration), gets its frame times from its
packets' timestamps (``Timeline``), read by demuxing alone: nothing is decoded.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from minicpm_demo.media.decoding import demuxed
from minicpm_demo.media.limits import MediaError, MediaLimits
from minicpm_demo.phrases import Phrase

# More frames a second than any camera records: a stream with more packets than this over the longest video
# accepted is refused before its packets are all read.
MAX_FRAME_RATE = 240
# A lone frame with no duration shows this long.
LONE_FRAME_SECONDS = 0.1


@dataclass(frozen=True)
class FrameClock:
    """Frame ``i`` is the one shown at ``i / fps`` seconds after ``start`` (in time-base units)."""

    fps: float
    start: int
    time_base: float
    keyframes: tuple[int, ...] | None = None  # unknown: read from the packets' flags

    def index(self, pts: int) -> int:
        """The index of the frame shown at ``pts``."""
        return round((pts - self.start) * self.time_base * self.fps)

    def seconds(self, index: int) -> float:
        return index / self.fps

    def shown_at(self, index: int) -> int:
        """The frame shown at sample ``index``'s time (itself, frames being evenly spaced)."""
        return index


@dataclass(frozen=True)
class Timeline:
    """Every frame's timestamp, in presentation order; frame ``k`` is the ``k``-th shown. A sample index ``i``
    means the time ``i / fps`` (``fps`` being the average rate), and the frame shown then."""

    pts: tuple[int, ...]  # sorted
    time_base: float
    duration: float
    keyframes: tuple[int, ...]  # the frames (as above) that decode on their own, sorted

    @property
    def start(self) -> int:
        return self.pts[0]

    @property
    def fps(self) -> float:
        return len(self.pts) / self.duration

    def index(self, pts: int) -> int:
        """The frame shown at ``pts``: the last one that starts at or before it."""
        return max(0, bisect.bisect_right(self.pts, pts) - 1)

    def seconds(self, index: int) -> float:
        return (self.pts[index] - self.start) * self.time_base

    def shown_at(self, index: int) -> int:
        """The frame shown at sample ``index``'s time (a small tolerance, so that a frame starting exactly then
        counts, whatever the rounding)."""
        return self.index(self.start + round((index / self.fps + 1e-6) / self.time_base))


def read_timeline(container, stream, name: str, limits: MediaLimits) -> Timeline | None:
    """The stream's frame times from its packets (demuxed, not decoded); None when a packet has no timestamp.

    Refuses a stream with more packets than ``MAX_FRAME_RATE`` over the longest video accepted, as soon as it
    has read that many."""
    most = int(limits.max_video_seconds * MAX_FRAME_RATE) + 1
    stamps: list[int] = []
    keyframe_stamps: list[int] = []
    lone_duration = 0  # what a lone frame declares it shows for
    for packet in demuxed(container, stream):  # a damaged tail ends the video there
        if not packet.size:
            continue  # the demuxer's end-of-stream marker
        if packet.pts is None:
            return None
        stamps.append(packet.pts)
        if packet.is_keyframe:
            keyframe_stamps.append(packet.pts)
        lone_duration = packet.duration or 0
        if len(stamps) > most:
            raise _too_many_frames(name, most)
    if not stamps:
        return None
    stamps.sort()
    time_base = float(stream.time_base)
    span = (stamps[-1] - stamps[0]) * time_base
    # The last frame shows for the average gap: the durations muxers write for it are often a single tick.
    if len(stamps) > 1:
        last = span / (len(stamps) - 1)
    else:
        last = lone_duration * time_base or LONE_FRAME_SECONDS
    pts = tuple(stamps)
    keyframes = tuple(sorted({bisect.bisect_left(pts, stamp) for stamp in keyframe_stamps}))
    return Timeline(pts=pts, time_base=time_base, duration=span + last, keyframes=keyframes)


def count_packets(container, stream, name: str, limits: MediaLimits) -> int:
    """The stream's packets with data (one per frame in a raw stream), counted without decoding, up to the most
    frames the longest video accepted may have."""
    most = int(limits.max_video_seconds * MAX_FRAME_RATE) + 1
    count = 0
    for packet in demuxed(container, stream):  # a damaged tail ends the stream there
        count += 1 if packet.size else 0
        if count > most:
            raise _too_many_frames(name, most)
    return count


def _too_many_frames(name: str, most: int) -> MediaError:
    return MediaError(Phrase("video.frame_rate", name=name, most=most - 1, rate=MAX_FRAME_RATE))
