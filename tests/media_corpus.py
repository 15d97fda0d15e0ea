"""A generated corpus of odd and broken uploads (never downloaded): what users really send, and garbage.

Each builder writes one file into a folder and returns its path; ``CORPUS`` names them with what the app
must do: accept (with a check of the result) or refuse (with a fragment of the user's message).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, partial
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image


def _coloured(size=(320, 240), mode="RGB", colour=(200, 40, 40)):
    return Image.new(mode, size, colour)


def truncated_jpeg(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    path = folder / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def zero_bytes(folder: Path) -> Path:
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


def text_as_png(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("meeting notes: buy milk\n")
    return path


def cmyk_jpeg(folder: Path) -> Path:
    path = folder / "cmyk.jpg"
    _coloured(mode="CMYK", colour=(0, 200, 200, 0)).save(path, "JPEG")
    return path


def png_16bit(folder: Path) -> Path:
    path = folder / "depth16.png"
    Image.fromarray(np.full((120, 160), 65535 // 2, dtype=np.uint16)).save(path)
    return path


def palette_transparent_png(folder: Path) -> Path:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (16, 16, 48, 48))
    path = folder / "palette.png"
    image.save(path, transparency=0)
    return path


def exif_rotated_jpeg(folder: Path) -> Path:
    image = _coloured(size=(320, 200))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    path = folder / "rotated.jpg"
    image.save(path, "JPEG", exif=exif.tobytes())
    return path


def animated_gif(folder: Path) -> Path:
    frames = [_coloured(size=(96, 64), colour=(i * 40, 80, 160)) for i in range(6)]
    path = folder / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def one_pixel(folder: Path) -> Path:
    path = folder / "pixel.png"
    _coloured(size=(1, 1)).save(path)
    return path


def huge_declared_png(folder: Path) -> Path:
    """A PNG header declaring 20000×20000 pixels (a decompression bomb) without the data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    path = folder / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def big_photo(folder: Path) -> Path:
    path = folder / "big-photo.jpg"
    _coloured(size=(12000, 9000)).save(path, "JPEG", quality=60)
    return path


def rgba_png(folder: Path) -> Path:
    path = folder / "alpha.png"
    _coloured(mode="RGBA", colour=(255, 0, 0, 0)).save(path)
    return path


def la_png(folder: Path) -> Path:
    path = folder / "grey-alpha.png"
    _coloured(mode="LA", colour=(80, 128)).save(path)
    return path


def greyscale_jpeg(folder: Path) -> Path:
    path = folder / "grey.jpg"
    _coloured(mode="L", colour=90).save(path)
    return path


def webp(folder: Path) -> Path:
    path = folder / "photo.webp"
    _coloured().save(path, "WEBP")
    return path


def bmp(folder: Path) -> Path:
    path = folder / "picture.bmp"
    _coloured().save(path, "BMP")
    return path


def tiff(folder: Path) -> Path:
    path = folder / "scan.tiff"
    _coloured().save(path, "TIFF")
    return path


def avif(folder: Path) -> Path:
    path = folder / "photo.avif"
    _coloured().save(path, "AVIF")
    return path


def heic(folder: Path) -> Path:
    import pillow_heif

    path = folder / "iphone.heic"
    pillow_heif.from_pillow(_coloured()).save(path, quality=80)
    return path


def jpeg_named_png(folder: Path) -> Path:
    path = folder / "actually-jpeg.png"
    _coloured().save(path, "JPEG")
    return path


# ---- videos ------------------------------------------------------------------------------------------

@cache
def _video_processor():
    from transformers.models.minicpmv4_6 import MiniCPMV4_6VideoProcessor

    return MiniCPMV4_6VideoProcessor()


def sampler(max_num_frames=8, stack_frames=1):
    """The video processor's own ``sample_frames``, bound to a request's settings, as the engines pass it."""
    return partial(_video_processor().sample_frames, max_num_frames=max_num_frames, stack_frames=stack_frames)


def encode_clip(path: Path, *, codec: str = "libx264", seconds: float = 2.0, fps: int = 10, size=(160, 120), rotation=None,
            container_format: str | None = None, pts_of: Callable[[int], int] | None = None, gop: int | None = None,
            frames: int | None = None, pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
            container_options: dict[str, str] | None = None) -> Path:
    width, height = size
    with av.open(str(path), "w", format=container_format, options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if gop:
            stream.codec_context.gop_size = gop
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if pts_of is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        count = frames if frames is not None else int(seconds * fps)
        if count == 0:
            container.start_encoding()  # header and an empty video track, no frames
        for index in range(count):
            array = np.zeros((height, width, 3), dtype=np.uint8)
            array[..., 0] = (index * 37) % 256  # frame k has its own colour, so tests can tell frames apart
            array[..., 1] = (index * 11) % 256
            array[: height // 4, : width // 4] = 255  # white top-left corner: shows orientation
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            if pts_of is not None:
                frame.pts, frame.time_base = pts_of(index), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def webm_vp8(folder: Path) -> Path:
    return encode_clip(folder / "screen.webm", codec="libvpx")


def browser_recording_webm(folder: Path) -> Path:
    """Like a browser's MediaRecorder writes it: streamed, so no duration, no frame count and no seek index."""
    return encode_clip(folder / "recording.webm", codec="libvpx", container_format="webm",
                       container_options={"live": "1"})


def webm_vp9(folder: Path) -> Path:
    return encode_clip(folder / "screen-vp9.webm", codec="libvpx-vp9")


def mkv_h264(folder: Path) -> Path:
    return encode_clip(folder / "clip.mkv", codec="libx264")


def rotated_mp4(folder: Path) -> Path:
    return encode_clip(folder / "portrait.mp4", codec="libx264", size=(160, 96), rotation=90)


def iphone_hevc_mov(folder: Path) -> Path:
    """What an iPhone records by default: HEVC, 10-bit, in a .mov, portrait through rotation metadata."""
    return encode_clip(folder / "IMG_0001.MOV", codec="libx265", size=(160, 96), rotation=90,
                       pix_fmt="yuv420p10le", options={"x265-params": "log-level=error"})


def av1_mp4(folder: Path) -> Path:
    return encode_clip(folder / "av1.mp4", codec="libsvtav1")


def audio_only_mp4(folder: Path) -> Path:
    path = folder / "voice.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def one_frame_video(folder: Path) -> Path:
    return encode_clip(folder / "single.mp4", codec="libx264", frames=1)


def zero_length_video(folder: Path) -> Path:
    return encode_clip(folder / "nothing.mkv", codec="libx264", frames=0, container_format="matroska")


def corrupted_header_mp4(folder: Path) -> Path:
    source = encode_clip(folder / "source.mp4", codec="libx264")
    data = bytearray(source.read_bytes())
    source.unlink()
    data[:64] = bytes(range(64))
    path = folder / "corrupt.mp4"
    path.write_bytes(bytes(data))
    return path


def truncated_mp4(folder: Path) -> Path:
    source = encode_clip(folder / "whole.mp4", codec="libx264", seconds=3)
    data = source.read_bytes()
    source.unlink()
    path = folder / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


def variable_frame_rate_mkv(folder: Path) -> Path:
    gaps = [0, 40, 80, 200, 240, 600, 640, 680, 1100, 1500, 1540, 1900]
    return encode_clip(folder / "vfr.mkv", codec="libx264", container_format="matroska", frames=len(gaps),
                   pts_of=lambda index: gaps[index])


def very_long_declared_mkv(folder: Path) -> Path:
    """Two frames, the second 3 h 10 min after the first."""
    return encode_clip(folder / "marathon.mkv", codec="libx264", container_format="matroska", frames=2,
                   pts_of=lambda index: index * (3 * 3600 + 600) * 1000)


def gif_as_video(folder: Path) -> Path:
    return animated_gif(folder)


ANIMATION_COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
ANIMATION_MS = [100, 300, 0, 100]  # a 0 ms frame plays for 100 ms, as in browsers: 0.6 s in all


def _animation_frames() -> list[Image.Image]:
    """RGBA frames whose top-left 8×8 corner is transparent."""
    frames = []
    for colour in ANIMATION_COLOURS:
        frame = _coloured(size=(64, 48), mode="RGBA", colour=(*colour, 255))
        frame.paste((0, 0, 0, 0), (0, 0, 8, 8))
        frames.append(frame)
    return frames


def animated_webp(folder: Path) -> Path:
    frames = _animation_frames()
    path = folder / "sticker.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ANIMATION_MS, loop=0, lossless=True)
    return path


def animated_png(folder: Path) -> Path:
    frames = _animation_frames()
    path = folder / "animation.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ANIMATION_MS, loop=0)
    return path


def truncated_animated_webp(folder: Path) -> Path:
    data = animated_webp(folder).read_bytes()
    path = folder / "cut-sticker.webp"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Path]
    kind: str  # "image" | "video"
    error: str | None = None  # a fragment of the user's message when the file must be refused


CORPUS: dict[str, Case] = {
    "truncated_jpeg": Case(truncated_jpeg, "image", "damaged or incomplete"),
    "zero_bytes": Case(zero_bytes, "image", "is empty (0 bytes)"),
    "text_as_png": Case(text_as_png, "image", "is not an image this demo can read"),
    "cmyk_jpeg": Case(cmyk_jpeg, "image"),
    "png_16bit": Case(png_16bit, "image"),
    "palette_transparent_png": Case(palette_transparent_png, "image"),
    "exif_rotated_jpeg": Case(exif_rotated_jpeg, "image"),
    "animated_gif": Case(animated_gif, "image"),
    "one_pixel": Case(one_pixel, "image"),
    "huge_declared_png": Case(huge_declared_png, "image", "decompression bomb"),
    "big_photo": Case(big_photo, "image"),
    "rgba_png": Case(rgba_png, "image"),
    "la_png": Case(la_png, "image"),
    "greyscale_jpeg": Case(greyscale_jpeg, "image"),
    "webp": Case(webp, "image"),
    "bmp": Case(bmp, "image"),
    "tiff": Case(tiff, "image"),
    "avif": Case(avif, "image"),
    "heic": Case(heic, "image"),
    "jpeg_named_png": Case(jpeg_named_png, "image"),
    "webm_vp8": Case(webm_vp8, "video"),
    "webm_vp9": Case(webm_vp9, "video"),
    "browser_recording_webm": Case(browser_recording_webm, "video"),
    "mkv_h264": Case(mkv_h264, "video"),
    "rotated_mp4": Case(rotated_mp4, "video"),
    "iphone_hevc_mov": Case(iphone_hevc_mov, "video"),
    "av1_mp4": Case(av1_mp4, "video"),
    "audio_only_mp4": Case(audio_only_mp4, "video", "has no video track"),
    "one_frame_video": Case(one_frame_video, "video"),
    "zero_length_video": Case(zero_length_video, "video", "not a video this demo can read"),
    "corrupted_header_mp4": Case(corrupted_header_mp4, "video", "not a video this demo can read"),
    "truncated_mp4": Case(truncated_mp4, "video", "not a video this demo can read"),
    "variable_frame_rate_mkv": Case(variable_frame_rate_mkv, "video"),
    "very_long_declared_mkv": Case(very_long_declared_mkv, "video", "3 h 10 min; this demo takes up to 30 min"),
    "gif_as_video": Case(gif_as_video, "video"),
    "animated_webp_as_video": Case(animated_webp, "video"),
    "animated_png_as_video": Case(animated_png, "video"),
    "truncated_animated_webp_as_video": Case(truncated_animated_webp, "video", "not a video, or damaged"),
    "still_image_as_video": Case(webp, "video", "is a still image, not a video"),
    "video_as_image": Case(rotated_mp4, "image", "is a video, not an image. Ask about it in the Video tab"),
    "text_as_video": Case(text_as_png, "video", "no frames this demo can decode"),
}
