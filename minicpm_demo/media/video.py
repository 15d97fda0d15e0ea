"""Videos read with PyAV: probed robustly, and only the frames the processor samples decoded."""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from minicpm_demo.cancel import never
from minicpm_demo.media.animation import sample_animation
from minicpm_demo.media.decoding import RAW_STREAMS, DecodingJob, decode_plan, demuxers, open_container
from minicpm_demo.media.frames import SampledVideo, decoded_size, sampled_indices
from minicpm_demo.media.kinds import ANIMATIONS, picture_format
from minicpm_demo.media.limits import (
    MediaError,
    MediaLimits,
    RequestBudget,
    check_duration,
    check_file,
    check_frame_size,
    names_the_file,
)
from minicpm_demo.media.pdf import is_pdf
from minicpm_demo.media.timeline import FrameClock, Timeline, count_packets, read_timeline
from minicpm_demo.phrases import Phrase


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    fps: float
    total_frames: int
    width: int
    height: int


@names_the_file
def probe_video(path: str | os.PathLike, limits: MediaLimits = MediaLimits()) -> VideoInfo:
    """Duration, frame rate and frame count, from the stream or the container when the stream omits them, or
    from the packets' timestamps when both lack a rate or a length."""
    name = check_file(path, "video", limits.max_video_bytes, "--max-video-mb")
    if is_pdf(path):
        raise MediaError(Phrase("video.is_pdf", name=name))
    with open_container(path, name) as container:
        return _checked_info(container, name, limits)[0]


def _checked_info(container, name: str, limits: MediaLimits) -> tuple[VideoInfo, FrameClock | Timeline]:
    info, clock = _stream_info(container, name, limits)
    check_duration(name, info.duration, limits)
    return info, clock


def _stream_info(container, name: str, limits: MediaLimits) -> tuple[VideoInfo, FrameClock | Timeline]:
    if not container.streams.video:
        raise MediaError(Phrase("video.no_track", name=name))
    stream = container.streams.video[0]
    if not getattr(stream, "width", 0) or not getattr(stream, "height", 0):  # no size: a codec FFmpeg lacks
        raise _undecodable(name)
    check_frame_size(name, stream.width, stream.height, limits)
    raw = bool(demuxers(container) & RAW_STREAMS)
    declared = 0.0
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    elif container.duration:
        declared = container.duration / 1_000_000
    if not raw and (stream.average_rate is None or not declared):
        # No constant rate (the time base would pass for one) or no length: the timestamps tell both.
        timeline = read_timeline(container, stream, name, limits)
        if timeline is not None:
            return VideoInfo(duration=timeline.duration, fps=timeline.fps, total_frames=len(timeline.pts),
                             width=stream.width, height=stream.height), timeline
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration = declared
    total = int(stream.frames or 0)
    if not total and fps and (raw or not duration):
        # A raw stream (.h264, .hevc, .m1v) has no frame count, and at most a bit-rate guess of its length:
        # so its packets are counted, one per frame (nothing is decoded).
        total = count_packets(container, stream, name, limits)
        duration = total / fps
    if total == 0 and duration and fps:
        total = int(round(duration * fps))
    if not duration and total and fps:
        duration = total / fps
    if fps <= 0 or total <= 0 or duration <= 0:
        raise MediaError(Phrase("video.no_readable_frames", name=name))
    info = VideoInfo(duration=duration, fps=fps, total_frames=total, width=stream.width, height=stream.height)
    return info, FrameClock(fps=fps, start=stream.start_time or 0, time_base=float(stream.time_base))


@names_the_file
def sample_video(
    path: str | os.PathLike,
    indices_for: Callable[[object], Sequence[int]],
    limits: MediaLimits = MediaLimits(),
    cancelled: Callable[[], bool] = never,
    budget: RequestBudget | None = None,
) -> SampledVideo:
    """Decode only the frames ``indices_for(metadata)`` asks for, in that order (repeats allowed).

    ``indices_for`` is the video processor's own ``sample_frames`` (bound to the request's settings), so
    the frames are the ones the processor would pick from the whole decoded video. Index ``i`` is the frame
    shown at ``i / fps`` seconds (by its timestamp, when the frame rate varies); a sample far from the one before
    is reached by seeking to the keyframe before it, not by decoding everything in between, and only the sampled
    frames are ever kept. Animated GIF, WebP, PNG and AVIF files are short videos too; a still image (or a
    multi-page TIFF) is refused with a message that says so.

    The frames it decodes are charged to ``budget`` (the request's, else one of its own): the frames the plan
    decodes before decoding starts, any more as they are decoded. Decoding raises ``Cancelled`` within a frame of
    ``cancelled()`` turning true (Stop pressed).
    """
    from transformers.video_utils import VideoMetadata

    name = check_file(path, "video", limits.max_video_bytes, "--max-video-mb")
    if is_pdf(path):  # FFmpeg would call it an unknown video
        raise MediaError(Phrase("video.is_pdf", name=name))
    budget = budget or limits.budget()
    picture = picture_format(path)
    if picture is not None:
        format_name, several = picture
        if not several or format_name not in ANIMATIONS:
            raise MediaError(Phrase("video.is_image", name=name, pages=Phrase("video.pages") if several else ""))
        if format_name != "GIF":  # FFmpeg reads animated GIFs, but does not animate WebP, PNG or AVIF
            return sample_animation(path, name, indices_for, limits, budget, cancelled)
    # Opening a container is costly, as FFmpeg decodes a frame to probe the stream (measured in
    # docs/PERFORMANCE.md, Video sampling): one serves the probe, the decoding plan and the first run of frames.
    with open_container(path, name) as container:
        info, clock = _checked_info(container, name, limits)
        metadata = VideoMetadata(total_num_frames=info.total_frames, fps=info.fps, duration=info.duration,
                                 width=info.width, height=info.height, video_backend="pyav")
        indices = sampled_indices(indices_for, metadata, name)
        size, notes = decoded_size(name, info.width, info.height, len(indices), limits)
        reading = _Reading(path=path, name=name, info=info, clock=clock, size=size, budget=budget,
                           cancelled=cancelled)
        frames, last_index = reading.frames_at(container, [clock.shown_at(index) for index in indices])
    if last_index < clock.shown_at(max(indices)):
        # The container promised more frames than it holds (estimated count, truncated file): reuse the last.
        notes.append(Phrase("note.video_ended", name=name, frame=last_index + 1))
    metadata.frames_indices = indices
    return SampledVideo(frames=frames, metadata=metadata, notes=notes)


@dataclass(frozen=True)
class _Reading:
    """One video's sampled frames being read: what the decoding needs besides the frames to reach."""

    path: str | os.PathLike
    name: str
    info: VideoInfo
    clock: FrameClock | Timeline
    size: tuple[int, int] | None  # the size to decode to; None for the video's own
    budget: RequestBudget
    cancelled: Callable[[], bool]

    def frames_at(self, container, targets: list[int]) -> tuple[np.ndarray, int]:
        """The frames at ``targets`` (in that order, repeats allowed) as one RGB array, and the last index
        decoded.

        The sorted targets are cut into one contiguous run per CPU core (up to 4), each decoded in its own thread
        with its own demuxer (PyAV releases the GIL while decoding); the first run decodes in ``container`` (open
        already, and read ahead) where a seek takes it back to its start exactly. Within a run, the decoder
        reaches the next target either by decoding on or by seeking to the keyframe before it, whichever the
        keyframes (read from packet flags) say is cheaper. The frames the runs will decode are charged to the
        budget first. Frames go straight into the output array, so nothing but the sampled frames is ever held.
        """
        frames = _SampledFrames(targets, self.size)
        ordered = sorted(frames.slots)
        plan = decode_plan(container, self.clock)
        # Containers sought by a byte guess (seek_margin_s) may not land at their start: those runs open their own.
        reusable = container if plan.seekable and not plan.seek_margin_s else None
        # Without seeking, or with one keyframe before all the targets, a second run would decode the first
        # run's frames again on its way to its own.
        one_interval = plan.keyframes is not None and plan.keyframe_before(ordered[0]) == plan.keyframe_before(
            ordered[-1])
        workers = max(1, min(os.cpu_count() or 1, 4, len(ordered))) if plan.seekable and not one_interval else 1
        runs = [list(run) for run in np.array_split(np.array(ordered), workers) if len(run)]
        width, height = self.info.width, self.info.height
        reserved = int(plan.frames_to_decode(runs, self.clock.fps))
        meter = self.budget.meter(self.name, width, height, reserved=reserved)
        job = DecodingJob(path=self.path, name=self.name, clock=self.clock, plan=plan, keep=frames.keep,
                          cancelled=self.cancelled, decoded=meter)
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="video-decode") as pool:
            containers = [reusable] + [None] * (len(runs) - 1)  # None: the run opens its own
            results = list(pool.map(job.decode_run, runs, containers))
        decoded = [result for result in results if result is not None]
        if not decoded:
            raise _undecodable(self.name)
        # Targets no run reached (the stream ended early) show the last frame decoded before them.
        last_index, last_frame = max(decoded, key=lambda result: result[0])
        reached = {index for run, result in zip(runs, results) if result for index in run if index <= result[0]}
        unreached = [index for index in ordered if index not in reached]
        if unreached:
            tail = _upright(last_frame, self.size)
            for index in unreached:
                frames.put(index, tail)
        return frames.array, last_index


class _SampledFrames:
    """The output array of one sampling, filled by the runs' threads, and the places of each index in it (an
    index the processor repeats has several). The array takes the shape of the first frame stored."""

    def __init__(self, indices: list[int], size: tuple[int, int] | None):
        self.size, self.count = size, len(indices)
        self.slots: dict[int, list[int]] = {}
        for position, index in enumerate(indices):
            self.slots.setdefault(index, []).append(position)
        self.array: np.ndarray | None = None
        self._lock = threading.Lock()

    def keep(self, index: int, frame) -> None:
        """Store the decoded frame shown at ``index``, upright and at the decoding size."""
        self.put(index, _upright(frame, self.size))

    def put(self, index: int, array: np.ndarray) -> None:
        with self._lock:
            if self.array is None:
                self.array = _frame_buffer((self.count, *array.shape))
        self.array[self.slots[index]] = array


def _frame_buffer(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised uint8 array for the sampled frames: on Linux, fresh private memory in 4 KB pages.

    Writing the frames into fresh memory is the largest cost after decoding and RGB conversion, and it depends on
    the pages: private 4 KB pages take them faster than transparent huge pages or ``np.empty`` (which asks for
    huge pages too), as measured in docs/PERFORMANCE.md, Video sampling.
    """
    size = int(np.prod(shape))
    no_huge_pages = getattr(mmap, "MADV_NOHUGEPAGE", None)
    if no_huge_pages is None or size < (4 << 20):
        return np.empty(shape, dtype=np.uint8)
    mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    mapping.madvise(no_huge_pages)
    return np.frombuffer(mapping, dtype=np.uint8).reshape(shape)


def _undecodable(name: str) -> MediaError:
    return MediaError(Phrase("video.undecodable", name=name))


def _upright(frame, size: tuple[int, int] | None) -> np.ndarray:
    width, height = size or (frame.width, frame.height)
    array = frame.to_ndarray(format="rgb24", width=width, height=height)
    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    if rotation:
        array = np.ascontiguousarray(np.rot90(array, k=rotation // 90))
    return array
