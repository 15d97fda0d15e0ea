"""Decoding a video's sampled frames with PyAV: the plan its container allows, and the runs that follow it.

A run is one thread's share of the sorted target indices, decoded in one container. Between two targets it
decodes on, or seeks to the keyframe before the next one when the keyframe spacing says that decodes fewer
frames; frames nobody sees are skipped, and only the frames at the targets are handed on.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace

from minicpm_demo.cancel import Cancelled
from minicpm_demo.media.limits import MediaError
from minicpm_demo.phrases import Phrase

# FFmpeg's demuxers for bare codec streams, which carry no container timing.
RAW_STREAMS = {"h264", "hevc", "mpegvideo", "m4v", "obu", "vvc"}

# Containers whose demuxer seeks through an index, landing on the keyframe at or before the time asked.
# Others (MPEG-TS and camcorders' M2TS, MPEG-PS/VOB, NUT) guess a byte offset and may land a little after
# it: they are sought a margin early and the landing is checked. Raw streams are never sought.
INDEXED_CONTAINERS = {"mov", "mp4", "matroska", "webm", "avi", "flv", "asf", "ivf", "yuv4mpegpipe"}
UNKNOWN_SPACING_SEEK_MARGIN_S = 3.0

# What a seek costs, in frames' decoding (demuxer index lookup, decoder restart, B-frame reordering delay). At this
# price a run of stacked samples seeks past the unsampled tail of each keyframe interval rather than decoding it
# (measured in docs/PERFORMANCE.md, Video sampling).
SEEK_OVERHEAD_FRAMES = 2


def open_container(path: str | os.PathLike, name: str):
    """``path`` opened by PyAV; a file it cannot open raises a MediaError that names ``name``."""
    import av

    try:
        return av.open(str(path))
    except (av.error.InvalidDataError, av.error.EOFError, ValueError, UnicodeDecodeError):
        raise MediaError(Phrase("video.unknown", name=name)) from None
    except av.error.FFmpegError as error:
        raise MediaError(Phrase("video.unopened", name=name, error=error)) from None


def demuxed(container, stream):
    """The stream's packets, up to the first one FFmpeg cannot read: a damaged tail ends the stream there (what
    cannot be decoded is reported by the decoding)."""
    import av

    try:
        yield from container.demux(stream)
    except av.error.FFmpegError:
        return


def demuxers(container) -> set[str]:
    """The names FFmpeg gives the container's format ("mov,mp4,m4a,3gp,3g2,mj2" is one demuxer)."""
    return set(container.format.name.split(","))


@dataclass(frozen=True)
class DecodePlan:
    seekable: bool  # else every run decodes from the start, never seeking
    keyframe_spacing: int  # frames between keyframes; 0 when unknown or irregular
    timestamps: bool  # frame i is the one the clock places at index i; else the i-th frame decoded
    seek_margin_s: float = 0.0  # seek this much before a target: the demuxer may land after the time asked
    keyframes: tuple[int, ...] | None = None  # every keyframe's index, when the packets were all read

    def keyframe_before(self, target: int) -> int | None:
        """The index of the keyframe at or before ``target``, as far as the plan knows (None: not known)."""
        if self.keyframes:
            return self.keyframes[max(0, bisect.bisect_right(self.keyframes, target) - 1)]
        spacing = self.keyframe_spacing
        return target - target % spacing if spacing else None

    def frames_to_decode(self, runs: list[list[int]], fps: float) -> int:
        """The frames the runs of sorted targets decode as planned: from the keyframe each seek lands on (from
        the start when that keyframe is not known), and on from one target to the next otherwise."""
        margin = round(self.seek_margin_s * fps)
        total = 0
        for targets in runs:
            seeks = _plan_seeks(targets, self, seek_overhead(self, fps)) if self.seekable else set()
            previous = -1
            for position, target in enumerate(targets):
                landing = self.keyframe_before(max(0, target - margin)) \
                    if self.seekable and (position == 0 or target in seeks) else None
                total += target - (previous if landing is None else landing - 1)
                previous = target
        return total


def decode_plan(container, clock) -> DecodePlan:
    """How the container can be decoded; ``clock`` (a FrameClock or Timeline) gives the frame rate, and the
    keyframes when it has read them."""
    names = demuxers(container)
    if names & RAW_STREAMS:
        return DecodePlan(seekable=False, keyframe_spacing=0, timestamps=False)
    keyframes = clock.keyframes
    spacing = _regular_spacing(keyframes) if keyframes is not None \
        else _keyframe_spacing(container, container.streams.video[0], clock.fps)
    if names & INDEXED_CONTAINERS:
        return DecodePlan(seekable=True, keyframe_spacing=spacing, timestamps=True, keyframes=keyframes)
    # Seek a keyframe interval and a second early (the landing is checked, and a miss decodes from the start).
    margin = spacing / clock.fps + 1.0 if spacing else UNKNOWN_SPACING_SEEK_MARGIN_S
    return DecodePlan(seekable=True, keyframe_spacing=spacing, timestamps=True, seek_margin_s=margin,
                      keyframes=keyframes)


def seek_overhead(plan: DecodePlan, fps: float) -> int:
    """What a seek costs, in frames: the decoder's restart, and the margin sought early."""
    return SEEK_OVERHEAD_FRAMES + round(plan.seek_margin_s * fps)


def _regular_spacing(keyframes: tuple[int, ...]) -> int:
    """The keyframes' spacing when they are evenly spaced, else 0."""
    gaps = {b - a for a, b in zip(keyframes, keyframes[1:])}
    return gaps.pop() if len(gaps) == 1 else 0


def _keyframe_spacing(container, stream, fps: float, scan_seconds: float = 20.0) -> int:
    """Frames between keyframes, read from packet flags (no decoding); 0 when none repeats within the scan."""
    time_base = float(stream.time_base)
    keyframes: list[float] = []
    for packet in demuxed(container, stream):
        if packet.pts is None:
            continue
        seconds = packet.pts * time_base
        if packet.is_keyframe and seconds not in keyframes:
            keyframes.append(seconds)
            if len(keyframes) == 3:
                break
        if seconds - (keyframes[0] if keyframes else seconds) > scan_seconds:
            break
    keyframes.sort()
    if len(keyframes) < 2:
        return 0
    return max(1, round(min(b - a for a, b in zip(keyframes, keyframes[1:])) * fps))


def _plan_seeks(targets: list[int], plan: DecodePlan, overhead: int) -> set[int]:
    """The targets worth a seek: decoding on from the previous target costs more frames than decoding from
    the keyframe before this one plus the seek's own ``overhead``."""
    seeks = set()
    for previous, target in zip([-1, *targets], targets):
        keyframe = plan.keyframe_before(target)
        if keyframe is not None and target - previous > target - keyframe + overhead:
            seeks.add(target)
    return seeks


class _LandedAfterTarget(Exception):
    """A seek landed past the frame it was for."""


@dataclass(frozen=True)
class DecodingJob:
    """One video's decoding: what all its runs share."""

    path: str | os.PathLike
    name: str  # the file's name, for messages
    clock: object  # a timeline.FrameClock or Timeline: the index of the frame at a timestamp, and back
    plan: DecodePlan
    keep: Callable[[int, object], None]  # takes the decoded frame (a PyAV frame) shown at a target index
    cancelled: Callable[[], bool]
    decoded: Callable[[], None]  # told of every frame decoded (the request's budget counts them)

    def decode_run(self, targets: list[int], opened=None) -> tuple[int, object] | None:
        """Decode one run of sorted ``targets`` in ``opened`` (a seekable container, left open) or a container of
        its own; returns (the last index decoded, its frame) or None if nothing decoded. A run whose seek lands
        past its target is decoded again from the start, without seeking."""
        try:
            return _Run(self, targets, opened).decode()
        except _LandedAfterTarget:
            return _Run(replace(self, plan=replace(self.plan, seekable=False)), targets).decode()


class _Run:
    """One run's decoding, its loop state held in named attributes.

    ``frames`` is the decoder's frame iterator (None until the first target, and after a keyframe decoded alone,
    which resets the decoder); ``current`` and ``last_frame`` are the index and frame decoded last;
    ``check_landing`` says the next frame comes right after a seek that may land late; ``next_target`` is the
    target being decoded to, before which unreferenced frames need not be decoded.
    """

    def __init__(self, job: DecodingJob, targets: list[int], opened=None):
        self.job, self.plan, self.targets, self.opened = job, job.plan, targets, opened
        self.clock = job.clock
        self.seek_at = _plan_seeks(targets, self.plan, seek_overhead(self.plan, self.clock.fps)) \
            if self.plan.seekable else set()
        self.frames = None
        self.current = -1
        self.last_frame = None
        self.check_landing = False
        self.next_target = targets[0]

    def decode(self) -> tuple[int, object] | None:
        import av

        with nullcontext(self.opened) if self.opened else open_container(self.job.path, self.job.name) as container:
            self.container = container
            self.stream = container.streams.video[0]
            # Frame threading would refill its pipeline after every seek; the runs already use every core.
            self.stream.thread_type = "SLICE"
            try:
                for position, target in enumerate(self.targets):
                    if self.job.cancelled():
                        raise Cancelled
                    if not self._decode_to(position, target):
                        break  # the stream ended before this target
            except av.error.FFmpegError:
                if self.last_frame is None:
                    raise MediaError(Phrase("video.no_frame", name=self.job.name)) from None
        return None if self.last_frame is None else (self.current, self.last_frame)

    def _decode_to(self, position: int, target: int) -> bool:
        """Reach ``target`` by decoding on or by seeking, as planned, and keep its frame; False when the stream
        ends before it."""
        if self.frames is None or target in self.seek_at:
            if self.plan.seekable:
                self._seek_before(target, just_opened=position == 0 and not self.opened)
                if self._kept_keyframe_alone(position, target):
                    return True
            self.frames = self._decode_skipping_unseen() if self.plan.timestamps \
                else self.container.decode(self.stream)
        self.next_target = target
        for frame in self.frames:
            if self.job.cancelled():
                raise Cancelled
            self.job.decoded()
            index = self.clock.index(frame.pts) if self.plan.timestamps and frame.pts is not None else self.current + 1
            if self.check_landing:
                self.check_landing = False
                if index > target:
                    raise _LandedAfterTarget
            self.current, self.last_frame = index, frame
            if index >= target:
                # the frame shown at the target time (the next one when timestamps are irregular)
                self.job.keep(target, frame)
                return True
        return False

    def _seek_before(self, target: int, just_opened: bool = False) -> None:
        """Seek to the keyframe at or before the target, and check the landing unless reading from the very
        start (where the first frame is whatever it is)."""
        seconds = max(0.0, self.clock.seconds(target) - self.plan.seek_margin_s)
        if seconds > 0 or not just_opened:  # a container just opened is at its start (a seek may overshoot)
            self.container.seek(int(self.clock.start + seconds / self.clock.time_base), stream=self.stream,
                                backward=True)
        self.check_landing = seconds > 0

    def _kept_keyframe_alone(self, position: int, target: int) -> bool:
        """Whether the target, just sought to, is a keyframe that was decoded alone and kept.

        Tried only where the run seeks again for its next target anyway, as decoding a keyframe alone resets the
        decoder; when the try fails, the run seeks back before the target.
        """
        seeks_next = position + 1 == len(self.targets) or self.targets[position + 1] in self.seek_at
        if not (seeks_next and self.plan.keyframe_before(target) == target and not self.plan.seek_margin_s):
            return False
        keyframe = self._decode_keyframe_alone(target)
        if keyframe is None:
            self._seek_before(target)
            return False
        self.current, self.last_frame, self.frames = target, keyframe, None
        self.job.keep(target, keyframe)
        return True

    def _decode_skipping_unseen(self):
        """``container.decode(stream)``, except that frames shown before ``next_target`` which no other frame refers
        to (most B-frames) are not decoded at all: nobody sees them, and the frames that are decoded stay
        bit-identical. A frame's index comes from its packet's timestamp; packets without one are decoded."""
        codec = self.stream.codec_context
        for packet in self.container.demux(self.stream):
            skippable = packet.pts is not None and self.clock.index(packet.pts) < self.next_target
            codec.skip_frame = "NONREF" if skippable else "DEFAULT"
            yield from codec.decode(packet)

    def _decode_keyframe_alone(self, target: int):
        """The frame at ``target`` when the packet just sought to is its keyframe, else None (nothing kept).

        Draining the decoder right after that one packet returns it without decoding the packets after it, which
        a decoder holding frames back for B-frame reordering would otherwise do (measured in docs/PERFORMANCE.md,
        Video sampling). The decoder is reset afterwards, so the run seeks before decoding anything else.
        """
        codec = self.stream.codec_context
        for packet in self.container.demux(self.stream):
            if packet.pts is None or not packet.is_keyframe or self.clock.index(packet.pts) != target:
                return None
            frames = codec.decode(packet) or codec.decode(None)
            codec.flush_buffers()
            if frames:
                self.job.decoded()
            return frames[0] if frames else None
        return None
