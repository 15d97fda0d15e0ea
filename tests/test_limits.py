"""One request's budget of decoded pixels: charged from each file's header before its pixels are decoded, so that
a small file named many times, or one declaring a huge picture or frames beyond the budget, is refused at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from media_corpus import encode_clip, sampler, solid_png
from PIL import Image

from minicpm_demo import media
from minicpm_demo.media import MediaError, MediaLimits, decoding
from minicpm_demo.media.limits import FRAME_COST_FLOOR_PIXELS

ROOT = Path(__file__).resolve().parent.parent


def test_the_defaults_take_a_conversation_of_phone_photos_and_refuse_many_huge_pictures():
    budget = MediaLimits().budget()
    for _ in range(32):  # --max-images of 12-megapixel photos
        budget.charge_image("photo.jpg", 4000, 3000)
    budget = MediaLimits().budget()
    with pytest.raises(MediaError, match="raise --max-request-megapixels"):
        for _ in range(32):
            budget.charge_image("huge.png", 13000, 13000)
    assert budget.image_pixels == 2 * 13000 * 13000, "the third was refused, nothing charged for it"


def test_eight_phone_photos_in_one_request_are_read(tmp_path):
    photo = tmp_path / "IMG_0001.jpg"
    Image.effect_noise((4000, 3000), 40).convert("RGB").save(photo, quality=85)
    budget = MediaLimits().budget()
    for _ in range(8):
        assert media.load_image(photo, budget=budget).image.size == (4000, 3000)
    assert budget.image_pixels == 8 * 12_000_000


def test_images_past_the_request_budget_are_refused_before_they_are_decoded(tmp_path, png_decodes):
    path = solid_png(tmp_path, 1000, name="poster.png")
    limits = MediaLimits(max_request_image_pixels=2_500_000)
    budget = limits.budget()
    media.load_image(path, limits, budget)
    media.load_image(path, limits, budget)
    with pytest.raises(MediaError) as refused:
        media.load_image(path, limits, budget)
    assert str(refused.value) == (
        "The image 'poster.png' is 1000×1000 (1.0 megapixels); with it, this request's images would take 3.0 "
        "megapixels, and this demo decodes up to 2.5 in one request, as every question sends the conversation's "
        "images again. "
        "Send smaller or fewer images (Clear starts a new conversation), or raise --max-request-megapixels.")
    assert refused.value.path == str(path)
    assert len(png_decodes) == 2, "the refused one was never decoded"
    assert media.load_image(path, limits).image.size == (1000, 1000), "each call alone has a budget of its own"


def test_a_huge_png_is_scaled_down_without_copies_of_its_full_size(tmp_path):
    """A few hundred KB declaring 36 megapixels: the decoded picture is the only full-size one held."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from pathlib import Path
        from media_corpus import solid_png
        from minicpm_demo import media
        from minicpm_demo.media import MediaLimits
        path = solid_png(Path({str(tmp_path)!r}), 6000)
        def peak():
            return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
        before, started = peak(), time.process_time()
        loaded = media.load_image(path, MediaLimits(max_image_side=1000))
        print(loaded.image.size, peak() - before, time.process_time() - started)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    size, grown, _ = done.stdout.rsplit(maxsplit=2)[0], *map(float, done.stdout.split()[-2:])
    assert size == "(1000, 1000)"
    decoded = 6000 * 6000 * 4  # Pillow holds RGB in 4 bytes a pixel
    assert grown < 1.5 * decoded, f"{grown / 1e6:.0f} MB for a {decoded / 1e6:.0f} MB picture"


def test_a_video_past_the_frame_budget_is_refused_before_a_frame_is_decoded(tmp_path, monkeypatch):
    clip = encode_clip(tmp_path / "talk.mp4", seconds=4, fps=10, size=(400, 300), gop=10)
    runs = []
    real_run = decoding.DecodingJob.decode_run
    monkeypatch.setattr(decoding.DecodingJob, "decode_run", lambda self, *args: runs.append(1) or real_run(self, *args))
    limits = MediaLimits(max_request_frame_pixels=24 * 400 * 300)
    budget = limits.budget()
    media.sample_video(clip, sampler(max_num_frames=4), limits, budget=budget)
    assert 4 * 400 * 300 <= budget.frame_pixels <= 20 * 400 * 300 and runs
    runs.clear()
    # 32 frames sampled (4 × 8 stacked) need 32 frames decoded at the very least
    with pytest.raises(MediaError, match=r"^Reading 'talk.mp4' means decoding \d+ frames of 400×300, more than this "
                                         r"demo decodes for one request \(0.00288 gigapixels of video frames, 0.0 of "
                                         r"them left\)\. Send a shorter or smaller video.*raise "
                                         r"--max-request-video-gigapixels\.$"):
        media.sample_video(clip, sampler(max_num_frames=4, stack_frames=8), limits, budget=budget)
    assert not runs, "refused from the plan, before decoding"


def test_frames_decoded_past_those_planned_are_charged_as_they_come():
    limits = MediaLimits(max_request_frame_pixels=3 * FRAME_COST_FLOOR_PIXELS)
    decoded = limits.budget().meter("screen.webm", 100, 100, reserved=2)
    decoded(), decoded(), decoded()
    with pytest.raises(MediaError, match=r"^Reading 'screen.webm' means decoding 4 frames of 100×100"):
        decoded()


def test_frames_larger_than_8k_are_refused_from_the_header(tmp_path):
    clip = encode_clip(tmp_path / "wide.mp4", seconds=1, fps=4, size=(320, 240))
    with pytest.raises(MediaError, match=r"^The video 'wide.mp4' has frames of 320×240: more pixels than the 0.1 "
                                         r"megapixels a frame may have in this demo\."):
        media.probe_video(clip, MediaLimits(max_video_frame_pixels=320 * 200))
