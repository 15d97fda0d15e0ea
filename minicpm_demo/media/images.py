"""Pictures read with Pillow: recognised by content, turned upright and into the RGB the processor expects."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from minicpm_demo.media import tiff
from minicpm_demo.media.kinds import ANIMATIONS, is_video
from minicpm_demo.media.limits import MediaError, MediaLimits, RequestBudget, check_file, names_the_file
from minicpm_demo.phrases import Phrase

try:  # HEIC/HEIF photos (iPhone) through the pillow-heif plugin; AVIF is built into Pillow itself
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - optional plugin
    register_heif_opener = None
else:
    register_heif_opener()


@dataclass
class LoadedImage:
    image: Image.Image
    notes: list[str] = field(default_factory=list)


# ImageOps.exif_transpose's methods, applied here to the picture once it is scaled down
TRANSPOSE_FOR_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                             6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
# Modes that scale down exactly before the conversion to RGB (transparency is scaled premultiplied); the others
# (palette, 16-bit, CMYK, floating point) are converted first.
SCALED_BEFORE_RGB = {"RGB", "RGBA", "L", "LA"}
# Scaling first averages blocks of pixels by the largest whole factor that leaves the picture at least the final
# size, then resamples the rest (less than half): a picture many times too large is never resampled at full size.
REDUCING_GAP = 1.0


@names_the_file
def load_image(path: str | os.PathLike, limits: MediaLimits = MediaLimits(),
               budget: RequestBudget | None = None) -> LoadedImage:
    """Open an image by content (not by file name) and normalise it to an upright RGB picture.

    The pixels it decodes are charged to ``budget`` (the request's, else one of its own) before decoding."""
    name = check_file(path, "image", limits.max_image_bytes, "--max-image-mb")
    notes: list[str] = []
    with opened_picture(path, name, limits) as opened:
        original_size = opened.size
        notes.extend(first_picture_note(name, opened))
        opened.seek(0)
        if max(original_size) > limits.max_image_side:
            # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: a 12000×9000 photo in a fraction of the time
            opened.draft("RGB", (limits.max_image_side, limits.max_image_side))
        (budget or limits.budget()).charge_image(name, *opened.size)
        opened.load()
        transpose = TRANSPOSE_FOR_ORIENTATION.get(opened.getexif().get(0x0112))
        image = opened if opened.mode in SCALED_BEFORE_RGB else to_rgb(opened)
        image = to_rgb(_fitted(image, limits.max_image_side))
        if image is opened:  # a picture of its own, not the file's object
            image = opened.copy()
    if transpose is not None:
        image = image.transpose(transpose)
    if max(original_size) > limits.max_image_side:
        width, height = original_size
        notes.append(Phrase("note.downscaled", name=name, width=width, height=height, new_width=image.width,
                            new_height=image.height))
    return LoadedImage(image=image, notes=notes)


def first_picture_note(name: str, opened: Image.Image) -> list[str]:
    """The note for a file of several pictures, of which the image tabs take the first."""
    if not getattr(opened, "is_animated", False):  # unlike n_frames, does not read through a whole GIF
        return []
    if opened.format in ANIMATIONS:
        return [Phrase("note.first_frame", name=name)]
    if opened.format == "TIFF":
        return [Phrase("note.first_page", name=name)]
    if opened.format == "MPO":  # a camera's photo with its previews or depth map: the photo is the first
        return []
    return [Phrase("note.first_picture", name=name, format=opened.format)]


def _fitted(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled down so that its longest side is at most ``side``."""
    longest = max(image.size)
    if longest <= side:
        return image
    scale = side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


@contextmanager
def opened_picture(path, name: str, limits: MediaLimits) -> Iterator[Image.Image]:
    """The file opened by Pillow under the pixel limit; what goes wrong while it is read becomes a MediaError."""
    tiff.register()
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
        raise MediaError(Phrase("image.bomb", name=name, megapixels=limits.max_image_pixels / 1e6)) from None
    except UnidentifiedImageError:
        if is_video(path):
            raise MediaError(Phrase("image.is_video", name=name)) from None
        reason = tiff.unreadable_reason(path)
        if reason:
            raise MediaError(Phrase("image.tiff", name=name, reason=reason)) from None
        formats = f"JPEG, PNG, WebP, GIF, BMP, TIFF{', HEIC' if register_heif_opener else ''}, AVIF"
        raise MediaError(Phrase("image.unknown", name=name, formats=formats)) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise MediaError(Phrase("image.damaged", name=name, error=error)) from None


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for the processor: transparency composited on white, 16-bit/CMYK/greyscale converted."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "F":
        image = Image.fromarray(tiff.scaled_to_8bit(np.asarray(image)), mode="L")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
