"""Videos read with PyAV: probed robustly, and only the frames the processor samples decoded."""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from minicpm_demo.media.animation import sample_animation
from minicpm_demo.media.kinds import picture_format
from minicpm_demo.media.limits import (
    Cancelled,
    MediaError,
    MediaLimits,
    check_duration,
    check_file,
    names_the_file,
    never,
)
from minicpm_demo.media.sampling import SampledVideo, decoded_size, sampled_indices


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    fps: float
    total_frames: int
    width: int
    height: int


@names_the_file
def probe_video(path: str | os.PathLike, limits: MediaLimits = MediaLimits()) -> VideoInfo:
    """Duration, frame rate and frame count, from the stream or the container when the stream omits them."""
    return _probe(path, check_file(path, "video", limits.max_video_bytes, "--max-video-mb"), limits)


def _probe(path, name: str, limits: MediaLimits) -> VideoInfo:
    with _open_container(path, name) as container:
        return _checked_info(container, name, limits)


def _checked_info(container, name: str, limits: MediaLimits) -> VideoInfo:
    info = _stream_info(container, name)
    check_duration(name, info.duration, limits)
    return info


# FFmpeg's demuxers for bare codec streams, which carry no container timing.
RAW_STREAMS = {"h264", "hevc", "mpegvideo", "m4v", "obu", "vvc"}

# Containers whose demuxer seeks through an index, landing on the keyframe at or before the time asked.
# Others (MPEG-TS and camcorders' M2TS, MPEG-PS/VOB, NUT) guess a byte offset and may land a little after
# it: they are sought a margin early and the landing is checked. Raw streams are never sought.
INDEXED_CONTAINERS = {"mov", "mp4", "matroska", "webm", "avi", "flv", "asf", "ivf", "yuv4mpegpipe"}
UNKNOWN_SPACING_SEEK_MARGIN_S = 3.0


def _stream_info(container, name: str) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(f"{name!r} has no video track (audio only?). Upload a file with a picture.")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration = 0.0
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    total = int(stream.frames or 0)
    if not total and fps and (_demuxers(container) & RAW_STREAMS or not duration):
        # A raw stream (.h264, .hevc, .m1v) has no frame count, and at most a bit-rate guess of its length:
        # count its packets instead, one per frame (nothing is decoded).
        total = sum(1 for packet in container.demux(stream) if packet.size)
        duration = total / fps
    if total == 0 and duration and fps:
        total = int(round(duration * fps))
    if not duration and total and fps:
        duration = total / fps
    if not stream.width or not stream.height:
        raise _undecodable(name)
    if fps <= 0 or total <= 0 or duration <= 0:
        raise MediaError(f"The video {name!r} has no readable frames (zero length or damaged). Upload another file.")
    return VideoInfo(duration=duration, fps=fps, total_frames=total, width=stream.width, height=stream.height)


def _open_container(path, name: str):
    import av

    try:
        return av.open(str(path))
    except (av.error.InvalidDataError, av.error.EOFError, ValueError, UnicodeDecodeError):
        raise MediaError(
            f"{name!r} is not a video this demo can read, or its header is damaged. "
            "Upload an MP4 (H.264), WebM or MOV file."
        ) from None
    except av.error.FFmpegError as error:
        raise MediaError(f"The video {name!r} could not be opened ({error}). Upload it again as MP4.") from None


@names_the_file
def sample_video(
    path: str | os.PathLike,
    indices_for: Callable[[object], Sequence[int]],
    limits: MediaLimits = MediaLimits(),
    cancelled: Callable[[], bool] = never,
) -> SampledVideo:
    """Decode only the frames ``indices_for(metadata)`` asks for, in that order (repeats allowed).

    ``indices_for`` is the video processor's own ``sample_frames`` (bound to the request's settings), so
    the frames are the ones the processor would pick from the whole decoded video. Frame ``i`` is the one
    shown at ``i / fps`` seconds; between far-apart samples the decoder seeks to the nearest keyframe
    instead of decoding everything in between, and only the sampled frames are ever kept. Animated GIF, WebP
    and PNG files are short videos too; a still image is refused with a message that says so.

    Decoding raises ``Cancelled`` within a frame of ``cancelled()`` turning true (Stop pressed).
    """
    from transformers.video_utils import VideoMetadata

    name = check_file(path, "video", limits.max_video_bytes, "--max-video-mb")
    picture = picture_format(path)
    if picture is not None:
        format_name, animated = picture
        if not animated:
            raise MediaError(f"{name!r} is a still image, not a video. Ask about it in the Image tab "
                             "(or send it as an image).")
        if format_name != "GIF":  # FFmpeg reads animated GIFs, but not animated WebP or PNG
            return sample_animation(path, name, indices_for, limits, cancelled)
    # Opening a container costs ~20 ms (FFmpeg decodes a frame to probe the stream): one serves the probe, the
    # decoding plan and the first run of frames.
    with _open_container(path, name) as container:
        info = _checked_info(container, name, limits)
        metadata = VideoMetadata(total_num_frames=info.total_frames, fps=info.fps, duration=info.duration,
                                 width=info.width, height=info.height, video_backend="pyav")
        indices = sampled_indices(indices_for, metadata, name)
        size, notes = decoded_size(name, info.width, info.height, len(indices), limits)
        frames, last_index = _decode_frames(path, container, indices, info.fps, name, size, cancelled)
    if last_index < max(indices):
        # The container promised more frames than it holds (estimated count, truncated file): reuse the last.
        notes.append(f"{name}: the video ended at frame {last_index + 1}; later samples reuse its last frame")
    metadata.frames_indices = indices
    return SampledVideo(frames=frames, metadata=metadata, notes=notes)


def _decode_frames(path, container, indices: list[int], fps: float, name: str, size: tuple[int, int] | None,
                   cancelled: Callable[[], bool]) -> tuple[np.ndarray, int]:
    """The frames at ``indices`` (in that order, repeats allowed) as one RGB array, and the last index decoded.

    The sorted targets are cut into one contiguous run per CPU core (up to 4), each decoded in its own thread
    with its own demuxer (PyAV releases the GIL while decoding); the first run decodes in ``container`` (open
    already, and read ahead) where a seek takes it back to its start exactly. Within a run, the decoder reaches
    the next target either by decoding on or by seeking to the keyframe before it, whichever the keyframe
    spacing (read from packet flags) says is cheaper. Frames go straight into the output array, so nothing but the
    sampled frames is ever held.
    """
    slots: dict[int, list[int]] = {}
    for position, index in enumerate(indices):
        slots.setdefault(index, []).append(position)
    targets = sorted(slots)
    plan = _decode_plan(container, fps)
    # Containers sought by a byte guess (seek_margin_s) may not land at their start: those runs open their own.
    reusable = container if plan.seekable and not plan.seek_margin_s else None
    # without seeking, a second run would decode the first run's frames again on its way to its own
    workers = max(1, min(os.cpu_count() or 1, 4, len(targets))) if plan.seekable else 1
    runs = [list(run) for run in np.array_split(np.array(targets), workers) if len(run)]
    output: dict[str, np.ndarray] = {}
    lock = threading.Lock()

    def store(index: int, array: np.ndarray) -> None:
        with lock:
            if "frames" not in output:
                output["frames"] = _frame_buffer((len(indices), *array.shape))
        output["frames"][slots[index]] = array

    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="video-decode") as pool:
        containers = [reusable] + [None] * (len(runs) - 1)  # None: the run opens its own
        results = list(pool.map(lambda run, opened: _decode_run(path, run, fps, name, size, plan, store, cancelled,
                                                                opened), runs, containers))
    decoded = [result for result in results if result is not None]
    if not decoded:
        raise _undecodable(name)
    # Targets no run reached (the stream ended early) show the last frame decoded before them.
    last_index, tail = max(decoded, key=lambda result: result[0])
    reached = {index for run, result in zip(runs, results) if result for index in run if index <= result[0]}
    for index in targets:
        if index not in reached:
            store(index, tail)
    return output["frames"], last_index


def _frame_buffer(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised uint8 array for the sampled frames: on Linux, fresh private memory in 4 KB pages.

    Writing hundreds of MB of frames into fresh memory is the largest cost after decoding and RGB conversion,
    and it depends on the pages: on the 2-core development VM, sampling 180 frames of 720p (500 MB) took
    0.67 s into such memory, 0.85 s into transparent huge pages and 1.14 s from ``np.empty`` (which asks for
    huge pages too); 3.1 s, 3.6 s and 3.5 s on the camera-like clip (medians of 4-6 fresh processes).
    """
    size = int(np.prod(shape))
    no_huge_pages = getattr(mmap, "MADV_NOHUGEPAGE", None)
    if no_huge_pages is None or size < (4 << 20):
        return np.empty(shape, dtype=np.uint8)
    mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    mapping.madvise(no_huge_pages)
    return np.frombuffer(mapping, dtype=np.uint8).reshape(shape)


# A seek costs about two frames' decoding (demuxer index lookup, decoder restart, B-frame reordering delay).
# Measured on the bench clips: 2 skips the unsampled tail of each 1 s GOP with stack_frames=3 (camera-like
# 60 s clip 6.4 s -> 5.0 s); the former fps/2 decoded it; stack_frames=1 and long clips are unchanged.
SEEK_OVERHEAD_FRAMES = 2


@dataclass(frozen=True)
class DecodePlan:
    seekable: bool  # else every run decodes from the start, never seeking
    keyframe_spacing: int  # frames between keyframes; 0 when unknown or irregular
    timestamps: bool  # frame i is the one shown at i / fps; else the i-th frame decoded
    seek_margin_s: float = 0.0  # seek this much before a target: the demuxer may land after the time asked


class _LandedAfterTarget(Exception):
    """A seek landed past the frame it was for."""


def _decode_run(path, targets: list[int], fps: float, name: str, size, plan: DecodePlan, store, cancelled,
                opened=None):
    """Decode one run of sorted targets, in ``opened`` (a seekable container, left open) or a container of its
    own; returns (last index decoded, its frame) or None if nothing decoded. A run whose seek lands past its
    target is decoded again from the start, without seeking."""
    try:
        return _decode_run_as_planned(path, targets, fps, name, size, plan, store, cancelled, opened)
    except _LandedAfterTarget:
        return _decode_run_as_planned(path, targets, fps, name, size, replace(plan, seekable=False), store, cancelled)


def _decode_run_as_planned(path, targets: list[int], fps: float, name: str, size, plan: DecodePlan, store,
                           cancelled, opened=None):
    import av

    spacing = plan.keyframe_spacing
    overhead = SEEK_OVERHEAD_FRAMES + round(plan.seek_margin_s * fps)
    seek_at = _plan_seeks(targets, spacing, overhead=overhead) if plan.seekable else set()
    with nullcontext(opened) if opened else _open_container(path, name) as container:
        stream = container.streams.video[0]
        # Frame threading would refill its pipeline after every seek; the runs already use every core.
        stream.thread_type = "SLICE"
        time_base = float(stream.time_base)
        start = stream.start_time or 0
        frame_index = partial(_frame_index, start=start, time_base=time_base, fps=fps)

        def seek_before(target: int, just_opened: bool = False) -> bool:
            """Seek to the keyframe at or before the target; True when the landing must be checked (not when
            reading from the very start, where the first frame is whatever it is)."""
            seconds = max(0.0, target / fps - plan.seek_margin_s)
            if seconds > 0 or not just_opened:  # a container just opened is at its start (a seek may overshoot)
                container.seek(int(start + seconds / time_base), stream=stream, backward=True)
            return seconds > 0

        frames, current, last_frame, check_landing, pending = None, -1, None, False, targets[0]
        try:
            for position, target in enumerate(targets):
                if cancelled():
                    raise Cancelled
                if frames is None or target in seek_at:
                    if plan.seekable:
                        check_landing = seek_before(target, just_opened=position == 0 and not opened)
                        next_seeks = position + 1 == len(targets) or targets[position + 1] in seek_at
                        if next_seeks and spacing and target % spacing == 0 and not plan.seek_margin_s:
                            keyframe = _decode_keyframe_alone(container, stream, frame_index, target)
                            if keyframe is not None:
                                current, last_frame, frames = target, keyframe, None
                                store(target, _upright(keyframe, size))
                                continue
                            check_landing = seek_before(target)
                    frames = _decode_skipping_unseen(container, stream, frame_index, lambda: pending) \
                        if plan.timestamps else container.decode(stream)
                pending = target
                for frame in frames:
                    if cancelled():
                        raise Cancelled
                    index = frame_index(frame.pts) if plan.timestamps and frame.pts is not None else current + 1
                    if check_landing:
                        check_landing = False
                        if index > target:
                            raise _LandedAfterTarget
                    current, last_frame = index, frame
                    if index >= target:
                        # the frame shown at the target time (the next one when timestamps are irregular)
                        store(target, _upright(frame, size))
                        break
                else:  # the stream ended before this target
                    break
        except av.error.FFmpegError:
            if last_frame is None:
                raise MediaError(f"The video {name!r} is damaged: no frame could be decoded. "
                                 "Upload it again.") from None
        return None if last_frame is None else (current, _upright(last_frame, size))


def _demuxers(container) -> set[str]:
    """The names FFmpeg gives the container's format ("mov,mp4,m4a,3gp,3g2,mj2" is one demuxer)."""
    return set(container.format.name.split(","))


def _decode_plan(container, fps: float) -> DecodePlan:
    names = _demuxers(container)
    if names & RAW_STREAMS:
        return DecodePlan(seekable=False, keyframe_spacing=0, timestamps=False)
    spacing = _keyframe_spacing(container, container.streams.video[0], fps)
    if names & INDEXED_CONTAINERS:
        return DecodePlan(seekable=True, keyframe_spacing=spacing, timestamps=True)
    # Seek a keyframe interval and a second early (the landing is checked, and a miss decodes from the start).
    margin = spacing / fps + 1.0 if spacing else UNKNOWN_SPACING_SEEK_MARGIN_S
    return DecodePlan(seekable=True, keyframe_spacing=spacing, timestamps=True, seek_margin_s=margin)


def _frame_index(pts: int, start: int, time_base: float, fps: float) -> int:
    """The index of the frame shown at ``pts`` (in stream time-base units, from the stream's start)."""
    return round((pts - start) * time_base * fps)


def _decode_skipping_unseen(container, stream, frame_index: Callable[[int], int], next_target: Callable[[], int]):
    """``container.decode(stream)``, except that frames shown before ``next_target()`` which no other frame refers
    to (most B-frames) are not decoded at all: nobody sees them, and the frames that are decoded stay
    bit-identical. A frame's index comes from its packet's timestamp; packets without one are decoded."""
    codec = stream.codec_context
    for packet in container.demux(stream):
        skippable = packet.pts is not None and frame_index(packet.pts) < next_target()
        codec.skip_frame = "NONREF" if skippable else "DEFAULT"
        yield from codec.decode(packet)


def _decode_keyframe_alone(container, stream, frame_index: Callable[[int], int], target: int):
    """The frame at ``target`` when the packet just sought to is its keyframe, else None (nothing kept).

    Draining the decoder right after that one packet returns it without decoding the packets after it, which
    a decoder holding frames back for B-frame reordering would otherwise do (a third of the time on
    phone-like H.264). The decoder is reset afterwards, so the caller seeks before decoding anything else.
    """
    codec = stream.codec_context
    for packet in container.demux(stream):
        if packet.pts is None or not packet.is_keyframe or frame_index(packet.pts) != target:
            return None
        frames = codec.decode(packet) or codec.decode(None)
        codec.flush_buffers()
        return frames[0] if frames else None
    return None


def _plan_seeks(targets: list[int], spacing: int, overhead: int) -> set[int]:
    """The targets worth a seek: decoding on from the previous target costs more frames than decoding from
    the keyframe before this one (at a multiple of ``spacing``) plus the seek's own ``overhead``."""
    if not spacing:
        return set()
    return {target for previous, target in zip([-1, *targets], targets)
            if target - previous > target % spacing + overhead}


def _keyframe_spacing(container, stream, fps: float, scan_seconds: float = 20.0) -> int:
    """Frames between keyframes, read from packet flags (no decoding); 0 when none repeats within the scan."""
    time_base = float(stream.time_base)
    keyframes: list[float] = []
    for packet in container.demux(stream):
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


def _undecodable(name: str) -> MediaError:
    return MediaError(f"{name!r} has no frames this demo can decode (not a video, or damaged). "
                      "Upload an MP4 (H.264), WebM or MOV file.")


def _upright(frame, size: tuple[int, int] | None) -> np.ndarray:
    width, height = size or (frame.width, frame.height)
    array = frame.to_ndarray(format="rgb24", width=width, height=height)
    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    if rotation:
        array = np.ascontiguousarray(np.rot90(array, k=rotation // 90))
    return array
