"""Open what users upload: images with Pillow, videos with PyAV. Knows nothing of Gradio.

Every problem a user can cause raises ``MediaError`` with a message that says what was wrong and
what to do about it.
"""

from __future__ import annotations

import bisect
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MB = 1024 * 1024
T = TypeVar("T")

try:  # HEIC/HEIF photos (iPhone) through the pillow-heif plugin; AVIF is built into Pillow itself
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - optional plugin
    register_heif_opener = None
else:
    register_heif_opener()


class MediaError(ValueError):
    """An upload that cannot be used, with a message written for the person who uploaded it.

    ``path`` is the file it is about (set by the public readers below), so a UI can take that file back out.
    """

    path: str | None = None


def _names_the_file(read: Callable[..., T]) -> Callable[..., T]:
    @wraps(read)
    def reader(path, *args, **kwargs):
        try:
            return read(path, *args, **kwargs)
        except MediaError as error:
            error.path = error.path or str(path)
            raise

    return reader


@dataclass(frozen=True)
class MediaLimits:
    max_image_bytes: int = 50 * MB
    max_image_pixels: int = 180_000_000  # beyond this Pillow's decompression-bomb guard refuses the file
    max_image_side: int = 4480  # longer sides are downscaled before the processor (10 × the 448 slice)
    max_video_bytes: int = 1024 * MB
    max_video_seconds: float = 30 * 60
    # Sampled frames wider than this are scaled down while decoding, so 128 frames of a 4K video stay ~1 GB.
    max_video_side: int = 1920


@dataclass
class LoadedImage:
    image: Image.Image
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    fps: float
    total_frames: int
    width: int
    height: int


@dataclass
class SampledVideo:
    frames: np.ndarray  # (num_frames, height, width, 3) uint8, in the order the indices asked for
    metadata: object  # transformers.video_utils.VideoMetadata, with frames_indices set
    notes: list[str] = field(default_factory=list)


def describe_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _check_file(path: str | os.PathLike, kind: str, max_bytes: int, flag: str) -> str:
    name = os.path.basename(str(path))
    try:
        size = os.path.getsize(path)
    except OSError:
        raise MediaError(f"The {kind} {name!r} could not be read (it may have been removed). Upload it again.") from None
    if size == 0:
        raise MediaError(f"The {kind} {name!r} is empty (0 bytes). Upload the file again.")
    if size > max_bytes:
        raise MediaError(
            f"The {kind} {name!r} is {size / MB:.0f} MB; this demo takes up to {max_bytes / MB:.0f} MB. "
            f"Upload a smaller file or raise {flag}."
        )
    return name


@_names_the_file
def load_image(path: str | os.PathLike, limits: MediaLimits = MediaLimits()) -> LoadedImage:
    """Open an image by content (not by file name) and normalise it to an upright RGB picture."""
    name = _check_file(path, "image", limits.max_image_bytes, "--max-image-mb")
    notes: list[str] = []
    with _opened_picture(path, name, limits) as opened:
        original_size = opened.size
        if getattr(opened, "n_frames", 1) > 1:
            notes.append(f"{name}: animated image, the first frame was used")
        opened.seek(0)
        if max(original_size) > limits.max_image_side:
            # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: a 12000×9000 photo in a fraction of the time
            opened.draft("RGB", (limits.max_image_side, limits.max_image_side))
        opened.load()
        image = ImageOps.exif_transpose(opened) or opened.copy()

    image = _to_rgb(image)
    longest = max(image.size)
    if longest > limits.max_image_side:
        scale = limits.max_image_side / longest
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    if max(original_size) > limits.max_image_side:
        width, height = original_size
        notes.append(f"{name}: downscaled from {width}×{height} to {image.width}×{image.height}")
    return LoadedImage(image=image, notes=notes)


@contextmanager
def _opened_picture(path, name: str, limits: MediaLimits) -> Iterator[Image.Image]:
    """The file opened by Pillow under the pixel limit; what goes wrong while it is read becomes a MediaError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
            try:
                with Image.open(path) as opened:
                    yield opened
            finally:
                Image.MAX_IMAGE_PIXELS = previous_limit
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(
            f"The image {name!r} has too many pixels (over {limits.max_image_pixels / 1e6:.0f} megapixels) "
            "and may be a decompression bomb. Resize it and upload it again."
        ) from None
    except UnidentifiedImageError:
        raise MediaError(
            f"{name!r} is not an image this demo can read (supported: JPEG, PNG, WebP, GIF, BMP, TIFF"
            f"{', HEIC' if register_heif_opener else ''}, AVIF). Convert it to PNG or JPEG and upload it again."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise MediaError(
            f"The image {name!r} is damaged or incomplete ({error}). Upload it again or re-save it as PNG/JPEG."
        ) from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for the processor: transparency composited on white, 16-bit/CMYK/greyscale converted."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


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


@_names_the_file
def probe_video(path: str | os.PathLike, limits: MediaLimits = MediaLimits()) -> VideoInfo:
    """Duration, frame rate and frame count, from the stream or the container when the stream omits them."""
    name = _check_file(path, "video", limits.max_video_bytes, "--max-video-mb")
    with _open_container(path, name) as container:
        info = _stream_info(container, name)
    _check_duration(name, info.duration, limits)
    return info


def _check_duration(name: str, seconds: float, limits: MediaLimits) -> None:
    if seconds > limits.max_video_seconds:
        raise MediaError(
            f"The video {name!r} is {describe_duration(seconds)}; this demo takes up to "
            f"{describe_duration(limits.max_video_seconds)} — trim it or raise --max-video-seconds."
        )


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
    if total == 0 and duration and fps:
        total = int(round(duration * fps))
    if not duration and total and fps:
        duration = total / fps
    if not stream.width or not stream.height:
        raise _undecodable(name)
    if fps <= 0 or total <= 0 or duration <= 0:
        raise MediaError(f"The video {name!r} has no readable frames (zero length or damaged). Upload another file.")
    return VideoInfo(duration=duration, fps=fps, total_frames=total, width=stream.width, height=stream.height)


@_names_the_file
def sample_video(
    path: str | os.PathLike,
    indices_for: Callable[[object], Sequence[int]],
    limits: MediaLimits = MediaLimits(),
) -> SampledVideo:
    """Decode only the frames ``indices_for(metadata)`` asks for, in that order (repeats allowed).

    ``indices_for`` is the video processor's own ``sample_frames`` (bound to the request's settings), so
    the frames are the ones the processor would pick from the whole decoded video. Frame ``i`` is the one
    shown at ``i / fps`` seconds; between far-apart samples the decoder seeks to the nearest keyframe
    instead of decoding everything in between, and only the sampled frames are ever kept. Animated GIF, WebP
    and PNG files are short videos too; a still image is refused with a message that says so.
    """
    from transformers.video_utils import VideoMetadata

    name = _check_file(path, "video", limits.max_video_bytes, "--max-video-mb")
    picture = _picture_format(path)
    if picture is not None:
        picture_format, animated = picture
        if not animated:
            raise MediaError(f"{name!r} is a still image, not a video. Ask about it in the Image tab "
                             "(or send it as an image).")
        if picture_format != "GIF":  # FFmpeg reads animated GIFs, but not animated WebP or PNG
            return _sample_animation(path, name, indices_for, limits)
    info = probe_video(path, limits)
    metadata = VideoMetadata(total_num_frames=info.total_frames, fps=info.fps, duration=info.duration,
                             width=info.width, height=info.height, video_backend="pyav")
    indices = _sampled_indices(indices_for, metadata, name)
    size = _scaled_size(info.width, info.height, limits)
    frames, last_index = _decode_frames(path, indices, info.fps, name, size)
    notes = _scaling_notes(name, info.width, info.height, size)
    if last_index < max(indices):
        # The container promised more frames than it holds (estimated count, truncated file): reuse the last.
        notes.append(f"{name}: the video ended at frame {last_index + 1}; later samples reuse its last frame")
    metadata.frames_indices = indices
    return SampledVideo(frames=frames, metadata=metadata, notes=notes)


def _sampled_indices(indices_for: Callable[[object], Sequence[int]], metadata, name: str) -> list[int]:
    indices = [int(index) for index in indices_for(metadata)]
    if not indices:
        raise MediaError(f"No frames could be sampled from {name!r}. Upload a longer video.")
    return indices


def _scaled_size(width: int, height: int, limits: MediaLimits) -> tuple[int, int] | None:
    """The frame size to decode to when the video is larger than ``max_video_side``, else None."""
    scale = limits.max_video_side / max(width, height)
    return (max(2, round(width * scale)), max(2, round(height * scale))) if scale < 1 else None


def _scaling_notes(name: str, width: int, height: int, size: tuple[int, int] | None) -> list[str]:
    return [f"{name}: frames scaled from {width}×{height} to {size[0]}×{size[1]}"] if size else []


# Browsers play GIF/WebP/PNG animation frames that declare 0–10 ms for 100 ms; so do we.
SHORTEST_ANIMATION_FRAME_MS = 10
DEFAULT_ANIMATION_FRAME_MS = 100


def _sample_animation(path, name: str, indices_for: Callable[[object], Sequence[int]],
                      limits: MediaLimits) -> SampledVideo:
    """An animated WebP or PNG read with Pillow as a short video, on the same rule as a real video: frame
    ``i`` is the picture shown at ``i / fps`` seconds, ``fps`` being the average frame rate. Transparency is
    composited on white, as for images. Only the sampled pictures are kept."""
    from transformers.video_utils import VideoMetadata

    with _opened_picture(path, name, limits) as animation:
        starts: list[float] = []
        elapsed = 0.0
        for number in range(animation.n_frames):
            animation.seek(number)
            animation.load()  # WebP reports a frame's duration only once it is decoded
            starts.append(elapsed)
            milliseconds = animation.info.get("duration") or 0
            if milliseconds <= SHORTEST_ANIMATION_FRAME_MS:
                milliseconds = DEFAULT_ANIMATION_FRAME_MS
            elapsed += milliseconds / 1000
        _check_duration(name, elapsed, limits)
        fps = len(starts) / elapsed
        width, height = animation.size
        metadata = VideoMetadata(total_num_frames=len(starts), fps=fps, duration=elapsed, width=width,
                                 height=height, video_backend="pillow")
        indices = _sampled_indices(indices_for, metadata, name)
        size = _scaled_size(width, height, limits)
        # a small tolerance, so that the start of frame i, summed from durations, counts as time i / fps
        shown = {index: bisect.bisect_right(starts, index / fps + 1e-6) - 1 for index in set(indices)}
        pictures: dict[int, np.ndarray] = {}
        for number in sorted(set(shown.values())):
            animation.seek(number)
            picture = _to_rgb(animation)
            pictures[number] = np.asarray(picture.resize(size, Image.Resampling.BILINEAR) if size else picture)
    metadata.frames_indices = indices
    return SampledVideo(frames=np.stack([pictures[shown[index]] for index in indices]), metadata=metadata,
                        notes=_scaling_notes(name, width, height, size))


def _decode_frames(path, indices: list[int], fps: float, name: str,
                   size: tuple[int, int] | None) -> tuple[np.ndarray, int]:
    """The frames at ``indices`` (in that order, repeats allowed) as one RGB array, and the last index decoded.

    The sorted targets are cut into one contiguous run per CPU core (up to 4), each decoded in its own thread
    with its own demuxer (PyAV releases the GIL while decoding). Within a run, the decoder reaches the next
    target either by decoding on or by seeking to the keyframe before it, whichever the keyframe spacing
    (read from packet flags) says is cheaper. Frames go straight into the output array, so nothing but the
    sampled frames is ever held.
    """
    slots: dict[int, list[int]] = {}
    for position, index in enumerate(indices):
        slots.setdefault(index, []).append(position)
    targets = sorted(slots)
    with _open_container(path, name) as container:
        spacing = _keyframe_spacing(container, container.streams.video[0], fps)
    workers = max(1, min(os.cpu_count() or 1, 4, len(targets)))
    runs = [list(run) for run in np.array_split(np.array(targets), workers) if len(run)]
    output: dict[str, np.ndarray] = {}
    lock = threading.Lock()

    def store(index: int, array: np.ndarray) -> None:
        with lock:
            if "frames" not in output:
                output["frames"] = np.empty((len(indices), *array.shape), dtype=np.uint8)
        output["frames"][slots[index]] = array

    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="video-decode") as pool:
        results = list(pool.map(lambda run: _decode_run(path, run, fps, name, size, spacing, store), runs))
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


# A seek costs about two frames' decoding (demuxer index lookup, decoder restart, B-frame reordering delay).
# Measured on the bench clips: 2 skips the unsampled tail of each 1 s GOP with stack_frames=3 (camera-like
# 60 s clip 6.4 s -> 5.0 s); the former fps/2 decoded it; stack_frames=1 and long clips are unchanged.
SEEK_OVERHEAD_FRAMES = 2


def _decode_run(path, targets: list[int], fps: float, name: str, size, spacing: int, store):
    """Decode one run of sorted targets; returns (last index decoded, its frame) or None if nothing decoded."""
    import av

    seek_at = _plan_seeks(targets, spacing, overhead=SEEK_OVERHEAD_FRAMES)
    with _open_container(path, name) as container:
        stream = container.streams.video[0]
        # Frame threading would refill its pipeline after every seek; the runs already use every core.
        stream.thread_type = "SLICE"
        time_base = float(stream.time_base)
        start = stream.start_time or 0
        frame_index = partial(_frame_index, start=start, time_base=time_base, fps=fps)

        def seek_before(target: int) -> None:  # to the keyframe at or before the target
            container.seek(int(start + target / fps / time_base), stream=stream, backward=True)

        frames, current, last_frame = None, -1, None
        try:
            for position, target in enumerate(targets):
                if frames is None or target in seek_at:
                    seek_before(target)
                    next_seeks = position + 1 == len(targets) or targets[position + 1] in seek_at
                    if next_seeks and spacing and target % spacing == 0:
                        keyframe = _decode_keyframe_alone(container, stream, frame_index, target)
                        if keyframe is not None:
                            current, last_frame, frames = target, keyframe, None
                            store(target, _upright(keyframe, size))
                            continue
                        seek_before(target)
                    frames = container.decode(stream)
                for frame in frames:
                    index = current + 1 if frame.pts is None else frame_index(frame.pts)
                    current, last_frame = index, frame
                    if index >= target:
                        # the frame shown at the target time (the next one when timestamps are irregular)
                        store(target, _upright(frame, size))
                        break
                else:  # the stream ended before this target
                    break
        except av.error.FFmpegError:
            if last_frame is None:
                raise MediaError(f"The video {name!r} is damaged: no frame could be decoded. Upload it again.") from None
        return None if last_frame is None else (current, _upright(last_frame, size))


def _frame_index(pts: int, start: int, time_base: float, fps: float) -> int:
    """The index of the frame shown at ``pts`` (in stream time-base units, from the stream's start)."""
    return round((pts - start) * time_base * fps)


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


# Pillow identifies MPEG video streams (without decoding them); those are videos, not pictures.
NOT_PICTURES = {"MPEG"}


def _picture_format(path: str | os.PathLike) -> tuple[str, bool] | None:
    """(Pillow's format name, whether it is animated) when Pillow reads ``path`` as a picture, else None."""
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if image.format in NOT_PICTURES:
                return None
            return image.format, bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def detect_kind(path: str | os.PathLike) -> str:
    """"image" if Pillow recognises the content, otherwise "video" (the video reader then explains)."""
    return "image" if _picture_format(path) else "video"
