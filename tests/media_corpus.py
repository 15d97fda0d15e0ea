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


def encode_clip(path: Path, *, codec: str = "libx264", seconds: float = 2.0, fps: int = 10, size=(160, 120),
                rotation=None, container_format: str | None = None, pts_of: Callable[[int], int] | None = None,
                gop: int | None = None, frames: int | None = None, pix_fmt: str = "yuv420p",
                options: dict[str, str] | None = None, container_options: dict[str, str] | None = None) -> Path:
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


# ---- what browsers record: WebM with no frame rate and no length ---------------------------------------

# Milliseconds at which a browser's recording shows its frames: ~30 fps with stalls, as a busy tab records.
RECORDING_MS = [0, 33, 70, 100, 180, 200, 233, 600, 640, 680, 700, 1100, 1133, 1500, 1540, 1900, 1933, 1966, 2400,
                2433]


def _ebml_size(data: bytes, at: int) -> tuple[int, int]:
    """(value, length) of the EBML variable-length size at ``at``."""
    length = 9 - data[at].bit_length()
    value = data[at] & ((1 << (8 - length)) - 1)
    for byte in data[at + 1: at + length]:
        value = (value << 8) | byte
    return value, length


def _ebml_children(data: bytes, start: int, end: int):
    """(element id, start, body start, end) of each EBML element between ``start`` and ``end``."""
    at = start
    while at < end:
        id_length = 9 - data[at].bit_length()
        size, size_length = _ebml_size(data, at + id_length)
        body = at + id_length + size_length
        yield int.from_bytes(data[at: at + id_length], "big"), at, body, min(body + size, end)
        at = body + size


def without_default_duration(data: bytes) -> bytes:
    """A Matroska/WebM file with its tracks' DefaultDuration blanked out (an EBML Void of the same size), as
    a browser's MediaRecorder writes none: FFmpeg then finds no frame rate (``average_rate`` is None)."""
    data = bytearray(data)
    _, header, header_body, header_end = next(_ebml_children(data, 0, len(data)))
    segment_id, segment, segment_body, _ = next(_ebml_children(data, header_end, len(data)))
    assert segment_id == 0x18538067
    for element, _, body, end in _ebml_children(data, segment_body, len(data)):
        if element == 0x1654AE6B:  # Tracks
            for entry, _, entry_body, entry_end in _ebml_children(data, body, end):
                for child, child_start, _, child_end in _ebml_children(data, entry_body, entry_end):
                    if entry == 0xAE and child == 0x23E383:  # TrackEntry / DefaultDuration
                        filler = child_end - child_start - 2
                        data[child_start: child_end] = bytes([0xEC, 0x80 | filler]) + bytes(filler)
            return bytes(data)
    raise AssertionError("no Tracks element")


def browser_recording(folder: Path, codec: str = "libvpx", stamps_ms=tuple(RECORDING_MS), gop: int | None = None,
                      name: str | None = None) -> Path:
    """VP8 or VP9 in a streamed WebM, as Chromium's MediaRecorder writes it: frames at irregular times (1 ms time
    base), no duration, no seek index, no frame rate."""
    streamed = encode_clip(folder / "streamed.webm", codec=codec, container_format="webm", frames=len(stamps_ms),
                           pts_of=lambda index: stamps_ms[index], gop=gop, container_options={"live": "1"})
    path = folder / (name or f"recording-{codec}.webm")
    path.write_bytes(without_default_duration(streamed.read_bytes()))
    streamed.unlink()
    return path


# ---- TIFFs as numpy code writes them with tifffile ------------------------------------------------------

TIFF_PAGE_COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]


def tifffile_pages(folder: Path, dtype: str = "uint8", scale: float = 1.0, name: str | None = None,
                   **options) -> Path:
    """Three RGB pages (one colour each) written by tifffile; ``scale`` maps 0–255 to the samples' range."""
    import tifffile

    pages = np.zeros((3, 48, 64, 3), dtype=np.float64)
    for page, colour in zip(pages, TIFF_PAGE_COLOURS):
        page[...] = colour
    path = folder / (name or f"pages-{dtype}.tif")
    samples = (pages * scale).astype(dtype)
    if options.get("planarconfig") == "separate":  # one plane per colour: (page, colour, row, column)
        samples = np.moveaxis(samples, -1, 1)
    tifffile.imwrite(path, samples, photometric="rgb", **options)
    return path


# ---- hostile pictures: small files that declare huge canvases or thousands of frames ------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _deflated_rows(width: int, height: int, channels: int) -> bytes:
    """Zlib data of ``height`` black rows (filter byte 0), compressed row by row: nothing large in memory."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + width * channels)
    return b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()


def solid_png(folder: Path, side: int, name: str = "solid.png") -> Path:
    """A black RGB PNG of ``side`` × ``side``: a few hundred KB for 169 megapixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path = folder / name
    path.write_bytes(PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", _deflated_rows(side, side, 3))
                     + _png_chunk(b"IEND", b""))
    return path


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def apng_of_tiny_frames(folder: Path, side: int, frames: int, name: str = "tiny-frames.png") -> Path:
    """An animated PNG with a ``side``² canvas and ``frames`` frames, all but the first one pixel large."""
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    parts = [PNG_SIGNATURE, _png_chunk(b"IHDR", header), _png_chunk(b"acTL", struct.pack(">II", frames, 0))]
    sequence = 0
    for number in range(frames):
        width = height = side if number == 0 else 1
        x, y = (0, 0) if number == 0 else (number % side, number // side % side)
        parts.append(_png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, width, height, x, y, 100, 1000, 0, 0)))
        sequence += 1
        if number == 0:
            parts.append(_png_chunk(b"IDAT", _deflated_rows(side, side, 4)))
        else:
            parts.append(_png_chunk(b"fdAT", struct.pack(">I", sequence) + zlib.compress(b"\x00\xff\x00\x00\xff")))
            sequence += 1
    parts.append(_png_chunk(b"IEND", b""))
    path = folder / name
    path.write_bytes(b"".join(parts))
    return path


def gif_of_tiny_frames(folder: Path, side: int, frames: int, name: str = "tiny-frames.gif") -> Path:
    """An animated GIF with a ``side``² canvas and ``frames`` frames, all but the first one pixel large."""
    first = io.BytesIO()
    canvas = Image.new("P", (side, side), 0)
    canvas.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    canvas.save(first, "GIF", duration=100, loop=0)
    parts = [first.getvalue()[:-1]]  # all but the trailer
    for number in range(1, frames):
        parts.append(b"\x21\xf9\x04\x04" + struct.pack("<H", 10) + b"\x00\x00")  # 10 cs, keep the canvas
        parts.append(b"\x2c" + struct.pack("<HHHH", number % side, number // side % side, 1, 1) + b"\x00")
        parts.append(b"\x02\x02\x4c\x01\x00")  # LZW: clear, colour 1, end
    path = folder / name
    path.write_bytes(b"".join(parts) + b"\x3b")
    return path


# ---- PDF documents ------------------------------------------------------------------------------
PAGE_COLOURS = ((200, 40, 40), (40, 160, 60), (30, 90, 200), (230, 180, 20), (120, 40, 160))


def pdf_of_pages(folder: Path, pages: int = 3, name: str = "report.pdf", size=(595, 842)) -> Path:
    """A PDF of ``pages`` pages (A4 by default: Pillow writes a picture of w × h pixels at 72 dpi as a page of
    w × h points), each a colour of PAGE_COLOURS with its number written on it, with Pillow's PDF writer."""
    from PIL import ImageDraw

    pictures = []
    for number in range(1, pages + 1):
        picture = Image.new("RGB", size, PAGE_COLOURS[(number - 1) % len(PAGE_COLOURS)])
        ImageDraw.Draw(picture).text((20, 20), f"Page {number}", fill="white")
        pictures.append(picture)
    path = folder / name
    pictures[0].save(path, "PDF", save_all=True, append_images=pictures[1:], resolution=72)
    return path


def password_pdf(folder: Path) -> Path:
    """A one-page PDF that opens only with the password "secret": pypdf's RC4 encryption, which needs no
    cryptography package."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pdf_of_pages(folder, 1, name="plain.pdf"))
    writer.encrypt("secret", algorithm="RC4-128")
    path = folder / "locked.pdf"
    with open(path, "wb") as file:
        writer.write(file)
    return path


def written_pdf(folder: Path, objects: list[bytes], name: str) -> Path:
    """A PDF written byte by byte: ``objects`` numbered from 1 (the first the catalogue), with its cross-reference
    table, for documents no writer makes."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    path = folder / name
    path.write_bytes(out)
    return path


def pdf_without_pages(folder: Path) -> Path:
    return written_pdf(folder, [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"],
                       "blank.pdf")


def pdf_of_huge_page(folder: Path) -> Path:
    """One page that says it is 200 by 200 inches (the most PDF allows), in a file of a few hundred bytes."""
    return written_pdf(folder, [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>"], "poster.pdf")


def broken_pdf(folder: Path) -> Path:
    """A PDF's first half: its header, and no cross-reference table or objects to read."""
    whole = pdf_of_pages(folder, 2, name="whole.pdf").read_bytes()
    path = folder / "broken.pdf"
    path.write_bytes(whole[:200])
    return path


def text_named_pdf(folder: Path) -> Path:
    path = folder / "notes.pdf"
    path.write_text("These are my notes, not a PDF.\n")
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
    "chromium_recording_vp8": Case(partial(browser_recording, codec="libvpx"), "video"),
    "chromium_recording_vp9": Case(partial(browser_recording, codec="libvpx-vp9"), "video"),
    "tifffile_pages_uint8": Case(tifffile_pages, "image"),
    "tifffile_pages_float64": Case(partial(tifffile_pages, dtype="float64", scale=1 / 255), "image"),
    "tifffile_pages_int16": Case(partial(tifffile_pages, dtype="int16", scale=100), "image"),
    "tifffile_pages_as_video": Case(tifffile_pages, "video", "is a still image (its pages are not frames of a video)"),
    "tiled_float_tiff": Case(partial(tifffile_pages, dtype="float32", tile=(16, 16), name="tiled.tif"), "image",
                             "is a TIFF this demo cannot read (uncompressed, tiled, 3 × 32-bit floating-point"),
    "pdf_as_video": Case(pdf_of_pages, "video", "is a PDF, not a video. Ask about it in the Image or Multi-image tab"),
    "apng_6000_canvas_as_video": Case(partial(apng_of_tiny_frames, side=6000, frames=20), "video",
                                      "more pixels than the 35.7 megapixels a frame may have"),
}
