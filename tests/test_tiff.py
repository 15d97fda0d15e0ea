"""TIFFs as numpy code writes them with tifffile: several pages give the first with a note in the image tabs,
samples of any type are read and scaled to 8 bits, and what cannot be read is refused saying what it holds."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from media_corpus import TIFF_PAGE_COLOURS, sampler, tifffile_pages

from minicpm_demo import media
from minicpm_demo.media import MediaError, MediaLimits


def colour(loaded):
    return loaded.image.getpixel((10, 10))


@pytest.mark.parametrize("dtype,scale", [("uint8", 1), ("float64", 1 / 255), ("float32", 1 / 255),
                                         ("float16", 1 / 255), ("int16", 1), ("uint32", 1), ("int64", 1)])
def test_multi_page_rgb_tiff_gives_its_first_page_with_a_note(tmp_path, dtype, scale):
    path = tifffile_pages(tmp_path, dtype=dtype, scale=scale)
    loaded = media.load_image(path)
    assert loaded.image.mode == "RGB" and loaded.image.size == (64, 48)
    assert colour(loaded) == pytest.approx(TIFF_PAGE_COLOURS[0], abs=1)
    assert loaded.notes == [f"{path.name}: multi-page TIFF, the first page was used"]
    assert media.detect_kind(path) == "image"


@pytest.mark.parametrize("options", [{"compression": "zlib"}, {"planarconfig": "separate"}, {"rowsperstrip": 5}],
                         ids=["deflate", "planar", "strips"])
def test_the_layouts_tifffile_writes_are_read(tmp_path, options):
    path = tifffile_pages(tmp_path, dtype="float32", scale=1 / 255, **options)
    assert colour(media.load_image(path)) == pytest.approx(TIFF_PAGE_COLOURS[0], abs=1)


def test_samples_outside_the_usual_ranges_are_stretched_and_alpha_is_composited(tmp_path):
    values = np.linspace(-1000.0, 1000.0, 64, dtype=np.float32)[None, :].repeat(8, axis=0)
    tifffile.imwrite(tmp_path / "signal.tif", values)
    grey = media.load_image(tmp_path / "signal.tif").image
    assert grey.getpixel((0, 0)) == (0, 0, 0) and grey.getpixel((63, 0)) == (255, 255, 255)
    rgba = np.zeros((8, 8, 4), dtype=np.float32)
    rgba[..., 0], rgba[..., 3] = 1.0, 0.0  # red, fully transparent
    tifffile.imwrite(tmp_path / "alpha.tif", rgba, photometric="rgb", extrasamples="unassalpha")
    assert media.load_image(tmp_path / "alpha.tif").image.getpixel((2, 2)) == (255, 255, 255), "on white"


def test_a_floating_point_greyscale_tiff_is_not_black(tmp_path):
    """Pillow reads these itself (mode F); values 0–1 are scaled, not clipped to 0 and 1."""
    tifffile.imwrite(tmp_path / "grey.tif", np.full((8, 8), 0.5, dtype=np.float32))
    assert media.load_image(tmp_path / "grey.tif").image.getpixel((2, 2)) == (128, 128, 128)


def test_a_tiff_it_cannot_read_is_refused_with_what_it_holds(tmp_path):
    path = tifffile_pages(tmp_path, dtype="float32", tile=(16, 16), name="tiled.tif")
    with pytest.raises(MediaError, match=r"^'tiled.tif' is a TIFF this demo cannot read \(uncompressed, tiled, 3 × "
                                         r"32-bit floating-point samples\)\. Save it as an 8-bit TIFF or PNG"):
        media.load_image(path)


def test_a_multi_page_tiff_is_not_a_video(tmp_path):
    path = tifffile_pages(tmp_path)
    with pytest.raises(MediaError, match=r"is a still image \(its pages are not frames of a video\), not a video\. "
                                         r"Ask about it in the Image tab"):
        media.sample_video(path, sampler())


def test_huge_samples_are_refused_before_they_are_read(tmp_path):
    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, np.zeros((200, 300, 3), dtype=np.float64), photometric="rgb")  # 1.4 MB of samples
    with pytest.raises(MediaError, match=r"^The image 'wide.tif' is 300×200 with 64-bit samples: 1 MB to read, and "
                                         r"this demo reads up to 0 MB of such samples"):
        media.load_image(path, MediaLimits(max_image_pixels=100_000))
    assert media.load_image(path).image.size == (300, 200)
