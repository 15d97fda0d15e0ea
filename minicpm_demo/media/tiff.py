"""TIFFs whose samples Pillow has no mode for (floating-point, signed or 32/64-bit colour), as scientific code
writes them with numpy and tifffile: read as a Pillow plugin, so that every reader opens them like any picture.

Only the layouts such code writes by default are read (strips, uncompressed or Deflate, no predictor); for the
rest, ``unreadable_reason`` says what the file holds, for the user's message.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
from PIL import Image, ImageFile, TiffImagePlugin

from minicpm_demo.media.limits import MB, MediaError
from minicpm_demo.phrases import Phrase

# TIFF tags
WIDTH, HEIGHT, BITS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_BYTES, PLANAR = 273, 277, 278, 279, 284
PREDICTOR, TILE_WIDTH, SAMPLE_FORMAT = 317, 322, 339

DEFLATE = {8, 32946}
NUMPY_KIND = {1: "u", 2: "i", 3: "f"}  # TIFF SampleFormat
SAMPLE_NAMES = {1: "unsigned integer", 2: "signed integer", 3: "floating-point"}
COMPRESSION_NAMES = {1: "uncompressed", 5: "LZW", 7: "JPEG", 8: "Deflate", 32773: "PackBits", 32946: "Deflate",
                     34887: "LERC", 50000: "Zstandard", 50001: "WebP"}
MODES = {(1, False): "L", (1, True): "LA", (3, False): "RGB", (3, True): "RGBA"}  # (colour samples, alpha)
ROWS_PER_PASS = 256  # rows converted at a time, so that no full-size floating-point copy is made


def register() -> None:
    """Add the plugin after Pillow's own, which reads every TIFF it has a mode for (idempotent)."""
    Image.init()
    if _SampleTiff.format_id not in Image.OPEN:
        Image.register_open(_SampleTiff.format_id, _SampleTiff, _is_tiff)


def _is_tiff(prefix: bytes) -> bool:
    return prefix[:4] in (b"II*\x00", b"MM\x00*")


def _first_directory(fp) -> TiffImagePlugin.ImageFileDirectory_v2:
    fp.seek(0)
    directory = TiffImagePlugin.ImageFileDirectory_v2(fp.read(8))
    fp.seek(directory.next)
    directory.load(fp)
    return directory


def _layout(tags) -> tuple[np.dtype, int, bool]:
    """(sample dtype, colour samples, alpha) of a layout this plugin reads; SyntaxError for any other."""
    samples, bits = tags.get(SAMPLES, 1), tuple(tags.get(BITS, (1,)))
    kinds = tuple(tags.get(SAMPLE_FORMAT, (1,)))
    photometric = tags.get(PHOTOMETRIC)
    colours = 3 if photometric == 2 else 1
    supported = (tags.get(COMPRESSION, 1) in DEFLATE | {1} and tags.get(PREDICTOR, 1) == 1
                 and TILE_WIDTH not in tags and photometric in (0, 1, 2) and samples in (colours, colours + 1)
                 and len(set(bits)) == 1 and len(set(kinds)) == 1 and kinds[0] in NUMPY_KIND
                 and bits[0] in ((16, 32, 64) if kinds[0] == 3 else (8, 16, 32, 64)))
    if not supported:
        raise SyntaxError("not a TIFF layout this plugin reads")
    return np.dtype(f"{NUMPY_KIND[kinds[0]]}{bits[0] // 8}"), colours, samples > colours


class _SampleTiff(ImageFile.ImageFile):
    format = "TIFF"
    format_id = "TIFF_SAMPLES"
    format_description = "TIFF with samples Pillow has no mode for"

    def _open(self) -> None:
        tags = _first_directory(self.fp)
        if not all(tag in tags for tag in (WIDTH, HEIGHT, STRIP_OFFSETS, STRIP_BYTES)):
            raise SyntaxError("no strips")
        self._dtype, colours, alpha = _layout(tags)
        self._tags = tags
        self._size = (int(tags[WIDTH]), int(tags[HEIGHT]))
        self._mode = MODES[colours, alpha]
        self.n_frames, self.is_animated = 1, bool(tags.next)  # the first page is what is read
        self.tile = []

    def load(self):
        if self._im is None:
            self.im = Image.fromarray(self._eight_bit(self._samples())).im
        return Image.Image.load(self)

    def _samples(self) -> np.ndarray:
        """The first page's samples, (height, width, samples), read strip by strip."""
        width, height = self.size
        tags, order = self._tags, "<" if self._tags._endian == "<" else ">"
        samples = tags.get(SAMPLES, 1)
        expected = width * height * samples * self._dtype.itemsize
        # at most the memory of the largest RGBA picture Pillow opens under its current pixel limit
        if Image.MAX_IMAGE_PIXELS and expected > 4 * Image.MAX_IMAGE_PIXELS:
            raise MediaError(Phrase("image.tiff_samples", name=os.path.basename(str(self.filename)), width=width,
                                    height=height, bits=self._dtype.itemsize * 8, size_mb=expected / MB,
                                    max_mb=4 * Image.MAX_IMAGE_PIXELS / MB))
        offsets, counts = tuple(tags[STRIP_OFFSETS]), tuple(tags[STRIP_BYTES])
        deflated = tags.get(COMPRESSION, 1) in DEFLATE
        data = bytearray()
        for offset, count in zip(offsets, counts):
            self.fp.seek(offset)
            chunk = self.fp.read(count)
            # a Deflate strip never expands past what the page still needs
            data += zlib.decompressobj().decompress(chunk, expected - len(data)) if deflated else chunk
            if len(data) >= expected:
                break
        if len(data) < expected:
            raise OSError("image file is truncated")
        values = np.frombuffer(bytes(data[:expected]), dtype=self._dtype.newbyteorder(order))
        if tags.get(PLANAR, 1) == 2:
            return np.moveaxis(values.reshape(samples, height, width), 0, -1)
        return values.reshape(height, width, samples)

    def _eight_bit(self, values: np.ndarray) -> np.ndarray:
        colours = 3 if self._tags.get(PHOTOMETRIC) == 2 else 1
        out = np.empty(values.shape, dtype=np.uint8)
        out[..., :colours] = scaled_to_8bit(values[..., :colours])
        if values.shape[-1] > colours:  # alpha: a fraction of 1 (floating point), 255, or the type's largest value
            alpha = values[..., colours:]
            if alpha.dtype.kind == "f":
                peak = 1.0
            else:
                peak = 255.0 if alpha.max() <= 255 else float(np.iinfo(alpha.dtype).max)
            out[..., colours:] = scaled_to_8bit(alpha, low=0.0, high=peak)
        if self._tags.get(PHOTOMETRIC) == 0:  # WhiteIsZero
            out[..., :colours] = 255 - out[..., :colours]
        return out[..., 0] if out.shape[-1] == 1 else out


def scaled_to_8bit(values: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Samples of any type as 8 bits: floating-point values within 0–1 and integers within 0–255 as they are
    meant, any other range stretched from its lowest value to its highest (or from ``low`` to ``high``).
    Not-a-number is black."""
    if values.dtype == np.uint8:
        return values
    if low is None or high is None:
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if low >= 0 and high <= (1 if values.dtype.kind == "f" else 255):
            low, high = 0.0, 1.0 if values.dtype.kind == "f" else 255.0
    scale = 255.0 / (high - low) if high > low else 0.0
    out = np.empty(values.shape, dtype=np.uint8)
    for start in range(0, len(values), ROWS_PER_PASS):
        rows = (values[start:start + ROWS_PER_PASS].astype(np.float64) - low) * scale + 0.5
        out[start:start + ROWS_PER_PASS] = np.clip(np.nan_to_num(rows, nan=0.0), 0, 255)
    return out


def unreadable_reason(path) -> str | None:
    """What a TIFF that no reader opens holds ("LZW-compressed 32-bit floating-point samples"), or None when the
    file is not a TIFF or its first directory cannot be read."""
    try:
        with open(path, "rb") as fp:
            if not _is_tiff(fp.read(4)):
                return None
            tags = _first_directory(fp)
    except (OSError, SyntaxError, ValueError, KeyError, IndexError, TypeError):
        return None
    bits = tuple(tags.get(BITS, (1,)))
    kind = SAMPLE_NAMES.get(tuple(tags.get(SAMPLE_FORMAT, (1,)))[0], "unusual")
    compression = tags.get(COMPRESSION, 1)
    parts = [COMPRESSION_NAMES.get(compression, f"compression {compression}")]
    if TILE_WIDTH in tags:
        parts.append("tiled")
    if tags.get(PREDICTOR, 1) != 1:
        parts.append("with a predictor")
    return f"{', '.join(parts)}, {tags.get(SAMPLES, 1)} × {'/'.join(map(str, sorted(set(bits))))}-bit {kind} samples"
