"""Animations are bounded before a frame is decoded: their length comes from the frame durations in their
chunks, and the frames Pillow or FFmpeg would compose on their canvas are charged to the request's budget."""

from __future__ import annotations

import time

import pytest
from media_corpus import animated_png, animated_webp, apng_of_tiny_frames, gif_of_tiny_frames, sampler
from PIL import Image

from minicpm_demo import media
from minicpm_demo.media import MediaError, MediaLimits, decoding
from minicpm_demo.media.frame_times import frame_milliseconds


def pillow_milliseconds(path):
    with Image.open(path) as animation:
        durations = []
        for number in range(animation.n_frames):
            animation.seek(number)
            animation.load()
            durations.append(animation.info.get("duration") or 0)
        return durations


@pytest.mark.parametrize("build", [animated_png, animated_webp])
def test_frame_durations_from_the_chunks_are_pillows(tmp_path, build):
    path = build(tmp_path)
    with Image.open(path) as animation:
        assert frame_milliseconds(path, animation.format, animation.n_frames) == pillow_milliseconds(path)


def test_an_apng_default_image_outside_the_animation_is_a_frame_as_pillow_counts_it(tmp_path):
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "green", "blue")]
    path = tmp_path / "default.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], default_image=True, duration=[0, 200, 300])
    with Image.open(path) as animation:
        declared = frame_milliseconds(path, "PNG", animation.n_frames)
    assert declared == pillow_milliseconds(path) and len(declared) == 3


def test_a_huge_canvas_of_tiny_frames_is_refused_before_a_frame_is_decoded(tmp_path, png_decodes):
    path = apng_of_tiny_frames(tmp_path, side=1000, frames=300)  # ~10 KB: 300 frames of a megapixel to compose
    indices_for = sampler()
    started = time.process_time()
    with pytest.raises(MediaError, match=r"^Reading 'tiny-frames.png' means decoding \d+ frames of 1000×1000, more "
                                         r"than this demo decodes for one request \(0.1 gigapixels of video frames\)"):
        media.sample_video(path, indices_for, MediaLimits(max_request_frame_pixels=100_000_000))
    assert not png_decodes and time.process_time() - started < 0.5


def test_an_animation_too_long_is_refused_from_its_chunks(tmp_path, png_decodes):
    path = apng_of_tiny_frames(tmp_path, side=64, frames=300)  # 100 ms frames: 30 s
    with pytest.raises(MediaError, match=r"is 30 s; this demo takes up to 10 s — trim it or raise --max-video-seconds"):
        media.sample_video(path, sampler(), MediaLimits(max_video_seconds=10))
    with pytest.raises(MediaError, match=r"^The animation 'tiny-frames.png' has 300 frames: this demo takes up to 100"):
        media.sample_video(path, sampler(), MediaLimits(max_video_seconds=1))
    assert not png_decodes


def test_only_the_frames_up_to_the_last_sample_are_decoded(tmp_path, png_decodes):
    path = apng_of_tiny_frames(tmp_path, side=64, frames=300)
    sampled = media.sample_video(path, lambda metadata: [0, 100])
    assert sampled.metadata.duration == pytest.approx(30.0) and len(sampled.frames) == 2
    assert sampled.frames[0, 0, 1].tolist() == [255, 255, 255], "black canvas, transparent: white"
    assert len(png_decodes) <= 101 + 2, "frames 0–100 (and the first picture, on opening)"


def test_a_gif_of_tiny_frames_is_refused_before_ffmpeg_decodes_it(tmp_path, monkeypatch):
    path = gif_of_tiny_frames(tmp_path, side=1000, frames=300)
    runs = []
    real_run = decoding.DecodingJob.decode_run
    monkeypatch.setattr(decoding.DecodingJob, "decode_run", lambda self, *args: runs.append(1) or real_run(self, *args))
    with pytest.raises(MediaError, match=r"^Reading 'tiny-frames.gif' means decoding \d+ frames of 1000×1000"):
        media.sample_video(path, sampler(), MediaLimits(max_request_frame_pixels=100_000_000))
    assert not runs
    sampled = media.sample_video(path, sampler(max_num_frames=4))
    assert sampled.metadata.total_num_frames == 300 and len(sampled.frames) == 4


def test_an_animated_avif_plays_with_its_durations_and_is_charged_before_pillow_reads_them(tmp_path):
    colours = ["red", "green", "blue"]
    frames = [Image.new("RGB", (64, 48), colour) for colour in colours]
    path = tmp_path / "sticker.avif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 300])
    every_frame = media.sample_video(path, lambda metadata: list(range(metadata.total_num_frames)))
    assert every_frame.metadata.duration == pytest.approx(0.6)
    # frame i is the picture shown at i × 0.2 s: 0 s, 0.2 s (the 200 ms one), 0.4 s (the 300 ms one)
    assert [int(frame[5, 5].argmax()) for frame in every_frame.frames] == [0, 1, 2]
    with pytest.raises(MediaError, match=r"^Reading 'sticker.avif' means decoding 3 frames of 64×48"):
        media.sample_video(path, sampler(), MediaLimits(max_request_frame_pixels=2 * 100_000 * 3))
